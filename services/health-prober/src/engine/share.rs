//! Dividing the checks among the replicas: which targets this replica
//! checks, and the hand-over when the live set changes.
//!
//! Each target is owned by k of the live replicas (rendezvous hashing,
//! `keepalived_rendezvous`, the code ipvs-manager runs too). The replica
//! follows the set's `Health.Watch` streams ([`Peers`]); whenever the live
//! set changes it recomputes every target's owners:
//!
//! - a target it now owns and did not check starts from the verdict on the
//!   bus (the replicas checking it, else the last known verdicts of those
//!   gone), with its retries to run before it turns, and its first attempt
//!   at a random point of one `delay_loop` (a takeover is done within
//!   2 × delay_loop, without a burst of attempts);
//! - a target it no longer owns is checked on (HANDING_OVER) until every
//!   new owner publishes a result of its own, then left (NOT_OWNER);
//! - before the set is known (start-up) nothing is checked (WAITING).

use keepalived_api::v1::OwnershipRole;
use keepalived_bus::{Subscriber, UpstreamUpdate};
use keepalived_config::ProberOwners;
use keepalived_rendezvous::Assignment;

use super::*;
use crate::peers::{PeerChange, Peers};

/// What this replica does with one target.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) enum Role {
    /// The checks are not divided: every target is checked.
    #[default]
    All,
    /// The set is not known yet.
    Waiting,
    /// An owner; `seeded_from` while the verdict is still the one taken over.
    Owner { seeded_from: Option<String> },
    /// A former owner still checking until the new owners have results.
    HandingOver,
    /// Not checked here.
    NotOwner,
}

impl Role {
    /// The target is checked here.
    pub(super) fn checks(&self) -> bool {
        matches!(self, Role::All | Role::Owner { .. } | Role::HandingOver)
    }

    fn api(&self) -> OwnershipRole {
        match self {
            Role::All => OwnershipRole::Unspecified,
            Role::Waiting => OwnershipRole::Waiting,
            Role::Owner { .. } => OwnershipRole::Owner,
            Role::HandingOver => OwnershipRole::HandingOver,
            Role::NotOwner => OwnershipRole::NotOwner,
        }
    }
}

/// The replica set this replica divides the checks with.
pub struct Share {
    peers: Peers,
    owners: ProberOwners,
    subscriber: Subscriber<v1::HealthEvent>,
    /// How many upstreams a static list names (DNS: unknown).
    expected: Option<usize>,
    started: Instant,
    settled: bool,
    assignment: Assignment,
    metrics: ShareMetrics,
}

impl std::fmt::Debug for Share {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Share")
            .field("me", &self.peers.me())
            .field("settled", &self.settled)
            .finish_non_exhaustive()
    }
}

/// Gauges of the division (registered under `keepalived_prober_*`).
#[derive(Debug, Clone, Default)]
pub struct ShareMetrics {
    /// Targets this replica owns.
    pub owned: Gauge,
    /// Targets it still checks for a new owner that has no result yet.
    pub handing_over: Gauge,
    /// Live replicas of the set, this one included.
    pub live_replicas: Gauge,
}

impl ShareMetrics {
    /// Registers the gauges.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "prober_owned_targets",
            "Check targets this replica owns (checks) among the live replicas",
            self.owned.clone(),
        );
        registry.register(
            "prober_handing_over_targets",
            "Check targets this replica no longer owns and still checks until their new owners have a result",
            self.handing_over.clone(),
        );
        registry.register(
            "prober_live_replicas",
            "Live replicas of the health-prober set, this one included",
            self.live_replicas.clone(),
        );
    }
}

/// Without a list, the set is settled this long after our own stream was
/// seen (DNS lists every replica at once); in any case after
/// [`SETTLE_AT_MOST`].
const SETTLE_AFTER_SELF: Duration = Duration::from_secs(1);
const SETTLE_AT_MOST: Duration = Duration::from_secs(5);

/// More ownership changes at once than this are published as one snapshot.
const BATCH_AS_SNAPSHOT: usize = 256;

impl Share {
    /// Divides the checks with the replicas of `set` (this one among them,
    /// as `me`), `owners` per target. Starts following the set on the
    /// current tokio runtime.
    pub fn start(
        me: String,
        set: keepalived_bus::Upstreams,
        owners: ProberOwners,
        metrics: ShareMetrics,
    ) -> Self {
        let expected = match &set {
            keepalived_bus::Upstreams::Static(list) => Some(list.len()),
            keepalived_bus::Upstreams::Dns { .. } => None,
        };
        let subscriber = Subscriber::start(
            set,
            keepalived_bus::watch_connector::<v1::HealthEvent>(me.clone()),
            keepalived_bus::Backoff::default(),
        );
        metrics.live_replicas.set(1);
        Self {
            peers: Peers::new(me),
            owners,
            subscriber,
            expected,
            started: Instant::now(),
            settled: false,
            assignment: Assignment::default(),
            metrics,
        }
    }

