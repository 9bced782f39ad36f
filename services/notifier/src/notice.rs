//! What happened, in the notifier's terms: a bus event from vrrp-core or
//! ipvs-manager reduced to the one fact keepalived notifies about (pure; no
//! I/O).
//!
//! Only deltas become notices. Snapshots establish state and never notify by
//! themselves: keepalived's start-up BACKUP mail is a transition
//! (INIT → BACKUP) that vrrp-core publishes as a delta.

use std::fmt;

use keepalived_api::v1;
use serde::{Deserialize, Serialize};

/// A VRRP state as keepalived names it in notify arguments and mails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum State {
    /// Not started.
    Init,
    /// Backup.
    Backup,
    /// Master.
    Master,
    /// Fault.
    Fault,
    /// Stopping.
    Stop,
}

impl State {
    fn from_proto(value: i32) -> Option<Self> {
        match v1::VrrpState::try_from(value).ok()? {
            v1::VrrpState::Init => Some(Self::Init),
            v1::VrrpState::Backup => Some(Self::Backup),
            v1::VrrpState::Master => Some(Self::Master),
            v1::VrrpState::Fault => Some(Self::Fault),
            v1::VrrpState::Stop => Some(Self::Stop),
            v1::VrrpState::Unspecified => None,
        }
    }

    /// keepalived's word for the state (`notify_script_exec` in vrrp_notify.c).
    pub fn word(self) -> &'static str {
        match self {
            Self::Init => "INIT",
            Self::Backup => "BACKUP",
            Self::Master => "MASTER",
            Self::Fault => "FAULT",
            Self::Stop => "STOP",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// A virtual server's name, as keepalived prints it (`FMT_VS`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum VsName {
    /// `virtual_server IP PORT`.
    Addr {
        /// Address as text.
        ip: String,
        /// Port.
        port: u16,
        /// `tcp`, `udp` or `sctp`.
        protocol: String,
    },
    /// `virtual_server fwmark N`.
    Fwmark {
        /// The mark.
        mark: u32,
    },
    /// `virtual_server group NAME`.
    Group {
        /// Group name.
        name: String,
    },
}

/// The canonical text of an address (`2001:db8::1`, not `2001:0db8::0001`),
/// so names from the bus and from the configuration compare equal.
pub fn canonical_ip(text: &str) -> String {
    text.parse::<std::net::IpAddr>()
        .map_or_else(|_| text.to_owned(), |ip| ip.to_string())
}

/// `[IP]:proto:PORT`, keepalived 2.2.7's `inet_sockaddrtotrio` (2.x always
/// prints the protocol; 1.x printed `[IP]:PORT`).
pub fn trio(ip: &str, protocol: &str, port: u16) -> String {
    format!("[{ip}]:{protocol}:{port}")
}

impl fmt::Display for VsName {
    /// keepalived's `format_vs`: the trio, `FWM N` or the group name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Addr { ip, port, protocol } => f.write_str(&trio(ip, protocol, *port)),
            Self::Fwmark { mark } => write!(f, "FWM {mark}"),
            Self::Group { name } => write!(f, "[{name}]"),
        }
    }
}

fn protocol_word(value: i32) -> &'static str {
    match v1::Protocol::try_from(value).unwrap_or(v1::Protocol::Unspecified) {
        v1::Protocol::Udp => "udp",
        v1::Protocol::Sctp => "sctp",
        // keepalived's default protocol is TCP.
        v1::Protocol::Tcp | v1::Protocol::Unspecified => "tcp",
    }
}

impl VsName {
    /// From the bus key; `None` when the key names no form.
    pub fn from_proto(key: &v1::VirtualServerKey) -> Option<Self> {
        let protocol = protocol_word(key.protocol).to_owned();
        match key.kind.as_ref()? {
            v1::virtual_server_key::Kind::AddressPort(ap) => Some(Self::Addr {
                ip: canonical_ip(&ap.address),
                port: u16::try_from(ap.port).ok()?,
                protocol,
            }),
            v1::virtual_server_key::Kind::Fwmark(mark) => Some(Self::Fwmark { mark: *mark }),
            v1::virtual_server_key::Kind::Group(name) => Some(Self::Group { name: name.clone() }),
        }
    }

    /// The protocol word real servers of this virtual server print with.
    pub fn protocol(&self) -> &str {
        match self {
            Self::Addr { protocol, .. } => protocol,
            _ => "tcp",
        }
    }
}

/// A real server inside a virtual server.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RsName {
    /// The virtual server.
    pub vs: VsName,
    /// Address as text.
    pub ip: String,
    /// Port.
    pub port: u16,
}

