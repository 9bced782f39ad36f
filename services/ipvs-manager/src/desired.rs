//! The desired table: the plan, the combined verdicts and the operator's
//! overrides turned into services and destinations, with keepalived's
//! quorum, sorry-server, inhibit and alpha rules. Pure: no I/O, no clock.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use crate::health::{Policy, VerdictBook, Verdicts};
use crate::plan::{Plan, RsPlan, VsName, VsPlan};
use crate::table::{Dest, DestKey, Service, ServiceKey, TableState};

/// Combined health of a real server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// The probers say up.
    Up,
    /// The probers say down.
    Down,
    /// No checker configured: always up.
    Unchecked,
    /// No verdict yet: up unless `alpha`.
    Unknown,
}

/// The operator's overrides of one real server (`SetRealServerWeight`, `DrainRealServer`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Override {
    /// Weight instead of the configured one.
    pub weight: Option<u32>,
    /// Weight 0: no new connections, existing ones stay.
    pub drained: bool,
}

/// Overrides by (virtual server, real server).
pub type Overrides = HashMap<(VsName, DestKey), Override>;

/// What was decided for one real server.
#[derive(Debug, Clone, PartialEq)]
pub struct RsOutcome {
    /// Plan entry.
    pub plan: RsPlan,
    /// Combined health.
    pub health: Health,
    /// Alive (counts for quorum, in the table with its weight).
    pub alive: bool,
    /// Weight it has when in the table and alive (override, drain, dynamic).
    pub weight: u32,
    /// In the table with this weight, or absent.
    pub entry: Option<u32>,
    /// The verdicts combined, and the combination (shared: [`update_vs`]
    /// takes them over from the previous outcome instead of asking the book
    /// again).
    pub verdicts: Arc<Verdicts>,
    /// The operator's override.
    pub overrides: Override,
}

/// keepalived's quorum state of a virtual server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuorumState {
    /// Whether the quorum is met.
    pub up: bool,
    /// Sum of the weights of alive real servers.
    pub alive_weight: u32,
}

/// What was decided for one virtual server.
#[derive(Debug, Clone, PartialEq)]
pub struct VsOutcome {
    /// Plan entry.
    pub plan: VsPlan,
    /// Real servers in configuration order.
    pub real_servers: Vec<RsOutcome>,
    /// The sorry server and its entry, when configured.
    pub sorry: Option<(RsPlan, Option<u32>)>,
    /// Quorum after this computation.
    pub quorum: QuorumState,
}

/// The desired state of everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Desired {
    /// The kernel table wanted.
    pub table: TableState,
    /// Per virtual server, in configuration order.
    pub virtual_servers: Vec<VsOutcome>,
    /// [`VerdictBook::generation`] of the book this was computed with.
    pub book_generation: u64,
}

/// What [`update_vs`] replaced, to put back when the kernel refuses the
/// change (kept instead of a copy made beforehand: a 10,000-server virtual
/// server is large).
#[derive(Debug)]
pub struct Replaced {
    /// The kernel services the update may have changed.
    pub touched: BTreeSet<ServiceKey>,
    /// When only destinations of the touched services changed, which ones
    /// (the diff then looks at them alone: [`crate::reconcile::diff_dests`]);
    /// `None` when the services were built anew.
    pub dests: Option<BTreeSet<DestKey>>,
    index: usize,
    outcome: VsOutcome,
    services: Vec<(ServiceKey, Undo)>,
}

/// How to put one service back.
#[derive(Debug)]
enum Undo {
    /// As it was (absent: `None`).
    Service(Option<Service>),
    /// These destinations as they were (absent: `None`).
    Dests(Vec<(DestKey, Option<Dest>)>),
}

/// Above this many destinations changed (a quorum lost or gained), the
/// services are built anew rather than edited.
const MAX_EDITS: usize = 64;

impl Replaced {
    /// Puts `desired` back as it was before the update.
    pub fn restore(self, desired: &mut Desired) {
        desired.virtual_servers[self.index] = self.outcome;
        for (key, undo) in self.services {
            match undo {
                Undo::Service(Some(s)) => {
                    desired.table.services.insert(key, s);
                }
                Undo::Service(None) => {
                    desired.table.services.remove(&key);
                }
                Undo::Dests(dests) => {
                    if let Some(service) = desired.table.services.get_mut(&key) {
                        for (dest, before) in dests {
                            match before {
                                Some(d) => service.dests.insert(dest, d),
                                None => service.dests.remove(&dest),
                            };
                        }
                    }
                }
            }
        }
    }
}

