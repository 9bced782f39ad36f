//! Time newtypes. Seconds, centiseconds and microseconds never mix: a VRRP advert interval in
//! centiseconds built with a seconds constructor is a classic bug (see STYLE.md).

use std::fmt;

/// A duration with microsecond resolution; keepalived accepts fractional seconds for most
/// timers (`delay_loop 0.5`), parsed to 6 decimal places.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
#[serde(transparent)]
pub struct TimeUs(pub u64);

/// A whole number of seconds (keepalived timers that do not accept fractions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
#[serde(transparent)]
pub struct Seconds(pub u32);

/// Centiseconds: the unit of the VRRPv3 advertisement interval on the wire (RFC 5798 §5.2.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
#[serde(transparent)]
pub struct Centiseconds(pub u32);

impl TimeUs {
    /// `n` whole seconds.
    pub const fn from_secs(n: u64) -> Self {
        TimeUs(n * 1_000_000)
    }
    /// The value as a `std::time::Duration`.
    pub const fn as_duration(self) -> std::time::Duration {
        std::time::Duration::from_micros(self.0)
    }
    /// Parses keepalived's decimal timer syntax (`3`, `0.5`, `1.000001`); at most 6 decimals.
    pub fn parse(s: &str) -> Option<Self> {
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, f),
            None => (s, ""),
        };
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if frac.len() > 6 {
            return None;
        }
        let i: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
        let mut f: u64 = if frac.is_empty() {
            0
        } else {
            frac.parse().ok()?
        };
        for _ in frac.len()..6 {
            f *= 10;
        }
        i.checked_mul(1_000_000)?.checked_add(f).map(TimeUs)
    }
}

impl fmt::Display for TimeUs {
    /// Prints in keepalived syntax: whole seconds, or seconds with trimmed decimals.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (s, us) = (self.0 / 1_000_000, self.0 % 1_000_000);
        if us == 0 {
            write!(f, "{s}")
        } else {
            let frac = format!("{us:06}");
            write!(f, "{s}.{}", frac.trim_end_matches('0'))
        }
    }
}

impl Centiseconds {
    /// `n` whole seconds.
    pub const fn from_secs(n: u32) -> Self {
        Centiseconds(n * 100)
    }
}

impl fmt::Display for Centiseconds {
    /// Prints as seconds in keepalived syntax (`1`, `0.5`, `0.01`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (s, cs) = (self.0 / 100, self.0 % 100);
        if cs == 0 {
            write!(f, "{s}")
        } else if cs % 10 == 0 {
            write!(f, "{s}.{}", cs / 10)
        } else {
            write!(f, "{s}.{cs:02}")
        }
    }
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractional_seconds_parse_to_microseconds() {
        assert_eq!(TimeUs::parse("3"), Some(TimeUs(3_000_000)));
        assert_eq!(TimeUs::parse("0.5"), Some(TimeUs(500_000)));
        assert_eq!(TimeUs::parse(".25"), Some(TimeUs(250_000)));
        assert_eq!(TimeUs::parse("1.000001"), Some(TimeUs(1_000_001)));
        assert_eq!(TimeUs::parse("1.0000001"), None);
        assert_eq!(TimeUs::parse("-1"), None);
        assert_eq!(TimeUs::parse("abc"), None);
        assert_eq!(TimeUs::parse("."), None);
    }

    #[test]
    fn display_round_trips() {
        for s in ["0", "3", "0.5", "1.000001", "60"] {
            assert_eq!(TimeUs::parse(s).unwrap().to_string(), s);
        }
        assert_eq!(Centiseconds(100).to_string(), "1");
        assert_eq!(Centiseconds(50).to_string(), "0.5");
        assert_eq!(Centiseconds(5).to_string(), "0.05");
        assert_eq!(Centiseconds::from_secs(3), Centiseconds(300));
    }
}
