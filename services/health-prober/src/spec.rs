//! The check targets of a configuration: one per (real server, checker) pair,
//! shared by every virtual server that has the same real server with the same
//! checker, so it is probed once. Pure: no I/O.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use keepalived_config::{Checker, CheckerKind, Config, Protocol, VsKey};

/// A virtual server a target's real server belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VsRef {
    /// The configuration's key.
    pub key: VsKey,
    /// The virtual server's protocol.
    pub protocol: Protocol,
    /// keepalived's rendering, e.g. `[198.51.100.10]:tcp:80`.
    pub label: String,
}

/// A `track_file` as FILE_CHECK follows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TrackedFile {
    /// The file holding a number.
    pub path: String,
    /// Multiplier (`weight` of FILE_CHECK, else of the track_file; 0 = down on non-zero).
    pub weight: i32,
    /// `weight N reverse`.
    pub reverse: bool,
}

/// One (real server, checker) pair to probe.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetSpec {
    /// Stable id: `<CHECKER>:<ip>:<port>[#n]`.
    pub id: String,
    /// The checker as configured, with its resolved timing.
    pub checker: Checker,
    /// The real server.
    pub real_server: SocketAddr,
    /// Where attempts go (`connect_ip`/`connect_port`, else the real server).
    pub connect: SocketAddr,
    /// `tcp`, `udp` or `sctp`: the virtual server's protocol, as keepalived prints it.
    pub protocol: &'static str,
    /// The real server's `virtualhost`, else the virtual server's: the HTTP
    /// Host when neither the url nor the checker names one (keepalived's
    /// order url → checker → real server → virtual server).
    pub server_virtualhost: Option<String>,
    /// FILE_CHECK's file.
    pub file: Option<TrackedFile>,
    /// The virtual servers this target serves, in file order.
    pub virtual_servers: Vec<VsRef>,
    /// What makes two targets the same (everything but the id and the
    /// virtual servers): equal identities are probed once and keep their
    /// state across a reload.
    pub identity: String,
}

impl TargetSpec {
    /// keepalived's `FMT_CHK`: `[IP]:tcp:PORT` of the checked address.
    pub fn fmt_chk(&self) -> String {
        fmt_addr(self.connect.ip(), self.protocol, self.connect.port())
    }

    /// keepalived's `FMT_RS`: `[IP]:tcp:PORT` of the real server.
    pub fn fmt_rs(&self) -> String {
        fmt_addr(
            self.real_server.ip(),
            self.protocol,
            self.real_server.port(),
        )
    }

    /// The real server as `ip:port`, the key of the real-server verdict.
    pub fn real_server_key(&self) -> String {
        self.real_server.to_string()
    }
}

/// `[IP]:proto:PORT`, keepalived 2.2's address format.
pub fn fmt_addr(ip: IpAddr, protocol: &str, port: u16) -> String {
    format!("[{ip}]:{protocol}:{port}")
}

fn protocol_name(p: Protocol) -> &'static str {
    match p {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
        Protocol::Sctp => "sctp",
    }
}

fn vs_label(key: &VsKey, protocol: Protocol) -> String {
    match key {
        VsKey::Addr { ip, port } => fmt_addr(*ip, protocol_name(protocol), *port),
        VsKey::Fwmark { mark } => format!("FWM {mark}"),
        VsKey::Group { name } => format!("[{name}]"),
    }
}

#[derive(serde::Serialize)]
struct IdentityParts<'a> {
    checker: &'a Checker,
    real_server: SocketAddr,
    protocol: &'static str,
    server_virtualhost: Option<&'a String>,
    file: &'a Option<TrackedFile>,
}

