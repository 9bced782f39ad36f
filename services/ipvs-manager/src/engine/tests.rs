//! The engine on the in-memory data plane: adoption, verdicts, the
//! per-virtual-server path against the full one, drift repair, refused
//! applies, operator overrides and the stop, with keepalived's log lines and
//! the bus events they come with. No root, no kernel.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use keepalived_api::v1;
use keepalived_bus::{BusMetrics, Update, UpstreamUpdate};
use proptest::prelude::*;

use super::*;
use crate::backend::memory::{MemoryBackend, MemoryHandle, MemoryKind};
use crate::table::{Dest, Method, Proto, Service, ServiceSpec, TableState};

const VIP: &str = "198.51.100.10";
const RS1: &str = "203.0.113.21";
const RS2: &str = "203.0.113.22";
const VIP2: &str = "198.51.100.20";

/// The test configuration; every prober checks every target
/// (`health_prober_owners all`), so a verdict is the majority of all probers.
fn config(extra_global: &str) -> Config {
    let text = format!(
        "global_defs {{\n  router_id lb1\n  {extra_global}\n}}\n\
         keepalived_rs {{\n  health_prober_owners all\n}}\n\
         virtual_server {VIP} 80 {{\n  lb_algo rr\n  lb_kind DR\n  protocol TCP\n  quorum 2\n\
           real_server {RS1} 80 {{\n    weight 1\n    TCP_CHECK {{\n      connect_timeout 1\n    }}\n  }}\n\
           real_server {RS2} 80 {{\n    weight 2\n    TCP_CHECK {{\n      connect_timeout 1\n    }}\n  }}\n}}\n\
         virtual_server {VIP2} 443 {{\n  lb_algo wlc\n  lb_kind DR\n  protocol TCP\n\
           real_server {RS1} 443 {{\n    weight 3\n    TCP_CHECK {{\n      connect_timeout 1\n    }}\n  }}\n}}\n"
    );
    keepalived_config::load_str(
        &text,
        Path::new("/etc/keepalived/keepalived.conf"),
        &Default::default(),
    )
    .expect("the test configuration loads")
    .config
}

/// A log writer the test reads back.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    /// Everything logged since the last take.
    fn take(&self) -> String {
        String::from_utf8(std::mem::take(&mut *self.0.lock().unwrap())).unwrap()
    }
}

struct Rig {
    engine: Engine,
    table: MemoryHandle,
    events: keepalived_bus::WatchStream<v1::IpvsEvent>,
    log: Log,
    _guard: tracing::subscriber::DefaultGuard,
}

impl Rig {
    fn start(kind: MemoryKind, before: TableState, config: &Config) -> Rig {
        let log = Log::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .without_time()
            .with_target(false)
            .with_level(false)
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        let (backend, table) = MemoryBackend::with_table(kind, before);
        let view = Arc::new(RwLock::new(View::default()));
        let producer = crate::api::producer(
            "ipvs-manager@test".into(),
            view.clone(),
            BusMetrics::default(),
        );
        let events = producer.watch("test");
        let engine = Engine::start(
            Box::new(backend),
            Some(config),
            Settings {
                policy: Policy::Majority,
                resync: Duration::from_secs(3600),
            },
            view,
            producer,
            EngineMetrics::default(),
        )
        .expect("the memory table reads");
        Rig {
            engine,
            table,
            events,
            log,
            _guard: guard,
        }
    }

    /// The deltas published since the last call (the snapshot is skipped).
    fn deltas(&mut self) -> Vec<Payload> {
        let mut out = Vec::new();
        while let Some(Some(Ok(event))) = self.events.next().now_or_never() {
            if event.header.as_ref().map(|h| h.kind) == Some(v1::EventKind::Delta as i32) {
                out.extend(event.payload);
            }
        }
        out
    }

    fn verdicts(&mut self, prober: &str, verdicts: &[(&str, u16, &str, bool)]) {
        self.engine
            .handle(Input::Health(Box::new(snapshot(prober, verdicts))));
    }
}

