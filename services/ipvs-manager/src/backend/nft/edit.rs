//! Incremental edits: the element updates (and, for a new round robin
//! modulus, the one replaced rule) that carry a change of destinations
//! without rewriting the tables.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;

use super::TABLE;
use super::record::{push_decimal, record_element};
use super::slots::{SlotMemo, SlotRule, SlotTarget};
use crate::table::{Change, DestKey, ServiceKey, TableState};
/// When `changes` only touch destinations and leave every rule as it is
/// (same slot count, same method), the element updates that turn `before`
/// into `after`: the changed record elements and the changed slots, in one
/// file — one transaction, like the full rewrite, but proportional to the
/// change (docs/sandbox.md: replacing one element costs 15–29 ms where
/// reloading 10,000 backends costs ~100 ms). `None` when a full rewrite is needed.
pub fn incremental(
    before: &TableState,
    after: &TableState,
    changes: &[Change],
    device: &str,
) -> Option<String> {
    incremental_memo(&mut SlotMemo::default(), before, after, changes, device)
}

/// [`incremental`], taking the rules of `before` from `memo` and leaving
/// those of `after` in it.
pub fn incremental_memo(
    memo: &mut SlotMemo,
    before: &TableState,
    after: &TableState,
    changes: &[Change],
    device: &str,
) -> Option<String> {
    if changes.iter().any(|c| {
        matches!(
            c,
            Change::AddService { .. } | Change::EditService { .. } | Change::DelService { .. }
        )
    }) || !before.services.keys().eq(after.services.keys())
    {
        return None;
    }
    let touched: BTreeSet<ServiceKey> = changes.iter().map(|c| *c.service()).collect();
    let mut out = String::new();
    for (i, (key, new)) in after.services.iter().enumerate() {
        if !touched.contains(key) {
            continue;
        }
        let old = before.services.get(key)?;
        let a = memo.take(i, key, old, device).ok()?;
        memo.insert(i, key, new, device, a.as_ref()).ok()?;
        let swapped = match (a.as_ref(), memo.0[key].rule.as_ref()) {
            (Some(a), Some(b)) => swapped_slots(a, b),
            _ => None,
        };
        if let (Some(a), Some(owners)) = (a.as_ref(), swapped) {
            let b = memo.0.get_mut(key)?.rule.as_mut()?;
            b.owners = owners;
            swap_text(&mut out, i, a, b);
        } else {
            match (a.as_ref(), memo.0[key].rule.as_ref()) {
                (None, None) => {}
                (Some(a), Some(b))
                    if a.rule == b.rule
                        && a.table() == b.table()
                        && a.owners.len() == b.owners.len() =>
                {
                    let (family, table) = b.table();
                    let moved = moved_slots(a, b);
                    if !moved.is_empty() {
                        let _ = write!(out, "delete element {family} {table} vs{i}_slots {{ ");
                        for (k, &n) in moved.iter().enumerate() {
                            if k > 0 {
                                out.push_str(", ");
                            }
                            push_decimal(&mut out, n as u64);
                        }
                        let _ = write!(out, " }}\nadd element {family} {table} vs{i}_slots {{ ");
                        for (k, &n) in moved.iter().enumerate() {
                            if k > 0 {
                                out.push_str(", ");
                            }
                            push_decimal(&mut out, n as u64);
                            out.push_str(" : ");
                            b.targets[b.owners[n] as usize].push_to(&mut out);
                        }
                        out.push_str(" }\n");
                    }
                }
                _ => return None,
            }
        }
        // `after` is `before` with `changes` applied: only the destinations
        // they name can differ.
        let dests: BTreeSet<&DestKey> = changes
            .iter()
            .filter_map(|c| match c {
                Change::AddDest { service, dest, .. }
                | Change::EditDest { service, dest, .. }
                | Change::DelDest { service, dest }
                    if service == key =>
                {
                    Some(dest)
                }
                _ => None,
            })
            .collect();
        let (mut gone, mut come) = (Vec::new(), Vec::new());
        for d in dests {
            let (o, n) = (old.dests.get(d), new.dests.get(d));
            if o == n {
                continue;
            }
            if let Some(o) = o {
                gone.push(record_element(d, o));
            }
            if let Some(n) = n {
                come.push(record_element(d, n));
            }
        }
        if !gone.is_empty() {
            let _ = writeln!(
                out,
                "delete element ip {TABLE} vs{i} {{ {} }}",
                gone.join(", ")
            );
        }
        if !come.is_empty() {
            let _ = writeln!(
                out,
                "add element ip {TABLE} vs{i} {{ {} }}",
                come.join(", ")
            );
        }
    }
    Some(out)
}

