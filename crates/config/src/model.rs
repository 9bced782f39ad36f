//! The typed configuration model, with keepalived 2.2's defaults filled in.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Serialize;

use crate::time::{Centiseconds, Seconds, TimeUs};

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

/// `vrrp_script NAME`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VrrpScript {
    /// Name used by `track_script`.
    pub name: String,
    /// The command.
    pub script: String,
    /// Run interval (default 1 s).
    pub interval: TimeUs,
    /// Kill the script after this (keepalived default: the interval).
    pub timeout: TimeUs,
    /// Priority change while failing (or succeeding with `reverse`), -253..=253; 0 = FAULT.
    pub weight: i32,
    /// `weight N reverse`: the weight applies while the script succeeds.
    pub weight_reverse: bool,
    /// Consecutive failures to be KO (default 1).
    pub fall: u32,
    /// Consecutive successes to be OK (default 1).
    pub rise: u32,
    /// `user USER [GROUP]`.
    pub user: Option<String>,
    /// Group from `user`.
    pub group: Option<String>,
    /// Start in the failed state.
    pub init_fail: bool,
}

/// VRRP start state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum VrrpState {
    /// Start as master.
    Master,
    /// Start as backup (keepalived's default).
    Backup,
}

/// `auth_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum AuthType {
    /// Simple password (VRRPv2 only).
    Pass,
    /// IPsec AH (VRRPv2 only).
    Ah,
}

/// `authentication { … }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Authentication {
    /// PASS or AH.
    pub auth_type: AuthType,
    /// Password, at most 8 characters (longer ones are truncated with a warning).
    pub auth_pass: String,
}

/// One `virtual_ipaddress` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VirtualIp {
    /// The address.
    pub address: IpAddr,
    /// Prefix length (default /32 or /128).
    pub prefix_len: u8,
    /// `brd ADDR`.
    pub brd: Option<IpAddr>,
    /// `dev IFNAME` (default: the instance's interface).
    pub dev: Option<String>,
    /// `scope SCOPE`.
    pub scope: Option<String>,
    /// `label LABEL`.
    pub label: Option<String>,
    /// `peer ADDR`.
    pub peer: Option<IpAddr>,
    /// Flag words: `home`, `-nodad`, `noprefixroute`, `autojoin`, …
    pub flags: Vec<String>,
}

/// One `track_script` / `track_interface` / `track_file` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackRef {
    /// The script, interface or file name.
    pub name: String,
    /// Overriding weight.
    pub weight: Option<i32>,
    /// `weight N reverse`.
    pub reverse: bool,
}

/// One `virtual_routes` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VirtualRoute {
    /// Destination prefix (`default`, `203.0.113.0/24`, …), preceded by `to` optionally.
    pub to: String,
    /// `via GW` / `gw GW`.
    pub via: Option<IpAddr>,
    /// `dev IFNAME`.
    pub dev: Option<String>,
    /// `src ADDR`.
    pub src: Option<IpAddr>,
    /// `metric N`.
    pub metric: Option<u32>,
    /// `table N`.
    pub table: Option<String>,
    /// Any further words, kept in order (`blackhole`, `onlink`, `proto …`).
    pub extra: Vec<String>,
}

/// One `virtual_rules` / `static_rules` entry (ip-rule(8) words, vrrp_iprule.c).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VirtualRule {
    /// `from PREFIX` (`all` when unset).
    pub from: Option<String>,
    /// `to PREFIX`.
    pub to: Option<String>,
    /// `table N|main|local|default` (`lookup` too).
    pub table: Option<String>,
    /// `priority N` (`preference`, `pref`).
    pub priority: Option<u32>,
    /// `fwmark N`.
    pub fwmark: Option<u32>,
    /// `iif IF`.
    pub iif: Option<String>,
    /// `oif IF`.
    pub oif: Option<String>,
    /// Any other words, in order.
    pub extra: Vec<String>,
}

/// `use_vmac [NAME]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UseVmac {
    /// Interface name (default `vrrp.<vrid>`).
    pub name: Option<String>,
}

