//! A Maglev consistent-hash slot table (Eisenbud et al., NSDI 2016), with
//! weights, for the nftables data plane.
//!
//! nft hashes a flow (`jhash … seed 0x5eed`) to a slot; this table says which
//! real server owns each slot. It depends only on the set of (real server,
//! weight) pairs and a fixed hash, never on insertion order or the process:
//! two directors with the same configuration build the same table and so
//! send a flow to the same real server, and removing one server reassigns
//! only (about) its own slots.
//!
//! Table sizes are primes chosen by tiers (see [`table_size`]); a change of
//! tier (more than 127, 2047 or 8190 weighted backends) remaps flows, like a
//! change of the IPVS `mh` table would.

use std::net::IpAddr;

/// Slot counts, all prime (Maglev needs a prime size so every skip visits every slot).
pub const SIZES: [usize; 3] = [1021, 16381, 65521];

/// The smallest tier with at least 8 slots per backend (the paper's bound on
/// imbalance needs the table much larger than the backend count), capped at
/// the largest; `None` when there are more backends than the largest table.
pub fn table_size(backends: usize) -> Option<usize> {
    if backends > SIZES[SIZES.len() - 1] {
        return None;
    }
    Some(
        SIZES
            .iter()
            .copied()
            .find(|&m| m >= backends.saturating_mul(8))
            .unwrap_or(SIZES[SIZES.len() - 1]),
    )
}

/// FNV-1a 64 with a seed mixed in: stable across Rust releases and machines
/// (std's hasher is not), which is what makes two directors agree.
fn fnv1a(seed: u64, bytes: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // Final avalanche (splitmix64) so nearby addresses spread.
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// The name a backend is hashed by: its address and port (bytes `..len`).
fn name(ip: IpAddr, port: u16) -> ([u8; 18], usize) {
    let mut v = [0u8; 18];
    let n = match ip {
        IpAddr::V4(a) => {
            v[..4].copy_from_slice(&a.octets());
            4
        }
        IpAddr::V6(a) => {
            v[..16].copy_from_slice(&a.octets());
            16
        }
    };
    v[n..n + 2].copy_from_slice(&port.to_be_bytes());
    (v, n + 2)
}

/// A real server of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Server {
    /// Address.
    pub ip: IpAddr,
    /// Port.
    pub port: u16,
    /// Weight; 0 takes no slot.
    pub weight: u32,
}

/// A backend's preference list in a table of a given size (the paper's
/// permutation): slot `offset`, then every `skip` slots, wrapping. A pure
/// function of address, port and size, so callers may keep it from one
/// build to the next ([`build_with`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permutation {
    /// The first preferred slot.
    pub offset: u32,
    /// The step between preferred slots (never 0).
    pub skip: u32,
}

impl Permutation {
    /// The permutation of the backend at `ip`:`port` in a table of `size` slots.
    pub fn of(ip: IpAddr, port: u16, size: usize) -> Self {
        let (buf, len) = name(ip, port);
        let n = &buf[..len];
        let m = size as u64;
        // Both below `size` (≤ 65,521), so they fit u32.
        Permutation {
            offset: (fnv1a(0x5eed, n) % m) as u32,
            skip: (fnv1a(0xb0b5_1ed5, n) % (m - 1) + 1) as u32,
        }
    }
}

/// Builds the slot table of size `size` (a prime from [`SIZES`]): entry `i`
/// is the index in `backends` owning slot `i`. Empty when no backend has a
/// weight. Weighted Maglev: per round, each backend earns its weight in
/// credit and claims one preferred free slot per `max weight` of credit, so
/// slot counts are proportional to weights.
pub fn build(backends: &[Server], size: usize) -> Vec<u32> {
    build_with(
        backends,
        |i| Permutation::of(backends[i].ip, backends[i].port, size),
        size,
    )
}

/// One backend during the fill, all it needs in one place (the fill visits
/// them in turn, 10,000 of them per round).
#[derive(Clone, Copy)]
struct Walker {
    /// Its next preferred slot: `offset + k * skip` mod size, kept by addition.
    next: u32,
    skip: u32,
    weight: u32,
    /// Its index in the caller's `backends`.
    owner: u32,
    /// Below `max_weight` between turns (u64: a weight may be up to u32::MAX).
    credit: u64,
}

