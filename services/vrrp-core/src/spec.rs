//! keepalived.conf (the typed model of `keepalived-config`) turned into what the engine
//! runs: one [`InstanceSpec`] per `vrrp_instance`, the `vrrp_script`s, `track_file`s and
//! `vrrp_track_process`es they track, and the sync groups (whose `track_*` entries each
//! member tracks). Pure: no I/O, so reload diffs are plain `==`.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use keepalived_config::{AuthType, Config, ParamMatch, TrackRef, VrrpInstance, VrrpState};
use keepalived_vrrp::codec::Auth;
use keepalived_vrrp::state::InstanceParams;
use keepalived_vrrp::time::{AdvertCentiseconds, AdvertInterval, AdvertSeconds, Micros};

/// A configuration this engine cannot run, with the instance and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// An instance without `interface`.
    #[error("({0}) no interface configured")]
    NoInterface(String),
    /// `advert_int` out of range for the version.
    #[error("({instance}) advert_int {centis} cs is not valid for VRRPv{version}")]
    BadInterval {
        /// Instance name.
        instance: String,
        /// Configured interval.
        centis: u32,
        /// Configured version.
        version: u8,
    },
    /// Something keepalived supports that this engine does not run (yet).
    #[error("({instance}) {what} is not implemented by vrrp-core")]
    Unsupported {
        /// Instance name.
        instance: String,
        /// The feature.
        what: String,
    },
    /// `track_script` naming no `vrrp_script`.
    #[error("({instance}) track_script {name} is not a configured vrrp_script")]
    UnknownScript {
        /// Instance name.
        instance: String,
        /// Script name.
        name: String,
    },
    /// Addresses of both families in one instance (RFC 5798 §5.2.9: one family per
    /// virtual router).
    #[error("({instance}) {what} is IPv{other} but the instance is IPv{family}")]
    FamilyMismatch {
        /// Instance name.
        instance: String,
        /// The offending setting.
        what: String,
        /// The instance's family (4 or 6).
        family: u8,
        /// The setting's family.
        other: u8,
    },
    /// `track_process` naming no `vrrp_track_process` block.
    #[error("({instance}) track_process {name} is not a configured vrrp_track_process")]
    UnknownTrackProcess {
        /// Instance or sync group name.
        instance: String,
        /// Process tracker name.
        name: String,
    },
    /// `track_file` naming no `track_file` block.
    #[error("({instance}) track_file {name} is not a configured track_file")]
    UnknownTrackFile {
        /// Instance name.
        instance: String,
        /// File name.
        name: String,
    },
}

/// One `virtual_ipaddress` (or `_excluded`) entry, resolved to its interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipSpec {
    /// The address.
    pub address: IpAddr,
    /// Prefix length.
    pub prefix_len: u8,
    /// Interface it goes on (`dev`, else the instance's interface).
    pub dev: String,
    /// `label`.
    pub label: Option<String>,
    /// `scope` (`global`, `site`, `link`, `host`, `nowhere` or a number).
    pub scope: Option<String>,
    /// `brd`.
    pub brd: Option<IpAddr>,
    /// From `virtual_ipaddress_excluded`: set and announced by GARP, not in adverts.
    pub excluded: bool,
}

impl VipSpec {
    /// `198.51.100.10/24` as the API shows it.
    pub fn cidr(&self) -> String {
        format!("{}/{}", self.address, self.prefix_len)
    }
}

/// What kind of thing a tracker watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TrackerKind {
    /// `track_script` → `vrrp_script`.
    Script,
    /// `track_interface`.
    Interface,
    /// `track_file` → `track_file` block.
    File,
    /// `track_process` → `vrrp_track_process` block.
    Process,
}

impl TrackerKind {
    /// The keyword that lists trackers of this kind (`track_script`…).
    pub fn keyword(self) -> &'static str {
        match self {
            TrackerKind::Script => "track_script",
            TrackerKind::Interface => "track_interface",
            TrackerKind::File => "track_file",
            TrackerKind::Process => "track_process",
        }
    }
}

/// One tracker of an instance, with the weight that applies to this instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackerRef {
    /// Kind.
    pub kind: TrackerKind,
    /// Script, interface, track_file or vrrp_track_process name.
    pub name: String,
    /// Weight; 0 = failure puts the instance into FAULT.
    pub weight: i32,
    /// `weight N reverse`.
    pub reverse: bool,
}

