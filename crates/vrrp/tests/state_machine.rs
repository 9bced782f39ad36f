//! Deterministic tests of the instance state machine: time is driven explicitly, every
//! expected figure comes from RFC 3768/5798 §6 or from keepalived 2.2.7 as measured.

use std::net::{IpAddr, Ipv4Addr};

use keepalived_vrrp::codec::{Advert, Auth, DecodeError, ReceivedAdvert};
use keepalived_vrrp::state::{
    Action, Heard, Input, Instance, InstanceParams, Reason, Received, State,
};
use keepalived_vrrp::time::{AdvertCentiseconds, AdvertInterval, AdvertSeconds, Micros, Timestamp};

const US: u64 = 1;
const MS: u64 = 1_000 * US;
const S: u64 = 1_000 * MS;

fn ip(last: u8) -> IpAddr {
    Ipv4Addr::new(198, 51, 100, last).into()
}

fn v2_1s() -> AdvertInterval {
    AdvertInterval::V2(AdvertSeconds::new(1).unwrap())
}

fn v3(cs: u16) -> AdvertInterval {
    AdvertInterval::V3(AdvertCentiseconds::new(cs).unwrap())
}

/// DR1-like instance: VI_1, VRID 3, v2 1 s, our address .11, VIP .10.
fn params(priority: u8) -> InstanceParams {
    let mut p = InstanceParams::new("VI_1", 3, priority, v2_1s(), ip(11), vec![ip(10)]);
    p.auth = Auth::pass("736w4ib2");
    p
}

fn at(us: u64) -> Timestamp {
    Timestamp::from_micros(us)
}

fn advert(from: u8, priority: u8) -> Input {
    Input::Advert(Heard {
        src: ip(from),
        priority,
        interval: v2_1s(),
    })
}

fn started(p: InstanceParams) -> Instance {
    let mut i = Instance::new(p);
    i.handle(at(0), Input::Startup);
    i
}

fn logs(actions: &[Action]) -> Vec<&str> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Log(l) => Some(l.as_str()),
            _ => None,
        })
        .collect()
}

fn effects(actions: &[Action]) -> Vec<Action> {
    actions
        .iter()
        .filter(|a| !matches!(a, Action::Log(_)))
        .cloned()
        .collect()
}

fn transition(actions: &[Action]) -> Option<(State, State, Reason)> {
    actions.iter().find_map(|a| match a {
        Action::Transition { from, to, reason } => Some((*from, *to, *reason)),
        _ => None,
    })
}

/// Make `i` master: start it and let its Master_Down_Timer expire with no master around.
fn master(p: InstanceParams) -> (Instance, Timestamp) {
    let mut i = started(p);
    let t = i.next_deadline().unwrap();
    i.handle(t, Input::Timer);
    assert_eq!(i.state(), State::Master);
    (i, t)
}

#[test]
fn every_instance_starts_in_backup_and_waits_master_down_interval() {
    let mut i = Instance::new(params(99));
    let out = i.handle(at(0), Input::Startup);
    assert_eq!(logs(&out), ["(VI_1) Entering BACKUP STATE (init)"]);
    assert_eq!(
        effects(&out),
        [
            Action::RemoveVips,
            Action::Transition {
                from: State::Initialize,
                to: State::Backup,
                reason: Reason::Startup
            }
        ]
    );
    // 3 s + (256-99)/256 s = 3.613281 s
    assert_eq!(i.next_deadline(), Some(at(3_613_281)));
    assert!(i.handle(at(3_613_280), Input::Timer).is_empty());
    assert_eq!(i.state(), State::Backup);
}

#[test]
fn address_owner_becomes_master_at_once() {
    let mut i = Instance::new(params(255));
    let out = i.handle(at(0), Input::Startup);
    assert_eq!(i.state(), State::Master);
    assert_eq!(
        transition(&out),
        Some((State::Initialize, State::Master, Reason::AddressOwner))
    );
    assert_eq!(
        effects(&out)[1..],
        [
            Action::SendAdvert { priority: 255 },
            Action::AddVips,
            Action::SendGarp { count: 5 }
        ]
    );
}

