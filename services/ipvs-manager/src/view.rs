//! What the API and the Watch snapshot show: the desired outcome joined with
//! what the kernel holds (like `ipvsadm -Ln --stats`, plus health and the
//! verdict sources), converted to `keepalived.v1` messages.

use keepalived_api::v1;

use crate::backend::{Counters, ObservedState};
use crate::desired::{Health, RsOutcome, VsOutcome};
use crate::spec::{RsSpec, VsName, VsSpec};
use crate::table::{DestKey, Method, Proto};

/// The state served by the API, rebuilt after every reconcile.
#[derive(Debug, Clone, Default)]
pub struct View {
    /// `router_id`.
    pub router_id: String,
    /// Data plane in use.
    pub backend: i32,
    /// Every configured virtual server.
    pub virtual_servers: Vec<v1::VirtualServer>,
}

fn proto_v1(p: Proto) -> i32 {
    (match p {
        Proto::Tcp => v1::Protocol::Tcp,
        Proto::Udp => v1::Protocol::Udp,
        Proto::Sctp => v1::Protocol::Sctp,
    }) as i32
}

/// The API key of a virtual server.
pub fn vs_key(name: &VsName) -> v1::VirtualServerKey {
    use v1::virtual_server_key::Kind;
    match name {
        VsName::Addr { proto, ip, port } => v1::VirtualServerKey {
            kind: Some(Kind::AddressPort(v1::AddressPort {
                address: ip.to_string(),
                port: u32::from(*port),
            })),
            protocol: proto_v1(*proto),
        },
        VsName::Fwmark { mark } => v1::VirtualServerKey {
            kind: Some(Kind::Fwmark(*mark)),
            protocol: v1::Protocol::Unspecified as i32,
        },
        VsName::Group { proto, name } => v1::VirtualServerKey {
            kind: Some(Kind::Group(name.clone())),
            protocol: proto_v1(*proto),
        },
    }
}

/// The API address of a real server.
pub fn address(d: DestKey) -> v1::AddressPort {
    v1::AddressPort {
        address: d.ip.to_string(),
        port: u32::from(d.port),
    }
}

/// The API forwarding method.
pub fn method_v1(m: Method) -> i32 {
    (match m {
        Method::Dr => v1::ForwardingMethod::Dr,
        Method::Nat => v1::ForwardingMethod::Nat,
        Method::Tun => v1::ForwardingMethod::Tun,
    }) as i32
}

fn health_v1(h: Health) -> i32 {
    (match h {
        Health::Up => v1::RealServerHealth::Up,
        Health::Down => v1::RealServerHealth::Down,
        Health::Unchecked => v1::RealServerHealth::Unchecked,
        Health::Unknown => v1::RealServerHealth::Unknown,
    }) as i32
}

fn stats(c: Option<&Counters>) -> Option<v1::Stats> {
    c.map(|c| v1::Stats {
        connections: c.connections,
        in_packets: c.packets,
        in_bytes: c.bytes,
        ..Default::default()
    })
}

/// The kernel weight of `rs` in the first service of `vs`, if present.
pub fn kernel_weight(vs: &VsSpec, observed: &ObservedState, rs: DestKey) -> Option<u32> {
    let key = vs.services.first()?;
    observed
        .table
        .services
        .get(key)?
        .dests
        .get(&rs)
        .map(|d| d.weight)
}

/// One real server as the API shows it.
pub fn real_server(vs: &VsSpec, r: &RsOutcome, observed: &ObservedState) -> v1::RealServer {
    let kernel = kernel_weight(vs, observed, r.plan.key);
    v1::RealServer {
        address: Some(address(r.plan.key)),
        method: method_v1(r.plan.method),
        configured_weight: r.plan.weight,
        kernel_weight: kernel.unwrap_or(0),
        in_kernel: kernel.is_some(),
        health: health_v1(r.health),
        sources: r
            .verdicts
            .sources
            .iter()
            .map(|s| v1::VerdictSource {
                prober: s.prober.to_string(),
                target: s.target.to_string(),
                owner: s.owner,
                up: s.up,
                stale: s.stale,
                received: Some(prost_types::Timestamp::from(s.received)),
            })
            .collect(),
        weight_override: r.overrides.weight,
        drained: r.overrides.drained,
        inhibit_on_failure: r.plan.inhibit,
        stats: vs
            .services
            .first()
            .and_then(|k| stats(observed.dest_counters.get(&(*k, r.plan.key)))),
        sorry_server: false,
    }
}

fn sorry(vs: &VsSpec, s: &RsSpec, observed: &ObservedState) -> v1::RealServer {
    let kernel = kernel_weight(vs, observed, s.key);
    v1::RealServer {
        address: Some(address(s.key)),
        method: method_v1(s.method),
        configured_weight: s.weight,
        kernel_weight: kernel.unwrap_or(0),
        in_kernel: kernel.is_some(),
        health: v1::RealServerHealth::Unchecked as i32,
        inhibit_on_failure: s.inhibit,
        sorry_server: true,
        ..Default::default()
    }
}

/// One virtual server as the API shows it.
pub fn virtual_server(vs: &VsOutcome, observed: &ObservedState, backend: i32) -> v1::VirtualServer {
    let p = &vs.plan;
    let mut total = Counters::default();
    let mut any = false;
    for k in &p.services {
        if let Some(c) = observed.service_counters.get(k) {
            any = true;
            total.packets += c.packets;
            total.bytes += c.bytes;
            total.connections += c.connections;
        }
    }
    let mut real_servers: Vec<v1::RealServer> = vs
        .real_servers
        .iter()
        .map(|r| real_server(p, r, observed))
        .collect();
    if let Some((s, _)) = &vs.sorry {
        real_servers.push(sorry(p, s, observed));
    }
    v1::VirtualServer {
        key: Some(vs_key(&p.name)),
        scheduler: p.spec.scheduler.clone(),
        method: method_v1(p.method),
        persistence_timeout: p.spec.persistence.map(|x| x.timeout).unwrap_or(0),
        persistence_granularity: p
            .spec
            .persistence
            .and_then(|x| x.netmask)
            .map(|m| m.to_string())
            .unwrap_or_default(),
        real_servers,
        quorum: Some(v1::Quorum {
            quorum: p.quorum,
            hysteresis: p.hysteresis,
            alive_weight: vs.quorum.alive_weight,
            up: vs.quorum.up,
        }),
        in_kernel: p
            .services
            .iter()
            .all(|k| observed.table.services.contains_key(k)),
        stats: if any { stats(Some(&total)) } else { None },
        backend,
    }
}

/// keepalived's `FMT_RS` inside a virtual server: `[203.0.113.12]:tcp:80`.
pub fn fmt_rs(vs: &VsName, rs: DestKey) -> String {
    let proto = match vs {
        VsName::Addr { proto, .. } | VsName::Group { proto, .. } => proto.name(),
        VsName::Fwmark { .. } => "tcp",
    };
    format!("[{}]:{proto}:{}", rs.ip, rs.port)
}