/// Everything needed to run one `vrrp_instance`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceSpec {
    /// Parameters of the pure state machine; `primary_address` is filled in at start from
    /// the interface when `unicast_src_ip` is not given.
    pub params: InstanceParams,
    /// Interface adverts go out of.
    pub interface: String,
    /// VRRP version (2 or 3).
    pub version: u8,
    /// Advert interval in centiseconds (for the API).
    pub advert_int_centis: u32,
    /// Every VIP, including the excluded ones.
    pub vips: Vec<VipSpec>,
    /// `virtual_routes` (installed while MASTER).
    pub routes: Vec<crate::routes::RouteSpec>,
    /// `virtual_rules` (installed while MASTER).
    pub rules: Vec<crate::rules::RuleSpec>,
    /// Multicast group (`vrrp_mcast_group4`, or `vrrp_mcast_group6` for an IPv6
    /// instance); its family is the instance's family.
    pub group: IpAddr,
    /// `unicast_src_ip`.
    pub unicast_src: Option<IpAddr>,
    /// `unicast_peer` (empty = multicast).
    pub unicast_peers: Vec<IpAddr>,
    /// Trackers (scripts, interfaces, files).
    pub trackers: Vec<TrackerRef>,
    /// `state` (only a wish).
    pub configured_master: bool,
    /// The sync group it belongs to.
    pub sync_group: Option<String>,
    /// `use_vmac` (with `vmac_xmit_base`): the instance's virtual MAC interface.
    pub vmac: Option<crate::vmac::VmacSpec>,
    /// Why the instance is held in FAULT (never master, sends no adverts): a feature
    /// keepalived runs that keepalived-rs does not implement, or a setting this engine
    /// cannot run. Every other instance runs normally.
    pub held: Option<String>,
}

impl InstanceSpec {
    /// Whether the instance runs over IPv6 (VRRPv3 only, RFC 5798 §5.1.2).
    pub fn is_ipv6(&self) -> bool {
        self.group.is_ipv6()
    }
}

/// One `vrrp_script`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptSpec {
    /// Name.
    pub name: String,
    /// Command line (split on whitespace, as keepalived does without a shell).
    pub command: String,
    /// Run interval.
    pub interval: Duration,
    /// Kill after this.
    pub timeout: Duration,
    /// Consecutive failures before KO.
    pub fall: u32,
    /// Consecutive successes before OK.
    pub rise: u32,
    /// `user`.
    pub user: Option<String>,
    /// `group`.
    pub group: Option<String>,
    /// Start failed.
    pub init_fail: bool,
}

/// One `track_file` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackFileSpec {
    /// Name.
    pub name: String,
    /// Path.
    pub path: String,
    /// `init_file`: value written at start, and whether to overwrite an existing file.
    pub init_file: Option<(i64, bool)>,
}

/// One `vrrp_track_process` block: which processes count, and how many must run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackProcessSpec {
    /// Name.
    pub name: String,
    /// The command name (`comm`), or with `full_command` the command line's first word.
    pub process: String,
    /// The arguments to compare (with `param_match`).
    pub params: Vec<String>,
    /// How the arguments are compared; `None`: they are not.
    pub param_match: Option<ParamMatch>,
    /// Match `/proc/PID/cmdline` rather than the command name.
    pub full_command: bool,
    /// Fewest matching processes that count as up.
    pub quorum: u32,
    /// Most matching processes that count as up.
    pub quorum_max: u32,
    /// How long a loss of quorum must last before it counts.
    pub terminate_delay: Duration,
    /// How long a gain of quorum must last before it counts.
    pub fork_delay: Duration,
}

/// The whole engine configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EngineSpec {
    /// `router_id`.
    pub router_id: String,
    /// Instances in file order.
    pub instances: Vec<InstanceSpec>,
    /// Scripts by name.
    pub scripts: BTreeMap<String, ScriptSpec>,
    /// Track files by name.
    pub track_files: BTreeMap<String, TrackFileSpec>,
    /// Tracked processes by name.
    pub track_processes: BTreeMap<String, TrackProcessSpec>,
    /// Sync groups: name → member instance names.
    pub sync_groups: Vec<(String, Vec<String>)>,
    /// `script_user` (default `keepalived_script`), and its group.
    pub script_user: (String, Option<String>),
    /// `enable_script_security`.
    pub script_security: bool,
    /// `static_ipaddress`, `static_routes`.
    pub statics: crate::statics::StaticSpec,
}