/// Whose turn it is to claim a slot: backends in order, round after round;
/// per round each earns its weight in credit and claims one slot per
/// `max_weight` of credit (with equal weights: one slot each).
struct Turns {
    current: usize,
    /// The current backend has had this round's credit.
    credited: bool,
    max_weight: u64,
}

impl Turns {
    fn next(&mut self, walkers: &mut [Walker]) -> usize {
        loop {
            let w = &mut walkers[self.current];
            if !self.credited {
                w.credit += u64::from(w.weight);
                self.credited = true;
            }
            if w.credit >= self.max_weight {
                w.credit -= self.max_weight;
                return self.current;
            }
            self.current = (self.current + 1) % walkers.len();
            self.credited = false;
        }
    }
}

/// From this many free slots down, a claim looks at every free slot instead
/// of probing: half of a 65,521-slot fill's ~750,000 probes happen in its
/// last 128 slots, where a probe finds a free slot once in 500 on average.
const TAIL: usize = 128;

/// `a`'s inverse modulo the prime `m` (extended Euclid), for `0 < a < m`.
fn inverse(a: u32, m: u32) -> u32 {
    let (mut r, mut next_r) = (i64::from(m), i64::from(a));
    let (mut t, mut next_t) = (0i64, 1i64);
    while next_r != 0 {
        let q = r / next_r;
        (r, next_r) = (next_r, r - q * next_r);
        (t, next_t) = (next_t, t - q * next_t);
    }
    t.rem_euclid(i64::from(m)) as u32
}

