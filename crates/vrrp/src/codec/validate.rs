//! The receive-side checks against one instance's configuration (RFC 3768 §7.1,
//! RFC 5798 §7.1).

use super::*;

/// What one instance expects of the adverts it receives (its configuration).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectations {
    /// Our VRID.
    pub vrid: u8,
    /// Our advertisement interval; its unit is our version, and for VRRPv2 the value must
    /// match exactly (RFC 3768 §7.1).
    pub interval: AdvertInterval,
    /// Our authentication (VRRPv2 only).
    pub auth: Auth,
    /// Our virtual addresses.
    pub vips: Vec<IpAddr>,
    /// Whether a unicast peer list is configured: keepalived then skips the TTL check.
    pub unicast: bool,
}

/// Check a received advert against an instance's configuration, per RFC 3768 §7.1 /
/// RFC 5798 §7.1, in keepalived 2.2's order: TTL, version, (v2) auth type, password,
/// interval, VRID, address count, address list.
///
/// `check_addresses` is keepalived's `check_vip_addr`: true unless `skip_check_adv_addr`
/// is set and the advert comes from the master already heard. The address checks are a
/// MAY in both RFCs; keepalived 2.2 *drops* an advert whose address count differs or that
/// lacks one of our VIPs (logging "... not present in MASTER advert : VIP" and counting
/// `addr_list_err`), and so does this function — accepting such an advert would let a
/// misconfigured peer on the same VRID hold us in BACKUP without carrying our VIPs.
pub fn validate(
    rx: &ReceivedAdvert,
    exp: &Expectations,
    check_addresses: bool,
) -> Result<(), DecodeError> {
    let adv = &rx.vrrp;
    // RFC 5798 §7.1: MUST verify that the IPv4 TTL / IPv6 Hop Limit is 255.
    if !exp.unicast && rx.ttl != VRRP_TTL {
        return Err(DecodeError::BadTtl(rx.ttl));
    }
    // MUST verify the VRRP version.
    let ours = match exp.interval {
        AdvertInterval::V2(_) => Version::V2,
        AdvertInterval::V3(_) => Version::V3,
    };
    if adv.version() != ours {
        return Err(DecodeError::VersionMismatch {
            got: adv.version().number(),
            expected: ours.number(),
        });
    }
    if let (AdvertInterval::V2(got), AdvertInterval::V2(want)) = (adv.interval, exp.interval) {
        // RFC 3768 §7.1: MUST perform the authentication specified by Auth Type.
        if adv.auth.type_number() != exp.auth.type_number() {
            return Err(DecodeError::AuthTypeMismatch {
                got: adv.auth.type_number(),
                expected: exp.auth.type_number(),
            });
        }
        if let (Auth::Pass(got_pw), Auth::Pass(want_pw)) = (adv.auth, exp.auth) {
            // Compare every byte, whatever the first difference (as keepalived's
            // memcmp_constant_time).
            let diff = got_pw
                .iter()
                .zip(want_pw.iter())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b));
            if diff != 0 {
                return Err(DecodeError::AuthFailure);
            }
        }
        // RFC 3768 §7.1: MUST verify that the Adver Interval matches the local one.
        if got != want {
            return Err(DecodeError::AdvertIntervalMismatch {
                got: got.get(),
                expected: want.get(),
            });
        }
    }
    // MUST verify that the VRID is configured on the receiving interface.
    if adv.vrid != exp.vrid {
        return Err(DecodeError::VridMismatch {
            got: adv.vrid,
            expected: exp.vrid,
        });
    }
    if check_addresses {
        if adv.addresses.len() != exp.vips.len() {
            return Err(DecodeError::AddressCountMismatch {
                got: adv.addresses.len(),
                expected: exp.vips.len(),
            });
        }
        if let Some(missing) = exp.vips.iter().find(|v| !adv.addresses.contains(v)) {
            return Err(DecodeError::AddressListMismatch {
                vrid: exp.vrid,
                missing: *missing,
            });
        }
    }
    Ok(())
}