/// For two one-slot-per-target round robin rules of a service (`a` as the
/// kernel holds it, `b` freshly computed), `b`'s owners in the order closest
/// to `a`'s: a target that left gives its slot to the target of the last
/// slot, which is dropped (swap-remove); a target that joined is appended.
/// Every live target keeps one turn per round; only the order differs from
/// a fresh computation. `None` when the rules differ in more than the
/// modulus (another map type, another shape).
fn swapped_slots(a: &SlotRule, b: &SlotRule) -> Option<Vec<u32>> {
    if !(a.one_per_target && b.one_per_target)
        || a.dr
        || b.dr
        || a.value_type != b.value_type
        || a.jump != b.jump
        || a.owners.len() != a.targets.len()
        || b.owners.len() != b.targets.len()
    {
        return None;
    }
    let modulus = |n: usize| format!("numgen inc mod {n} ");
    if a.rule
        .replacen(&modulus(a.owners.len()), &modulus(b.owners.len()), 1)
        != b.rule
    {
        return None;
    }
    let index: HashMap<SlotTarget, u32> = b
        .targets
        .iter()
        .enumerate()
        .map(|(n, t)| (*t, n as u32))
        .collect();
    let mut order: Vec<Option<u32>> = a
        .owners
        .iter()
        .map(|&o| index.get(&a.targets[o as usize]).copied())
        .collect();
    let mut n = 0;
    while n < order.len() {
        if order[n].is_none() {
            order.swap_remove(n);
        } else {
            n += 1;
        }
    }
    let mut held = vec![false; b.targets.len()];
    let mut owners: Vec<u32> = order.into_iter().flatten().collect();
    for &o in &owners {
        held[o as usize] = true;
    }
    owners.extend((0..b.targets.len() as u32).filter(|&o| !held[o as usize]));
    Some(owners)
}

/// The transaction text that turns rule `a` of NAT service `i` into `b`
/// (owners from [`swapped_slots`]): the slots whose target changed, those
/// dropped and those appended, and — when the slot count changes — the rule
/// of chain `vsN` replaced (`flush chain` + `add rule`, no handle needed).
fn swap_text(out: &mut String, i: usize, a: &SlotRule, b: &SlotRule) {
    let (na, nb) = (a.owners.len(), b.owners.len());
    let (mut gone, mut come) = (Vec::new(), Vec::new());
    for n in 0..na.max(nb) {
        let x = (n < na).then(|| a.targets[a.owners[n] as usize]);
        let y = (n < nb).then(|| b.targets[b.owners[n] as usize]);
        if x != y {
            if x.is_some() {
                gone.push(n);
            }
            if let Some(y) = y {
                come.push((n, y));
            }
        }
    }
    let (family, table) = b.table();
    if !gone.is_empty() {
        let _ = write!(out, "delete element {family} {table} vs{i}_slots {{ ");
        for (k, &n) in gone.iter().enumerate() {
            if k > 0 {
                out.push_str(", ");
            }
            push_decimal(out, n as u64);
        }
        out.push_str(" }\n");
    }
    if !come.is_empty() {
        let _ = write!(out, "add element {family} {table} vs{i}_slots {{ ");
        for (k, (n, target)) in come.iter().enumerate() {
            if k > 0 {
                out.push_str(", ");
            }
            push_decimal(out, *n as u64);
            out.push_str(" : ");
            target.push_to(out);
        }
        out.push_str(" }\n");
    }
    if na != nb {
        let _ = writeln!(
            out,
            "flush chain {family} {table} vs{i}\nadd rule {family} {table} vs{i} {}",
            b.rule
        );
    }
}

/// The slots that send somewhere else under `b` than under `a` (two rules
/// with the same number of slots).
pub(super) fn moved_slots(a: &SlotRule, b: &SlotRule) -> Vec<usize> {
    // Each target of `a` → the index of an equal target of `b`, u32::MAX
    // when gone. Both lists are in destination order, so one merge pairs
    // them (equal runs, DR servers sharing an address, pair up in order);
    // then a slot compares two integers instead of two addresses.
    let mut same = vec![u32::MAX; a.targets.len()];
    let (mut i, mut j) = (0, 0);
    while let (Some(t), Some(u)) = (a.targets.get(i), b.targets.get(j)) {
        match t.cmp(u) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                same[i] = j as u32;
                i += 1;
                j += 1;
            }
        }
    }
    a.owners
        .iter()
        .zip(&b.owners)
        .enumerate()
        .filter(|&(_, (&x, &y))| {
            // A different index may still be an equal target (two DR
            // servers on one address and different ports).
            same[x as usize] != y && a.targets[x as usize] != b.targets[y as usize]
        })
        .map(|(n, _)| n)
        .collect()
}
