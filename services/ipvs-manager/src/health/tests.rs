use proptest::prelude::*;

use super::*;

impl VerdictBook {
    /// The counted verdicts, under the default policy.
    fn sources(&self, vs: &VsName, rs: DestKey) -> Vec<Source> {
        self.verdicts(vs, rs, Policy::Majority).sources
    }
}

#[test]
fn majority_needs_more_than_half_of_the_answering_probers() {
    assert_eq!(combine(Policy::Majority, [false, true]), Some(true));
    assert_eq!(combine(Policy::Majority, [false, false, true]), Some(false));
    assert_eq!(combine(Policy::Majority, [false]), Some(false));
    assert_eq!(combine(Policy::Majority, []), None);
}

#[test]
fn any_down_and_all_down_are_the_extremes() {
    assert_eq!(combine(Policy::AnyDown, [true, false, true]), Some(false));
    assert_eq!(combine(Policy::AllDown, [true, false, false]), Some(true));
    assert_eq!(combine(Policy::AllDown, [false, false]), Some(false));
}

fn target(id: &str, up: bool) -> v1::Target {
    v1::Target {
        id: id.into(),
        checker: "HTTP_CHECK".into(),
        real_server: Some(v1::AddressPort {
            address: "203.0.113.11".into(),
            port: 80,
        }),
        virtual_servers: vec![v1::VirtualServerKey {
            kind: Some(v1::virtual_server_key::Kind::AddressPort(v1::AddressPort {
                address: "198.51.100.10".into(),
                port: 80,
            })),
            protocol: v1::Protocol::Tcp as i32,
        }],
        verdict: if up {
            v1::Verdict::Up
        } else {
            v1::Verdict::Down
        } as i32,
        ..Default::default()
    }
}

fn snapshot(upstream: &str, targets: Vec<v1::Target>) -> UpstreamUpdate<v1::HealthEvent> {
    UpstreamUpdate {
        upstream: upstream.into(),
        update: Update::Snapshot(v1::HealthEvent {
            header: Some(v1::EventHeader {
                producer: format!("health-prober@{upstream}"),
                ..Default::default()
            }),
            payload: Some(v1::health_event::Payload::Snapshot(v1::HealthSnapshot {
                targets,
            })),
        }),
    }
}

#[test]
fn a_disconnected_prober_keeps_its_verdicts_as_stale() {
    let vs = VsName::Addr {
        proto: Proto::Tcp,
        ip: "198.51.100.10".parse().unwrap(),
        port: 80,
    };
    let rs = DestKey {
        ip: "203.0.113.11".parse().unwrap(),
        port: 80,
    };
    let mut book = VerdictBook::default();
    book.update(&snapshot(
        "a",
        vec![target("HTTP_GET:203.0.113.11:80", true)],
    ));
    book.update(&snapshot(
        "b",
        vec![
            target("HTTP_GET:203.0.113.11:80", true),
            target("TCP_CHECK:203.0.113.11:80", false),
        ],
    ));
    let verdicts = book.verdicts(&vs, rs, Policy::Majority);
    // HTTP_GET: a and b say up; TCP_CHECK: only b checks it, and says down.
    assert_eq!(verdicts.up, Some(false), "one failing checker is enough");
    let sources = &verdicts.sources;
    assert_eq!(sources.len(), 3);
    assert!(!sources[0].up && &*sources[0].target == "TCP_CHECK:203.0.113.11:80");
    assert!(sources[1].up && sources[2].up);
    book.update(&UpstreamUpdate {
        upstream: "a".into(),
        update: Update::Disconnected {
            error: "gone".into(),
        },
    });
    // a's HTTP_GET verdict keeps counting as it was, stale.
    let sources = book.sources(&vs, rs);
    assert_eq!(sources.len(), 3, "{sources:?}");
    assert!(
        sources
            .iter()
            .any(|s| s.stale && s.up && &*s.prober == "health-prober@a")
    );
    assert_eq!(book.counts(), (2, 1));
    let other = VsName::Addr {
        proto: Proto::Tcp,
        ip: "198.51.100.10".parse().unwrap(),
        port: 443,
    };
    assert!(book.sources(&other, rs).is_empty());
}

