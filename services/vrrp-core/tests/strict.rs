//! `vrrp_strict` interop with Debian's keepalived 2.2.7 as the peer, both roles. Strict
//! mode (keepalived vrrp.c `vrrp_complete_instance`) drops the PASS authentication both
//! configurations carry, starts the non-owners as BACKUP and makes a master ignore a
//! lower priority: a side keeping the authentication would not be heard by the other
//! and both would be master. The master's adverts, captured on the client, are the same
//! bytes whichever implementation sends them (the IP identification and so the IP
//! checksum aside, RFC 791 leaves them to the sender).

mod common;

use std::time::Duration;

use common::{CLIENT, Conf, DR1, Topology, Which};
use keepalived_testlab::wait_until;

/// Prints `SRC HEX` for every protocol-112 packet to 224.0.0.33 heard on eth0 within
/// argv[1] seconds.
const CAPTURE: &str = r#"
import socket, sys, time, binascii, struct
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"eth0")
mreq = struct.pack("4s4s", socket.inet_aton("224.0.0.33"), socket.inet_aton(sys.argv[2]))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
end = time.time() + float(sys.argv[1])
while True:
    left = end - time.time()
    if left <= 0:
        break
    s.settimeout(left)
    try:
        p, a = s.recvfrom(2048)
    except socket.timeout:
        break
    print(a[0], binascii.hexlify(p).decode(), flush=True)
"#;

fn strict_conf(router_id: &str, priority: u8) -> Conf {
    Conf {
        global_extra: "    vrrp_strict\n".into(),
        ..Conf::seed(router_id, priority)
    }
}

/// The adverts DR1 sent during `secs` seconds, as heard by the client.
fn capture_dr1(t: &Topology, secs: f64) -> Vec<Vec<u8>> {
    let out = t
        .lab
        .exec(
            &t.client.netns,
            &["python3", "-c", CAPTURE, &secs.to_string(), CLIENT.0],
        )
        .expect("capture");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(src, _)| *src == DR1.0)
        .map(|(_, hex)| {
            (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
                .collect()
        })
        .collect()
}

/// An IPv4 packet with the identification and header checksum zeroed.
fn comparable(p: &[u8]) -> Vec<u8> {
    let mut p = p.to_vec();
    p[4..6].fill(0);
    p[10..12].fill(0);
    p
}

/// One run with DR1 (priority 99) running `ours_high` ? vrrp-core : keepalived, and DR2
/// (priority 90) the other; returns DR1's adverts while it is master.
fn run(t: &mut Topology, ours_high: bool) -> Vec<Vec<u8>> {
    let c1 = strict_conf("R1", 99);
    let c2 = strict_conf("R2", 90);
    if ours_high {
        t.start_keepalived(Which::Dr2, &c2);
        t.start(Which::Dr1, &c1);
    } else {
        t.start(Which::Dr2, &c2);
        t.start_keepalived(Which::Dr1, &c1);
    }
    // Both start as BACKUP (strict mode: MASTER is for the address owner only), so
    // DR1 takes over after its Master_Down_Interval (3 × 1 s + skew).
    t.wait_vip_on(Which::Dr1, Duration::from_secs(15));
    assert!(
        !wait_until(Duration::from_secs(3), || t.has_vip(Which::Dr2)
            || !t.has_vip(Which::Dr1)),
        "no stable single master\n{}",
        t.logs()
    );
    let adverts = capture_dr1(t, 3.5);
    // The master stops: the backup takes over; it comes back and preempts.
    t.stop(Which::Dr1, "TERM");
    t.wait_vip_on(Which::Dr2, Duration::from_secs(15));
    if ours_high {
        t.start(Which::Dr1, &c1);
    } else {
        t.start_keepalived(Which::Dr1, &c1);
    }
    t.wait_vip_on(Which::Dr1, Duration::from_secs(15));
    t.stop(Which::Dr1, "TERM");
    t.stop(Which::Dr2, "TERM");
    adverts
}

#[test]
fn strict_interop_both_roles_with_byte_identical_adverts() {
    if !common::prerequisites("vrrp_strict interop", &["keepalived", "python3", "nft"]) {
        return;
    }
    let mut t = Topology::new("vcstrict");
    let theirs = run(&mut t, false);
    let ours = run(&mut t, true);
    assert!(
        theirs.len() >= 2 && ours.len() >= 2,
        "adverts captured: keepalived {}, vrrp-core {}\n{}",
        theirs.len(),
        ours.len(),
        t.logs()
    );
    // No authentication (strict mode drops it): VRRPv2 auth type 0 and zero auth data.
    let vrrp = &theirs[0][20..];
    assert_eq!((vrrp[0], vrrp[4]), (0x21, 0), "v2 advert, auth type none");
    for p in &ours {
        assert_eq!(
            comparable(p),
            comparable(&theirs[0]),
            "\nours      {p:02x?}\nkeepalived {:02x?}",
            theirs[0]
        );
    }
}
