//! The VRRP blocks: `vrrp_script`, `vrrp_instance`, `vrrp_sync_group`, `track_file`, `init_file`.

use std::net::IpAddr;

use serde::Serialize;

use super::Script;
use crate::time::{Centiseconds, Seconds, TimeUs};

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

/// `use_vmac [NAME] [MAC]` (keepalived 2.2.7 vrrp_parser.c `vrrp_vmac_handler`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UseVmac {
    /// Interface name (default `vrrp.<vrid>`, chosen by vrrp-core when it starts).
    pub name: Option<String>,
    /// A MAC address of its own instead of RFC 5798's 00:00:5e:00:01:VRID
    /// (00:00:5e:00:02:VRID for IPv6); written with five octets, the sixth is the VRID
    /// (filled in after parsing).
    pub mac: Option<[u8; 6]>,
    /// The MAC was written with five octets: its last octet is the VRID.
    pub mac_takes_vrid: bool,
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
    /// Processes tracked (`vrrp_track_process` names).
    pub track_process: Vec<TrackRef>,
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
    /// `notify_priority_changes [BOOL]`.
    pub notify_priority_changes: Option<bool>,
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
    /// `vmac_xmit_base`: adverts leave by (and are read on) the base interface, not the
    /// VMAC.
    pub vmac_xmit_base: bool,
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
    /// Effective-priority changes are written to the notify FIFOs
    /// (`INSTANCE "NAME" MASTER_PRIORITY 90`): the instance's `notify_priority_changes`,
    /// else its sync group's, else the global `vrrp_notify_priority_changes`.
    pub notify_priority_changes: bool,
    /// A feature keepalived runs and keepalived-rs does not implement yet: vrrp-core holds
    /// the instance in FAULT (never master, never advertising) with this reason.
    pub not_implemented: Option<String>,
}

/// One adjustment of [`Config::complete_vrrp`](crate::Config::complete_vrrp): the block it concerns and keepalived's words.
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
    /// `notify_priority_changes [BOOL]`.
    pub notify_priority_changes: Option<bool>,
    /// `sync_group_tracking_weight`, or the deprecated `global_tracking`, which sets the same
    /// flag in keepalived: members keep their trackers' weights (without it, a member's
    /// weighted trackers are dropped or unweighted).
    pub global_tracking: bool,
    /// Scripts tracked by the whole group.
    pub track_script: Vec<TrackRef>,
    /// Interfaces tracked by the whole group.
    pub track_interface: Vec<TrackRef>,
    /// Files tracked by the whole group.
    pub track_file: Vec<TrackRef>,
    /// Processes tracked by the whole group.
    pub track_process: Vec<TrackRef>,
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

/// `vrrp_track_process NAME` (vrrp_parser.c `vrrp_tprocess_*` handlers): how many
/// processes matching a name (and arguments) run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackProcess {
    /// Name used by `track_process` references.
    pub name: String,
    /// `process NAME`: the command name (`/proc/PID/stat`'s comm, at most 15 bytes), or
    /// with `full_command` the first word of `/proc/PID/cmdline`.
    pub process: String,
    /// The words after the name in `process NAME ARG…`; empty when none were given.
    pub params: Vec<String>,
    /// How the arguments are compared (`param_match`); `None` when they are not.
    pub param_match: Option<ParamMatch>,
    /// Match on the command line rather than the command name (set by `full_command`,
    /// `param_match`, or arguments after the name).
    pub full_command: bool,
    /// `weight N [reverse]` (default 0: losing quorum is a FAULT).
    pub weight: i32,
    /// `weight N reverse`.
    pub reverse: bool,
    /// `quorum N`: fewest matching processes that count as up (default 1; 0 with
    /// `quorum_max 0`).
    pub quorum: u32,
    /// `quorum_max N`: most matching processes that count as up (default no limit).
    pub quorum_max: u32,
    /// `terminate_delay` (or `delay`): how long quorum must stay lost before it counts.
    pub terminate_delay: TimeUs,
    /// `fork_delay` (or `delay`): how long quorum must stay gained before it counts.
    pub fork_delay: TimeUs,
}

/// `param_match [initial|partial]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamMatch {
    /// The arguments are exactly the ones given (`param_match` alone, or arguments given).
    Exact,
    /// The given arguments start the command line's, the last one as a prefix of its word.
    Initial,
    /// The given arguments are the first arguments of the command line, each whole.
    Partial,
}

/// `init_file`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InitFile {
    /// Value written (default 0).
    pub value: i64,
    /// Overwrite an existing file.
    pub overwrite: bool,
}