/// keepalived's `update_quorum_state` (check/ipwrapper.c): quorum is gained
/// when the alive weight reaches `quorum + hysteresis` and lost when it is 0
/// or drops below `quorum - hysteresis`; in between it keeps its state. An
/// unknown previous state (start-up) takes whichever side applies, and is
/// up when neither does.
pub fn quorum_up(previous: Option<bool>, quorum: u32, hysteresis: u32, alive: u32) -> bool {
    let gain = alive >= quorum.saturating_add(hysteresis);
    let lose = alive == 0 || alive < quorum.saturating_sub(hysteresis);
    match previous {
        Some(false) | None if gain => true,
        Some(true) | None if lose => false,
        Some(state) => state,
        None => true,
    }
}

/// Computes the desired state. `quorum` holds each virtual server's previous
/// quorum state (updated in place).
pub fn compute(
    plan: &Plan,
    book: &VerdictBook,
    policy: Policy,
    overrides: &Overrides,
    quorum: &mut HashMap<VsName, bool>,
) -> Desired {
    let mut desired = Desired {
        book_generation: book.generation(),
        ..Desired::default()
    };
    for vs in &plan.virtual_servers {
        let outcome = outcome(vs, book, policy, overrides, quorum, None);
        let mut dests = dests_of(&outcome);
        let mut keys = vs.services.iter().peekable();
        while let Some(key) = keys.next() {
            // The last service takes the destinations, the others a copy.
            let dests = if keys.peek().is_some() {
                dests.clone()
            } else {
                std::mem::take(&mut dests)
            };
            desired.table.services.insert(
                *key,
                Service {
                    spec: vs.spec.clone(),
                    dests,
                },
            );
        }
        desired.virtual_servers.push(outcome);
    }
    desired
}

/// Recomputes only the virtual server `index` of `plan` in `desired`, which
/// [`compute`] made from the same plan: afterwards `desired` (and `quorum`)
/// are what `compute` would give when only this virtual server's inputs
/// changed (an operator override of one of its real servers, or verdicts
/// on its real servers: after updating every virtual server holding a
/// server of [`VerdictBook::changed_since`], set `book_generation`). Returns
/// what it replaced, with the kernel services it may have changed. Cost:
/// that virtual server only, and of its verdicts only those that changed.
#[allow(clippy::too_many_arguments)]
pub fn update_vs(
    desired: &mut Desired,
    plan: &Plan,
    index: usize,
    book: &VerdictBook,
    policy: Policy,
    overrides: &Overrides,
    quorum: &mut HashMap<VsName, bool>,
) -> Replaced {
    let vs = &plan.virtual_servers[index];
    let known = desired
        .virtual_servers
        .get(index)
        .map(|o| (o, desired.book_generation));
    let outcome = outcome(vs, book, policy, overrides, quorum, known);
    // In `compute` a later virtual server with the same service wins.
    let touched: BTreeSet<ServiceKey> = vs
        .services
        .iter()
        .filter(|key| {
            !plan.virtual_servers[index + 1..]
                .iter()
                .any(|v| v.services.contains(key))
        })
        .copied()
        .collect();
    // A few entries changed, the services built from the previous outcome:
    // edit those destinations in place (sorting and building a map of
    // 10,000 costs more than the rest of the update).
    let edits = desired
        .virtual_servers
        .get(index)
        .and_then(|before| changed_dests(before, &outcome))
        .filter(|_| {
            touched.iter().all(|k| {
                desired
                    .table
                    .services
                    .get(k)
                    .is_some_and(|s| s.spec == vs.spec)
            })
        });
    if let Some(edits) = edits {
        let mut services = Vec::with_capacity(touched.len());
        for key in &touched {
            let Some(service) = desired.table.services.get_mut(key) else {
                continue;
            };
            let undo = edits
                .iter()
                .map(|(dest, now)| {
                    let before = match now {
                        Some(d) => service.dests.insert(*dest, *d),
                        None => service.dests.remove(dest),
                    };
                    (*dest, before)
                })
                .collect();
            services.push((*key, Undo::Dests(undo)));
        }
        return Replaced {
            touched,
            dests: Some(edits.keys().copied().collect()),
            index,
            outcome: std::mem::replace(&mut desired.virtual_servers[index], outcome),
            services,
        };
    }
    let mut dests = dests_of(&outcome);
    // The last service takes the destinations, the others a copy (most
    // virtual servers have one service: no copy of 10,000 entries).
    let mut services = Vec::with_capacity(touched.len());
    let mut keys = touched.iter().peekable();
    while let Some(key) = keys.next() {
        let dests = if keys.peek().is_some() {
            dests.clone()
        } else {
            std::mem::take(&mut dests)
        };
        let before = desired.table.services.insert(
            *key,
            Service {
                spec: vs.spec.clone(),
                dests,
            },
        );
        services.push((*key, Undo::Service(before)));
    }
    Replaced {
        touched,
        dests: None,
        index,
        outcome: std::mem::replace(&mut desired.virtual_servers[index], outcome),
        services,
    }
}

