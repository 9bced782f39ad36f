//! Health input: the last verdicts of every health-prober replica, and the
//! policy that combines them into one up/down per real server.
//!
//! The replicas divide the checks: each target is owned by k of the live
//! replicas ([`keepalived_rendezvous`]); `owners` computes the same owners
//! and combines, per target, the verdicts of its owners.
//!
//! docs/architecture.md, "The event bus": a prober that cannot be reached keeps
//! its last verdicts, marked stale; losing it is never a reason to remove a
//! real server. Stale verdicts therefore keep counting as they were, so
//! killing a prober changes nothing in the kernel.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use keepalived_api::v1;
use keepalived_bus::{Update, UpstreamUpdate};

use crate::spec::VsName;
use crate::table::{DestKey, Proto};

mod owners;
pub use owners::Verdicts;

/// How the verdicts of several probers combine (`--verdict-policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Policy {
    /// Down when more than half of the probers with a verdict say down.
    Majority,
    /// Down when any prober says down.
    AnyDown,
    /// Down only when every prober with a verdict says down.
    AllDown,
}

/// Combines per-prober verdicts (`true` = up). `None` when no prober has a
/// verdict. With one prober, every policy lets it decide alone.
pub fn combine(policy: Policy, verdicts: impl IntoIterator<Item = bool>) -> Option<bool> {
    let (mut up, mut down) = (0usize, 0usize);
    for v in verdicts {
        if v {
            up += 1;
        } else {
            down += 1;
        }
    }
    let n = up + down;
    if n == 0 {
        return None;
    }
    let is_down = match policy {
        Policy::Majority => down * 2 > n,
        Policy::AnyDown => down > 0,
        Policy::AllDown => down == n,
    };
    Some(!is_down)
}

/// One prober's verdict about one real server of one virtual server. The
/// strings are shared with the verdict book (10,000 real servers each get
/// their sources at every recomputation: a copy of each string would cost
/// more than the rest of it).
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    /// The prober's producer identity (or its address before the first snapshot).
    pub prober: Arc<str>,
    /// The target (real server × checker) the verdict is about.
    pub target: Arc<str>,
    /// The prober is one of the target's owners as computed here.
    pub owner: bool,
    /// Up or down.
    pub up: bool,
    /// The prober is unreachable; this is its last known verdict.
    pub stale: bool,
    /// When the verdict was received.
    pub received: SystemTime,
    /// Checker type that decided (e.g. `HTTP_CHECK`).
    pub checker: Arc<str>,
    /// keepalived's failure reason when down (e.g. `HTTP request failed`).
    pub reason: Arc<str>,
    /// keepalived's mail body of the transition that set this verdict, as
    /// the prober words it (`TargetChange.mail_body`; empty: no mail);
    /// `None` when learnt from a snapshot.
    pub mail_body: Option<Arc<str>>,
    /// `misc_dynamic` weight, when reported.
    pub dynamic_weight: Option<u32>,
    /// FILE_CHECK weight offsets of the prober's up checkers, summed (keepalived
    /// adds each checker's to the real server's weight).
    pub weight_offset: Option<i32>,
}

/// What the book keeps of one target: what [`VerdictBook::sources`] needs.
#[derive(Debug, Clone)]
struct Known {
    verdict: v1::Verdict,
    dynamic_weight: Option<u32>,
    weight_offset: Option<i32>,
    checker: Arc<str>,
    received: SystemTime,
    reason: Arc<str>,
    mail_body: Option<Arc<str>>,
    /// The book's generation when it was heard (orders verdicts; the wall
    /// clock may step back).
    heard: u64,
    /// What the prober does with the target: only a replica that checks it
    /// (owner, handing over, or every replica when the checks are not
    /// divided) has a verdict that counts.
    role: v1::OwnershipRole,
}

impl Known {
    /// The verdict comes from the prober's own checks.
    fn checked(&self) -> bool {
        matches!(
            self.role,
            v1::OwnershipRole::Unspecified
                | v1::OwnershipRole::Owner
                | v1::OwnershipRole::HandingOver
        )
    }
}

impl Known {
    fn new(
        target: &v1::Target,
        (received, heard): (SystemTime, u64),
        reason: &str,
        mail_body: Option<Arc<str>>,
    ) -> Self {
        Known {
            verdict: v1::Verdict::try_from(target.verdict).unwrap_or(v1::Verdict::Unspecified),
            dynamic_weight: target.dynamic_weight,
            weight_offset: target.weight_offset,
            checker: target.checker.as_str().into(),
            received,
            reason: reason.into(),
            mail_body,
            heard,
            role: target
                .ownership
                .as_ref()
                .and_then(|o| v1::OwnershipRole::try_from(o.role).ok())
                .unwrap_or(v1::OwnershipRole::Unspecified),
        }
    }
}

