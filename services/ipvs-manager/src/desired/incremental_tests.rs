use std::net::{IpAddr, Ipv4Addr};

use proptest::prelude::*;

use super::*;
use crate::spec::RsSpec;
use crate::table::{Method, Proto, ServiceSpec};

fn rs(last: u8, weight: u32, flags: u8) -> RsSpec {
    RsSpec {
        key: DestKey {
            ip: IpAddr::V4(Ipv4Addr::new(203, 0, 113, last)),
            port: 80,
        },
        weight,
        method: Method::Nat,
        inhibit: flags & 1 != 0,
        checked: true,
        alpha: flags & 2 != 0,
    }
}

/// Virtual servers of random real servers, quorum (at least 1: quorum 0
/// with no alive weight flips at every computation), hysteresis and
/// sorry server; the last two share a service, as a misconfiguration may.
fn arb_plan() -> impl Strategy<Value = Spec> {
    let vs = (
        proptest::collection::btree_map(1u8..12, (0u32..4, 0u8..4), 0..6),
        1u32..5,
        0u32..2,
        // The sorry server: its own address, or one of a real server.
        proptest::option::of((0u8..4, prop_oneof![Just(99u8), 1u8..12])),
    );
    proptest::collection::vec(vs, 1..5).prop_map(|list| {
        let n = list.len();
        Spec {
            virtual_servers: list
                .into_iter()
                .enumerate()
                .map(|(i, (rss, quorum, hysteresis, sorry))| {
                    let port = if i + 1 == n && n > 1 {
                        80
                    } else {
                        80 + i as u16
                    };
                    let ip = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 10));
                    VsSpec {
                        name: VsName::Addr {
                            proto: Proto::Tcp,
                            ip,
                            port: 80 + i as u16,
                        },
                        services: vec![ServiceKey::Addr {
                            proto: Proto::Tcp,
                            ip,
                            port,
                        }],
                        spec: ServiceSpec {
                            scheduler: "rr".into(),
                            persistence: None,
                            ops: false,
                        },
                        method: Method::Nat,
                        real_servers: rss
                            .into_iter()
                            .map(|(last, (w, flags))| rs(last, w, flags))
                            .collect(),
                        sorry: sorry.map(|(f, last)| rs(last, 1, f)),
                        quorum,
                        hysteresis,
                        omega: false,
                    }
                })
                .collect(),
        }
    })
}

/// One prober's verdicts (real server 203.0.113.N:80, up, dynamic weight).
fn book_of(verdicts: &[(u8, bool, Option<u32>)]) -> VerdictBook {
    use keepalived_api::v1;
    let targets = verdicts
        .iter()
        .enumerate()
        .map(|(i, &(last, up, dynamic_weight))| v1::Target {
            id: format!("t{i}"),
            checker: "TCP_CHECK".into(),
            real_server: Some(v1::AddressPort {
                address: format!("203.0.113.{last}"),
                port: 80,
            }),
            verdict: if up {
                v1::Verdict::Up
            } else {
                v1::Verdict::Down
            } as i32,
            dynamic_weight,
            ..Default::default()
        })
        .collect();
    super::tests::book_with(targets)
}

/// A prober's changed verdict on target `t{id}`, now on 203.0.113.N:80,
/// for virtual server 198.51.100.10:`vs_port` (for every one: `None`).
fn verdict_change(
    id: usize,
    last: u8,
    vs_port: Option<u16>,
    up: bool,
    removed: bool,
) -> keepalived_bus::UpstreamUpdate<keepalived_api::v1::HealthEvent> {
    use keepalived_api::v1;
    let virtual_servers = vs_port
        .map(|port| v1::VirtualServerKey {
            kind: Some(v1::virtual_server_key::Kind::AddressPort(v1::AddressPort {
                address: "198.51.100.10".into(),
                port: u32::from(port),
            })),
            protocol: v1::Protocol::Tcp as i32,
        })
        .into_iter()
        .collect();
    keepalived_bus::UpstreamUpdate {
        upstream: "unix:prober".into(),
        update: keepalived_bus::Update::Delta(v1::HealthEvent {
            payload: Some(v1::health_event::Payload::TargetChanged(v1::TargetChange {
                target: Some(v1::Target {
                    id: format!("t{id}"),
                    checker: "TCP_CHECK".into(),
                    real_server: Some(v1::AddressPort {
                        address: format!("203.0.113.{last}"),
                        port: 80,
                    }),
                    verdict: if up {
                        v1::Verdict::Up
                    } else {
                        v1::Verdict::Down
                    } as i32,
                    virtual_servers,
                    ..Default::default()
                }),
                removed,
                ..Default::default()
            })),
            ..Default::default()
        }),
    }
}

