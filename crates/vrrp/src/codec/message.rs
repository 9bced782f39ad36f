//! The VRRP message alone: [`encode_vrrp`] / [`decode_vrrp`] (RFC 3768 §5.1, RFC 5798 §5.1).

use super::*;

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
            let secs = AdvertSeconds::new(buf[5]).ok_or(DecodeError::ZeroAdvertInterval)?;
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
            let raw = u16::from_be_bytes([buf[4], buf[5]]) & AdvertCentiseconds::MAX;
            let c = AdvertCentiseconds::new(raw).ok_or(DecodeError::ZeroAdvertInterval)?;
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
