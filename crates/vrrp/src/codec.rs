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

use crate::time::{AdvertInterval, Centiseconds, Seconds};

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
        /// Seconds received.
        got: u8,
        /// Seconds configured.
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

// RFC 3768 §5.1 (VRRPv2) packet format:
//
//     0                   1                   2                   3
//     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |   Auth Type   |   Adver Int   |          Checksum             |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                         IP Address (1)                        |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                            .                                  |
//    |                            .                                  |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                         IP Address (n)                        |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                     Authentication Data (1)                   |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                     Authentication Data (2)                   |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
//    Checksum (§5.3.8): over the VRRP message only.
//
// RFC 5798 §5.1 (VRRPv3) packet format:
//
//     0                   1                   2                   3
//     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |                    IPv4 Fields or IPv6 Fields                 |
//   ...                                                             ...
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |Version| Type  | Virtual Rtr ID|   Priority    |Count IPvX Addr|
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    |(rsvd) |     Max Adver Int     |          Checksum             |
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//    +                                                               +
//    +                       IPvX Address(es)                        +
//    +                                                               +
//    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
//    Checksum (§5.2.8): over the VRRP message plus the IPv4 or IPv6 pseudo-header.

/// Encode `advert` as a VRRP message (no IP header), checksum filled in.
///
/// `pseudo` gives the address family and, for VRRPv3, the addresses the checksum covers
/// (RFC 5798 §5.2.8). VRRPv2's checksum covers the message only (RFC 3768 §5.3.8).
pub fn encode_vrrp(advert: &Advert, pseudo: &PseudoHeader) -> Result<Vec<u8>, EncodeError> {
    let v6 = pseudo.is_v6();
    let version = advert.version();
    if version == Version::V2 && v6 {
        return Err(EncodeError::V2OverIpv6);
    }
    if version == Version::V3 && advert.auth != Auth::None {
        return Err(EncodeError::AuthOnV3);
    }
    let count = advert.addresses.len();
    if count > 255 {
        return Err(EncodeError::TooManyAddresses(count));
    }
    let mut out = Vec::with_capacity(vrrp_len(version, count, v6));
    // RFC 3768 §5.3.1-2 / RFC 5798 §5.2.1-2: version in the high nibble, type 1.
    out.push((version.number() << 4) | 1);
    out.push(advert.vrid);
    out.push(advert.priority);
    out.push(count as u8);
    match advert.interval {
        AdvertInterval::V2(s) => {
            out.push(advert.auth.type_number());
            out.push(s.get());
        }
        AdvertInterval::V3(c) => {
            // 4 reserved bits (zero on transmission) + 12-bit Max Adver Int.
            out.extend_from_slice(&c.get().to_be_bytes());
        }
    }
    out.extend_from_slice(&[0, 0]); // checksum placeholder
    for addr in &advert.addresses {
        match (addr, v6) {
            (IpAddr::V4(a), false) => out.extend_from_slice(&a.octets()),
            (IpAddr::V6(a), true) => out.extend_from_slice(&a.octets()),
            _ => return Err(EncodeError::AddressFamilyMismatch(*addr)),
        }
    }
    if version == Version::V2 {
        out.extend_from_slice(&advert.auth.data());
    }
    let sum = match version {
        Version::V2 => internet_checksum(&[&out]),
        Version::V3 => internet_checksum(&[&pseudo.bytes(out.len()), &out]),
    };
    out[6..8].copy_from_slice(&sum.to_be_bytes());
    Ok(out)
}

