//! Tests of the rendered text, the incremental edits, the memo and the
//! record format (the slot weights, the number writers and the parser are
//! tested in their own files).

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::edit::moved_slots;
use super::observe::{KernelSlots, Slots, adopt_slots};
use super::record::{method_code, parse_record, record_comment};
use super::slots::{SlotTarget, slot_rule};
use super::*;
use crate::backend::ObservedState;
use crate::table::{Dest, DestKey, Family, Method, Persistence, Proto, Service, ServiceSpec};

fn service(method: Method, weights: &[(u8, u32)], sched: &str) -> (ServiceKey, Service) {
    (
        ServiceKey::Addr {
            proto: Proto::Tcp,
            ip: "198.51.100.10".parse().unwrap(),
            port: 80,
        },
        Service {
            spec: ServiceSpec {
                scheduler: sched.into(),
                persistence: None,
                ops: false,
            },
            dests: weights
                .iter()
                .map(|(last, weight)| {
                    (
                        DestKey {
                            ip: format!("203.0.113.{last}").parse().unwrap(),
                            port: 80,
                        },
                        Dest {
                            method,
                            weight: *weight,
                        },
                    )
                })
                .collect(),
        },
    )
}

#[test]
fn records_round_trip_through_the_comment() {
    let (key, mut svc) = service(Method::Nat, &[], "wrr");
    svc.spec.persistence = Some(Persistence {
        timeout: 300,
        netmask: Some("255.255.255.0".parse().unwrap()),
    });
    let comment = record_comment(&key, &svc.spec);
    assert!(comment.len() < 128, "nft comments hold 128 bytes");
    assert_eq!(parse_record(&comment), Some((key, svc.spec)));
    let fw = ServiceKey::Fwmark {
        family: Family::Inet,
        mark: 7,
    };
    let spec = ServiceSpec {
        scheduler: "rr".into(),
        persistence: None,
        ops: true,
    };
    assert_eq!(parse_record(&record_comment(&fw, &spec)), Some((fw, spec)));
}

#[test]
fn nat_round_robin_renders_numgen_and_dr_renders_a_seeded_flow_hash() {
    let mut t = TableState::default();
    let (k, s) = service(Method::Nat, &[(11, 1), (12, 1), (13, 0)], "rr");
    t.services.insert(k, s);
    let text = render(&t, "eth0").unwrap();
    assert!(
        text.contains("dnat ip addr . port to numgen inc mod 2 map @vs0_slots"),
        "{text}"
    );
    assert!(
        text.contains("elements = { 0 : 203.0.113.11 . 80, 1 : 203.0.113.12 . 80 }"),
        "{text}"
    );
    assert!(
        text.contains("203.0.113.13 . 80 . 0x1"),
        "weight-0 kept in the record: {text}"
    );
    let mut t = TableState::default();
    let (k, s) = service(Method::Dr, &[(11, 1), (12, 1)], "rr");
    t.services.insert(k, s);
    let text = render(&t, "eth0").unwrap();
    assert!(
        text.contains("fwd ip to jhash ip saddr . tcp sport mod 1021 seed 0x5eed map @vs0_slots"),
        "{text}"
    );
    assert!(text.contains("device \"eth0\""));
}

#[test]
fn persistence_and_fwmark_render_what_nft_accepts() {
    // Both rule shapes were loaded by nft 1.0.6 as written here.
    let (k, mut s) = service(Method::Nat, &[(11, 1), (12, 1)], "rr");
    s.spec.persistence = Some(Persistence {
        timeout: 300,
        netmask: Some("255.255.255.0".parse().unwrap()),
    });
    let mut t = TableState::default();
    t.services.insert(k, s.clone());
    let text = render(&t, "eth0").unwrap();
    assert!(
        text.contains(
            "dnat ip addr . port to jhash ip saddr & 255.255.255.0 mod 1021 seed 0x5eed map @vs0_slots"
        ),
        "{text}"
    );
    let fw = ServiceKey::Fwmark {
        family: Family::Inet,
        mark: 7,
    };
    s.spec.persistence = None;
    let mut t = TableState::default();
    t.services.insert(fw, s);
    let text = render(&t, "eth0").unwrap();
    assert!(
        text.contains("meta mark 0x7 meta l4proto { tcp, udp, sctp } dnat ip addr . port to numgen inc mod 2 map @vs0_slots"),
        "{text}"
    );
    assert!(
        text.contains(
            "meta mark 0x7 meta l4proto { tcp, udp, sctp } counter jump vs0 comment \"vs0\""
        ),
        "{text}"
    );
}

/// `service` on `proto`.
fn on(proto: Proto, (key, s): (ServiceKey, Service)) -> (ServiceKey, Service) {
    let ServiceKey::Addr { ip, port, .. } = key else {
        unreachable!()
    };
    (ServiceKey::Addr { proto, ip, port }, s)
}

