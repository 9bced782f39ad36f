//! The kernel load-balancer table as data: services, their destinations, and
//! the changes that turn one table into another. The same type describes the
//! desired table (from the configuration and health) and the observed one
//! (read back from IPVS or nftables), so the reconciler is a pure diff.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

/// Transport protocol of an address/port service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

impl Proto {
    /// keepalived's lower-case name, as in `[IP]:tcp:80`.
    pub fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Sctp => "sctp",
        }
    }

    /// Parses [`Proto::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "tcp" => Some(Proto::Tcp),
            "udp" => Some(Proto::Udp),
            "sctp" => Some(Proto::Sctp),
            _ => None,
        }
    }
}

/// Address family of a fwmark service (IPVS keys fwmark services by mark and family).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// IPv4.
    Inet,
    /// IPv6.
    Inet6,
}

/// How the kernel names a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceKey {
    /// `virtual_server IP PORT` (or one member of a group).
    Addr {
        /// Protocol.
        proto: Proto,
        /// Virtual address.
        ip: IpAddr,
        /// Port.
        port: u16,
    },
    /// `virtual_server fwmark N`.
    Fwmark {
        /// Family of the addresses it carries.
        family: Family,
        /// Firewall mark.
        mark: u32,
    },
}

impl fmt::Display for ServiceKey {
    /// keepalived's `FMT_VS` wording: `[198.51.100.10]:tcp:80`, `FWM 5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Addr { proto, ip, port } => write!(f, "[{ip}]:{}:{port}", proto.name()),
            ServiceKey::Fwmark { mark, .. } => write!(f, "FWM {mark}"),
        }
    }
}

/// Persistence of a service (`persistence_timeout`, `persistence_granularity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Persistence {
    /// Seconds.
    pub timeout: u32,
    /// Netmask applied to the client address; `None` is a host mask.
    pub netmask: Option<IpAddr>,
}

/// What can be edited in place on a service.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServiceSpec {
    /// IPVS scheduler name (validated by [`crate::sched`]).
    pub scheduler: String,
    /// Persistence, when set.
    pub persistence: Option<Persistence>,
    /// One-packet scheduling (`ops`, UDP only).
    pub ops: bool,
}

/// Forwarding method of a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Method {
    /// Direct routing.
    Dr,
    /// Masquerading.
    Nat,
    /// IP-in-IP.
    Tun,
}

impl Method {
    /// ipvsadm's column name (`Route`, `Masq`, `Tunnel`).
    pub fn ipvsadm_name(self) -> &'static str {
        match self {
            Method::Dr => "Route",
            Method::Nat => "Masq",
            Method::Tun => "Tunnel",
        }
    }
}

/// A destination (real server) inside a service. Ordered by address (every
/// IPv4 one before every IPv6 one, as `IpAddr` orders them), then port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DestKey {
    /// Address.
    pub ip: IpAddr,
    /// Port.
    pub port: u16,
}

impl Ord for DestKey {
    /// The derived order, computed on integers: `IpAddr` compares byte
    /// arrays (a `memcmp` call), and a 10,000-server table is sorted,
    /// merged and searched by this at every change.
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.ip, other.ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                (u32::from(a), self.port).cmp(&(u32::from(b), other.port))
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => {
                (u128::from(a), self.port).cmp(&(u128::from(b), other.port))
            }
            (IpAddr::V4(_), IpAddr::V6(_)) => Ordering::Less,
            (IpAddr::V6(_), IpAddr::V4(_)) => Ordering::Greater,
        }
    }
}

impl PartialOrd for DestKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for DestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}]:{}", self.ip, self.port)
    }
}

/// What can be edited in place on a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Dest {
    /// Forwarding method.
    pub method: Method,
    /// Weight; 0 keeps the destination but sends it no new connections.
    pub weight: u32,
}

/// A service with its destinations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// Editable attributes.
    pub spec: ServiceSpec,
    /// Destinations by address.
    pub dests: BTreeMap<DestKey, Dest>,
}

/// A whole table (the part of the kernel's table this process looks at).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableState {
    /// Services by key.
    pub services: BTreeMap<ServiceKey, Service>,
}