/// The targets checking one real server, by id (the order their verdicts
/// combine in): those naming no virtual server (they count for every one),
/// and those naming some, under each one they name.
#[derive(Debug, Clone, Default)]
struct Checks {
    any: BTreeMap<String, Known>,
    by_vs: BTreeMap<VsName, BTreeMap<String, Known>>,
}

impl Checks {
    /// The targets that count for `vs`, in id order.
    fn for_vs<'a>(&'a self, vs: &VsName) -> impl Iterator<Item = (&'a str, &'a Known)> + 'a {
        let mut any = self.any.iter().peekable();
        let mut named = self.by_vs.get(vs).into_iter().flatten().peekable();
        // Two id-ordered lists (no id is in both) merged into one.
        std::iter::from_fn(move || match (any.peek(), named.peek()) {
            (Some((a, _)), Some((n, _))) if a < n => any.next(),
            (_, Some(_)) => named.next(),
            (Some(_), None) => any.next(),
            (None, None) => None,
        })
        .map(|(id, k)| (id.as_str(), k))
    }

    fn is_empty(&self) -> bool {
        self.any.is_empty() && self.by_vs.is_empty()
    }
}

#[derive(Debug, Clone, Default)]
struct Prober {
    identity: String,
    /// How sources name this prober: its identity, or its address before
    /// the first snapshot.
    label: Arc<str>,
    stale: bool,
    /// Every target's id, and where [`Self::by_real_server`] files it
    /// (nowhere when its real server cannot match one).
    ids: BTreeMap<String, Option<Place>>,
    /// The targets by the real server they check, then by virtual server:
    /// the desired state asks for each of 10,000 real servers, one of them
    /// perhaps in 1,000 virtual servers, and a walk over every target for
    /// each cost seconds.
    by_real_server: BTreeMap<DestKey, Checks>,
}

/// Where a target is filed: the real server it checks and the virtual
/// servers it counts for (`None`: every one, it names none).
#[derive(Debug, Clone)]
struct Place {
    rs: DestKey,
    vss: Option<Vec<VsName>>,
}

/// The real server a target checks, when its address and port can match one.
fn real_server_of(t: &v1::Target) -> Option<DestKey> {
    let addr = t.real_server.as_ref()?;
    Some(DestKey {
        ip: addr.address.parse().ok()?,
        port: u16::try_from(addr.port).ok()?,
    })
}

impl Prober {
    /// Takes `target`'s latest verdict, replacing what its id said before.
    fn insert(&mut self, target: &v1::Target, known: Known) {
        self.remove(&target.id);
        let place = real_server_of(target).map(|rs| {
            // Names that cannot be ours (unparsable) are left out; a target
            // naming only such counts for no virtual server.
            let vss = (!target.virtual_servers.is_empty()).then(|| {
                target
                    .virtual_servers
                    .iter()
                    .filter_map(vs_name_of)
                    .collect::<Vec<_>>()
            });
            let checks = self.by_real_server.entry(rs).or_default();
            match &vss {
                None => {
                    checks.any.insert(target.id.clone(), known);
                }
                Some(named) => {
                    for vs in named {
                        checks
                            .by_vs
                            .entry(vs.clone())
                            .or_default()
                            .insert(target.id.clone(), known.clone());
                    }
                }
            }
            if checks.is_empty() {
                self.by_real_server.remove(&rs);
            }
            Place { rs, vss }
        });
        self.ids.insert(target.id.clone(), place);
    }

    fn remove(&mut self, id: &str) {
        let Some(Some(place)) = self.ids.remove(id) else {
            return;
        };
        let Some(checks) = self.by_real_server.get_mut(&place.rs) else {
            return;
        };
        match place.vss {
            None => {
                checks.any.remove(id);
            }
            Some(named) => {
                for vs in named {
                    if let Some(targets) = checks.by_vs.get_mut(&vs) {
                        targets.remove(id);
                        if targets.is_empty() {
                            checks.by_vs.remove(&vs);
                        }
                    }
                }
            }
        }
        if checks.is_empty() {
            self.by_real_server.remove(&place.rs);
        }
    }

    fn clear(&mut self) {
        self.ids.clear();
        self.by_real_server.clear();
    }

