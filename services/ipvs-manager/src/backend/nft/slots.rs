//! Slot tables: each service's forwarding rule and the slot map it looks up
//! (round robin `numgen` slots, weighted like IPVS `wrr`; Maglev tables
//! behind a seeded `jhash`), and [`SlotMemo`], which keeps them between
//! changes.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::record::{push_decimal, push_ip};
use super::supports;
use super::{DR_TABLE, SEED, TABLE, TABLE6};
use crate::backend::BackendError;
use crate::maglev;
use crate::sched::{self, NftStrategy};
use crate::table::{
    Dest, DestKey, Family, Method, Persistence, Proto, Service, ServiceKey, ServiceSpec,
};
/// The slot rules computed last, by service: an entry serves while the
/// service's position and content are the same, so an element update
/// computes only the changed service's new table (a 65,521-slot Maglev
/// fill of 10,000 servers costs milliseconds) and a rewrite recomputes only
/// the services that changed. Keep one per device.
#[derive(Debug, Clone, Default)]
pub struct SlotMemo(pub(super) BTreeMap<ServiceKey, MemoEntry>);

/// A rule and what it was computed from: the service's number, spec and
/// destinations (as a vector: copied and compared several times faster
/// than the map of 10,000).
#[derive(Debug, Clone)]
pub(super) struct MemoEntry {
    index: usize,
    spec: ServiceSpec,
    dests: Vec<(DestKey, Dest)>,
    pub(super) rule: Option<SlotRule>,
}

impl MemoEntry {
    /// Whether this entry was computed for `service` as service number `index`.
    fn is_for(&self, index: usize, service: &Service) -> bool {
        self.index == index
            && self.spec == service.spec
            && self.dests.len() == service.dests.len()
            && self
                .dests
                .iter()
                .zip(&service.dests)
                .all(|((ka, da), (kb, db))| ka == kb && da == db)
    }
}

impl SlotMemo {
    /// The rule of `service` as service number `index`, computed only when
    /// the memo holds none for this content.
    pub(super) fn rule(
        &mut self,
        index: usize,
        key: &ServiceKey,
        service: &Service,
        device: &str,
    ) -> Result<&Option<SlotRule>, BackendError> {
        let fresh = self.0.get(key).is_some_and(|e| e.is_for(index, service));
        if !fresh {
            // A stale entry still knows the permutations of the servers that stayed.
            let stale = self.0.remove(key).and_then(|e| e.rule);
            self.insert(index, key, service, device, stale.as_ref())?;
        }
        Ok(&self.0[key].rule)
    }

    /// Computes the rule of `service` (reusing what `previous` knows) and keeps it.
    pub(super) fn insert(
        &mut self,
        index: usize,
        key: &ServiceKey,
        service: &Service,
        device: &str,
        previous: Option<&SlotRule>,
    ) -> Result<&Option<SlotRule>, BackendError> {
        let rule = slot_rule(index, key, service, device, previous)?;
        let entry = MemoEntry {
            index,
            spec: service.spec.clone(),
            dests: service.dests.iter().map(|(k, d)| (*k, *d)).collect(),
            rule,
        };
        self.0.insert(*key, entry);
        Ok(&self.0[key].rule)
    }

    /// Keeps `rule`, computed elsewhere, as that of `service`.
    pub(super) fn put(
        &mut self,
        index: usize,
        key: &ServiceKey,
        service: &Service,
        rule: SlotRule,
    ) {
        let entry = MemoEntry {
            index,
            spec: service.spec.clone(),
            dests: service.dests.iter().map(|(k, d)| (*k, *d)).collect(),
            rule: Some(rule),
        };
        self.0.insert(*key, entry);
    }

    /// Takes the rule of `service` out of the memo, or computes it.
    pub(super) fn take(
        &mut self,
        index: usize,
        key: &ServiceKey,
        service: &Service,
        device: &str,
    ) -> Result<Option<SlotRule>, BackendError> {
        match self.0.remove(key) {
            Some(e) if e.is_for(index, service) => Ok(e.rule),
            stale => slot_rule(
                index,
                key,
                service,
                device,
                stale.and_then(|e| e.rule).as_ref(),
            ),
        }
    }
}

