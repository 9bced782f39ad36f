//! Reading the kernel back: `nft -j` listings of the tables parsed into
//! the services their records hold, checked against the rules (drift), and
//! the kernel's slot order of round robin services adopted into the memo.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use serde_json::Value;

use super::record::{method_of, parse_record};
use super::slots::{SlotMemo, SlotTarget, slot_rule};
use crate::backend::{BackendError, Counters, ObservedState};
use crate::sched::{self, NftStrategy};
use crate::table::{Dest, DestKey, Service, ServiceKey};
/// Takes the slot order of the one-slot-per-server round robin services
/// from the kernel into `memo` (it differs from a fresh computation after
/// swap-removes and appends, and a restarted process knows only the
/// kernel's): the next server leaving or joining starts from it. A map that
/// is not one slot per live server numbered `0..N` under `mod N` (changed by
/// hand) makes the service absent, to be rewritten.
pub(super) fn adopt_slots(
    memo: &mut SlotMemo,
    observed: &mut ObservedState,
    slots: &BTreeMap<ServiceKey, KernelSlots>,
    device: &str,
) {
    let mut broken = Vec::new();
    for (i, (key, service)) in observed.table.services.iter().enumerate() {
        let Some(ks) = slots.get(key) else {
            continue;
        };
        let persistent = service.spec.persistence.is_some();
        let round_robin = sched::ignores_weights(&service.spec.scheduler)
            && sched::nft_strategy(&service.spec.scheduler, persistent).0
                == NftStrategy::RoundRobin;
        if !round_robin || ks.name != format!("vs{i}") {
            continue;
        }
        let Ok(Some(mut rule)) = slot_rule(i, key, service, device, None) else {
            continue;
        };
        if !rule.one_per_target {
            continue;
        }
        let index: HashMap<SlotTarget, u32> = rule
            .targets
            .iter()
            .enumerate()
            .map(|(n, t)| (*t, n as u32))
            .collect();
        let mut sorted = ks.slots.clone();
        sorted.sort_unstable_by_key(|(n, _)| *n);
        let mut held = vec![false; rule.targets.len()];
        let owners: Option<Vec<u32>> = sorted
            .iter()
            .enumerate()
            .map(|(n, (slot, t))| {
                let o = *index.get(t)?;
                (*slot == n as u64 && !std::mem::replace(&mut held[o as usize], true)).then_some(o)
            })
            .collect();
        match owners {
            Some(owners)
                if owners.len() == rule.targets.len()
                    && ks.modulus == Some(owners.len() as u64) =>
            {
                rule.owners = owners;
                memo.put(i, key, service, rule);
            }
            _ => broken.push(*key),
        }
    }
    for key in broken {
        tracing::debug!(%key, "nft slot map of the service is not one slot per server; treating it as absent");
        observed.table.services.remove(&key);
        memo.0.remove(&key);
    }
}

/// Addresses (and ports, for NAT) a rule sends to.
type Targets = BTreeSet<(IpAddr, Option<u16>)>;

/// A slot map's elements in the kernel: slot number → target.
pub(super) type Slots = Vec<(u64, SlotTarget)>;

/// The slots of a slot map's elements (`[[slot, value], …]`).
fn slots_of(pairs: &Value) -> Option<Slots> {
    let mut out = Vec::new();
    for pair in pairs.as_array()? {
        let slot = pair.get(0)?.as_u64()?;
        let v = pair.get(1)?;
        let target = if let Some(ip) = v.as_str() {
            SlotTarget(ip.parse().ok()?, None)
        } else {
            let c = v.get("concat")?.as_array()?;
            SlotTarget(
                c.first()?.as_str()?.parse().ok()?,
                Some(u16::try_from(c.get(1)?.as_u64()?).ok()?),
            )
        };
        out.push((slot, target));
    }
    Some(out)
}

fn targets_of(slots: &Slots) -> Targets {
    slots.iter().map(|(_, t)| (t.0, t.1)).collect()
}

/// What a rule's `dnat`/`fwd` sends to, from its JSON: an inline map, or
/// `@name` resolved in `maps`; with the `numgen` modulus when it has one.
struct Action {
    dnat: bool,
    slots: Slots,
    modulus: Option<u64>,
}