#[test]
fn udp_and_sctp_services_match_and_map_their_own_protocol() {
    // Before: the slot map of every port-mapping NAT service was `typeof …
    // : ip daddr . tcp dport`, which nft refuses under a `udp dport` rule
    // ("conflicting protocols specified: udp vs. tcp"). Each shape below
    // was loaded by nft 1.0.6 as written.
    for proto in [Proto::Udp, Proto::Sctp] {
        let p = proto.name();
        let mut t = TableState::default();
        let (k, s) = on(proto, service(Method::Nat, &[(11, 1), (12, 1)], "rr"));
        t.services.insert(k, s);
        let (k, mut s) = on(proto, service(Method::Nat, &[(11, 1), (12, 1)], "rr"));
        let ServiceKey::Addr { ip, .. } = k else {
            unreachable!()
        };
        s.spec.persistence = Some(Persistence {
            timeout: 50,
            netmask: None,
        });
        t.services.insert(
            ServiceKey::Addr {
                proto,
                ip,
                port: 81,
            },
            s,
        );
        let text = render(&t, "eth0").unwrap();
        assert!(!text.contains("tcp"), "{text}");
        assert_eq!(
            text.matches(&format!("typeof numgen inc mod 1 : ip daddr . {p} dport"))
                .count(),
            2,
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "ip daddr 198.51.100.10 {p} dport 80 dnat ip addr . port to numgen inc mod 2 map @vs0_slots"
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "ip daddr 198.51.100.10 {p} dport 80 counter jump vs0 comment \"vs0\""
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "ip daddr 198.51.100.10 {p} dport 81 dnat ip addr . port to jhash ip saddr mod 1021 seed 0x5eed map @vs1_slots"
            )),
            "{text}"
        );
        assert!(text.contains(&format!("comment \"ka1 {p},198.51.100.10,80 rr - 0\"")));
        // A server leaving rr is a swap-remove whose new rule keeps the protocol.
        let (k, t) = {
            let (k, s) = on(proto, service(Method::Nat, &[(11, 1), (12, 1)], "rr"));
            let mut t = TableState::default();
            t.services.insert(k, s);
            (k, t)
        };
        let change = weight_of(k, 11, 0);
        let mut after = t.clone();
        after.apply(std::slice::from_ref(&change)).unwrap();
        let text = incremental(&t, &after, &[change], "eth0").expect("a swap");
        assert!(
            text.contains(&format!(
                "add rule ip keepalived_rs vs0 ip daddr 198.51.100.10 {p} dport 80 dnat ip addr . port to numgen inc mod 1"
            )),
            "{text}"
        );
        // DR hashes the flow on the protocol's source port.
        let mut t = TableState::default();
        let (k, s) = on(proto, service(Method::Dr, &[(11, 1), (12, 1)], "rr"));
        t.services.insert(k, s);
        let text = render(&t, "eth0").unwrap();
        assert!(
            text.contains(&format!(
                "meta pkttype host ip daddr 198.51.100.10 {p} dport 80 counter fwd ip to jhash ip saddr . {p} sport mod 1021"
            )),
            "{text}"
        );
    }
    // fwmark: no protocol of its own, the map protocol-neutral.
    let fw = ServiceKey::Fwmark {
        family: Family::Inet,
        mark: 7,
    };
    let (_, s) = service(Method::Nat, &[(11, 1), (12, 1)], "rr");
    let mut t = TableState::default();
    t.services.insert(fw, s);
    let text = render(&t, "eth0").unwrap();
    assert!(
        text.contains("typeof numgen inc mod 1 : ip daddr . th dport"),
        "{text}"
    );
}

#[test]
fn a_server_leaving_a_maglev_table_is_an_element_update_of_its_slots() {
    let mut before = TableState::default();
    let (k, s) = service(Method::Dr, &[(11, 1), (12, 1), (13, 1)], "rr");
    before.services.insert(k, s);
    let mut after = before.clone();
    let change = Change::EditDest {
        service: k,
        dest: DestKey {
            ip: "203.0.113.13".parse().unwrap(),
            port: 80,
        },
        spec: Dest {
            method: Method::Dr,
            weight: 0,
        },
    };
    after.apply(std::slice::from_ref(&change)).unwrap();
    let text = incremental(&before, &after, &[change], "eth0").expect("element update");
    assert!(!text.contains("table"), "no table rewrite: {text}");
    assert!(text.contains("delete element netdev keepalived_rs_dr vs0_slots {"));
    assert!(text.contains("delete element ip keepalived_rs vs0 { 203.0.113.13 . 80 . 0x4 }"));
    assert!(text.contains("add element ip keepalived_rs vs0 { 203.0.113.13 . 80 . 0x0 }"));
    let moved = text.lines().nth(1).unwrap().matches(" : ").count();
    assert!(
        moved > 250 && moved < 450,
        "about a third of 1021 slots: {moved}"
    );
    assert!(!text.lines().nth(1).unwrap().contains("203.0.113.13"));
}