/// Decode one VRRP message (no IP header), verifying its checksum.
///
/// `pseudo` gives the family (the size of the addresses) and the VRRPv3 checksum's
/// pseudo-header. The whole buffer must be the message: a longer buffer is
/// [`DecodeError::Oversized`], as keepalived's "vrrp packet too long" check.
/// Order of checks: length, version, type, length against the address count, checksum,
/// auth type, interval.
pub fn decode_vrrp(buf: &[u8], pseudo: &PseudoHeader) -> Result<Advert, DecodeError> {
    if buf.len() < FIXED_HEADER_LEN {
        return Err(DecodeError::TooShort {
            len: buf.len(),
            expected: FIXED_HEADER_LEN,
        });
    }
    let v6 = pseudo.is_v6();
    let version = match buf[0] >> 4 {
        2 => Version::V2,
        3 => Version::V3,
        other => return Err(DecodeError::BadVersion(other)),
    };
    if version == Version::V2 && v6 {
        return Err(DecodeError::V2OverIpv6);
    }
    let kind = buf[0] & 0x0f;
    if kind != 1 {
        return Err(DecodeError::BadType(kind));
    }
    let count = usize::from(buf[3]);
    let expected = vrrp_len(version, count, v6);
    if buf.len() < expected {
        return Err(DecodeError::TooShort {
            len: buf.len(),
            expected,
        });
    }
    if buf.len() > expected {
        return Err(DecodeError::Oversized {
            len: buf.len(),
            expected,
        });
    }
    let sum = match version {
        Version::V2 => internet_checksum(&[buf]),
        Version::V3 => internet_checksum(&[&pseudo.bytes(buf.len()), buf]),
    };
    if sum != 0 {
        return Err(DecodeError::BadChecksum);
    }
    let alen = address_len(v6);
    let addresses = buf[FIXED_HEADER_LEN..FIXED_HEADER_LEN + count * alen]
        .chunks_exact(alen)
        .map(|c| match <[u8; 16]>::try_from(c) {
            Ok(b16) => IpAddr::V6(Ipv6Addr::from(b16)),
            Err(_) => IpAddr::V4(Ipv4Addr::new(c[0], c[1], c[2], c[3])),
        })
        .collect();
    let (interval, auth) = match version {
        Version::V2 => {
            let secs = Seconds::new(buf[5]).ok_or(DecodeError::ZeroAdvertInterval)?;
            let mut data = [0u8; AUTH_DATA_LEN];
            data.copy_from_slice(&buf[expected - AUTH_DATA_LEN..]);
            // RFC 3768 §5.3.6.1: with type 0 the data is ignored on reception.
            let auth = match buf[4] {
                0 => Auth::None,
                1 => Auth::Pass(data),
                2 => Auth::Ah(data),
                other => return Err(DecodeError::InvalidAuthType(other)),
            };
            (AdvertInterval::V2(secs), auth)
        }
        Version::V3 => {
            // RFC 5798 §5.2.6: the 4 reserved bits are ignored on reception.
            let raw = u16::from_be_bytes([buf[4], buf[5]]) & Centiseconds::MAX;
            let c = Centiseconds::new(raw).ok_or(DecodeError::ZeroAdvertInterval)?;
            (AdvertInterval::V3(c), Auth::None)
        }
    };
    Ok(Advert {
        vrid: buf[1],
        priority: buf[2],
        interval,
        auth,
        addresses,
    })
}

/// A VRRP advert as received, with the IP fields the checks and the election need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedAdvert {
    /// IP source: the sender's primary address, compared on equal priority (RFC 5798 §6.4.3).
    pub src: IpAddr,
    /// IP destination (the multicast group, or us when unicast).
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// The decoded VRRP message.
    pub vrrp: Advert,
}

/// Parse a complete IPv4 packet as a raw IPv4 socket delivers it (header included).
///
/// Checks the header (version, length, total length against the bytes received as
/// keepalived does, header checksum, no fragment, protocol 112), then decodes the VRRP
/// message with the packet's own addresses as pseudo-header. The TTL is returned, not
/// judged: that is [`validate`]'s job.
pub fn parse_ipv4_packet(buf: &[u8]) -> Result<ReceivedAdvert, DecodeError> {
    if buf.len() < IPV4_HEADER_LEN {
        return Err(DecodeError::TooShort {
            len: buf.len(),
            expected: IPV4_HEADER_LEN,
        });
    }
    if buf[0] >> 4 != 4 {
        return Err(DecodeError::NotIpv4(buf[0] >> 4));
    }
    let ihl = usize::from(buf[0] & 0x0f) * 4;
    if ihl < IPV4_HEADER_LEN || ihl > buf.len() {
        return Err(DecodeError::BadIpHeaderLength(ihl));
    }
    let total = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
    if total != buf.len() {
        return Err(DecodeError::IpLengthMismatch {
            header: total,
            received: buf.len(),
        });
    }
    if internet_checksum(&[&buf[..ihl]]) != 0 {
        return Err(DecodeError::BadIpChecksum);
    }
    let frag = u16::from_be_bytes([buf[6], buf[7]]);
    // More-fragments flag or a non-zero offset.
    if frag & 0x3fff != 0 {
        return Err(DecodeError::Fragmented);
    }
    if buf[9] != IPPROTO_VRRP {
        return Err(DecodeError::NotVrrp(buf[9]));
    }
    let src = Ipv4Addr::new(buf[12], buf[13], buf[14], buf[15]);
    let dst = Ipv4Addr::new(buf[16], buf[17], buf[18], buf[19]);
    let vrrp = decode_vrrp(&buf[ihl..], &PseudoHeader::V4 { src, dst })?;
    Ok(ReceivedAdvert {
        src: src.into(),
        dst: dst.into(),
        ttl: buf[8],
        vrrp,
    })
}

