//! Health input: the last verdicts of every health-prober replica, and the
//! policy that combines them into one up/down per real server.
//!
//! DESIGN.md, "The event bus contract": a prober that cannot be reached keeps
//! its last verdicts, marked stale; losing it is never a reason to remove a
//! real server. Stale verdicts therefore keep counting as they were, so
//! killing a prober changes nothing in the kernel.

use std::collections::BTreeMap;
use std::time::SystemTime;

use keepalived_api::v1;
use keepalived_bus::{Update, UpstreamUpdate};

use crate::plan::VsName;
use crate::table::{DestKey, Proto};

/// How the verdicts of several probers combine (`--verdict-policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Policy {
    /// Down when more than half of the probers with a verdict say down.
    Majority,
    /// Down when any prober says down.
    AnyDown,
    /// Down only when every prober with a verdict says down.
    AllDown,
}

/// Combines per-prober verdicts (`true` = up). `None` when no prober has a
/// verdict. With one prober, every policy lets it decide alone.
pub fn combine(policy: Policy, verdicts: impl IntoIterator<Item = bool>) -> Option<bool> {
    let (mut up, mut down) = (0usize, 0usize);
    for v in verdicts {
        if v {
            up += 1;
        } else {
            down += 1;
        }
    }
    let n = up + down;
    if n == 0 {
        return None;
    }
    let is_down = match policy {
        Policy::Majority => down * 2 > n,
        Policy::AnyDown => down > 0,
        Policy::AllDown => down == n,
    };
    Some(!is_down)
}

/// One prober's verdict about one real server of one virtual server.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    /// The prober's producer identity (or its address before the first snapshot).
    pub prober: String,
    /// Up or down.
    pub up: bool,
    /// The prober is unreachable; this is its last known verdict.
    pub stale: bool,
    /// When the verdict was received.
    pub received: SystemTime,
    /// Checker type that decided (e.g. `HTTP_CHECK`).
    pub checker: String,
    /// keepalived's failure reason when down (e.g. `HTTP request failed`).
    pub reason: String,
    /// `misc_dynamic` weight, when reported.
    pub dynamic_weight: Option<u32>,
}

#[derive(Debug, Clone)]
struct Known {
    target: v1::Target,
    received: SystemTime,
    reason: String,
}

#[derive(Debug, Clone, Default)]
struct Prober {
    identity: String,
    stale: bool,
    targets: BTreeMap<String, Known>,
}

/// The last verdicts of every prober, by upstream address.
#[derive(Debug, Clone, Default)]
pub struct VerdictBook {
    probers: BTreeMap<String, Prober>,
}

/// What an update changed, for logs and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BookChange {
    /// Verdicts may have changed.
    Verdicts,
    /// The prober became unreachable; its verdicts are kept, stale.
    Stale,
    /// A prober never reached yet cannot be reached (no verdicts to keep).
    Unreachable,
    /// The prober left DNS; its verdicts are dropped.
    Removed,
}

fn protocol_of(p: i32) -> Option<Proto> {
    match v1::Protocol::try_from(p).ok()? {
        v1::Protocol::Tcp | v1::Protocol::Unspecified => Some(Proto::Tcp),
        v1::Protocol::Udp => Some(Proto::Udp),
        v1::Protocol::Sctp => Some(Proto::Sctp),
    }
}

/// Whether an API virtual-server key names `name`.
pub fn key_matches(key: &v1::VirtualServerKey, name: &VsName) -> bool {
    use v1::virtual_server_key::Kind;
    match (&key.kind, name) {
        (Some(Kind::AddressPort(ap)), VsName::Addr { proto, ip, port }) => {
            ap.address.parse::<std::net::IpAddr>().ok() == Some(*ip)
                && ap.port == u32::from(*port)
                && protocol_of(key.protocol) == Some(*proto)
        }
        (Some(Kind::Fwmark(m)), VsName::Fwmark { mark }) => m == mark,
        (Some(Kind::Group(g)), VsName::Group { proto, name }) => {
            g == name && protocol_of(key.protocol) == Some(*proto)
        }
        _ => false,
    }
}

impl VerdictBook {
    /// Takes one update from the subscription.
    pub fn update(&mut self, update: &UpstreamUpdate<v1::HealthEvent>) -> BookChange {
        let now = SystemTime::now();
        match &update.update {
            Update::Snapshot(event) => {
                let prober = self.probers.entry(update.upstream.clone()).or_default();
                prober.stale = false;
                if let Some(h) = &event.header {
                    prober.identity.clone_from(&h.producer);
                }
                prober.targets.clear();
                if let Some(v1::health_event::Payload::Snapshot(s)) = &event.payload {
                    for t in &s.targets {
                        prober.targets.insert(
                            t.id.clone(),
                            Known {
                                target: t.clone(),
                                received: now,
                                reason: String::new(),
                            },
                        );
                    }
                }
                BookChange::Verdicts
            }
            Update::Delta(event) => {
                let prober = self.probers.entry(update.upstream.clone()).or_default();
                prober.stale = false;
                if let Some(v1::health_event::Payload::VerdictChanged(change)) = &event.payload
                    && let Some(t) = &change.target
                {
                    // A reload of the prober removed the target: its verdict no longer counts.
                    if change.removed {
                        prober.targets.remove(&t.id);
                        return BookChange::Verdicts;
                    }
                    prober.targets.insert(
                        t.id.clone(),
                        Known {
                            target: t.clone(),
                            received: now,
                            reason: change.reason.clone(),
                        },
                    );
                }
                BookChange::Verdicts
            }
            Update::Disconnected { .. } => match self.probers.get_mut(&update.upstream) {
                Some(p) => {
                    p.stale = true;
                    BookChange::Stale
                }
                None => BookChange::Unreachable,
            },
            Update::Removed => {
                self.probers.remove(&update.upstream);
                BookChange::Removed
            }
        }
    }