/// One virtual server's outcome. `known`: an earlier outcome of this virtual server and the book
/// generation it was computed at: the verdicts of its real servers the book
/// has not changed since are taken over.
fn outcome(
    vs: &VsPlan,
    book: &VerdictBook,
    policy: Policy,
    overrides: &Overrides,
    quorum: &mut HashMap<VsName, bool>,
    known: Option<(&VsOutcome, u64)>,
) -> VsOutcome {
    {
        // The overrides of this virtual server (few), looked up by real
        // server: a BTreeMap of a few entries answers in a comparison or
        // two, where hashing each of 10,000 keys costs more.
        let mine: BTreeMap<DestKey, Override> = overrides
            .iter()
            .filter(|((name, _), _)| *name == vs.name)
            .map(|((_, rs), o)| (*rs, *o))
            .collect();
        let known = known.filter(|(k, _)| k.plan.name == vs.name);
        let mut rs_out = Vec::with_capacity(vs.real_servers.len());
        for (i, rs) in vs.real_servers.iter().enumerate() {
            let verdicts = match known.and_then(|(k, g)| Some((k.real_servers.get(i)?, g))) {
                Some((r, g))
                    if r.plan.key == rs.key && book.unchanged_since(rs.key, &vs.name, g) =>
                {
                    r.verdicts.clone()
                }
                _ => Arc::new(book.verdicts(&vs.name, rs.key, policy)),
            };
            let health = match (rs.checked, verdicts.up) {
                (false, _) => Health::Unchecked,
                (true, Some(true)) => Health::Up,
                (true, Some(false)) => Health::Down,
                (true, None) => Health::Unknown,
            };
            // alpha: "real servers start down until a verdict says up".
            let alive = match health {
                Health::Up | Health::Unchecked => true,
                Health::Down => false,
                Health::Unknown => !rs.alpha,
            };
            let ov = mine.get(&rs.key).copied().unwrap_or_default();
            // misc_dynamic weight, when every up prober agrees on one, replaces the configured one.
            let dynamic = verdicts.dynamic_weight;
            // FILE_CHECK offsets move it (the smallest the probers report).
            let offset = verdicts.weight_offset;
            let weight = if ov.drained {
                0
            } else {
                ov.weight.unwrap_or_else(|| {
                    let base = dynamic.unwrap_or(rs.weight);
                    offset.map_or(base, |o| {
                        (i64::from(base) + i64::from(o)).clamp(0, i64::from(u16::MAX)) as u32
                    })
                })
            };
            rs_out.push(RsOutcome {
                plan: rs.clone(),
                health,
                alive,
                weight,
                entry: None,
                verdicts,
                overrides: ov,
            });
        }
        let alive_weight: u32 = rs_out
            .iter()
            .filter(|r| r.alive)
            .map(|r| r.weight)
            .fold(0, u32::saturating_add);
        let previous = quorum.get(&vs.name).copied();
        let up = quorum_up(previous, vs.quorum, vs.hysteresis, alive_weight);
        quorum.insert(vs.name.clone(), up);
        // keepalived puts the sorry server in when the quorum is lost and
        // then takes the remaining alive real servers out (perform_quorum_state).
        let sorry_active = !up && vs.sorry.is_some();
        for r in &mut rs_out {
            r.entry = if r.alive && !sorry_active {
                Some(r.weight)
            } else if r.plan.inhibit {
                Some(0)
            } else {
                None
            };
        }
        let sorry = vs.sorry.clone().map(|s| {
            let entry = if sorry_active {
                Some(s.weight)
            } else if s.inhibit {
                Some(0)
            } else {
                None
            };
            (s, entry)
        });
        VsOutcome {
            plan: vs.clone(),
            real_servers: rs_out,
            sorry,
            quorum: QuorumState { up, alive_weight },
        }
    }
}

