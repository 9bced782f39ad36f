//! The keepalived 2.2.7 captures in `tests/vectors/` (real keepalived adverts and GARPs): every
//! advert decodes to its fields, and our encoders reproduce keepalived's bytes — the VRRP
//! message, the IPv4 header (TOS 0xc0, id from a per-instance counter, DF off, TTL 255)
//! and the gratuitous ARP frames.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use keepalived_vrrp::codec::{
    Advert, Auth, PseudoHeader, decode_vrrp, encode_advert_ipv4, encode_vrrp, parse_ipv4_packet,
};
use keepalived_vrrp::garp::{MacAddr, gratuitous_arp};
use keepalived_vrrp::time::{AdvertCentiseconds, AdvertInterval, AdvertSeconds};

/// One record of a classic pcap file.
struct Record {
    ts_micros: u64,
    data: Vec<u8>,
}

/// A tiny reader for classic (non-ng) pcap files with microsecond timestamps and
/// Ethernet link type, in either byte order.
fn read_pcap(name: &str) -> Vec<Record> {
    let path = vectors_dir().join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert!(bytes.len() >= 24, "pcap global header");
    let le = match &bytes[0..4] {
        [0xd4, 0xc3, 0xb2, 0xa1] => true,
        [0xa1, 0xb2, 0xc3, 0xd4] => false,
        m => panic!("not a classic microsecond pcap: magic {m:02x?}"),
    };
    let u32_at = |o: usize| {
        let b = [bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]];
        if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    assert_eq!(u32_at(20), 1, "link type Ethernet");
    let mut out = Vec::new();
    let mut off = 24;
    while off < bytes.len() {
        assert!(off + 16 <= bytes.len(), "truncated record header");
        let (sec, usec, incl) = (u32_at(off), u32_at(off + 4), u32_at(off + 8) as usize);
        let start = off + 16;
        assert!(start + incl <= bytes.len(), "truncated record");
        out.push(Record {
            ts_micros: u64::from(sec) * 1_000_000 + u64::from(usec),
            data: bytes[start..start + incl].to_vec(),
        });
        off = start + incl;
    }
    out
}

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

const ETH_IPV4: [u8; 2] = [0x08, 0x00];
const ETH_ARP: [u8; 2] = [0x08, 0x06];

fn ethertype(frame: &[u8]) -> [u8; 2] {
    [frame[12], frame[13]]
}

fn src_mac(frame: &[u8]) -> MacAddr {
    MacAddr(frame[6..12].try_into().unwrap())
}

fn vip() -> IpAddr {
    Ipv4Addr::new(198, 51, 100, 10).into()
}

const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 33);

fn v2(priority: u8) -> Advert {
    Advert {
        vrid: 3,
        priority,
        interval: AdvertInterval::V2(AdvertSeconds::new(1).unwrap()),
        auth: Auth::pass("736w4ib2"),
        addresses: vec![vip()],
    }
}

fn v3(priority: u8) -> Advert {
    Advert {
        vrid: 3,
        priority,
        interval: AdvertInterval::V3(AdvertCentiseconds::new(10).unwrap()),
        auth: Auth::None,
        addresses: vec![vip()],
    }
}

/// (src, ip id, advert) of every VRRP packet in a capture, checking each re-encodes to
/// the captured IPv4 packet byte for byte.
fn adverts_reencoded_exactly(name: &str) -> Vec<(IpAddr, u16, Advert)> {
    let mut out = Vec::new();
    for rec in read_pcap(name) {
        if ethertype(&rec.data) != ETH_IPV4 {
            continue;
        }
        let ip = &rec.data[14..];
        let rx = parse_ipv4_packet(ip).expect("captured advert parses");
        assert_eq!(rx.ttl, 255);
        assert_eq!(rx.dst, IpAddr::V4(GROUP));
        let id = u16::from_be_bytes([ip[4], ip[5]]);
        let IpAddr::V4(src) = rx.src else {
            panic!("v4")
        };
        let again = encode_advert_ipv4(&rx.vrrp, src, GROUP, id).unwrap();
        assert_eq!(
            again, ip,
            "{name}: re-encoded packet differs at ts {}",
            rec.ts_micros
        );
        // The VRRP message alone, too.
        let msg = encode_vrrp(&rx.vrrp, &PseudoHeader::V4 { src, dst: GROUP }).unwrap();
        assert_eq!(msg, ip[20..]);
        assert_eq!(
            decode_vrrp(&ip[20..], &PseudoHeader::V4 { src, dst: GROUP }).unwrap(),
            rx.vrrp
        );
        out.push((rx.src, id, rx.vrrp));
    }
    out
}

#[test]
fn election_capture_adverts_decode_and_reencode_byte_for_byte() {
    let adverts = adverts_reencoded_exactly("keepalived-vrrpv2-election-garp.pcap");
    let dr1: IpAddr = Ipv4Addr::new(198, 51, 100, 11).into();
    let expected: Vec<_> = (1..=5).map(|id| (dr1, id, v2(99))).collect();
    assert_eq!(adverts, expected, "five priority-99 adverts, ip id 1..=5");
}