#[test]
fn the_memo_gives_the_text_computed_without_it() {
    let mut memo = SlotMemo::default();
    let mut before = TableState::default();
    let (k, s) = service(Method::Dr, &[(11, 1), (12, 1), (13, 1)], "rr");
    before.services.insert(k, s);
    let (_, mut nat) = service(Method::Nat, &[(21, 1), (22, 3)], "wrr");
    nat.spec.persistence = Some(Persistence {
        timeout: 60,
        netmask: None,
    });
    let k2 = ServiceKey::Fwmark {
        family: Family::Inet,
        mark: 3,
    };
    before.services.insert(k2, nat);
    assert_eq!(
        render_memo(&mut memo, &before, "eth0").unwrap(),
        render(&before, "eth0").unwrap()
    );
    let dest = |last: u8| DestKey {
        ip: format!("203.0.113.{last}").parse().unwrap(),
        port: 80,
    };
    let steps = [
        Change::EditDest {
            service: k,
            dest: dest(13),
            spec: Dest {
                method: Method::Dr,
                weight: 2,
            },
        },
        Change::EditDest {
            service: k2,
            dest: dest(22),
            spec: Dest {
                method: Method::Nat,
                weight: 0,
            },
        },
        Change::DelDest {
            service: k,
            dest: dest(11),
        },
        Change::AddDest {
            service: k,
            dest: dest(14),
            spec: Dest {
                method: Method::Dr,
                weight: 1,
            },
        },
    ];
    for change in steps {
        let mut after = before.clone();
        after.apply(std::slice::from_ref(&change)).unwrap();
        let changes = [change];
        let plain = incremental(&before, &after, &changes, "eth0");
        let memo_text = incremental_memo(&mut memo, &before, &after, &changes, "eth0");
        assert_eq!(memo_text, plain);
        assert_eq!(
            render_memo(&mut memo, &after, "eth0").unwrap(),
            render(&after, "eth0").unwrap()
        );
        before = after;
    }
}

/// `before` with one destination's weight changed, and that change.
fn reweighted(before: &TableState, last: u8, method: Method, weight: u32) -> (TableState, Change) {
    let service = *before.services.keys().next().unwrap();
    let change = Change::EditDest {
        service,
        dest: DestKey {
            ip: format!("203.0.113.{last}").parse().unwrap(),
            port: 80,
        },
        spec: Dest { method, weight },
    };
    let mut after = before.clone();
    after.apply(std::slice::from_ref(&change)).unwrap();
    (after, change)
}

#[test]
fn round_robin_ignores_weights_like_ipvs_rr_and_wrr_follows_them() {
    // ip_vs_rr.c: one turn per server with a weight, whatever the weight.
    let (k, s) = service(Method::Nat, &[(11, 1), (12, 5), (13, 0)], "rr");
    let rr = slot_rule(0, &k, &s, "eth0", None).unwrap().unwrap();
    assert_eq!(rr.owners, vec![0, 1], "one slot each, none for weight 0");
    assert!(rr.rule.contains("numgen inc mod 2"), "{}", rr.rule);
    for sched in ["lc", "dh"] {
        let (k, s) = service(Method::Nat, &[(11, 1), (12, 5)], sched);
        let r = slot_rule(0, &k, &s, "eth0", None).unwrap().unwrap();
        assert_eq!(r.owners.len(), 2, "{sched}");
    }
    let (k, s) = service(Method::Nat, &[(11, 1), (12, 5), (13, 0)], "wrr");
    let wrr = slot_rule(0, &k, &s, "eth0", None).unwrap().unwrap();
    assert_eq!(wrr.owners.len(), 6, "1 + 5 slots");
    assert_eq!(wrr.owners.iter().filter(|&&o| o == 1).count(), 5);
    // Maglev (DR, or persistence) too: equal shares under rr, weighted under wrr.
    let share = |sched: &str| {
        let (k, s) = service(Method::Dr, &[(11, 1), (12, 3)], sched);
        let r = slot_rule(0, &k, &s, "eth0", None).unwrap().unwrap();
        r.owners.iter().filter(|&&o| o == 1).count() as f64 / r.owners.len() as f64
    };
    assert!((share("rr") - 0.5).abs() < 0.05, "{}", share("rr"));
    assert!((share("wrr") - 0.75).abs() < 0.05, "{}", share("wrr"));
}

