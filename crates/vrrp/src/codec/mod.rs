//! VRRP advertisement codec: VRRPv2 (RFC 3768 §5) and VRRPv3 (RFC 5798 §5), the IPv4
//! header keepalived puts around them, and the receive-side checks of RFC 3768 §7.1 /
//! RFC 5798 §7.1.
//!
//! Three layers, kept apart so the service can use whichever its socket gives it:
//! 1. [`encode_vrrp`] / [`decode_vrrp`]: the VRRP message alone (what a raw socket
//!    without `IP_HDRINCL` sends, and what a raw IPv6 socket delivers).
//! 2. [`encode_ipv4_packet`] / [`parse_ipv4_packet`]: the complete IPv4 packet exactly as
//!    keepalived 2.2 builds it with `IP_HDRINCL`; [`parse_ipv6_payload`] for IPv6, where
//!    the caller supplies hop limit and addresses from ancillary data.
//! 3. [`validate`]: the checks against one instance's configuration.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use thiserror::Error;

use crate::time::{AdvertCentiseconds, AdvertInterval, AdvertSeconds};

/// IP protocol number of VRRP (RFC 3768 §5.2.4, RFC 5798 §5.1.1.4).
pub const IPPROTO_VRRP: u8 = 112;
/// TTL / hop limit every VRRP packet is sent with and must arrive with
/// (RFC 3768 §5.2.3, RFC 5798 §5.1.1.3 / §5.1.2.3).
pub const VRRP_TTL: u8 = 255;
/// IPv4 multicast group of VRRP (RFC 3768 §5.2.2, RFC 5798 §5.1.1.2).
pub const VRRP_GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// IPv6 multicast group of VRRP (RFC 5798 §5.1.2.2).
pub const VRRP_GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// Type-of-service byte keepalived sets on its IPv4 adverts (Internetwork Control).
pub const KEEPALIVED_TOS: u8 = 0xc0;
/// Length of the VRRPv2 authentication data (RFC 3768 §5.3.10).
pub const AUTH_DATA_LEN: usize = 8;
/// Fixed part of every VRRP message (version/type .. checksum).
pub const FIXED_HEADER_LEN: usize = 8;
/// Length of the IPv4 header keepalived builds (no options).
pub const IPV4_HEADER_LEN: usize = 20;

/// VRRP protocol version (RFC 3768 §5.3.1, RFC 5798 §5.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Version {
    /// VRRPv2, RFC 3768 (IPv4 only).
    V2,
    /// VRRPv3, RFC 5798 (IPv4 and IPv6).
    V3,
}

impl Version {
    /// The 4-bit version number on the wire.
    pub const fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }
}

/// VRRPv2 authentication (RFC 3768 §5.3.6). VRRPv3 has none (RFC 5798 §9).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Auth {
    /// Type 0: no authentication. The 8 data bytes are sent as zero and ignored on receipt.
    None,
    /// Type 1: simple text password, 8 bytes, zero padded (keepalived `auth_type PASS`).
    Pass([u8; AUTH_DATA_LEN]),
    /// Type 2: IPsec AH (RFC 2338). Kept so such adverts decode and can be counted as an
    /// auth-type mismatch; keepalived-rs does not send AH.
    Ah([u8; AUTH_DATA_LEN]),
}

impl Auth {
    /// A PASS authentication from keepalived's `auth_pass` string: truncated to 8 bytes and
    /// zero padded, as keepalived stores it.
    pub fn pass(password: &str) -> Self {
        let mut data = [0u8; AUTH_DATA_LEN];
        for (d, b) in data.iter_mut().zip(password.bytes()) {
            *d = b;
        }
        Auth::Pass(data)
    }

    /// The `Auth Type` number on the wire.
    pub const fn type_number(&self) -> u8 {
        match self {
            Auth::None => 0,
            Auth::Pass(_) => 1,
            Auth::Ah(_) => 2,
        }
    }

    fn data(&self) -> [u8; AUTH_DATA_LEN] {
        match self {
            Auth::None => [0; AUTH_DATA_LEN],
            Auth::Pass(d) | Auth::Ah(d) => *d,
        }
    }
}

