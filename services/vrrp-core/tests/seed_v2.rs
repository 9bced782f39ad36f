//! The seed's two directors end to end with its VRRPv2 settings (advert_int 1, PASS
//! authentication, group 224.0.0.33): election, VIP, GARP at the client, kill -9
//! takeover, and a restart that removes the stale VIP and preempts back.
// std::time::Instant: these tests time real processes in namespaces (clippy.toml bans it elsewhere).
#![allow(clippy::disallowed_types)]

mod common;

use std::time::{Duration, Instant};

use common::{CLIENT, Conf, DR1, DR2, Topology, Which};
use keepalived_api::v1::VrrpState;

#[test]
fn seed_v2_priority_99_wins_kill9_moves_vip_and_restart_removes_stale_vip() {
    if !common::prerequisites("seed_v2 election", &[]) {
        return;
    }
    let _ = CLIENT;
    let mut t = Topology::new("vcseed");
    let started = Instant::now();
    t.start(Which::Dr2, &Conf::seed("keepalivedR2", 90));
    t.start(Which::Dr1, &Conf::seed("keepalivedR1", 99));

    // Every instance starts in BACKUP and waits Master_Down_Interval = 3 × 1 s + Skew_Time
    // (3.61 s for priority 99) before taking over.
    t.wait_vip_on(Which::Dr1, Duration::from_secs(15));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(3000),
        "master after {took:?}, before Master_Down_Interval"
    );
    t.wait_client_mac(DR1.1, Duration::from_secs(5));

    let dr1 = t.instance(Which::Dr1);
    assert_eq!(dr1.state, VrrpState::Master as i32);
    assert_eq!(
        (dr1.base_priority, dr1.effective_priority, dr1.version),
        (99, 99, 2)
    );
    assert_eq!(dr1.master_address, DR1.0);
    assert!(dr1.vips.iter().all(|v| v.present), "{dr1:?}");
    let dr2 = t.instance(Which::Dr2);
    assert_eq!(dr2.state, VrrpState::Backup as i32);
    assert_eq!(dr2.master_address, DR1.0);
    assert!(dr2.vips.iter().all(|v| !v.present));
    assert!(dr2.counters.as_ref().unwrap().advert_rcvd > 0);
    assert_eq!(dr2.counters.as_ref().unwrap().auth_failure, 0);

    // kill -9: the VIP stays on DR1's interface (nobody removes it) but DR2 takes over
    // after Master_Down_Interval and its GARP rewrites the client's neighbour entry.
    t.stop(Which::Dr1, "KILL");
    assert!(t.has_vip(Which::Dr1), "kill -9 cannot remove the VIP");
    assert!(
        keepalived_testlab::wait_until(Duration::from_secs(10), || t.has_vip(Which::Dr2)),
        "DR2 did not take the VIP\n{}",
        t.logs()
    );
    t.wait_client_mac(DR2.1, Duration::from_secs(5));
    assert_eq!(t.instance(Which::Dr2).state, VrrpState::Master as i32);

    // Restarting DR1 removes its stale VIP at once, then it preempts DR2.
    t.restart(Which::Dr1);
    assert!(
        keepalived_testlab::wait_until(Duration::from_secs(3), || !t.has_vip(Which::Dr1)),
        "stale VIP not removed at start\n{}",
        t.logs()
    );
    t.wait_vip_on(Which::Dr1, Duration::from_secs(15));
    t.wait_client_mac(DR1.1, Duration::from_secs(5));
    assert!(
        common::log_contains(&t.dr1.log, "removed stale VIP"),
        "{}",
        t.logs()
    );
    assert!(
        common::log_contains(
            &t.dr2.log,
            "Master received advert from 198.51.100.11 with higher priority 99, ours 90"
        ),
        "{}",
        t.logs()
    );
}