#[test]
fn election_capture_ipv4_header_is_keepalived_deterministic_header() {
    let recs = read_pcap("keepalived-vrrpv2-election-garp.pcap");
    let ip = &recs[0].data[14..34];
    // 45 c0 0028 0001 0000 ff 70 b044 c633640b e0000021
    assert_eq!(ip[1], 0xc0, "TOS internetwork control");
    assert_eq!(&ip[6..8], &[0, 0], "DF off, offset 0");
    assert_eq!(ip[8], 255);
    assert_eq!(ip[9], 112);
    // And our encoder builds exactly that from the advert fields and id 1.
    let ours = encode_advert_ipv4(&v2(99), Ipv4Addr::new(198, 51, 100, 11), GROUP, 1).unwrap();
    assert_eq!(ours, recs[0].data[14..]);
}

#[test]
fn election_capture_garps_match_our_builder_and_schedule() {
    let recs = read_pcap("keepalived-vrrpv2-election-garp.pcap");
    let first_advert = recs
        .iter()
        .find(|r| ethertype(&r.data) == ETH_IPV4)
        .unwrap();
    let garps: Vec<&Record> = recs
        .iter()
        .filter(|r| ethertype(&r.data) == ETH_ARP)
        .collect();
    assert!(!garps.is_empty());
    for g in &garps {
        let ours = gratuitous_arp(src_mac(&g.data), Ipv4Addr::new(198, 51, 100, 10));
        assert_eq!(g.data, ours, "GARP frame byte for byte");
    }
    // The advert goes first, then garp_master_repeat (5) GARPs at once…
    let burst: Vec<_> = garps
        .iter()
        .filter(|g| g.ts_micros < first_advert.ts_micros + 1_000_000)
        .collect();
    assert_eq!(burst.len(), 5);
    assert!(burst.iter().all(|g| g.ts_micros > first_advert.ts_micros));
    // …and again garp_master_delay (5 s) later (the capture ends after two of them).
    let second: Vec<_> = garps
        .iter()
        .filter(|g| g.ts_micros >= first_advert.ts_micros + 1_000_000)
        .collect();
    assert!(!second.is_empty());
    let delay = second[0].ts_micros - first_advert.ts_micros;
    assert!(
        (5_000_000..5_010_000).contains(&delay),
        "second burst {delay} us after the first advert"
    );
}

#[test]
fn shutdown_capture_has_priority_zero_then_backup_takes_over_after_skew_time() {
    let adverts = adverts_reencoded_exactly("keepalived-vrrpv2-prio0-shutdown.pcap");
    let dr1: IpAddr = Ipv4Addr::new(198, 51, 100, 11).into();
    let dr2: IpAddr = Ipv4Addr::new(198, 51, 100, 12).into();
    assert_eq!(
        adverts,
        vec![(dr1, 27, v2(0)), (dr2, 6, v2(90)), (dr2, 7, v2(90))]
    );

    // RFC 3768 §6.4.2: a backup hearing priority 0 sets its timer to Skew_Time;
    // (256-90)/256 s = 0.648 s, and DR2's first advert came 0.649 s later.
    let recs = read_pcap("keepalived-vrrpv2-prio0-shutdown.pcap");
    let gap = recs[1].ts_micros - recs[0].ts_micros;
    let skew =
        keepalived_vrrp::time::skew_time(90, AdvertInterval::V2(AdvertSeconds::new(1).unwrap()))
            .as_micros();
    assert!(
        gap >= skew && gap < skew + 5_000,
        "gap {gap} us, skew {skew} us"
    );
}

#[test]
fn v3_capture_adverts_decode_and_checksum_covers_pseudo_header() {
    let adverts = adverts_reencoded_exactly("keepalived-vrrpv3-advert0.1s.pcap");
    let dr1: IpAddr = Ipv4Addr::new(198, 51, 100, 11).into();
    let dr2: IpAddr = Ipv4Addr::new(198, 51, 100, 12).into();
    assert_eq!(adverts, vec![(dr2, 1, v3(90)), (dr1, 1, v3(99))]);
    // The same message with a different source no longer verifies: the v3 checksum
    // includes the IPv4 pseudo-header (RFC 5798 §5.2.8).
    let recs = read_pcap("keepalived-vrrpv3-advert0.1s.pcap");
    let msg = &recs[0].data[34..];
    let wrong = PseudoHeader::V4 {
        src: Ipv4Addr::new(198, 51, 100, 11),
        dst: GROUP,
    };
    assert!(decode_vrrp(msg, &wrong).is_err());
}

#[test]
fn v3_capture_garps_come_from_each_new_master() {
    let recs = read_pcap("keepalived-vrrpv3-advert0.1s.pcap");
    let mut last_master = None;
    let mut garps_per_master = std::collections::BTreeMap::new();
    for r in &recs {
        if ethertype(&r.data) == ETH_IPV4 {
            last_master = Some(src_mac(&r.data));
        } else {
            assert_eq!(ethertype(&r.data), ETH_ARP);
            let mac = src_mac(&r.data);
            assert_eq!(
                Some(mac),
                last_master,
                "GARPs follow the sender's own advert"
            );
            assert_eq!(r.data, gratuitous_arp(mac, Ipv4Addr::new(198, 51, 100, 10)));
            *garps_per_master.entry(mac.to_string()).or_insert(0) += 1;
        }
    }
    assert_eq!(garps_per_master.get("02:00:00:00:00:11"), Some(&5));
    assert_eq!(garps_per_master.get("02:00:00:00:00:12"), Some(&5));
}
