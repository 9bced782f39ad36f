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

/// A backend of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Backend {
    /// Address.
    pub ip: IpAddr,
    /// Port.
    pub port: u16,
    /// Weight; 0 takes no slot.
    pub weight: u32,
}

/// Builds the slot table of size `size` (a prime from [`SIZES`]): entry `i`
/// is the index in `backends` owning slot `i`. Empty when no backend has a
/// weight. Weighted Maglev: per round, each backend earns its weight in
/// credit and claims one preferred free slot per `max weight` of credit, so
/// slot counts are proportional to weights.
pub fn build(backends: &[Backend], size: usize) -> Vec<usize> {
    // Sorted order makes the result independent of the caller's order.
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
            let (buf, len) = name(backends[i].ip, backends[i].port);
            let n = &buf[..len];
            let offset = fnv1a(0x5eed, n) % m;
            let skip = fnv1a(0xb0b5_1ed5, n) % (m - 1) + 1;
            (offset, skip)
        })
        .collect();
    let max_weight = order
        .iter()
        .map(|&i| u64::from(backends[i].weight))
        .max()
        .unwrap_or(1);
    // `pos[j]` is backend j's current preferred slot, `offset + next * skip`
    // mod `m` kept by addition (no division per probe: a 65,521-slot table
    // of 10,000 backends probes ~700,000 times).
    let mut pos: Vec<u64> = prefs.iter().map(|&(offset, _)| offset).collect();
    let mut credit = vec![0u64; order.len()];
    // u32 owners (half the memory of usize: the fill probes it at random).
    let mut slots = vec![u32::MAX; size];
    let mut filled = 0;
    'fill: loop {
        for (j, &i) in order.iter().enumerate() {
            credit[j] += u64::from(backends[i].weight);
            while credit[j] >= max_weight {
                credit[j] -= max_weight;
                let skip = prefs[j].1;
                // The next preferred slot that is still free.
                let mut c = pos[j];
                while slots[c as usize] != u32::MAX {
                    c += skip;
                    if c >= m {
                        c -= m;
                    }
                }
                slots[c as usize] = i as u32;
                c += skip;
                if c >= m {
                    c -= m;
                }
                pos[j] = c;
                filled += 1;
                if filled == size {
                    break 'fill;
                }
            }
        }
    }
    slots.into_iter().map(|s| s as usize).collect()
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use proptest::prelude::*;

    use super::*;

    fn backends(n: usize, weight: impl Fn(usize) -> u32) -> Vec<Backend> {
        (0..n)
            .map(|i| Backend {
                ip: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 1 + (i % 250) as u8)),
                port: 8000 + (i / 250) as u16,
                weight: weight(i),
            })
            .collect()
    }

    fn owners(b: &[Backend], slots: &[usize]) -> Vec<(IpAddr, u16)> {
        slots.iter().map(|&i| (b[i].ip, b[i].port)).collect()
    }

    #[test]
    fn tiers_keep_eight_slots_per_backend_until_the_largest() {
        assert_eq!(table_size(2), Some(1021));
        assert_eq!(table_size(200), Some(16381));
        assert_eq!(table_size(10_000), Some(65521));
        assert_eq!(table_size(70_000), None);
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
    fn reference(backends: &[Backend], size: usize) -> Vec<usize> {
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
        let mut slots = vec![usize::MAX; size];
        let mut filled = 0;
        'fill: loop {
            for (j, &i) in order.iter().enumerate() {
                credit[j] += u64::from(backends[i].weight);
                while credit[j] >= max_weight {
                    credit[j] -= max_weight;
                    let (offset, skip) = prefs[j];
                    let mut c = (offset + next[j] * skip) % m;
                    while slots[c as usize] != usize::MAX {
                        next[j] += 1;
                        c = (offset + next[j] * skip) % m;
                    }
                    slots[c as usize] = i;
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

        #[test]
        fn every_slot_is_owned_and_shares_are_balanced(n in 1usize..60) {
            let b = backends(n, |_| 1);
            let size = table_size(n).unwrap();
            let slots = build(&b, size);
            prop_assert_eq!(slots.len(), size);
            let ideal = size as f64 / n as f64;
            for i in 0..n {
                let c = slots.iter().filter(|&&s| s == i).count() as f64;
                prop_assert!((c - ideal).abs() <= ideal * 0.2 + 1.0, "{c} vs {ideal}");
            }
        }
    }
}