fn target(rs: &str, port: u16, vip: &str, up: bool) -> v1::Target {
    v1::Target {
        id: format!("TCP_CHECK:{rs}:{port}"),
        checker: "TCP_CHECK".into(),
        real_server: Some(v1::AddressPort {
            address: rs.into(),
            port: port.into(),
        }),
        virtual_servers: vec![v1::VirtualServerKey {
            kind: Some(v1::virtual_server_key::Kind::AddressPort(v1::AddressPort {
                address: vip.into(),
                port: port.into(),
            })),
            protocol: v1::Protocol::Tcp as i32,
        }],
        verdict: verdict(up) as i32,
        ..Default::default()
    }
}

fn verdict(up: bool) -> v1::Verdict {
    if up {
        v1::Verdict::Up
    } else {
        v1::Verdict::Down
    }
}

fn header(prober: &str) -> Option<v1::EventHeader> {
    Some(v1::EventHeader {
        producer: format!("health-prober@{prober}"),
        ..Default::default()
    })
}

/// A prober's whole state (what a Watch stream opens with).
fn snapshot(prober: &str, verdicts: &[(&str, u16, &str, bool)]) -> UpstreamUpdate<v1::HealthEvent> {
    let targets = verdicts
        .iter()
        .map(|&(rs, port, vip, up)| target(rs, port, vip, up))
        .collect();
    UpstreamUpdate {
        upstream: prober.into(),
        update: Update::Snapshot(v1::HealthEvent {
            header: header(prober),
            payload: Some(v1::health_event::Payload::Snapshot(v1::HealthSnapshot {
                targets,
            })),
        }),
    }
}

/// One target's verdict changing on one prober (a delta after the snapshot).
fn change(
    prober: &str,
    (rs, port, vip): (&str, u16, &str),
    up: bool,
) -> UpstreamUpdate<v1::HealthEvent> {
    UpstreamUpdate {
        upstream: prober.into(),
        update: Update::Delta(v1::HealthEvent {
            header: header(prober),
            payload: Some(v1::health_event::Payload::TargetChanged(v1::TargetChange {
                target: Some(target(rs, port, vip, up)),
                from: verdict(!up) as i32,
                to: verdict(up) as i32,
                reason: if up {
                    String::new()
                } else {
                    "connection refused".into()
                },
                ..Default::default()
            })),
        }),
    }
}

fn svc(vip: &str, port: u16) -> ServiceKey {
    ServiceKey::Addr {
        proto: Proto::Tcp,
        ip: vip.parse().unwrap(),
        port,
    }
}

fn dest(ip: &str, port: u16) -> DestKey {
    DestKey {
        ip: ip.parse().unwrap(),
        port,
    }
}

/// The weights of `vip:port`'s destinations in the table.
fn weights(table: &TableState, vip: &str, port: u16) -> Vec<(String, u32)> {
    table
        .services
        .get(&svc(vip, port))
        .map(|s| {
            s.dests
                .iter()
                .map(|(k, d)| (k.ip.to_string(), d.weight))
                .collect()
        })
        .unwrap_or_default()
}

