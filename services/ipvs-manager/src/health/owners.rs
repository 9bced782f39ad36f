//! Which probers' verdicts count for a target, and the combined verdict of
//! a real server.
//!
//! The replicas divide the checks: each target (real server × checker) is
//! owned by k of the live replicas, by rendezvous hashing over their bus
//! identities (`keepalived_rendezvous`, the same code the probers run). For
//! each target the verdicts that count are those of its owners that are
//! reachable and check it; while fewer than k have one (an owner just died
//! or just joined), they are completed up to k with:
//!
//! 1. the verdicts of other reachable probers that check it — a former owner
//!    keeps publishing until the new one has a result (make before break),
//!    or a prober whose view of the set differs for a moment;
//! 2. then the last verdicts of unreachable probers, flagged stale: a lost
//!    prober's verdicts keep counting as they were until a live owner
//!    replaces them, so losing one is never a reason to remove a real
//!    server, and a target without a live owner keeps its verdict.
//!
//! The policy (majority by default) combines the counted verdicts of each
//! target; the real server is up when every one of its targets is
//! (keepalived needs every checker of a real server to pass).

use std::collections::BTreeMap;

use keepalived_api::v1;
use keepalived_rendezvous::Assignment;

use super::{Known, Policy, Prober, Source, VerdictBook, combine};
use crate::spec::VsName;
use crate::table::DestKey;

/// The combined verdict of one real server of one virtual server, with the
/// verdicts that were counted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verdicts {
    /// Up, down, or `None` when no prober has a verdict.
    pub up: Option<bool>,
    /// `misc_dynamic` weight: the smallest the counted up verdicts report.
    pub dynamic_weight: Option<u32>,
    /// FILE_CHECK offsets: per target the smallest its counted verdicts
    /// report, summed over the targets.
    pub weight_offset: Option<i32>,
    /// The verdicts counted, those saying down first, then the most recently
    /// heard first: the first agreeing with the outcome decided it.
    pub sources: Vec<Source>,
}

/// Which verdicts of a target count (see the module docs): its live
/// owners', completed up to `k` with other live probers' that check it, then
/// with unreachable probers' last ones.
fn counted<'a>(
    entries: &[(&'a Prober, &'a Known)],
    owners: &[&str],
    k: usize,
) -> Vec<(&'a Prober, &'a Known, bool)> {
    let has_verdict = |k: &Known| k.checked() && k.verdict != v1::Verdict::Unspecified;
    let is_owner = |p: &Prober| owners.contains(&p.identity.as_str());
    let mut out: Vec<(&Prober, &Known, bool)> = Vec::new();
    let passes: [&dyn Fn(&Prober) -> bool; 3] = [
        &|p| !p.stale && is_owner(p),
        &|p| !p.stale && !is_owner(p),
        &|p| p.stale,
    ];
    for (i, pass) in passes.iter().enumerate() {
        if i > 0 && out.len() >= k {
            break;
        }
        // The most recently heard first, when only some are needed.
        let mut more: Vec<(&Prober, &Known, bool)> = entries
            .iter()
            .filter(|(p, known)| has_verdict(known) && pass(p))
            .map(|(p, known)| (*p, *known, is_owner(p)))
            .collect();
        more.sort_by_key(|m| std::cmp::Reverse(m.1.heard));
        let room = if i == 0 { more.len() } else { k - out.len() };
        out.extend(more.into_iter().take(room));
    }
    out
}

impl VerdictBook {
    /// Sets how many replicas own each target (`keepalived_rs {
    /// health_prober_owners }`); every verdict may count differently.
    pub fn set_owners_per_target(&mut self, owners: keepalived_config::ProberOwners) {
        if owners != self.owners_per_target {
            self.owners_per_target = owners;
            self.assignment = Assignment::default();
            self.reassign();
        }
    }

    /// The live probers (reachable, identity known).
    fn live(&self) -> impl Iterator<Item = &str> {
        self.probers
            .values()
            .filter(|p| !p.stale && !p.identity.is_empty())
            .map(|p| p.identity.as_str())
    }

    /// Recomputes the assignment when the live set changed; every verdict
    /// may then count differently.
    pub(super) fn reassign(&mut self) {
        let live: Vec<&str> = self.live().collect();
        let k = self.owners_per_target.k(live.len());
        let same = self.assignment.k() == k
            && self.assignment.len() == live.len()
            && live.iter().all(|m| self.assignment.contains(m));
        if !same {
            self.assignment = Assignment::new(live, k);
            self.all_changed_at = self.generation;
        }
    }

