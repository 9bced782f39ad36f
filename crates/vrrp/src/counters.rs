//! keepalived's per-instance statistics (`vrrp_stats` in keepalived 2.2, the same names
//! `keepalived --signum=STATS` prints and the VRRP MIB exports).

use crate::codec::DecodeError;

/// Per-instance counters, updated by [`crate::state::Instance`] as it validates adverts
/// and changes state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Counters {
    /// Valid adverts received (past the version/type/length/checksum checks).
    pub advert_rcvd: u64,
    /// Adverts sent.
    pub advert_sent: u64,
    /// Times this instance became master.
    pub become_master: u64,
    /// Times this instance left master.
    pub release_master: u64,
    /// Packets whose length is wrong.
    pub packet_len_err: u64,
    /// VRRPv2 adverts with another advertisement interval.
    pub advert_interval_err: u64,
    /// Packets whose TTL / hop limit is not 255.
    pub ip_ttl_err: u64,
    /// Packets whose type is not ADVERTISEMENT.
    pub invalid_type_rcvd: u64,
    /// Adverts whose address count or list differs from ours.
    pub addr_list_err: u64,
    /// VRRPv2 adverts with an unknown auth type.
    pub invalid_authtype: u64,
    /// VRRPv2 adverts with another auth type than ours.
    pub authtype_mismatch: u64,
    /// VRRPv2 adverts with a wrong password.
    pub auth_failure: u64,
    /// Priority-0 adverts received.
    pub pri_zero_rcvd: u64,
    /// Priority-0 adverts sent.
    pub pri_zero_sent: u64,
    /// Checksum errors (RFC 6527 `vrrpv3StatisticsChecksumErrors`).
    pub checksum_err: u64,
    /// Version errors (RFC 6527 `vrrpv3StatisticsVersionErrors`).
    pub version_err: u64,
    /// VRID errors (RFC 6527 `vrrpv3StatisticsVrIdErrors`).
    pub vrid_err: u64,
}

impl Counters {
    /// Count one dropped packet under keepalived's counter for its reason.
    ///
    /// IP-level rejections that keepalived never sees as VRRP (not IPv4, bad IP header
    /// checksum, fragment, another protocol) count nowhere, as in keepalived where the
    /// kernel drops them before the raw socket.
    pub fn record_drop(&mut self, err: &DecodeError) {
        use DecodeError as E;
        match err {
            E::TooShort { .. } | E::Oversized { .. } | E::IpLengthMismatch { .. } => {
                self.packet_len_err += 1
            }
            E::BadTtl(_) => self.ip_ttl_err += 1,
            E::BadVersion(_) | E::VersionMismatch { .. } | E::V2OverIpv6 => self.version_err += 1,
            E::BadType(_) => self.invalid_type_rcvd += 1,
            E::BadChecksum => self.checksum_err += 1,
            E::InvalidAuthType(_) => self.invalid_authtype += 1,
            E::AuthTypeMismatch { .. } => self.authtype_mismatch += 1,
            E::AuthFailure => self.auth_failure += 1,
            E::AdvertIntervalMismatch { .. } | E::ZeroAdvertInterval => {
                self.advert_interval_err += 1
            }
            E::VridMismatch { .. } => self.vrid_err += 1,
            E::AddressCountMismatch { .. } | E::AddressListMismatch { .. } => {
                self.addr_list_err += 1
            }
            E::NotIpv4(_)
            | E::BadIpHeaderLength(_)
            | E::BadIpChecksum
            | E::Fragmented
            | E::NotVrrp(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_drop_reason_lands_in_keepalived_counter() {
        let mut c = Counters::default();
        c.record_drop(&DecodeError::BadTtl(64));
        c.record_drop(&DecodeError::AuthFailure);
        c.record_drop(&DecodeError::AuthTypeMismatch {
            got: 0,
            expected: 1,
        });
        c.record_drop(&DecodeError::InvalidAuthType(7));
        c.record_drop(&DecodeError::BadType(2));
        c.record_drop(&DecodeError::AdvertIntervalMismatch {
            got: 2,
            expected: 1,
        });
        c.record_drop(&DecodeError::AddressCountMismatch {
            got: 2,
            expected: 1,
        });
        c.record_drop(&DecodeError::TooShort {
            len: 3,
            expected: 8,
        });
        c.record_drop(&DecodeError::BadChecksum);
        c.record_drop(&DecodeError::NotVrrp(6));
        assert_eq!(
            c,
            Counters {
                ip_ttl_err: 1,
                auth_failure: 1,
                authtype_mismatch: 1,
                invalid_authtype: 1,
                invalid_type_rcvd: 1,
                advert_interval_err: 1,
                addr_list_err: 1,
                packet_len_err: 1,
                checksum_err: 1,
                ..Counters::default()
            }
        );
    }
}
