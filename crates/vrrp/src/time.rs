//! Time units of VRRP and the timer formulas of RFC 3768 §6.1 / RFC 5798 §6.1.
//!
//! VRRPv2 carries its advertisement interval in whole seconds (8 bits), VRRPv3 in
//! centiseconds (12 bits). Mixing the two is a classic VRRP bug (Holo once built a
//! centisecond interval with `from_secs`), so each has its own type and every
//! conversion is explicit. Timers run on [`Micros`] durations and caller-supplied
//! [`Timestamp`]s: this crate never reads a clock.

use std::fmt;
use std::ops::{Add, Sub};

/// Microseconds per second.
const MICROS_PER_SEC: u64 = 1_000_000;
/// Microseconds per centisecond.
const MICROS_PER_CENTI: u64 = 10_000;

/// A VRRPv2 advertisement interval in whole seconds (RFC 3768 §5.3.7: 8-bit field, default 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AdvertSeconds(u8);

impl AdvertSeconds {
    /// `n` seconds; `None` for 0 (an interval of zero would make every timer fire at once).
    pub const fn new(n: u8) -> Option<Self> {
        if n == 0 { None } else { Some(Self(n)) }
    }

    /// The value as carried in the VRRPv2 `Adver Int` field.
    pub const fn get(self) -> u8 {
        self.0
    }

    /// The same duration in microseconds.
    pub const fn to_micros(self) -> Micros {
        Micros(self.0 as u64 * MICROS_PER_SEC)
    }
}

/// A VRRPv3 advertisement interval in centiseconds (RFC 5798 §5.2.7: 12-bit field,
/// 1..=4095, default 100 = 1 s).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AdvertCentiseconds(u16);

impl AdvertCentiseconds {
    /// Largest value of the 12-bit `Max Adver Int` field.
    pub const MAX: u16 = 0x0fff;

    /// `n` centiseconds; `None` for 0 or for more than 4095 (does not fit 12 bits).
    pub const fn new(n: u16) -> Option<Self> {
        if n == 0 || n > Self::MAX {
            None
        } else {
            Some(Self(n))
        }
    }

    /// The value as carried in the VRRPv3 `Max Adver Int` field.
    pub const fn get(self) -> u16 {
        self.0
    }

    /// The same duration in microseconds.
    pub const fn to_micros(self) -> Micros {
        Micros(self.0 as u64 * MICROS_PER_CENTI)
    }
}

/// A duration in microseconds: the resolution of every timer in this crate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Micros(pub u64);

impl Micros {
    /// Zero duration.
    pub const ZERO: Micros = Micros(0);

    /// `s` whole seconds.
    pub const fn from_secs(s: u64) -> Self {
        Micros(s * MICROS_PER_SEC)
    }

    /// `ms` milliseconds.
    pub const fn from_millis(ms: u64) -> Self {
        Micros(ms * 1_000)
    }

    /// The duration in microseconds.
    pub const fn as_micros(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Micros {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:06}s",
            self.0 / MICROS_PER_SEC,
            self.0 % MICROS_PER_SEC
        )
    }
}

impl Add for Micros {
    type Output = Micros;
    fn add(self, rhs: Micros) -> Micros {
        Micros(self.0.saturating_add(rhs.0))
    }
}

/// A point on the caller's monotonic clock, in microseconds since an arbitrary origin.
///
/// The service shell converts its clock (e.g. `tokio::time::Instant`) to this; tests
/// simply count from zero.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// The timestamp `us` microseconds after the origin.
    pub const fn from_micros(us: u64) -> Self {
        Timestamp(us)
    }

    /// Microseconds since the origin.
    pub const fn as_micros(self) -> u64 {
        self.0
    }
}

impl Add<Micros> for Timestamp {
    type Output = Timestamp;
    fn add(self, rhs: Micros) -> Timestamp {
        Timestamp(self.0.saturating_add(rhs.0))
    }
}

impl Sub for Timestamp {
    type Output = Micros;
    /// Elapsed time from `rhs` to `self`, zero if `rhs` is later.
    fn sub(self, rhs: Timestamp) -> Micros {
        Micros(self.0.saturating_sub(rhs.0))
    }
}

/// An advertisement interval of either protocol version; the variant *is* the version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum AdvertInterval {
    /// VRRPv2 (RFC 3768): whole seconds.
    V2(AdvertSeconds),
    /// VRRPv3 (RFC 5798): centiseconds.
    V3(AdvertCentiseconds),
}

impl AdvertInterval {
    /// The interval in microseconds.
    pub const fn to_micros(self) -> Micros {
        match self {
            AdvertInterval::V2(s) => s.to_micros(),
            AdvertInterval::V3(c) => c.to_micros(),
        }
    }
}

/// Skew_Time in microseconds, the value keepalived 2.2 (and this crate's timers) use.
///
/// - RFC 3768 §6.1 (v2): `Skew_Time = (256 - Priority) / 256` seconds.
/// - RFC 5798 §6.1 (v3): `Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256`
///   centiseconds.
///
/// Both are fractions; like keepalived (`VRRP_TIMER_SKEW` works in microseconds) the
/// fraction is kept to the microsecond with integer arithmetic, truncating once at the end.
/// This is what makes a v3 backup at priority 90 / 0.1 s take over after 0.3648 s, as
/// measured against keepalived (0.365 s), rather than the 0.36 s that truncating to whole
/// centiseconds ([`rfc5798_skew_time_centis`]) would give.
pub const fn skew_time(priority: u8, master_adver_int: AdvertInterval) -> Micros {
    let weight = 256 - priority as u64;
    Micros(weight * master_adver_int.to_micros().0 / 256)
}