    /// The owners of `target` over the live probers, highest rank first.
    pub fn owners_of(&self, target: &str) -> Vec<String> {
        self.assignment
            .owners(target)
            .into_iter()
            .map(|o| o.member.to_owned())
            .collect()
    }

    /// The combined verdict on real server `rs` of virtual server `vs`.
    pub fn verdicts(&self, vs: &VsName, rs: DestKey, policy: Policy) -> Verdicts {
        let mut by_target: BTreeMap<&str, Vec<(&Prober, &Known)>> = BTreeMap::new();
        for prober in self.probers.values() {
            let Some(checks) = prober.by_real_server.get(&rs) else {
                continue;
            };
            for (id, known) in checks.for_vs(vs) {
                by_target.entry(id).or_default().push((prober, known));
            }
        }
        let mut out = Verdicts::default();
        let mut all_up: Option<bool> = None;
        let mut counted_all: Vec<(&str, &Prober, &Known, bool)> = Vec::new();
        let mut offsets: Option<i32> = None;
        // How many verdicts a target needs: k, or every prober known when
        // every replica checks every target.
        let k = match self.owners_per_target {
            keepalived_config::ProberOwners::All => self.probers.len(),
            keepalived_config::ProberOwners::Count(n) => n.max(1) as usize,
        };
        for (id, entries) in &by_target {
            let owners = self.assignment.owners(id);
            let owners: Vec<&str> = owners.iter().map(|o| o.member).collect();
            let counted = counted(entries, &owners, k);
            let Some(up) = combine(
                policy,
                counted.iter().map(|(_, k, _)| k.verdict == v1::Verdict::Up),
            ) else {
                continue;
            };
            all_up = Some(all_up.unwrap_or(true) && up);
            if up
                && let Some(min) = counted
                    .iter()
                    .filter(|(_, k, _)| k.verdict == v1::Verdict::Up)
                    .filter_map(|(_, k, _)| k.weight_offset)
                    .min()
            {
                offsets = Some(offsets.unwrap_or(0).saturating_add(min));
            }
            counted_all.extend(counted.into_iter().map(|(p, k, o)| (*id, p, k, o)));
        }
        out.up = all_up;
        if all_up == Some(true) {
            out.dynamic_weight = counted_all
                .iter()
                .filter_map(|(_, _, k, _)| k.dynamic_weight)
                .min();
            out.weight_offset = offsets;
        }
        // Down first, then the most recently heard first.
        counted_all.sort_by(|a, b| {
            let down = |k: &Known| k.verdict != v1::Verdict::Up;
            down(b.2)
                .cmp(&down(a.2))
                .then_with(|| b.2.heard.cmp(&a.2.heard))
        });
        out.sources = counted_all
            .into_iter()
            .map(|(id, prober, known, owner)| {
                let up = known.verdict == v1::Verdict::Up;
                Source {
                    prober: prober.label.clone(),
                    target: id.into(),
                    owner,
                    up,
                    stale: prober.stale,
                    received: known.received,
                    checker: known.checker.clone(),
                    reason: known.reason.clone(),
                    mail_body: known.mail_body.clone(),
                    dynamic_weight: if up { known.dynamic_weight } else { None },
                    weight_offset: if up { known.weight_offset } else { None },
                }
            })
            .collect();
        out
    }

    /// How many targets have no live owner checking them (their verdicts
    /// are the last known ones, kept, or come from a former owner still
    /// handing over).
    pub fn targets_without_live_owner(&self) -> usize {
        let mut seen: BTreeMap<&str, bool> = BTreeMap::new();
        for prober in self.probers.values() {
            for id in prober.ids.keys() {
                seen.entry(id.as_str()).or_insert(false);
            }
        }
        for (id, owned) in seen.iter_mut() {
            let owners = self.assignment.owners(id);
            *owned = owners.iter().any(|o| {
                self.probers
                    .values()
                    .any(|p| p.identity == o.member && !p.stale && p.checks_target(id))
            });
        }
        seen.values().filter(|owned| !**owned).count()
    }
}

impl Prober {
    /// Whether this prober says it checks target `id`.
    fn checks_target(&self, id: &str) -> bool {
        let Some(Some(place)) = self.ids.get(id) else {
            return false;
        };
        let Some(checks) = self.by_real_server.get(&place.rs) else {
            return false;
        };
        let known = match &place.vss {
            None => checks.any.get(id),
            Some(named) => named
                .first()
                .and_then(|vs| checks.by_vs.get(vs))
                .and_then(|m| m.get(id)),
        };
        known.is_some_and(Known::checked)
    }
}

#[cfg(test)]
mod tests {
    use keepalived_bus::{Update, UpstreamUpdate};

