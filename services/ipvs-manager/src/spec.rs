//! The configured virtual servers, resolved into what the kernel needs: one
//! or more kernel services per `virtual_server` (a group expands to each of
//! its members), and for each real server the settings that decide whether
//! and how it is in the table.

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;

use keepalived_config::{Config, LvsMethod, VsKey, VsgEntry};

use crate::sched;
use crate::table::{DestKey, Family, Method, Persistence, Proto, ServiceKey, ServiceSpec};

/// keepalived adds the sorry server with weight 1 (it has no `weight` keyword).
const SORRY_WEIGHT: u32 = 1;

/// How a virtual server is named in the configuration (and in the API).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VsName {
    /// `virtual_server IP PORT`.
    Addr {
        /// Protocol.
        proto: Proto,
        /// Address.
        ip: IpAddr,
        /// Port.
        port: u16,
    },
    /// `virtual_server fwmark N`.
    Fwmark {
        /// Mark.
        mark: u32,
    },
    /// `virtual_server group NAME`.
    Group {
        /// Protocol.
        proto: Proto,
        /// Group name.
        name: String,
    },
}

impl fmt::Display for VsName {
    /// keepalived 2.2.7's `FMT_VS`: `[198.51.100.10]:tcp:80`, `FWM 5`,
    /// `[GROUP]:tcp`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VsName::Addr { proto, ip, port } => write!(f, "[{ip}]:{}:{port}", proto.name()),
            VsName::Fwmark { mark } => write!(f, "FWM {mark}"),
            VsName::Group { proto, name } => write!(f, "[{name}]:{}", proto.name()),
        }
    }
}

/// A real server (or the sorry server) as planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsSpec {
    /// Address and port.
    pub key: DestKey,
    /// Configured weight.
    pub weight: u32,
    /// Forwarding method (its own or the virtual server's).
    pub method: Method,
    /// `inhibit_on_failure`: weight 0 instead of removal when down.
    pub inhibit: bool,
    /// Whether any checker watches it (else it is always up).
    pub checked: bool,
    /// `alpha`: down until a verdict says up.
    pub alpha: bool,
}

/// A configured virtual server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VsSpec {
    /// Its name.
    pub name: VsName,
    /// The kernel services it expands to.
    pub services: Vec<ServiceKey>,
    /// Scheduler and persistence.
    pub spec: ServiceSpec,
    /// Default forwarding method.
    pub method: Method,
    /// Real servers in configuration order.
    pub real_servers: Vec<RsSpec>,
    /// `sorry_server`.
    pub sorry: Option<RsSpec>,
    /// `quorum`.
    pub quorum: u32,
    /// `hysteresis`.
    pub hysteresis: u32,
    /// `omega`: when the virtual server is taken down, its real servers are
    /// announced down (the notifier runs their notify_down).
    pub omega: bool,
}

/// The whole plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spec {
    /// Virtual servers in configuration order.
    pub virtual_servers: Vec<VsSpec>,
}

impl Spec {
    /// Every kernel service of the plan.
    pub fn service_keys(&self) -> BTreeSet<ServiceKey> {
        self.virtual_servers
            .iter()
            .flat_map(|vs| vs.services.iter().copied())
            .collect()
    }

    /// The virtual server named `name`.
    pub fn find(&self, name: &VsName) -> Option<&VsSpec> {
        self.virtual_servers.iter().find(|vs| &vs.name == name)
    }
}

fn proto(p: keepalived_config::Protocol) -> Proto {
    match p {
        keepalived_config::Protocol::Tcp => Proto::Tcp,
        keepalived_config::Protocol::Udp => Proto::Udp,
        keepalived_config::Protocol::Sctp => Proto::Sctp,
    }
}

/// The table's forwarding method for a configured one.
pub fn method(m: LvsMethod) -> Method {
    match m {
        LvsMethod::Dr => Method::Dr,
        LvsMethod::Nat => Method::Nat,
        LvsMethod::Tun => Method::Tun,
    }
}

fn family(ip: IpAddr) -> Family {
    if ip.is_ipv4() {
        Family::Inet
    } else {
        Family::Inet6
    }
}

/// Expands a `virtual_server_group` member into kernel service keys. A range
/// `IP-LAST` replaces the last octet (IPv4) or hextet (IPv6), as keepalived does.
fn expand(entry: &VsgEntry, proto: Proto, fam: Family) -> Vec<ServiceKey> {
    match entry {
        VsgEntry::Fwmark { mark } => vec![ServiceKey::Fwmark {
            family: fam,
            mark: *mark,
        }],
        VsgEntry::Addr {
            ip,
            range_end,
            port,
        } => {
            let Some(end) = range_end else {
                return vec![ServiceKey::Addr {
                    proto,
                    ip: *ip,
                    port: *port,
                }];
            };
            match ip {
                IpAddr::V4(a) => {
                    let o = a.octets();
                    (u16::from(o[3])..=(*end).min(255))
                        .map(|last| ServiceKey::Addr {
                            proto,
                            ip: IpAddr::from([o[0], o[1], o[2], last as u8]),
                            port: *port,
                        })
                        .collect()
                }
                IpAddr::V6(a) => {
                    let mut s = a.segments();
                    (s[7]..=*end)
                        .map(|last| {
                            s[7] = last;
                            ServiceKey::Addr {
                                proto,
                                ip: IpAddr::from(s),
                                port: *port,
                            }
                        })
                        .collect()
                }
            }
        }
    }
}