/// Weighted round robin slots, interleaved the way IPVS `wrr` walks its
/// servers: rounds with a falling current weight `cw` (from the largest
/// weight down by their gcd), each round taking every server whose weight is
/// at least `cw`. Each server appears `weight / gcd` times. Servers sorted by
/// weight make each round a prefix, so the cost is the number of slots, not
/// slots × servers (10,000 equal servers: 10,000 steps).
pub(super) fn weighted_slots(weights: &[u32]) -> Vec<u32> {
    const MAX_SLOTS: u64 = 65521;
    let g = weights
        .iter()
        .copied()
        .filter(|w| *w > 0)
        .fold(0u32, gcd)
        .max(1);
    let mut w: Vec<u64> = weights.iter().map(|w| u64::from(w / g)).collect();
    let total: u64 = w.iter().sum();
    if total > MAX_SLOTS {
        for x in &mut w {
            if *x > 0 {
                *x = (*x * MAX_SLOTS / total).max(1);
            }
        }
    }
    let mut order: Vec<u32> = (0..w.len() as u32).filter(|&i| w[i as usize] > 0).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(w[i as usize]), i));
    let max = order.first().map(|&i| w[i as usize]).unwrap_or(0);
    let mut out = Vec::with_capacity(w.iter().sum::<u64>() as usize);
    let mut prefix = 0;
    for cw in (1..=max).rev() {
        while prefix < order.len() && w[order[prefix] as usize] >= cw {
            prefix += 1;
        }
        out.extend_from_slice(&order[..prefix]);
    }
    out
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Whether the service is IPv6 (its address, or a fwmark service's family).
pub(super) fn is_ipv6(key: &ServiceKey) -> bool {
    match key {
        ServiceKey::Addr { ip, .. } => ip.is_ipv6(),
        ServiceKey::Fwmark { family, .. } => *family == Family::Inet6,
    }
}

/// nft's word for the network header of the service's family.
fn l3(key: &ServiceKey) -> &'static str {
    if is_ipv6(key) { "ip6" } else { "ip" }
}

fn match_expr(key: &ServiceKey) -> String {
    match key {
        ServiceKey::Addr { proto, ip, port } => {
            format!("{} daddr {ip} {} dport {port}", l3(key), proto.name())
        }
        ServiceKey::Fwmark { mark, .. } => format!("meta mark {mark:#x}"),
    }
}

fn source_expr(key: &ServiceKey, p: Option<Persistence>) -> String {
    match p.and_then(|p| p.netmask) {
        Some(mask) => format!("{} saddr & {mask}", l3(key)),
        None => format!("{} saddr", l3(key)),
    }
}

/// A NAT slot map's value type (`typeof`).
fn nat_value_type(key: &ServiceKey, with_port: bool) -> &'static str {
    let v6 = is_ipv6(key);
    match key {
        _ if !with_port => {
            if v6 {
                "ip6 daddr"
            } else {
                "ip daddr"
            }
        }
        ServiceKey::Addr {
            proto: Proto::Tcp, ..
        } => {
            if v6 {
                "ip6 daddr . tcp dport"
            } else {
                "ip daddr . tcp dport"
            }
        }
        ServiceKey::Addr {
            proto: Proto::Udp, ..
        } => {
            if v6 {
                "ip6 daddr . udp dport"
            } else {
                "ip daddr . udp dport"
            }
        }
        ServiceKey::Addr {
            proto: Proto::Sctp, ..
        } => {
            if v6 {
                "ip6 daddr . sctp dport"
            } else {
                "ip daddr . sctp dport"
            }
        }
        ServiceKey::Fwmark { .. } => {
            if v6 {
                "ip6 daddr . th dport"
            } else {
                "ip daddr . th dport"
            }
        }
    }
}

