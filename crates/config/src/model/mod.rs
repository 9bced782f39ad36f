//! The typed configuration model, with keepalived 2.2's defaults filled in.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde::Serialize;

use crate::time::{Seconds, TimeUs};

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    /// `global_defs { … }`.
    pub global_defs: GlobalDefs,
    /// `vrrp_script NAME { … }`, in file order.
    pub vrrp_scripts: Vec<VrrpScript>,
    /// `vrrp_instance NAME { … }`, in file order.
    pub vrrp_instances: Vec<VrrpInstance>,
    /// `vrrp_sync_group NAME { … }`.
    pub vrrp_sync_groups: Vec<VrrpSyncGroup>,
    /// `track_file NAME { … }` (or the deprecated `vrrp_track_file`).
    pub track_files: Vec<TrackFile>,
    /// `vrrp_track_process NAME { … }`, in file order.
    pub track_processes: Vec<TrackProcess>,
    /// `virtual_server …` in all three forms.
    pub virtual_servers: Vec<VirtualServer>,
    /// `virtual_server_group NAME { … }`.
    pub virtual_server_groups: Vec<VirtualServerGroup>,
    /// The top-level `SSL { … }` block: the client side of every SSL_GET.
    pub ssl: Option<SslContext>,
    /// `keepalived_rs { … }`: keepalived-rs settings keepalived lacks (defaults when absent).
    pub keepalived_rs: KeepalivedRs,
    /// `static_ipaddress { … }`: addresses vrrp-core keeps whatever the instances' states.
    pub static_ipaddress: Vec<VirtualIp>,
    /// `static_routes { … }`: routes vrrp-core keeps whatever the instances' states.
    pub static_routes: Vec<VirtualRoute>,
    /// `static_rules { … }`: policy rules vrrp-core keeps whatever the instances' states.
    pub static_rules: Vec<VirtualRule>,
}

/// The top-level `SSL { password … ca … certificate … key … }` block (keepalived's
/// check_parser.c `ssl_handler`): files the SSL_GET checkers use as a TLS client.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct SslContext {
    /// `password`: the passphrase of the private key.
    pub password: Option<String>,
    /// `ca`: CA certificates (PEM) to verify the real servers with.
    pub ca: Option<String>,
    /// `certificate`: the client certificate (PEM) presented to the real servers.
    pub certificate: Option<String>,
    /// `key`: the client certificate's private key (PEM).
    pub key: Option<String>,
}

/// The top-level `keepalived_rs { … }` block: settings of keepalived-rs that keepalived has no
/// keyword for, kept under one namespaced keyword so they can never collide with keepalived's
/// own (docs/architecture.md, "Who owns which fact"). keepalived itself rejects the block as an unknown keyword.
/// Several blocks merge in file order.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct KeepalivedRs {
    /// `webhook NAME { … }` (repeatable), in file order; the notifier posts events to each.
    pub webhooks: Vec<Webhook>,
    /// `verdict_policy majority|any_down|all_down`: how ipvs-manager combines the verdicts of
    /// several health-prober replicas (default `majority`).
    pub verdict_policy: VerdictPolicy,
    /// `health_prober ADDR` (repeatable): prober replicas ipvs-manager follows, each
    /// `tcp://HOST:PORT` or `unix:PATH`.
    pub health_probers: Vec<String>,
    /// `health_prober_dns HOST:PORT`: follow every A/AAAA record of HOST as a prober replica
    /// (instead of `health_prober`).
    pub health_prober_dns: Option<String>,
    /// `health_prober_owners K|all`: how many of the live prober replicas check each target
    /// (rendezvous hashing over the replica set; default 2).
    pub health_prober_owners: ProberOwners,
}

/// How many prober replicas own (check) each target (`health_prober_owners`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProberOwners {
    /// Every live replica checks every target (keepalived-rs before scale-out).
    All,
    /// This many (at least 1; all of them when fewer are live).
    Count(u32),
}

impl Default for ProberOwners {
    /// 2: with the majority policy a real server goes down only when both of its owners say so
    /// (one replica's bad vantage point removes nothing), and when one owner dies the other
    /// keeps checking while a successor takes over, so no target is ever unchecked; each
    /// replica does 2/N of the work.
    fn default() -> Self {
        ProberOwners::Count(2)
    }
}