    /// How many probers are known, and how many of them are stale.
    pub fn counts(&self) -> (usize, usize) {
        (
            self.probers.len(),
            self.probers.values().filter(|p| p.stale).count(),
        )
    }

    /// Each prober's verdict on real server `rs` of virtual server `vs`: a
    /// prober says down when any of its checkers of that server says down
    /// (keepalived needs every checker to pass), up when all say up.
    pub fn sources(&self, vs: &VsName, rs: DestKey) -> Vec<Source> {
        let mut out = Vec::new();
        for (upstream, prober) in &self.probers {
            let mut verdict: Option<bool> = None;
            let mut decided: Option<&Known> = None;
            let mut dynamic_weight = None;
            for known in prober.targets.values() {
                let t = &known.target;
                let Some(addr) = &t.real_server else { continue };
                if addr.address.parse::<std::net::IpAddr>().ok() != Some(rs.ip)
                    || addr.port != u32::from(rs.port)
                {
                    continue;
                }
                if !t.virtual_servers.is_empty()
                    && !t.virtual_servers.iter().any(|k| key_matches(k, vs))
                {
                    continue;
                }
                match v1::Verdict::try_from(t.verdict).unwrap_or(v1::Verdict::Unspecified) {
                    v1::Verdict::Down => {
                        verdict = Some(false);
                        decided = Some(known);
                    }
                    v1::Verdict::Up => {
                        if verdict.is_none() {
                            verdict = Some(true);
                            decided = Some(known);
                        }
                        dynamic_weight = dynamic_weight.or(t.dynamic_weight);
                    }
                    v1::Verdict::Unspecified => {}
                }
            }
            if let (Some(up), Some(known)) = (verdict, decided) {
                out.push(Source {
                    prober: if prober.identity.is_empty() {
                        upstream.clone()
                    } else {
                        prober.identity.clone()
                    },
                    up,
                    stale: prober.stale,
                    received: known.received,
                    checker: known.target.checker.clone(),
                    reason: known.reason.clone(),
                    dynamic_weight: if up { dynamic_weight } else { None },
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_needs_more_than_half_of_the_answering_probers() {
        assert_eq!(combine(Policy::Majority, [false, true]), Some(true));
        assert_eq!(combine(Policy::Majority, [false, false, true]), Some(false));
        assert_eq!(combine(Policy::Majority, [false]), Some(false));
        assert_eq!(combine(Policy::Majority, []), None);
    }

    #[test]
    fn any_down_and_all_down_are_the_extremes() {
        assert_eq!(combine(Policy::AnyDown, [true, false, true]), Some(false));
        assert_eq!(combine(Policy::AllDown, [true, false, false]), Some(true));
        assert_eq!(combine(Policy::AllDown, [false, false]), Some(false));
    }

    fn target(id: &str, up: bool) -> v1::Target {
        v1::Target {
            id: id.into(),
            checker: "HTTP_CHECK".into(),
            real_server: Some(v1::AddressPort {
                address: "203.0.113.11".into(),
                port: 80,
            }),
            virtual_servers: vec![v1::VirtualServerKey {
                kind: Some(v1::virtual_server_key::Kind::AddressPort(v1::AddressPort {
                    address: "198.51.100.10".into(),
                    port: 80,
                })),
                protocol: v1::Protocol::Tcp as i32,
            }],
            verdict: if up {
                v1::Verdict::Up
            } else {
                v1::Verdict::Down
            } as i32,
            ..Default::default()
        }
    }

    fn snapshot(upstream: &str, targets: Vec<v1::Target>) -> UpstreamUpdate<v1::HealthEvent> {
        UpstreamUpdate {
            upstream: upstream.into(),
            update: Update::Snapshot(v1::HealthEvent {
                header: Some(v1::EventHeader {
                    producer: format!("health-prober@{upstream}"),
                    ..Default::default()
                }),
                payload: Some(v1::health_event::Payload::Snapshot(v1::HealthSnapshot {
                    targets,
                })),
            }),
        }
    }

    #[test]
    fn a_disconnected_prober_keeps_its_verdicts_as_stale() {
        let vs = VsName::Addr {
            proto: Proto::Tcp,
            ip: "198.51.100.10".parse().unwrap(),
            port: 80,
        };
        let rs = DestKey {
            ip: "203.0.113.11".parse().unwrap(),
            port: 80,
        };
        let mut book = VerdictBook::default();
        book.update(&snapshot(
            "a",
            vec![target("HTTP_GET:203.0.113.11:80", true)],
        ));
        book.update(&snapshot(
            "b",
            vec![
                target("HTTP_GET:203.0.113.11:80", true),
                target("TCP_CHECK:203.0.113.11:80", false),
            ],
        ));
        let sources = book.sources(&vs, rs);
        assert_eq!(sources.len(), 2);
        assert!(sources[0].up);
        assert!(
            !sources[1].up,
            "one failing checker makes the prober say down"
        );
        book.update(&UpstreamUpdate {
            upstream: "a".into(),
            update: Update::Disconnected {
                error: "gone".into(),
            },
        });
        let sources = book.sources(&vs, rs);
        assert!(sources[0].stale && sources[0].up);
        assert_eq!(book.counts(), (2, 1));
        let other = VsName::Addr {
            proto: Proto::Tcp,
            ip: "198.51.100.10".parse().unwrap(),
            port: 443,
        };
        assert!(book.sources(&other, rs).is_empty());
    }
}