fn delta(upstream: &str, t: v1::Target, removed: bool) -> UpstreamUpdate<v1::HealthEvent> {
    UpstreamUpdate {
        upstream: upstream.into(),
        update: Update::Delta(v1::HealthEvent {
            payload: Some(v1::health_event::Payload::TargetChanged(v1::TargetChange {
                target: Some(t),
                removed,
                ..Default::default()
            })),
            ..Default::default()
        }),
    }
}

#[test]
fn a_weight_only_change_reaches_the_sources_and_marks_its_real_server() {
    let vs = VsName::Addr {
        proto: Proto::Tcp,
        ip: "198.51.100.10".parse().unwrap(),
        port: 80,
    };
    let rs = DestKey {
        ip: "203.0.113.11".parse().unwrap(),
        port: 80,
    };
    let with_weight = |w| v1::Target {
        dynamic_weight: Some(w),
        ..target("MISC_CHECK:203.0.113.11:80", true)
    };
    let mut book = VerdictBook::default();
    book.update(&snapshot("a", vec![with_weight(3)]));
    assert_eq!(book.sources(&vs, rs)[0].dynamic_weight, Some(3));
    let before = book.generation();
    // The prober's misc_dynamic weight moved while the verdict held (from == to).
    book.update(&delta("a", with_weight(5), false));
    let source = &book.sources(&vs, rs)[0];
    assert!(source.up);
    assert_eq!(source.dynamic_weight, Some(5));
    let changed = book.changed_since(before).expect("an incremental change");
    assert!(changed.iter().any(|(r, _)| *r == rs), "{changed:?}");
}

fn transition(t: v1::Target, from: v1::Verdict, body: &str) -> UpstreamUpdate<v1::HealthEvent> {
    let to = t.verdict;
    UpstreamUpdate {
        upstream: "a".into(),
        update: Update::Delta(v1::HealthEvent {
            payload: Some(v1::health_event::Payload::TargetChanged(v1::TargetChange {
                target: Some(t),
                from: from as i32,
                to,
                mail_body: body.into(),
                ..Default::default()
            })),
            ..Default::default()
        }),
    }
}

#[test]
fn the_mail_body_of_the_deciding_transition_reaches_the_source() {
    let vs = VsName::Addr {
        proto: Proto::Tcp,
        ip: "198.51.100.10".parse().unwrap(),
        port: 80,
    };
    let rs = DestKey {
        ip: "203.0.113.11".parse().unwrap(),
        port: 80,
    };
    let tcp = |up| v1::Target {
        checker: "TCP_CHECK".into(),
        ..target("TCP_CHECK:203.0.113.11:80", up)
    };
    let http = |up| target("HTTP_GET:203.0.113.11:80", up);
    let mut book = VerdictBook::default();
    book.update(&snapshot("a", vec![http(true), tcp(true)]));
    assert_eq!(
        book.sources(&vs, rs)[0].mail_body,
        None,
        "a snapshot has no words"
    );
    book.update(&transition(
        tcp(false),
        v1::Verdict::Up,
        "=> TCP CHECK failed on service <=",
    ));
    let source = &book.sources(&vs, rs)[0];
    assert!(!source.up);
    assert_eq!(&*source.checker, "TCP_CHECK");
    assert_eq!(
        source.mail_body.as_deref(),
        Some("=> TCP CHECK failed on service <=")
    );
    book.update(&transition(
        tcp(true),
        v1::Verdict::Down,
        "=> TCP CHECK succeed on service <=",
    ));
    // Both up: the transition heard last (TCP_CHECK's) decided, not the first by id.
    let source = &book.sources(&vs, rs)[0];
    assert_eq!(&*source.checker, "TCP_CHECK");
    assert_eq!(
        source.mail_body.as_deref(),
        Some("=> TCP CHECK succeed on service <=")
    );
    // A weight moving while the verdict holds keeps the body.
    book.update(&transition(tcp(true), v1::Verdict::Up, ""));
    let source = &book.sources(&vs, rs)[0];
    assert_eq!(
        source.mail_body.as_deref(),
        Some("=> TCP CHECK succeed on service <=")
    );
    // FILE_CHECK's transitions have an empty body: no mail, which is known.
    book.update(&transition(tcp(false), v1::Verdict::Up, ""));
    assert_eq!(book.sources(&vs, rs)[0].mail_body.as_deref(), Some(""));
}