/// The default script user when `script_user` is not configured.
pub const DEFAULT_SCRIPT_USER: &str = "keepalived_script";

impl EngineSpec {
    /// Builds the engine configuration; `warnings` receives the features that are parsed
    /// but not acted on. An instance this engine cannot run does not fail the rest: it is
    /// held in FAULT with the reason ([`InstanceSpec::held`]).
    pub fn from_config(config: &Config, warnings: &mut Vec<String>) -> Self {
        let g = &config.global_defs;
        let mut spec = EngineSpec {
            router_id: g.router_id.clone(),
            script_user: (
                g.script_user
                    .clone()
                    .unwrap_or_else(|| DEFAULT_SCRIPT_USER.to_owned()),
                g.script_group.clone(),
            ),
            script_security: g.enable_script_security,
            ..EngineSpec::default()
        };
        for a in &config.static_ipaddress {
            // vrrp_ipaddress.c: no `dev` means `default_interface`.
            match a.dev.clone().or_else(|| g.default_interface.clone()) {
                Some(dev) => spec.statics.addresses.push(VipSpec {
                    address: a.address,
                    prefix_len: a.prefix_len,
                    dev,
                    label: a.label.clone(),
                    scope: a.scope.clone(),
                    brd: a.brd,
                    excluded: true,
                }),
                None => warnings.push(format!(
                    "static_ipaddress {}/{} has no dev and there is no default_interface; not \
                     added",
                    a.address, a.prefix_len
                )),
            }
        }
        for r in &config.static_routes {
            match crate::routes::RouteSpec::from_config(r) {
                Ok(route) => spec.statics.routes.push(route),
                Err(why) => warnings.push(format!(
                    "static route {}: {why}; the route is not installed",
                    r.to
                )),
            }
        }
        for r in &config.static_rules {
            match crate::rules::RuleSpec::from_config(r) {
                Ok(rule) => spec.statics.rules.push(rule),
                Err(why) => warnings.push(format!("static rule: {why}; the rule is not installed")),
            }
        }
        for s in &config.vrrp_scripts {
            spec.scripts.insert(
                s.name.clone(),
                ScriptSpec {
                    name: s.name.clone(),
                    command: s.script.clone(),
                    interval: s.interval.as_duration().max(Duration::from_millis(10)),
                    timeout: if s.timeout.0 == 0 {
                        s.interval.as_duration()
                    } else {
                        s.timeout.as_duration()
                    }
                    .max(Duration::from_millis(10)),
                    fall: s.fall.max(1),
                    rise: s.rise.max(1),
                    user: s.user.clone(),
                    group: s.group.clone(),
                    init_fail: s.init_fail,
                },
            );
        }
        for f in &config.track_files {
            spec.track_files.insert(
                f.name.clone(),
                TrackFileSpec {
                    name: f.name.clone(),
                    path: f.file.clone(),
                    init_file: f.init_file.as_ref().map(|i| (i.value, i.overwrite)),
                },
            );
        }
        for p in &config.track_processes {
            spec.track_processes.insert(
                p.name.clone(),
                TrackProcessSpec {
                    name: p.name.clone(),
                    process: p.process.clone(),
                    params: p.params.clone(),
                    param_match: p.param_match,
                    full_command: p.full_command,
                    quorum: p.quorum,
                    quorum_max: p.quorum_max,
                    terminate_delay: p.terminate_delay.as_duration(),
                    fork_delay: p.fork_delay.as_duration(),
                },
            );
        }
        for group in &config.vrrp_sync_groups {
            spec.sync_groups
                .push((group.name.clone(), group.group.clone()));
        }
        for vi in &config.vrrp_instances {
            let sync_group = config
                .vrrp_sync_groups
                .iter()
                .find(|g| g.group.iter().any(|m| m == &vi.name))
                .map(|g| g.name.clone());
            let instance = instance_spec(config, vi, sync_group, warnings);
            if let Some(why) = &instance.held {
                warnings.push(format!(
                    "({}) {why} - holding the instance in FAULT",
                    vi.name
                ));
            }
            spec.instances.push(instance);
        }
        for group in &config.vrrp_sync_groups {
            for member in &mut spec.instances {
                if member.sync_group.as_deref() == Some(group.name.as_str()) {
                    add_group_trackers(config, group, member, warnings);
                }
            }
        }
        spec
    }