/// Every target of `config`, deduplicated, in file order.
pub fn build(config: &Config) -> Vec<TargetSpec> {
    let mut targets: Vec<TargetSpec> = Vec::new();
    let mut by_identity: HashMap<String, usize> = HashMap::new();
    let mut per_prefix: HashMap<String, u32> = HashMap::new();
    for vs in &config.virtual_servers {
        let protocol = protocol_name(vs.protocol);
        let vs_ref = VsRef {
            key: vs.key.clone(),
            protocol: vs.protocol,
            label: vs_label(&vs.key, vs.protocol),
        };
        for rs in &vs.real_servers {
            let real_server = SocketAddr::new(rs.ip, rs.port);
            for checker in &rs.checkers {
                let connect = SocketAddr::new(
                    checker.connect_ip.unwrap_or(rs.ip),
                    checker.connect_port.unwrap_or(rs.port),
                );
                let file = match &checker.kind {
                    CheckerKind::FileCheck(f) => config
                        .track_files
                        .iter()
                        .find(|t| t.name == f.track_file)
                        .map(|t| TrackedFile {
                            path: t.file.clone(),
                            weight: f.weight.unwrap_or(t.weight),
                            reverse: f.reverse || t.reverse,
                        }),
                    _ => None,
                };
                let identity = serde_json::to_string(&IdentityParts {
                    checker,
                    real_server,
                    protocol,
                    server_virtualhost: rs.virtualhost.as_ref().or(vs.virtualhost.as_ref()),
                    file: &file,
                })
                .unwrap_or_default();
                if let Some(&index) = by_identity.get(&identity) {
                    if !targets[index].virtual_servers.contains(&vs_ref) {
                        targets[index].virtual_servers.push(vs_ref.clone());
                    }
                    continue;
                }
                let prefix = format!("{}:{}", checker.kind.keyword(), real_server);
                let n = per_prefix.entry(prefix.clone()).or_insert(0);
                *n += 1;
                let id = if *n == 1 {
                    prefix
                } else {
                    format!("{prefix}#{n}")
                };
                by_identity.insert(identity.clone(), targets.len());
                targets.push(TargetSpec {
                    id,
                    checker: checker.clone(),
                    real_server,
                    connect,
                    protocol,
                    server_virtualhost: rs.virtualhost.clone().or_else(|| vs.virtualhost.clone()),
                    file,
                    virtual_servers: vec![vs_ref.clone()],
                    identity,
                });
            }
        }
    }
    targets
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn load(text: &str) -> Config {
        keepalived_config::load_str(text, Path::new("/tmp/k.conf"), &Default::default())
            .unwrap()
            .config
    }

    const TWO_VS: &str = r#"
virtual_server 198.51.100.10 80 {
    protocol TCP
    delay_loop 2
    real_server 203.0.113.11 80 {
        HTTP_GET {
            url { path / }
            connect_timeout 2
            retry 3
            delay_before_retry 1
        }
        TCP_CHECK { connect_timeout 1 }
        TCP_CHECK { connect_port 8080 }
    }
}
virtual_server 198.51.100.20 80 {
    protocol TCP
    delay_loop 2
    real_server 203.0.113.11 80 {
        HTTP_GET {
            url { path / }
            connect_timeout 2
            retry 3
            delay_before_retry 1
        }
    }
}
"#;

    #[test]
    fn a_pair_shared_by_two_virtual_servers_is_one_target() {
        let targets = build(&load(TWO_VS));
        let ids: Vec<&str> = targets.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "HTTP_GET:203.0.113.11:80",
                "TCP_CHECK:203.0.113.11:80",
                "TCP_CHECK:203.0.113.11:80#2"
            ]
        );
        let labels: Vec<&str> = targets[0]
            .virtual_servers
            .iter()
            .map(|v| v.label.as_str())
            .collect();
        assert_eq!(labels, ["[198.51.100.10]:tcp:80", "[198.51.100.20]:tcp:80"]);
        assert_eq!(targets[2].fmt_chk(), "[203.0.113.11]:tcp:8080");
        assert_eq!(targets[2].fmt_rs(), "[203.0.113.11]:tcp:80");
    }

    #[test]
    fn a_different_timing_makes_a_different_target() {
        let other = TWO_VS.replacen("retry 3", "retry 2", 1);
        let targets = build(&load(&other));
        assert_eq!(
            targets.len(),
            4,
            "{:#?}",
            targets.iter().map(|t| &t.identity).collect::<Vec<_>>()
        );
        assert_ne!(targets[0].identity, targets[3].identity);
        assert_eq!(targets[3].id, "HTTP_GET:203.0.113.11:80#2");
    }

    #[test]
    fn identities_are_stable_across_loads() {
        let a = build(&load(TWO_VS));
        let b = build(&load(TWO_VS));
        assert_eq!(a, b);
    }

    #[test]
    fn host_falls_back_to_the_real_servers_then_the_virtual_servers_virtualhost() {
        let config = load(
            r#"
virtual_server 198.51.100.10 80 {
    virtualhost vs.example.com
    real_server 203.0.113.11 80 {
        virtualhost rs.example.com
        HTTP_GET {
            url {
                path /
            }
        }
    }
    real_server 203.0.113.12 80 {
        HTTP_GET {
            url {
                path /
            }
        }
    }
}
"#,
        );
        let targets = build(&config);
        assert_eq!(
            targets[0].server_virtualhost.as_deref(),
            Some("rs.example.com")
        );
        assert_eq!(
            targets[1].server_virtualhost.as_deref(),
            Some("vs.example.com")
        );
    }
}