/// One VRRP advertisement, version independent. The interval's variant is the version.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Advert {
    /// Virtual Router Identifier (1..=255).
    pub vrid: u8,
    /// Sender's priority: 255 owner, 1..=254 backup, 0 "master stopping" (RFC 5798 §5.2.4).
    pub priority: u8,
    /// Advertisement interval; `V2` seconds or `V3` centiseconds.
    pub interval: AdvertInterval,
    /// Authentication; always [`Auth::None`] for VRRPv3.
    pub auth: Auth,
    /// The virtual addresses, all of one family (IPv4 only for VRRPv2).
    pub addresses: Vec<IpAddr>,
}

impl Advert {
    /// The protocol version, implied by the interval's unit.
    pub const fn version(&self) -> Version {
        match self.interval {
            AdvertInterval::V2(_) => Version::V2,
            AdvertInterval::V3(_) => Version::V3,
        }
    }
}

/// The source and destination the VRRPv3 checksum covers (RFC 5798 §5.2.8); for VRRPv2 it
/// only fixes the address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PseudoHeader {
    /// IPv4 pseudo-header (RFC 768 style: src, dst, zero, protocol, length).
    V4 {
        /// Source address of the IPv4 packet.
        src: Ipv4Addr,
        /// Destination address (the multicast group, or a unicast peer).
        dst: Ipv4Addr,
    },
    /// IPv6 pseudo-header (RFC 2460 §8.1: src, dst, upper-layer length, next header).
    V6 {
        /// Source address (the sender's link-local address).
        src: Ipv6Addr,
        /// Destination address (ff02::12, or a unicast peer).
        dst: Ipv6Addr,
    },
}

impl PseudoHeader {
    /// The pseudo-header of a packet from `src` to `dst`; `None` if the families differ.
    pub fn new(src: IpAddr, dst: IpAddr) -> Option<Self> {
        match (src, dst) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => Some(PseudoHeader::V4 { src, dst }),
            (IpAddr::V6(src), IpAddr::V6(dst)) => Some(PseudoHeader::V6 { src, dst }),
            _ => None,
        }
    }

    const fn is_v6(&self) -> bool {
        matches!(self, PseudoHeader::V6 { .. })
    }

    fn bytes(&self, upper_len: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(40);
        match self {
            PseudoHeader::V4 { src, dst } => {
                v.extend_from_slice(&src.octets());
                v.extend_from_slice(&dst.octets());
                v.push(0);
                v.push(IPPROTO_VRRP);
                // The length of a VRRP message always fits 16 bits (at most 8 + 255*16).
                v.extend_from_slice(&(upper_len as u16).to_be_bytes());
            }
            PseudoHeader::V6 { src, dst } => {
                v.extend_from_slice(&src.octets());
                v.extend_from_slice(&dst.octets());
                v.extend_from_slice(&(upper_len as u32).to_be_bytes());
                v.extend_from_slice(&[0, 0, 0, IPPROTO_VRRP]);
            }
        }
        v
    }
}