#[test]
fn backup_takes_over_after_master_down_interval() {
    // keepalived measurement: priority 90 backup, master killed with kill -9, VIP moved
    // 3.649 s after the last advert.
    let mut i = started(params(90));
    let last_advert = at(10 * S);
    assert!(i.handle(last_advert, advert(11, 99)).is_empty());
    assert_eq!(i.next_deadline(), Some(at(10 * S + 3_648_437)));
    assert!(i.handle(at(10 * S + 3_648_436), Input::Timer).is_empty());
    let out = i.handle(at(10 * S + 3_648_437), Input::Timer);
    assert_eq!(
        logs(&out),
        [
            "(VI_1) Receive advertisement timeout",
            "(VI_1) Entering MASTER STATE",
            "(VI_1) setting VIPs."
        ]
    );
    assert_eq!(
        effects(&out),
        [
            Action::Transition {
                from: State::Backup,
                to: State::Master,
                reason: Reason::MasterDownTimerExpired
            },
            Action::SendAdvert { priority: 90 },
            Action::AddVips,
            Action::SendGarp { count: 5 },
        ]
    );
    assert_eq!(i.counters().become_master, 1);
}

#[test]
fn v3_backup_learns_master_interval_and_takes_over_after_0_365s() {
    // Configured 1 s (100 cs); the master advertises 0.1 s (10 cs). RFC 5798 §6.4.2: the
    // backup adopts Master_Adver_Interval from the advert.
    let mut p = params(90);
    p.interval = v3(100);
    p.auth = Auth::None;
    let mut i = started(p);
    i.handle(
        at(S),
        Input::Advert(Heard {
            src: ip(11),
            priority: 99,
            interval: v3(10),
        }),
    );
    assert_eq!(i.master_adver_int(), v3(10));
    // keepalived measured 0.365 s: 3*0.1 + (256-90)/256*0.1 = 0.364843 s.
    assert_eq!(i.next_deadline(), Some(at(S + 364_843)));
    i.handle(at(S + 364_843), Input::Timer);
    assert_eq!(i.state(), State::Master);
    // As master it advertises its own configured interval again.
    assert_eq!(i.master_adver_int(), v3(100));
    assert_eq!(i.next_deadline(), Some(at(S + 364_843 + S)));
}

#[test]
fn preempting_backup_discards_lower_priority_adverts_and_takes_over() {
    let mut i = started(params(99));
    let mut out = Vec::new();
    for k in 0..3 {
        out = i.handle(at(k * S), advert(12, 90));
    }
    assert_eq!(
        logs(&out),
        ["(VI_1) received lower priority (90) advert from 198.51.100.12 - discarding"]
    );
    // The timer from startup was never reset: 3.613281 s.
    assert_eq!(i.next_deadline(), Some(at(3_613_281)));
    let out = i.handle(at(3_613_281), Input::Timer);
    assert_eq!(
        transition(&out),
        Some((
            State::Backup,
            State::Master,
            Reason::LowerPriorityHeardPreempt {
                ours: 99,
                theirs: 90,
                from: ip(12)
            }
        ))
    );
}

#[test]
fn nopreempt_backup_stays_backup_under_lower_priority_master() {
    let mut p = params(99);
    p.preempt = false;
    let mut i = started(p);
    for k in 1..=10 {
        assert!(i.handle(at(k * S), advert(12, 90)).is_empty());
        assert!(i.handle(at(k * S + 999 * MS), Input::Timer).is_empty());
    }
    assert_eq!(i.state(), State::Backup);
    assert_eq!(i.next_deadline(), Some(at(10 * S + 3_613_281)));
}