/// The forwarding rule of one service and the slot map it looks up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SlotRule {
    /// In the netdev (DR) table rather than a NAT one.
    pub(super) dr: bool,
    /// An IPv6 service: a NAT rule and its map are in the `ip6` table.
    pub(super) ipv6: bool,
    /// The map's value type, as `typeof`.
    pub(super) value_type: &'static str,
    /// The rule, referencing `@vsN_slots`: for NAT the only rule of chain
    /// `vsN`, for DR a rule of chain `ingress`.
    pub(super) rule: String,
    /// NAT: the rule of chain `prerouting` that matches the service, counts
    /// and jumps to chain `vsN` (its counter survives a new modulus).
    pub(super) jump: Option<String>,
    /// Round robin with one slot per target (`rr`, `lc`, `dh` on NAT): the
    /// slots may be in any order, so a server leaving or joining is a
    /// swap-remove or an append of one slot and a new modulus.
    pub(super) one_per_target: bool,
    /// Where each destination with a weight sends (address, and port for
    /// NAT with ports), in destination order.
    pub(super) targets: Vec<SlotTarget>,
    /// Slot `n` sends to `targets[owners[n]]` (indices, not targets: a
    /// 65,521-slot table is built, kept and compared at every change).
    pub(super) owners: Vec<u32>,
    /// For a Maglev table: each destination's permutation, kept for the next
    /// build of this service.
    pub(super) permutations: Option<Permutations>,
}

impl SlotRule {
    /// The family and table holding the rule and its slot map.
    pub(super) fn table(&self) -> (&'static str, &'static str) {
        match (self.dr, self.ipv6) {
            (true, _) => ("netdev", DR_TABLE),
            (false, true) => ("ip6", TABLE6),
            (false, false) => ("ip", TABLE),
        }
    }
}

/// The Maglev permutations of a service's destinations with a weight, in
/// destination order, for a table of `size` slots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Permutations {
    size: usize,
    of: Vec<(DestKey, maglev::Permutation)>,
}

impl Permutations {
    /// The permutations of `active` (sorted by key), taking those `known`
    /// already holds for the same table size: hashing 10,000 servers costs
    /// more than walking the two sorted lists side by side.
    fn of(active: &[(&DestKey, &Dest)], size: usize, known: Option<&Permutations>) -> Self {
        let known = known
            .filter(|k| k.size == size)
            .map_or(&[][..], |k| k.of.as_slice());
        let mut j = 0;
        let of = active
            .iter()
            .map(|&(key, _)| {
                while known.get(j).is_some_and(|(k, _)| k < key) {
                    j += 1;
                }
                let p = match known.get(j) {
                    Some((k, p)) if k == key => *p,
                    _ => maglev::Permutation::of(key.ip, key.port, size),
                };
                (*key, p)
            })
            .collect();
        Permutations { size, of }
    }
}

/// Where one slot sends: an address, with a port when the map carries one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct SlotTarget(pub(super) IpAddr, pub(super) Option<u16>);

impl SlotTarget {
    /// Appends `address` or `address . port`.
    pub(super) fn push_to(&self, out: &mut String) {
        push_ip(out, self.0);
        if let Some(port) = self.1 {
            out.push_str(" . ");
            push_decimal(out, u64::from(port));
        }
    }
}

