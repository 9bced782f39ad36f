//! The IPVS data plane: an adapter from the reconciler's vocabulary to the
//! generic-netlink client of `keepalived-ipvs`. One apply is one batched
//! netlink exchange (many messages per datagram). IPVS is not
//! transactional: after a failed batch the table is re-read so the next diff
//! starts from the truth.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use keepalived_ipvs as k;

use super::{Backend, BackendError, Counters, ObservedState};
use crate::table::{
    Change, Dest, DestKey, Family, Method, Persistence, Proto, Service, ServiceKey, ServiceSpec,
    TableState,
};

/// The IPVS backend.
#[derive(Debug)]
pub struct IpvsBackend {
    ipvs: k::Ipvs,
}

impl IpvsBackend {
    /// Opens the IPVS generic-netlink family of this network namespace;
    /// `IpvsError::NotAvailable` when the kernel has no IP_VS.
    pub fn open() -> Result<Self, k::IpvsError> {
        Ok(Self {
            ipvs: k::Ipvs::open()?,
        })
    }
}

fn proto_to(p: Proto) -> k::Protocol {
    match p {
        Proto::Tcp => k::Protocol::Tcp,
        Proto::Udp => k::Protocol::Udp,
        Proto::Sctp => k::Protocol::Sctp,
    }
}

fn proto_from(p: k::Protocol) -> Proto {
    match p {
        k::Protocol::Tcp => Proto::Tcp,
        k::Protocol::Udp => Proto::Udp,
        k::Protocol::Sctp => Proto::Sctp,
    }
}

/// The client's service key.
pub fn key_to(key: &ServiceKey) -> k::ServiceKey {
    match *key {
        ServiceKey::Addr { proto, ip, port } => k::ServiceKey::Addr {
            protocol: proto_to(proto),
            addr: ip,
            port,
        },
        ServiceKey::Fwmark { family, mark } => k::ServiceKey::Fwmark {
            family: match family {
                Family::Inet => k::Family::V4,
                Family::Inet6 => k::Family::V6,
            },
            mark,
        },
    }
}

/// Our service key.
pub fn key_from(key: &k::ServiceKey) -> ServiceKey {
    match *key {
        k::ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => ServiceKey::Addr {
            proto: proto_from(protocol),
            ip: addr,
            port,
        },
        k::ServiceKey::Fwmark { family, mark } => ServiceKey::Fwmark {
            family: match family {
                k::Family::V4 => Family::Inet,
                k::Family::V6 => Family::Inet6,
            },
            mark,
        },
    }
}

/// The kernel's netmask value for a persistence granularity: the IPv4 mask
/// as a number, the IPv6 prefix length (the kernel's own convention).
fn netmask_to(family: k::Family, mask: Option<IpAddr>) -> u32 {
    match mask {
        None => k::default_netmask(family),
        Some(IpAddr::V4(m)) => u32::from(m),
        Some(IpAddr::V6(m)) => u128::from(m).count_ones(),
    }
}

fn netmask_from(family: k::Family, value: u32) -> Option<IpAddr> {
    if value == k::default_netmask(family) {
        return None;
    }
    Some(match family {
        k::Family::V4 => IpAddr::V4(Ipv4Addr::from(value)),
        k::Family::V6 => {
            let bits = value.min(128);
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            IpAddr::V6(Ipv6Addr::from(mask))
        }
    })
}

/// The client's service for our key and spec.
pub fn service_to(key: &ServiceKey, spec: &ServiceSpec) -> k::Service {
    let k_key = key_to(key);
    let mut s = k::Service::new(k_key, spec.scheduler.clone());
    if let Some(p) = spec.persistence {
        s = s.persistent(p.timeout);
        s.netmask = netmask_to(k_key.family(), p.netmask);
    }
    if spec.ops {
        s.flags.insert(k::ServiceFlags::ONE_PACKET);
    }
    s
}

/// Our spec of a kernel service.
pub fn spec_from(s: &k::Service) -> ServiceSpec {
    ServiceSpec {
        scheduler: s.scheduler.clone(),
        persistence: s
            .flags
            .contains(k::ServiceFlags::PERSISTENT)
            .then(|| Persistence {
                timeout: s.timeout,
                netmask: netmask_from(s.key.family(), s.netmask),
            }),
        ops: s.flags.contains(k::ServiceFlags::ONE_PACKET),
    }
}

fn forward_to(m: Method) -> k::Forward {
    match m {
        Method::Dr => k::Forward::Route,
        Method::Nat => k::Forward::Masq,
        Method::Tun => k::Forward::Tunnel,
    }
}

/// Our method for a kernel forwarding method (`Local` and `Bypass` are
/// never configured by keepalived; reported as NAT so a diff rewrites them).
fn forward_from(f: k::Forward) -> Method {
    match f {
        k::Forward::Route => Method::Dr,
        k::Forward::Tunnel => Method::Tun,
        k::Forward::Masq | k::Forward::Local | k::Forward::Bypass => Method::Nat,
    }
}

