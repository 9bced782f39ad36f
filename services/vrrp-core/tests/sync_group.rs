//! `vrrp_sync_group` end to end: VI_1 (VRID 3, 198.51.100.10) and VI_2 (VRID 4,
//! 203.0.113.10) in one sync group on two directors. On DR1, VI_2 alone tracks a file
//! and a local interface (weight 0: a failure is a FAULT). Failing VI_2 on DR1 moves
//! *both* instances to DR2 (VI_1 has no fault of its own: the group takes it along);
//! clearing the failure brings both back to DR1 (preemption).

mod common;

use std::time::Duration;

use common::{Conf, Topology, Which};
use keepalived_api::v1::{TransitionReason, VrrpState};
use keepalived_testlab::wait_until;

const VIP2: &str = "203.0.113.10";

/// The director's config: VI_1 from `Conf::fast`, plus VI_2 and the sync group;
/// `trackers` goes into VI_2 (DR1 only).
fn conf(router_id: &str, priority: u8, top: &str, trackers: &str) -> Conf {
    let mut c = Conf::fast(router_id, priority);
    c.top_extra = format!(
        "{top}vrrp_sync_group G1 {{\n    group {{\n        VI_1\n        VI_2\n    }}\n}}\n\
vrrp_instance VI_2 {{\n    state MASTER\n    interface eth0\n    virtual_router_id 4\n    priority {priority}\n\
    advert_int 0.1\n    version 3\n    virtual_ipaddress {{\n        {VIP2}/24 dev eth0\n    }}\n{trackers}}}\n"
    );
    c
}

/// Both VIPs on `which` and neither on the other director.
fn wait_both_on(t: &Topology, which: Which, why: &str) {
    let on = |w: Which, vip: &str| common::has_address(&t.lab, &t.director(w).host.netns, vip);
    assert!(
        wait_until(Duration::from_secs(10), || on(which, common::VIP)
            && on(which, VIP2)
            && !on(which.other(), common::VIP)
            && !on(which.other(), VIP2)),
        "{why}: both VIPs not on {which:?} alone (VI_1 on dr1 {} dr2 {}, VI_2 on dr1 {} dr2 {})\n{}",
        on(Which::Dr1, common::VIP),
        on(Which::Dr2, common::VIP),
        on(Which::Dr1, VIP2),
        on(Which::Dr2, VIP2),
        t.logs()
    );
}

#[test]
fn a_failing_member_moves_the_whole_sync_group_and_recovery_moves_it_back() {
    if !common::prerequisites("sync group", &[]) {
        return;
    }
    let mut t = Topology::new("vcsync");
    let file = t.dir.join("vi2-fail");
    std::fs::write(&file, "0\n").unwrap();
    // A veth pair inside DR1 whose t0 VI_2 tracks (no dummy interfaces on this kernel).
    let ns = t.dr1.host.netns.clone();
    t.lab
        .exec(
            &ns,
            &[
                "ip", "link", "add", "t0", "type", "veth", "peer", "name", "t1",
            ],
        )
        .unwrap();
    t.lab.exec(&ns, &["ip", "link", "set", "t0", "up"]).unwrap();
    t.lab.exec(&ns, &["ip", "link", "set", "t1", "up"]).unwrap();
    let dr1 = conf(
        "R1",
        99,
        &format!(
            "track_file vi2_fail {{\n    file \"{}\"\n    weight 0\n}}\n",
            file.display()
        ),
        "    track_file {\n        vi2_fail\n    }\n    track_interface {\n        t0\n    }\n",
    );
    t.start(Which::Dr1, &dr1);
    t.start(Which::Dr2, &conf("R2", 90, "", ""));
    wait_both_on(&t, Which::Dr1, "start");

    // The tracked file fails VI_2: VI_2 FAULT, VI_1 follows though nothing is wrong
    // with it, and DR2 takes both.
    std::fs::write(&file, "1\n").unwrap();
    wait_both_on(&t, Which::Dr2, "VI_2's track_file failed on DR1");
    let vi1 = t.instance_named(Which::Dr1, "VI_1");
    let vi2 = t.instance_named(Which::Dr1, "VI_2");
    assert_eq!(vi2.state, VrrpState::Fault as i32, "{vi2:?}");
    assert_eq!(vi2.state_reason, TransitionReason::TrackFile as i32);
    assert_ne!(vi1.state, VrrpState::Master as i32, "{vi1:?}");
    assert_eq!(
        vi1.state_reason,
        TransitionReason::SyncGroup as i32,
        "{vi1:?}"
    );
    assert_eq!(vi1.sync_group, "G1");
    // It stays that way (VI_1 must not be re-elected on DR1 while VI_2 is faulty).
    assert!(
        !wait_until(Duration::from_millis(800), || common::has_address(
            &t.lab,
            &t.dr1.host.netns,
            common::VIP
        )),
        "VI_1 came back to DR1 while its group is faulty\n{}",
        t.logs()
    );

    // Recovery: both back to DR1.
    std::fs::write(&file, "0\n").unwrap();
    wait_both_on(&t, Which::Dr1, "VI_2's track_file recovered");
    assert_eq!(
        t.instance_named(Which::Dr1, "VI_1").state,
        VrrpState::Master as i32
    );

    // The same with the tracked interface losing its carrier.
    t.lab
        .exec(&ns, &["ip", "link", "set", "t1", "down"])
        .unwrap();
    wait_both_on(&t, Which::Dr2, "VI_2's tracked interface went down on DR1");
    assert_eq!(
        t.instance_named(Which::Dr1, "VI_2").state_reason,
        TransitionReason::Interface as i32
    );
    t.lab.exec(&ns, &["ip", "link", "set", "t1", "up"]).unwrap();
    wait_both_on(&t, Which::Dr1, "VI_2's tracked interface came back");
}

/// A sync group's own `track_process` (weight 0) is tracked by every member: the process
/// ending puts both instances into FAULT and both VIPs move to DR2; it coming back brings
/// them home.
#[test]
fn a_sync_group_track_process_faults_every_member() {
    if !common::prerequisites("sync group track_process", &["sleep"]) {
        return;
    }
    let mut sleeper = common::Sleeper::start(2);
    let seconds = sleeper.seconds.clone();
    let mut t = Topology::new("vcsgp");
    let mut dr1 = conf(
        "R1",
        99,
        &format!("vrrp_track_process sleeper {{\n    process sleep {seconds}\n}}\n"),
        "",
    );
    dr1.top_extra = dr1.top_extra.replace(
        "vrrp_sync_group G1 {\n",
        "vrrp_sync_group G1 {\n    track_process {\n        sleeper\n    }\n",
    );
    t.start(Which::Dr1, &dr1);
    t.start(Which::Dr2, &conf("R2", 90, "", ""));
    wait_both_on(&t, Which::Dr1, "start");
    assert_eq!(t.instance_named(Which::Dr1, "VI_1").trackers.len(), 1);

    sleeper.kill();
    wait_both_on(&t, Which::Dr2, "the group's tracked process ended on DR1");
    for name in ["VI_1", "VI_2"] {
        // Each member tracks the process itself, and its failure is each one's FAULT.
        let vi = t.instance_named(Which::Dr1, name);
        assert_eq!(vi.state, VrrpState::Fault as i32, "{vi:?}");
        assert!(!vi.trackers[0].ok, "{vi:?}");
    }

    sleeper.restart();
    wait_both_on(&t, Which::Dr1, "the group's tracked process is back on DR1");
}
