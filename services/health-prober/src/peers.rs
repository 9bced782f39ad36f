//! What this replica knows of the other replicas of the set, learnt by
//! following their `Health.Watch` as ipvs-manager does: who is live (its
//! stream is open, the same judgement ipvs-manager makes), and what each
//! says about each target — the verdict a new owner starts from, and whether
//! a new owner has a result of its own yet (when a former owner may stop).
//!
//! Pure: updates in, answers out.

use std::collections::{BTreeMap, HashMap};

use keepalived_api::v1;
use keepalived_bus::{Update, UpstreamUpdate};
use keepalived_rendezvous::Assignment;

/// What one replica said last about one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerTarget {
    /// Its verdict (`true` up).
    pub up: Option<bool>,
    /// What it does with the target.
    pub role: v1::OwnershipRole,
    /// Its verdict is a seed: it has no result of its own yet.
    pub seeded: bool,
}

impl PeerTarget {
    fn of(t: &v1::Target) -> Self {
        let ownership = t.ownership.as_ref();
        Self {
            up: match v1::Verdict::try_from(t.verdict) {
                Ok(v1::Verdict::Up) => Some(true),
                Ok(v1::Verdict::Down) => Some(false),
                _ => None,
            },
            role: ownership
                .and_then(|o| v1::OwnershipRole::try_from(o.role).ok())
                .unwrap_or(v1::OwnershipRole::Unspecified),
            seeded: ownership.is_some_and(|o| o.seeded),
        }
    }

    /// The replica checks the target itself.
    pub fn checks(&self) -> bool {
        matches!(
            self.role,
            v1::OwnershipRole::Unspecified
                | v1::OwnershipRole::Owner
                | v1::OwnershipRole::HandingOver
        )
    }

    /// The replica owns the target and has a result of its own.
    pub fn has_own_result(&self) -> bool {
        matches!(
            self.role,
            v1::OwnershipRole::Owner | v1::OwnershipRole::Unspecified
        ) && !self.seeded
    }
}

#[derive(Debug, Clone, Default)]
struct Peer {
    identity: String,
    live: bool,
    /// The last known state of its targets (kept when it goes: a successor
    /// seeds from it).
    targets: HashMap<String, PeerTarget>,
}

/// What an update changed, for the engine to act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerChange {
    /// The live set may have changed: every target is to be looked at.
    Membership,
    /// What a live replica says about this target changed.
    Target(String),
    /// Nothing that matters (our own stream, an unknown event).
    Nothing,
}

/// The other replicas, by upstream address.
#[derive(Debug, Clone)]
pub struct Peers {
    me: String,
    peers: BTreeMap<String, Peer>,
    /// Upstreams that reported at least once (a snapshot or a failure).
    reported: usize,
    /// Our own stream was seen among the upstreams.
    seen_self: bool,
}

impl Peers {
    /// The book of replica `me` (its bus identity).
    pub fn new(me: impl Into<String>) -> Self {
        Self {
            me: me.into(),
            peers: BTreeMap::new(),
            reported: 0,
            seen_self: false,
        }
    }

    /// This replica's identity.
    pub fn me(&self) -> &str {
        &self.me
    }

    /// How many upstreams reported at least once.
    pub fn reported(&self) -> usize {
        self.reported
    }

    /// Whether our own stream was found among the upstreams (the set lists
    /// us, as it should).
    pub fn seen_self(&self) -> bool {
        self.seen_self
    }

