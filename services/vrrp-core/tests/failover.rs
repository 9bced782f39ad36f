//! Failover with VRRPv3 at 0.1 s: SIGTERM hands over after Skew_Time, preemption,
//! nopreempt, preempt_delay, interface down → FAULT.
// std::time::Instant: failover is timed on real processes (clippy.toml bans it elsewhere).
#![allow(clippy::disallowed_types)]

mod common;

use std::time::{Duration, Instant};

use common::{Conf, DR2, Topology, Which};
use keepalived_api::v1::{TransitionReason, VrrpState};
use keepalived_testlab::wait_until;

#[test]
fn sigterm_master_sends_priority_zero_and_backup_takes_over_after_skew_time() {
    if !common::prerequisites("sigterm handover", &[]) {
        return;
    }
    let mut t = Topology::new("vcterm");
    t.start(Which::Dr1, &Conf::fast("R1", 99));
    t.start(Which::Dr2, &Conf::fast("R2", 90));
    t.wait_vip_on(Which::Dr1, Duration::from_secs(10));
    // Let DR2 settle as backup.
    std::thread::sleep(Duration::from_millis(500));
    t.stop(Which::Dr1, "TERM");
    assert!(
        !t.has_vip(Which::Dr1),
        "SIGTERM must remove the VIP before exit\n{}",
        t.logs()
    );
    t.wait_vip_on(Which::Dr2, Duration::from_secs(5));
    t.wait_client_mac(DR2.1, Duration::from_secs(5));
    let dr2 = t.instance(Which::Dr2);
    assert_eq!(dr2.state, VrrpState::Master as i32);
    // The takeover came from the priority-0 advert (Skew_Time), not from silence.
    assert_eq!(
        dr2.state_reason,
        TransitionReason::PriorityZeroHeard as i32,
        "{dr2:?}\n{}",
        t.logs()
    );
    assert!(dr2.counters.unwrap().pri_zero_rcvd >= 1);
    assert!(common::log_contains(
        &t.dr2.log,
        "(VI_1) Backup received priority 0 advertisement"
    ));
}

#[test]
fn higher_priority_preempts_on_return_but_not_with_nopreempt() {
    if !common::prerequisites("preemption", &[]) {
        return;
    }
    let mut t = Topology::new("vcpre");
    t.start(Which::Dr2, &Conf::fast("R2", 90));
    t.wait_vip_on(Which::Dr2, Duration::from_secs(10));

    // nopreempt: the returning higher priority stays BACKUP.
    let mut dr1 = Conf::fast("R1", 99);
    dr1.instance_extra = "    nopreempt\n".into();
    // keepalived ignores nopreempt with `state MASTER`.
    dr1.state = "BACKUP";
    t.start(Which::Dr1, &dr1);
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        t.has_vip(Which::Dr2) && !t.has_vip(Which::Dr1),
        "nopreempt preempted\n{}",
        t.logs()
    );
    assert_eq!(t.instance(Which::Dr1).state, VrrpState::Backup as i32);

    // Without it, DR1 preempts once it has waited Master_Down_Interval.
    t.stop(Which::Dr1, "TERM");
    t.start(Which::Dr1, &Conf::fast("R1", 99));
    t.wait_vip_on(Which::Dr1, Duration::from_secs(10));
    let dr2 = t.instance(Which::Dr2);
    assert_eq!(dr2.state, VrrpState::Backup as i32);
    assert_eq!(
        dr2.state_reason,
        TransitionReason::HigherPriorityHeard as i32
    );
}

#[test]
fn preempt_delay_postpones_preemption() {
    if !common::prerequisites("preempt_delay", &[]) {
        return;
    }
    let mut t = Topology::new("vcpdel");
    t.start(Which::Dr2, &Conf::fast("R2", 90));
    t.wait_vip_on(Which::Dr2, Duration::from_secs(10));
    let mut dr1 = Conf::fast("R1", 99);
    dr1.instance_extra = "    preempt_delay 2\n".into();
    // keepalived clears preempt_delay with an initial state MASTER (vrrp.c
    // vrrp_complete_instance), and so does the loader.
    dr1.state = "BACKUP";
    let started = Instant::now();
    t.start(Which::Dr1, &dr1);
    t.wait_vip_on(Which::Dr1, Duration::from_secs(15));
    let took = started.elapsed();
    // Without the delay the takeover takes Master_Down_Interval (≈0.36 s).
    assert!(
        took >= Duration::from_millis(1900),
        "preempted after {took:?} despite preempt_delay 2"
    );
}

#[test]
fn interface_down_on_master_is_fault_and_up_again_recovers() {
    if !common::prerequisites("interface fault", &[]) {
        return;
    }
    let mut t = Topology::new("vcfault");
    t.start(Which::Dr1, &Conf::fast("R1", 99));
    t.start(Which::Dr2, &Conf::fast("R2", 90));
    t.wait_vip_on(Which::Dr1, Duration::from_secs(10));

    let dr1_ns = t.dr1.host.netns.clone();
    t.lab
        .exec(&dr1_ns, &["ip", "link", "set", "eth0", "down"])
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || t.instance(Which::Dr1).state
            == VrrpState::Fault as i32),
        "DR1 not in FAULT\n{}",
        t.logs()
    );
    let dr1 = t.instance(Which::Dr1);
    assert_eq!(dr1.state_reason, TransitionReason::Interface as i32);
    assert!(dr1.vips.iter().all(|v| !v.present));
    assert!(
        wait_until(Duration::from_secs(5), || t.has_vip(Which::Dr2)),
        "{}",
        t.logs()
    );

    // The bridge port of DR2 going down (carrier loss) is a FAULT too; bring DR1 back
    // first so the VIP has somewhere to go.
    t.lab
        .exec(&dr1_ns, &["ip", "link", "set", "eth0", "up"])
        .unwrap();
    t.wait_vip_on(Which::Dr1, Duration::from_secs(10));
    let sw = t.lab.switch_netns().to_owned();
    t.lab
        .exec(&sw, &["ip", "link", "set", &t.dr1.host.port, "down"])
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || t.instance(Which::Dr1).state
            == VrrpState::Fault as i32),
        "carrier loss not a FAULT\n{}",
        t.logs()
    );
    assert!(
        wait_until(Duration::from_secs(5), || t.has_vip(Which::Dr2)),
        "{}",
        t.logs()
    );
    t.lab
        .exec(&sw, &["ip", "link", "set", &t.dr1.host.port, "up"])
        .unwrap();
    t.wait_vip_on(Which::Dr1, Duration::from_secs(10));
}