/// Why a received packet is dropped: one variant per reason, from parsing (IP header,
/// VRRP message) and from validation against the instance (RFC 3768 §7.1, RFC 5798 §7.1).
///
/// [`crate::counters::Counters::record_drop`] maps each to keepalived's statistics.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// Fewer bytes than the header (or than the address count) requires.
    #[error("vrrp packet too short, length {len} and expect {expected}")]
    TooShort {
        /// Bytes received.
        len: usize,
        /// Bytes needed.
        expected: usize,
    },
    /// More bytes than the header's address count accounts for.
    #[error("vrrp packet too long, length {len} and expect {expected}")]
    Oversized {
        /// Bytes received.
        len: usize,
        /// Bytes the header accounts for.
        expected: usize,
    },
    /// The IP version nibble is not 4 where an IPv4 packet was expected.
    #[error("not an IPv4 packet (version {0})")]
    NotIpv4(u8),
    /// IPv4 header length below 20 bytes or beyond the packet.
    #[error("invalid IPv4 header length {0}")]
    BadIpHeaderLength(usize),
    /// IPv4 `Total Length` disagrees with the bytes received.
    #[error("ip_tot_len mismatch against received length. {header} and received {received}")]
    IpLengthMismatch {
        /// Total Length field.
        header: usize,
        /// Bytes received.
        received: usize,
    },
    /// The IPv4 header checksum is wrong.
    #[error("invalid IPv4 header checksum")]
    BadIpChecksum,
    /// A fragment; VRRP packets are never fragmented.
    #[error("fragmented IPv4 packet")]
    Fragmented,
    /// The IP protocol is not 112.
    #[error("IP protocol {0} is not VRRP")]
    NotVrrp(u8),
    /// TTL / hop limit is not 255 (RFC 5798 §7.1: MUST discard).
    #[error("invalid TTL/HL. Received {0} and expect 255")]
    BadTtl(u8),
    /// Unknown VRRP version (neither 2 nor 3).
    #[error("unknown VRRP version {0}")]
    BadVersion(u8),
    /// VRRP version differs from the instance's (RFC 5798 §7.1: MUST discard).
    #[error("wrong version. Received {got} and expect {expected}")]
    VersionMismatch {
        /// Version received.
        got: u8,
        /// Version configured.
        expected: u8,
    },
    /// VRRPv2 over IPv6 (RFC 3768 is IPv4 only).
    #[error("VRRPv2 advert over IPv6")]
    V2OverIpv6,
    /// Type is not 1 (ADVERTISEMENT).
    #[error("Invalid packet type. {0} and expect 1")]
    BadType(u8),
    /// VRRP checksum does not verify.
    #[error("Invalid VRRP checksum")]
    BadChecksum,
    /// Advertisement interval of zero.
    #[error("advertisement interval of zero")]
    ZeroAdvertInterval,
    /// VRRPv2 `Auth Type` not 0, 1 or 2.
    #[error("Invalid auth type: {0}")]
    InvalidAuthType(u8),
    /// VRID is not the instance's.
    #[error("VRID {got} is not ours ({expected})")]
    VridMismatch {
        /// VRID received.
        got: u8,
        /// VRID configured.
        expected: u8,
    },
    /// VRRPv2 `Auth Type` differs from the configured one (RFC 3768 §7.1).
    #[error("received a {got} auth, expecting {expected}!")]
    AuthTypeMismatch {
        /// Type received.
        got: u8,
        /// Type configured.
        expected: u8,
    },
    /// VRRPv2 password differs.
    #[error("received an invalid passwd!")]
    AuthFailure,
    /// VRRPv2 interval differs from ours (RFC 3768 §7.1: MUST discard).
    #[error("advertisement interval mismatch mine={expected} sec rcv'd={got} sec")]
    AdvertIntervalMismatch {
        /// AdvertSeconds received.
        got: u8,
        /// AdvertSeconds configured.
        expected: u8,
    },
    /// The number of addresses differs from the configured VIPs.
    #[error("received an unexpected ip number count {got}, expected {expected}!")]
    AddressCountMismatch {
        /// Count received.
        got: usize,
        /// VIPs configured.
        expected: usize,
    },
    /// A configured VIP is missing from the advert.
    #[error("ip address associated with VRID {vrid} not present in MASTER advert : {missing}")]
    AddressListMismatch {
        /// Our VRID.
        vrid: u8,
        /// The first configured VIP not in the advert.
        missing: IpAddr,
    },
}

/// Why an advert cannot be encoded.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// More than 255 addresses (the count field is 8 bits).
    #[error("{0} addresses do not fit the 8-bit count field")]
    TooManyAddresses(usize),
    /// An address of the other family than the pseudo-header's.
    #[error("address {0} is not of the packet's address family")]
    AddressFamilyMismatch(IpAddr),
    /// VRRPv2 is IPv4 only (RFC 3768).
    #[error("VRRPv2 cannot be sent over IPv6")]
    V2OverIpv6,
    /// VRRPv3 has no authentication (RFC 5798 §9).
    #[error("VRRPv3 has no authentication field")]
    AuthOnV3,
}

/// Internet checksum (RFC 1071) over the concatenation of `parts`, each of even length
/// except possibly the last.
pub(crate) fn internet_checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    for part in parts {
        let mut chunks = part.chunks_exact(2);
        for c in &mut chunks {
            sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
        }
        if let [last] = chunks.remainder() {
            sum += u32::from(u16::from_be_bytes([*last, 0]));
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn address_len(v6: bool) -> usize {
    if v6 { 16 } else { 4 }
}

/// Length of the VRRP message for `version`, `count` addresses of the given family.
pub const fn vrrp_len(version: Version, count: usize, v6: bool) -> usize {
    let addr = if v6 { 16 } else { 4 };
    let auth = match version {
        Version::V2 => AUTH_DATA_LEN,
        Version::V3 => 0,
    };
    FIXED_HEADER_LEN + count * addr + auth
}

mod ip;
mod message;
mod validate;

pub use ip::*;
pub use message::*;
pub use validate::*;

#[cfg(test)]
mod tests;