#[test]
fn preempt_delay_holds_off_preemption_after_startup() {
    let mut p = params(99);
    p.preempt_delay = Micros::from_secs(10);
    let mut i = started(p);
    // Within the first 10 s a lower-priority master is accepted like any master.
    for k in 1..10 {
        let out = i.handle(at(k * S), advert(12, 90));
        assert!(logs(&out).is_empty(), "advert at {k} s accepted");
        assert_eq!(i.state(), State::Backup);
    }
    // From 10 s on it is discarded and we take over when the timer armed at 9 s fires.
    let out = i.handle(at(10 * S), advert(12, 90));
    assert_eq!(
        logs(&out),
        ["(VI_1) received lower priority (90) advert from 198.51.100.12 - discarding"]
    );
    assert_eq!(i.next_deadline(), Some(at(9 * S + 3_613_281)));
    i.handle(at(9 * S + 3_613_281), Input::Timer);
    assert_eq!(i.state(), State::Master);
}

#[test]
fn master_answers_lower_priority_advert_at_once_with_its_own() {
    let (mut i, t) = master(params(99));
    let out = i.handle(t + Micros(100 * MS), advert(12, 90));
    assert_eq!(
        logs(&out),
        [
            "(VI_1) Received advert from 198.51.100.12 with lower priority 90, ours 99, forcing new election"
        ]
    );
    // keepalived re-announces the VIPs (garp_lower_prio_repeat, default 5).
    assert_eq!(
        effects(&out),
        [
            Action::SendAdvert { priority: 99 },
            Action::SendGarp { count: 5 }
        ]
    );
    assert_eq!(i.state(), State::Master);
}

#[test]
fn strict_master_does_not_answer_a_lower_priority() {
    // vrrp_strict: lower_prio_no_advert on, garp_lower_prio_repeat 0 (vrrp.c
    // vrrp_complete_instance), so a lower-priority advert is only logged.
    let mut p = params(99);
    p.lower_prio_no_advert = true;
    p.garp_lower_prio_repeat = 0;
    let (mut i, t) = master(p);
    let out = i.handle(t + Micros(100 * MS), advert(12, 90));
    assert_eq!(
        logs(&out),
        ["(VI_1) Received advert from 198.51.100.12 with lower priority 90, ours 99"]
    );
    assert_eq!(effects(&out), []);
    assert_eq!(i.state(), State::Master);
}

#[test]
fn higher_prio_send_advert_sends_one_advert_before_yielding() {
    let mut p = params(99);
    p.higher_prio_send_advert = true;
    let (mut i, t) = master(p);
    let out = i.handle(t + Micros(500 * MS), advert(12, 100));
    assert_eq!(effects(&out)[0], Action::SendAdvert { priority: 99 });
    assert_eq!(i.state(), State::Backup);
}

#[test]
fn master_hearing_higher_priority_becomes_backup_and_removes_vips() {
    let (mut i, t) = master(params(99));
    let now = t + Micros(500 * MS);
    let out = i.handle(now, advert(12, 100));
    assert_eq!(
        logs(&out),
        [
            "(VI_1) Master received advert from 198.51.100.12 with higher priority 100, ours 99",
            "(VI_1) Entering BACKUP STATE",
            "(VI_1) removing VIPs.",
        ]
    );
    assert_eq!(
        effects(&out),
        [
            Action::RemoveVips,
            Action::Transition {
                from: State::Master,
                to: State::Backup,
                reason: Reason::HigherPriorityHeard {
                    ours: 99,
                    theirs: 100,
                    from: ip(12)
                }
            },
        ]
    );
    assert_eq!(i.counters().release_master, 1);
    // No more adverts or GARPs: only the Master_Down_Timer remains.
    assert_eq!(i.next_deadline(), Some(now + Micros(3_613_281)));
}

#[test]
fn equal_priority_is_won_by_the_higher_primary_address() {
    // RFC 5798 §6.4.3: equal priority and a greater sender address → Backup.
    let (mut i, t) = master(params(99));
    let out = i.handle(t, advert(12, 99));
    assert_eq!(
        logs(&out)[0],
        "(VI_1) Master received advert from 198.51.100.12 with same priority 99 but higher IP address than ours"
    );
    assert_eq!(i.state(), State::Backup);

    let (mut i, t) = master(params(99));
    let out = i.handle(t, advert(10, 99));
    assert_eq!(
        effects(&out),
        [
            Action::SendAdvert { priority: 99 },
            Action::SendGarp { count: 5 }
        ]
    );
    assert_eq!(i.state(), State::Master);
}

