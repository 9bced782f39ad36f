//! `virtual_server`, `real_server` and the health checkers.

use std::net::IpAddr;

use serde::Serialize;

use super::Script;
use crate::time::{Seconds, TimeUs};

/// Which service a `virtual_server` is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum VsKey {
    /// `virtual_server IP PORT`.
    Addr {
        /// Virtual address.
        ip: IpAddr,
        /// Port (0 with persistence on all ports).
        port: u16,
    },
    /// `virtual_server fwmark N`.
    Fwmark {
        /// Firewall mark.
        mark: u32,
    },
    /// `virtual_server group NAME`.
    Group {
        /// `virtual_server_group` name.
        name: String,
    },
}

/// Forwarding method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LvsMethod {
    /// Masquerading.
    Nat,
    /// Direct routing.
    Dr,
    /// IP-in-IP tunnel.
    Tun,
}

/// Service protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Protocol {
    /// TCP (default).
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

/// An address and port (sorry server).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HostPort {
    /// Address.
    pub ip: IpAddr,
    /// Port.
    pub port: u16,
}

/// `virtual_server`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VirtualServer {
    /// Address/port, fwmark or group.
    pub key: VsKey,
    /// Interval between checks (default 60 s).
    pub delay_loop: TimeUs,
    /// IPVS scheduler (`lvs_sched`, alias `lb_algo`); IPVS's default is wlc.
    pub lvs_sched: String,
    /// Forwarding (`lvs_method`, alias `lb_kind`; default NAT).
    pub lvs_method: LvsMethod,
    /// Protocol (default TCP).
    pub protocol: Protocol,
    /// Persistence timeout (no value: 360 s).
    pub persistence_timeout: Option<Seconds>,
    /// Persistence netmask.
    pub persistence_granularity: Option<IpAddr>,
    /// Persistence engine (`sip`).
    pub persistence_engine: Option<String>,
    /// Used when no real server is alive.
    pub sorry_server: Option<HostPort>,
    /// Keep the sorry server at weight 0 instead of removing it.
    pub sorry_server_inhibit: bool,
    /// Forwarding method of the sorry server.
    pub sorry_server_lvs_method: Option<LvsMethod>,
    /// Default for real servers: set weight 0 instead of removing.
    pub inhibit_on_failure: bool,
    /// Minimum total weight of alive servers (default 1).
    pub quorum: u32,
    /// Hysteresis around the quorum.
    pub hysteresis: u32,
    /// Run when quorum is gained.
    pub quorum_up: Option<Script>,
    /// Run when quorum is lost.
    pub quorum_down: Option<Script>,
    /// Real servers start down until their first success.
    pub alpha: bool,
    /// Run notify_down on real servers at shutdown.
    pub omega: bool,
    /// Suspend checks while the VIP is absent.
    pub ha_suspend: bool,
    /// Host header for HTTP checks.
    pub virtualhost: Option<String>,
    /// One-packet scheduling (UDP).
    pub ops: bool,
    /// Mails for this virtual server's real servers.
    pub smtp_alert: Option<bool>,
    /// Default checker retry for its real servers.
    pub retry: Option<u32>,
    /// Default delay_before_retry.
    pub delay_before_retry: Option<TimeUs>,
    /// Default connect_timeout.
    pub connect_timeout: Option<TimeUs>,
    /// Default warmup.
    pub warmup: Option<TimeUs>,
    /// The real servers.
    pub real_servers: Vec<RealServer>,
}

impl RealServer {
    /// Whether this real server is set to weight 0 instead of removed when it fails: its own
    /// `inhibit_on_failure` if written, else its virtual server's. keepalived 2.2 resolves it
    /// the same way after reading the whole virtual server (check_data.c: `if (rs->inhibit ==
    /// -1) rs->inhibit = vs->inhibit`), so the order of the two keywords does not matter.
    pub fn inhibit_on_failure(&self, vs: &VirtualServer) -> bool {
        self.inhibit_on_failure.unwrap_or(vs.inhibit_on_failure)
    }
}