/// The client's operation for one change.
pub fn op_to(change: &Change) -> k::Op {
    match change {
        Change::AddService { key, spec } => k::Op::AddService(service_to(key, spec)),
        Change::EditService { key, spec } => k::Op::EditService(service_to(key, spec)),
        Change::DelService { key } => k::Op::DelService(key_to(key)),
        Change::AddDest {
            service,
            dest,
            spec,
        } => k::Op::AddDest(
            key_to(service),
            k::Dest::new(dest.ip, dest.port, forward_to(spec.method)).weight(spec.weight),
        ),
        Change::EditDest {
            service,
            dest,
            spec,
        } => k::Op::EditDest(
            key_to(service),
            k::Dest::new(dest.ip, dest.port, forward_to(spec.method)).weight(spec.weight),
        ),
        Change::DelDest { service, dest } => k::Op::DelDest(key_to(service), dest.ip, dest.port),
    }
}

fn counters(s: Option<&k::Stats>) -> Counters {
    s.map(|s| Counters {
        packets: s.inpkts,
        bytes: s.inbytes,
        connections: s.conns,
    })
    .unwrap_or_default()
}

impl Backend for IpvsBackend {
    fn kind(&self) -> keepalived_api::v1::Backend {
        keepalived_api::v1::Backend::Ipvs
    }

    fn supports(&self, _key: &ServiceKey, _service: &Service) -> Result<(), String> {
        // IPVS carries every scheduler, method and family keepalived configures.
        Ok(())
    }

    fn observe(&mut self) -> Result<ObservedState, BackendError> {
        let io = |e: k::IpvsError| BackendError::Io(format!("IPVS: {e}"));
        let mut observed = ObservedState {
            table: TableState::default(),
            ..Default::default()
        };
        for s in self.ipvs.services().map_err(io)? {
            let key = key_from(&s.key);
            let mut service = Service {
                spec: spec_from(&s),
                dests: Default::default(),
            };
            observed
                .service_counters
                .insert(key, counters(s.stats.as_ref()));
            for d in self.ipvs.dests(&s.key).map_err(io)? {
                let dk = DestKey {
                    ip: d.addr,
                    port: d.port,
                };
                observed
                    .dest_counters
                    .insert((key, dk), counters(d.stats.as_ref()));
                service.dests.insert(
                    dk,
                    Dest {
                        method: forward_from(d.forward),
                        weight: d.weight,
                    },
                );
            }
            observed.table.services.insert(key, service);
        }
        Ok(observed)
    }

    fn set_timeouts(
        &mut self,
        tcp: Option<u32>,
        tcpfin: Option<u32>,
        udp: Option<u32>,
    ) -> Result<(), BackendError> {
        // The kernel leaves a timeout unchanged when it is sent as 0.
        self.ipvs
            .set_timeouts(&k::Timeouts {
                tcp: tcp.unwrap_or(0),
                tcp_fin: tcpfin.unwrap_or(0),
                udp: udp.unwrap_or(0),
            })
            .map_err(|e| BackendError::Refused(format!("lvs_timeouts: {e}")))
    }

    fn apply(&mut self, _current: &TableState, changes: &[Change]) -> Result<(), BackendError> {
        let ops: Vec<k::Op> = changes.iter().map(op_to).collect();
        self.ipvs
            .apply(&ops)
            .map_err(|e| BackendError::Refused(format!("{e} ({:?})", changes.get(e.index))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_round_trip_through_the_clients_service() {
        let key = ServiceKey::Addr {
            proto: Proto::Udp,
            ip: "198.51.100.10".parse().unwrap(),
            port: 53,
        };
        let spec = ServiceSpec {
            scheduler: "wrr".into(),
            persistence: Some(Persistence {
                timeout: 300,
                netmask: Some("255.255.255.0".parse().unwrap()),
            }),
            ops: true,
        };
        let s = service_to(&key, &spec);
        assert_eq!(s.netmask, 0xffff_ff00);
        assert_eq!(key_from(&s.key), key);
        assert_eq!(spec_from(&s), spec);
        let plain = ServiceSpec {
            scheduler: "rr".into(),
            persistence: Some(Persistence {
                timeout: 60,
                netmask: None,
            }),
            ops: false,
        };
        assert_eq!(spec_from(&service_to(&key, &plain)), plain);
    }

    #[test]
    fn ipv6_granularity_is_a_prefix_length() {
        let key = ServiceKey::Fwmark {
            family: Family::Inet6,
            mark: 9,
        };
        let spec = ServiceSpec {
            scheduler: "sh".into(),
            persistence: Some(Persistence {
                timeout: 30,
                netmask: Some("ffff:ffff:ffff:ffff::".parse().unwrap()),
            }),
            ops: false,
        };
        let s = service_to(&key, &spec);
        assert_eq!(s.netmask, 64);
        assert_eq!(spec_from(&s), spec);
    }

    #[test]
    fn changes_map_to_the_same_operations() {
        let service = ServiceKey::Addr {
            proto: Proto::Tcp,
            ip: "198.51.100.10".parse().unwrap(),
            port: 80,
        };
        let dest = DestKey {
            ip: "198.51.100.21".parse().unwrap(),
            port: 80,
        };
        let op = op_to(&Change::EditDest {
            service,
            dest,
            spec: Dest {
                method: Method::Dr,
                weight: 0,
            },
        });
        let k::Op::EditDest(k, d) = op else {
            panic!("{op:?}")
        };
        assert_eq!(key_from(&k), service);
        assert_eq!((d.forward, d.weight), (k::Forward::Route, 0));
        assert!(matches!(
            op_to(&Change::DelDest { service, dest }),
            k::Op::DelDest(_, ip, 80) if ip == dest.ip
        ));
    }
}