/// Decode the payload of a raw IPv6 socket (which never delivers the IPv6 header): the
/// caller passes the hop limit (`IPV6_HOPLIMIT` ancillary data) and the addresses
/// (`recvmsg` source, `IPV6_PKTINFO` destination).
pub fn parse_ipv6_payload(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    payload: &[u8],
) -> Result<ReceivedAdvert, DecodeError> {
    let vrrp = decode_vrrp(payload, &PseudoHeader::V6 { src, dst })?;
    Ok(ReceivedAdvert {
        src: src.into(),
        dst: dst.into(),
        ttl: hop_limit,
        vrrp,
    })
}

/// keepalived's IPv4 identification counter: one per instance, incremented before each
/// advert and never 0 (the kernel would replace 0 with its own id under `IP_HDRINCL`).
/// The captures show ids 1, 2, 3, … from each keepalived start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IpIdCounter(u16);

impl IpIdCounter {
    /// A counter whose first [`IpIdCounter::next_id`] is 1.
    pub const fn new() -> Self {
        IpIdCounter(0)
    }

    /// The id for the next packet: 1, 2, …, 65535, 1, …
    pub fn next_id(&mut self) -> u16 {
        self.0 = self.0.wrapping_add(1);
        if self.0 == 0 {
            self.0 = 1;
        }
        self.0
    }
}

/// Wrap a VRRP message in the IPv4 header keepalived 2.2 builds for `IP_HDRINCL`:
/// version 4, IHL 5, TOS 0xc0, the given identification, no flags (DF off), offset 0,
/// TTL 255, protocol 112, header checksum filled in.
pub fn encode_ipv4_packet(src: Ipv4Addr, dst: Ipv4Addr, ip_id: u16, vrrp: &[u8]) -> Vec<u8> {
    let total = (IPV4_HEADER_LEN + vrrp.len()) as u16;
    let mut out = Vec::with_capacity(usize::from(total));
    out.extend_from_slice(&[0x45, KEEPALIVED_TOS]);
    out.extend_from_slice(&total.to_be_bytes());
    out.extend_from_slice(&ip_id.to_be_bytes());
    out.extend_from_slice(&[0, 0, VRRP_TTL, IPPROTO_VRRP, 0, 0]);
    out.extend_from_slice(&src.octets());
    out.extend_from_slice(&dst.octets());
    let sum = internet_checksum(&[&out]);
    out[10..12].copy_from_slice(&sum.to_be_bytes());
    out.extend_from_slice(vrrp);
    out
}