#[test]
fn a_weight_change_under_rr_updates_only_the_record() {
    for method in [Method::Nat, Method::Dr] {
        let mut before = TableState::default();
        let (k, s) = service(method, &[(11, 1), (12, 1)], "rr");
        before.services.insert(k, s);
        let (after, change) = reweighted(&before, 12, method, 2);
        let text = incremental(&before, &after, &[change], "eth0").expect("element update");
        let code = method_code(method);
        assert_eq!(
            text,
            format!(
                "delete element ip keepalived_rs vs0 {{ 203.0.113.12 . 80 . {:#x} }}\n\
                 add element ip keepalived_rs vs0 {{ 203.0.113.12 . 80 . {:#x} }}\n",
                4 | code,
                8 | code
            ),
            "{method:?}"
        );
        // Weight 0 takes the server's slot out: a new slot count, for NAT
        // the last slot dropped and the rule of chain vs0 replaced.
        let (gone, change) = reweighted(&before, 12, method, 0);
        let text = incremental(&before, &gone, &[change], "eth0").unwrap();
        match method {
            Method::Nat => assert_eq!(
                text,
                "delete element ip keepalived_rs vs0_slots { 1 }\n\
                 flush chain ip keepalived_rs vs0\n\
                 add rule ip keepalived_rs vs0 ip daddr 198.51.100.10 tcp dport 80 \
                 dnat ip addr . port to numgen inc mod 1 map @vs0_slots comment \"vs0\"\n\
                 delete element ip keepalived_rs vs0 { 203.0.113.12 . 80 . 0x5 }\n\
                 add element ip keepalived_rs vs0 { 203.0.113.12 . 80 . 0x1 }\n"
            ),
            _ => assert!(text.contains("vs0_slots")),
        }
        assert!(!render(&gone, "eth0").unwrap().contains(": 203.0.113.12"));
    }
}

#[test]
fn a_change_of_the_slot_count_needs_a_full_rewrite() {
    let mut before = TableState::default();
    let (k, s) = service(Method::Nat, &[(11, 1), (12, 1)], "wrr");
    before.services.insert(k, s);
    let mut after = before.clone();
    let change = Change::EditDest {
        service: k,
        dest: DestKey {
            ip: "203.0.113.12".parse().unwrap(),
            port: 80,
        },
        spec: Dest {
            method: Method::Nat,
            weight: 2,
        },
    };
    after.apply(std::slice::from_ref(&change)).unwrap();
    assert_eq!(incremental(&before, &after, &[change], "eth0"), None);
}

#[test]
fn tun_and_mixed_methods_are_refused_by_name() {
    let (k, s) = service(Method::Tun, &[(11, 1)], "rr");
    assert!(supports(&k, &s).unwrap_err().contains("TUN"));
    let (k, mut s) = service(Method::Nat, &[(11, 1)], "rr");
    s.dests.insert(
        DestKey {
            ip: "203.0.113.12".parse().unwrap(),
            port: 80,
        },
        Dest {
            method: Method::Dr,
            weight: 1,
        },
    );
    assert!(
        supports(&k, &s)
            .unwrap_err()
            .contains("different lvs_method")
    );
}

/// A NAT `rr` service over 203.0.113.`lasts` (weight 1, port 80).
fn rr_nat(lasts: &[u8]) -> (ServiceKey, TableState) {
    let weights: Vec<(u8, u32)> = lasts.iter().map(|&l| (l, 1)).collect();
    let (k, s) = service(Method::Nat, &weights, "rr");
    let mut t = TableState::default();
    t.services.insert(k, s);
    (k, t)
}

fn weight_of(service: ServiceKey, last: u8, weight: u32) -> Change {
    Change::EditDest {
        service,
        dest: DestKey {
            ip: format!("203.0.113.{last}").parse().unwrap(),
            port: 80,
        },
        spec: Dest {
            method: Method::Nat,
            weight,
        },
    }
}

/// The slot-map and chain lines of the text for `changes` from `before`
/// (the record lines left out), the memo carried over.
fn slot_lines(
    memo: &mut SlotMemo,
    before: &TableState,
    changes: &[Change],
) -> (Option<String>, TableState) {
    let mut after = before.clone();
    after.apply(changes).unwrap();
    let text = incremental_memo(memo, before, &after, changes, "eth0").map(|t| {
        t.lines()
            .filter(|l| !l.contains(" vs0 {"))
            .map(|l| format!("{l}\n"))
            .collect()
    });
    (text, after)
}

const RULE: &str = "add rule ip keepalived_rs vs0 ip daddr 198.51.100.10 tcp dport 80 dnat ip addr . port to numgen inc mod";