#[test]
fn deltas_that_move_replace_or_remove_a_target_keep_the_index_right() {
    let vs = VsName::Addr {
        proto: Proto::Tcp,
        ip: "198.51.100.10".parse().unwrap(),
        port: 80,
    };
    let at = |last: u8| DestKey {
        ip: format!("203.0.113.{last}").parse().unwrap(),
        port: 80,
    };
    let moved_to = |mut t: v1::Target, last: u8| {
        t.real_server = Some(v1::AddressPort {
            address: format!("203.0.113.{last}"),
            port: 80,
        });
        t
    };
    let verdicts = |book: &VerdictBook, last| {
        book.verdicts(&vs, at(last), Policy::Majority)
            .up
            .into_iter()
            .collect::<Vec<_>>()
    };
    let mut book = VerdictBook::default();
    book.update(&snapshot("a", vec![target("t1", true), target("t2", true)]));
    assert_eq!(verdicts(&book, 11), [true]);
    // The same id now checks .12: it leaves .11's verdicts, t2 stays.
    book.update(&delta("a", moved_to(target("t1", false), 12), false));
    assert_eq!(verdicts(&book, 12), [false]);
    assert_eq!(verdicts(&book, 11), [true]);
    // Replaced in place (same server), then removed.
    book.update(&delta("a", target("t2", false), false));
    assert_eq!(verdicts(&book, 11), [false]);
    book.update(&delta("a", target("t2", false), true));
    assert!(verdicts(&book, 11).is_empty());
    // A new snapshot replaces everything.
    book.update(&snapshot("a", vec![target("t3", true)]));
    assert!(verdicts(&book, 12).is_empty());
    assert_eq!(verdicts(&book, 11), [true]);
}

#[test]
fn a_parsed_key_names_exactly_what_key_matches_accepts() {
    use v1::virtual_server_key::Kind;
    let key = |kind, protocol: v1::Protocol| v1::VirtualServerKey {
        kind: Some(kind),
        protocol: protocol as i32,
    };
    let ap = |address: &str, port| {
        Kind::AddressPort(v1::AddressPort {
            address: address.into(),
            port,
        })
    };
    let keys = [
        key(ap("198.51.100.10", 80), v1::Protocol::Tcp),
        key(ap("198.51.100.10", 80), v1::Protocol::Unspecified),
        key(ap("198.51.100.10", 80), v1::Protocol::Udp),
        key(ap("198.51.100.10", 70_000), v1::Protocol::Tcp),
        key(ap("not an address", 80), v1::Protocol::Tcp),
        key(Kind::Fwmark(5), v1::Protocol::Udp),
        key(Kind::Group("web".into()), v1::Protocol::Tcp),
        v1::VirtualServerKey::default(),
    ];
    let names = [
        VsName::Addr {
            proto: Proto::Tcp,
            ip: "198.51.100.10".parse().unwrap(),
            port: 80,
        },
        VsName::Addr {
            proto: Proto::Udp,
            ip: "198.51.100.10".parse().unwrap(),
            port: 80,
        },
        VsName::Fwmark { mark: 5 },
        VsName::Group {
            proto: Proto::Tcp,
            name: "web".into(),
        },
    ];
    for k in &keys {
        for n in &names {
            assert_eq!(
                vs_name_of(k).as_ref() == Some(n),
                key_matches(k, n),
                "{k:?} {n:?}"
            );
        }
    }
}

