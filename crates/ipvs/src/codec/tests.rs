//! Byte-for-byte tests of the codec against messages built by hand from `linux/ip_vs.h`, and
//! property tests (round trips, robustness against arbitrary bytes). The hand-built vectors are
//! little-endian, like every machine this project targets.
#![cfg(target_endian = "little")]

use super::*;
use crate::types::*;
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const FAM: u16 = 0x1a;

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

fn tcp_key() -> ServiceKey {
    ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: v4(198, 51, 100, 1),
        port: 80,
    }
}

/// nlmsghdr + genlmsghdr, written out by hand.
fn header(len: u32, flags: u16, seq: u32, cmd: u8) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&len.to_le_bytes());
    v.extend_from_slice(&FAM.to_le_bytes());
    v.extend_from_slice(&flags.to_le_bytes());
    v.extend_from_slice(&seq.to_le_bytes());
    v.extend_from_slice(&[0, 0, 0, 0]);
    v.extend_from_slice(&[cmd, 1, 0, 0]);
    v
}

/// The key attributes of TCP 198.51.100.1:80.
const TCP_KEY_ATTRS: [u8; 32] = [
    0x06, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, // AF = AF_INET
    0x06, 0x00, 0x02, 0x00, 0x06, 0x00, 0x00, 0x00, // PROTOCOL = 6
    0x08, 0x00, 0x03, 0x00, 198, 51, 100, 1, // ADDR
    0x06, 0x00, 0x04, 0x00, 0x00, 0x50, 0x00, 0x00, // PORT = 80, big-endian
];

#[test]
fn add_service_bytes() {
    let svc = Service::new(tcp_key(), "rr");
    let mut buf = Vec::new();
    let start = encode_op(
        &mut buf,
        FAM,
        7,
        NLM_F_REQUEST | NLM_F_ACK,
        &Op::AddService(svc),
    )
    .unwrap();
    assert_eq!(start, 0);
    let mut want = header(92, 0x5, 7, 1);
    want.extend_from_slice(&[0x48, 0x00, 0x01, 0x80]); // nested CMD_ATTR_SERVICE, 72 bytes
    want.extend_from_slice(&TCP_KEY_ATTRS);
    want.extend_from_slice(&[
        0x07, 0x00, 0x06, 0x00, b'r', b'r', 0x00, 0x00, // SCHED_NAME "rr\0" + pad
        0x0c, 0x00, 0x07, 0x00, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, // FLAGS {0, ~0}
        0x08, 0x00, 0x08, 0x00, 0, 0, 0, 0, // TIMEOUT 0
        0x08, 0x00, 0x09, 0x00, 0xff, 0xff, 0xff, 0xff, // NETMASK 255.255.255.255
    ]);
    assert_eq!(buf, want);
}

#[test]
fn edit_service_persistent_masked_bytes() {
    let mut svc = Service::new(tcp_key(), "wlc").persistent(300);
    svc.netmask = 0xffff_ff00;
    // HASHED must never reach the kernel (it would refuse to hash the service).
    svc.flags
        .insert(ServiceFlags::HASHED | ServiceFlags::ONE_PACKET);
    let mut buf = Vec::new();
    encode_op(&mut buf, FAM, 1, NLM_F_REQUEST, &Op::EditService(svc)).unwrap();
    let mut want = header(92, 0x1, 1, 2);
    want.extend_from_slice(&[0x48, 0x00, 0x01, 0x80]);
    want.extend_from_slice(&TCP_KEY_ATTRS);
    want.extend_from_slice(&[
        0x08, 0x00, 0x06, 0x00, b'w', b'l', b'c', 0x00, // SCHED_NAME "wlc\0"
        0x0c, 0x00, 0x07, 0x00, 0x05, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, // PERSISTENT|ONEPACKET
        0x08, 0x00, 0x08, 0x00, 0x2c, 0x01, 0, 0, // TIMEOUT 300
        0x08, 0x00, 0x09, 0x00, 0xff, 0xff, 0xff, 0x00, // NETMASK 255.255.255.0 (be32)
    ]);
    assert_eq!(buf, want);
}