#[test]
fn a_round_robin_server_leaving_swaps_the_last_slot_into_its_place() {
    let (k, t) = rr_nat(&[11, 12, 13, 14]);
    let mut memo = SlotMemo::default();
    render_memo(&mut memo, &t, "eth0").unwrap();
    // 12 (slot 1) leaves: slot 1 takes 14, the last slot goes, mod 3.
    let (text, t) = slot_lines(&mut memo, &t, &[weight_of(k, 12, 0)]);
    assert_eq!(
        text.unwrap(),
        format!(
            "delete element ip keepalived_rs vs0_slots {{ 1, 3 }}\n\
             add element ip keepalived_rs vs0_slots {{ 1 : 203.0.113.14 . 80 }}\n\
             flush chain ip keepalived_rs vs0\n\
             {RULE} 3 map @vs0_slots comment \"vs0\"\n"
        )
    );
    // 13, now in the last slot, leaves: that slot alone goes.
    let (text, t) = slot_lines(&mut memo, &t, &[weight_of(k, 13, 0)]);
    assert_eq!(
        text.unwrap(),
        format!(
            "delete element ip keepalived_rs vs0_slots {{ 2 }}\n\
             flush chain ip keepalived_rs vs0\n\
             {RULE} 2 map @vs0_slots comment \"vs0\"\n"
        )
    );
    // 12 comes back: appended as slot 2.
    let (text, t) = slot_lines(&mut memo, &t, &[weight_of(k, 12, 1)]);
    assert_eq!(
        text.unwrap(),
        format!(
            "add element ip keepalived_rs vs0_slots {{ 2 : 203.0.113.12 . 80 }}\n\
             flush chain ip keepalived_rs vs0\n\
             {RULE} 3 map @vs0_slots comment \"vs0\"\n"
        )
    );
    // The memo holds the kernel's order (11, 14, 12), which a full
    // rewrite of the same content keeps.
    let text = render_memo(&mut memo, &t, "eth0").unwrap();
    assert!(
        text.contains(
            "elements = { 0 : 203.0.113.11 . 80, 1 : 203.0.113.14 . 80, 2 : 203.0.113.12 . 80 }"
        ),
        "{text}"
    );
    // A weight change under rr keeps every slot: the record alone.
    let (text, _) = slot_lines(&mut memo, &t, &[weight_of(k, 14, 5)]);
    assert_eq!(text.unwrap(), "");
}

#[test]
fn several_servers_leaving_and_joining_are_one_transaction() {
    let (k, mut t) = rr_nat(&[11, 12, 13, 14, 15]);
    t.apply(&[Change::AddDest {
        service: k,
        dest: DestKey {
            ip: "203.0.113.16".parse().unwrap(),
            port: 80,
        },
        spec: Dest {
            method: Method::Nat,
            weight: 0,
        },
    }])
    .unwrap();
    let mut memo = SlotMemo::default();
    render_memo(&mut memo, &t, "eth0").unwrap();
    // 11 and 15 leave, 16 joins: slot 0 takes 14, slot 4 goes, 16 in slot 3.
    let changes = [
        weight_of(k, 11, 0),
        weight_of(k, 15, 0),
        weight_of(k, 16, 1),
    ];
    let (text, _) = slot_lines(&mut memo, &t, &changes);
    assert_eq!(
        text.unwrap(),
        format!(
            "delete element ip keepalived_rs vs0_slots {{ 0, 3, 4 }}\n\
             add element ip keepalived_rs vs0_slots {{ 0 : 203.0.113.14 . 80, 3 : 203.0.113.16 . 80 }}\n\
             flush chain ip keepalived_rs vs0\n\
             {RULE} 4 map @vs0_slots comment \"vs0\"\n"
        )
    );
    let rule = memo.0[&k].rule.as_ref().unwrap();
    let order: Vec<SlotTarget> = rule
        .owners
        .iter()
        .map(|&o| rule.targets[o as usize])
        .collect();
    let last = |t: &SlotTarget| t.0.to_string();
    assert_eq!(
        order.iter().map(last).collect::<Vec<_>>(),
        [
            "203.0.113.14",
            "203.0.113.12",
            "203.0.113.13",
            "203.0.113.16"
        ]
    );
}

#[test]
fn the_only_server_leaving_or_the_first_coming_back_rewrites() {
    // No live server: no slot map, no chain (the service keeps its record
    // only), so both ways change the layout and go through a rewrite.
    let (k, t) = rr_nat(&[11]);
    let mut memo = SlotMemo::default();
    render_memo(&mut memo, &t, "eth0").unwrap();
    let (text, empty) = slot_lines(&mut memo, &t, &[weight_of(k, 11, 0)]);
    assert_eq!(text, None);
    let rendered = render_memo(&mut memo, &empty, "eth0").unwrap();
    assert!(
        !rendered.contains("vs0_slots") && !rendered.contains("jump"),
        "{rendered}"
    );
    let (text, _) = slot_lines(&mut memo, &empty, &[weight_of(k, 11, 1)]);
    assert_eq!(text, None);
    // wrr keeps rewriting on a new slot count.
    let (k, s) = service(Method::Nat, &[(11, 1), (12, 1), (13, 1)], "wrr");
    let mut t = TableState::default();
    t.services.insert(k, s);
    assert_eq!(
        incremental(
            &t.clone(),
            &{
                t.apply(&[weight_of(k, 12, 0)]).unwrap();
                t
            },
            &[weight_of(k, 12, 0)],
            "eth0"
        ),
        None
    );
}

