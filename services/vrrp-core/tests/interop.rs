//! Interop with Debian's keepalived 2.2.7 as the peer, in both roles: VRRPv2 with PASS
//! authentication, VRRPv3, multicast and unicast. Exactly one master after convergence;
//! each side takes over when the other stops (SIGTERM) or dies (kill -9), and the
//! higher priority preempts back when it returns.

mod common;

use std::time::Duration;

use common::{Conf, DR1, DR2, Peer, Topology, Which};
use keepalived_testlab::wait_until;

fn conf(version: u8, unicast: bool, router_id: &str, priority: u8, me: &str, peer: &str) -> Conf {
    let mut c = if version == 2 {
        Conf::seed(router_id, priority)
    } else {
        Conf::fast(router_id, priority)
    };
    if unicast {
        c.unicast = Some((me.to_owned(), vec![peer.to_owned()]));
    }
    c
}

/// DR1 (priority 99) runs `high`, DR2 (priority 90) the other implementation.
fn interop(tag: &str, version: u8, unicast: bool, high: Peer) {
    if !common::prerequisites(tag, &["keepalived"]) {
        return;
    }
    let low = high.other();
    let mut t = Topology::new(tag);
    let c1 = conf(version, unicast, "R1", 99, DR1.0, DR2.0);
    let c2 = conf(version, unicast, "R2", 90, DR2.0, DR1.0);
    let wait = if version == 2 {
        Duration::from_secs(15)
    } else {
        Duration::from_secs(8)
    };
    t.start_peer(Which::Dr2, low, &c2);
    t.start_peer(Which::Dr1, high, &c1);
    t.wait_vip_on(Which::Dr1, wait);
    // Stays converged: exactly one master for a few intervals.
    let settle = if version == 2 {
        Duration::from_secs(3)
    } else {
        Duration::from_millis(800)
    };
    assert!(
        !wait_until(settle, || t.has_vip(Which::Dr2) || !t.has_vip(Which::Dr1)),
        "no stable single master\n{}",
        t.logs()
    );
    t.wait_client_mac(DR1.1, Duration::from_secs(5));

    // The master stops: the backup takes over.
    t.stop(Which::Dr1, "TERM");
    t.wait_vip_on(Which::Dr2, wait);
    t.wait_client_mac(DR2.1, Duration::from_secs(5));

    // It comes back and preempts.
    t.start_peer(Which::Dr1, high, &c1);
    t.wait_vip_on(Which::Dr1, wait);
    t.wait_client_mac(DR1.1, Duration::from_secs(5));

    // The master dies: the backup takes over after Master_Down_Interval.
    match high {
        Peer::Ours => t.stop(Which::Dr1, "KILL"),
        Peer::Keepalived => t.kill9_keepalived(Which::Dr1),
    }
    assert!(
        wait_until(wait, || t.has_vip(Which::Dr2)),
        "backup did not take over after kill -9\n{}",
        t.logs()
    );
    t.wait_client_mac(DR2.1, Duration::from_secs(5));
}

#[test]
fn interop_v2_pass_multicast_ours_master() {
    interop("vciv2m1", 2, false, Peer::Ours);
}

#[test]
fn interop_v2_pass_multicast_keepalived_master() {
    interop("vciv2m2", 2, false, Peer::Keepalived);
}

#[test]
fn interop_v3_multicast_ours_master() {
    interop("vciv3m1", 3, false, Peer::Ours);
}

#[test]
fn interop_v3_multicast_keepalived_master() {
    interop("vciv3m2", 3, false, Peer::Keepalived);
}

#[test]
fn interop_v3_unicast_ours_master() {
    interop("vciv3u1", 3, true, Peer::Ours);
}

#[test]
fn interop_v2_unicast_keepalived_master() {
    interop("vciv2u2", 2, true, Peer::Keepalived);
}