#[test]
fn v6_service_prefix_and_pe_bytes() {
    let key = ServiceKey::Addr {
        protocol: Protocol::Udp,
        addr: "2001:db8::1".parse().unwrap(),
        port: 53,
    };
    let mut svc = Service::new(key, "sh").persistent(60);
    svc.netmask = 64;
    svc.pe_name = Some("sip".into());
    svc.flags.insert(ServiceFlags::SH_PORT);
    let mut buf = Vec::new();
    encode_op(&mut buf, FAM, 2, NLM_F_REQUEST, &Op::AddService(svc)).unwrap();
    let mut want = header(16 + 4 + 4 + 8 + 8 + 20 + 8 + 8 + 8 + 12 + 8 + 8, 0x1, 2, 1);
    want.extend_from_slice(&[0x5c, 0x00, 0x01, 0x80]); // 92 bytes
    want.extend_from_slice(&[0x06, 0x00, 0x01, 0x00, 0x0a, 0x00, 0x00, 0x00]); // AF_INET6
    want.extend_from_slice(&[0x06, 0x00, 0x02, 0x00, 0x11, 0x00, 0x00, 0x00]); // UDP
    want.extend_from_slice(&[0x14, 0x00, 0x03, 0x00]);
    want.extend_from_slice(&"2001:db8::1".parse::<Ipv6Addr>().unwrap().octets());
    want.extend_from_slice(&[0x06, 0x00, 0x04, 0x00, 0x00, 0x35, 0x00, 0x00]); // port 53
    want.extend_from_slice(&[0x07, 0x00, 0x06, 0x00, b's', b'h', 0, 0]);
    want.extend_from_slice(&[0x08, 0x00, 0x0b, 0x00, b's', b'i', b'p', 0]); // PE_NAME
    want.extend_from_slice(&[
        0x0c, 0x00, 0x07, 0x00, 0x11, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
    ]); // PERSISTENT|SCHED2
    want.extend_from_slice(&[0x08, 0x00, 0x08, 0x00, 60, 0, 0, 0]);
    want.extend_from_slice(&[0x08, 0x00, 0x09, 0x00, 64, 0, 0, 0]); // prefix, host order
    assert_eq!(buf, want);
}

#[test]
fn add_dest_route_bytes() {
    let d = Dest::new(v4(203, 0, 113, 10), 8080, Forward::Route).weight(5);
    let mut buf = Vec::new();
    encode_op(&mut buf, FAM, 9, NLM_F_REQUEST, &Op::AddDest(tcp_key(), d)).unwrap();
    let mut want = header(116, 0x1, 9, 5);
    want.extend_from_slice(&[0x24, 0x00, 0x01, 0x80]);
    want.extend_from_slice(&TCP_KEY_ATTRS);
    want.extend_from_slice(&[0x3c, 0x00, 0x02, 0x80]); // nested CMD_ATTR_DEST, 60 bytes
    want.extend_from_slice(&[
        0x08, 0x00, 0x01, 0x00, 203, 0, 113, 10, // ADDR
        0x06, 0x00, 0x02, 0x00, 0x1f, 0x90, 0x00, 0x00, // PORT 8080 be
        0x06, 0x00, 0x0b, 0x00, 0x02, 0x00, 0x00, 0x00, // ADDR_FAMILY AF_INET
        0x08, 0x00, 0x03, 0x00, 0x03, 0, 0, 0, // FWD_METHOD DROUTE
        0x08, 0x00, 0x04, 0x00, 0x05, 0, 0, 0, // WEIGHT 5
        0x08, 0x00, 0x05, 0x00, 0, 0, 0, 0, // U_THRESH
        0x08, 0x00, 0x06, 0x00, 0, 0, 0, 0, // L_THRESH
    ]);
    assert_eq!(buf, want);
}