/// `real_server IP PORT`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RealServer {
    /// Address.
    pub ip: IpAddr,
    /// Port (defaults to the virtual server's).
    pub port: u16,
    /// IPVS weight (default 1).
    pub weight: i32,
    /// Overrides the virtual server's method.
    pub lvs_method: Option<LvsMethod>,
    /// Run when the server comes up.
    pub notify_up: Option<Script>,
    /// Run when the server goes down.
    pub notify_down: Option<Script>,
    /// Overrides the virtual server's `inhibit_on_failure`.
    pub inhibit_on_failure: Option<bool>,
    /// Check interval override.
    pub delay_loop: Option<TimeUs>,
    /// Start down until the first success.
    pub alpha: Option<bool>,
    /// Retry override for its checkers.
    pub retry: Option<u32>,
    /// delay_before_retry override.
    pub delay_before_retry: Option<TimeUs>,
    /// connect_timeout override.
    pub connect_timeout: Option<TimeUs>,
    /// warmup override.
    pub warmup: Option<TimeUs>,
    /// Mails for this server.
    pub smtp_alert: Option<bool>,
    /// `virtualhost`: the HTTP `Host` of this server's HTTP_GET/SSL_GET checks
    /// when neither the url nor the checker names one (keepalived's order:
    /// url → checker → real server → virtual server).
    pub virtualhost: Option<String>,
    /// Health checkers.
    pub checkers: Vec<Checker>,
}

/// One health checker with its generic keys and its resolved timing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Checker {
    /// The checker type and its own settings.
    pub kind: CheckerKind,
    /// Address to check (default: the real server's).
    pub connect_ip: Option<IpAddr>,
    /// Port to check (default: the real server's).
    pub connect_port: Option<u16>,
    /// Source address.
    pub bindto: Option<IpAddr>,
    /// Source port.
    pub bind_port: Option<u16>,
    /// Source interface.
    pub bind_if: Option<String>,
    /// Mark on check packets.
    pub fwmark: Option<u32>,
    /// As written in the checker block.
    pub connect_timeout: Option<TimeUs>,
    /// As written (`retry`, alias `nb_get_retry`).
    pub retry: Option<u32>,
    /// As written.
    pub delay_before_retry: Option<TimeUs>,
    /// As written.
    pub warmup: Option<TimeUs>,
    /// As written.
    pub delay_loop: Option<TimeUs>,
    /// As written.
    pub alpha: Option<bool>,
    /// Log every failed attempt while up.
    pub log_all_failures: bool,
    /// Effective values after inheritance checker → real server → virtual server → default.
    pub timing: CheckerTiming,
}

/// Resolved checker timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CheckerTiming {
    /// Interval between checks.
    pub delay_loop: TimeUs,
    /// Connect timeout (default 5 s).
    pub connect_timeout: TimeUs,
    /// Retries after the first failed attempt (attempts = retry + 1).
    pub retry: u32,
    /// Delay between failed attempts.
    pub delay_before_retry: TimeUs,
    /// Max random delay before the first check (default: delay_loop).
    pub warmup: TimeUs,
    /// Whether the server starts down (`alpha`).
    pub alpha: bool,
}

/// The checker type.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type")]
pub enum CheckerKind {
    /// `HTTP_GET`.
    #[serde(rename = "HTTP_GET")]
    HttpGet(HttpCheck),
    /// `SSL_GET`.
    #[serde(rename = "SSL_GET")]
    SslGet(HttpCheck),
    /// `TCP_CHECK`.
    #[serde(rename = "TCP_CHECK")]
    TcpCheck,
    /// `MISC_CHECK`.
    #[serde(rename = "MISC_CHECK")]
    MiscCheck(MiscCheck),
    /// `SMTP_CHECK`.
    #[serde(rename = "SMTP_CHECK")]
    SmtpCheck(SmtpCheck),
    /// `DNS_CHECK`.
    #[serde(rename = "DNS_CHECK")]
    DnsCheck(DnsCheck),
    /// `UDP_CHECK`.
    #[serde(rename = "UDP_CHECK")]
    UdpCheck(UdpCheck),
    /// `PING_CHECK`.
    #[serde(rename = "PING_CHECK")]
    PingCheck,
    /// `FILE_CHECK`.
    #[serde(rename = "FILE_CHECK")]
    FileCheck(FileCheck),
}

