//! The nftables data plane, for kernels without IP_VS (docs/sandbox.md,
//! "nftables as a data plane", has the measurements cited here).
//!
//! Layout, replaced as a whole in ONE `nft -f` transaction when services
//! come, go or change (measured: 0 failed requests across 196 rewrites; two
//! separate commands failed 1943 of 2000), else edited by element updates in
//! one transaction ([`incremental`]):
//!
//! - `table ip keepalived_rs`: per service a record set `vsN` whose comment
//!   holds the service (key, scheduler, persistence) and whose elements are
//!   `address . port . mark` with the destination's weight and method packed
//!   in the mark. It is the authoritative copy `observe()` reads back, so a
//!   restarted ipvs-manager adopts the table instead of flushing it. NAT
//!   services get a rule in chain `prerouting` (nat hook) that matches,
//!   counts and jumps to the service's chain `vsN`, whose only rule is the
//!   DNAT: `numgen inc` over slots for round robin (one per server under
//!   `rr`, `lc`, `dh`, which ignore weights as the kernel's do; weighted for
//!   the others), a Maglev slot table behind `jhash ip saddr` for source
//!   hashing and persistence. With one slot per server, a server leaving
//!   gives its slot to the server of the last slot (swap-remove) and a
//!   server joining is appended, the DNAT rule with its new modulus replaced
//!   by `flush chain vsN` + `add rule`: a few elements, not the table. The
//!   slot order then differs from a fresh computation; [`SlotMemo`] keeps
//!   the kernel's, and `observe` reads it back.
//! - `table netdev keepalived_rs_dr`: DR services, forwarded at ingress of
//!   the director's interface with `fwd ip to jhash ip saddr . tcp sport mod
//!   M seed 0x5eed map {…}` over a Maglev table (see [`crate::maglev`]), so
//!   two directors send a flow to the same real server.
//!
//! Not expressible here (rejected by [`NftBackend::supports`], logged, the
//! service left out): IPv6, TUN, fwmark with DR (the mark is set after
//! ingress), and real servers of one service with different methods.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::IpAddr;
use std::process::{Command, Stdio};

use serde_json::Value;

use super::{Backend, BackendError, Counters, ObservedState};
use crate::maglev;
use crate::sched::{self, NftStrategy};
use crate::table::{
    Change, Dest, DestKey, Family, Method, Persistence, Proto, Service, ServiceKey, ServiceSpec,
    TableState,
};

/// The NAT/bookkeeping table (family `ip`).
pub const TABLE: &str = "keepalived_rs";
/// The DR table (family `netdev`).
pub const DR_TABLE: &str = "keepalived_rs_dr";
/// The jhash seed: fixed, or two directors (and every reload) map the same
/// flow to different real servers (measured: docs/sandbox.md, DR pitfalls).
pub const SEED: &str = "0x5eed";
/// Prefix of the record-set comment, versioned.
const RECORD: &str = "ka1";

/// The nftables backend.
#[derive(Debug)]
pub struct NftBackend {
    nft: String,
    device: String,
    current: TableState,
    memo: SlotMemo,
}

/// The slot rules computed last, by service: an entry serves while the
/// service's position and content are the same, so an element update
/// computes only the changed service's new table (a 65,521-slot Maglev
/// fill of 10,000 servers costs milliseconds) and a rewrite recomputes only
/// the services that changed. Keep one per device.
#[derive(Debug, Clone, Default)]
pub struct SlotMemo(BTreeMap<ServiceKey, MemoEntry>);