#[test]
fn edit_dest_tunnel_gue_bytes() {
    let mut d = Dest::new(v4(203, 0, 113, 11), 80, Forward::Tunnel).weight(2);
    d.upper_threshold = 1000;
    d.lower_threshold = 10;
    d.tunnel = Tunnel {
        kind: TunnelType::Gue,
        port: 6080,
        flags: 1,
    };
    let mut buf = Vec::new();
    encode_op(&mut buf, FAM, 3, NLM_F_REQUEST, &Op::EditDest(tcp_key(), d)).unwrap();
    let mut want = header(16 + 4 + 36 + 4 + 56 + 24, 0x1, 3, 6);
    want.extend_from_slice(&[0x24, 0x00, 0x01, 0x80]);
    want.extend_from_slice(&TCP_KEY_ATTRS);
    want.extend_from_slice(&[0x54, 0x00, 0x02, 0x80]); // 84 bytes
    want.extend_from_slice(&[
        0x08, 0x00, 0x01, 0x00, 203, 0, 113, 11, // ADDR
        0x06, 0x00, 0x02, 0x00, 0x00, 0x50, 0x00, 0x00, // PORT 80
        0x06, 0x00, 0x0b, 0x00, 0x02, 0x00, 0x00, 0x00, // ADDR_FAMILY
        0x08, 0x00, 0x03, 0x00, 0x02, 0, 0, 0, // FWD_METHOD TUNNEL
        0x08, 0x00, 0x04, 0x00, 0x02, 0, 0, 0, // WEIGHT 2
        0x08, 0x00, 0x05, 0x00, 0xe8, 0x03, 0, 0, // U_THRESH 1000
        0x08, 0x00, 0x06, 0x00, 0x0a, 0, 0, 0, // L_THRESH 10
        0x05, 0x00, 0x0d, 0x00, 0x01, 0x00, 0x00, 0x00, // TUN_TYPE GUE (u8 + pad)
        0x06, 0x00, 0x0e, 0x00, 0x17, 0xc0, 0x00, 0x00, // TUN_PORT 6080 be
        0x06, 0x00, 0x0f, 0x00, 0x01, 0x00, 0x00, 0x00, // TUN_FLAGS CSUM
    ]);
    assert_eq!(buf, want);
}

#[test]
fn del_dest_and_fwmark_del_service_and_flush_bytes() {
    let mut buf = Vec::new();
    encode_op(
        &mut buf,
        FAM,
        4,
        NLM_F_REQUEST,
        &Op::DelDest(tcp_key(), v4(203, 0, 113, 10), 8080),
    )
    .unwrap();
    let mut want = header(16 + 4 + 36 + 28, 0x1, 4, 7);
    want.extend_from_slice(&[0x24, 0x00, 0x01, 0x80]);
    want.extend_from_slice(&TCP_KEY_ATTRS);
    want.extend_from_slice(&[0x1c, 0x00, 0x02, 0x80]);
    want.extend_from_slice(&[
        0x08, 0x00, 0x01, 0x00, 203, 0, 113, 10, //
        0x06, 0x00, 0x02, 0x00, 0x1f, 0x90, 0x00, 0x00, //
        0x06, 0x00, 0x0b, 0x00, 0x02, 0x00, 0x00, 0x00,
    ]);
    assert_eq!(buf, want);

    buf.clear();
    let key = ServiceKey::Fwmark {
        family: Family::V6,
        mark: 0x0102_0304,
    };
    encode_op(&mut buf, FAM, 5, NLM_F_REQUEST, &Op::DelService(key)).unwrap();
    let mut want = header(16 + 4 + 20, 0x1, 5, 3);
    want.extend_from_slice(&[0x14, 0x00, 0x01, 0x80]);
    want.extend_from_slice(&[0x06, 0x00, 0x01, 0x00, 0x0a, 0x00, 0x00, 0x00]);
    want.extend_from_slice(&[0x08, 0x00, 0x05, 0x00, 0x04, 0x03, 0x02, 0x01]);
    assert_eq!(buf, want);

    buf.clear();
    encode_op(&mut buf, FAM, 6, NLM_F_REQUEST | NLM_F_ACK, &Op::Flush).unwrap();
    assert_eq!(buf, header(20, 0x5, 6, 17));
}

