//! Hostile and broken adverts from a third namespace, split brain through an nft rule
//! in the switch, and the maintenance RPC (allowed over the unix socket as root,
//! PERMISSION_DENIED over TCP without a client certificate).

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use common::{Conf, DR1, Topology, Which};
use keepalived_api::v1::{InstanceCounters, VrrpState};
use keepalived_testlab::wait_until;
use keepalived_vrrp::codec::{Advert, Auth, encode_advert_ipv4};
use keepalived_vrrp::time::{AdvertInterval, AdvertSeconds};

const ATTACKER: &str = "198.51.100.30";
const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 33);

fn ip_checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Re-fixes the IPv4 total length and header checksum after a change.
fn fix_ip(mut p: Vec<u8>) -> Vec<u8> {
    let len = p.len() as u16;
    p[2..4].copy_from_slice(&len.to_be_bytes());
    p[10..12].copy_from_slice(&[0, 0]);
    let sum = ip_checksum(&p[..20]);
    p[10..12].copy_from_slice(&sum.to_be_bytes());
    p
}

/// A seed-shaped v2 advert at priority 254 (it would win if accepted).
fn advert(vrid: u8, password: &str) -> Vec<u8> {
    let a = Advert {
        vrid,
        priority: 254,
        interval: AdvertInterval::V2(AdvertSeconds::new(1).unwrap()),
        auth: Auth::pass(password),
        addresses: vec![common::VIP.parse().unwrap()],
    };
    encode_advert_ipv4(&a, ATTACKER.parse().unwrap(), GROUP, 1).unwrap()
}

const SENDER: &str = r#"
import socket, sys, binascii
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"eth0")
packets = [binascii.unhexlify(h) for h in sys.argv[2:]]
for i in range(int(sys.argv[1])):
    for p in packets:
        s.sendto(p, ("224.0.0.33", 0))
"#;

fn hex(p: &[u8]) -> String {
    p.iter().map(|b| format!("{b:02x}")).collect()
}

fn send(t: &Topology, netns: &str, repeat: u32, packets: &[Vec<u8>]) {
    let mut argv = vec![
        "python3".to_owned(),
        "-c".to_owned(),
        SENDER.to_owned(),
        repeat.to_string(),
    ];
    argv.extend(packets.iter().map(|p| hex(p)));
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    t.lab.exec(netns, &argv).expect("send hostile packets");
}

fn counters(t: &Topology, which: Which) -> InstanceCounters {
    t.instance(which).counters.expect("counters")
}

#[test]
fn hostile_adverts_are_dropped_and_counted_without_a_flap() {
    if !common::prerequisites("hostile adverts", &["python3"]) {
        return;
    }
    let mut t = Topology::new("vchost");
    let attacker = t
        .lab
        .host("attacker", None, &[&format!("{ATTACKER}/24")])
        .unwrap();
    t.start(Which::Dr1, &Conf::seed("R1", 99));
    t.start(Which::Dr2, &Conf::seed("R2", 90));
    t.wait_vip_on(Which::Dr1, Duration::from_secs(15));

    let mut wrong_ttl = advert(3, "736w4ib2");
    wrong_ttl[8] = 64;
    let wrong_ttl = fix_ip(wrong_ttl);
    let mut bad_checksum = advert(3, "736w4ib2");
    bad_checksum[20 + 6] ^= 0x55;
    let wrong_password = advert(3, "guessed!");
    let other_vrid = advert(7, "736w4ib2");
    let truncated = fix_ip(advert(3, "736w4ib2")[..20 + 6].to_vec());
    let mut oversized = advert(3, "736w4ib2");
    oversized.extend_from_slice(&[0u8; 64]);
    let oversized = fix_ip(oversized);
    send(
        &t,
        &attacker.netns,
        1,
        &[
            wrong_ttl,
            bad_checksum,
            wrong_password.clone(),
            other_vrid,
            truncated,
            oversized,
        ],
    );
    let c = |t: &Topology, w| counters(t, w);
    assert!(
        wait_until(Duration::from_secs(5), || {
            let c = c(&t, Which::Dr2);
            c.ip_ttl_err >= 1
                && c.checksum_err >= 1
                && c.auth_failure >= 1
                && c.vrid_mismatch >= 1
                && c.packet_len_err >= 2
        }),
        "drops not counted: {:?}\n{}",
        c(&t, Which::Dr2),
        t.logs()
    );
    // A flood of wrong-password adverts at priority 254: part of it overflows the raw
    // socket's receive buffer in the kernel and is never seen, part the instance's
    // bounded queue (counted as rx_queue_full), the rest is checked and counted.
    send(&t, &attacker.netns, 3000, &[wrong_password]);
    assert!(
        wait_until(Duration::from_secs(10), || {
            let n = c(&t, Which::Dr1);
            n.auth_failure > 0 && n.auth_failure + n.rx_queue_full >= 1000
        }),
        "flood not counted: {:?}",
        c(&t, Which::Dr1)
    );
    // No flap: DR1 master throughout, DR2 never master.
    std::thread::sleep(Duration::from_secs(2));
    let (c1, c2) = (c(&t, Which::Dr1), c(&t, Which::Dr2));
    assert_eq!(
        (c1.become_master, c1.release_master),
        (1, 0),
        "{c1:?}\n{}",
        t.logs()
    );
    assert_eq!(c2.become_master, 0, "{c2:?}");
    assert!(t.has_vip(Which::Dr1) && !t.has_vip(Which::Dr2));
    // Dropped-advert log lines are rate-limited.
    let lines = std::fs::read_to_string(&t.dr1.log)
        .unwrap()
        .matches("received an invalid passwd!")
        .count();
    assert!(lines < 50, "{lines} log lines for a flood");
}