/// Master_Down_Interval in microseconds (RFC 3768 §6.1 / RFC 5798 §6.1):
/// `3 * Master_Adver_Interval + Skew_Time`.
pub const fn master_down_interval(priority: u8, master_adver_int: AdvertInterval) -> Micros {
    Micros(3 * master_adver_int.to_micros().0 + skew_time(priority, master_adver_int).0)
}

/// Skew_Time exactly as RFC 5798 §6.1 writes it in the protocol's own unit, with integer
/// (truncating) division: `((256 - Priority) * Master_Adver_Interval) / 256` centiseconds.
///
/// Exposed for reference and for the MIB; the timers use the finer [`skew_time`].
pub const fn rfc5798_skew_time_centis(priority: u8, master_adver_int: AdvertCentiseconds) -> u16 {
    ((256 - priority as u32) * master_adver_int.0 as u32 / 256) as u16
}

/// Master_Down_Interval of RFC 5798 §6.1 in whole centiseconds:
/// `3 * Master_Adver_Interval + Skew_Time` with [`rfc5798_skew_time_centis`].
pub const fn rfc5798_master_down_interval_centis(
    priority: u8,
    master_adver_int: AdvertCentiseconds,
) -> u32 {
    3 * master_adver_int.0 as u32 + rfc5798_skew_time_centis(priority, master_adver_int) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2(s: u8) -> AdvertInterval {
        AdvertInterval::V2(AdvertSeconds::new(s).unwrap())
    }
    fn v3(c: u16) -> AdvertInterval {
        AdvertInterval::V3(AdvertCentiseconds::new(c).unwrap())
    }

    #[test]
    fn v2_master_down_interval_matches_keepalived_measured_3_649s() {
        // Measured: kill -9 of the priority-99 master, the priority-90 backup took the VIP
        // 3.649 s after the last advert (advert_int 1). 3 s + 166/256 s = 3.6484375 s.
        assert_eq!(skew_time(90, v2(1)), Micros(648_437));
        assert_eq!(master_down_interval(90, v2(1)), Micros(3_648_437));
        let ms = master_down_interval(90, v2(1)).0.div_ceil(1000);
        assert_eq!(ms, 3_649);
    }

    #[test]
    fn v3_master_down_interval_matches_keepalived_measured_0_365s() {
        // Measured: v3, advert_int 0.1 s, priority 90 backup took over after 0.365 s.
        assert_eq!(skew_time(90, v3(10)), Micros(64_843));
        assert_eq!(master_down_interval(90, v3(10)), Micros(364_843));
    }

    #[test]
    fn rfc5798_integer_formula_truncates_to_whole_centiseconds() {
        let c = AdvertCentiseconds::new(10).unwrap();
        assert_eq!(rfc5798_skew_time_centis(90, c), 6);
        assert_eq!(rfc5798_master_down_interval_centis(90, c), 36);
        let one_sec = AdvertCentiseconds::new(100).unwrap();
        // RFC 5798 §6.1 example values: priority 100, 1 s: skew (156*100)/256 = 60 cs.
        assert_eq!(rfc5798_skew_time_centis(100, one_sec), 60);
        assert_eq!(rfc5798_master_down_interval_centis(100, one_sec), 360);
        // Largest interval does not overflow.
        let max = AdvertCentiseconds::new(4095).unwrap();
        assert_eq!(rfc5798_skew_time_centis(0, max), 4095);
    }

    #[test]
    fn higher_priority_has_shorter_skew() {
        assert!(skew_time(200, v2(1)) < skew_time(100, v2(1)));
        assert_eq!(skew_time(255, v2(1)), Micros(3_906));
        assert_eq!(skew_time(0, v2(1)), Micros(1_000_000));
    }

    #[test]
    fn interval_constructors_reject_zero_and_out_of_range() {
        assert!(AdvertSeconds::new(0).is_none());
        assert!(AdvertCentiseconds::new(0).is_none());
        assert!(AdvertCentiseconds::new(4096).is_none());
        assert_eq!(AdvertCentiseconds::new(4095).unwrap().get(), 4095);
        assert_eq!(
            AdvertSeconds::new(255).unwrap().to_micros(),
            Micros(255_000_000)
        );
        assert_eq!(
            AdvertCentiseconds::new(100).unwrap().to_micros(),
            Micros::from_secs(1)
        );
    }

    #[test]
    fn timestamp_arithmetic_saturates() {
        let t = Timestamp(5);
        assert_eq!(t + Micros(10), Timestamp(15));
        assert_eq!(Timestamp(3) - Timestamp(10), Micros::ZERO);
        assert_eq!(Timestamp(u64::MAX) + Micros(1), Timestamp(u64::MAX));
        assert_eq!(Micros(3_648_437).to_string(), "3.648437s");
    }
}