#[test]
fn get_requests_bytes() {
    let mut buf = Vec::new();
    encode_simple(
        &mut buf,
        FAM,
        1,
        NLM_F_REQUEST | NLM_F_DUMP,
        cmd::GET_SERVICE,
    );
    assert_eq!(buf, header(20, 0x301, 1, 4));

    buf.clear();
    encode_get_dests(&mut buf, FAM, 2, &tcp_key());
    let mut want = header(16 + 4 + 36, 0x301, 2, 8);
    want.extend_from_slice(&[0x24, 0x00, 0x01, 0x80]);
    want.extend_from_slice(&TCP_KEY_ATTRS);
    assert_eq!(buf, want);

    buf.clear();
    encode_set_timeouts(
        &mut buf,
        FAM,
        3,
        NLM_F_REQUEST | NLM_F_ACK,
        &Timeouts {
            tcp: 900,
            tcp_fin: 120,
            udp: 300,
        },
    );
    let mut want = header(44, 0x5, 3, 12);
    want.extend_from_slice(&[
        0x08, 0x00, 0x04, 0x00, 0x84, 0x03, 0, 0, //
        0x08, 0x00, 0x05, 0x00, 0x78, 0, 0, 0, //
        0x08, 0x00, 0x06, 0x00, 0x2c, 0x01, 0, 0,
    ]);
    assert_eq!(buf, want);

    buf.clear();
    encode_get_family(&mut buf, 8, "IPVS");
    let mut want = Vec::new();
    want.extend_from_slice(&32u32.to_le_bytes());
    want.extend_from_slice(&[0x10, 0x00, 0x05, 0x00, 8, 0, 0, 0, 0, 0, 0, 0]);
    want.extend_from_slice(&[3, 1, 0, 0]);
    want.extend_from_slice(&[0x09, 0x00, 0x02, 0x00, b'I', b'P', b'V', b'S', 0, 0, 0, 0]);
    assert_eq!(buf, want);
}

#[test]
fn rejects_bad_names_and_zero_mark() {
    let mut buf = Vec::new();
    let long = Service::new(tcp_key(), "a-scheduler-name-too-long");
    assert!(matches!(
        encode_op(&mut buf, FAM, 1, NLM_F_REQUEST, &Op::AddService(long)),
        Err(EncodeError::BadName { .. })
    ));
    let empty = Service::new(tcp_key(), "");
    assert!(validate_op(&Op::AddService(empty)).is_err());
    let nul = Service::new(tcp_key(), "r\0r");
    assert!(validate_op(&Op::AddService(nul)).is_err());
    let zero = ServiceKey::Fwmark {
        family: Family::V4,
        mark: 0,
    };
    assert_eq!(
        validate_op(&Op::DelService(zero)),
        Err(EncodeError::ZeroFwmark)
    );
    assert!(buf.is_empty(), "nothing is written for a refused op");
}

/// A service as 6.1's `ip_vs_genl_fill_service` dumps it: 16-byte address, flags with mask
/// (and the hashed bit),
/// both the legacy and the 64-bit stats nests.
#[test]
fn decode_kernel_service_dump() {
    let mut nest = Vec::new();
    nest.extend_from_slice(&[0x06, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00]);
    nest.extend_from_slice(&[0x06, 0x00, 0x02, 0x00, 0x06, 0x00, 0x00, 0x00]);
    nest.extend_from_slice(&[0x14, 0x00, 0x03, 0x00, 198, 51, 100, 1]);
    nest.extend_from_slice(&[0; 12]);
    nest.extend_from_slice(&[0x06, 0x00, 0x04, 0x00, 0x01, 0xbb, 0x00, 0x00]); // 443
    nest.extend_from_slice(&[0x08, 0x00, 0x06, 0x00, b'w', b'r', b'r', 0]);
    // PERSISTENT | HASHED: 6.1 reports its internal "hashed" bit, which the decoder drops.
    nest.extend_from_slice(&[
        0x0c, 0x00, 0x07, 0x00, 0x03, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
    ]);
    nest.extend_from_slice(&[0x08, 0x00, 0x08, 0x00, 0x58, 0x02, 0, 0]); // 600
    nest.extend_from_slice(&[0x08, 0x00, 0x09, 0x00, 255, 255, 0, 0]);
    // legacy STATS: conns u32 = 1, inbytes u64 = 2 (ignored: STATS64 wins)
    nest.extend_from_slice(&[0x18, 0x00, 0x0a, 0x80]);
    nest.extend_from_slice(&[0x08, 0x00, 0x01, 0x00, 1, 0, 0, 0]);
    nest.extend_from_slice(&[0x0c, 0x00, 0x04, 0x00, 2, 0, 0, 0, 0, 0, 0, 0]);
    // STATS64: conns = 5, inbytes = 2^33, outbps = 7
    nest.extend_from_slice(&[0x28, 0x00, 0x0c, 0x80]);
    nest.extend_from_slice(&[0x0c, 0x00, 0x01, 0x00, 5, 0, 0, 0, 0, 0, 0, 0]);
    nest.extend_from_slice(&[0x0c, 0x00, 0x04, 0x00, 0, 0, 0, 0, 2, 0, 0, 0]);
    nest.extend_from_slice(&[0x0c, 0x00, 0x0a, 0x00, 7, 0, 0, 0, 0, 0, 0, 0]);
    // An attribute from a future kernel is skipped.
    nest.extend_from_slice(&[0x08, 0x00, 0x30, 0x00, 1, 2, 3, 4]);
    let mut attrs = Vec::new();
    attrs.extend_from_slice(&((nest.len() + 4) as u16).to_le_bytes());
    attrs.extend_from_slice(&[0x01, 0x80]);
    attrs.extend_from_slice(&nest);

    let s = decode_service_msg(&attrs).unwrap();
    assert_eq!(
        s.key,
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: v4(198, 51, 100, 1),
            port: 443
        }
    );
    assert_eq!(s.scheduler, "wrr");
    assert_eq!(s.flags, ServiceFlags::PERSISTENT);
    assert_eq!(s.timeout, 600);
    assert_eq!(s.netmask, 0xffff_0000);
    assert_eq!(s.pe_name, None);
    let st = s.stats.unwrap();
    assert_eq!((st.conns, st.inbytes, st.outbps), (5, 1 << 33, 7));
    assert_eq!(st.inpkts, 0);
}