fn find_action(expr: &Value, maps: &BTreeMap<String, Slots>) -> Option<Action> {
    let (dnat, action) = expr.as_array()?.iter().find_map(|e| {
        e.get("dnat")
            .map(|a| (true, a))
            .or_else(|| e.get("fwd").map(|a| (false, a)))
    })?;
    let map = action.get("addr")?.get("map")?;
    let data = map.get("data")?;
    let slots = match data.as_str() {
        Some(reference) => maps.get(reference.strip_prefix('@')?).cloned()?,
        None => slots_of(data.get("set")?)?,
    };
    let modulus = map
        .get("key")
        .and_then(|k| k.get("numgen"))
        .and_then(|n| n.get("mod"))
        .and_then(Value::as_u64);
    Some(Action {
        dnat,
        slots,
        modulus,
    })
}

fn jump_of(expr: &Value) -> Option<&str> {
    expr.as_array()?
        .iter()
        .find_map(|e| e.get("jump")?.get("target")?.as_str())
}

fn counters_of(expr: &Value) -> Option<Counters> {
    let c = expr
        .as_array()
        .and_then(|l| l.iter().find_map(|e| e.get("counter")))?;
    Some(Counters {
        packets: c.get("packets").and_then(Value::as_u64).unwrap_or(0),
        bytes: c.get("bytes").and_then(Value::as_u64).unwrap_or(0),
        connections: 0,
    })
}

/// The slot order of a NAT service's map as the kernel holds it, read back
/// so that later swap-removes and appends start from it.
#[derive(Debug, Clone)]
pub(super) struct KernelSlots {
    /// The record's name, `vsN`.
    pub(super) name: String,
    pub(super) modulus: Option<u64>,
    pub(super) slots: Slots,
}

/// Reads the two tables back. A service whose rule is missing or does not
/// send to exactly its destinations (changed by hand) is reported absent, so
/// the next diff re-adds it and the apply rewrites it: drift repair. A NAT
/// rule must sit alone in its chain `vsN`, jumped to from `prerouting` (a
/// table of the earlier layout, the rule in `prerouting`, is rewritten once).
pub fn parse(nat: Option<&Value>, dr: Option<&Value>) -> Result<ObservedState, BackendError> {
    parse_slots(&[nat, dr]).map(|(o, _)| o)
}