/// The rule and slots of service number `i`; `None` when no destination has
/// a weight (the service then has only its record). `previous`, an earlier
/// rule of the same service, lends its Maglev permutations.
pub(super) fn slot_rule(
    i: usize,
    key: &ServiceKey,
    service: &Service,
    device: &str,
    previous: Option<&SlotRule>,
) -> Result<Option<SlotRule>, BackendError> {
    supports(key, service).map_err(BackendError::Unsupported)?;
    let name = format!("vs{i}");
    let active: Vec<(&DestKey, &Dest)> =
        service.dests.iter().filter(|(_, d)| d.weight > 0).collect();
    let Some((_, first)) = active.first() else {
        return Ok(None);
    };
    let persistent = service.spec.persistence.is_some();
    let (strategy, _) = sched::nft_strategy(&service.spec.scheduler, persistent);
    // rr, lc, dh: every server with a weight gets one equal share, as in the kernel.
    let unweighted = sched::ignores_weights(&service.spec.scheduler);
    let weight = |d: &Dest| if unweighted { 1 } else { d.weight };
    let maglev_slots = || {
        let size = maglev::table_size(active.len()).unwrap_or(maglev::SIZES[2]);
        let known = previous.and_then(|p| p.permutations.as_ref());
        let permutations = Permutations::of(&active, size, known);
        let backends: Vec<maglev::Server> = active
            .iter()
            .map(|(k, d)| maglev::Server {
                ip: k.ip,
                port: k.port,
                weight: weight(d),
            })
            .collect();
        (
            maglev::build_with(&backends, |i| permutations.of[i].1, size),
            Some(permutations),
        )
    };
    match first.method {
        Method::Nat => {
            let one_per_target = strategy == NftStrategy::RoundRobin && unweighted;
            let (pick, owners, permutations) = match strategy {
                NftStrategy::RoundRobin => {
                    let weights: Vec<u32> = active.iter().map(|(_, d)| weight(d)).collect();
                    let owners = weighted_slots(&weights);
                    (format!("numgen inc mod {}", owners.len()), owners, None)
                }
                NftStrategy::SourceHash => {
                    let (owners, permutations) = maglev_slots();
                    (
                        format!(
                            "jhash {} mod {} seed {SEED}",
                            source_expr(key, service.spec.persistence),
                            owners.len()
                        ),
                        owners,
                        permutations,
                    )
                }
            };
            let with_port =
                matches!(key, ServiceKey::Addr { .. }) || active.iter().any(|(k, _)| k.port != 0);
            // A port mapping needs a transport match before it (nft), and
            // the map's `typeof` must name the rule's own protocol: `ip daddr
            // . tcp dport` under `udp dport` is "conflicting protocols
            // specified: udp vs. tcp". A fwmark service has no protocol
            // (check_data.c ignores one) and IPVS carries TCP, UDP and SCTP
            // under a mark: all three, and the protocol-neutral `th dport`.
            let l4 = match key {
                ServiceKey::Fwmark { .. } if with_port => "meta l4proto { tcp, udp, sctp } ",
                _ => "",
            };
            let guard = format!("{} {l4}", match_expr(key));
            Ok(Some(SlotRule {
                dr: false,
                ipv6: is_ipv6(key),
                value_type: nat_value_type(key, with_port),
                rule: format!(
                    "{guard}dnat {} {}to {pick} map @{name}_slots comment \"{name}\"",
                    l3(key),
                    if with_port { "addr . port " } else { "" }
                ),
                jump: Some(format!("{guard}counter jump {name} comment \"{name}\"")),
                one_per_target,
                targets: active
                    .iter()
                    .map(|(k, _)| SlotTarget(k.ip, with_port.then_some(k.port)))
                    .collect(),
                owners,
                permutations,
            }))
        }
        Method::Dr => {
            let ServiceKey::Addr { proto, .. } = key else {
                return Err(BackendError::Unsupported(format!(
                    "{key}: fwmark with DR on nft"
                )));
            };
            // A flow hash (never per-packet numgen, which breaks TCP);
            // persistence hashes the client address only.
            let flow = if persistent {
                source_expr(key, service.spec.persistence)
            } else {
                format!("{} saddr . {} sport", l3(key), proto.name())
            };
            let (owners, permutations) = maglev_slots();
            Ok(Some(SlotRule {
                dr: true,
                ipv6: is_ipv6(key),
                value_type: if is_ipv6(key) {
                    "ip6 daddr"
                } else {
                    "ip daddr"
                },
                rule: format!(
                    "meta pkttype host {} counter fwd {} to jhash {flow} mod {} seed {SEED} map @{name}_slots device \"{device}\" comment \"{name}\"",
                    match_expr(key),
                    l3(key),
                    owners.len()
                ),
                jump: None,
                one_per_target: false,
                targets: active.iter().map(|(k, _)| SlotTarget(k.ip, None)).collect(),
                owners,
                permutations,
            }))
        }
        Method::Tun => {
            unreachable_tun(key)?;
            Ok(None)
        }
    }
}

fn unreachable_tun(key: &ServiceKey) -> Result<(), BackendError> {
    Err(BackendError::Unsupported(format!(
        "{key}: lvs_method TUN is not implemented by the nft backend"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_slots_follow_weights_like_ipvs_wrr() {
        assert_eq!(weighted_slots(&[1, 1]), vec![0, 1]);
        assert_eq!(weighted_slots(&[2, 2]), vec![0, 1], "gcd reduced");
        assert_eq!(weighted_slots(&[1, 3, 0, 2]), vec![1, 1, 3, 1, 3, 0]);
        let s = weighted_slots(&[5, 1, 1]);
        assert_eq!(s.len(), 7);
        assert_eq!(s.iter().filter(|&&i| i == 0).count(), 5);
        let equal = weighted_slots(&vec![1; 10_000]);
        assert_eq!(equal, (0..10_000).collect::<Vec<u32>>());
    }
}