#[test]
fn decode_legacy_stats_only() {
    let mut nest = Vec::new();
    nest.extend_from_slice(&[0x08, 0x00, 0x01, 0x00, 9, 0, 0, 0]);
    nest.extend_from_slice(&[0x0c, 0x00, 0x05, 0x00, 1, 1, 0, 0, 0, 0, 0, 0]);
    let st = decode_stats(&nest).unwrap();
    assert_eq!((st.conns, st.outbytes), (9, 257));
    assert_eq!(
        decode_stats(&[0x06, 0x00, 0x01, 0x00, 1, 0, 0, 0]),
        Err(DecodeError::BadLength("stats counter"))
    );
}

#[test]
fn decode_dest_dump_v6_in_v4_service_and_default_family() {
    let mut nest = Vec::new();
    nest.extend_from_slice(&[0x14, 0x00, 0x01, 0x00]);
    nest.extend_from_slice(&"fd00::5".parse::<Ipv6Addr>().unwrap().octets());
    nest.extend_from_slice(&[0x06, 0x00, 0x02, 0x00, 0x00, 0x50, 0x00, 0x00]);
    nest.extend_from_slice(&[0x08, 0x00, 0x03, 0x00, 2, 0, 0, 0]);
    nest.extend_from_slice(&[0x08, 0x00, 0x04, 0x00, 3, 0, 0, 0]);
    nest.extend_from_slice(&[0x05, 0x00, 0x0d, 0x00, 2, 0, 0, 0]); // GRE
    nest.extend_from_slice(&[0x08, 0x00, 0x07, 0x00, 11, 0, 0, 0]);
    nest.extend_from_slice(&[0x08, 0x00, 0x08, 0x00, 12, 0, 0, 0]);
    nest.extend_from_slice(&[0x08, 0x00, 0x09, 0x00, 13, 0, 0, 0]);
    nest.extend_from_slice(&[0x06, 0x00, 0x0b, 0x00, 0x0a, 0x00, 0, 0]);
    let d = decode_dest(&nest, Family::V4).unwrap();
    assert_eq!(d.addr, "fd00::5".parse::<IpAddr>().unwrap());
    assert_eq!((d.port, d.forward, d.weight), (80, Forward::Tunnel, 3));
    assert_eq!(d.tunnel.kind, TunnelType::Gre);
    assert_eq!(
        (d.active_conns, d.inactive_conns, d.persist_conns),
        (11, 12, 13)
    );
    assert_eq!(d.stats, None);

    // Without ADDR_FAMILY (kernels before 4.x) the service's family applies.
    let mut old = Vec::new();
    old.extend_from_slice(&[0x14, 0x00, 0x01, 0x00, 203, 0, 113, 1]);
    old.extend_from_slice(&[0; 12]);
    old.extend_from_slice(&[0x06, 0x00, 0x02, 0x00, 0x00, 0x50, 0x00, 0x00]);
    old.extend_from_slice(&[0x08, 0x00, 0x03, 0x00, 0, 0, 0, 0]);
    old.extend_from_slice(&[0x08, 0x00, 0x04, 0x00, 1, 0, 0, 0]);
    let d = decode_dest(&old, Family::V4).unwrap();
    assert_eq!((d.addr, d.forward), (v4(203, 0, 113, 1), Forward::Masq));

    let mut bad = old.clone();
    bad[8 + 20 + 4] = 7; // forwarding method 7 does not exist
    assert_eq!(
        decode_dest(&bad, Family::V4),
        Err(DecodeError::BadValue {
            what: "dest forwarding method",
            value: 7
        })
    );
}