/// The verdicts of `targets` (one prober) on `rs` of `vs` as first
/// written: every target looked at, names compared by `key_matches`.
/// Each target comes with the step it was last heard at: a down target
/// decides over up ones, and among equals the one heard last (the first
/// in id order on a tie). The dynamic weight is the smallest reported.
fn reference(
    targets: &BTreeMap<String, (v1::Target, usize)>,
    vs: &VsName,
    rs: DestKey,
) -> Option<(bool, String, Option<u32>)> {
    let mut best: Option<(&v1::Target, usize, bool)> = None;
    let mut dynamic_weight: Option<u32> = None;
    for (t, heard) in targets.values() {
        let Some(addr) = &t.real_server else { continue };
        if addr.address.parse::<std::net::IpAddr>().ok() != Some(rs.ip)
            || addr.port != u32::from(rs.port)
        {
            continue;
        }
        if !t.virtual_servers.is_empty() && !t.virtual_servers.iter().any(|k| key_matches(k, vs)) {
            continue;
        }
        let down = match v1::Verdict::try_from(t.verdict).unwrap_or(v1::Verdict::Unspecified) {
            v1::Verdict::Down => true,
            v1::Verdict::Up => {
                if let Some(w) = t.dynamic_weight {
                    dynamic_weight = Some(dynamic_weight.map_or(w, |d| d.min(w)));
                }
                false
            }
            v1::Verdict::Unspecified => continue,
        };
        let better = match best {
            None => true,
            Some((_, h, d)) => (down && !d) || (down == d && *heard > h),
        };
        if better {
            best = Some((t, *heard, down));
        }
    }
    let (t, _, down) = best?;
    Some((
        !down,
        t.checker.clone(),
        if down { None } else { dynamic_weight },
    ))
}

fn vs_key(port: u32) -> v1::VirtualServerKey {
    v1::VirtualServerKey {
        kind: Some(v1::virtual_server_key::Kind::AddressPort(v1::AddressPort {
            address: "198.51.100.10".into(),
            port,
        })),
        protocol: v1::Protocol::Tcp as i32,
    }
}

proptest! {
    /// Snapshots and deltas (moving a target to another server or other
    /// virtual servers, removing it): the index answers what looking at
    /// every target answers.
    #[test]
    fn the_index_answers_what_a_walk_over_every_target_answers(
        steps in proptest::collection::vec(
            (
                0u8..6,                                        // id
                11u8..14,                                      // real server
                proptest::collection::vec(79u32..82, 0..3),    // its virtual servers (port 79: none of ours)
                0i32..3,                                       // verdict
                proptest::option::of(1u32..3),                 // dynamic weight
                0u8..8,                                        // 0: removed, 1: a new snapshot
            ),
            1..30,
        ),
    ) {
        let mut book = VerdictBook::default();
        let mut plain: BTreeMap<String, (v1::Target, usize)> = BTreeMap::new();
        for (step, (id, last, ports, verdict, dynamic_weight, how)) in steps.into_iter().enumerate() {
            let t = v1::Target {
                id: format!("t{id}"),
                checker: format!("CHECK_{id}_{last}"),
                real_server: Some(v1::AddressPort {
                    address: format!("203.0.113.{last}"),
                    port: 80,
                }),
                virtual_servers: ports.iter().map(|&p| vs_key(p)).collect(),
                verdict,
                dynamic_weight,
                ..Default::default()
            };
            match how {
                0 => {
                    plain.remove(&t.id);
                    book.update(&delta("a", t, true));
                }
                1 => {
                    plain = BTreeMap::from([(t.id.clone(), (t.clone(), step))]);
                    book.update(&snapshot("a", vec![t]));
                }
                _ => {
                    plain.insert(t.id.clone(), (t.clone(), step));
                    book.update(&delta("a", t, false));
                }
            }
            for last in 11u8..14 {
                for port in 80u16..82 {
                    let vs = VsName::Addr {
                        proto: Proto::Tcp,
                        ip: "198.51.100.10".parse().unwrap(),
                        port,
                    };
                    let rs = DestKey {
                        ip: format!("203.0.113.{last}").parse().unwrap(),
                        port: 80,
                    };
                    let got = book.verdicts(&vs, rs, Policy::Majority);
                    let got = got.up.zip(got.sources.first()).map(|(up, s)| {
                        (up, s.checker.to_string(), got.dynamic_weight)
                    });
                    prop_assert_eq!(got, reference(&plain, &vs, rs));
                }
            }
        }
    }
}