/// Builds the plan. Virtual servers that cannot be programmed (unknown
/// scheduler, unknown group, a service already taken by an earlier
/// virtual_server) are left out, each with an error message in the second
/// value, so the rest still works — as keepalived skips a bad block.
pub fn build(config: &Config) -> (Spec, Vec<String>) {
    let mut errors = Vec::new();
    let mut taken = BTreeSet::new();
    let mut plan = Spec::default();
    for vs in &config.virtual_servers {
        let p = proto(vs.protocol);
        let first_family = vs
            .real_servers
            .first()
            .map(|rs| family(rs.ip))
            .unwrap_or(Family::Inet);
        let (name, services) = match &vs.key {
            VsKey::Addr { ip, port } => (
                VsName::Addr {
                    proto: p,
                    ip: *ip,
                    port: *port,
                },
                vec![ServiceKey::Addr {
                    proto: p,
                    ip: *ip,
                    port: *port,
                }],
            ),
            VsKey::Fwmark { mark } => (
                VsName::Fwmark { mark: *mark },
                vec![ServiceKey::Fwmark {
                    family: first_family,
                    mark: *mark,
                }],
            ),
            VsKey::Group { name } => {
                let Some(group) = config
                    .virtual_server_groups
                    .iter()
                    .find(|g| &g.name == name)
                else {
                    errors.push(format!(
                        "virtual_server group {name}: no virtual_server_group {name}; not programmed"
                    ));
                    continue;
                };
                (
                    VsName::Group {
                        proto: p,
                        name: name.clone(),
                    },
                    group
                        .entries
                        .iter()
                        .flat_map(|e| expand(e, p, first_family))
                        .collect(),
                )
            }
        };
        if !sched::is_valid(&vs.lvs_sched) {
            errors.push(format!(
                "VS {name}: unknown scheduler {:?} (IPVS has {}); not programmed",
                vs.lvs_sched,
                sched::SCHEDULERS.join(", ")
            ));
            continue;
        }
        if let Some(dup) = services.iter().find(|s| taken.contains(*s)) {
            errors.push(format!(
                "VS {name}: service {dup} is already configured by an earlier virtual_server; not programmed"
            ));
            continue;
        }
        taken.extend(services.iter().copied());
        let vs_method = method(vs.lvs_method);
        let real_servers = vs
            .real_servers
            .iter()
            .map(|rs| RsSpec {
                key: DestKey {
                    ip: rs.ip,
                    port: rs.port,
                },
                // keepalived keeps weights in 0..=65535; negative makes no sense in IPVS.
                weight: rs.weight.clamp(0, 65535) as u32,
                method: rs.lvs_method.map(method).unwrap_or(vs_method),
                inhibit: rs.inhibit_on_failure.unwrap_or(vs.inhibit_on_failure),
                checked: !rs.checkers.is_empty(),
                alpha: rs
                    .checkers
                    .iter()
                    .any(|c| c.alpha.unwrap_or(rs.alpha.unwrap_or(vs.alpha))),
            })
            .collect();
        let sorry = vs.sorry_server.map(|s| RsSpec {
            key: DestKey {
                ip: s.ip,
                port: s.port,
            },
            weight: SORRY_WEIGHT,
            method: vs.sorry_server_lvs_method.map(method).unwrap_or(vs_method),
            inhibit: vs.sorry_server_inhibit,
            checked: false,
            alpha: false,
        });
        plan.virtual_servers.push(VsSpec {
            name,
            services,
            spec: ServiceSpec {
                scheduler: vs.lvs_sched.clone(),
                persistence: vs.persistence_timeout.map(|t| Persistence {
                    timeout: t.0,
                    netmask: vs.persistence_granularity,
                }),
                ops: vs.ops,
            },
            method: vs_method,
            real_servers,
            sorry,
            quorum: vs.quorum,
            hysteresis: vs.hysteresis,
            omega: vs.omega,
        });
    }
    (plan, errors)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn load(text: &str) -> Config {
        keepalived_config::load_str(text, Path::new("/t/keepalived.conf"), &Default::default())
            .expect("valid config")
            .config
    }

    #[test]
    fn groups_expand_ranges_and_fwmarks_with_the_virtual_servers_settings() {
        let config = load(
            "virtual_server_group G {\n 198.51.100.10-12 80\n fwmark 7\n}\n\
             virtual_server group G {\n lb_algo wrr\n lb_kind DR\n persistence_timeout 30\n\
             real_server 203.0.113.11 80 {\n weight 3\n inhibit_on_failure\n }\n}\n",
        );
        let (plan, errors) = build(&config);
        assert!(errors.is_empty(), "{errors:?}");
        let vs = &plan.virtual_servers[0];
        assert_eq!(vs.services.len(), 4);
        assert_eq!(vs.spec.scheduler, "wrr");
        assert_eq!(vs.spec.persistence.map(|p| p.timeout), Some(30));
        assert_eq!(vs.real_servers[0].weight, 3);
        assert!(vs.real_servers[0].inhibit);
        assert_eq!(vs.name.to_string(), "[G]:tcp");
    }

    #[test]
    fn an_unknown_scheduler_is_keepalived_s_default_wlc() {
        // keepalived ignores an lvs_sched it does not know ("Invalid lvs_scheduler"), and
        // the virtual server gets the default scheduler, wlc.
        let config = load(
            "virtual_server 198.51.100.10 80 {\n lb_algo bogus\n protocol TCP\n real_server 203.0.113.11 80 {\n }\n}\n\
             virtual_server 198.51.100.10 81 {\n lb_algo rr\n protocol TCP\n real_server 203.0.113.11 81 {\n }\n}\n",
        );
        let (plan, errors) = build(&config);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(plan.virtual_servers.len(), 2);
        assert_eq!(plan.virtual_servers[0].spec.scheduler, "wlc");
    }
}