impl ProberOwners {
    /// `k` for `live` replicas: how many own each target.
    pub fn k(self, live: usize) -> usize {
        match self {
            ProberOwners::All => live.max(1),
            ProberOwners::Count(n) => n.max(1) as usize,
        }
    }

    /// The value as written after `health_prober_owners`.
    pub fn as_string(self) -> String {
        match self {
            ProberOwners::All => "all".into(),
            ProberOwners::Count(n) => n.to_string(),
        }
    }
}

/// `webhook NAME { url …  secret_file …  events … }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Webhook {
    /// Unique name, for logs.
    pub name: String,
    /// `url http://HOST[:PORT]/PATH` (or `https://`): where events are posted.
    pub url: String,
    /// `secret_file PATH`: file with the HMAC secret; unsigned without one.
    pub secret_file: Option<String>,
    /// `events KIND…`: the kinds sent; empty means every kind.
    pub events: Vec<WebhookEvent>,
    /// `ca_file PATH`: PEM certificates trusted for an `https://` url besides the
    /// system's trust store (a private CA).
    pub ca_file: Option<String>,
}

/// An event kind a webhook can subscribe to (the notifier's notice kinds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookEvent {
    /// VRRP instance transitions.
    Vrrp,
    /// Sync group transitions.
    SyncGroup,
    /// Real server added/removed.
    Realserver,
    /// Virtual server quorum gained/lost.
    Quorum,
}

impl WebhookEvent {
    /// Every kind, with its keyword.
    pub const ALL: [(WebhookEvent, &'static str); 4] = [
        (WebhookEvent::Vrrp, "vrrp"),
        (WebhookEvent::SyncGroup, "sync_group"),
        (WebhookEvent::Realserver, "realserver"),
        (WebhookEvent::Quorum, "quorum"),
    ];

    /// The keyword, as written in `events`.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::Vrrp => "vrrp",
            WebhookEvent::SyncGroup => "sync_group",
            WebhookEvent::Realserver => "realserver",
            WebhookEvent::Quorum => "quorum",
        }
    }
}

/// How ipvs-manager combines the verdicts of several health-prober replicas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictPolicy {
    /// Down when more than half of the probers with a verdict say down (the default).
    #[default]
    Majority,
    /// Down when any prober says down.
    AnyDown,
    /// Down only when every prober with a verdict says down.
    AllDown,
}

impl VerdictPolicy {
    /// The keyword, as written after `verdict_policy`.
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictPolicy::Majority => "majority",
            VerdictPolicy::AnyDown => "any_down",
            VerdictPolicy::AllDown => "all_down",
        }
    }
}