#[test]
fn adoption_takes_the_kernel_order_and_treats_a_broken_map_as_absent() {
    let (k, t) = rr_nat(&[11, 12, 13]);
    let target = |last: u8| SlotTarget(format!("203.0.113.{last}").parse().unwrap(), Some(80));
    let observe = |slots: Slots, modulus: u64| {
        let mut memo = SlotMemo::default();
        let mut observed = ObservedState {
            table: t.clone(),
            ..Default::default()
        };
        let ks = KernelSlots {
            name: "vs0".into(),
            modulus: Some(modulus),
            slots,
        };
        adopt_slots(&mut memo, &mut observed, &[(k, ks)].into(), "eth0");
        (memo, observed.table)
    };
    let (mut memo, table) = observe(vec![(0, target(13)), (1, target(11)), (2, target(12))], 3);
    assert_eq!(table, t, "another order is no drift");
    // 13 (slot 0 in the kernel) leaves: slot 0 takes 12.
    let (text, _) = slot_lines(&mut memo, &t, &[weight_of(k, 13, 0)]);
    assert!(text.unwrap().starts_with(
        "delete element ip keepalived_rs vs0_slots { 0, 2 }\n\
             add element ip keepalived_rs vs0_slots { 0 : 203.0.113.12 . 80 }\n"
    ));
    for (slots, modulus) in [
        (vec![(0, target(13)), (1, target(11)), (3, target(12))], 3),
        (vec![(0, target(13)), (1, target(11)), (2, target(11))], 3),
        (vec![(0, target(13)), (1, target(11)), (2, target(12))], 4),
    ] {
        let (memo, table) = observe(slots, modulus);
        assert!(table.services.is_empty() && memo.0.is_empty());
    }
}

/// The slot map the kernel holds after `text` (its `vs0_slots` lines).
fn play(map: &mut BTreeMap<u64, String>, text: &str) {
    for line in text.lines() {
        let body = |l: &str| l[l.find('{').unwrap() + 2..l.rfind('}').unwrap() - 1].to_owned();
        if line.starts_with("delete element ip keepalived_rs vs0_slots") {
            for n in body(line).split(", ") {
                assert!(map.remove(&n.parse().unwrap()).is_some(), "{line}");
            }
        } else if line.starts_with("add element ip keepalived_rs vs0_slots") {
            for e in body(line).split(", ") {
                let (n, t) = e.split_once(" : ").unwrap();
                assert!(
                    map.insert(n.parse().unwrap(), t.to_owned()).is_none(),
                    "{line}"
                );
            }
        }
    }
}