#[test]
fn split_brain_makes_two_masters_and_heals_to_one_that_sends_garps_again() {
    if !common::prerequisites("split brain", &["nft"]) {
        return;
    }
    let mut t = Topology::new("vcsplit");
    t.start(Which::Dr1, &Conf::fast("R1", 99));
    t.start(Which::Dr2, &Conf::fast("R2", 90));
    t.wait_vip_on(Which::Dr1, Duration::from_secs(10));
    let sw = t.lab.switch_netns().to_owned();
    let rule = format!(
        "table bridge vcsplit {{\n  chain vrrpdrop {{\n    type filter hook forward priority 0;\n    iifname \"{}\" ip protocol 112 drop;\n  }}\n}}\n",
        t.dr1.host.port
    );
    t.lab.nft(&sw, &rule).unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || t.has_vip(Which::Dr1)
            && t.has_vip(Which::Dr2)),
        "no split brain\n{}",
        t.logs()
    );
    // DR2's adverts still reach DR1: the winner answers each lower-priority advert with
    // its own and re-announces the VIP (garp_lower_prio_repeat), so the client is
    // pulled back to it while DR2 claims the VIP too.
    let garps = |t: &Topology| {
        std::fs::read_to_string(&t.dr1.log)
            .unwrap()
            .matches("Sending/queueing gratuitous ARPs")
            .count()
    };
    let before = garps(&t);
    assert!(
        wait_until(Duration::from_secs(3), || garps(&t) > before),
        "the winner did not send GARPs again\n{}",
        t.logs()
    );
    t.lab.nft(&sw, "delete table bridge vcsplit").unwrap();
    // One master within about one advert interval (generous margin for a loaded host).
    t.wait_vip_on(Which::Dr1, Duration::from_secs(2));
    assert_eq!(t.instance(Which::Dr2).state, VrrpState::Backup as i32);
    t.wait_client_mac(DR1.1, Duration::from_secs(3));
}

#[test]
fn maintenance_over_the_unix_socket_moves_the_vip_and_back() {
    if !common::prerequisites("maintenance", &[]) {
        return;
    }
    let mut t = Topology::new("vcmaint");
    t.start(Which::Dr1, &Conf::fast("R1", 99));
    t.start(Which::Dr2, &Conf::fast("R2", 90));
    t.wait_vip_on(Which::Dr1, Duration::from_secs(10));
    let dr1 = common::set_maintenance(&t, Which::Dr1, true).expect("root over unix may");
    assert!(dr1.maintenance);
    assert_eq!(dr1.state, VrrpState::Backup as i32);
    t.wait_vip_on(Which::Dr2, Duration::from_secs(5));
    // Stays BACKUP while in maintenance.
    std::thread::sleep(Duration::from_secs(1));
    assert!(t.has_vip(Which::Dr2) && !t.has_vip(Which::Dr1));
    let dr1 = common::set_maintenance(&t, Which::Dr1, false).unwrap();
    assert!(!dr1.maintenance);
    t.wait_vip_on(Which::Dr1, Duration::from_secs(5));
}

/// Run by [`maintenance_over_tcp_without_a_client_certificate_is_denied`] inside the
/// director's namespace (the TCP listener is on its loopback).
#[test]
#[ignore = "helper: run inside a namespace by maintenance_over_tcp_without_a_client_certificate_is_denied"]
fn helper_set_maintenance_over_tcp() {
    let addr = std::env::var("VC_TCP_ADDR").expect("VC_TCP_ADDR");
    let status = common::block_on(async move {
        let channel = tonic::transport::Endpoint::from_shared(addr)
            .unwrap()
            .connect()
            .await
            .expect("connect");
        let mut client = keepalived_api::v1::vrrp_client::VrrpClient::new(channel);
        client
            .set_maintenance(keepalived_api::v1::SetMaintenanceRequest {
                name: "VI_1".into(),
                enabled: true,
                reason: "unauthorised".into(),
            })
            .await
            .expect_err("must be refused")
    });
    assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");
    println!("HELPER-DENIED-OK");
}

#[test]
fn maintenance_over_tcp_without_a_client_certificate_is_denied() {
    if !common::prerequisites("maintenance over tcp", &["env"]) {
        return;
    }
    let mut t = Topology::new("vcdeny");
    t.dr1.extra_args = vec!["--listen".into(), "tcp://127.0.0.1:50151".into()];
    t.start(Which::Dr1, &Conf::fast("R1", 99));
    t.wait_vip_on(Which::Dr1, Duration::from_secs(10));
    let exe = std::env::current_exe().unwrap();
    let out = t
        .lab
        .exec(
            &t.dr1.host.netns,
            &[
                "env",
                "VC_TCP_ADDR=http://127.0.0.1:50151",
                exe.to_str().unwrap(),
                "--ignored",
                "--exact",
                "helper_set_maintenance_over_tcp",
                "--nocapture",
            ],
        )
        .expect("helper");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("HELPER-DENIED-OK"),
        "{out:?}"
    );
    // Still master: the refused call changed nothing.
    assert_eq!(t.instance(Which::Dr1).state, VrrpState::Master as i32);
    assert!(!t.instance(Which::Dr1).maintenance);
}
