//! Health input: the last verdicts of every health-prober replica, and the
//! policy that combines them into one up/down per real server.
//!
//! The replicas divide the checks: each target is owned by k of the live
//! replicas ([`keepalived_rendezvous`]); [`owners`] computes the same owners
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

use crate::plan::VsName;
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
    /// the prober words it (`VerdictChange.mail_body`; empty: no mail);
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
                if let Some(v1::health_event::Payload::VerdictChanged(change)) = &event.payload
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
mod tests {
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
                payload: Some(v1::health_event::Payload::VerdictChanged(
                    v1::VerdictChange {
                        target: Some(t),
                        removed,
                        ..Default::default()
                    },
                )),
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
                payload: Some(v1::health_event::Payload::VerdictChanged(
                    v1::VerdictChange {
                        target: Some(t),
                        from: from as i32,
                        to,
                        mail_body: body.into(),
                        ..Default::default()
                    },
                )),
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
            if !t.virtual_servers.is_empty()
                && !t.virtual_servers.iter().any(|k| key_matches(k, vs))
            {
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
}