/// One change to the kernel table, in the vocabulary shared by IPVS and nft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Add a service (before any of its destinations).
    AddService {
        /// Which.
        key: ServiceKey,
        /// Its attributes.
        spec: ServiceSpec,
    },
    /// Change a service's scheduler, persistence or flags in place.
    EditService {
        /// Which.
        key: ServiceKey,
        /// New attributes.
        spec: ServiceSpec,
    },
    /// Remove a service (after its destinations).
    DelService {
        /// Which.
        key: ServiceKey,
    },
    /// Add a destination.
    AddDest {
        /// Its service.
        service: ServiceKey,
        /// Which.
        dest: DestKey,
        /// Weight and method.
        spec: Dest,
    },
    /// Change a destination's weight or method in place (existing
    /// connections stay).
    EditDest {
        /// Its service.
        service: ServiceKey,
        /// Which.
        dest: DestKey,
        /// New weight and method.
        spec: Dest,
    },
    /// Remove a destination.
    DelDest {
        /// Its service.
        service: ServiceKey,
        /// Which.
        dest: DestKey,
    },
}

impl Change {
    /// The service the change concerns.
    pub fn service(&self) -> &ServiceKey {
        match self {
            Change::AddService { key, .. }
            | Change::EditService { key, .. }
            | Change::DelService { key } => key,
            Change::AddDest { service, .. }
            | Change::EditDest { service, .. }
            | Change::DelDest { service, .. } => service,
        }
    }
}

/// Why a change cannot be applied to a table (the diff never produces these;
/// a backend that finds one has drifted from what it believed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// The service is already there.
    #[error("service {0} already exists")]
    ServiceExists(ServiceKey),
    /// The service is not there.
    #[error("no service {0}")]
    NoService(ServiceKey),
    /// The destination is already there.
    #[error("destination {1} already exists in {0}")]
    DestExists(ServiceKey, DestKey),
    /// The destination is not there.
    #[error("no destination {1} in {0}")]
    NoDest(ServiceKey, DestKey),
}

impl TableState {
    /// Applies `changes` in order, with IPVS's rules (adding what exists or
    /// removing what does not is an error). Deleting a service drops its
    /// remaining destinations, as IPVS does.
    pub fn apply(&mut self, changes: &[Change]) -> Result<(), ApplyError> {
        for change in changes {
            self.apply_one(change)?;
        }
        Ok(())
    }

    fn apply_one(&mut self, change: &Change) -> Result<(), ApplyError> {
        match change {
            Change::AddService { key, spec } => {
                if self.services.contains_key(key) {
                    return Err(ApplyError::ServiceExists(*key));
                }
                self.services.insert(
                    *key,
                    Service {
                        spec: spec.clone(),
                        dests: BTreeMap::new(),
                    },
                );
            }
            Change::EditService { key, spec } => {
                let service = self
                    .services
                    .get_mut(key)
                    .ok_or(ApplyError::NoService(*key))?;
                service.spec = spec.clone();
            }
            Change::DelService { key } => {
                self.services
                    .remove(key)
                    .ok_or(ApplyError::NoService(*key))?;
            }
            Change::AddDest {
                service,
                dest,
                spec,
            } => {
                let s = self
                    .services
                    .get_mut(service)
                    .ok_or(ApplyError::NoService(*service))?;
                if s.dests.contains_key(dest) {
                    return Err(ApplyError::DestExists(*service, *dest));
                }
                s.dests.insert(*dest, *spec);
            }
            Change::EditDest {
                service,
                dest,
                spec,
            } => {
                let s = self
                    .services
                    .get_mut(service)
                    .ok_or(ApplyError::NoService(*service))?;
                let d = s
                    .dests
                    .get_mut(dest)
                    .ok_or(ApplyError::NoDest(*service, *dest))?;
                *d = *spec;
            }
            Change::DelDest { service, dest } => {
                let s = self
                    .services
                    .get_mut(service)
                    .ok_or(ApplyError::NoService(*service))?;
                s.dests
                    .remove(dest)
                    .ok_or(ApplyError::NoDest(*service, *dest))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use proptest::prelude::*;

    use super::*;

    fn dest() -> impl Strategy<Value = DestKey> {
        // Few distinct values, so that equal addresses and ports occur.
        let ip = prop_oneof![
            (0u32..4).prop_map(|n| IpAddr::V4(Ipv4Addr::from(0xcb00_7100 + n))),
            (0u128..4).prop_map(|n| IpAddr::V6(Ipv6Addr::from(0x2001_0db8_u128 << 96 | n << 40))),
        ];
        (ip, 79u16..82).prop_map(|(ip, port)| DestKey { ip, port })
    }

    proptest! {
        #[test]
        fn dest_keys_order_as_the_derived_order_would(a in dest(), b in dest()) {
            prop_assert_eq!(a.cmp(&b), (a.ip, a.port).cmp(&(b.ip, b.port)));
            prop_assert_eq!(a.cmp(&b) == Ordering::Equal, a == b);
        }
    }
}