/// `vrrp_instance NAME`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VrrpInstance {
    /// Instance name.
    pub name: String,
    /// Start state (default BACKUP; MASTER when priority is 255).
    pub state: VrrpState,
    /// Interface adverts are sent on.
    pub interface: Option<String>,
    /// VRID 1..=255.
    pub virtual_router_id: u8,
    /// Priority 1..=255 (default 100).
    pub priority: u8,
    /// Advert interval; whole seconds for v2.
    pub advert_int: Centiseconds,
    /// VRRP version 2 or 3 (default: global `vrrp_version`).
    pub version: u8,
    /// `authentication { … }` (v2 only).
    pub authentication: Option<Authentication>,
    /// Addresses owned by the instance.
    pub virtual_ipaddress: Vec<VirtualIp>,
    /// Addresses set but not put into adverts.
    pub virtual_ipaddress_excluded: Vec<VirtualIp>,
    /// Source address for adverts (`unicast_src_ip`, alias `mcast_src_ip`).
    pub unicast_src_ip: Option<IpAddr>,
    /// Unicast peers (empty = multicast).
    pub unicast_peer: Vec<IpAddr>,
    /// Do not preempt a lower-priority master.
    pub nopreempt: bool,
    /// Delay before preempting.
    pub preempt_delay: TimeUs,
    /// Accept packets to the VIPs when not owner (default on unless `vrrp_strict`).
    pub accept: bool,
    /// Scripts tracked.
    pub track_script: Vec<TrackRef>,
    /// Interfaces tracked.
    pub track_interface: Vec<TrackRef>,
    /// Files tracked.
    pub track_file: Vec<TrackRef>,
    /// Called on every transition with type, name, state, priority.
    pub notify: Option<Script>,
    /// Called on becoming master.
    pub notify_master: Option<Script>,
    /// Called on becoming backup.
    pub notify_backup: Option<Script>,
    /// Called on entering fault.
    pub notify_fault: Option<Script>,
    /// Called on stop.
    pub notify_stop: Option<Script>,
    /// Called when the instance is deleted on reload.
    pub notify_deleted: Option<Script>,
    /// Send mails on transitions.
    pub smtp_alert: Option<bool>,
    /// Seconds before the second GARP burst (default: global, 5).
    pub garp_master_delay: Seconds,
    /// GARPs per burst (default: global, 5).
    pub garp_master_repeat: u32,
    /// Periodic GARP interval while master (0 = off).
    pub garp_master_refresh: Seconds,
    /// GARPs per refresh (default 1).
    pub garp_master_refresh_repeat: u32,
    /// Delay after a lower-priority advert (default: garp_master_delay).
    pub garp_lower_prio_delay: Seconds,
    /// Repeat after a lower-priority advert (default: garp_master_repeat).
    pub garp_lower_prio_repeat: u32,
    /// Use a VRRP virtual MAC interface.
    pub use_vmac: Option<UseVmac>,
    /// Routes added while master.
    pub virtual_routes: Vec<VirtualRoute>,
    /// Policy rules added while master.
    pub virtual_rules: Vec<VirtualRule>,
    /// `strict_mode [bool]`: this instance's own `vrrp_strict` (unset: the global one).
    pub strict_mode: Option<bool>,
    /// `lower_prio_no_advert [bool]` (unset: the global `vrrp_lower_prio_no_advert`).
    pub lower_prio_no_advert: Option<bool>,
    /// `higher_prio_send_advert [bool]` (unset: the global `vrrp_higher_prio_send_advert`).
    pub higher_prio_send_advert: Option<bool>,
    /// What keepalived's post-parse checks decided (vrrp.c `vrrp_complete_instance`);
    /// derived, never written in the file.
    pub resolved: VrrpResolved,
}

/// The settings of an instance keepalived derives after parsing (vrrp.c
/// `vrrp_complete_instance`), filled in by the loader so that `-t` and vrrp-core read one
/// answer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct VrrpResolved {
    /// `vrrp_strict` (global) is in effect for this instance.
    pub strict: bool,
    /// A master hearing a lower priority does not answer with its own advert
    /// (`lower_prio_no_advert`; forced on by strict mode).
    pub lower_prio_no_advert: bool,
    /// A master hearing a higher priority sends one more advert before it becomes backup
    /// (`higher_prio_send_advert`; forced off by strict mode).
    pub higher_prio_send_advert: bool,
    /// A feature keepalived runs and keepalived-rs does not implement yet: vrrp-core holds
    /// the instance in FAULT (never master, never advertising) with this reason.
    pub not_implemented: Option<String>,
}

/// One adjustment of [`Config::complete_vrrp`]: the block it concerns and keepalived's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VrrpNote {
    /// The instance (index in `vrrp_instances`) or sync group (index in `vrrp_sync_groups`).
    pub block: VrrpBlock,
    /// keepalived refuses to start on it (else it is a warning and the model is adjusted).
    pub error: bool,
    /// keepalived makes this adjustment without reporting it (its `-t` is silent): a note.
    pub silent: bool,
    /// What keepalived says and what keepalived-rs did.
    pub message: String,
}

/// The block a [`VrrpNote`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VrrpBlock {
    /// `vrrp_instances[i]`.
    Instance(usize),
    /// `vrrp_sync_groups[i]`.
    SyncGroup(usize),
}

/// `vrrp_sync_group NAME`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VrrpSyncGroup {
    /// Group name.
    pub name: String,
    /// Member instances.
    pub group: Vec<String>,
    /// Notify on any transition.
    pub notify: Option<Script>,
    /// Notify on master.
    pub notify_master: Option<Script>,
    /// Notify on backup.
    pub notify_backup: Option<Script>,
    /// Notify on fault.
    pub notify_fault: Option<Script>,
    /// Notify on stop.
    pub notify_stop: Option<Script>,
    /// Send mails.
    pub smtp_alert: Option<bool>,
    /// Members share their tracking.
    pub global_tracking: bool,
    /// Scripts tracked by the whole group.
    pub track_script: Vec<TrackRef>,
    /// Interfaces tracked by the whole group.
    pub track_interface: Vec<TrackRef>,
    /// Files tracked by the whole group.
    pub track_file: Vec<TrackRef>,
}

/// `track_file NAME`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrackFile {
    /// Name used by `track_file` references.
    pub name: String,
    /// Path of the file holding a number.
    pub file: String,
    /// Multiplier (default 1).
    pub weight: i32,
    /// `weight N reverse`.
    pub reverse: bool,
    /// `init_file [VALUE] [overwrite]`.
    pub init_file: Option<InitFile>,
}

/// `init_file`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InitFile {
    /// Value written (default 0).
    pub value: i64,
    /// Overwrite an existing file.
    pub overwrite: bool,
}

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