    /// Whether the set is known well enough to divide the checks.
    fn settle(&mut self) -> bool {
        if !self.settled {
            let elapsed = self.started.elapsed();
            self.settled = match self.expected {
                Some(n) => self.peers.reported() >= n,
                None => self.peers.seen_self() && elapsed >= SETTLE_AFTER_SELF,
            } || elapsed >= SETTLE_AT_MOST;
            if self.settled && !self.peers.seen_self() {
                tracing::warn!(
                    "this replica ({}) is not among the health-prober replicas it follows; ipvs-manager will not count its verdicts",
                    self.peers.me()
                );
            }
        }
        self.settled
    }
}

/// The next update of the set, or never without one.
pub(super) async fn next_update(
    share: &mut Option<Share>,
) -> Option<UpstreamUpdate<v1::HealthEvent>> {
    match share {
        Some(s) => s.subscriber.updates.recv().await,
        None => std::future::pending().await,
    }
}

impl Engine {
    /// Divides the checks with a replica set.
    pub fn with_share(mut self, share: Share) -> Self {
        self.share = Some(share);
        self
    }

    /// The replica set is being learnt (checks wait for it).
    pub(super) fn settling(&self) -> bool {
        self.share.as_ref().is_some_and(|s| !s.settled)
    }

    /// The role a new target starts with.
    pub(super) fn initial_role(&self) -> Role {
        match &self.share {
            None => Role::All,
            Some(_) => Role::Waiting,
        }
    }

    /// One update of the set.
    pub(super) fn on_peer(&mut self, update: UpstreamUpdate<v1::HealthEvent>) {
        let Some(share) = self.share.as_mut() else {
            return;
        };
        match share.peers.update(&update) {
            PeerChange::Membership => self.reassign_all(),
            PeerChange::Target(id) => {
                let index = self.shared.read().by_id.get(&id).copied();
                if let Some(index) = index {
                    self.reassign(index, true);
                    self.count_roles();
                }
            }
            PeerChange::Nothing => self.settle_tick(),
        }
    }

    /// While settling: divide as soon as the set is known.
    pub(super) fn settle_tick(&mut self) {
        let Some(share) = self.share.as_mut() else {
            return;
        };
        if !share.settled && share.settle() {
            self.reassign_all();
        }
    }

    /// The live set may have changed (or the targets did, on a reload):
    /// every target's owners again.
    pub(super) fn reassign_all(&mut self) {
        let Some(share) = self.share.as_mut() else {
            return;
        };
        if !share.settle() {
            return;
        }
        let assignment = share.peers.assignment(share.owners);
        let moved = assignment != share.assignment;
        if moved {
            share.assignment = assignment;
            let live: Vec<&str> = share.assignment.members().collect();
            tracing::info!(
                "health-prober replica set: {} live ({}), {} owner(s) per target",
                live.len(),
                live.join(", "),
                share.assignment.k().min(live.len())
            );
            share.metrics.live_replicas.set(live.len() as i64);
        }
        // Most targets may change at once (the first division at start-up, a
        // replica joining a small set): past a few hundred changes one fresh
        // snapshot tells the consumers, not a burst of deltas that would
        // cut them off (the bus's per-consumer bound).
        let mut changed = Vec::new();
        for index in 0..self.slots.len() {
            if self.reassign(index, false) {
                changed.push(index);
            }
        }
        if changed.len() > BATCH_AS_SNAPSHOT {
            self.producer.publish_snapshot();
        } else {
            for index in changed {
                self.publish_ownership(index);
            }
        }
        self.count_roles();
        if moved {
            let owned = self.share.as_ref().map_or(0, |s| s.metrics.owned.get());
            tracing::info!(
                "this replica owns {owned} of {} check targets",
                self.by_identity.len()
            );
        }
    }

    /// Recounts the role gauges.
    fn count_roles(&mut self) {
        let Some(share) = self.share.as_ref() else {
            return;
        };
        let (mut owned, mut handing) = (0, 0);
        for slot in self.slots.iter().flatten() {
            match slot.role {
                Role::Owner { .. } => owned += 1,
                Role::HandingOver => handing += 1,
                _ => {}
            }
        }
        share.metrics.owned.set(owned);
        share.metrics.handing_over.set(handing);
    }

