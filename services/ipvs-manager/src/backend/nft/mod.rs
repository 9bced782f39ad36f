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
//! Every rule matches the service's own protocol (`tcp`, `udp` or `sctp`
//! `dport`, and `sport` in the DR flow hash), and a NAT slot map's `typeof`
//! names it too (nft refuses `udp dport` in the rule under `tcp dport` in
//! the map). A fwmark service has no protocol (keepalived ignores one,
//! check_data.c): `meta l4proto { tcp, udp, sctp }` and `th dport`.
//!
//! IPv6 services use the same layout with `ip6` matches: their records sit
//! in `table ip keepalived_rs` beside the others (`ipv6_addr` elements), their
//! NAT rules and slot maps in `table ip6 keepalived_rs6` (the `ip` family's
//! nat hook sees only IPv4), their DR rules (`fwd ip6`) in the netdev table.
//!
//! Not expressible here (rejected by [`NftBackend::supports`], logged, the
//! service left out): TUN, fwmark with DR (the mark is set after ingress),
//! real servers of the other address family than their virtual server, and
//! real servers of one service with different methods. Built
//! with a difference (warned once by the engine): `ops` (conntrack schedules
//! a flow once) and, under DR, UDP datagrams fragmented before the director
//! (ingress comes before reassembly; the non-first fragments are lost).
//!
//! The parts: `slots.rs` computes each service's forwarding rule and slot
//! table (and memoises them), `render.rs` writes the whole ruleset,
//! `edit.rs` the element updates of a change, `observe.rs` reads the
//! kernel's JSON back, `record.rs` is the record format, `exec.rs` runs
//! `nft`, `tests.rs` tests them on the rendered text.

mod edit;
mod exec;
mod observe;
mod record;
mod render;
mod slots;
#[cfg(test)]
mod tests;

use super::{Backend, BackendError, ObservedState};
use crate::maglev;
use crate::table::{Change, Family, Method, Service, ServiceKey, TableState};

pub use edit::{incremental, incremental_memo};
pub use observe::parse;
pub use render::{render, render_memo};
pub use slots::SlotMemo;

use observe::{adopt_slots, parse_slots};
use record::method_code;

/// The NAT/bookkeeping table (family `ip`): every service's record, IPv4 NAT.
pub const TABLE: &str = "keepalived_rs";
/// The IPv6 NAT table (family `ip6`: the `ip` family's nat hook sees only IPv4).
pub const TABLE6: &str = "keepalived_rs6";
/// Deletes [`TABLE6`] whether it exists or not (`table x {}` first).
const DROP_TABLE6: &str = "table ip6 keepalived_rs6 {}\ndelete table ip6 keepalived_rs6\n";
/// The DR table (family `netdev`).
pub const DR_TABLE: &str = "keepalived_rs_dr";
/// The jhash seed: fixed, or two directors (and every reload) map the same
/// flow to different real servers (measured: docs/sandbox.md, DR pitfalls).
pub const SEED: &str = "0x5eed";

/// The nftables backend.
#[derive(Debug)]
pub struct NftBackend {
    nft: String,
    device: String,
    memo: SlotMemo,
    /// Whether the kernel may hold [`TABLE6`] (seen at the last observe, or written since).
    table6: bool,
}

impl NftBackend {
    /// A backend running `nft` (path or name), forwarding DR services out of
    /// `device` (the director's interface towards the real servers).
    pub fn new(nft: impl Into<String>, device: impl Into<String>) -> Self {
        Self {
            nft: nft.into(),
            device: device.into(),
            memo: SlotMemo::default(),
            table6: false,
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
        let nat6 = self.list("ip6", TABLE6)?;
        self.table6 = nat6.is_some();
        let dr = self.list("netdev", DR_TABLE)?;
        let (mut observed, slots) = parse_slots(&[nat.as_ref(), nat6.as_ref(), dr.as_ref()])?;
        adopt_slots(&mut self.memo, &mut observed, &slots, &self.device);
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

    fn apply(&mut self, current: &TableState, changes: &[Change]) -> Result<(), BackendError> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut next = current.clone();
        next.apply(changes)
            .map_err(|e| BackendError::Refused(format!("out of step with the kernel: {e}")))?;
        let ipv6 = next.services.keys().any(slots::is_ipv6);
        let (text, full) =
            match incremental_memo(&mut self.memo, current, &next, changes, &self.device) {
                Some(text) if text.is_empty() => return Ok(()),
                Some(text) => (text, false),
                None => {
                    let mut text = render_memo(&mut self.memo, &next, &self.device)?;
                    // The last IPv6 service went: its NAT table goes with it.
                    if self.table6 && !ipv6 {
                        text.push_str(DROP_TABLE6);
                    }
                    (text, true)
                }
            };
        self.run(&["-f", "-"], Some(&text))?;
        if full {
            // The rewrite left the ip6 table only if an IPv6 service needed it.
            self.table6 = ipv6;
        }
        Ok(())
    }
}

/// Whether nft can carry this service (see the module comment).
pub fn supports(key: &ServiceKey, service: &Service) -> Result<(), String> {
    let ipv6 = match key {
        ServiceKey::Addr { ip, .. } => ip.is_ipv6(),
        ServiceKey::Fwmark { family, .. } => *family == Family::Inet6,
    };
    let mut mixed = false;
    // One pass over the destinations (this runs at every change of a
    // 10,000-server service): which methods occur, by `method_code`.
    let mut methods = [false; 3];
    let mut active = 0;
    for (k, d) in &service.dests {
        mixed |= k.ip.is_ipv6() != ipv6;
        methods[method_code(d.method) as usize] = true;
        active += usize::from(d.weight > 0);
    }
    if mixed {
        return Err(format!(
            "{key}: real servers of the other address family are not implemented by the nft backend"
        ));
    }
    if let Some(mask) = service.spec.persistence.and_then(|p| p.netmask)
        && mask.is_ipv6() != ipv6
    {
        return Err(format!(
            "{key}: persistence_granularity {mask} is not a mask of the service's address family"
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