/// A rule and what it was computed from: the service's number, spec and
/// destinations (as a vector: copied and compared several times faster
/// than the map of 10,000).
#[derive(Debug, Clone)]
struct MemoEntry {
    index: usize,
    spec: ServiceSpec,
    dests: Vec<(DestKey, Dest)>,
    rule: Option<SlotRule>,
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
    fn rule(
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
    fn insert(
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
    fn put(&mut self, index: usize, key: &ServiceKey, service: &Service, rule: SlotRule) {
        let entry = MemoEntry {
            index,
            spec: service.spec.clone(),
            dests: service.dests.iter().map(|(k, d)| (*k, *d)).collect(),
            rule: Some(rule),
        };
        self.0.insert(*key, entry);
    }

    /// Takes the rule of `service` out of the memo, or computes it.
    fn take(
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

impl NftBackend {
    /// A backend running `nft` (path or name), forwarding DR services out of
    /// `device` (the director's interface towards the real servers).
    pub fn new(nft: impl Into<String>, device: impl Into<String>) -> Self {
        Self {
            nft: nft.into(),
            device: device.into(),
            current: TableState::default(),
            memo: SlotMemo::default(),
        }
    }

    fn run(&self, args: &[&str], stdin: Option<&str>) -> Result<String, BackendError> {
        let mut child = Command::new(&self.nft)
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| BackendError::Io(format!("cannot run {}: {e}", self.nft)))?;
        if let Some(text) = stdin {
            child
                .stdin
                .take()
                .ok_or_else(|| BackendError::Io("nft stdin".into()))?
                .write_all(text.as_bytes())
                .map_err(|e| BackendError::Io(format!("writing to nft: {e}")))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| BackendError::Io(format!("waiting for nft: {e}")))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(BackendError::Refused(
                String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            ))
        }
    }

    fn list(&self, family: &str, table: &str) -> Result<Option<Value>, BackendError> {
        match self.run(&["-j", "list", "table", family, table], None) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| BackendError::Parse(format!("nft -j output: {e}"))),
            Err(BackendError::Refused(msg)) if msg.contains("No such file or directory") => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The `nft -f` text that makes the kernel hold exactly `table`.
    pub fn render(&self, table: &TableState) -> Result<String, BackendError> {
        render(table, &self.device)
    }
}

impl Backend for NftBackend {
    fn kind(&self) -> keepalived_api::v1::Backend {
        keepalived_api::v1::Backend::Nft
    }

    fn supports(&self, key: &ServiceKey, service: &Service) -> Result<(), String> {
        supports(key, service)
    }

    fn observe(&mut self) -> Result<ObservedState, BackendError> {
        let nat = self.list("ip", TABLE)?;
        let dr = self.list("netdev", DR_TABLE)?;
        let (mut observed, slots) = parse_slots(nat.as_ref(), dr.as_ref())?;
        adopt_slots(&mut self.memo, &mut observed, &slots, &self.device);
        self.current = observed.table.clone();
        Ok(observed)
    }

    fn set_timeouts(
        &mut self,
        _tcp: Option<u32>,
        _tcpfin: Option<u32>,
        _udp: Option<u32>,
    ) -> Result<(), BackendError> {
        Err(BackendError::Unsupported(
            "lvs_timeouts is not implemented by the nft backend (conntrack timeouts are the host's)"
                .into(),
        ))
    }

    fn apply(&mut self, changes: &[Change]) -> Result<(), BackendError> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut next = self.current.clone();
        next.apply(changes)
            .map_err(|e| BackendError::Refused(format!("out of step with the kernel: {e}")))?;
        let text =
            match incremental_memo(&mut self.memo, &self.current, &next, changes, &self.device) {
                Some(text) if text.is_empty() => {
                    self.current = next;
                    return Ok(());
                }
                Some(text) => text,
                None => render_memo(&mut self.memo, &next, &self.device)?,
            };
        self.run(&["-f", "-"], Some(&text))?;
        self.current = next;
        Ok(())
    }
}

/// Takes the slot order of the one-slot-per-server round robin services
/// from the kernel into `memo` (it differs from a fresh computation after
/// swap-removes and appends, and a restarted process knows only the
/// kernel's): the next server leaving or joining starts from it. A map that
/// is not one slot per live server numbered `0..N` under `mod N` (changed by
/// hand) makes the service absent, to be rewritten.
fn adopt_slots(
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

/// Whether nft can carry this service (see the module comment).
pub fn supports(key: &ServiceKey, service: &Service) -> Result<(), String> {
    let mut ipv6 = match key {
        ServiceKey::Addr { ip, .. } => ip.is_ipv6(),
        ServiceKey::Fwmark { family, .. } => *family == Family::Inet6,
    };
    // One pass over the destinations (this runs at every change of a
    // 10,000-server service): which methods occur, by `method_code`.
    let mut methods = [false; 3];
    let mut active = 0;
    for (k, d) in &service.dests {
        ipv6 |= k.ip.is_ipv6();
        methods[method_code(d.method) as usize] = true;
        active += usize::from(d.weight > 0);
    }
    if ipv6 {
        return Err(format!(
            "{key}: IPv6 virtual servers are not implemented by the nft backend"
        ));
    }
    if methods[method_code(Method::Tun) as usize] {
        return Err(format!(
            "{key}: lvs_method TUN is not implemented by the nft backend (nft cannot encapsulate)"
        ));
    }
    if methods.iter().filter(|&&m| m).count() > 1 {
        return Err(format!(
            "{key}: real servers with different lvs_method in one virtual server are not implemented by the nft backend"
        ));
    }
    if matches!(key, ServiceKey::Fwmark { .. }) && methods[method_code(Method::Dr) as usize] {
        return Err(format!(
            "{key}: fwmark virtual servers with lvs_method DR are not implemented by the nft backend (the mark is set after the ingress hook)"
        ));
    }
    if maglev::table_size(active).is_none() {
        return Err(format!(
            "{key}: more than {} real servers",
            maglev::SIZES[maglev::SIZES.len() - 1]
        ));
    }
    Ok(())
}

fn method_code(m: Method) -> u32 {
    match m {
        Method::Dr => 0,
        Method::Nat => 1,
        Method::Tun => 2,
    }
}

fn method_of(code: u32) -> Option<Method> {
    match code {
        0 => Some(Method::Dr),
        1 => Some(Method::Nat),
        2 => Some(Method::Tun),
        _ => None,
    }
}

/// The record comment: `ka1 tcp,198.51.100.10,80 rr 30/255.255.255.0 0`.
fn record_comment(key: &ServiceKey, spec: &ServiceSpec) -> String {
    let k = match key {
        ServiceKey::Addr { proto, ip, port } => format!("{},{ip},{port}", proto.name()),
        ServiceKey::Fwmark { family, mark } => format!(
            "fwm,{},{mark}",
            if *family == Family::Inet {
                "inet"
            } else {
                "inet6"
            }
        ),
    };
    let p = match spec.persistence {
        None => "-".to_owned(),
        Some(Persistence {
            timeout,
            netmask: None,
        }) => timeout.to_string(),
        Some(Persistence {
            timeout,
            netmask: Some(m),
        }) => format!("{timeout}/{m}"),
    };
    format!("{RECORD} {k} {} {p} {}", spec.scheduler, u8::from(spec.ops))
}

fn parse_record(comment: &str) -> Option<(ServiceKey, ServiceSpec)> {
    let mut it = comment.split(' ');
    if it.next()? != RECORD {
        return None;
    }
    let k: Vec<&str> = it.next()?.split(',').collect();
    let key = match k.as_slice() {
        ["fwm", fam, mark] => ServiceKey::Fwmark {
            family: if *fam == "inet" {
                Family::Inet
            } else {
                Family::Inet6
            },
            mark: mark.parse().ok()?,
        },
        [proto, ip, port] => ServiceKey::Addr {
            proto: Proto::from_name(proto)?,
            ip: ip.parse().ok()?,
            port: port.parse().ok()?,
        },
        _ => return None,
    };
    let scheduler = it.next()?.to_owned();
    let persistence = match it.next()? {
        "-" => None,
        p => {
            let (t, m) = match p.split_once('/') {
                Some((t, m)) => (t, Some(m.parse().ok()?)),
                None => (p, None),
            };
            Some(Persistence {
                timeout: t.parse().ok()?,
                netmask: m,
            })
        }
    };
    let ops = it.next()? == "1";
    Some((
        key,
        ServiceSpec {
            scheduler,
            persistence,
            ops,
        },
    ))
}

/// Weighted round robin slots, interleaved the way IPVS `wrr` walks its
/// servers: rounds with a falling current weight `cw` (from the largest
/// weight down by their gcd), each round taking every server whose weight is
/// at least `cw`. Each server appears `weight / gcd` times. Servers sorted by
/// weight make each round a prefix, so the cost is the number of slots, not
/// slots × servers (10,000 equal servers: 10,000 steps).
fn weighted_slots(weights: &[u32]) -> Vec<u32> {
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

fn match_expr(key: &ServiceKey) -> String {
    match key {
        ServiceKey::Addr { proto, ip, port } => {
            format!("ip daddr {ip} {} dport {port}", proto.name())
        }
        ServiceKey::Fwmark { mark, .. } => format!("meta mark {mark:#x}"),
    }
}

fn source_expr(p: Option<Persistence>) -> String {
    match p.and_then(|p| p.netmask) {
        Some(mask) => format!("ip saddr & {mask}"),
        None => "ip saddr".to_owned(),
    }
}

/// The record elements of a service: `address . port . mark`, the mark
/// packing weight and method.
fn record_element(d: &DestKey, spec: &Dest) -> String {
    let mut out = String::new();
    write_record_element(&mut out, d, spec);
    out
}

fn write_record_element(out: &mut String, d: &DestKey, spec: &Dest) {
    push_ip(out, d.ip);
    out.push_str(" . ");
    push_decimal(out, u64::from(d.port));
    let _ = write!(
        out,
        " . {:#x}",
        (spec.weight << 2) | method_code(spec.method)
    );
}

/// Appends `n` in decimal (rendering 10,000-server tables writes ~100,000
/// numbers; `write!` costs several times this).
fn push_decimal(out: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &b in &buf[i..] {
        out.push(char::from(b));
    }
}

/// Appends an address as `Display` writes it (IPv4 by hand, the fast path).
fn push_ip(out: &mut String, ip: IpAddr) {
    match ip {
        IpAddr::V4(a) => {
            for (k, o) in a.octets().into_iter().enumerate() {
                if k > 0 {
                    out.push('.');
                }
                push_decimal(out, u64::from(o));
            }
        }
        IpAddr::V6(_) => {
            let _ = write!(out, "{ip}");
        }
    }
}

/// The forwarding rule of one service and the slot map it looks up.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SlotRule {
    /// In the netdev (DR) table rather than the ip (NAT) one.
    dr: bool,
    /// The map's value type, as `typeof`.
    value_type: &'static str,
    /// The rule, referencing `@vsN_slots`: for NAT the only rule of chain
    /// `vsN`, for DR a rule of chain `ingress`.
    rule: String,
    /// NAT: the rule of chain `prerouting` that matches the service, counts
    /// and jumps to chain `vsN` (its counter survives a new modulus).
    jump: Option<String>,
    /// Round robin with one slot per target (`rr`, `lc`, `dh` on NAT): the
    /// slots may be in any order, so a server leaving or joining is a
    /// swap-remove or an append of one slot and a new modulus.
    one_per_target: bool,
    /// Where each destination with a weight sends (address, and port for
    /// NAT with ports), in destination order.
    targets: Vec<SlotTarget>,
    /// Slot `n` sends to `targets[owners[n]]` (indices, not targets: a
    /// 65,521-slot table is built, kept and compared at every change).
    owners: Vec<u32>,
    /// For a Maglev table: each destination's permutation, kept for the next
    /// build of this service.
    permutations: Option<Permutations>,
}

/// The Maglev permutations of a service's destinations with a weight, in
/// destination order, for a table of `size` slots.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Permutations {
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
struct SlotTarget(IpAddr, Option<u16>);

impl SlotTarget {
    /// Appends `address` or `address . port`.
    fn push_to(&self, out: &mut String) {
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
fn slot_rule(
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
        let backends: Vec<maglev::Backend> = active
            .iter()
            .map(|(k, d)| maglev::Backend {
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
                            source_expr(service.spec.persistence),
                            owners.len()
                        ),
                        owners,
                        permutations,
                    )
                }
            };
            let with_port =
                matches!(key, ServiceKey::Addr { .. }) || active.iter().any(|(k, _)| k.port != 0);
            let l4 = match key {
                ServiceKey::Fwmark { .. } if with_port => "meta l4proto { tcp, udp } ",
                _ => "",
            };
            let guard = format!("{} {l4}", match_expr(key));
            Ok(Some(SlotRule {
                dr: false,
                value_type: if with_port {
                    "ip daddr . tcp dport"
                } else {
                    "ip daddr"
                },
                rule: format!(
                    "{guard}dnat ip {}to {pick} map @{name}_slots comment \"{name}\"",
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
                source_expr(service.spec.persistence)
            } else {
                format!("ip saddr . {} sport", proto.name())
            };
            let (owners, permutations) = maglev_slots();
            Ok(Some(SlotRule {
                dr: true,
                value_type: "ip daddr",
                rule: format!(
                    "meta pkttype host {} counter fwd ip to jhash {flow} mod {} seed {SEED} map @{name}_slots device \"{device}\" comment \"{name}\"",
                    match_expr(key),
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

/// A named slot map. Declared `typeof numgen …` because nft 1.0.6 crashes
/// listing a map declared `typeof jhash …`; both keys are 32-bit integers.
fn slot_map(out: &mut String, i: usize, r: &SlotRule) {
    let _ = write!(
        out,
        "  map vs{i}_slots {{\n    typeof numgen inc mod 1 : {}\n    elements = {{ ",
        r.value_type
    );
    for (n, &owner) in r.owners.iter().enumerate() {
        if n > 0 {
            out.push_str(", ");
        }
        push_decimal(out, n as u64);
        out.push_str(" : ");
        r.targets[owner as usize].push_to(out);
    }
    out.push_str(" }\n  }\n");
}

/// Renders the whole ruleset: delete-and-recreate both tables inside one
/// file, which nft applies as one transaction.
pub fn render(table: &TableState, device: &str) -> Result<String, BackendError> {
    render_memo(&mut SlotMemo::default(), table, device)
}

/// [`render`], reusing (and refreshing) the slot rules of `memo`.
pub fn render_memo(
    memo: &mut SlotMemo,
    table: &TableState,
    device: &str,
) -> Result<String, BackendError> {
    memo.0.retain(|k, _| table.services.contains_key(k));
    let mut out = String::with_capacity(4096);
    // `table x {}` first so that `delete table x` cannot fail when absent.
    let _ = writeln!(out, "table ip {TABLE} {{}}\ndelete table ip {TABLE}");
    let _ = writeln!(
        out,
        "table netdev {DR_TABLE} {{}}\ndelete table netdev {DR_TABLE}"
    );
    let mut nat_rules = String::new();
    let mut dr_maps = String::new();
    let mut dr_rules = String::new();
    let _ = writeln!(out, "table ip {TABLE} {{");
    for (i, (key, service)) in table.services.iter().enumerate() {
        let _ = write!(
            out,
            "  set vs{i} {{\n    type ipv4_addr . inet_service . mark\n    comment \"{}\"\n",
            record_comment(key, &service.spec)
        );
        if !service.dests.is_empty() {
            out.push_str("    elements = { ");
            for (n, (d, spec)) in service.dests.iter().enumerate() {
                if n > 0 {
                    out.push_str(", ");
                }
                write_record_element(&mut out, d, spec);
            }
            out.push_str(" }\n");
        }
        out.push_str("  }\n");
        let Some(r) = memo.rule(i, key, service, device)? else {
            continue;
        };
        if r.dr {
            slot_map(&mut dr_maps, i, r);
            let _ = writeln!(dr_rules, "    {}", r.rule);
        } else {
            slot_map(&mut out, i, r);
            let _ = writeln!(out, "  chain vs{i} {{\n    {}\n  }}", r.rule);
            if let Some(jump) = &r.jump {
                let _ = writeln!(nat_rules, "    {jump}");
            }
        }
    }
    let _ = writeln!(
        out,
        "  chain prerouting {{\n    type nat hook prerouting priority dstnat; policy accept;\n{nat_rules}  }}\n}}"
    );
    if !dr_rules.is_empty() {
        let _ = writeln!(
            out,
            "table netdev {DR_TABLE} {{\n{dr_maps}  chain ingress {{\n    type filter hook ingress device \"{device}\" priority 0; policy accept;\n{dr_rules}  }}\n}}"
        );
    }
    Ok(out)
}

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
                    if a.rule == b.rule && a.dr == b.dr && a.owners.len() == b.owners.len() =>
                {
                    let (family, table) = if b.dr {
                        ("netdev", DR_TABLE)
                    } else {
                        ("ip", TABLE)
                    };
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
    if !gone.is_empty() {
        let _ = write!(out, "delete element ip {TABLE} vs{i}_slots {{ ");
        for (k, &n) in gone.iter().enumerate() {
            if k > 0 {
                out.push_str(", ");
            }
            push_decimal(out, n as u64);
        }
        out.push_str(" }\n");
    }
    if !come.is_empty() {
        let _ = write!(out, "add element ip {TABLE} vs{i}_slots {{ ");
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
            "flush chain ip {TABLE} vs{i}\nadd rule ip {TABLE} vs{i} {}",
            b.rule
        );
    }
}

/// The slots that send somewhere else under `b` than under `a` (two rules
/// with the same number of slots).
fn moved_slots(a: &SlotRule, b: &SlotRule) -> Vec<usize> {
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

fn unreachable_tun(key: &ServiceKey) -> Result<(), BackendError> {
    Err(BackendError::Unsupported(format!(
        "{key}: lvs_method TUN is not implemented by the nft backend"
    )))
}

/// Addresses (and ports, for NAT) a rule sends to.
type Targets = BTreeSet<(IpAddr, Option<u16>)>;

/// A slot map's elements in the kernel: slot number → target.
type Slots = Vec<(u64, SlotTarget)>;

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
struct KernelSlots {
    /// The record's name, `vsN`.
    name: String,
    modulus: Option<u64>,
    slots: Slots,
}

/// Reads the two tables back. A service whose rule is missing or does not
/// send to exactly its destinations (changed by hand) is reported absent, so
/// the next diff re-adds it and the apply rewrites it: drift repair. A NAT
/// rule must sit alone in its chain `vsN`, jumped to from `prerouting` (a
/// table of the earlier layout, the rule in `prerouting`, is rewritten once).
pub fn parse(nat: Option<&Value>, dr: Option<&Value>) -> Result<ObservedState, BackendError> {
    parse_slots(nat, dr).map(|(o, _)| o)
}

/// [`parse`], with the kernel's slot order of every NAT service.
fn parse_slots(
    nat: Option<&Value>,
    dr: Option<&Value>,
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
    let all: Vec<Value> = items(nat).into_iter().chain(items(dr)).collect();
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
    use proptest::prelude::*;

    use super::*;

    fn service(method: Method, weights: &[(u8, u32)], sched: &str) -> (ServiceKey, Service) {
        (
            ServiceKey::Addr {
                proto: Proto::Tcp,
                ip: "198.51.100.10".parse().unwrap(),
                port: 80,
            },
            Service {
                spec: ServiceSpec {
                    scheduler: sched.into(),
                    persistence: None,
                    ops: false,
                },
                dests: weights
                    .iter()
                    .map(|(last, weight)| {
                        (
                            DestKey {
                                ip: format!("203.0.113.{last}").parse().unwrap(),
                                port: 80,
                            },
                            Dest {
                                method,
                                weight: *weight,
                            },
                        )
                    })
                    .collect(),
            },
        )
    }

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

    #[test]
    fn records_round_trip_through_the_comment() {
        let (key, mut svc) = service(Method::Nat, &[], "wrr");
        svc.spec.persistence = Some(Persistence {
            timeout: 300,
            netmask: Some("255.255.255.0".parse().unwrap()),
        });
        let comment = record_comment(&key, &svc.spec);
        assert!(comment.len() < 128, "nft comments hold 128 bytes");
        assert_eq!(parse_record(&comment), Some((key, svc.spec)));
        let fw = ServiceKey::Fwmark {
            family: Family::Inet,
            mark: 7,
        };
        let spec = ServiceSpec {
            scheduler: "rr".into(),
            persistence: None,
            ops: true,
        };
        assert_eq!(parse_record(&record_comment(&fw, &spec)), Some((fw, spec)));
    }

    #[test]
    fn nat_round_robin_renders_numgen_and_dr_renders_a_seeded_flow_hash() {
        let mut t = TableState::default();
        let (k, s) = service(Method::Nat, &[(11, 1), (12, 1), (13, 0)], "rr");
        t.services.insert(k, s);
        let text = render(&t, "eth0").unwrap();
        assert!(
            text.contains("dnat ip addr . port to numgen inc mod 2 map @vs0_slots"),
            "{text}"
        );
        assert!(
            text.contains("elements = { 0 : 203.0.113.11 . 80, 1 : 203.0.113.12 . 80 }"),
            "{text}"
        );
        assert!(
            text.contains("203.0.113.13 . 80 . 0x1"),
            "weight-0 kept in the record: {text}"
        );
        let mut t = TableState::default();
        let (k, s) = service(Method::Dr, &[(11, 1), (12, 1)], "rr");
        t.services.insert(k, s);
        let text = render(&t, "eth0").unwrap();
        assert!(
            text.contains(
                "fwd ip to jhash ip saddr . tcp sport mod 1021 seed 0x5eed map @vs0_slots"
            ),
            "{text}"
        );
        assert!(text.contains("device \"eth0\""));
    }

    #[test]
    fn persistence_and_fwmark_render_what_nft_accepts() {
        // Both rule shapes were loaded by nft 1.0.6 as written here.
        let (k, mut s) = service(Method::Nat, &[(11, 1), (12, 1)], "rr");
        s.spec.persistence = Some(Persistence {
            timeout: 300,
            netmask: Some("255.255.255.0".parse().unwrap()),
        });
        let mut t = TableState::default();
        t.services.insert(k, s.clone());
        let text = render(&t, "eth0").unwrap();
        assert!(
            text.contains(
                "dnat ip addr . port to jhash ip saddr & 255.255.255.0 mod 1021 seed 0x5eed map @vs0_slots"
            ),
            "{text}"
        );
        let fw = ServiceKey::Fwmark {
            family: Family::Inet,
            mark: 7,
        };
        s.spec.persistence = None;
        let mut t = TableState::default();
        t.services.insert(fw, s);
        let text = render(&t, "eth0").unwrap();
        assert!(
            text.contains("meta mark 0x7 meta l4proto { tcp, udp } dnat ip addr . port to numgen inc mod 2 map @vs0_slots"),
            "{text}"
        );
        assert!(
            text.contains(
                "meta mark 0x7 meta l4proto { tcp, udp } counter jump vs0 comment \"vs0\""
            ),
            "{text}"
        );
    }

    #[test]
    fn a_server_leaving_a_maglev_table_is_an_element_update_of_its_slots() {
        let mut before = TableState::default();
        let (k, s) = service(Method::Dr, &[(11, 1), (12, 1), (13, 1)], "rr");
        before.services.insert(k, s);
        let mut after = before.clone();
        let change = Change::EditDest {
            service: k,
            dest: DestKey {
                ip: "203.0.113.13".parse().unwrap(),
                port: 80,
            },
            spec: Dest {
                method: Method::Dr,
                weight: 0,
            },
        };
        after.apply(std::slice::from_ref(&change)).unwrap();
        let text = incremental(&before, &after, &[change], "eth0").expect("element update");
        assert!(!text.contains("table"), "no table rewrite: {text}");
        assert!(text.contains("delete element netdev keepalived_rs_dr vs0_slots {"));
        assert!(text.contains("delete element ip keepalived_rs vs0 { 203.0.113.13 . 80 . 0x4 }"));
        assert!(text.contains("add element ip keepalived_rs vs0 { 203.0.113.13 . 80 . 0x0 }"));
        let moved = text.lines().nth(1).unwrap().matches(" : ").count();
        assert!(
            moved > 250 && moved < 450,
            "about a third of 1021 slots: {moved}"
        );
        assert!(!text.lines().nth(1).unwrap().contains("203.0.113.13"));
    }

    #[test]
    fn numbers_and_addresses_are_written_as_display_writes_them() {
        for n in [0u64, 7, 10, 65521, u64::MAX] {
            let mut out = String::new();
            push_decimal(&mut out, n);
            assert_eq!(out, n.to_string());
        }
        for ip in [
            "203.0.113.0",
            "203.0.113.39",
            "198.51.100.255",
            "2001:db8::1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            let mut out = String::new();
            push_ip(&mut out, ip);
            assert_eq!(out, ip.to_string());
        }
    }

    #[test]
    fn the_memo_gives_the_text_computed_without_it() {
        let mut memo = SlotMemo::default();
        let mut before = TableState::default();
        let (k, s) = service(Method::Dr, &[(11, 1), (12, 1), (13, 1)], "rr");
        before.services.insert(k, s);
        let (_, mut nat) = service(Method::Nat, &[(21, 1), (22, 3)], "wrr");
        nat.spec.persistence = Some(Persistence {
            timeout: 60,
            netmask: None,
        });
        let k2 = ServiceKey::Fwmark {
            family: Family::Inet,
            mark: 3,
        };
        before.services.insert(k2, nat);
        assert_eq!(
            render_memo(&mut memo, &before, "eth0").unwrap(),
            render(&before, "eth0").unwrap()
        );
        let dest = |last: u8| DestKey {
            ip: format!("203.0.113.{last}").parse().unwrap(),
            port: 80,
        };
        let steps = [
            Change::EditDest {
                service: k,
                dest: dest(13),
                spec: Dest {
                    method: Method::Dr,
                    weight: 2,
                },
            },
            Change::EditDest {
                service: k2,
                dest: dest(22),
                spec: Dest {
                    method: Method::Nat,
                    weight: 0,
                },
            },
            Change::DelDest {
                service: k,
                dest: dest(11),
            },
            Change::AddDest {
                service: k,
                dest: dest(14),
                spec: Dest {
                    method: Method::Dr,
                    weight: 1,
                },
            },
        ];
        for change in steps {
            let mut after = before.clone();
            after.apply(std::slice::from_ref(&change)).unwrap();
            let changes = [change];
            let plain = incremental(&before, &after, &changes, "eth0");
            let memo_text = incremental_memo(&mut memo, &before, &after, &changes, "eth0");
            assert_eq!(memo_text, plain);
            assert_eq!(
                render_memo(&mut memo, &after, "eth0").unwrap(),
                render(&after, "eth0").unwrap()
            );
            before = after;
        }
    }

    /// `before` with one destination's weight changed, and that change.
    fn reweighted(
        before: &TableState,
        last: u8,
        method: Method,
        weight: u32,
    ) -> (TableState, Change) {
        let service = *before.services.keys().next().unwrap();
        let change = Change::EditDest {
            service,
            dest: DestKey {
                ip: format!("203.0.113.{last}").parse().unwrap(),
                port: 80,
            },
            spec: Dest { method, weight },
        };
        let mut after = before.clone();
        after.apply(std::slice::from_ref(&change)).unwrap();
        (after, change)
    }

    #[test]
    fn round_robin_ignores_weights_like_ipvs_rr_and_wrr_follows_them() {
        // ip_vs_rr.c: one turn per server with a weight, whatever the weight.
        let (k, s) = service(Method::Nat, &[(11, 1), (12, 5), (13, 0)], "rr");
        let rr = slot_rule(0, &k, &s, "eth0", None).unwrap().unwrap();
        assert_eq!(rr.owners, vec![0, 1], "one slot each, none for weight 0");
        assert!(rr.rule.contains("numgen inc mod 2"), "{}", rr.rule);
        for sched in ["lc", "dh"] {
            let (k, s) = service(Method::Nat, &[(11, 1), (12, 5)], sched);
            let r = slot_rule(0, &k, &s, "eth0", None).unwrap().unwrap();
            assert_eq!(r.owners.len(), 2, "{sched}");
        }
        let (k, s) = service(Method::Nat, &[(11, 1), (12, 5), (13, 0)], "wrr");
        let wrr = slot_rule(0, &k, &s, "eth0", None).unwrap().unwrap();
        assert_eq!(wrr.owners.len(), 6, "1 + 5 slots");
        assert_eq!(wrr.owners.iter().filter(|&&o| o == 1).count(), 5);
        // Maglev (DR, or persistence) too: equal shares under rr, weighted under wrr.
        let share = |sched: &str| {
            let (k, s) = service(Method::Dr, &[(11, 1), (12, 3)], sched);
            let r = slot_rule(0, &k, &s, "eth0", None).unwrap().unwrap();
            r.owners.iter().filter(|&&o| o == 1).count() as f64 / r.owners.len() as f64
        };
        assert!((share("rr") - 0.5).abs() < 0.05, "{}", share("rr"));
        assert!((share("wrr") - 0.75).abs() < 0.05, "{}", share("wrr"));
    }

    #[test]
    fn a_weight_change_under_rr_updates_only_the_record() {
        for method in [Method::Nat, Method::Dr] {
            let mut before = TableState::default();
            let (k, s) = service(method, &[(11, 1), (12, 1)], "rr");
            before.services.insert(k, s);
            let (after, change) = reweighted(&before, 12, method, 2);
            let text = incremental(&before, &after, &[change], "eth0").expect("element update");
            let code = method_code(method);
            assert_eq!(
                text,
                format!(
                    "delete element ip keepalived_rs vs0 {{ 203.0.113.12 . 80 . {:#x} }}\n\
                     add element ip keepalived_rs vs0 {{ 203.0.113.12 . 80 . {:#x} }}\n",
                    4 | code,
                    8 | code
                ),
                "{method:?}"
            );
            // Weight 0 takes the server's slot out: a new slot count, for NAT
            // the last slot dropped and the rule of chain vs0 replaced.
            let (gone, change) = reweighted(&before, 12, method, 0);
            let text = incremental(&before, &gone, &[change], "eth0").unwrap();
            match method {
                Method::Nat => assert_eq!(
                    text,
                    "delete element ip keepalived_rs vs0_slots { 1 }\n\
                     flush chain ip keepalived_rs vs0\n\
                     add rule ip keepalived_rs vs0 ip daddr 198.51.100.10 tcp dport 80 \
                     dnat ip addr . port to numgen inc mod 1 map @vs0_slots comment \"vs0\"\n\
                     delete element ip keepalived_rs vs0 { 203.0.113.12 . 80 . 0x5 }\n\
                     add element ip keepalived_rs vs0 { 203.0.113.12 . 80 . 0x1 }\n"
                ),
                _ => assert!(text.contains("vs0_slots")),
            }
            assert!(!render(&gone, "eth0").unwrap().contains(": 203.0.113.12"));
        }
    }

    #[test]
    fn a_change_of_the_slot_count_needs_a_full_rewrite() {
        let mut before = TableState::default();
        let (k, s) = service(Method::Nat, &[(11, 1), (12, 1)], "wrr");
        before.services.insert(k, s);
        let mut after = before.clone();
        let change = Change::EditDest {
            service: k,
            dest: DestKey {
                ip: "203.0.113.12".parse().unwrap(),
                port: 80,
            },
            spec: Dest {
                method: Method::Nat,
                weight: 2,
            },
        };
        after.apply(std::slice::from_ref(&change)).unwrap();
        assert_eq!(incremental(&before, &after, &[change], "eth0"), None);
    }

    #[test]
    fn tun_and_mixed_methods_are_refused_by_name() {
        let (k, s) = service(Method::Tun, &[(11, 1)], "rr");
        assert!(supports(&k, &s).unwrap_err().contains("TUN"));
        let (k, mut s) = service(Method::Nat, &[(11, 1)], "rr");
        s.dests.insert(
            DestKey {
                ip: "203.0.113.12".parse().unwrap(),
                port: 80,
            },
            Dest {
                method: Method::Dr,
                weight: 1,
            },
        );
        assert!(
            supports(&k, &s)
                .unwrap_err()
                .contains("different lvs_method")
        );
    }

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

    /// A NAT `rr` service over 203.0.113.`lasts` (weight 1, port 80).
    fn rr_nat(lasts: &[u8]) -> (ServiceKey, TableState) {
        let weights: Vec<(u8, u32)> = lasts.iter().map(|&l| (l, 1)).collect();
        let (k, s) = service(Method::Nat, &weights, "rr");
        let mut t = TableState::default();
        t.services.insert(k, s);
        (k, t)
    }

    fn weight_of(service: ServiceKey, last: u8, weight: u32) -> Change {
        Change::EditDest {
            service,
            dest: DestKey {
                ip: format!("203.0.113.{last}").parse().unwrap(),
                port: 80,
            },
            spec: Dest {
                method: Method::Nat,
                weight,
            },
        }
    }

    /// The slot-map and chain lines of the text for `changes` from `before`
    /// (the record lines left out), the memo carried over.
    fn slot_lines(
        memo: &mut SlotMemo,
        before: &TableState,
        changes: &[Change],
    ) -> (Option<String>, TableState) {
        let mut after = before.clone();
        after.apply(changes).unwrap();
        let text = incremental_memo(memo, before, &after, changes, "eth0").map(|t| {
            t.lines()
                .filter(|l| !l.contains(" vs0 {"))
                .map(|l| format!("{l}\n"))
                .collect()
        });
        (text, after)
    }

    const RULE: &str = "add rule ip keepalived_rs vs0 ip daddr 198.51.100.10 tcp dport 80 dnat ip addr . port to numgen inc mod";

    #[test]
    fn a_round_robin_server_leaving_swaps_the_last_slot_into_its_place() {
        let (k, t) = rr_nat(&[11, 12, 13, 14]);
        let mut memo = SlotMemo::default();
        render_memo(&mut memo, &t, "eth0").unwrap();
        // 12 (slot 1) leaves: slot 1 takes 14, the last slot goes, mod 3.
        let (text, t) = slot_lines(&mut memo, &t, &[weight_of(k, 12, 0)]);
        assert_eq!(
            text.unwrap(),
            format!(
                "delete element ip keepalived_rs vs0_slots {{ 1, 3 }}\n\
                 add element ip keepalived_rs vs0_slots {{ 1 : 203.0.113.14 . 80 }}\n\
                 flush chain ip keepalived_rs vs0\n\
                 {RULE} 3 map @vs0_slots comment \"vs0\"\n"
            )
        );
        // 13, now in the last slot, leaves: that slot alone goes.
        let (text, t) = slot_lines(&mut memo, &t, &[weight_of(k, 13, 0)]);
        assert_eq!(
            text.unwrap(),
            format!(
                "delete element ip keepalived_rs vs0_slots {{ 2 }}\n\
                 flush chain ip keepalived_rs vs0\n\
                 {RULE} 2 map @vs0_slots comment \"vs0\"\n"
            )
        );
        // 12 comes back: appended as slot 2.
        let (text, t) = slot_lines(&mut memo, &t, &[weight_of(k, 12, 1)]);
        assert_eq!(
            text.unwrap(),
            format!(
                "add element ip keepalived_rs vs0_slots {{ 2 : 203.0.113.12 . 80 }}\n\
                 flush chain ip keepalived_rs vs0\n\
                 {RULE} 3 map @vs0_slots comment \"vs0\"\n"
            )
        );
        // The memo holds the kernel's order (11, 14, 12), which a full
        // rewrite of the same content keeps.
        let text = render_memo(&mut memo, &t, "eth0").unwrap();
        assert!(
            text.contains(
                "elements = { 0 : 203.0.113.11 . 80, 1 : 203.0.113.14 . 80, 2 : 203.0.113.12 . 80 }"
            ),
            "{text}"
        );
        // A weight change under rr keeps every slot: the record alone.
        let (text, _) = slot_lines(&mut memo, &t, &[weight_of(k, 14, 5)]);
        assert_eq!(text.unwrap(), "");
    }

    #[test]
    fn several_servers_leaving_and_joining_are_one_transaction() {
        let (k, mut t) = rr_nat(&[11, 12, 13, 14, 15]);
        t.apply(&[Change::AddDest {
            service: k,
            dest: DestKey {
                ip: "203.0.113.16".parse().unwrap(),
                port: 80,
            },
            spec: Dest {
                method: Method::Nat,
                weight: 0,
            },
        }])
        .unwrap();
        let mut memo = SlotMemo::default();
        render_memo(&mut memo, &t, "eth0").unwrap();
        // 11 and 15 leave, 16 joins: slot 0 takes 14, slot 4 goes, 16 in slot 3.
        let changes = [
            weight_of(k, 11, 0),
            weight_of(k, 15, 0),
            weight_of(k, 16, 1),
        ];
        let (text, _) = slot_lines(&mut memo, &t, &changes);
        assert_eq!(
            text.unwrap(),
            format!(
                "delete element ip keepalived_rs vs0_slots {{ 0, 3, 4 }}\n\
                 add element ip keepalived_rs vs0_slots {{ 0 : 203.0.113.14 . 80, 3 : 203.0.113.16 . 80 }}\n\
                 flush chain ip keepalived_rs vs0\n\
                 {RULE} 4 map @vs0_slots comment \"vs0\"\n"
            )
        );
        let rule = memo.0[&k].rule.as_ref().unwrap();
        let order: Vec<SlotTarget> = rule
            .owners
            .iter()
            .map(|&o| rule.targets[o as usize])
            .collect();
        let last = |t: &SlotTarget| t.0.to_string();
        assert_eq!(
            order.iter().map(last).collect::<Vec<_>>(),
            [
                "203.0.113.14",
                "203.0.113.12",
                "203.0.113.13",
                "203.0.113.16"
            ]
        );
    }

    #[test]
    fn the_only_server_leaving_or_the_first_coming_back_rewrites() {
        // No live server: no slot map, no chain (the service keeps its record
        // only), so both ways change the layout and go through a rewrite.
        let (k, t) = rr_nat(&[11]);
        let mut memo = SlotMemo::default();
        render_memo(&mut memo, &t, "eth0").unwrap();
        let (text, empty) = slot_lines(&mut memo, &t, &[weight_of(k, 11, 0)]);
        assert_eq!(text, None);
        let rendered = render_memo(&mut memo, &empty, "eth0").unwrap();
        assert!(
            !rendered.contains("vs0_slots") && !rendered.contains("jump"),
            "{rendered}"
        );
        let (text, _) = slot_lines(&mut memo, &empty, &[weight_of(k, 11, 1)]);
        assert_eq!(text, None);
        // wrr keeps rewriting on a new slot count.
        let (k, s) = service(Method::Nat, &[(11, 1), (12, 1), (13, 1)], "wrr");
        let mut t = TableState::default();
        t.services.insert(k, s);
        assert_eq!(
            incremental(
                &t.clone(),
                &{
                    t.apply(&[weight_of(k, 12, 0)]).unwrap();
                    t
                },
                &[weight_of(k, 12, 0)],
                "eth0"
            ),
            None
        );
    }

    #[test]
    fn adoption_takes_the_kernel_order_and_treats_a_broken_map_as_absent() {
        let (k, t) = rr_nat(&[11, 12, 13]);
        let target = |last: u8| SlotTarget(format!("203.0.113.{last}").parse().unwrap(), Some(80));
        let observe = |slots: Slots, modulus: u64| {
            let mut memo = SlotMemo::default();
            let mut observed = ObservedState {
                table: t.clone(),
                ..Default::default()
            };
            let ks = KernelSlots {
                name: "vs0".into(),
                modulus: Some(modulus),
                slots,
            };
            adopt_slots(&mut memo, &mut observed, &[(k, ks)].into(), "eth0");
            (memo, observed.table)
        };
        let (mut memo, table) = observe(vec![(0, target(13)), (1, target(11)), (2, target(12))], 3);
        assert_eq!(table, t, "another order is no drift");
        // 13 (slot 0 in the kernel) leaves: slot 0 takes 12.
        let (text, _) = slot_lines(&mut memo, &t, &[weight_of(k, 13, 0)]);
        assert!(text.unwrap().starts_with(
            "delete element ip keepalived_rs vs0_slots { 0, 2 }\n\
                 add element ip keepalived_rs vs0_slots { 0 : 203.0.113.12 . 80 }\n"
        ));
        for (slots, modulus) in [
            (vec![(0, target(13)), (1, target(11)), (3, target(12))], 3),
            (vec![(0, target(13)), (1, target(11)), (2, target(11))], 3),
            (vec![(0, target(13)), (1, target(11)), (2, target(12))], 4),
        ] {
            let (memo, table) = observe(slots, modulus);
            assert!(table.services.is_empty() && memo.0.is_empty());
        }
    }

    /// The slot map the kernel holds after `text` (its `vs0_slots` lines).
    fn play(map: &mut BTreeMap<u64, String>, text: &str) {
        for line in text.lines() {
            let body = |l: &str| l[l.find('{').unwrap() + 2..l.rfind('}').unwrap() - 1].to_owned();
            if line.starts_with("delete element ip keepalived_rs vs0_slots") {
                for n in body(line).split(", ") {
                    assert!(map.remove(&n.parse().unwrap()).is_some(), "{line}");
                }
            } else if line.starts_with("add element ip keepalived_rs vs0_slots") {
                for e in body(line).split(", ") {
                    let (n, t) = e.split_once(" : ").unwrap();
                    assert!(
                        map.insert(n.parse().unwrap(), t.to_owned()).is_none(),
                        "{line}"
                    );
                }
            }
        }
    }

    proptest! {
        /// NAT rr changed a few servers at a time: the kernel map, replayed
        /// from the texts, is one slot per live server numbered 0..N under
        /// `mod N`, equal to the memo's order; a process that adopts it
        /// (restart, resync) sends the same next text as the one that wrote it.
        #[test]
        fn round_robin_slots_stay_one_per_live_server_across_swaps(
            initial in proptest::collection::btree_map(1u8..40, 0u32..3, 1..20),
            steps in proptest::collection::vec(
                proptest::collection::btree_map(1u8..40, proptest::option::of(0u32..3), 1..4), 1..10),
        ) {
            let key = ServiceKey::Addr {
                proto: Proto::Tcp,
                ip: "198.51.100.10".parse().unwrap(),
                port: 80,
            };
            let dest = |last: u8| DestKey { ip: format!("203.0.113.{last}").parse().unwrap(), port: 80 };
            let spec = |weight| Dest { method: Method::Nat, weight };
            let mut before = TableState::default();
            before.services.insert(key, Service {
                spec: ServiceSpec { scheduler: "rr".into(), persistence: None, ops: false },
                dests: initial.iter().map(|(&d, &w)| (dest(d), spec(w))).collect(),
            });
            let mut memo = SlotMemo::default();
            let kernel_of = |memo: &SlotMemo| -> BTreeMap<u64, String> {
                memo.0.get(&key).and_then(|e| e.rule.as_ref()).map(|r| {
                    r.owners.iter().enumerate().map(|(n, &o)| {
                        let mut s = String::new();
                        r.targets[o as usize].push_to(&mut s);
                        (n as u64, s)
                    }).collect()
                }).unwrap_or_default()
            };
            render_memo(&mut memo, &before, "eth0").unwrap();
            let mut kernel = kernel_of(&memo);
            for step in steps {
                let changes: Vec<Change> = step.iter().filter_map(|(&d, &w)| {
                    let held = before.services[&key].dests.contains_key(&dest(d));
                    match (w, held) {
                        (Some(w), true) => Some(Change::EditDest { service: key, dest: dest(d), spec: spec(w) }),
                        (Some(w), false) => Some(Change::AddDest { service: key, dest: dest(d), spec: spec(w) }),
                        (None, true) => Some(Change::DelDest { service: key, dest: dest(d) }),
                        (None, false) => None,
                    }
                }).collect();
                if changes.is_empty() {
                    continue;
                }
                let mut after = before.clone();
                after.apply(&changes).unwrap();
                // What a process that adopted the kernel's table would send.
                let mut adopted = SlotMemo::default();
                let mut observed = ObservedState { table: before.clone(), ..Default::default() };
                let slots: BTreeMap<ServiceKey, KernelSlots> = if kernel.is_empty() {
                    BTreeMap::new()
                } else {
                    let r = memo.0[&key].rule.as_ref().unwrap();
                    [(key, KernelSlots {
                        name: "vs0".into(),
                        modulus: Some(kernel.len() as u64),
                        slots: r.owners.iter().enumerate().map(|(n, &o)| (n as u64, r.targets[o as usize])).collect(),
                    })].into()
                };
                adopt_slots(&mut adopted, &mut observed, &slots, "eth0");
                prop_assert_eq!(&observed.table, &before, "adoption found no drift");
                let fresh = incremental_memo(&mut adopted, &before, &after, &changes, "eth0");
                match incremental_memo(&mut memo, &before, &after, &changes, "eth0") {
                    Some(text) => {
                        prop_assert_eq!(Some(&text), fresh.as_ref());
                        play(&mut kernel, &text);
                        let live = after.services[&key].dests.values().filter(|d| d.weight > 0).count();
                        if let Some(m) = text.lines().find_map(|l| l.strip_prefix(RULE)) {
                            let m: usize = m.split(' ').nth(1).unwrap().parse().unwrap();
                            prop_assert_eq!(m, live);
                        }
                        prop_assert_eq!(kernel.keys().copied().collect::<Vec<_>>(), (0..live as u64).collect::<Vec<_>>());
                        let distinct: BTreeSet<&String> = kernel.values().collect();
                        prop_assert_eq!(distinct.len(), live);
                        prop_assert_eq!(&kernel, &kernel_of(&memo), "the memo is the kernel's order");
                    }
                    None => {
                        prop_assert_eq!(fresh, None);
                        render_memo(&mut memo, &after, "eth0").unwrap();
                    }
                }
                // After a rewrite the kernel holds what the render wrote.
                kernel = kernel_of(&memo);
                before = after;
            }
        }
    }

    proptest! {
        /// A DR service changed one destination at a time: the memo (its
        /// kept permutations, its integer slot comparison) gives the text a
        /// fresh computation gives, and the slots it moves are exactly those
        /// whose address changed. Two servers may share an address (ports
        /// 80 and 81), so equal targets can have different indices.
        #[test]
        fn kept_permutations_and_moved_slots_match_a_fresh_computation(
            initial in proptest::collection::btree_map((1u8..60, 80u16..82), 0u32..4, 1..40),
            steps in proptest::collection::vec(((1u8..60, 80u16..82), proptest::option::of(0u32..4)), 1..8),
            sched in prop_oneof![Just("rr"), Just("wrr")],
        ) {
            let key = ServiceKey::Addr {
                proto: Proto::Tcp,
                ip: "198.51.100.10".parse().unwrap(),
                port: 80,
            };
            let dest = |(last, port): (u8, u16)| DestKey {
                ip: format!("203.0.113.{last}").parse().unwrap(),
                port,
            };
            let spec = |weight| Dest { method: Method::Dr, weight };
            let mut before = TableState::default();
            before.services.insert(key, Service {
                spec: ServiceSpec { scheduler: sched.into(), persistence: None, ops: false },
                dests: initial.iter().map(|(&d, &w)| (dest(d), spec(w))).collect(),
            });
            let mut memo = SlotMemo::default();
            render_memo(&mut memo, &before, "eth0").unwrap();
            for (d, weight) in steps {
                let (d, held) = (dest(d), before.services[&key].dests.contains_key(&dest(d)));
                let change = match (weight, held) {
                    (Some(w), true) => Change::EditDest { service: key, dest: d, spec: spec(w) },
                    (Some(w), false) => Change::AddDest { service: key, dest: d, spec: spec(w) },
                    (None, true) => Change::DelDest { service: key, dest: d },
                    (None, false) => continue,
                };
                let mut after = before.clone();
                after.apply(std::slice::from_ref(&change)).unwrap();
                let changes = [change];
                let text = incremental_memo(&mut memo, &before, &after, &changes, "eth0");
                prop_assert_eq!(&text, &incremental(&before, &after, &changes, "eth0"));
                prop_assert_eq!(
                    render_memo(&mut memo, &after, "eth0").unwrap(),
                    render(&after, "eth0").unwrap()
                );
                let fresh = |t: &TableState| {
                    slot_rule(0, &key, &t.services[&key], "eth0", None).unwrap()
                };
                if let (Some(a), Some(b)) = (fresh(&before), fresh(&after))
                    && a.owners.len() == b.owners.len()
                {
                    let naive: Vec<usize> = (0..a.owners.len())
                        .filter(|&n| {
                            a.targets[a.owners[n] as usize] != b.targets[b.owners[n] as usize]
                        })
                        .collect();
                    prop_assert_eq!(moved_slots(&a, &b), naive);
                }
                before = after;
            }
        }
    }
}
