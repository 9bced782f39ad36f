//! Which health-prober replicas own a check target: rendezvous
//! (highest-random-weight) hashing over the live replica set.
//!
//! Every party that needs the answer — each prober replica, deciding what it
//! checks, and ipvs-manager, deciding whose verdicts count — computes it with
//! this one crate from the same inputs: the target's id
//! (`<CHECKER>:<ip>:<port>[#n]`), the bus identities of the live replicas
//! (`health-prober@<host>[/<replica-id>]`) and `k`. No lock service, no
//! leader: the owners are a pure function of what everyone already sees.
//!
//! Each (replica, target) pair gets a pseudo-random weight; the target's
//! owners are the `k` replicas with the highest weights. A replica leaving
//! moves only the targets it owned (each to the next replica in that
//! target's order); a replica joining takes only the targets where it ranks
//! in the top `k` — about `k/N` of them — and nothing moves between the
//! others.
//!
//! The hash is written out here (FNV-1a, then a 64-bit finaliser) rather
//! than taken from `std`, whose hasher may change between Rust releases: two
//! builds must agree on every owner.
#![forbid(unsafe_code)]

use std::collections::BTreeSet;

/// FNV-1a over `bytes`, then mixed (the finaliser of MurmurHash3's fmix64),
/// so that ids differing in one character get unrelated values.
fn hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    mix(h)
}

fn mix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    h
}

/// The weight of `member` for a target whose [`hash`] is `target`: the
/// member's and the target's hashes combined and mixed again.
fn weight(member: u64, target: u64) -> u64 {
    mix(member ^ target.rotate_left(17))
}

/// The live replica set and `k`: answers who owns a target.
///
/// Members are kept sorted by identity, so two parties listing the same
/// members in another order get the same owners.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Assignment {
    /// (identity, hash of the identity), sorted by identity.
    members: Vec<(String, u64)>,
    k: usize,
}

/// A target's owner, with its place in the target's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner<'a> {
    /// The replica's bus identity.
    pub member: &'a str,
    /// 1 for the replica with the highest weight.
    pub rank: usize,
}

impl Assignment {
    /// `k` owners per target among `members` (duplicates count once). `k` is
    /// at least 1; a `k` at or above the number of members makes every
    /// member own every target (every replica checks everything).
    pub fn new<I, S>(members: I, k: usize) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let set: BTreeSet<String> = members.into_iter().map(Into::into).collect();
        Self {
            members: set
                .into_iter()
                .map(|m| {
                    let h = hash(m.as_bytes());
                    (m, h)
                })
                .collect(),
            k: k.max(1),
        }
    }

    /// The members, sorted.
    pub fn members(&self) -> impl Iterator<Item = &str> {
        self.members.iter().map(|(m, _)| m.as_str())
    }

    /// How many members there are.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// No member at all: nobody owns anything.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The configured number of owners per target.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Whether `member` is in the set.
    pub fn contains(&self, member: &str) -> bool {
        self.members
            .binary_search_by(|(m, _)| m.as_str().cmp(member))
            .is_ok()
    }

    /// The owners of `target`, highest weight first: `min(k, members)` of
    /// them (none when the set is empty).
    pub fn owners(&self, target: &str) -> Vec<Owner<'_>> {
        let t = hash(target.as_bytes());
        let mut ranked: Vec<(u64, &str)> = self
            .members
            .iter()
            .map(|(m, h)| (weight(*h, t), m.as_str()))
            .collect();
        // Highest weight first; equal weights (never seen in practice)
        // ordered by identity so that every party breaks the tie alike.
        ranked.sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        ranked
            .into_iter()
            .take(self.k)
            .enumerate()
            .map(|(i, (_, member))| Owner {
                member,
                rank: i + 1,
            })
            .collect()
    }

    /// Whether `member` owns `target`, and at which rank.
    pub fn rank_of(&self, member: &str, target: &str) -> Option<usize> {
        self.owners(target)
            .into_iter()
            .find(|o| o.member == member)
            .map(|o| o.rank)
    }

    /// Why `member` does or does not own `target`, in words for the API
    /// and kactl, e.g. `rank 1 of 4 live replicas, k=2` or `not among the
    /// 2 highest of 4 live replicas (owners: a, b)`.
    pub fn explain(&self, member: &str, target: &str) -> String {
        let owners = self.owners(target);
        let n = self.len();
        let replicas = if n == 1 { "replica" } else { "replicas" };
        match owners.iter().find(|o| o.member == member) {
            Some(o) if self.k >= n => {
                format!(
                    "rank {} of {n} live {replicas}, k={}: every replica checks every target",
                    o.rank, self.k
                )
            }
            Some(o) => format!("rank {} of {n} live {replicas}, k={}", o.rank, self.k),
            None => format!(
                "not among the {} highest of {n} live {replicas} (owners: {})",
                self.k,
                owners
                    .iter()
                    .map(|o| o.member)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

#[cfg(test)]
mod tests;
