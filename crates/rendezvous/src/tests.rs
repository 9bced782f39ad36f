use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

fn replicas(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("health-prober@dr/{i}")).collect()
}

fn targets(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("HTTP_GET:203.0.{}.{}:80", i / 250, i % 250))
        .collect()
}

/// How many targets each member owns.
fn loads(a: &Assignment, targets: &[String]) -> BTreeMap<String, usize> {
    let mut load: BTreeMap<String, usize> = a.members().map(|m| (m.to_owned(), 0)).collect();
    for t in targets {
        for o in a.owners(t) {
            *load.get_mut(o.member).unwrap() += 1;
        }
    }
    load
}

#[test]
fn ten_thousand_targets_spread_within_ten_percent_of_the_mean_over_2_to_16_replicas() {
    let targets = targets(10_000);
    let mut worst = (0.0f64, 0, 0);
    for k in 1..=3 {
        for n in 2..=16usize {
            let a = Assignment::new(replicas(n), k);
            let load = loads(&a, &targets);
            let owners = k.min(n);
            assert_eq!(load.values().sum::<usize>(), targets.len() * owners);
            let mean = (targets.len() * owners) as f64 / n as f64;
            let max = *load.values().max().unwrap() as f64;
            if max / mean > worst.0 {
                worst = (max / mean, n, k);
            }
            assert!(
                max / mean <= 1.1,
                "k={k} n={n}: max {max} mean {mean:.1} ({:.3})",
                max / mean
            );
        }
    }
    println!(
        "worst max/mean {:.3} (n={}, k={})",
        worst.0, worst.1, worst.2
    );
}

#[test]
fn every_target_has_min_k_n_distinct_owners_ranked_from_one() {
    for n in 0..6 {
        let a = Assignment::new(replicas(n), 2);
        for t in targets(200) {
            let owners = a.owners(&t);
            assert_eq!(owners.len(), n.min(2));
            let ranks: Vec<usize> = owners.iter().map(|o| o.rank).collect();
            assert_eq!(ranks, (1..=owners.len()).collect::<Vec<_>>());
            if n == 2 {
                assert_ne!(owners[0].member, owners[1].member);
            }
        }
    }
}

#[test]
fn k_at_or_above_the_replica_count_is_every_replica_checking_everything() {
    let a = Assignment::new(replicas(3), 3);
    for t in targets(50) {
        assert_eq!(a.owners(&t).len(), 3);
        assert!(
            a.explain("health-prober@dr/0", &t)
                .contains("every replica")
        );
    }
    // k 0 is taken as 1: a target always has an owner while anyone is live.
    assert_eq!(Assignment::new(replicas(3), 0).owners("x").len(), 1);
}

#[test]
fn the_order_members_are_listed_in_and_duplicates_change_nothing() {
    let mut listed = replicas(5);
    let a = Assignment::new(listed.clone(), 2);
    listed.reverse();
    listed.push(listed[0].clone());
    let b = Assignment::new(listed, 2);
    assert_eq!(a, b);
    for t in targets(100) {
        assert_eq!(a.owners(&t), b.owners(&t));
    }
}

/// The weights are part of the contract between builds: a change here would
/// make two versions of ipvs-manager and the prober disagree during an
/// upgrade.
#[test]
fn the_hash_is_pinned() {
    // Values computed independently (a few lines of Python over the same
    // definition), not by this code.
    let t = hash(b"HTTP_GET:203.0.113.11:80");
    assert_eq!(t, 0x2ddf_a6a0_a174_a7fe);
    assert_eq!(weight(hash(b"health-prober@a"), t), 0x5d3f_c693_22ba_a665);
    assert_eq!(weight(hash(b"health-prober@c"), t), 0x10a9_daa0_af84_bf33);
    let a = Assignment::new(["health-prober@a", "health-prober@b", "health-prober@c"], 2);
    let owners: Vec<&str> = a
        .owners("HTTP_GET:203.0.113.11:80")
        .iter()
        .map(|o| o.member)
        .collect();
    assert_eq!(owners, PINNED_OWNERS);
}

const PINNED_OWNERS: [&str; 2] = ["health-prober@a", "health-prober@b"];

#[test]
fn explain_names_the_rank_or_the_owners() {
    let a = Assignment::new(replicas(4), 2);
    let t = "TCP_CHECK:203.0.113.12:443";
    let owners = a.owners(t);
    let owner = owners[0].member;
    assert_eq!(a.explain(owner, t), "rank 1 of 4 live replicas, k=2");
    let other = a.members().find(|m| a.rank_of(m, t).is_none()).unwrap();
    let why = a.explain(other, t);
    assert!(
        why.starts_with("not among the 2 highest of 4 live replicas (owners: "),
        "{why}"
    );
    assert!(why.contains(owner), "{why}");
}

proptest! {
    /// A replica leaving moves only the targets it owned, each to one new
    /// owner; every other target keeps its owners (in order).
    #[test]
    fn a_leave_moves_only_the_leavers_targets(n in 2usize..12, k in 1usize..4, leaver in 0usize..12) {
        let members = replicas(n);
        let leaver = &members[leaver % n];
        let before = Assignment::new(members.clone(), k);
        let after = Assignment::new(members.iter().filter(|m| *m != leaver), k);
        let mut moved = 0usize;
        let targets = targets(2_000);
        for t in &targets {
            let old: Vec<&str> = before.owners(t).iter().map(|o| o.member).collect();
            let new: Vec<&str> = after.owners(t).iter().map(|o| o.member).collect();
            if old.contains(&leaver.as_str()) {
                moved += 1;
                let kept: Vec<&str> = old.iter().copied().filter(|m| *m != leaver).collect();
                // The survivors keep it, in the same order; at most one newcomer.
                prop_assert_eq!(&new[..kept.len()], &kept[..]);
                prop_assert!(new.len() - kept.len() <= 1);
            } else {
                prop_assert_eq!(old, new);
            }
        }
        // About k/N of the targets moved (generous bounds: this is hashing).
        let expected = targets.len() as f64 * k.min(n) as f64 / n as f64;
        prop_assert!((moved as f64) < expected * 1.3 + 20.0, "moved {} expected {}", moved, expected);
    }

    /// A replica joining takes only targets where it ranks in the top k:
    /// each such target loses exactly its lowest-ranked owner, and nothing
    /// moves between the others.
    #[test]
    fn a_join_moves_only_what_the_joiner_takes(n in 1usize..12, k in 1usize..4) {
        let members = replicas(n + 1);
        let joiner = members[n].clone();
        let before = Assignment::new(members[..n].to_vec(), k);
        let after = Assignment::new(members.clone(), k);
        let mut taken = 0usize;
        let targets = targets(2_000);
        for t in &targets {
            let old: Vec<&str> = before.owners(t).iter().map(|o| o.member).collect();
            let new: Vec<&str> = after.owners(t).iter().map(|o| o.member).collect();
            if new.contains(&joiner.as_str()) {
                taken += 1;
                let others: Vec<&str> = new.iter().copied().filter(|m| *m != joiner).collect();
                prop_assert!(others.iter().all(|m| old.contains(m)));
                prop_assert!(old.len() - others.len() <= 1);
            } else {
                prop_assert_eq!(old, new);
            }
        }
        let expected = targets.len() as f64 * k.min(n + 1) as f64 / (n + 1) as f64;
        prop_assert!((taken as f64) < expected * 1.3 + 20.0, "taken {} expected {}", taken, expected);
        prop_assert!((taken as f64) > expected * 0.7 - 20.0, "taken {} expected {}", taken, expected);
    }
}