/// [`build`] with each backend's permutation given: `permutation(i)` must be
/// `Permutation::of(backends[i].ip, backends[i].port, size)` (kept by the
/// caller from an earlier build, which saves the hashing).
pub fn build_with(
    backends: &[Server],
    permutation: impl Fn(usize) -> Permutation,
    size: usize,
) -> Vec<u32> {
    assert!(
        size <= 65536,
        "table of {size} slots: the largest is 65,536"
    );
    let mut walkers: Vec<Walker> = (0..backends.len())
        .filter(|&i| backends[i].weight > 0)
        .map(|i| {
            let p = permutation(i);
            Walker {
                next: p.offset,
                skip: p.skip,
                weight: backends[i].weight,
                owner: i as u32,
                credit: 0,
            }
        })
        .collect();
    if walkers.is_empty() {
        return Vec::new();
    }
    // Sorted order makes the result independent of the caller's order; it
    // usually arrives sorted (from a BTreeMap), which the sort sees in one pass.
    walkers.sort_by_key(|w| {
        (
            backends[w.owner as usize].ip,
            backends[w.owner as usize].port,
        )
    });
    let max_weight = walkers
        .iter()
        .map(|w| u64::from(w.weight))
        .max()
        .unwrap_or(1);
    let mut turns = Turns {
        current: 0,
        credited: false,
        max_weight,
    };
    let m = size as u32;
    // Which slots are taken, one bit each: 8 kB for the largest table, so
    // the probes stay in the L1 cache (the owners, 256 kB, are written once
    // per slot). A fixed array: `& 1023` proves every index in bounds.
    let mut taken = [0u64; 1024];
    let free = |taken: &[u64; 1024], c: u32| (taken[(c >> 6) as usize & 1023] >> (c & 63)) & 1 == 0;
    let mut owners = vec![u32::MAX; size];
    // `c + skip` mod m, branch-free: when it is below m, subtracting m
    // wraps to a larger number and `min` keeps the sum (a branch here would
    // be mispredicted half the time).
    let step = |c: u32, skip: u32| (c + skip).min((c + skip).wrapping_sub(m));
    for _ in TAIL.min(size)..size {
        let j = turns.next(&mut walkers);
        let w = &mut walkers[j];
        // The first free slot of the walker's preferences, four at a time
        // (one unpredictable branch per four probes instead of per probe).
        let mut c = w.next;
        let slot = loop {
            let c1 = step(c, w.skip);
            let c2 = step(c1, w.skip);
            let c3 = step(c2, w.skip);
            let open = u32::from(free(&taken, c))
                | u32::from(free(&taken, c1)) << 1
                | u32::from(free(&taken, c2)) << 2
                | u32::from(free(&taken, c3)) << 3;
            if open != 0 {
                break [c, c1, c2, c3][open.trailing_zeros() as usize & 3];
            }
            c = step(c3, w.skip);
        };
        taken[(slot >> 6) as usize & 1023] |= 1 << (slot & 63);
        owners[slot as usize] = w.owner;
        w.next = step(slot, w.skip);
    }
    // The tail: the claim is the free slot that probing would reach first,
    // the one `k` skips away with the smallest `k = (slot - next) / skip`
    // mod size (a prime: every skip has an inverse).
    let mut left: Vec<u32> = (0..m).filter(|&c| free(&taken, c)).collect();
    let mut inverses = vec![0u32; walkers.len()];
    while !left.is_empty() {
        let j = turns.next(&mut walkers);
        let w = &mut walkers[j];
        if inverses[j] == 0 {
            inverses[j] = inverse(w.skip, m);
        }
        let mut best = (u32::MAX, 0);
        for (i, &slot) in left.iter().enumerate() {
            let distance = if slot >= w.next {
                slot - w.next
            } else {
                slot + m - w.next
            };
            // Both factors are below m ≤ 65,536: the product fits u32.
            let k = distance * inverses[j] % m;
            if k < best.0 {
                best = (k, i);
            }
        }
        let slot = left.swap_remove(best.1);
        owners[slot as usize] = w.owner;
        w.next = step(slot, w.skip);
    }
    owners
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use proptest::prelude::*;

    use super::*;

    fn backends(n: usize, weight: impl Fn(usize) -> u32) -> Vec<Server> {
        (0..n)
            .map(|i| Server {
                ip: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 1 + (i % 250) as u8)),
                port: 8000 + (i / 250) as u16,
                weight: weight(i),
            })
            .collect()
    }

    fn owners(b: &[Server], slots: &[u32]) -> Vec<(IpAddr, u16)> {
        slots
            .iter()
            .map(|&i| (b[i as usize].ip, b[i as usize].port))
            .collect()
    }

    #[test]
    fn tiers_keep_eight_slots_per_backend_until_the_largest() {
        assert_eq!(table_size(2), Some(1021));
        assert_eq!(table_size(200), Some(16381));
        assert_eq!(table_size(10_000), Some(65521));
        assert_eq!(table_size(70_000), None);
    }

    #[test]
    fn inverses_modulo_the_table_sizes() {
        for m in SIZES {
            let m = m as u32;
            for a in [1, 2, 3, 1000, m / 2, m - 2, m - 1] {
                assert_eq!(u64::from(a) * u64::from(inverse(a, m)) % u64::from(m), 1);
            }
        }
    }

    #[test]
    fn same_backends_in_any_order_give_the_same_table() {
        let b = backends(7, |_| 1);
        let mut r = b.clone();
        r.reverse();
        assert_eq!(owners(&b, &build(&b, 1021)), owners(&r, &build(&r, 1021)));
    }

    #[test]
    fn slots_follow_weights() {
        let b = backends(3, |i| [1, 2, 4][i]);
        let slots = build(&b, 1021);
        let count = |i| slots.iter().filter(|&&s| s == i).count() as f64;
        let total = 1021.0;
        for (i, share) in [(0, 1.0 / 7.0), (1, 2.0 / 7.0), (2, 4.0 / 7.0)] {
            let got = count(i) / total;
            assert!((got - share).abs() < 0.02, "backend {i}: {got} vs {share}");
        }
    }

    #[test]
    fn weight_zero_takes_no_slot_and_no_weight_means_no_table() {
        let b = backends(2, |i| i as u32);
        assert!(build(&b, 1021).iter().all(|&s| s == 1));
        assert!(build(&backends(2, |_| 0), 1021).is_empty());
    }

    /// The table as first written (offset + next * skip, modulo per probe):
    /// the faster fill must give the same slots, or two directors running
    /// different versions would disagree.
    fn reference(backends: &[Server], size: usize) -> Vec<u32> {
        let mut order: Vec<usize> = (0..backends.len())
            .filter(|&i| backends[i].weight > 0)
            .collect();
        if order.is_empty() {
            return Vec::new();
        }
        order.sort_by_key(|&i| (backends[i].ip, backends[i].port));
        let m = size as u64;
        let prefs: Vec<(u64, u64)> = order
            .iter()
            .map(|&i| {
                let n = [
                    match backends[i].ip {
                        IpAddr::V4(a) => a.octets().to_vec(),
                        IpAddr::V6(a) => a.octets().to_vec(),
                    },
                    backends[i].port.to_be_bytes().to_vec(),
                ]
                .concat();
                (fnv1a(0x5eed, &n) % m, fnv1a(0xb0b5_1ed5, &n) % (m - 1) + 1)
            })
            .collect();
        let max_weight = order
            .iter()
            .map(|&i| u64::from(backends[i].weight))
            .max()
            .unwrap_or(1);
        let mut next = vec![0u64; order.len()];
        let mut credit = vec![0u64; order.len()];
        let mut slots = vec![u32::MAX; size];
        let mut filled = 0;
        'fill: loop {
            for (j, &i) in order.iter().enumerate() {
                credit[j] += u64::from(backends[i].weight);
                while credit[j] >= max_weight {
                    credit[j] -= max_weight;
                    let (offset, skip) = prefs[j];
                    let mut c = (offset + next[j] * skip) % m;
                    while slots[c as usize] != u32::MAX {
                        next[j] += 1;
                        c = (offset + next[j] * skip) % m;
                    }
                    slots[c as usize] = i as u32;
                    next[j] += 1;
                    filled += 1;
                    if filled == size {
                        break 'fill;
                    }
                }
            }
        }
        slots
    }

    proptest! {
        #[test]
        fn the_fill_matches_the_reference_table(
            n in 1usize..300,
            weights in proptest::collection::vec(0u32..5, 300),
        ) {
            let b = backends(n, |i| weights[i]);
            let size = table_size(n).unwrap();
            prop_assert_eq!(build(&b, size), reference(&b, size));
        }

        #[test]
        fn the_permutations_given_give_the_table_computed_from_scratch(
            n in 1usize..300,
            weights in proptest::collection::vec(0u32..5, 300),
        ) {
            let b = backends(n, |i| weights[i]);
            let size = table_size(n).unwrap();
            let perms: Vec<Permutation> =
                b.iter().map(|x| Permutation::of(x.ip, x.port, size)).collect();
            prop_assert_eq!(build_with(&b, |i| perms[i], size), reference(&b, size));
        }

        #[test]
        fn removing_one_backend_moves_little_more_than_its_own_slots(
            n in 3usize..40,
            victim in 0usize..40,
        ) {
            let victim = victim % n;
            let all = backends(n, |_| 1);
            let size = table_size(n).unwrap();
            let before = owners(&all, &build(&all, size));
            let mut rest = all.clone();
            let gone = rest.remove(victim);
            let after = owners(&rest, &build(&rest, size));
            let own = before.iter().filter(|o| **o == (gone.ip, gone.port)).count();
            let moved_others = before
                .iter()
                .zip(&after)
                .filter(|(b, a)| **b != (gone.ip, gone.port) && b != a)
                .count();
            // Every slot the victim held must move; of the others, Maglev
            // moves a few (more when the table is only 8x the backends, as
            // here); a modulo hash would move almost all of them.
            prop_assert!(after.iter().all(|o| *o != (gone.ip, gone.port)));
            prop_assert!(
                moved_others <= own * 2 + size / 100,
                "{moved_others} foreign slots moved, victim owned {own}"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]

        /// The larger tiers (16,381 and 65,521 slots), up to 10,000
        /// backends, equal weights and not: a few cases, each is long.
        #[test]
        fn the_fill_matches_the_reference_in_the_large_tiers(
            n in 128usize..10_000,
            weighted in any::<bool>(),
        ) {
            let b = backends(n, |i| if weighted { 1 + (i % 3) as u32 } else { 1 });
            let size = table_size(n).unwrap();
            prop_assert_eq!(build(&b, size), reference(&b, size));
        }

        #[test]
        fn every_slot_is_owned_and_shares_are_balanced(n in 1usize..60) {
            let b = backends(n, |_| 1);
            let size = table_size(n).unwrap();
            let slots = build(&b, size);
            prop_assert_eq!(slots.len(), size);
            let ideal = size as f64 / n as f64;
            for i in 0..n {
                let c = slots.iter().filter(|&&s| s == i as u32).count() as f64;
                prop_assert!((c - ideal).abs() <= ideal * 0.2 + 1.0, "{c} vs {ideal}");
            }
        }
    }
}