/// Encode `advert` as a complete IPv4 packet from `src` to `dst` (see
/// [`encode_ipv4_packet`] for the header).
pub fn encode_advert_ipv4(
    advert: &Advert,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ip_id: u16,
) -> Result<Vec<u8>, EncodeError> {
    let vrrp = encode_vrrp(advert, &PseudoHeader::V4 { src, dst })?;
    Ok(encode_ipv4_packet(src, dst, ip_id, &vrrp))
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn v2_advert() -> Advert {
        Advert {
            vrid: 3,
            priority: 99,
            interval: AdvertInterval::V2(Seconds::new(1).unwrap()),
            auth: Auth::pass("736w4ib2"),
            addresses: vec![IpAddr::V4(Ipv4Addr::new(198, 51, 100, 10))],
        }
    }

    fn v4_pseudo() -> PseudoHeader {
        PseudoHeader::V4 {
            src: Ipv4Addr::new(198, 51, 100, 11),
            dst: Ipv4Addr::new(224, 0, 0, 33),
        }
    }

    fn expectations() -> Expectations {
        Expectations {
            vrid: 3,
            interval: AdvertInterval::V2(Seconds::new(1).unwrap()),
            auth: Auth::pass("736w4ib2"),
            vips: vec![IpAddr::V4(Ipv4Addr::new(198, 51, 100, 10))],
            unicast: false,
        }
    }

    fn received(advert: Advert, ttl: u8) -> ReceivedAdvert {
        ReceivedAdvert {
            src: Ipv4Addr::new(198, 51, 100, 11).into(),
            dst: Ipv4Addr::new(224, 0, 0, 33).into(),
            ttl,
            vrrp: advert,
        }
    }

    #[test]
    fn checksum_of_rfc1071_example_is_complement_of_sum() {
        // RFC 1071 §3 example words 0001 f203 f4f5 f6f7 sum to ddf2 (with carries).
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(internet_checksum(&[&data]), !0xddf2);
        // Odd length pads with a zero byte.
        assert_eq!(internet_checksum(&[&[0x01]]), !0x0100);
    }

    #[test]
    fn v2_encode_then_decode_round_trips_and_verifies_checksum() {
        let bytes = encode_vrrp(&v2_advert(), &v4_pseudo()).unwrap();
        assert_eq!(bytes.len(), 20);
        assert_eq!(decode_vrrp(&bytes, &v4_pseudo()).unwrap(), v2_advert());
        let mut bad = bytes.clone();
        bad[2] ^= 1;
        assert_eq!(
            decode_vrrp(&bad, &v4_pseudo()),
            Err(DecodeError::BadChecksum)
        );
    }

    #[test]
    fn v3_checksum_depends_on_pseudo_header() {
        let adv = Advert {
            interval: AdvertInterval::V3(Centiseconds::new(100).unwrap()),
            auth: Auth::None,
            ..v2_advert()
        };
        let bytes = encode_vrrp(&adv, &v4_pseudo()).unwrap();
        assert_eq!(decode_vrrp(&bytes, &v4_pseudo()).unwrap(), adv);
        let other = PseudoHeader::V4 {
            src: Ipv4Addr::new(198, 51, 100, 12),
            dst: Ipv4Addr::new(224, 0, 0, 33),
        };
        assert_eq!(decode_vrrp(&bytes, &other), Err(DecodeError::BadChecksum));
    }

    #[test]
    fn v3_ipv6_round_trips_with_sixteen_byte_addresses() {
        let pseudo = PseudoHeader::V6 {
            src: "fe80::1".parse().unwrap(),
            dst: VRRP_GROUP_V6,
        };
        let adv = Advert {
            vrid: 7,
            priority: 200,
            interval: AdvertInterval::V3(Centiseconds::new(4095).unwrap()),
            auth: Auth::None,
            addresses: vec!["2001:db8::10".parse().unwrap(), "fe80::10".parse().unwrap()],
        };
        let bytes = encode_vrrp(&adv, &pseudo).unwrap();
        assert_eq!(bytes.len(), 8 + 32);
        assert_eq!(bytes[4] & 0xf0, 0, "reserved bits are zero on transmission");
        let rx =
            parse_ipv6_payload("fe80::1".parse().unwrap(), VRRP_GROUP_V6, 255, &bytes).unwrap();
        assert_eq!(rx.vrrp, adv);
    }

    #[test]
    fn decode_rejects_each_malformation_with_its_own_reason() {
        let good = encode_vrrp(&v2_advert(), &v4_pseudo()).unwrap();
        let p = v4_pseudo();
        assert_eq!(
            decode_vrrp(&good[..7], &p),
            Err(DecodeError::TooShort {
                len: 7,
                expected: 8
            })
        );
        assert_eq!(
            decode_vrrp(&good[..19], &p),
            Err(DecodeError::TooShort {
                len: 19,
                expected: 20
            })
        );
        let mut long = good.clone();
        long.push(0);
        assert_eq!(
            decode_vrrp(&long, &p),
            Err(DecodeError::Oversized {
                len: 21,
                expected: 20
            })
        );
        let mut v = good.clone();
        v[0] = 0x41;
        assert_eq!(decode_vrrp(&v, &p), Err(DecodeError::BadVersion(4)));
        v[0] = 0x22;
        assert_eq!(decode_vrrp(&v, &p), Err(DecodeError::BadType(2)));
        let v6 = PseudoHeader::V6 {
            src: Ipv6Addr::LOCALHOST,
            dst: VRRP_GROUP_V6,
        };
        assert_eq!(decode_vrrp(&good, &v6), Err(DecodeError::V2OverIpv6));
    }

    fn with_fixed_checksum(mut bytes: Vec<u8>) -> Vec<u8> {
        bytes[6] = 0;
        bytes[7] = 0;
        let sum = internet_checksum(&[&bytes]);
        bytes[6..8].copy_from_slice(&sum.to_be_bytes());
        bytes
    }

    #[test]
    fn decode_rejects_zero_interval_and_unknown_auth_type() {
        let mut b = encode_vrrp(&v2_advert(), &v4_pseudo()).unwrap();
        b[5] = 0;
        assert_eq!(
            decode_vrrp(&with_fixed_checksum(b.clone()), &v4_pseudo()),
            Err(DecodeError::ZeroAdvertInterval)
        );
        b[5] = 1;
        b[4] = 3;
        assert_eq!(
            decode_vrrp(&with_fixed_checksum(b), &v4_pseudo()),
            Err(DecodeError::InvalidAuthType(3))
        );
    }

    #[test]
    fn auth_none_ignores_auth_data_on_receipt() {
        let mut b = encode_vrrp(
            &Advert {
                auth: Auth::None,
                ..v2_advert()
            },
            &v4_pseudo(),
        )
        .unwrap();
        assert_eq!(&b[12..20], &[0; 8], "sent as zero");
        b[12] = 0xaa;
        let adv = decode_vrrp(&with_fixed_checksum(b), &v4_pseudo()).unwrap();
        assert_eq!(adv.auth, Auth::None);
    }

    #[test]
    fn encode_refuses_what_the_wire_cannot_carry() {
        let v6 = PseudoHeader::V6 {
            src: Ipv6Addr::LOCALHOST,
            dst: VRRP_GROUP_V6,
        };
        assert_eq!(encode_vrrp(&v2_advert(), &v6), Err(EncodeError::V2OverIpv6));
        let v3 = Advert {
            interval: AdvertInterval::V3(Centiseconds::new(1).unwrap()),
            ..v2_advert()
        };
        assert_eq!(encode_vrrp(&v3, &v4_pseudo()), Err(EncodeError::AuthOnV3));
        let mixed = Advert {
            addresses: vec![IpAddr::V6(Ipv6Addr::LOCALHOST)],
            ..v2_advert()
        };
        assert!(matches!(
            encode_vrrp(&mixed, &v4_pseudo()),
            Err(EncodeError::AddressFamilyMismatch(_))
        ));
        let many = Advert {
            addresses: vec![IpAddr::V4(Ipv4Addr::LOCALHOST); 256],
            ..v2_advert()
        };
        assert_eq!(
            encode_vrrp(&many, &v4_pseudo()),
            Err(EncodeError::TooManyAddresses(256))
        );
    }

    #[test]
    fn ipv4_parse_checks_header_fields() {
        let pkt = encode_advert_ipv4(
            &v2_advert(),
            Ipv4Addr::new(198, 51, 100, 11),
            Ipv4Addr::new(224, 0, 0, 33),
            1,
        )
        .unwrap();
        let rx = parse_ipv4_packet(&pkt).unwrap();
        assert_eq!(rx.ttl, 255);
        assert_eq!(rx.src, IpAddr::V4(Ipv4Addr::new(198, 51, 100, 11)));
        assert_eq!(rx.vrrp, v2_advert());

        assert_eq!(
            parse_ipv4_packet(&pkt[..39]),
            Err(DecodeError::IpLengthMismatch {
                header: 40,
                received: 39
            })
        );
        let mut bad = pkt.clone();
        bad[8] = 1; // TTL changed without fixing the header checksum
        assert_eq!(parse_ipv4_packet(&bad), Err(DecodeError::BadIpChecksum));
        let mut v6 = pkt.clone();
        v6[0] = 0x65;
        assert_eq!(parse_ipv4_packet(&v6), Err(DecodeError::NotIpv4(6)));
        let mut short_ihl = pkt.clone();
        short_ihl[0] = 0x44;
        assert_eq!(
            parse_ipv4_packet(&short_ihl),
            Err(DecodeError::BadIpHeaderLength(16))
        );
    }

    fn refix_ip(mut pkt: Vec<u8>) -> Vec<u8> {
        pkt[10] = 0;
        pkt[11] = 0;
        let sum = internet_checksum(&[&pkt[..20]]);
        pkt[10..12].copy_from_slice(&sum.to_be_bytes());
        pkt
    }

    #[test]
    fn ipv4_parse_rejects_fragments_and_other_protocols() {
        let pkt = encode_advert_ipv4(
            &v2_advert(),
            Ipv4Addr::new(198, 51, 100, 11),
            Ipv4Addr::new(224, 0, 0, 33),
            1,
        )
        .unwrap();
        let mut frag = pkt.clone();
        frag[6] = 0x20; // more fragments
        assert_eq!(
            parse_ipv4_packet(&refix_ip(frag)),
            Err(DecodeError::Fragmented)
        );
        let mut df = pkt.clone();
        df[6] = 0x40; // DF alone is fine
        assert!(parse_ipv4_packet(&refix_ip(df)).is_ok());
        let mut proto = pkt.clone();
        proto[9] = 51;
        assert_eq!(
            parse_ipv4_packet(&refix_ip(proto)),
            Err(DecodeError::NotVrrp(51))
        );
    }

    #[test]
    fn ip_id_counter_starts_at_one_and_skips_zero_on_wrap() {
        let mut c = IpIdCounter::new();
        assert_eq!(c.next_id(), 1);
        assert_eq!(c.next_id(), 2);
        let mut c = IpIdCounter(65534);
        assert_eq!(c.next_id(), 65535);
        assert_eq!(c.next_id(), 1);
    }

    #[test]
    fn validate_accepts_a_matching_advert() {
        assert_eq!(
            validate(&received(v2_advert(), 255), &expectations(), true),
            Ok(())
        );
    }

    #[test]
    fn validate_drops_ttl_below_255_unless_unicast() {
        assert_eq!(
            validate(&received(v2_advert(), 254), &expectations(), true),
            Err(DecodeError::BadTtl(254))
        );
        let uni = Expectations {
            unicast: true,
            ..expectations()
        };
        assert_eq!(validate(&received(v2_advert(), 64), &uni, true), Ok(()));
    }

    #[test]
    fn validate_drops_version_vrid_and_auth_mismatches() {
        let exp = expectations();
        let v3 = Advert {
            interval: AdvertInterval::V3(Centiseconds::new(100).unwrap()),
            auth: Auth::None,
            ..v2_advert()
        };
        assert_eq!(
            validate(&received(v3, 255), &exp, true),
            Err(DecodeError::VersionMismatch {
                got: 3,
                expected: 2
            })
        );
        let vrid = Advert {
            vrid: 4,
            ..v2_advert()
        };
        assert_eq!(
            validate(&received(vrid, 255), &exp, true),
            Err(DecodeError::VridMismatch {
                got: 4,
                expected: 3
            })
        );
        let none = Advert {
            auth: Auth::None,
            ..v2_advert()
        };
        assert_eq!(
            validate(&received(none, 255), &exp, true),
            Err(DecodeError::AuthTypeMismatch {
                got: 0,
                expected: 1
            })
        );
        let wrong = Advert {
            auth: Auth::pass("wrong"),
            ..v2_advert()
        };
        assert_eq!(
            validate(&received(wrong, 255), &exp, true),
            Err(DecodeError::AuthFailure)
        );
    }

    #[test]
    fn validate_drops_v2_interval_mismatch_but_not_v3() {
        let slow = Advert {
            interval: AdvertInterval::V2(Seconds::new(2).unwrap()),
            ..v2_advert()
        };
        assert_eq!(
            validate(&received(slow, 255), &expectations(), true),
            Err(DecodeError::AdvertIntervalMismatch {
                got: 2,
                expected: 1
            })
        );
        // RFC 5798 §6.4.2: a v3 backup learns the master's interval instead.
        let exp3 = Expectations {
            interval: AdvertInterval::V3(Centiseconds::new(100).unwrap()),
            auth: Auth::None,
            ..expectations()
        };
        let other = Advert {
            interval: AdvertInterval::V3(Centiseconds::new(10).unwrap()),
            auth: Auth::None,
            ..v2_advert()
        };
        assert_eq!(validate(&received(other, 255), &exp3, true), Ok(()));
    }

    #[test]
    fn validate_drops_address_mismatch_like_keepalived_unless_check_skipped() {
        let exp = expectations();
        let two = Advert {
            addresses: vec![
                Ipv4Addr::new(198, 51, 100, 10).into(),
                Ipv4Addr::new(198, 51, 100, 20).into(),
            ],
            ..v2_advert()
        };
        assert_eq!(
            validate(&received(two.clone(), 255), &exp, true),
            Err(DecodeError::AddressCountMismatch {
                got: 2,
                expected: 1
            })
        );
        let other = Advert {
            addresses: vec![Ipv4Addr::new(198, 51, 100, 99).into()],
            ..v2_advert()
        };
        let err = validate(&received(other.clone(), 255), &exp, true).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ip address associated with VRID 3 not present in MASTER advert : 198.51.100.10"
        );
        assert_eq!(validate(&received(other, 255), &exp, false), Ok(()));
        assert_eq!(validate(&received(two, 255), &exp, false), Ok(()));
    }
}