proptest! {
    /// What the engine does for a verdict: only the virtual servers
    /// holding a real server whose verdicts changed are computed again.
    #[test]
    fn updating_the_virtual_servers_of_changed_verdicts_gives_a_full_computation(
        plan in arb_plan(),
        verdicts in proptest::collection::vec(
            (1u8..12, any::<bool>(), proptest::option::of(1u32..3)),
            0..8,
        ),
        changes in proptest::collection::vec(
            (0usize..10, 1u8..12, proptest::option::of(80u16..86), any::<bool>(), any::<bool>()),
            1..5,
        ),
    ) {
        let mut book = book_of(&verdicts);
        let mut quorum = HashMap::new();
        let mut desired = compute(&plan, &book, Policy::Majority, &Overrides::default(), &mut quorum);
        for (id, last, vs_port, up, removed) in changes {
            book.update(&verdict_change(id, last, vs_port, up, removed));
        }
        let changed = book.changed_since(desired.book_generation).expect("deltas only");
        for (index, vs) in plan.virtual_servers.iter().enumerate() {
            if changed.iter().any(|(rs, name)| {
                name.as_ref().is_none_or(|n| *n == vs.name)
                    && vs.real_servers.iter().any(|r| r.key == *rs)
            }) {
                update_vs(&mut desired, &plan, index, &book, Policy::Majority, &Overrides::default(), &mut quorum);
            }
        }
        desired.book_generation = book.generation();
        let mut full_quorum = HashMap::new();
        compute(&plan, &book_of(&verdicts), Policy::Majority, &Overrides::default(), &mut full_quorum);
        let full = compute(&plan, &book, Policy::Majority, &Overrides::default(), &mut full_quorum);
        prop_assert_eq!(&desired, &full);
        prop_assert_eq!(&quorum, &full_quorum);
    }

    #[test]
    fn updating_one_virtual_server_gives_what_a_full_computation_gives(
        plan in arb_plan(),
        vs_pick in 0usize..8,
        rs_pick in 0usize..8,
        weight in proptest::option::of(0u32..4),
        drained in any::<bool>(),
        previous in proptest::option::of(any::<bool>()),
        verdicts in proptest::collection::vec(
            (1u8..12, any::<bool>(), proptest::option::of(1u32..3)),
            0..8,
        ),
    ) {
        let index = vs_pick % plan.virtual_servers.len();
        let vs = &plan.virtual_servers[index];
        prop_assume!(!vs.real_servers.is_empty());
        let key = vs.real_servers[rs_pick % vs.real_servers.len()].key;
        let book = book_of(&verdicts);
        let mut quorum = HashMap::new();
        if let Some(p) = previous {
            quorum.insert(vs.name.clone(), p);
        }
        let mut desired = compute(&plan, &book, Policy::Majority, &Overrides::default(), &mut quorum);
        let mut overrides = Overrides::default();
        overrides.insert((vs.name.clone(), key), Override { weight, drained });

        let mut full_quorum = quorum.clone();
        let full = compute(&plan, &book, Policy::Majority, &overrides, &mut full_quorum);
        let before = desired.clone();
        let replaced = update_vs(&mut desired, &plan, index, &book, Policy::Majority, &overrides, &mut quorum);
        let touched = replaced.touched.clone();
        prop_assert_eq!(&desired, &full);
        let mut restored = desired.clone();
        replaced.restore(&mut restored);
        prop_assert_eq!(&restored, &before);
        prop_assert_eq!(&quorum, &full_quorum);
        for k in &vs.services {
            prop_assert!(touched.contains(k) || plan.virtual_servers[index + 1..].iter().any(|v| v.services.contains(k)));
        }
    }
}

/// Losing the quorum takes out every real server (more than
/// `MAX_EDITS` changes): the services are built anew, and match.
#[test]
fn a_quorum_lost_in_a_large_virtual_server_rebuilds_its_services() {
    let ip = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 10));
    let vs = VsSpec {
        name: VsName::Addr {
            proto: Proto::Tcp,
            ip,
            port: 80,
        },
        services: vec![ServiceKey::Addr {
            proto: Proto::Tcp,
            ip,
            port: 80,
        }],
        spec: ServiceSpec {
            scheduler: "rr".into(),
            persistence: None,
            ops: false,
        },
        method: Method::Nat,
        real_servers: (1..=100).map(|last| rs(last, 1, 0)).collect(),
        sorry: Some(rs(200, 1, 0)),
        quorum: 100,
        hysteresis: 0,
        omega: false,
    };
    let plan = Spec {
        virtual_servers: vec![vs],
    };
    let book = VerdictBook::default();
    let mut quorum = HashMap::new();
    let mut desired = compute(
        &plan,
        &book,
        Policy::Majority,
        &Overrides::default(),
        &mut quorum,
    );
    let mut overrides = Overrides::default();
    let name = plan.virtual_servers[0].name.clone();
    overrides.insert(
        (name, plan.virtual_servers[0].real_servers[0].key),
        Override {
            weight: Some(0),
            drained: false,
        },
    );
    let before = desired.clone();
    let replaced = update_vs(
        &mut desired,
        &plan,
        0,
        &book,
        Policy::Majority,
        &overrides,
        &mut quorum,
    );
    assert!(replaced.dests.is_none(), "rebuilt");
    let mut full_quorum = HashMap::new();
    compute(
        &plan,
        &book,
        Policy::Majority,
        &Overrides::default(),
        &mut full_quorum,
    );
    let full = compute(&plan, &book, Policy::Majority, &overrides, &mut full_quorum);
    assert_eq!(desired, full);
    assert_eq!(
        desired.table.services.values().next().unwrap().dests.len(),
        1,
        "the sorry server alone"
    );
    replaced.restore(&mut desired);
    assert_eq!(desired, before);
}