#[test]
fn master_hearing_priority_zero_sends_advert_at_once_and_resets_adver_timer() {
    let (mut i, t) = master(params(99));
    let now = t + Micros(400 * MS);
    let out = i.handle(now, advert(12, 0));
    assert_eq!(effects(&out), [Action::SendAdvert { priority: 99 }]);
    assert_eq!(i.next_deadline(), Some(now + Micros(S)));
}

#[test]
fn backup_hearing_priority_zero_takes_over_after_skew_time() {
    // The prio0 capture: DR2 (priority 90) sent its first advert 0.649 s after DR1's
    // priority-0 advert; Skew_Time = 166/256 s = 0.648437 s.
    let mut i = started(params(90));
    i.handle(at(S), advert(11, 99));
    let out = i.handle(at(2 * S), advert(11, 0));
    assert_eq!(
        logs(&out),
        ["(VI_1) Backup received priority 0 advertisement"]
    );
    assert_eq!(i.next_deadline(), Some(at(2 * S + 648_437)));
    let out = i.handle(at(2 * S + 648_437), Input::Timer);
    assert_eq!(
        transition(&out),
        Some((
            State::Backup,
            State::Master,
            Reason::PriorityZeroHeard { from: ip(11) }
        ))
    );
}

#[test]
fn shutdown_from_master_sends_priority_zero_and_removes_vips() {
    let (mut i, t) = master(params(99));
    let out = i.handle(t + Micros(S), Input::Shutdown);
    assert_eq!(
        effects(&out),
        [
            Action::SendAdvert { priority: 0 },
            Action::RemoveVips,
            Action::Transition {
                from: State::Master,
                to: State::Initialize,
                reason: Reason::Shutdown
            },
        ]
    );
    assert_eq!(i.counters().pri_zero_sent, 1);
    assert_eq!(i.next_deadline(), None);
}

#[test]
fn master_sends_an_advert_every_advert_interval() {
    let (mut i, t) = master(params(99));
    let mut sent = 0;
    let mut now = t;
    for _ in 0..10 {
        now = i.next_deadline().unwrap();
        for a in i.handle(now, Input::Timer) {
            if a == (Action::SendAdvert { priority: 99 }) {
                sent += 1;
            }
        }
    }
    // One advert per wake-up, one wake-up per second (the 5 s GARP burst shares one).
    assert_eq!(sent, 10);
    assert_eq!(now, t + Micros(10 * S));
}

#[test]
fn garp_bursts_at_once_and_again_after_garp_master_delay() {
    let (mut i, t) = master(params(99));
    let out = i.handle(t + Micros(5 * S), Input::Timer);
    // The 5 s advert and the second GARP burst fall on the same wake-up.
    assert_eq!(
        effects(&out),
        [
            Action::SendAdvert { priority: 99 },
            Action::SendGarp { count: 5 }
        ]
    );
    // No third burst without garp_master_refresh.
    for k in 6..20 {
        let out = i.handle(t + Micros(k * S), Input::Timer);
        assert!(!out.iter().any(|a| matches!(a, Action::SendGarp { .. })));
    }
}

#[test]
fn garp_master_refresh_repeats_periodically() {
    let mut p = params(99);
    p.garp_master_delay = Micros::ZERO;
    p.garp_master_refresh = Some(Micros::from_secs(60));
    p.garp_master_refresh_repeat = 2;
    let (mut i, t) = master(p);
    let mut garps = Vec::new();
    while let Some(d) = i.next_deadline() {
        if d > t + Micros(181 * S) {
            break;
        }
        if i.handle(d, Input::Timer)
            .contains(&Action::SendGarp { count: 2 })
        {
            garps.push(d - t);
        }
    }
    assert_eq!(
        garps,
        [
            Micros::from_secs(60),
            Micros::from_secs(120),
            Micros::from_secs(180)
        ]
    );
}

