//! The IP framing: the IPv4 packet keepalived builds with `IP_HDRINCL`, the IPv6 payload a
//! raw socket delivers, and the IPv4 identification counter.

use super::*;

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
pub struct IpIdCounter(pub(super) u16);

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