/// [`parse`] over any of the listings (the `ip`, `ip6` and `netdev` tables), with the
/// kernel's slot order of every NAT service.
pub(super) fn parse_slots(
    listings: &[Option<&Value>],
) -> Result<(ObservedState, BTreeMap<ServiceKey, KernelSlots>), BackendError> {
    let mut records: BTreeMap<String, (ServiceKey, Service)> = BTreeMap::new();
    let mut rules: BTreeMap<String, Action> = BTreeMap::new();
    let mut counters: BTreeMap<String, Counters> = BTreeMap::new();
    let mut jumps: BTreeSet<String> = BTreeSet::new();
    let items = |v: Option<&Value>| -> Vec<Value> {
        v.and_then(|v| v.get("nftables"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let all: Vec<Value> = listings.iter().flat_map(|l| items(*l)).collect();
    // Named slot maps first: rules refer to them.
    let mut maps: BTreeMap<String, Slots> = BTreeMap::new();
    for item in &all {
        if let Some(map) = item.get("map")
            && let Some(name) = map.get("name").and_then(Value::as_str)
        {
            let slots = match map.get("elem") {
                Some(elem) => slots_of(elem)
                    .ok_or_else(|| BackendError::Parse(format!("elements of map {name}")))?,
                None => Slots::new(),
            };
            maps.insert(name.to_owned(), slots);
        }
    }
    for item in &all {
        if let Some(set) = item.get("set") {
            let (Some(name), Some(comment)) = (
                set.get("name").and_then(Value::as_str),
                set.get("comment").and_then(Value::as_str),
            ) else {
                continue;
            };
            let Some((key, spec)) = parse_record(comment) else {
                continue;
            };
            let mut dests = BTreeMap::new();
            for e in set
                .get("elem")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                let c = e
                    .get("concat")
                    .and_then(Value::as_array)
                    .ok_or_else(|| BackendError::Parse(format!("element of {name}: {e}")))?;
                let parsed = (|| {
                    let ip: IpAddr = c.first()?.as_str()?.parse().ok()?;
                    let port = u16::try_from(c.get(1)?.as_u64()?).ok()?;
                    let mark = u32::try_from(c.get(2)?.as_u64()?).ok()?;
                    Some((
                        DestKey { ip, port },
                        Dest {
                            method: method_of(mark & 3)?,
                            weight: mark >> 2,
                        },
                    ))
                })();
                let (k, d) =
                    parsed.ok_or_else(|| BackendError::Parse(format!("element of {name}: {e}")))?;
                dests.insert(k, d);
            }
            records.insert(name.to_owned(), (key, Service { spec, dests }));
        } else if let Some(rule) = item.get("rule") {
            let (Some(comment), Some(expr)) = (
                rule.get("comment").and_then(Value::as_str),
                rule.get("expr"),
            ) else {
                continue;
            };
            let chain = rule.get("chain").and_then(Value::as_str).unwrap_or("");
            if let Some(c) = counters_of(expr) {
                counters.insert(comment.to_owned(), c);
            }
            if chain == "prerouting"
                && let Some(target) = jump_of(expr)
                && target == comment
            {
                jumps.insert(comment.to_owned());
            }
            if let Some(action) = find_action(expr, &maps)
                && (!action.dnat || chain == comment)
            {
                rules.insert(comment.to_owned(), action);
            }
        }
    }
    let mut observed = ObservedState::default();
    let mut kernel_slots = BTreeMap::new();
    for (name, (key, service)) in records {
        let want: BTreeSet<IpAddr> = service
            .dests
            .iter()
            .filter(|(_, d)| d.weight > 0)
            .map(|(k, _)| k.ip)
            .collect();
        if let Some(c) = counters.get(&name) {
            observed.service_counters.insert(key, *c);
        }
        let intact = match rules.remove(&name) {
            None => want.is_empty(),
            Some(action) => {
                let got: BTreeSet<IpAddr> = targets_of(&action.slots)
                    .iter()
                    .map(|(ip, _)| *ip)
                    .collect();
                let ok = got == want && (!action.dnat || jumps.contains(&name));
                if ok && action.dnat {
                    kernel_slots.insert(
                        key,
                        KernelSlots {
                            name: name.clone(),
                            modulus: action.modulus,
                            slots: action.slots,
                        },
                    );
                }
                ok
            }
        };
        if intact {
            observed.table.services.insert(key, service);
        } else {
            tracing::debug!(%key, "nft rule of the service differs from its record; treating it as absent");
        }
    }
    Ok((observed, kernel_slots))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_reads_records_and_detects_a_rule_changed_by_hand() {
        // What `nft -j list table ip keepalived_rs` printed for a NAT service (trimmed).
        let json: Value = serde_json::from_str(
            r#"{"nftables":[{"set":{"family":"ip","name":"vs0","table":"keepalived_rs",
            "comment":"ka1 tcp,198.51.100.10,80 rr - 0",
            "elem":[{"concat":["203.0.113.11",80,5]},{"concat":["203.0.113.12",80,1]}]}},
            {"rule":{"chain":"prerouting","comment":"vs0","expr":[{"counter":{"packets":7,"bytes":420}},
            {"jump":{"target":"vs0"}}]}},
            {"rule":{"chain":"vs0","comment":"vs0","expr":[
            {"dnat":{"family":"ip","addr":{"map":{"key":{"numgen":{"mode":"inc","mod":1}},
            "data":{"set":[[0,{"concat":["203.0.113.11",80]}]]}}}}}]}}]}"#,
        )
        .unwrap();
        let observed = parse(Some(&json), None).unwrap();
        let (key, service) = observed.table.services.iter().next().unwrap();
        assert_eq!(service.dests.len(), 2);
        assert_eq!(service.dests.values().next().unwrap().weight, 1);
        assert_eq!(service.dests.values().nth(1).unwrap().weight, 0);
        assert_eq!(observed.service_counters[key].packets, 7);
        // The same record with the rule gone: reported absent (to be repaired).
        let mut broken = json.clone();
        broken["nftables"].as_array_mut().unwrap().pop();
        assert!(
            parse(Some(&broken), None)
                .unwrap()
                .table
                .services
                .is_empty()
        );
        // The chain intact but the jump to it gone: absent too.
        let mut unjumped = json.clone();
        unjumped["nftables"].as_array_mut().unwrap().remove(1);
        assert!(
            parse(Some(&unjumped), None)
                .unwrap()
                .table
                .services
                .is_empty()
        );
        // The earlier layout (the DNAT rule in prerouting): absent, rewritten once.
        let mut old = json.clone();
        let items = old["nftables"].as_array_mut().unwrap();
        items.remove(1);
        items[1]["rule"]["chain"] = "prerouting".into();
        assert!(parse(Some(&old), None).unwrap().table.services.is_empty());
    }
}