    use super::*;
    use crate::table::Proto;

    const PROBERS: [&str; 4] = ["p0", "p1", "p2", "p3"];

    fn identity(p: &str) -> String {
        format!("health-prober@{p}")
    }

    fn vs() -> VsName {
        VsName::Addr {
            proto: Proto::Tcp,
            ip: "198.51.100.10".parse().unwrap(),
            port: 80,
        }
    }

    fn rs(last: u8) -> DestKey {
        DestKey {
            ip: format!("203.0.113.{last}").parse().unwrap(),
            port: 80,
        }
    }

    fn id(last: u8) -> String {
        format!("HTTP_GET:203.0.113.{last}:80")
    }

    fn target(last: u8, up: bool, role: v1::OwnershipRole) -> v1::Target {
        v1::Target {
            id: id(last),
            checker: "HTTP_CHECK".into(),
            real_server: Some(v1::AddressPort {
                address: format!("203.0.113.{last}"),
                port: 80,
            }),
            verdict: if up {
                v1::Verdict::Up
            } else {
                v1::Verdict::Down
            } as i32,
            ownership: Some(v1::Ownership {
                role: role as i32,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn snapshot(p: &str, targets: Vec<v1::Target>) -> UpstreamUpdate<v1::HealthEvent> {
        UpstreamUpdate {
            upstream: format!("tcp://{p}:50053"),
            update: Update::Snapshot(v1::HealthEvent {
                header: Some(v1::EventHeader {
                    producer: identity(p),
                    ..Default::default()
                }),
                payload: Some(v1::health_event::Payload::Snapshot(v1::HealthSnapshot {
                    targets,
                })),
            }),
        }
    }

    fn gone(p: &str) -> UpstreamUpdate<v1::HealthEvent> {
        UpstreamUpdate {
            upstream: format!("tcp://{p}:50053"),
            update: Update::Disconnected {
                error: "killed".into(),
            },
        }
    }

    /// Every prober publishes target `last`: owners (as `live` computes
    /// them) with `owner_up`, the others as not owners saying down.
    fn book_of(live: &[&str], last: u8, owner_up: bool) -> VerdictBook {
        let assignment = Assignment::new(live.iter().map(|p| identity(p)), 2);
        let mut book = VerdictBook::default();
        for p in live {
            let role = if assignment.rank_of(&identity(p), &id(last)).is_some() {
                v1::OwnershipRole::Owner
            } else {
                v1::OwnershipRole::NotOwner
            };
            let up = role == v1::OwnershipRole::Owner && owner_up;
            book.update(&snapshot(p, vec![target(last, up, role)]));
        }
        book
    }

    #[test]
    fn only_the_owners_verdicts_count() {
        let book = book_of(&PROBERS, 11, true);
        let v = book.verdicts(&vs(), rs(11), Policy::Majority);
        assert_eq!(v.up, Some(true), "the not-owners' down counts for nothing");
        assert_eq!(v.sources.len(), 2);
        assert!(v.sources.iter().all(|s| s.owner && s.up));
        let owners = book.owners_of(&id(11));
        assert_eq!(owners.len(), 2);
        for s in &v.sources {
            assert!(owners.iter().any(|o| **o == *s.prober), "{s:?}");
        }
        assert_eq!(book.targets_without_live_owner(), 0);
        let down = book_of(&PROBERS, 11, false);
        assert_eq!(
            down.verdicts(&vs(), rs(11), Policy::Majority).up,
            Some(false)
        );
    }

    #[test]
    fn a_dead_owner_leaves_the_other_deciding_until_its_successor_answers() {
        let mut book = book_of(&PROBERS, 11, true);
        let owners = book.owners_of(&id(11));
        let dead = owners[0].trim_start_matches("health-prober@").to_owned();
        book.update(&gone(&dead));
        // The other owner, and the dead one's last verdict (stale) until
        // its successor has one.
        let v = book.verdicts(&vs(), rs(11), Policy::Majority);
        assert_eq!(v.up, Some(true));
        assert_eq!(v.sources.len(), 2, "{:?}", v.sources);
        assert!(v.sources.iter().any(|s| s.owner && !s.stale));
        assert!(v.sources.iter().any(|s| !s.owner && s.stale));
        // The successor (among the three live) takes the target over, seeded up.
        let successor = book
            .owners_of(&id(11))
            .into_iter()
            .find(|o| !owners.contains(o))
            .unwrap();
        let successor = successor.trim_start_matches("health-prober@");
        book.update(&snapshot(
            successor,
            vec![target(11, true, v1::OwnershipRole::Owner)],
        ));
        let v = book.verdicts(&vs(), rs(11), Policy::Majority);
        assert_eq!(v.sources.len(), 2);
        assert!(v.sources.iter().all(|s| s.owner && !s.stale));
    }

    #[test]
    fn a_former_owner_counts_until_a_new_owner_has_a_verdict() {
        // Two probers own everything (k = 2); a third joins and owns some
        // targets but has published nothing for them yet.
        let mut book = VerdictBook::default();
        for p in ["p0", "p1"] {
            book.update(&snapshot(
                p,
                vec![target(11, true, v1::OwnershipRole::Owner)],
            ));
        }
        book.update(&snapshot(
            "p2",
            vec![target(11, false, v1::OwnershipRole::Waiting)],
        ));
        let owners = book.owners_of(&id(11));
        let v = book.verdicts(&vs(), rs(11), Policy::Majority);
        assert_eq!(
            v.up,
            Some(true),
            "the joiner's start-up state counts for nothing"
        );
        // Whether p2 is an owner or not, p0 and p1 both count: p2 has no
        // verdict yet, the former owner completes the owners' verdicts.
        assert_eq!(v.sources.len(), 2);
        assert_eq!(
            v.sources.iter().filter(|s| s.owner).count(),
            if owners.contains(&identity("p2")) {
                1
            } else {
                2
            }
        );
        // Every owner but the one still handing over is gone: its verdict counts.
        let mut book = VerdictBook::default();
        book.update(&snapshot(
            "p0",
            vec![target(11, true, v1::OwnershipRole::HandingOver)],
        ));
        book.update(&snapshot(
            "p1",
            vec![target(11, false, v1::OwnershipRole::NotOwner)],
        ));
        let v = book.verdicts(&vs(), rs(11), Policy::Majority);
        assert_eq!(v.up, Some(true));
        assert_eq!(&*v.sources[0].prober, "health-prober@p0");
    }

    #[test]
    fn losing_an_owner_never_takes_a_real_server_out() {
        // The two owners disagree (one says down): majority keeps it up.
        // The one saying up dies: its last verdict keeps counting.
        let mut book = VerdictBook::default();
        let assignment = Assignment::new(PROBERS.iter().map(|p| identity(p)), 2);
        let owners: Vec<String> = assignment
            .owners(&id(11))
            .iter()
            .map(|o| o.member.trim_start_matches("health-prober@").to_owned())
            .collect();
        for p in PROBERS {
            let owner = owners.iter().any(|o| o == p);
            let up = p != owners[1];
            let role = if owner {
                v1::OwnershipRole::Owner
            } else {
                v1::OwnershipRole::NotOwner
            };
            book.update(&snapshot(p, vec![target(11, up, role)]));
        }
        assert_eq!(
            book.verdicts(&vs(), rs(11), Policy::Majority).up,
            Some(true)
        );
        book.update(&gone(&owners[0]));
        let v = book.verdicts(&vs(), rs(11), Policy::Majority);
        assert_eq!(v.up, Some(true), "{:?}", v.sources);
    }

    #[test]
    fn a_target_whose_owners_are_all_gone_keeps_its_last_verdict_flagged_stale() {
        let mut book = book_of(&["p0", "p1"], 11, false);
        book.update(&gone("p0"));
        book.update(&gone("p1"));
        let v = book.verdicts(&vs(), rs(11), Policy::Majority);
        assert_eq!(v.up, Some(false), "the last verdict is kept");
        assert!(v.sources.iter().all(|s| s.stale));
        assert_eq!(book.targets_without_live_owner(), 1);
    }

    #[test]
    fn per_target_majority_then_every_checker_must_pass() {
        // Three checkers of one real server, each owned by two of six
        // probers: one checker failing at both of its owners takes the
        // real server down although four of six probers say up.
        let mut book = VerdictBook::default();
        let checkers = ["HTTP_GET", "TCP_CHECK", "SMTP_CHECK"];
        for (i, c) in checkers.iter().enumerate() {
            for p in [format!("p{}", 2 * i), format!("p{}", 2 * i + 1)] {
                let mut t = target(11, *c != "TCP_CHECK", v1::OwnershipRole::Unspecified);
                t.id = format!("{c}:203.0.113.11:80");
                book.update(&snapshot(&p, vec![t]));
            }
        }
        book.set_owners_per_target(keepalived_config::ProberOwners::All);
        let v = book.verdicts(&vs(), rs(11), Policy::Majority);
        assert_eq!(v.up, Some(false));
        assert_eq!(&*v.sources[0].target, "TCP_CHECK:203.0.113.11:80");
    }
}
