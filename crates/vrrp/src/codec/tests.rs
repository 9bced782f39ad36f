use super::*;

fn v2_advert() -> Advert {
    Advert {
        vrid: 3,
        priority: 99,
        interval: AdvertInterval::V2(AdvertSeconds::new(1).unwrap()),
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
        interval: AdvertInterval::V2(AdvertSeconds::new(1).unwrap()),
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
        interval: AdvertInterval::V3(AdvertCentiseconds::new(100).unwrap()),
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
        interval: AdvertInterval::V3(AdvertCentiseconds::new(4095).unwrap()),
        auth: Auth::None,
        addresses: vec!["2001:db8::10".parse().unwrap(), "fe80::10".parse().unwrap()],
    };
    let bytes = encode_vrrp(&adv, &pseudo).unwrap();
    assert_eq!(bytes.len(), 8 + 32);
    assert_eq!(bytes[4] & 0xf0, 0, "reserved bits are zero on transmission");
    let rx = parse_ipv6_payload("fe80::1".parse().unwrap(), VRRP_GROUP_V6, 255, &bytes).unwrap();
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
        interval: AdvertInterval::V3(AdvertCentiseconds::new(1).unwrap()),
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
        interval: AdvertInterval::V3(AdvertCentiseconds::new(100).unwrap()),
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
        interval: AdvertInterval::V2(AdvertSeconds::new(2).unwrap()),
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
        interval: AdvertInterval::V3(AdvertCentiseconds::new(100).unwrap()),
        auth: Auth::None,
        ..expectations()
    };
    let other = Advert {
        interval: AdvertInterval::V3(AdvertCentiseconds::new(10).unwrap()),
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