    /// Whether the trackers `instance` uses have the same configuration in `other`.
    pub fn same_trackers(&self, other: &EngineSpec, instance: &InstanceSpec) -> bool {
        instance.trackers.iter().all(|t| match t.kind {
            TrackerKind::Script => self.scripts.get(&t.name) == other.scripts.get(&t.name),
            TrackerKind::File => self.track_files.get(&t.name) == other.track_files.get(&t.name),
            TrackerKind::Process => {
                self.track_processes.get(&t.name) == other.track_processes.get(&t.name)
            }
            TrackerKind::Interface => true,
        }) && (instance
            .trackers
            .iter()
            .all(|t| t.kind != TrackerKind::Script)
            || self.script_user == other.script_user
                && self.script_security == other.script_security)
    }
}

fn interval(vi: &VrrpInstance) -> Result<AdvertInterval, SpecError> {
    let centis = vi.advert_int.0;
    let bad = || SpecError::BadInterval {
        instance: vi.name.clone(),
        centis,
        version: vi.version,
    };
    match vi.version {
        2 => {
            // RFC 3768 §5.3.7: whole seconds, 1..=255.
            let secs = u8::try_from(centis / 100).map_err(|_| bad())?;
            AdvertSeconds::new(secs.max(1))
                .map(AdvertInterval::V2)
                .ok_or_else(bad)
        }
        3 => AdvertCentiseconds::new(u16::try_from(centis).map_err(|_| bad())?)
            .map(AdvertInterval::V3)
            .ok_or_else(bad),
        _ => Err(bad()),
    }
}