/// The destinations whose entry differs between two outcomes of one virtual
/// server, with their value now (`None`: absent), as [`dests_of`] would
/// give it; `None` when the real servers differ or more than [`MAX_EDITS`]
/// changed.
fn changed_dests(before: &VsOutcome, now: &VsOutcome) -> Option<BTreeMap<DestKey, Option<Dest>>> {
    if before.plan.name != now.plan.name || before.real_servers.len() != now.real_servers.len() {
        return None;
    }
    let dest = |method, weight| Dest { method, weight };
    let mut changed = BTreeMap::new();
    for (b, n) in before.real_servers.iter().zip(&now.real_servers) {
        if b.plan.key != n.plan.key {
            return None;
        }
        if b.entry.map(|w| dest(b.plan.method, w)) != n.entry.map(|w| dest(n.plan.method, w)) {
            changed.insert(n.plan.key, None);
            if changed.len() > MAX_EDITS {
                return None;
            }
        }
    }
    match (&before.sorry, &now.sorry) {
        (None, None) => {}
        (Some((b, be)), Some((n, ne))) if b.key == n.key => {
            if be.map(|w| dest(b.method, w)) != ne.map(|w| dest(n.method, w)) {
                changed.insert(n.key, None);
            }
        }
        _ => return None,
    }
    if changed.is_empty() {
        return Some(changed);
    }
    // The value of a changed key is that of the last entry with it (a real
    // server may be listed twice, or be the sorry server too).
    for r in &now.real_servers {
        if let (Some(w), Some(v)) = (r.entry, changed.get_mut(&r.plan.key)) {
            *v = Some(dest(r.plan.method, w));
        }
    }
    if let Some((s, Some(w))) = &now.sorry
        && let Some(v) = changed.get_mut(&s.key)
    {
        *v = Some(dest(s.method, *w));
    }
    Some(changed)
}