    /// Target `index`'s role under the current assignment; publishes what
    /// the set must hear when `publish`, else returns true when there is
    /// something to publish.
    fn reassign(&mut self, index: usize, publish: bool) -> bool {
        let Some(share) = self.share.as_ref() else {
            return false;
        };
        if !share.settled {
            return false;
        }
        let Some(slot) = self.slots[index].as_ref() else {
            return false;
        };
        let id = slot.spec.id.clone();
        let me = share.peers.me();
        let owners = share.assignment.owners(&id);
        let names: Vec<&str> = owners.iter().map(|o| o.member).collect();
        let mine = names.contains(&me);
        let mut seed = None;
        let role = match (&slot.role, mine) {
            (Role::Owner { seeded_from }, true) => Role::Owner {
                seeded_from: seeded_from.clone(),
            },
            (Role::HandingOver | Role::All, true) => Role::Owner { seeded_from: None },
            (Role::Waiting | Role::NotOwner, true) => {
                seed = share.peers.seed(&id);
                Role::Owner {
                    seeded_from: seed.as_ref().map(|(_, from)| from.clone()),
                }
            }
            (Role::Owner { .. } | Role::HandingOver | Role::All, false) => {
                if share.peers.others_have_results(&id, &names) {
                    Role::NotOwner
                } else {
                    Role::HandingOver
                }
            }
            (Role::Waiting | Role::NotOwner, false) => Role::NotOwner,
        };
        let mut reason = share.assignment.explain(me, &id);
        if role == Role::HandingOver {
            reason.push_str("; still checking until every new owner has a result");
        }
        let ownership = v1::Ownership {
            role: role.api() as i32,
            owners: names.iter().map(|n| (*n).to_owned()).collect(),
            live_replicas: share.assignment.len() as u32,
            k: share.assignment.k() as u32,
            reason,
            seeded: matches!(
                role,
                Role::Owner {
                    seeded_from: Some(_)
                }
            ),
            seeded_from: match &role {
                Role::Owner {
                    seeded_from: Some(f),
                } => f.clone(),
                _ => String::new(),
            },
        };
        let was_checking = slot.role.checks();
        let was_waiting = slot.role == Role::Waiting;
        if slot.role == role && slot.ownership.as_ref() == Some(&ownership) {
            return false;
        }
        let role_changed = slot.role != role;
        let now = Instant::now();
        let Some(slot) = self.slots[index].as_mut() else {
            return false;
        };
        slot.ownership = Some(ownership);
        let checks = role.checks();
        slot.role = role;
        let mut verdict_moved = false;
        if checks && !was_checking {
            // Taken over: from the bus's verdict, retries to run; the first
            // attempt somewhere in one delay_loop. At start-up (nothing on
            // the bus) as keepalived starts a checker.
            let machine = machine_for(&slot.spec);
            let first = match seed {
                Some((up, _)) => {
                    verdict_moved = up != slot.machine.is_up();
                    slot.machine = machine.seeded(up);
                    slot.machine
                        .timing()
                        .delay_loop
                        .mul_f64(rand::random::<f64>())
                }
                None if was_waiting => {
                    slot.machine = machine;
                    slot.machine
                        .first_check_at(Duration::ZERO, rand::random::<f64>())
                }
                // Nobody has a verdict (every other checker is gone and
                // never published one): go on from this replica's own.
                None => slot
                    .machine
                    .timing()
                    .delay_loop
                    .mul_f64(rand::random::<f64>()),
            };
            slot.episode = None;
            self.generation += 1;
            slot.generation = self.generation;
            slot.due = now + first;
            slot.key = Some(self.queue.insert_at(index, slot.due));
            if verdict_moved {
                slot.verdict_since = SystemTime::now();
            }
        } else if !checks && was_checking {
            // Left: a result in flight is dropped (new generation).
            if let Some(key) = slot.key.take() {
                self.queue.remove(&key);
            }
            slot.episode = None;
            self.generation += 1;
            slot.generation = self.generation;
        }
        let real_server = slot.spec.real_server_key();
        let view = self.view(index);
        self.shared.write().set(index, view);
        if verdict_moved {
            self.refresh_real_server(&real_server);
        }
        // Waiting → not an owner at start-up is nothing the set needs to
        // hear: neither counts.
        let quiet = was_waiting && !checks;
        let news = (role_changed && !quiet) || verdict_moved;
        if news && publish {
            self.publish_ownership(index);
        }
        news
    }

    /// Tells the set (and ipvs-manager) what this replica now does with
    /// target `index`: a change with from == to (the verdict holds, or was
    /// taken over from the bus as it stands).
    pub(super) fn publish_ownership(&self, index: usize) {
        let view = self.view(index);
        let held = view.verdict;
        let span = tracing::info_span!("health_ownership", target = %view.id);
        span.in_scope(|| {
            self.publish_change(v1::TargetChange {
                target: Some(view),
                from: held,
                to: held,
                ..Default::default()
            })
        });
    }

    /// After an attempt of target `index`: a seeded owner now has a result
    /// of its own (a former owner may stop). True when that changed.
    pub(super) fn took_own_result(&mut self, index: usize) -> bool {
        let Some(slot) = self.slots[index].as_mut() else {
            return false;
        };
        let Role::Owner { seeded_from } = &mut slot.role else {
            return false;
        };
        if seeded_from.take().is_none() {
            return false;
        }
        if let Some(o) = slot.ownership.as_mut() {
            o.seeded = false;
            o.seeded_from.clear();
        }
        let ownership = slot.ownership.clone();
        if let Some(t) = self.shared.write().get_mut(index) {
            t.ownership = ownership;
        }
        true
    }
}