impl fmt::Display for RsName {
    /// keepalived's `FMT_RS`: `[IP]:proto:PORT`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&trio(&self.ip, self.vs.protocol(), self.port))
    }
}

/// One notifiable fact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A VRRP instance changed state.
    Instance {
        /// Instance name.
        name: String,
        /// Previous state.
        from: State,
        /// New state.
        to: State,
        /// Effective priority at the time.
        priority: u32,
    },
    /// An instance's effective priority changed (written to the notify FIFOs only, and
    /// only with `notify_priority_changes`: vrrp_notify.c `send_instance_priority_notifies`).
    Priority {
        /// Instance name.
        name: String,
        /// Whether it is master (`MASTER_PRIORITY`; any other state is `BACKUP_PRIORITY`).
        master: bool,
        /// The new effective priority.
        priority: u32,
    },
    /// A sync group changed state.
    Group {
        /// Group name.
        name: String,
        /// Previous state.
        from: State,
        /// New state.
        to: State,
    },
    /// A real server went up or down because of its checkers.
    RealServer {
        /// Which.
        rs: RsName,
        /// Up (added/enabled) or down (removed/disabled).
        up: bool,
        /// The checker's failure reason (`HTTP request failed`).
        reason: String,
        /// The checker type (`HTTP_CHECK`).
        checker: String,
        /// keepalived's mail body as the health-prober worded it for this
        /// checker (`RealServerChange.mail_body`): empty when keepalived
        /// sends none (FILE_CHECK), `None` when the event does not say.
        mail_body: Option<String>,
    },
    /// A virtual server gained or lost its quorum.
    Quorum {
        /// Which.
        vs: VsName,
        /// Gained (true) or lost.
        up: bool,
        /// Configured quorum.
        quorum: u32,
        /// Configured hysteresis.
        hysteresis: u32,
        /// Sum of the weights of alive real servers.
        alive_weight: u32,
    },
}

impl Notice {
    /// The kind, as webhooks filter and name it: `vrrp`, `sync_group`,
    /// `realserver` or `quorum`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Instance { .. } | Self::Priority { .. } => "vrrp",
            Self::Group { .. } => "sync_group",
            Self::RealServer { .. } => "realserver",
            Self::Quorum { .. } => "quorum",
        }
    }
}

/// The notice a vrrp-core delta carries, if any. Nothing is notified about
/// entering INIT or a "transition" to the same state (keepalived notifies on
/// entering MASTER, BACKUP, FAULT and STOP only).
pub fn from_vrrp(event: &v1::VrrpEvent) -> Option<Notice> {
    use v1::vrrp_event::Payload;
    let notice = match event.payload.as_ref()? {
        Payload::Transition(t) => Some(Notice::Instance {
            name: t.instance.clone(),
            from: State::from_proto(t.from).unwrap_or(State::Init),
            to: State::from_proto(t.to)?,
            priority: t.priority,
        }),
        Payload::PriorityChanged(p) => Some(Notice::Priority {
            name: p.instance.clone(),
            master: p.state == v1::VrrpState::Master as i32,
            priority: p.to,
        }),
        Payload::SyncGroupTransition(t) => Some(Notice::Group {
            name: t.group.clone(),
            from: State::from_proto(t.from).unwrap_or(State::Init),
            to: State::from_proto(t.to)?,
        }),
        _ => None,
    }?;
    match &notice {
        Notice::Instance { from, to, .. } | Notice::Group { from, to, .. }
            if *to == State::Init || from == to =>
        {
            None
        }
        _ => Some(notice),
    }
}