/// The destinations of a virtual server's services: its real servers (and
/// sorry server) with an entry.
fn dests_of(outcome: &VsOutcome) -> BTreeMap<DestKey, Dest> {
    let (rs_out, sorry) = (&outcome.real_servers, &outcome.sorry);
    // Collected, sorted and built in one go (instead of an insert per
    // server); a later entry with the same key wins, as with `insert`.
    let mut entries: Vec<(DestKey, Dest)> = rs_out
        .iter()
        .filter_map(|r| {
            r.entry.map(|weight| {
                (
                    r.plan.key,
                    Dest {
                        method: r.plan.method,
                        weight,
                    },
                )
            })
        })
        .chain(sorry.as_ref().and_then(|(s, entry)| {
            entry.map(|weight| {
                (
                    s.key,
                    Dest {
                        method: s.method,
                        weight,
                    },
                )
            })
        }))
        .collect();
    entries.sort_by_key(|e| e.0);
    let mut kept: Vec<(DestKey, Dest)> = Vec::with_capacity(entries.len());
    for e in entries {
        match kept.last_mut() {
            Some(last) if last.0 == e.0 => *last = e,
            _ => kept.push(e),
        }
    }
    kept.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn quorum_follows_keepalived_with_hysteresis() {
        // quorum 3, hysteresis 1: gained at >= 4, lost below 2.
        assert!(!quorum_up(Some(false), 3, 1, 3));
        assert!(quorum_up(Some(false), 3, 1, 4));
        assert!(quorum_up(Some(true), 3, 1, 2));
        assert!(!quorum_up(Some(true), 3, 1, 1));
        assert!(!quorum_up(Some(true), 1, 0, 0));
        // Start-up: "Gained quorum 1+0=1 <= 2".
        assert!(quorum_up(None, 1, 0, 2));
        assert!(!quorum_up(None, 1, 0, 0));
    }

    fn plan(text: &str) -> Plan {
        let config =
            keepalived_config::load_str(text, Path::new("/t/keepalived.conf"), &Default::default())
                .expect("valid config")
                .config;
        crate::plan::build(&config).0
    }

    const TWO: &str = "virtual_server 198.51.100.10 80 {\n lb_algo rr\n lb_kind DR\n protocol TCP\n\
        sorry_server 203.0.113.99 80\n\
        real_server 203.0.113.11 80 {\n weight 2\n TCP_CHECK {\n }\n }\n\
        real_server 203.0.113.12 80 {\n inhibit_on_failure\n TCP_CHECK {\n alpha\n }\n }\n}\n";

    #[test]
    fn alpha_servers_start_out_and_inhibited_ones_stay_at_weight_zero() {
        let p = plan(TWO);
        let d = compute(
            &p,
            &VerdictBook::default(),
            Policy::Majority,
            &Overrides::default(),
            &mut HashMap::new(),
        );
        let vs = &d.virtual_servers[0];
        assert_eq!(vs.real_servers[0].entry, Some(2));
        assert_eq!(vs.real_servers[1].health, Health::Unknown);
        assert_eq!(
            vs.real_servers[1].entry,
            Some(0),
            "alpha + inhibit: weight 0"
        );
        assert_eq!(vs.quorum.alive_weight, 2);
        assert_eq!(
            vs.sorry.as_ref().unwrap().1,
            None,
            "sorry server out while quorum holds"
        );
    }

    #[test]
    fn drain_sets_weight_zero_and_losing_quorum_brings_in_the_sorry_server() {
        let p = plan(TWO);
        let name = p.virtual_servers[0].name.clone();
        let rs = p.virtual_servers[0].real_servers[0].key;
        let mut overrides = Overrides::default();
        overrides.insert(
            (name, rs),
            Override {
                weight: None,
                drained: true,
            },
        );
        let mut quorum = HashMap::new();
        let d = compute(
            &p,
            &VerdictBook::default(),
            Policy::Majority,
            &overrides,
            &mut quorum,
        );
        let vs = &d.virtual_servers[0];
        // Drained: alive weight 0, quorum lost, the sorry server takes over.
        assert!(!vs.quorum.up);
        assert_eq!(vs.real_servers[0].entry, None);
        assert_eq!(vs.sorry.as_ref().unwrap().1, Some(1));
        let service = d.table.services.values().next().unwrap();
        assert_eq!(service.dests.len(), 2, "sorry server + inhibited server");
    }

    /// A book holding one prober's snapshot of `targets`.
    pub(super) fn book_with(targets: Vec<keepalived_api::v1::Target>) -> VerdictBook {
        use keepalived_api::v1;
        let mut book = VerdictBook::default();
        book.update(&keepalived_bus::UpstreamUpdate {
            upstream: "unix:prober".into(),
            update: keepalived_bus::Update::Snapshot(v1::HealthEvent {
                payload: Some(v1::health_event::Payload::Snapshot(v1::HealthSnapshot {
                    targets,
                })),
                ..Default::default()
            }),
        });
        book
    }

    #[test]
    fn file_check_offsets_move_the_configured_weight_and_stop_at_zero() {
        use keepalived_api::v1;
        let p = plan(TWO);
        let weight_with = |offset: i32| {
            let target = v1::Target {
                id: "FILE_CHECK:203.0.113.11:80".into(),
                checker: "FILE_CHECK".into(),
                real_server: Some(v1::AddressPort {
                    address: "203.0.113.11".into(),
                    port: 80,
                }),
                verdict: v1::Verdict::Up as i32,
                weight_offset: Some(offset),
                ..Default::default()
            };
            let d = compute(
                &p,
                &book_with(vec![target]),
                Policy::Majority,
                &Overrides::default(),
                &mut HashMap::new(),
            );
            d.virtual_servers[0].real_servers[0].weight
        };
        // Configured weight 2.
        assert_eq!(weight_with(3), 5);
        assert_eq!(weight_with(-1), 1);
        // (At 0 the server's weight no longer counts for quorum, as in keepalived.)
        assert_eq!(weight_with(-200), 0, "never below zero");
    }
}

#[cfg(test)]
mod incremental_tests {
    use std::net::{IpAddr, Ipv4Addr};

    use proptest::prelude::*;

    use super::*;
    use crate::plan::RsPlan;
    use crate::table::{Method, Proto, ServiceSpec};

    fn rs(last: u8, weight: u32, flags: u8) -> RsPlan {
        RsPlan {
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
    fn arb_plan() -> impl Strategy<Value = Plan> {
        let vs = (
            proptest::collection::btree_map(1u8..12, (0u32..4, 0u8..4), 0..6),
            1u32..5,
            0u32..2,
            // The sorry server: its own address, or one of a real server.
            proptest::option::of((0u8..4, prop_oneof![Just(99u8), 1u8..12])),
        );
        proptest::collection::vec(vs, 1..5).prop_map(|list| {
            let n = list.len();
            Plan {
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
                        VsPlan {
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
                payload: Some(v1::health_event::Payload::VerdictChanged(
                    v1::VerdictChange {
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
                    },
                )),
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
        let vs = VsPlan {
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
        let plan = Plan {
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
}