/// An owner's track lists by kind, in keepalived's order (scripts, interfaces, files,
/// processes).
fn tracked<'a>(
    scripts: &'a [TrackRef],
    interfaces: &'a [TrackRef],
    files: &'a [TrackRef],
    processes: &'a [TrackRef],
) -> [(TrackerKind, &'a [TrackRef]); 4] {
    [
        (TrackerKind::Script, scripts),
        (TrackerKind::Interface, interfaces),
        (TrackerKind::File, files),
        (TrackerKind::Process, processes),
    ]
}

/// One `track_*` entry of `owner` with the weight that applies: the entry's own, else the
/// tracked object's (an interface's is 0), with `reverse` from wherever the weight came.
fn resolve(
    config: &Config,
    owner: &str,
    kind: TrackerKind,
    t: &TrackRef,
) -> Result<TrackerRef, SpecError> {
    let own = match kind {
        TrackerKind::Script => config
            .vrrp_scripts
            .iter()
            .find(|s| s.name == t.name)
            .map(|s| (s.weight, s.weight_reverse))
            .ok_or_else(|| SpecError::UnknownScript {
                instance: owner.to_owned(),
                name: t.name.clone(),
            })?,
        TrackerKind::Interface => (0, false),
        TrackerKind::File => config
            .track_files
            .iter()
            .find(|f| f.name == t.name)
            .map(|f| (f.weight, f.reverse))
            .ok_or_else(|| SpecError::UnknownTrackFile {
                instance: owner.to_owned(),
                name: t.name.clone(),
            })?,
        TrackerKind::Process => config
            .track_processes
            .iter()
            .find(|p| p.name == t.name)
            .map(|p| (p.weight, p.reverse))
            .ok_or_else(|| SpecError::UnknownTrackProcess {
                instance: owner.to_owned(),
                name: t.name.clone(),
            })?,
    };
    let (weight, reverse) = match (kind, t.weight) {
        (_, Some(w)) => (w, t.reverse),
        // An interface entry without a weight still takes its `reverse`.
        (TrackerKind::Interface, None) => (0, t.reverse),
        (_, None) => own,
    };
    Ok(TrackerRef {
        kind,
        name: t.name.clone(),
        weight,
        reverse,
    })
}

/// vrrp.c `sync_group_tracking_init`: a sync group's `track_*` entries are tracked by
/// every member. An entry the member already tracks keeps one tracker, with the group's
/// weight unless the member's own is 0 (keepalived: "… is configured on VRRP instance and
/// sync group. Remove vrrp instance config").
fn add_group_trackers(
    config: &Config,
    group: &keepalived_config::VrrpSyncGroup,
    member: &mut InstanceSpec,
    warnings: &mut Vec<String>,
) {
    let lists = tracked(
        &group.track_script,
        &group.track_interface,
        &group.track_file,
        &group.track_process,
    );
    for (kind, refs) in lists {
        for t in refs {
            let r = match resolve(config, &group.name, kind, t) {
                Ok(r) => r,
                Err(e) => {
                    warnings.push(format!("{e}; not tracked"));
                    continue;
                }
            };
            let name = &member.params.name;
            match member
                .trackers
                .iter_mut()
                .find(|m| m.kind == kind && m.name == r.name)
            {
                Some(m) => {
                    warnings.push(format!(
                        "({name}) {} {} is configured on VRRP instance and sync group. Remove \
                         vrrp instance config",
                        kind.keyword(),
                        r.name
                    ));
                    if m.weight != 0 {
                        m.weight = r.weight;
                        m.reverse = r.reverse;
                    }
                }
                None => member.trackers.push(r),
            }
        }
    }
}

fn instance_spec(
    config: &Config,
    vi: &VrrpInstance,
    sync_group: Option<String>,
    warnings: &mut Vec<String>,
) -> InstanceSpec {
    let name = vi.name.clone();
    // The first reason wins; later checks fall back to a safe value and go on, so the
    // held instance still shows its configuration.
    let mut held: Option<String> = vi.resolved.not_implemented.clone();
    let mut hold = |e: SpecError| {
        held.get_or_insert_with(|| {
            let text = e.to_string();
            // "(VI_1) …": the instance name is said where the reason is shown.
            text.strip_prefix(&format!("({name}) "))
                .map_or(text.clone(), str::to_owned)
        });
    };
    let unsupported = |what: &str| SpecError::Unsupported {
        instance: name.clone(),
        what: what.to_owned(),
    };
    let interface = vi.interface.clone().unwrap_or_else(|| {
        hold(SpecError::NoInterface(name.clone()));
        String::new()
    });
    let interval = interval(vi).unwrap_or_else(|e| {
        hold(e);
        AdvertInterval::V2(AdvertSeconds::new(1).expect("1 s is a valid VRRPv2 interval"))
    });
    let auth = match &vi.authentication {
        None => Auth::None,
        Some(a) if vi.version == 3 => {
            let _ = a;
            warnings.push(format!(
                "({name}) authentication is ignored with VRRPv3 (RFC 5798 §9)"
            ));
            Auth::None
        }
        Some(a) => match a.auth_type {
            AuthType::Pass => Auth::pass(&a.auth_pass),
            AuthType::Ah => {
                hold(unsupported("auth_type AH"));
                Auth::None
            }
        },
    };
    let vip = |v: &keepalived_config::VirtualIp, excluded: bool| VipSpec {
        address: v.address,
        prefix_len: v.prefix_len,
        dev: v.dev.clone().unwrap_or_else(|| interface.clone()),
        label: v.label.clone(),
        scope: v.scope.clone(),
        brd: v.brd,
        excluded,
    };
    let mut vips: Vec<VipSpec> = vi.virtual_ipaddress.iter().map(|v| vip(v, false)).collect();
    vips.extend(vi.virtual_ipaddress_excluded.iter().map(|v| vip(v, true)));
    // keepalived: the first (non-excluded) VIP decides the instance's family, else the
    // unicast source or first peer; IPv4 by default.
    let ipv6 = vips
        .iter()
        .find(|v| !v.excluded)
        .map(|v| v.address)
        .or(vi.unicast_src_ip)
        .or(vi.unicast_peer.first().copied())
        .is_some_and(|a| a.is_ipv6());
    let family = |a: &IpAddr| if a.is_ipv6() { 6 } else { 4 };
    let mismatch = |what: String, other: &IpAddr| SpecError::FamilyMismatch {
        instance: name.clone(),
        what,
        family: if ipv6 { 6 } else { 4 },
        other: family(other),
    };
    if let Some(v) = vips
        .iter()
        .find(|v| !v.excluded && v.address.is_ipv6() != ipv6)
    {
        hold(mismatch(
            format!("virtual_ipaddress {}", v.cidr()),
            &v.address,
        ));
    }
    if ipv6 && vi.version != 3 {
        // RFC 3768 is IPv4 only; IPv6 needs VRRPv3 (RFC 5798 §1).
        hold(unsupported("VRRPv2 over IPv6 (IPv6 needs version 3)"));
    }
    let mut routes = Vec::new();
    for r in &vi.virtual_routes {
        match crate::routes::RouteSpec::from_config(r) {
            Ok(route) => routes.push(route),
            Err(why) => warnings.push(format!(
                "({name}) virtual route {}: {why}; the route is not installed",
                r.to
            )),
        }
    }
    let mut rules = Vec::new();
    for r in &vi.virtual_rules {
        match crate::rules::RuleSpec::from_config(r) {
            Ok(rule) => rules.push(rule),
            Err(why) => warnings.push(format!(
                "({name}) virtual rule: {why}; the rule is not installed"
            )),
        }
    }
    let unicast_src = vi.unicast_src_ip;
    if let Some(a) = unicast_src.filter(|a| a.is_ipv6() != ipv6) {
        hold(mismatch(format!("unicast_src_ip {a}"), &a));
    }
    if let Some(a) = vi.unicast_peer.iter().find(|a| a.is_ipv6() != ipv6) {
        hold(mismatch(format!("unicast_peer {a}"), a));
    }
    let unicast_peers = vi.unicast_peer.clone();
    let advert_vips: Vec<IpAddr> = vips
        .iter()
        .filter(|v| !v.excluded)
        .map(|v| v.address)
        .collect();
    let mut params = InstanceParams::new(
        name.clone(),
        vi.virtual_router_id,
        vi.priority,
        interval,
        unicast_src.unwrap_or(if ipv6 {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        } else {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        }),
        advert_vips,
    );
    params.auth = auth;
    params.preempt = !vi.nopreempt;
    params.preempt_delay = Micros(vi.preempt_delay.0);
    params.accept = vi.accept;
    params.garp_master_delay = Micros::from_secs(u64::from(vi.garp_master_delay.0));
    params.garp_master_repeat = vi.garp_master_repeat;
    params.garp_master_refresh = (vi.garp_master_refresh.0 > 0)
        .then(|| Micros::from_secs(u64::from(vi.garp_master_refresh.0)));
    params.garp_master_refresh_repeat = vi.garp_master_refresh_repeat.max(1);
    params.garp_lower_prio_repeat = vi.garp_lower_prio_repeat;
    params.garp_lower_prio_delay = Micros::from_secs(u64::from(vi.garp_lower_prio_delay.0));
    params.unicast = !unicast_peers.is_empty();
    // Decided by the loader (keepalived vrrp.c vrrp_complete_instance: strict mode).
    params.lower_prio_no_advert = vi.resolved.lower_prio_no_advert;
    params.higher_prio_send_advert = vi.resolved.higher_prio_send_advert;

    let mut trackers = Vec::new();
    for (kind, refs) in tracked(
        &vi.track_script,
        &vi.track_interface,
        &vi.track_file,
        &vi.track_process,
    ) {
        for t in refs {
            match resolve(config, &name, kind, t) {
                Ok(r) => trackers.push(r),
                Err(e) => hold(e),
            }
        }
    }
    InstanceSpec {
        params,
        interface,
        version: vi.version,
        advert_int_centis: vi.advert_int.0,
        vips,
        routes,
        rules,
        group: if ipv6 {
            IpAddr::V6(config.global_defs.vrrp_mcast_group6)
        } else {
            IpAddr::V4(config.global_defs.vrrp_mcast_group4)
        },
        unicast_src,
        unicast_peers,
        trackers,
        configured_master: vi.state == VrrpState::Master,
        sync_group,
        vmac: vi.use_vmac.as_ref().map(|u| crate::vmac::VmacSpec {
            name: u.name.clone(),
            mac: u.mac,
            xmit_base: vi.vmac_xmit_base,
        }),
        held,
    }
}

#[cfg(test)]
mod tests;