#[test]
fn fault_removes_vips_and_recovery_waits_in_backup() {
    let (mut i, t) = master(params(99));
    let out = i.handle(t + Micros(S), Input::Fault(true));
    assert_eq!(logs(&out)[0], "(VI_1) Entering FAULT STATE");
    assert_eq!(
        effects(&out),
        [
            Action::SendAdvert { priority: 0 },
            Action::RemoveVips,
            Action::Transition {
                from: State::Master,
                to: State::Fault,
                reason: Reason::Fault
            },
        ]
    );
    assert_eq!(i.next_deadline(), None, "FAULT sends no adverts");
    assert!(
        i.handle(t + Micros(2 * S), advert(12, 90)).is_empty(),
        "FAULT ignores adverts"
    );

    let back = t + Micros(30 * S);
    let out = i.handle(back, Input::Fault(false));
    assert_eq!(logs(&out), ["(VI_1) Entering BACKUP STATE"]);
    assert_eq!(
        transition(&out),
        Some((State::Fault, State::Backup, Reason::FaultCleared))
    );
    assert_eq!(i.next_deadline(), Some(back + Micros(3_613_281)));
}

#[test]
fn fault_before_startup_starts_in_fault() {
    let mut i = Instance::new(params(99));
    assert!(i.handle(at(0), Input::Fault(true)).is_empty());
    let out = i.handle(at(0), Input::Startup);
    assert_eq!(i.state(), State::Fault);
    assert_eq!(logs(&out), ["(VI_1) Entering FAULT STATE"]);
}

#[test]
fn maintenance_demotes_gracefully_and_holds_backup_until_off() {
    let (mut i, t) = master(params(99));
    let out = i.handle(t + Micros(S), Input::Maintenance(true));
    assert_eq!(
        effects(&out),
        [
            Action::SendAdvert { priority: 0 },
            Action::RemoveVips,
            Action::Transition {
                from: State::Master,
                to: State::Backup,
                reason: Reason::Maintenance
            },
        ]
    );
    // Never takes over while in maintenance, whatever it hears.
    assert_eq!(i.next_deadline(), None);
    i.handle(t + Micros(2 * S), advert(12, 0));
    assert_eq!(i.next_deadline(), None);
    let off = t + Micros(100 * S);
    i.handle(off, Input::Maintenance(false));
    assert_eq!(i.next_deadline(), Some(off + Micros(3_613_281)));
    i.handle(off + Micros(3_613_281), Input::Timer);
    assert_eq!(i.state(), State::Master);
}

#[test]
fn priority_change_is_logged_in_keepalived_wording_and_clamped() {
    let mut i = started(params(99));
    let out = i.handle(at(0), Input::PriorityChanged(84));
    assert_eq!(
        logs(&out),
        ["(VI_1) Changing effective priority from 99 to 84"]
    );
    assert_eq!(
        effects(&out),
        [Action::PriorityChanged { from: 99, to: 84 }]
    );
    let out = i.handle(at(0), Input::PriorityChanged(255));
    assert_eq!(
        effects(&out),
        [Action::PriorityChanged { from: 84, to: 254 }]
    );
    let out = i.handle(at(0), Input::PriorityChanged(0));
    assert_eq!(
        effects(&out),
        [Action::PriorityChanged { from: 254, to: 1 }]
    );
    assert!(i.handle(at(0), Input::PriorityChanged(1)).is_empty());
}

