//! Property tests of the codec: decode(encode(x)) == x for every representable advert,
//! and decoding arbitrary bytes never panics.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use keepalived_vrrp::codec::{
    Advert, Auth, PseudoHeader, decode_vrrp, encode_advert_ipv4, encode_vrrp, parse_ipv4_packet,
    parse_ipv6_payload,
};
use keepalived_vrrp::state::{Heard, Input, Instance, InstanceParams};
use keepalived_vrrp::time::{AdvertCentiseconds, AdvertInterval, AdvertSeconds, Timestamp};
use proptest::prelude::*;

fn v4() -> impl Strategy<Value = Ipv4Addr> {
    any::<[u8; 4]>().prop_map(Ipv4Addr::from)
}

fn v6() -> impl Strategy<Value = Ipv6Addr> {
    any::<[u8; 16]>().prop_map(Ipv6Addr::from)
}

fn auth() -> impl Strategy<Value = Auth> {
    prop_oneof![
        Just(Auth::None),
        any::<[u8; 8]>().prop_map(Auth::Pass),
        any::<[u8; 8]>().prop_map(Auth::Ah),
    ]
}

/// A VRRPv2 advert with its IPv4 pseudo-header.
fn v2_case() -> impl Strategy<Value = (Advert, PseudoHeader)> {
    (
        any::<u8>(),
        any::<u8>(),
        1u8..=255,
        auth(),
        prop::collection::vec(v4(), 0..=255),
        v4(),
        v4(),
    )
        .prop_map(|(vrid, priority, secs, auth, addrs, src, dst)| {
            let advert = Advert {
                vrid,
                priority,
                interval: AdvertInterval::V2(AdvertSeconds::new(secs).unwrap()),
                auth,
                addresses: addrs.into_iter().map(IpAddr::V4).collect(),
            };
            (advert, PseudoHeader::V4 { src, dst })
        })
}

/// A VRRPv3 advert over IPv4 or IPv6.
fn v3_case() -> impl Strategy<Value = (Advert, PseudoHeader)> {
    let addrs4 = (prop::collection::vec(v4(), 0..=255), v4(), v4()).prop_map(|(a, src, dst)| {
        (
            a.into_iter().map(IpAddr::V4).collect::<Vec<_>>(),
            PseudoHeader::V4 { src, dst },
        )
    });
    let addrs6 = (prop::collection::vec(v6(), 0..=40), v6(), v6()).prop_map(|(a, src, dst)| {
        (
            a.into_iter().map(IpAddr::V6).collect::<Vec<_>>(),
            PseudoHeader::V6 { src, dst },
        )
    });
    (
        any::<u8>(),
        any::<u8>(),
        1u16..=4095,
        prop_oneof![addrs4, addrs6],
    )
        .prop_map(|(vrid, priority, cs, (addresses, pseudo))| {
            let advert = Advert {
                vrid,
                priority,
                interval: AdvertInterval::V3(AdvertCentiseconds::new(cs).unwrap()),
                auth: Auth::None,
                addresses,
            };
            (advert, pseudo)
        })
}

proptest! {
    #[test]
    fn decode_of_encode_is_identity((advert, pseudo) in prop_oneof![v2_case(), v3_case()]) {
        let bytes = encode_vrrp(&advert, &pseudo).unwrap();
        prop_assert_eq!(decode_vrrp(&bytes, &pseudo).unwrap(), advert);
    }

    #[test]
    fn ipv4_packet_round_trips((advert, pseudo) in v2_case(), id in any::<u16>()) {
        let PseudoHeader::V4 { src, dst } = pseudo else { unreachable!() };
        let pkt = encode_advert_ipv4(&advert, src, dst, id).unwrap();
        let rx = parse_ipv4_packet(&pkt).unwrap();
        prop_assert_eq!(rx.vrrp, advert);
        prop_assert_eq!(rx.src, IpAddr::V4(src));
        prop_assert_eq!(rx.ttl, 255);
    }

    #[test]
    fn any_single_bit_flip_is_detected((advert, pseudo) in prop_oneof![v2_case(), v3_case()], bit in any::<prop::sample::Index>()) {
        let mut bytes = encode_vrrp(&advert, &pseudo).unwrap();
        let i = bit.index(bytes.len() * 8);
        bytes[i / 8] ^= 1 << (i % 8);
        // Either rejected, or (a flip in ignored bits: v3 reserved nibble, v2 auth-none
        // data) decodes to the same advert; never a different advert.
        if let Ok(decoded) = decode_vrrp(&bytes, &pseudo) {
            prop_assert_eq!(decoded, advert);
        }
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..600), src in v6(), dst in v6(), s4 in v4(), d4 in v4()) {
        let _ = decode_vrrp(&bytes, &PseudoHeader::V4 { src: s4, dst: d4 });
        let _ = decode_vrrp(&bytes, &PseudoHeader::V6 { src, dst });
        let _ = parse_ipv4_packet(&bytes);
        let _ = parse_ipv6_payload(src, dst, 255, &bytes);
    }

    #[test]
    fn state_machine_never_panics_and_timer_leaves_no_due_deadline(
        inputs in prop::collection::vec((0u64..5_000_000, 0u8..8, any::<u8>(), any::<bool>()), 0..200)
    ) {
        let params = InstanceParams::new(
            "VI_1", 3, 100, AdvertInterval::V2(AdvertSeconds::new(1).unwrap()),
            Ipv4Addr::new(10, 0, 0, 2).into(), vec![Ipv4Addr::new(10, 0, 0, 1).into()],
        );
        let mut i = Instance::new(params);
        let mut now = 0u64;
        for (dt, kind, byte, flag) in inputs {
            now += dt;
            let input = match kind {
                0 => Input::Startup,
                1 => Input::Timer,
                2 => Input::Advert(Heard {
                    src: Ipv4Addr::new(10, 0, 0, byte).into(),
                    priority: byte,
                    interval: AdvertInterval::V2(AdvertSeconds::new(1).unwrap()),
                }),
                3 => Input::PriorityChanged(byte),
                4 => Input::Fault(flag),
                5 => Input::Maintenance(flag),
                6 => Input::Shutdown,
                _ => Input::Timer,
            };
            i.handle(Timestamp::from_micros(now), input);
            if let Some(d) = i.next_deadline() {
                // Every deadline that has passed was processed by a Timer input.
                if kind == 1 { prop_assert!(d > Timestamp::from_micros(now)); }
            }
        }
    }
}