impl CheckerKind {
    /// The keyword that introduces this checker.
    pub fn keyword(&self) -> &'static str {
        match self {
            CheckerKind::HttpGet(_) => "HTTP_GET",
            CheckerKind::SslGet(_) => "SSL_GET",
            CheckerKind::TcpCheck => "TCP_CHECK",
            CheckerKind::MiscCheck(_) => "MISC_CHECK",
            CheckerKind::SmtpCheck(_) => "SMTP_CHECK",
            CheckerKind::DnsCheck(_) => "DNS_CHECK",
            CheckerKind::UdpCheck(_) => "UDP_CHECK",
            CheckerKind::PingCheck => "PING_CHECK",
            CheckerKind::FileCheck(_) => "FILE_CHECK",
        }
    }
}

/// `HTTP_GET` / `SSL_GET` settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HttpCheck {
    /// `url { … }` blocks.
    pub urls: Vec<Url>,
    /// `http_protocol 1.0|1.1|1.0C`.
    pub http_protocol: Option<String>,
    /// Host header for every url.
    pub virtualhost: Option<String>,
    /// Send SNI (SSL_GET).
    pub enable_sni: bool,
    /// `fast_recovery`: while the server is down and no URL is marked failed
    /// (and before the first complete check), check again at once instead
    /// of after `delay_loop`.
    pub fast_recovery: bool,
}

/// `url { … }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Url {
    /// Request path.
    pub path: String,
    /// MD5 of the body, lower-case hex.
    pub digest: Option<String>,
    /// Accepted status codes as inclusive ranges (default 200-299).
    pub status_code: Vec<StatusRange>,
    /// Host header override.
    pub virtualhost: Option<String>,
}

/// An inclusive range of HTTP status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StatusRange {
    /// First code.
    pub from: u16,
    /// Last code.
    pub to: u16,
}

/// `MISC_CHECK`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MiscCheck {
    /// Command to run.
    pub misc_path: String,
    /// Timeout of the command.
    pub misc_timeout: Option<TimeUs>,
    /// Exit status 2..255 sets weight status-2.
    pub misc_dynamic: bool,
    /// `user USER [GROUP]`.
    pub user: Option<String>,
    /// Group from `user`.
    pub group: Option<String>,
}

/// `SMTP_CHECK`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SmtpCheck {
    /// HELO name.
    pub helo_name: Option<String>,
}

/// `DNS_CHECK`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DnsCheck {
    /// Query type (default SOA): `query_type` in the JSON, since `type` names the checker
    /// kind there.
    pub query_type: String,
    /// Query name (default ".").
    pub name: String,
}

/// `UDP_CHECK`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UdpCheck {
    /// Hex payload to send.
    pub payload: Option<String>,
    /// A reply is required.
    pub require_reply: bool,
    /// Hex pattern the reply must start with.
    pub reply_pattern: Option<String>,
    /// Minimum reply length.
    pub min_reply_length: Option<u32>,
    /// Maximum reply length.
    pub max_reply_length: Option<u32>,
}

/// `FILE_CHECK`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileCheck {
    /// The `track_file` it follows.
    pub track_file: String,
    /// Weight multiplier.
    pub weight: Option<i32>,
    /// `weight N reverse`.
    pub reverse: bool,
}

/// `virtual_server_group NAME`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VirtualServerGroup {
    /// Group name.
    pub name: String,
    /// Members.
    pub entries: Vec<VsgEntry>,
}

/// A member of a virtual server group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum VsgEntry {
    /// `IP PORT`, or a range `IP-LAST PORT` (LAST replaces the last octet / hextet).
    Addr {
        /// First address.
        ip: IpAddr,
        /// Last octet (IPv4) or hextet (IPv6) of the range, if a range.
        range_end: Option<u16>,
        /// Port.
        port: u16,
    },
    /// `fwmark N`.
    Fwmark {
        /// Mark.
        mark: u32,
    },
}