    /// Keeps `label` in step with the identity (allocating only on a
    /// change); true when it changed.
    fn relabel(&mut self, upstream: &str) -> bool {
        let name = if self.identity.is_empty() {
            upstream
        } else {
            &self.identity
        };
        let changed = *self.label != *name;
        if changed {
            self.label = name.into();
        }
        changed
    }

    /// Where target `id` is filed, if anywhere.
    fn place(&self, id: &str) -> Option<Place> {
        self.ids.get(id).cloned().flatten()
    }

    /// The mail body target `id` last had.
    fn mail_body(&self, id: &str) -> Option<Arc<str>> {
        let place = self.ids.get(id)?.as_ref()?;
        let checks = self.by_real_server.get(&place.rs)?;
        let known = match &place.vss {
            None => checks.any.get(id),
            Some(named) => checks.by_vs.get(named.first()?)?.get(id),
        };
        known?.mail_body.clone()
    }
}

/// The last verdicts of every prober, by upstream address.
#[derive(Debug, Clone, Default)]
pub struct VerdictBook {
    probers: BTreeMap<String, Prober>,
    /// How many replicas own each target (`health_prober_owners`).
    owners_per_target: keepalived_config::ProberOwners,
    /// The owners of every target over the live probers, recomputed when
    /// one comes or goes.
    assignment: keepalived_rendezvous::Assignment,
    generation: u64,
    /// The generation of the last update that may have changed any verdict
    /// (a snapshot, a prober turning stale or gone).
    all_changed_at: u64,
    /// Since then, the generation of the last update that changed the
    /// verdicts on each real server: a verdict on one server recomputes
    /// only the virtual servers it counts for ([`Self::changed_since`]).
    changed_at: BTreeMap<DestKey, Stamps>,
}

/// When the verdicts on one real server last changed: for every virtual
/// server (a target naming none), and for each virtual server named.
#[derive(Debug, Clone, Default)]
struct Stamps {
    any: u64,
    by_vs: BTreeMap<VsName, u64>,
}

/// Generations of every book of the process, so that two books are at the
/// same generation only when neither has taken an update (both empty).
static GENERATIONS: AtomicU64 = AtomicU64::new(0);

/// What an update changed, for logs and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BookChange {
    /// Verdicts may have changed.
    Verdicts,
    /// The prober became unreachable; its verdicts are kept, stale.
    Stale,
    /// A prober never reached yet cannot be reached (no verdicts to keep).
    Unreachable,
    /// The prober left DNS; its verdicts are dropped.
    Removed,
}

fn protocol_of(p: i32) -> Option<Proto> {
    match v1::Protocol::try_from(p).ok()? {
        v1::Protocol::Tcp | v1::Protocol::Unspecified => Some(Proto::Tcp),
        v1::Protocol::Udp => Some(Proto::Udp),
        v1::Protocol::Sctp => Some(Proto::Sctp),
    }
}

/// The virtual server an API key names, if it can name one ([`key_matches`]
/// is true exactly for it).
fn vs_name_of(key: &v1::VirtualServerKey) -> Option<VsName> {
    use v1::virtual_server_key::Kind;
    match key.kind.as_ref()? {
        Kind::AddressPort(ap) => Some(VsName::Addr {
            proto: protocol_of(key.protocol)?,
            ip: ap.address.parse().ok()?,
            port: u16::try_from(ap.port).ok()?,
        }),
        Kind::Fwmark(mark) => Some(VsName::Fwmark { mark: *mark }),
        Kind::Group(name) => Some(VsName::Group {
            proto: protocol_of(key.protocol)?,
            name: name.clone(),
        }),
    }
}

/// Whether an API virtual-server key names `name`.
pub fn key_matches(key: &v1::VirtualServerKey, name: &VsName) -> bool {
    use v1::virtual_server_key::Kind;
    match (&key.kind, name) {
        (Some(Kind::AddressPort(ap)), VsName::Addr { proto, ip, port }) => {
            ap.address.parse::<std::net::IpAddr>().ok() == Some(*ip)
                && ap.port == u32::from(*port)
                && protocol_of(key.protocol) == Some(*proto)
        }
        (Some(Kind::Fwmark(m)), VsName::Fwmark { mark }) => m == mark,
        (Some(Kind::Group(g)), VsName::Group { proto, name }) => {
            g == name && protocol_of(key.protocol) == Some(*proto)
        }
        _ => false,
    }
}