    /// Takes one update of the subscription to the set.
    pub fn update(&mut self, update: &UpstreamUpdate<v1::HealthEvent>) -> PeerChange {
        let known = self.peers.contains_key(&update.upstream);
        let peer = self.peers.entry(update.upstream.clone()).or_default();
        if !known {
            self.reported += 1;
        }
        match &update.update {
            Update::Snapshot(event) => {
                peer.identity = event
                    .header
                    .as_ref()
                    .map(|h| h.producer.clone())
                    .unwrap_or_default();
                if peer.identity == self.me {
                    // Our own stream: we know our state better.
                    self.seen_self = true;
                    peer.targets.clear();
                    peer.live = false;
                    return PeerChange::Nothing;
                }
                peer.live = true;
                peer.targets.clear();
                if let Some(v1::health_event::Payload::Snapshot(s)) = &event.payload {
                    for t in &s.targets {
                        peer.targets.insert(t.id.clone(), PeerTarget::of(t));
                    }
                }
                PeerChange::Membership
            }
            Update::Delta(event) => {
                if peer.identity == self.me || peer.identity.is_empty() {
                    return PeerChange::Nothing;
                }
                let Some(v1::health_event::Payload::TargetChanged(change)) = &event.payload else {
                    return PeerChange::Nothing;
                };
                let Some(t) = &change.target else {
                    return PeerChange::Nothing;
                };
                if change.removed {
                    peer.targets.remove(&t.id);
                } else {
                    peer.targets.insert(t.id.clone(), PeerTarget::of(t));
                }
                PeerChange::Target(t.id.clone())
            }
            Update::Disconnected { .. } => {
                let was = std::mem::replace(&mut peer.live, false);
                if was {
                    PeerChange::Membership
                } else {
                    PeerChange::Nothing
                }
            }
            Update::Removed => {
                let was = self.peers.remove(&update.upstream).is_some_and(|p| p.live);
                if was {
                    PeerChange::Membership
                } else {
                    PeerChange::Nothing
                }
            }
        }
    }

    /// The live replicas' identities, this one included.
    pub fn live(&self) -> Vec<&str> {
        let mut live: Vec<&str> = self
            .peers
            .values()
            .filter(|p| p.live && !p.identity.is_empty())
            .map(|p| p.identity.as_str())
            .collect();
        live.push(&self.me);
        live
    }

    /// The assignment over the live replicas with `k` owners per target.
    pub fn assignment(&self, owners: keepalived_config::ProberOwners) -> Assignment {
        let live = self.live();
        let k = owners.k(live.len());
        Assignment::new(live, k)
    }

    /// The verdict a new owner of `target` starts from, as ipvs-manager
    /// combines it: the majority of what the replicas that check it say,
    /// the last known verdicts of those gone included (they count until
    /// replaced); a tie is up, as keepalived starts a server. With whose
    /// verdict it is (a live replica's when one agrees). `None` when nobody
    /// has one.
    pub fn seed(&self, target: &str) -> Option<(bool, String)> {
        let mut up: Vec<(bool, &str)> = Vec::new();
        let mut down: Vec<(bool, &str)> = Vec::new();
        for p in self.peers.values() {
            if p.identity == self.me || p.identity.is_empty() {
                continue;
            }
            if let Some(t) = p.targets.get(target).filter(|t| t.checks())
                && let Some(v) = t.up
            {
                if v { &mut up } else { &mut down }.push((p.live, p.identity.as_str()));
            }
        }
        if up.is_empty() && down.is_empty() {
            return None;
        }
        let verdict = up.len() >= down.len();
        let mut from = if verdict { up } else { down };
        // Live first.
        from.sort_by_key(|(live, _)| !live);
        Some((verdict, from[0].1.to_owned()))
    }