fn rs_changes(deltas: &[Payload]) -> Vec<(String, i32)> {
    deltas
        .iter()
        .filter_map(|p| match p {
            Payload::RealServerChanged(c) => Some((
                c.key
                    .as_ref()
                    .and_then(|k| k.real_server.as_ref())
                    .map(|a| a.address.clone())
                    .unwrap_or_default(),
                c.kind,
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn a_fresh_start_programs_the_configuration_and_says_so_in_keepalived_words() {
    let mut rig = Rig::start(MemoryKind::Ipvs, TableState::default(), &config(""));
    let table = rig.table.table();
    assert_eq!(weights(&table, VIP, 80), [(RS1.into(), 1), (RS2.into(), 2)]);
    assert_eq!(weights(&table, VIP2, 443), [(RS1.into(), 3)]);
    let log = rig.log.take();
    assert!(
        log.contains(&format!("Adding Virtual Server [{VIP}]:tcp:80")),
        "{log}"
    );
    assert!(
        log.contains(&format!("Gained quorum 2+0=2 <= 3 for VS [{VIP}]:tcp:80")),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "Adding service [{RS1}]:tcp:80 to VS [{VIP}]:tcp:80"
        )),
        "{log}"
    );
    let deltas = rig.deltas();
    assert_eq!(
        rs_changes(&deltas)
            .iter()
            .filter(|(_, k)| *k == v1::RealServerChangeKind::Added as i32)
            .count(),
        3,
        "{deltas:?}"
    );
}

#[test]
fn adoption_changes_only_what_differs_and_logs_nothing_for_what_is_there() {
    // What a previous run left: the first VS with RS1 at weight 1 and a
    // destination the configuration no longer has.
    let mut before = TableState::default();
    before
        .apply(&[
            Change::AddService {
                key: svc(VIP, 80),
                spec: ServiceSpec {
                    scheduler: "rr".into(),
                    persistence: None,
                    ops: false,
                },
            },
            Change::AddDest {
                service: svc(VIP, 80),
                dest: dest(RS1, 80),
                spec: Dest {
                    weight: 1,
                    method: Method::Dr,
                },
            },
            Change::AddDest {
                service: svc(VIP, 80),
                dest: dest("203.0.113.99", 80),
                spec: Dest {
                    weight: 1,
                    method: Method::Dr,
                },
            },
        ])
        .unwrap();
    let rig = Rig::start(MemoryKind::Ipvs, before, &config(""));
    let applied = rig.table.applied();
    assert_eq!(applied.len(), 1, "one batch at start: {applied:?}");
    assert!(
        !applied[0]
            .iter()
            .any(|c| matches!(c, Change::AddService { key, .. } if *key == svc(VIP, 80))),
        "the adopted service is not added again: {applied:?}"
    );
    assert!(
        applied[0].iter().any(
            |c| matches!(c, Change::DelDest { dest: d, .. } if *d == dest("203.0.113.99", 80))
        ),
        "{applied:?}"
    );
    let log = rig.log.take();
    assert!(
        log.contains("adopted 1 service(s) from the kernel"),
        "{log}"
    );
    assert!(
        !log.contains(&format!("Adding service [{RS1}]:tcp:80")),
        "{log}"
    );
    assert!(
        log.contains(&format!("Adding service [{RS2}]:tcp:80")),
        "{log}"
    );
}

#[test]
fn a_down_verdict_removes_the_real_server_then_quorum_is_lost() {
    let mut rig = Rig::start(MemoryKind::Ipvs, TableState::default(), &config(""));
    rig.verdicts("p1", &[(RS1, 80, VIP, true), (RS2, 80, VIP, true)]);
    rig.log.take();
    rig.deltas();
    rig.engine
        .handle(Input::Health(Box::new(change("p1", (RS1, 80, VIP), false))));
    assert_eq!(weights(&rig.table.table(), VIP, 80), [(RS2.into(), 2)]);
    let log = rig.log.take();
    assert!(
        log.contains(&format!(
            "Removing service [{RS1}]:tcp:80 from VS [{VIP}]:tcp:80"
        )),
        "{log}"
    );
    let deltas = rig.deltas();
    assert_eq!(
        rs_changes(&deltas),
        [(RS1.into(), v1::RealServerChangeKind::Removed as i32)]
    );
    let Some(Payload::RealServerChanged(removed)) = deltas.first() else {
        unreachable!()
    };
    assert_eq!(removed.checker, "TCP_CHECK");
    assert_eq!(removed.reason, "connection refused");
    // Alive weight 2 still meets quorum 2; with RS2 down too it does not.
    assert!(!log.contains("quorum"), "{log}");
    rig.engine
        .handle(Input::Health(Box::new(change("p1", (RS2, 80, VIP), false))));
    let log = rig.log.take();
    assert!(
        log.contains(&format!("Lost quorum 2-0=2 > 0 for VS [{VIP}]:tcp:80")),
        "{log}"
    );
    assert!(rig.deltas().iter().any(|p| matches!(p,
        Payload::QuorumChanged(q) if q.quorum.as_ref().is_some_and(|q| !q.up))));
    // The other virtual server was never touched.
    assert_eq!(weights(&rig.table.table(), VIP2, 443), [(RS1.into(), 3)]);
}

#[test]
fn a_disconnected_prober_changes_nothing() {
    let mut rig = Rig::start(MemoryKind::Ipvs, TableState::default(), &config(""));
    rig.verdicts("p1", &[(RS1, 80, VIP, false), (RS2, 80, VIP, true)]);
    let before = rig.table.applied().len();
    rig.engine.handle(Input::Health(Box::new(UpstreamUpdate {
        upstream: "p1".into(),
        update: Update::Disconnected {
            error: "connection reset".into(),
        },
    })));
    assert_eq!(
        rig.table.applied().len(),
        before,
        "no apply on a lost stream"
    );
    assert_eq!(weights(&rig.table.table(), VIP, 80), [(RS2.into(), 2)]);
    assert!(rig.log.take().contains("keeping its last verdicts (stale)"));
}

#[test]
fn drift_is_repaired_at_resync_and_reported() {
    let mut rig = Rig::start(MemoryKind::Ipvs, TableState::default(), &config(""));
    rig.log.take();
    rig.table
        .edit(&[Change::DelDest {
            service: svc(VIP, 80),
            dest: dest(RS2, 80),
        }])
        .unwrap();
    rig.engine.resync();
    assert_eq!(
        weights(&rig.table.table(), VIP, 80),
        [(RS1.into(), 1), (RS2.into(), 2)]
    );
    assert_eq!(rig.engine.metrics.drift_repairs.get(), 1);
    let log = rig.log.take();
    assert!(
        log.contains("kernel table was changed outside keepalived-rs; repaired: added"),
        "{log}"
    );
    // A resync that finds the table as wanted changes nothing.
    let batches = rig.table.applied().len();
    rig.engine.resync();
    assert_eq!(rig.table.applied().len(), batches);
}

#[test]
fn a_refused_apply_changes_nothing_says_nothing_and_is_retried_at_resync() {
    let mut rig = Rig::start(MemoryKind::Ipvs, TableState::default(), &config(""));
    rig.log.take();
    rig.deltas();
    rig.table.refuse_next(1);
    rig.verdicts("p1", &[(RS1, 80, VIP, false), (RS2, 80, VIP, true)]);
    assert_eq!(
        weights(&rig.table.table(), VIP, 80),
        [(RS1.into(), 1), (RS2.into(), 2)]
    );
    assert_eq!(rig.engine.metrics.apply_errors.get(), 1);
    let log = rig.log.take();
    assert!(
        !log.contains("Removing service"),
        "nothing is said of what did not happen: {log}"
    );
    assert!(log.contains("will retry at the next resync"), "{log}");
    assert!(
        rig.deltas().is_empty(),
        "no event for a change the kernel refused"
    );
    rig.engine.resync();
    assert_eq!(weights(&rig.table.table(), VIP, 80), [(RS2.into(), 2)]);
    assert!(
        rig.log
            .take()
            .contains(&format!("Removing service [{RS1}]:tcp:80"))
    );
}

#[test]
fn an_operator_weight_goes_into_the_table_and_is_answered() {
    let mut rig = Rig::start(MemoryKind::Ipvs, TableState::default(), &config(""));
    rig.log.take();
    let (reply, answer) = oneshot::channel();
    rig.engine.handle(Input::SetWeight {
        vs: view::vs_key(&VsName::Addr {
            proto: Proto::Tcp,
            ip: VIP.parse().unwrap(),
            port: 80,
        }),
        rs: v1::AddressPort {
            address: RS1.into(),
            port: 80,
        },
        weight: Some(5),
        reply,
    });
    let answered = answer.now_or_never().unwrap().unwrap().unwrap();
    assert_eq!(answered.kernel_weight, 5);
    assert_eq!(
        weights(&rig.table.table(), VIP, 80),
        [(RS1.into(), 5), (RS2.into(), 2)]
    );
    let log = rig.log.take();
    assert!(
        log.contains(&format!(
            "Changing weight from 1 to 5 for service [{RS1}]:tcp:80 of VS [{VIP}]:tcp:80"
        )),
        "{log}"
    );
    // A real server the virtual server does not have is refused, not added.
    let (reply, answer) = oneshot::channel();
    rig.engine.handle(Input::SetWeight {
        vs: view::vs_key(&VsName::Addr {
            proto: Proto::Tcp,
            ip: VIP.parse().unwrap(),
            port: 80,
        }),
        rs: v1::AddressPort {
            address: "203.0.113.77".into(),
            port: 80,
        },
        weight: Some(5),
        reply,
    });
    let refused = answer.now_or_never().unwrap().unwrap().unwrap_err();
    assert_eq!(refused.code(), tonic::Code::NotFound);
}

#[test]
fn the_stop_leaves_the_table_unless_lvs_flush_on_stop_says_otherwise() {
    let foreign = {
        let mut t = TableState::default();
        t.services.insert(
            svc("198.51.100.99", 25),
            Service {
                spec: ServiceSpec {
                    scheduler: "rr".into(),
                    persistence: None,
                    ops: false,
                },
                dests: Default::default(),
            },
        );
        t
    };
    // Default: everything stays, so a restart drops no connection.
    let mut rig = Rig::start(MemoryKind::Ipvs, foreign.clone(), &config(""));
    rig.engine.shutdown();
    assert_eq!(rig.table.table().services.len(), 3);
    assert!(rig.log.take().contains("kernel table left in place"));
    drop(rig);
    // VS: ours go, a service someone else configured stays.
    let mut rig = Rig::start(
        MemoryKind::Ipvs,
        foreign.clone(),
        &config("lvs_flush_on_stop VS"),
    );
    rig.log.take();
    rig.engine.shutdown();
    let left: Vec<ServiceKey> = rig.table.table().services.keys().copied().collect();
    assert_eq!(left, [svc("198.51.100.99", 25)]);
    let log = rig.log.take();
    assert!(
        log.contains(&format!(
            "Shutting down service [{RS2}]:tcp:80 from VS [{VIP}]:tcp:80"
        )),
        "{log}"
    );
    drop(rig);
    // ALL: the whole table.
    let mut rig = Rig::start(MemoryKind::Ipvs, foreign, &config("lvs_flush_on_stop ALL"));
    rig.engine.shutdown();
    assert!(rig.table.table().services.is_empty());
}

#[test]
fn nft_owns_its_whole_table_and_ipvs_only_what_it_configured() {
    let foreign = {
        let mut t = TableState::default();
        t.services.insert(
            svc("198.51.100.99", 25),
            Service {
                spec: ServiceSpec {
                    scheduler: "rr".into(),
                    persistence: None,
                    ops: false,
                },
                dests: Default::default(),
            },
        );
        t
    };
    let rig = Rig::start(MemoryKind::Ipvs, foreign.clone(), &config(""));
    assert!(
        rig.table
            .table()
            .services
            .contains_key(&svc("198.51.100.99", 25))
    );
    drop(rig);
    let rig = Rig::start(MemoryKind::Nft, foreign, &config(""));
    assert!(
        !rig.table
            .table()
            .services
            .contains_key(&svc("198.51.100.99", 25))
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// The per-virtual-server path ([`Engine::reconcile_vss`], taken for a
    /// verdict change) leaves the table the full computation wants: a resync
    /// after each step (the full reconcile) finds nothing to change.
    #[test]
    fn the_per_virtual_server_path_leaves_what_the_full_path_computes(
        steps in proptest::collection::vec((0usize..3, 0usize..3, any::<bool>()), 1..16),
    ) {
        let mut rig = Rig::start(MemoryKind::Ipvs, TableState::default(), &config(""));
        let probers = ["p1", "p2", "p3"];
        let targets = [(RS1, 80, VIP), (RS2, 80, VIP), (RS1, 443, VIP2)];
        for prober in probers {
            rig.verdicts(prober, &[(RS1, 80, VIP, true), (RS2, 80, VIP, true), (RS1, 443, VIP2, true)]);
        }
        let mut up = [[true; 3]; 3];
        for (prober, t, to) in steps {
            if up[prober][t] == to {
                continue;
            }
            up[prober][t] = to;
            rig.engine.handle(Input::Health(Box::new(change(probers[prober], targets[t], to))));
            let batches = rig.table.applied().len();
            rig.engine.resync();
            prop_assert_eq!(rig.table.applied().len(), batches, "the full reconcile changed more");
            prop_assert_eq!(rig.engine.metrics.drift_repairs.get(), 0);
            // And the table holds a real server while a majority says up.
            for (i, (rs, port, vip)) in targets.iter().enumerate() {
                let ups = up.iter().filter(|p| p[i]).count();
                let present = weights(&rig.table.table(), vip, *port).iter().any(|(ip, _)| ip == rs);
                prop_assert_eq!(present, ups >= 2, "{} on {}", rs, vip);
            }
        }
    }
}