impl VerdictBook {
    /// Changes at every update: what was computed from the book at one
    /// generation still holds while it stays.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The real servers whose verdicts changed after `generation`, each
    /// with the virtual server they changed for (`None`: for every one);
    /// `None` when any may have (everything is to be computed again).
    pub fn changed_since(&self, generation: u64) -> Option<Vec<(DestKey, Option<VsName>)>> {
        (generation >= self.all_changed_at).then(|| {
            let mut out = Vec::new();
            for (rs, stamps) in &self.changed_at {
                if stamps.any > generation {
                    out.push((*rs, None));
                }
                for (vs, &g) in &stamps.by_vs {
                    if g > generation {
                        out.push((*rs, Some(vs.clone())));
                    }
                }
            }
            out
        })
    }

    /// Whether the verdicts on `rs` in `vs` are those the book had at
    /// `generation`.
    pub fn unchanged_since(&self, rs: DestKey, vs: &VsName, generation: u64) -> bool {
        generation == self.generation
            || (generation >= self.all_changed_at
                && self.changed_at.get(&rs).is_none_or(|s| {
                    s.any <= generation && s.by_vs.get(vs).is_none_or(|&g| g <= generation)
                }))
    }

    /// Notes that the verdicts filed at `place` changed at `generation`.
    fn stamp(&mut self, place: &Place, generation: u64) {
        let stamps = self.changed_at.entry(place.rs).or_default();
        match &place.vss {
            None => stamps.any = generation,
            Some(named) => {
                for vs in named {
                    stamps.by_vs.insert(vs.clone(), generation);
                }
            }
        }
    }

    /// Takes one update from the subscription.
    pub fn update(&mut self, update: &UpstreamUpdate<v1::HealthEvent>) -> BookChange {
        let change = self.take(update);
        self.reassign();
        change
    }

    fn take(&mut self, update: &UpstreamUpdate<v1::HealthEvent>) -> BookChange {
        let generation = GENERATIONS.fetch_add(1, Ordering::Relaxed) + 1;
        self.generation = generation;
        let now = SystemTime::now();
        match &update.update {
            Update::Snapshot(event) => {
                self.all_changed_at = generation;
                self.changed_at.clear();
                let prober = self.probers.entry(update.upstream.clone()).or_default();
                prober.stale = false;
                if let Some(h) = &event.header {
                    prober.identity.clone_from(&h.producer);
                }
                prober.relabel(&update.upstream);
                prober.clear();
                if let Some(v1::health_event::Payload::Snapshot(s)) = &event.payload {
                    for t in &s.targets {
                        prober.insert(t, Known::new(t, (now, generation), "", None));
                    }
                }
                BookChange::Verdicts
            }
            Update::Delta(event) => {
                let prober = self.probers.entry(update.upstream.clone()).or_default();
                // Back from stale, or named anew: every source of it changes.
                let was_stale = std::mem::replace(&mut prober.stale, false);
                if prober.relabel(&update.upstream) || was_stale {
                    self.all_changed_at = generation;
                }
                if let Some(v1::health_event::Payload::TargetChanged(change)) = &event.payload
                    && let Some(t) = &change.target
                {
                    // Where it counted and where it counts now.
                    let before = prober.place(&t.id);
                    // A reload of the prober removed the target: its verdict no longer counts.
                    if change.removed {
                        prober.remove(&t.id);
                    } else {
                        // A transition brings the body of its mail; a weight
                        // moving while the verdict holds (from == to) keeps the
                        // body of the transition before it.
                        let mail_body = if change.from == change.to {
                            prober.mail_body(&t.id)
                        } else if change.added {
                            None
                        } else {
                            Some(change.mail_body.as_str().into())
                        };
                        prober.insert(
                            t,
                            Known::new(t, (now, generation), &change.reason, mail_body),
                        );
                    }
                    let after = prober.place(&t.id);
                    for place in [before, after].iter().flatten() {
                        self.stamp(place, generation);
                    }
                }
                BookChange::Verdicts
            }
            Update::Disconnected { .. } => match self.probers.get_mut(&update.upstream) {
                Some(p) => {
                    p.stale = true;
                    self.all_changed_at = generation;
                    BookChange::Stale
                }
                None => BookChange::Unreachable,
            },
            Update::Removed => {
                self.probers.remove(&update.upstream);
                self.all_changed_at = generation;
                BookChange::Removed
            }
        }
    }

    /// How many probers are known, and how many of them are stale.
    pub fn counts(&self) -> (usize, usize) {
        (
            self.probers.len(),
            self.probers.values().filter(|p| p.stale).count(),
        )
    }
}

#[cfg(test)]
mod tests;