    /// Whether every owner of `target` but this replica is live and has a
    /// result of its own: a former owner may then stop checking it.
    pub fn others_have_results(&self, target: &str, owners: &[&str]) -> bool {
        owners.iter().filter(|o| **o != self.me).all(|o| {
            self.peers.values().any(|p| {
                p.live
                    && p.identity == *o
                    && p.targets
                        .get(target)
                        .is_some_and(PeerTarget::has_own_result)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(id: &str, up: bool, role: v1::OwnershipRole, seeded: bool) -> v1::Target {
        v1::Target {
            id: id.into(),
            verdict: if up {
                v1::Verdict::Up
            } else {
                v1::Verdict::Down
            } as i32,
            ownership: Some(v1::Ownership {
                role: role as i32,
                seeded,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn snapshot(who: &str, targets: Vec<v1::Target>) -> UpstreamUpdate<v1::HealthEvent> {
        UpstreamUpdate {
            upstream: format!("tcp://{who}:50053"),
            update: Update::Snapshot(v1::HealthEvent {
                header: Some(v1::EventHeader {
                    producer: who.into(),
                    ..Default::default()
                }),
                payload: Some(v1::health_event::Payload::Snapshot(v1::HealthSnapshot {
                    targets,
                })),
            }),
        }
    }

    fn delta(who: &str, t: v1::Target) -> UpstreamUpdate<v1::HealthEvent> {
        UpstreamUpdate {
            upstream: format!("tcp://{who}:50053"),
            update: Update::Delta(v1::HealthEvent {
                payload: Some(v1::health_event::Payload::TargetChanged(v1::TargetChange {
                    target: Some(t),
                    ..Default::default()
                })),
                ..Default::default()
            }),
        }
    }

    fn gone(who: &str) -> UpstreamUpdate<v1::HealthEvent> {
        UpstreamUpdate {
            upstream: format!("tcp://{who}:50053"),
            update: Update::Disconnected {
                error: "killed".into(),
            },
        }
    }

    use v1::OwnershipRole as R;

    #[test]
    fn our_own_stream_is_recognised_and_not_counted_as_a_peer() {
        let mut peers = Peers::new("me");
        assert_eq!(peers.update(&snapshot("me", vec![])), PeerChange::Nothing);
        assert!(peers.seen_self());
        assert_eq!(peers.live(), vec!["me"]);
        assert_eq!(
            peers.update(&snapshot("b", vec![target("t", true, R::Owner, false)])),
            PeerChange::Membership
        );
        let mut live = peers.live();
        live.sort();
        assert_eq!(live, ["b", "me"]);
        assert_eq!(peers.reported(), 2);
    }

    #[test]
    fn a_new_owner_seeds_from_live_checkers_else_from_the_last_known_verdicts() {
        let mut peers = Peers::new("me");
        peers.update(&snapshot("a", vec![target("t", false, R::Owner, false)]));
        peers.update(&snapshot("b", vec![target("t", true, R::NotOwner, false)]));
        // b does not check t: its verdict counts for nothing.
        assert_eq!(peers.seed("t"), Some((false, "a".into())));
        peers.update(&gone("a"));
        // a is gone: its last verdict is still the best there is.
        assert_eq!(peers.seed("t"), Some((false, "a".into())));
        peers.update(&snapshot(
            "c",
            vec![target("t", true, R::HandingOver, false)],
        ));
        // One up (c, live), one down (a, gone): a tie is up.
        assert_eq!(peers.seed("t"), Some((true, "c".into())));
        peers.update(&snapshot("d", vec![target("t", false, R::Owner, false)]));
        assert_eq!(peers.seed("t"), Some((false, "d".into())), "live first");
        assert_eq!(peers.seed("unknown"), None);
    }

    #[test]
    fn a_former_owner_waits_for_every_new_owner_to_have_its_own_result() {
        let mut peers = Peers::new("me");
        peers.update(&snapshot("a", vec![target("t", true, R::Owner, true)]));
        peers.update(&snapshot("b", vec![target("t", true, R::Owner, false)]));
        assert!(!peers.others_have_results("t", &["a", "b"]), "a is seeded");
        assert_eq!(
            peers.update(&delta("a", target("t", true, R::Owner, false))),
            PeerChange::Target("t".into())
        );
        assert!(peers.others_have_results("t", &["a", "b"]));
        assert!(peers.others_have_results("t", &["me", "b"]));
        peers.update(&gone("b"));
        assert!(!peers.others_have_results("t", &["a", "b"]), "b is gone");
    }
}