/// The notice an ipvs-manager delta carries, if any.
///
/// A real-server change notifies only when a checker caused it (`checker`
/// set): operator changes (drain, weight) and the removals of a shutdown carry
/// no checker, and keepalived sends no mail and runs no notify_down for them
/// (without `omega`, `clear_service_rs` returns before `do_rs_notifies`).
pub fn from_ipvs(event: &v1::IpvsEvent) -> Option<Notice> {
    use v1::ipvs_event::Payload;
    match event.payload.as_ref()? {
        Payload::RealServerChanged(change) => {
            if change.checker.is_empty() {
                return None;
            }
            let up = match v1::RealServerChangeKind::try_from(change.kind).ok()? {
                v1::RealServerChangeKind::Added | v1::RealServerChangeKind::Enabled => true,
                v1::RealServerChangeKind::Removed | v1::RealServerChangeKind::Disabled => false,
                _ => return None,
            };
            let key = change.key.as_ref()?;
            let vs = VsName::from_proto(key.virtual_server.as_ref()?)?;
            let rs = key.real_server.as_ref()?;
            Some(Notice::RealServer {
                rs: RsName {
                    vs,
                    ip: canonical_ip(&rs.address),
                    port: u16::try_from(rs.port).ok()?,
                },
                up,
                reason: change.reason.clone(),
                checker: change.checker.clone(),
                mail_body: change.mail_body.clone(),
            })
        }
        Payload::QuorumChanged(change) => {
            let quorum = change.quorum.as_ref()?;
            Some(Notice::Quorum {
                vs: VsName::from_proto(change.key.as_ref()?)?,
                up: quorum.up,
                quorum: quorum.quorum,
                hysteresis: quorum.hysteresis,
                alive_weight: quorum.alive_weight,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vs_key() -> v1::VirtualServerKey {
        v1::VirtualServerKey {
            kind: Some(v1::virtual_server_key::Kind::AddressPort(v1::AddressPort {
                address: "198.51.100.10".into(),
                port: 80,
            })),
            protocol: v1::Protocol::Tcp as i32,
        }
    }

    fn rs_change(kind: v1::RealServerChangeKind, checker: &str) -> v1::IpvsEvent {
        v1::IpvsEvent {
            header: None,
            payload: Some(v1::ipvs_event::Payload::RealServerChanged(
                v1::RealServerChange {
                    key: Some(v1::RealServerKey {
                        virtual_server: Some(vs_key()),
                        real_server: Some(v1::AddressPort {
                            address: "203.0.113.12".into(),
                            port: 80,
                        }),
                    }),
                    kind: kind as i32,
                    reason: "HTTP request failed".into(),
                    checker: checker.into(),
                    ..Default::default()
                },
            )),
        }
    }

    #[test]
    fn removal_by_a_checker_is_a_down_notice_with_keepalived_names() {
        let notice = from_ipvs(&rs_change(v1::RealServerChangeKind::Removed, "HTTP_CHECK"));
        let Some(Notice::RealServer { rs, up, reason, .. }) = notice else {
            panic!("{notice:?}")
        };
        assert!(!up);
        assert_eq!(reason, "HTTP request failed");
        let mut with_words = rs_change(v1::RealServerChangeKind::Disabled, "TCP_CHECK");
        if let Some(v1::ipvs_event::Payload::RealServerChanged(c)) = &mut with_words.payload {
            c.mail_body = Some("=> TCP CHECK failed on service <=".into());
        }
        assert!(matches!(
            from_ipvs(&with_words),
            Some(Notice::RealServer { up: false, mail_body: Some(body), .. })
                if body == "=> TCP CHECK failed on service <="
        ));
        assert_eq!(rs.to_string(), "[203.0.113.12]:tcp:80");
        assert_eq!(rs.vs.to_string(), "[198.51.100.10]:tcp:80");
        let enabled = from_ipvs(&rs_change(v1::RealServerChangeKind::Enabled, "TCP_CHECK"));
        assert!(matches!(enabled, Some(Notice::RealServer { up: true, .. })));
    }

    #[test]
    fn shutdown_and_operator_changes_notify_nothing() {
        assert_eq!(
            from_ipvs(&rs_change(v1::RealServerChangeKind::Removed, "")),
            None
        );
        assert_eq!(
            from_ipvs(&rs_change(
                v1::RealServerChangeKind::WeightChanged,
                "HTTP_CHECK"
            )),
            None
        );
    }

    #[test]
    fn entering_init_or_staying_put_notifies_nothing() {
        let t = |from: v1::VrrpState, to: v1::VrrpState| v1::VrrpEvent {
            header: None,
            payload: Some(v1::vrrp_event::Payload::Transition(
                v1::InstanceTransition {
                    instance: "VI_1".into(),
                    from: from as i32,
                    to: to as i32,
                    ..Default::default()
                },
            )),
        };
        assert_eq!(
            from_vrrp(&t(v1::VrrpState::Backup, v1::VrrpState::Init)),
            None
        );
        assert_eq!(
            from_vrrp(&t(v1::VrrpState::Master, v1::VrrpState::Master)),
            None
        );
        assert!(from_vrrp(&t(v1::VrrpState::Init, v1::VrrpState::Backup)).is_some());
    }

    #[test]
    fn fwmark_and_group_print_as_keepalived() {
        assert_eq!(VsName::Fwmark { mark: 7 }.to_string(), "FWM 7");
        assert_eq!(VsName::Group { name: "web".into() }.to_string(), "[web]");
    }
}