#[test]
fn classify_ack_error_done_and_ext_ack() {
    // ACK: error 0 + capped original header.
    let mut ack = Vec::new();
    ack.extend_from_slice(&36u32.to_le_bytes());
    ack.extend_from_slice(&[2, 0, 0x00, 0x01, 5, 0, 0, 0, 0x34, 0x12, 0, 0]);
    ack.extend_from_slice(&0i32.to_le_bytes());
    ack.extend_from_slice(&[0; 16]);
    // Error -EEXIST with NLM_F_CAPPED | NLM_F_ACK_TLVS and a message.
    let mut err = Vec::new();
    let text = b"Service already exists\0";
    let tlv_len = 4 + text.len();
    let total = 16 + 4 + 16 + ((tlv_len + 3) & !3);
    err.extend_from_slice(&(total as u32).to_le_bytes());
    err.extend_from_slice(&[2, 0, 0x00, 0x03, 6, 0, 0, 0, 0x34, 0x12, 0, 0]);
    err.extend_from_slice(&(-libc::EEXIST).to_le_bytes());
    err.extend_from_slice(&[0; 16]);
    err.extend_from_slice(&(tlv_len as u16).to_le_bytes());
    err.extend_from_slice(&[1, 0]);
    err.extend_from_slice(text);
    while !err.len().is_multiple_of(4) {
        err.push(0);
    }
    let mut done = Vec::new();
    done.extend_from_slice(&20u32.to_le_bytes());
    done.extend_from_slice(&[3, 0, 0x02, 0x00, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    let mut dgram = ack.clone();
    dgram.extend_from_slice(&err);
    dgram.extend_from_slice(&done);

    let msgs = split_messages(&dgram).unwrap();
    assert_eq!(msgs.len(), 3);
    assert_eq!(msgs.iter().map(|m| m.seq).collect::<Vec<_>>(), [5, 6, 7]);
    assert_eq!(classify(&msgs[0], FAM).unwrap(), Reply::Ack);
    assert_eq!(
        classify(&msgs[1], FAM).unwrap(),
        Reply::Error {
            errno: libc::EEXIST,
            message: Some("Service already exists".into())
        }
    );
    assert_eq!(classify(&msgs[2], FAM).unwrap(), Reply::Done);
    assert!(split_messages(&dgram[..dgram.len() - 1]).is_err());
}

#[test]
fn decode_info_timeouts_family() {
    let info = [
        0x08, 0x00, 0x01, 0x00, 0x01, 0x02, 0x01, 0x00, //
        0x08, 0x00, 0x02, 0x00, 0x00, 0x10, 0x00, 0x00,
    ];
    let i = decode_info(&info).unwrap();
    assert_eq!(
        (i.version_string(), i.conn_tab_size),
        ("1.2.1".into(), 4096)
    );
    let t = [
        0x08, 0x00, 0x04, 0x00, 0x84, 0x03, 0, 0, //
        0x08, 0x00, 0x05, 0x00, 0x78, 0, 0, 0, //
        0x08, 0x00, 0x06, 0x00, 0x2c, 0x01, 0, 0,
    ];
    assert_eq!(
        decode_timeouts(&t).unwrap(),
        Timeouts {
            tcp: 900,
            tcp_fin: 120,
            udp: 300
        }
    );
    let fam = [
        0x09, 0x00, 0x02, 0x00, b'I', b'P', b'V', b'S', 0, 0, 0, 0, //
        0x06, 0x00, 0x01, 0x00, 0x1a, 0x00, 0x00, 0x00,
    ];
    assert_eq!(decode_family_id(&fam).unwrap(), 0x1a);
    assert_eq!(
        decode_family_id(&fam[..12]),
        Err(DecodeError::Missing("family id"))
    );
}

#[test]
fn batch_of_ops_splits_back_in_order() {
    let mut buf = Vec::new();
    let ops: Vec<Op> = (0..50u8)
        .map(|i| Op::AddDest(tcp_key(), Dest::new(v4(10, 1, 0, i), 80, Forward::Route)))
        .collect();
    let mut last = 0;
    for (i, op) in ops.iter().enumerate() {
        last = encode_op(&mut buf, FAM, 100 + i as u32, NLM_F_REQUEST, op).unwrap();
    }
    add_msg_flags(&mut buf, last, NLM_F_ACK);
    let msgs = split_messages(&buf).unwrap();
    assert_eq!(msgs.len(), 50);
    for (i, m) in msgs.iter().enumerate() {
        assert_eq!(m.seq, 100 + i as u32);
        let want_flags = if i == 49 { 0x5 } else { 0x1 };
        assert_eq!(m.flags, want_flags);
        let Reply::Genl { cmd, attrs } = classify(m, FAM).unwrap() else {
            panic!("not genl")
        };
        assert_eq!(cmd, cmd::NEW_DEST);
        assert_eq!(
            decode_dest_msg(attrs, Family::V4).unwrap().addr,
            v4(10, 1, 0, i as u8)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Property tests

fn arb_ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|b| IpAddr::V4(Ipv4Addr::from(b))),
        any::<[u8; 16]>().prop_map(|b| IpAddr::V6(Ipv6Addr::from(b))),
    ]
}

fn arb_key() -> impl Strategy<Value = ServiceKey> {
    prop_oneof![
        (
            prop_oneof![
                Just(Protocol::Tcp),
                Just(Protocol::Udp),
                Just(Protocol::Sctp)
            ],
            arb_ip(),
            any::<u16>()
        )
            .prop_map(|(protocol, addr, port)| ServiceKey::Addr {
                protocol,
                addr,
                port
            }),
        (
            prop_oneof![Just(Family::V4), Just(Family::V6)],
            1..=u32::MAX
        )
            .prop_map(|(family, mark)| ServiceKey::Fwmark { family, mark }),
    ]
}

fn arb_stats() -> impl Strategy<Value = Stats> {
    proptest::array::uniform10(any::<u64>()).prop_map(|a| Stats {
        conns: a[0],
        inpkts: a[1],
        outpkts: a[2],
        inbytes: a[3],
        outbytes: a[4],
        cps: a[5],
        inpps: a[6],
        outpps: a[7],
        inbps: a[8],
        outbps: a[9],
    })
}

fn arb_service() -> impl Strategy<Value = Service> {
    (
        arb_key(),
        "[a-z]{1,15}",
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        proptest::option::of("[a-z]{1,15}"),
        proptest::option::of(arb_stats()),
    )
        .prop_map(
            |(key, scheduler, flags, timeout, netmask, pe_name, stats)| Service {
                key,
                scheduler,
                flags: ServiceFlags(flags & !ServiceFlags::HASHED.0),
                timeout,
                netmask,
                pe_name,
                stats,
            },
        )
}

fn arb_forward() -> impl Strategy<Value = Forward> {
    prop_oneof![
        Just(Forward::Masq),
        Just(Forward::Local),
        Just(Forward::Tunnel),
        Just(Forward::Route),
        Just(Forward::Bypass)
    ]
}

fn arb_dest() -> impl Strategy<Value = Dest> {
    (
        (arb_ip(), any::<u16>(), arb_forward(), any::<u32>()),
        (any::<u32>(), any::<u32>()),
        (0u8..3, any::<u16>(), any::<u16>()),
    )
        .prop_map(|((addr, port, forward, weight), (u, l), (tt, tp, tf))| {
            let mut d = Dest::new(addr, port, forward).weight(weight);
            d.upper_threshold = u;
            d.lower_threshold = l;
            if forward == Forward::Tunnel {
                d.tunnel = Tunnel {
                    kind: TunnelType::from_number(tt).unwrap(),
                    port: tp,
                    flags: tf,
                };
            }
            d
        })
}

/// The service nest as the kernel would dump it.
fn kernel_service_nest(s: &Service) -> Vec<u8> {
    let mut attrs = Vec::new();
    let n = nest_start(&mut attrs, cmd_attr::SERVICE);
    put_service_attrs(&mut attrs, &s.key, Some(s));
    if let Some(st) = &s.stats {
        put_stats64(&mut attrs, svc_attr::STATS64, st);
    }
    nest_end(&mut attrs, n);
    attrs
}

proptest! {
    #[test]
    fn service_round_trip(s in arb_service()) {
        let attrs = kernel_service_nest(&s);
        prop_assert_eq!(decode_service_msg(&attrs).unwrap(), s);
    }

    #[test]
    fn add_service_request_round_trip(s in arb_service(), seq in any::<u32>()) {
        let mut want = s.clone();
        want.stats = None;
        let mut buf = Vec::new();
        encode_op(&mut buf, FAM, seq, NLM_F_REQUEST, &Op::AddService(s)).unwrap();
        let msgs = split_messages(&buf).unwrap();
        prop_assert_eq!(msgs.len(), 1);
        prop_assert_eq!(msgs[0].seq, seq);
        let Reply::Genl { cmd, attrs } = classify(&msgs[0], FAM).unwrap() else {
            return Err(TestCaseError::fail("not genl"));
        };
        prop_assert_eq!(cmd, cmd::NEW_SERVICE);
        prop_assert_eq!(decode_service_msg(attrs).unwrap(), want);
    }

    #[test]
    fn dest_round_trip(
        key in arb_key(),
        d in arb_dest(),
        ro in (any::<u32>(), any::<u32>(), any::<u32>()),
        stats in proptest::option::of(arb_stats()),
    ) {
        let mut buf = Vec::new();
        encode_op(&mut buf, FAM, 1, NLM_F_REQUEST, &Op::AddDest(key, d.clone())).unwrap();
        let msgs = split_messages(&buf).unwrap();
        let Reply::Genl { attrs, .. } = classify(&msgs[0], FAM).unwrap() else {
            return Err(TestCaseError::fail("not genl"));
        };
        prop_assert_eq!(decode_dest_msg(attrs, key.family()).unwrap(), d.clone());

        // As dumped: with connection counts and counters.
        let mut nest = Vec::new();
        put_dest_attrs(&mut nest, &d.addr, d.port, Some(&d));
        put_attr(&mut nest, dest_attr::ACTIVE_CONNS, &ro.0.to_ne_bytes());
        put_attr(&mut nest, dest_attr::INACT_CONNS, &ro.1.to_ne_bytes());
        put_attr(&mut nest, dest_attr::PERSIST_CONNS, &ro.2.to_ne_bytes());
        if let Some(st) = &stats {
            put_stats64(&mut nest, dest_attr::STATS64, st);
        }
        let mut want = d;
        (want.active_conns, want.inactive_conns, want.persist_conns) = ro;
        want.stats = stats;
        prop_assert_eq!(decode_dest(&nest, key.family()).unwrap(), want);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_service(&bytes);
        let _ = decode_dest(&bytes, Family::V4);
        let _ = decode_dest(&bytes, Family::V6);
        let _ = decode_stats(&bytes);
        let _ = decode_info(&bytes);
        let _ = decode_timeouts(&bytes);
        let _ = decode_family_id(&bytes);
        if let Ok(msgs) = split_messages(&bytes) {
            for m in msgs {
                if let Ok(Reply::Genl { attrs, .. }) = classify(&m, FAM) {
                    let _ = decode_service_msg(attrs);
                    let _ = decode_dest_msg(attrs, Family::V4);
                }
            }
        }
    }

    /// Flipping bytes of a valid dump either still decodes or yields an error; never a panic.
    #[test]
    fn mutated_service_never_panics(
        s in arb_service(),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in any::<usize>(),
    ) {
        let mut attrs = kernel_service_nest(&s);
        for (at, v) in flips {
            let i = at % attrs.len();
            attrs[i] = v;
        }
        let cut = cut % (attrs.len() + 1);
        let _ = decode_service_msg(&attrs[..cut]);
        let _ = decode_service_msg(&attrs);
    }
}
