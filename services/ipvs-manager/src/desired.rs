//! The desired table: the plan, the combined verdicts and the operator's
//! overrides turned into services and destinations, with keepalived's
//! quorum, sorry-server, inhibit and alpha rules. Pure: no I/O, no clock.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use crate::health::{Policy, VerdictBook, Verdicts};
use crate::spec::{RsSpec, Spec, VsName, VsSpec};
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
    /// Spec entry.
    pub plan: RsSpec,
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
    /// Spec entry.
    pub plan: VsSpec,
    /// Real servers in configuration order.
    pub real_servers: Vec<RsOutcome>,
    /// The sorry server and its entry, when configured.
    pub sorry: Option<(RsSpec, Option<u32>)>,
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
    plan: &Spec,
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
    plan: &Spec,
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
    vs: &VsSpec,
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
mod tests;

#[cfg(test)]
mod incremental_tests;
