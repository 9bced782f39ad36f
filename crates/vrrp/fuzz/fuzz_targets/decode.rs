//! Fuzz the VRRP decoders with untrusted bytes: the raw IPv4 packet path, the IPv6
//! payload path and the bare VRRP message with both pseudo-header families; whatever
//! decodes must re-encode to the same advert (decode ∘ encode ∘ decode = decode).
#![no_main]

use std::net::{Ipv4Addr, Ipv6Addr};

use keepalived_vrrp::codec::{
    PseudoHeader, decode_vrrp, encode_vrrp, parse_ipv4_packet, parse_ipv6_payload,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(rx) = parse_ipv4_packet(data) {
        let std::net::IpAddr::V4(src) = rx.src else { panic!("v4 packet with v6 source") };
        let std::net::IpAddr::V4(dst) = rx.dst else { panic!("v4 packet with v6 destination") };
        let pseudo = PseudoHeader::V4 { src, dst };
        let again = encode_vrrp(&rx.vrrp, &pseudo).expect("decoded advert re-encodes");
        assert_eq!(decode_vrrp(&again, &pseudo).as_ref(), Ok(&rx.vrrp));
    }
    let v4 = PseudoHeader::V4 { src: Ipv4Addr::new(192, 0, 2, 1), dst: Ipv4Addr::new(224, 0, 0, 18) };
    let src6: Ipv6Addr = "fe80::1".parse().unwrap();
    let dst6: Ipv6Addr = "ff02::12".parse().unwrap();
    let v6 = PseudoHeader::V6 { src: src6, dst: dst6 };
    for pseudo in [v4, v6] {
        if let Ok(adv) = decode_vrrp(data, &pseudo) {
            let again = encode_vrrp(&adv, &pseudo).expect("decoded advert re-encodes");
            assert_eq!(decode_vrrp(&again, &pseudo).as_ref(), Ok(&adv));
        }
    }
    let _ = parse_ipv6_payload(src6, dst6, 255, data);
});