/// `global_defs`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GlobalDefs {
    /// Identifies this router in mails; defaults to the host name.
    pub router_id: String,
    /// Mail recipients.
    pub notification_email: Vec<String>,
    /// Sender address; keepalived defaults it to `keepalived@<host name>`.
    pub notification_email_from: String,
    /// SMTP relay for alerts.
    pub smtp_server: Option<SmtpServer>,
    /// HELO name; keepalived 2.2.7 sends `localhost` unless set (measured,
    /// docs/keepalived-checker.md).
    pub smtp_helo_name: String,
    /// SMTP connection timeout (default 30 s).
    pub smtp_connect_timeout: Seconds,
    /// `smtp_alert [bool]`: unset, on or off.
    pub smtp_alert: Option<bool>,
    /// `smtp_alert_vrrp [bool]`.
    pub smtp_alert_vrrp: Option<bool>,
    /// `smtp_alert_checker [bool]`.
    pub smtp_alert_checker: Option<bool>,
    /// IPv4 VRRP multicast group (default 224.0.0.18).
    pub vrrp_mcast_group4: Ipv4Addr,
    /// IPv6 VRRP multicast group (default ff02::12).
    pub vrrp_mcast_group6: Ipv6Addr,
    /// Default user scripts run as (`script_user USER [GROUP]`).
    pub script_user: Option<String>,
    /// Group for `script_user`.
    pub script_group: Option<String>,
    /// Refuse scripts writable by non-root users.
    pub enable_script_security: bool,
    /// Flush the LVS table at start-up.
    pub lvs_flush: bool,
    /// What to flush at stop.
    pub lvs_flush_on_stop: LvsFlushOnStop,
    /// `lvs_timeouts tcp N tcpfin N udp N`.
    pub lvs_timeouts: LvsTimeouts,
    /// Default VRRP version for instances (2 unless set).
    pub vrrp_version: u8,
    /// RFC-strict mode (also makes `no_accept` the default).
    pub vrrp_strict: bool,
    /// `vrrp_lower_prio_no_advert`: the instances' default for `lower_prio_no_advert`.
    pub vrrp_lower_prio_no_advert: bool,
    /// `vrrp_higher_prio_send_advert`: the instances' default for `higher_prio_send_advert`.
    pub vrrp_higher_prio_send_advert: bool,
    /// `vrrp_notify_priority_changes`: the default for `notify_priority_changes`.
    pub vrrp_notify_priority_changes: bool,
    /// Delay before the second burst of gratuitous ARPs after becoming master (default 5 s).
    pub vrrp_garp_master_delay: Seconds,
    /// Gratuitous ARPs per burst (default 5).
    pub vrrp_garp_master_repeat: u32,
    /// Periodic gratuitous ARP while master (0 = none).
    pub vrrp_garp_master_refresh: Seconds,
    /// Gratuitous ARPs per refresh (default 1).
    pub vrrp_garp_master_refresh_repeat: u32,
    /// Delay of the GARP burst on a lower-priority advert; unset = `vrrp_garp_master_delay`.
    pub vrrp_garp_lower_prio_delay: Option<Seconds>,
    /// Repeat of the GARP burst on a lower-priority advert; unset = `vrrp_garp_master_repeat`.
    pub vrrp_garp_lower_prio_repeat: Option<u32>,
    /// Minimum spacing of gratuitous ARPs (default 0).
    pub vrrp_garp_interval: TimeUs,
    /// Minimum spacing of unsolicited neighbour adverts (default 0).
    pub vrrp_gna_interval: TimeUs,
    /// Interface for static addresses without `dev`.
    pub default_interface: Option<String>,
    /// `notify_fifo`: gets every VRRP and LVS notification line.
    pub notify_fifo: Option<NotifyFifo>,
    /// `vrrp_notify_fifo`: VRRP lines only (dropped when it is `notify_fifo`, as keepalived
    /// does: the lines would be written twice).
    pub vrrp_notify_fifo: Option<NotifyFifo>,
    /// `lvs_notify_fifo`: `VS`/`RS` lines only (dropped when it is `notify_fifo`).
    pub lvs_notify_fifo: Option<NotifyFifo>,
    /// `fifo_write_vrrp_states_on_reload`: write every instance's and group's state line to
    /// the FIFOs at a reload even when it did not change.
    pub fifo_write_vrrp_states_on_reload: bool,
    /// `no_email_faults`: no mail on entering FAULT.
    pub no_email_faults: bool,
}

/// A notify FIFO (`notify_fifo PATH [USER [GROUP]]` and its `…_script`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotifyFifo {
    /// The named pipe; created (mode 0644) unless it exists.
    pub path: String,
    /// Owner of a FIFO we create; unset: keepalived's default script user.
    pub user: Option<String>,
    /// Its group.
    pub group: Option<String>,
    /// `…_script`: started once the FIFO exists, with the FIFO's path as its last argument.
    pub script: Option<Script>,
}

/// `smtp_server HOST [PORT]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SmtpServer {
    /// IP address or host name.
    pub host: String,
    /// TCP port (default 25).
    pub port: u16,
}

/// `lvs_flush_on_stop [VS|ALL]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LvsFlushOnStop {
    /// Not flushed at stop.
    None,
    /// Remove only the virtual servers keepalived configured (`VS`).
    Vs,
    /// Flush the whole table (`ALL`, or no argument).
    All,
}

/// `lvs_timeouts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct LvsTimeouts {
    /// TCP session timeout.
    pub tcp: Option<Seconds>,
    /// TCP FIN_WAIT timeout.
    pub tcpfin: Option<Seconds>,
    /// UDP timeout.
    pub udp: Option<Seconds>,
}

/// A command to run, as given to `notify_*`, `script`, `misc_path`, `quorum_up`…
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Script {
    /// The command line.
    pub command: String,
    /// `username` after a quoted command (notify scripts).
    pub user: Option<String>,
    /// `groupname` after the user.
    pub group: Option<String>,
}

mod virtual_server;
mod vrrp;

pub use virtual_server::*;
pub use vrrp::*;