proptest! {
    /// NAT rr changed a few servers at a time: the kernel map, replayed
    /// from the texts, is one slot per live server numbered 0..N under
    /// `mod N`, equal to the memo's order; a process that adopts it
    /// (restart, resync) sends the same next text as the one that wrote it.
    #[test]
    fn round_robin_slots_stay_one_per_live_server_across_swaps(
        initial in proptest::collection::btree_map(1u8..40, 0u32..3, 1..20),
        steps in proptest::collection::vec(
            proptest::collection::btree_map(1u8..40, proptest::option::of(0u32..3), 1..4), 1..10),
    ) {
        let key = ServiceKey::Addr {
            proto: Proto::Tcp,
            ip: "198.51.100.10".parse().unwrap(),
            port: 80,
        };
        let dest = |last: u8| DestKey { ip: format!("203.0.113.{last}").parse().unwrap(), port: 80 };
        let spec = |weight| Dest { method: Method::Nat, weight };
        let mut before = TableState::default();
        before.services.insert(key, Service {
            spec: ServiceSpec { scheduler: "rr".into(), persistence: None, ops: false },
            dests: initial.iter().map(|(&d, &w)| (dest(d), spec(w))).collect(),
        });
        let mut memo = SlotMemo::default();
        let kernel_of = |memo: &SlotMemo| -> BTreeMap<u64, String> {
            memo.0.get(&key).and_then(|e| e.rule.as_ref()).map(|r| {
                r.owners.iter().enumerate().map(|(n, &o)| {
                    let mut s = String::new();
                    r.targets[o as usize].push_to(&mut s);
                    (n as u64, s)
                }).collect()
            }).unwrap_or_default()
        };
        render_memo(&mut memo, &before, "eth0").unwrap();
        let mut kernel = kernel_of(&memo);
        for step in steps {
            let changes: Vec<Change> = step.iter().filter_map(|(&d, &w)| {
                let held = before.services[&key].dests.contains_key(&dest(d));
                match (w, held) {
                    (Some(w), true) => Some(Change::EditDest { service: key, dest: dest(d), spec: spec(w) }),
                    (Some(w), false) => Some(Change::AddDest { service: key, dest: dest(d), spec: spec(w) }),
                    (None, true) => Some(Change::DelDest { service: key, dest: dest(d) }),
                    (None, false) => None,
                }
            }).collect();
            if changes.is_empty() {
                continue;
            }
            let mut after = before.clone();
            after.apply(&changes).unwrap();
            // What a process that adopted the kernel's table would send.
            let mut adopted = SlotMemo::default();
            let mut observed = ObservedState { table: before.clone(), ..Default::default() };
            let slots: BTreeMap<ServiceKey, KernelSlots> = if kernel.is_empty() {
                BTreeMap::new()
            } else {
                let r = memo.0[&key].rule.as_ref().unwrap();
                [(key, KernelSlots {
                    name: "vs0".into(),
                    modulus: Some(kernel.len() as u64),
                    slots: r.owners.iter().enumerate().map(|(n, &o)| (n as u64, r.targets[o as usize])).collect(),
                })].into()
            };
            adopt_slots(&mut adopted, &mut observed, &slots, "eth0");
            prop_assert_eq!(&observed.table, &before, "adoption found no drift");
            let fresh = incremental_memo(&mut adopted, &before, &after, &changes, "eth0");
            match incremental_memo(&mut memo, &before, &after, &changes, "eth0") {
                Some(text) => {
                    prop_assert_eq!(Some(&text), fresh.as_ref());
                    play(&mut kernel, &text);
                    let live = after.services[&key].dests.values().filter(|d| d.weight > 0).count();
                    if let Some(m) = text.lines().find_map(|l| l.strip_prefix(RULE)) {
                        let m: usize = m.split(' ').nth(1).unwrap().parse().unwrap();
                        prop_assert_eq!(m, live);
                    }
                    prop_assert_eq!(kernel.keys().copied().collect::<Vec<_>>(), (0..live as u64).collect::<Vec<_>>());
                    let distinct: BTreeSet<&String> = kernel.values().collect();
                    prop_assert_eq!(distinct.len(), live);
                    prop_assert_eq!(&kernel, &kernel_of(&memo), "the memo is the kernel's order");
                }
                None => {
                    prop_assert_eq!(fresh, None);
                    render_memo(&mut memo, &after, "eth0").unwrap();
                }
            }
            // After a rewrite the kernel holds what the render wrote.
            kernel = kernel_of(&memo);
            before = after;
        }
    }
}

proptest! {
    /// A DR service changed one destination at a time: the memo (its
    /// kept permutations, its integer slot comparison) gives the text a
    /// fresh computation gives, and the slots it moves are exactly those
    /// whose address changed. Two servers may share an address (ports
    /// 80 and 81), so equal targets can have different indices.
    #[test]
    fn kept_permutations_and_moved_slots_match_a_fresh_computation(
        initial in proptest::collection::btree_map((1u8..60, 80u16..82), 0u32..4, 1..40),
        steps in proptest::collection::vec(((1u8..60, 80u16..82), proptest::option::of(0u32..4)), 1..8),
        sched in prop_oneof![Just("rr"), Just("wrr")],
    ) {
        let key = ServiceKey::Addr {
            proto: Proto::Tcp,
            ip: "198.51.100.10".parse().unwrap(),
            port: 80,
        };
        let dest = |(last, port): (u8, u16)| DestKey {
            ip: format!("203.0.113.{last}").parse().unwrap(),
            port,
        };
        let spec = |weight| Dest { method: Method::Dr, weight };
        let mut before = TableState::default();
        before.services.insert(key, Service {
            spec: ServiceSpec { scheduler: sched.into(), persistence: None, ops: false },
            dests: initial.iter().map(|(&d, &w)| (dest(d), spec(w))).collect(),
        });
        let mut memo = SlotMemo::default();
        render_memo(&mut memo, &before, "eth0").unwrap();
        for (d, weight) in steps {
            let (d, held) = (dest(d), before.services[&key].dests.contains_key(&dest(d)));
            let change = match (weight, held) {
                (Some(w), true) => Change::EditDest { service: key, dest: d, spec: spec(w) },
                (Some(w), false) => Change::AddDest { service: key, dest: d, spec: spec(w) },
                (None, true) => Change::DelDest { service: key, dest: d },
                (None, false) => continue,
            };
            let mut after = before.clone();
            after.apply(std::slice::from_ref(&change)).unwrap();
            let changes = [change];
            let text = incremental_memo(&mut memo, &before, &after, &changes, "eth0");
            prop_assert_eq!(&text, &incremental(&before, &after, &changes, "eth0"));
            prop_assert_eq!(
                render_memo(&mut memo, &after, "eth0").unwrap(),
                render(&after, "eth0").unwrap()
            );
            let fresh = |t: &TableState| {
                slot_rule(0, &key, &t.services[&key], "eth0", None).unwrap()
            };
            if let (Some(a), Some(b)) = (fresh(&before), fresh(&after))
                && a.owners.len() == b.owners.len()
            {
                let naive: Vec<usize> = (0..a.owners.len())
                    .filter(|&n| {
                        a.targets[a.owners[n] as usize] != b.targets[b.owners[n] as usize]
                    })
                    .collect();
                prop_assert_eq!(moved_slots(&a, &b), naive);
            }
            before = after;
        }
    }
}