#[test]
fn lowered_priority_lets_the_backup_preempt_the_master() {
    // Tracker drops the master's priority below the backup's: the backup discards the
    // master's adverts and takes over; the old master then hears the higher priority.
    let (mut m, t) = master(params(99));
    let mut b = Instance::new({
        let mut p = params(90);
        p.primary_address = ip(12);
        p
    });
    b.handle(t, Input::Startup);
    m.handle(t, Input::PriorityChanged(84));
    let out = b.handle(
        t + Micros(S),
        Input::Advert(Heard {
            src: ip(11),
            priority: 84,
            interval: v2_1s(),
        }),
    );
    assert_eq!(
        logs(&out),
        ["(VI_1) received lower priority (84) advert from 198.51.100.11 - discarding"]
    );
    let d = b.next_deadline().unwrap();
    b.handle(d, Input::Timer);
    assert_eq!(b.state(), State::Master);
    m.handle(
        d,
        Input::Advert(Heard {
            src: ip(12),
            priority: 90,
            interval: v2_1s(),
        }),
    );
    assert_eq!(m.state(), State::Backup);
}

fn received(ttl: u8, priority: u8, src: u8) -> ReceivedAdvert {
    ReceivedAdvert {
        src: ip(src),
        dst: Ipv4Addr::new(224, 0, 0, 18).into(),
        ttl,
        vrrp: Advert {
            vrid: 3,
            priority,
            interval: v2_1s(),
            auth: Auth::pass("736w4ib2"),
            addresses: vec![ip(10)],
        },
    }
}

#[test]
fn invalid_adverts_are_counted_logged_and_do_not_reset_the_timer() {
    let mut i = started(params(90));
    let out = i.receive(at(S), &received(64, 99, 11)).into_actions();
    assert_eq!(
        logs(&out),
        ["(VI_1) invalid TTL/HL. Received 64 and expect 255"]
    );
    assert_eq!(i.counters().ip_ttl_err, 1);
    assert_eq!(i.counters().advert_rcvd, 0);
    assert_eq!(
        i.next_deadline(),
        Some(at(3_648_437)),
        "startup timer untouched"
    );

    let mut bad_pw = received(255, 99, 11);
    bad_pw.vrrp.auth = Auth::pass("nope");
    let out = i.receive(at(S), &bad_pw).into_actions();
    assert_eq!(logs(&out), ["(VI_1) received an invalid passwd!"]);
    assert_eq!(i.counters().auth_failure, 1);

    // The shell learns why without comparing counters: the reason and the line.
    assert_eq!(
        i.receive(at(S), &received(7, 99, 11)),
        Received::Dropped {
            reason: DecodeError::BadTtl(7),
            line: "(VI_1) invalid TTL/HL. Received 7 and expect 255".into()
        }
    );

    assert!(matches!(
        i.receive(at(2 * S), &received(255, 99, 11)),
        Received::Accepted(_)
    ));
    assert_eq!(i.counters().advert_rcvd, 1);
    assert_eq!(i.next_deadline(), Some(at(2 * S + 3_648_437)));
    let _ = i.receive(at(3 * S), &received(255, 0, 11));
    assert_eq!(i.counters().pri_zero_rcvd, 1);
}

#[test]
fn skip_check_adv_addr_checks_only_adverts_from_a_new_master() {
    let mut p = params(90);
    p.skip_check_adv_addr = true;
    let mut i = started(p);
    let mut other_vips = received(255, 99, 11);
    other_vips.vrrp.addresses = vec![ip(20)];
    // First advert from .11: checked, dropped.
    i.receive(at(S), &other_vips);
    assert_eq!(i.counters().addr_list_err, 1);
    // A good advert makes .11 the known master; its later adverts skip the check.
    i.receive(at(2 * S), &received(255, 99, 11));
    i.receive(at(3 * S), &other_vips);
    assert_eq!(i.counters().addr_list_err, 1);
    assert_eq!(i.next_deadline(), Some(at(3 * S + 3_648_437)));
}

#[test]
fn advert_and_accept_mode_come_from_the_configuration() {
    let mut p = params(99);
    p.accept = true;
    let i = started(p);
    assert!(i.accept_mode());
    let a = i.advert(0);
    assert_eq!(
        (a.vrid, a.priority, a.auth, a.addresses.clone()),
        (3, 0, Auth::pass("736w4ib2"), vec![ip(10)])
    );
}