/// An IPv6 service over 2001:db8:2::`lasts` (weight 1, port 80).
fn v6(method: Method, lasts: &[u16], sched: &str) -> (ServiceKey, Service) {
    let key = ServiceKey::Addr {
        proto: Proto::Tcp,
        ip: "2001:db8:1::10".parse().unwrap(),
        port: 80,
    };
    let dests = lasts
        .iter()
        .map(|l| {
            (
                DestKey {
                    ip: format!("2001:db8:2::{l:x}").parse().unwrap(),
                    port: 80,
                },
                Dest { method, weight: 1 },
            )
        })
        .collect();
    let spec = ServiceSpec {
        scheduler: sched.into(),
        persistence: None,
        ops: false,
    };
    (key, Service { spec, dests })
}

#[test]
fn ipv6_services_keep_their_records_with_the_others_and_nat_in_the_ip6_table() {
    let mut t = TableState::default();
    let (k4, s4) = service(Method::Nat, &[(11, 1)], "rr");
    t.services.insert(k4, s4);
    let (k6, s6) = v6(Method::Nat, &[0x11, 0x12], "rr");
    t.services.insert(k6, s6);
    let text = render(&t, "eth0").unwrap();
    // The records: one table, typed by family.
    assert!(
        text.contains("type ipv4_addr . inet_service . mark"),
        "{text}"
    );
    assert!(
        text.contains("type ipv6_addr . inet_service . mark"),
        "{text}"
    );
    let nat6 = &text[text
        .find("table ip6 keepalived_rs6 {\n")
        .expect("the ip6 table")..];
    assert!(
        nat6.contains("typeof numgen inc mod 1 : ip6 daddr . tcp dport"),
        "{nat6}"
    );
    assert!(
        nat6.contains(
            "ip6 daddr 2001:db8:1::10 tcp dport 80 dnat ip6 addr . port to numgen inc mod 2 map @vs1_slots"
        ),
        "{nat6}"
    );
    assert!(nat6.contains("ip6 daddr 2001:db8:1::10 tcp dport 80 counter jump vs1"));
    // The IPv4 service stays in the ip table's chains.
    let nat4 = &text[..text.find("table ip6 keepalived_rs6 {\n").unwrap()];
    assert!(nat4.contains("ip daddr 198.51.100.10 tcp dport 80 dnat ip addr . port"));

    // A server leaving the IPv6 service edits the ip6 table's map and chain.
    let mut memo = SlotMemo::default();
    render_memo(&mut memo, &t, "eth0").unwrap();
    let gone = Change::EditDest {
        service: k6,
        dest: DestKey {
            ip: "2001:db8:2::12".parse().unwrap(),
            port: 80,
        },
        spec: Dest {
            method: Method::Nat,
            weight: 0,
        },
    };
    let mut after = t.clone();
    after.apply(std::slice::from_ref(&gone)).unwrap();
    let edit = incremental_memo(&mut memo, &t, &after, &[gone], "eth0").unwrap();
    assert!(
        edit.contains("delete element ip6 keepalived_rs6 vs1_slots { 1 }"),
        "{edit}"
    );
    assert!(
        edit.contains("flush chain ip6 keepalived_rs6 vs1"),
        "{edit}"
    );
    assert!(
        edit.contains("ip keepalived_rs vs1 { 2001:db8:2::12 . 80 . 0x1 }"),
        "{edit}"
    );
}

#[test]
fn ipv6_dr_forwards_with_fwd_ip6_and_mixed_families_are_refused() {
    let mut t = TableState::default();
    let (k, s) = v6(Method::Dr, &[0x21, 0x22], "wrr");
    t.services.insert(k, s.clone());
    let text = render(&t, "eth0").unwrap();
    assert!(
        text.contains("meta pkttype host ip6 daddr 2001:db8:1::10 tcp dport 80 counter fwd ip6 to jhash ip6 saddr . tcp sport mod"),
        "{text}"
    );
    assert!(
        text.contains("typeof numgen inc mod 1 : ip6 daddr\n"),
        "{text}"
    );
    // No IPv6 NAT: the ip6 table is only deleted.
    assert!(!text.contains("table ip6 keepalived_rs6 {\n"), "{text}");
    let mut mixed = s;
    mixed.dests.insert(
        DestKey {
            ip: "203.0.113.11".parse().unwrap(),
            port: 80,
        },
        Dest {
            method: Method::Dr,
            weight: 1,
        },
    );
    assert!(
        supports(&k, &mixed)
            .unwrap_err()
            .contains("other address family")
    );
}
