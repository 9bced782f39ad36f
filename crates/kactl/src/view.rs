//! kactl's own serialisable views of the services' state (the prost types
//! have no serde), and their human formatting: `ipvsadm -Ln` for the tables.

use std::fmt::Write as _;

use keepalived_api::v1;
use serde::Serialize;

/// `ADDRESS:PORT`, with brackets around IPv6 addresses.
pub fn address_port(ap: Option<&v1::AddressPort>) -> String {
    match ap {
        Some(ap) if ap.address.contains(':') => format!("[{}]:{}", ap.address, ap.port),
        Some(ap) => format!("{}:{}", ap.address, ap.port),
        None => "?".into(),
    }
}

/// keepalived's state names (`MASTER`, `BACKUP`, …).
pub fn state_name(state: i32) -> &'static str {
    match v1::VrrpState::try_from(state).unwrap_or(v1::VrrpState::Unspecified) {
        v1::VrrpState::Unspecified => "UNKNOWN",
        v1::VrrpState::Init => "INIT",
        v1::VrrpState::Backup => "BACKUP",
        v1::VrrpState::Master => "MASTER",
        v1::VrrpState::Fault => "FAULT",
        v1::VrrpState::Stop => "STOP",
    }
}

/// `TCP`, `UDP`, `SCTP` as ipvsadm prints them.
pub fn protocol_name(protocol: i32) -> &'static str {
    match v1::Protocol::try_from(protocol).unwrap_or(v1::Protocol::Unspecified) {
        v1::Protocol::Tcp | v1::Protocol::Unspecified => "TCP",
        v1::Protocol::Udp => "UDP",
        v1::Protocol::Sctp => "SCTP",
    }
}

/// A virtual server key as ipvsadm shows it: `TCP  198.51.100.10:80`,
/// `FWM  5`, or keepalived's `group NAME`.
pub fn vs_key(key: Option<&v1::VirtualServerKey>) -> String {
    let Some(key) = key else { return "?".into() };
    match &key.kind {
        Some(v1::virtual_server_key::Kind::AddressPort(ap)) => {
            format!(
                "{}  {}",
                protocol_name(key.protocol),
                address_port(Some(ap))
            )
        }
        Some(v1::virtual_server_key::Kind::Fwmark(mark)) => format!("FWM  {mark}"),
        Some(v1::virtual_server_key::Kind::Group(name)) => format!("group {name}"),
        None => "?".into(),
    }
}

/// ipvsadm's forwarding names (`Route`, `Masq`, `Tunnel`).
pub fn forward_name(method: i32) -> &'static str {
    match v1::ForwardingMethod::try_from(method).unwrap_or(v1::ForwardingMethod::Unspecified) {
        v1::ForwardingMethod::Dr => "Route",
        v1::ForwardingMethod::Nat => "Masq",
        v1::ForwardingMethod::Tun => "Tunnel",
        v1::ForwardingMethod::Unspecified => "?",
    }
}

/// `UP`, `DOWN`, `UNCHECKED`, `UNKNOWN`.
pub fn rs_health_name(health: i32) -> &'static str {
    match v1::RealServerHealth::try_from(health).unwrap_or(v1::RealServerHealth::Unspecified) {
        v1::RealServerHealth::Up => "UP",
        v1::RealServerHealth::Down => "DOWN",
        v1::RealServerHealth::Unchecked => "UNCHECKED",
        v1::RealServerHealth::Unknown | v1::RealServerHealth::Unspecified => "UNKNOWN",
    }
}

/// `UP`, `DOWN` or `-` (no verdict yet).
pub fn verdict_name(verdict: i32) -> &'static str {
    match v1::Verdict::try_from(verdict).unwrap_or(v1::Verdict::Unspecified) {
        v1::Verdict::Up => "UP",
        v1::Verdict::Down => "DOWN",
        v1::Verdict::Unspecified => "-",
    }
}

/// `nft`, `ipvs`.
pub fn backend_name(backend: i32) -> &'static str {
    match v1::Backend::try_from(backend).unwrap_or(v1::Backend::Unspecified) {
        v1::Backend::Ipvs => "ipvs",
        v1::Backend::Nft => "nft",
        v1::Backend::Unspecified => "?",
    }
}

/// `PENDING`, `RETRYING`, `DELIVERED`, `GIVEN_UP`.
pub fn delivery_state_name(state: i32) -> &'static str {
    match v1::DeliveryState::try_from(state).unwrap_or(v1::DeliveryState::Unspecified) {
        v1::DeliveryState::Pending => "PENDING",
        v1::DeliveryState::Retrying => "RETRYING",
        v1::DeliveryState::Delivered => "DELIVERED",
        v1::DeliveryState::GivenUp => "GIVEN_UP",
        v1::DeliveryState::Unspecified => "?",
    }
}

/// `mail`, `webhook`, `script`.
pub fn channel_name(channel: i32) -> &'static str {
    match v1::Channel::try_from(channel).unwrap_or(v1::Channel::Unspecified) {
        v1::Channel::Mail => "mail",
        v1::Channel::Webhook => "webhook",
        v1::Channel::Script => "script",
        v1::Channel::Fifo => "fifo",
        v1::Channel::Unspecified => "?",
    }
}

/// A virtual IP of an instance.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct VipView {
    /// `198.51.100.10/24`.
    pub address: String,
    /// Interface.
    pub dev: String,
    /// On the interface now.
    pub present: bool,
}

/// A tracker of an instance.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TrackerView {
    /// `script`, `interface`, `file`.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Currently good.
    pub ok: bool,
    /// What it adds to the base priority now.
    pub priority_delta: i32,
}

/// A VRRP instance.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct InstanceView {
    /// `VI_1`.
    pub name: String,
    /// `MASTER`, `BACKUP`, …
    pub state: String,
    /// Configured priority.
    pub base_priority: u32,
    /// Priority after the trackers.
    pub effective_priority: u32,
    /// Address of the current master (empty when unknown).
    pub master: String,
    /// Priority the master advertises.
    pub master_priority: u32,
    /// Interface.
    pub interface: String,
    /// virtual_router_id.
    pub vrid: u32,
    /// Maintenance switched on.
    pub maintenance: bool,
    /// Virtual IPs.
    pub vips: Vec<VipView>,
    /// Trackers.
    pub trackers: Vec<TrackerView>,
}

impl From<&v1::Instance> for InstanceView {
    fn from(i: &v1::Instance) -> Self {
        Self {
            name: i.name.clone(),
            state: state_name(i.state).into(),
            base_priority: i.base_priority,
            effective_priority: i.effective_priority,
            master: i.master_address.clone(),
            master_priority: i.master_priority,
            interface: i.interface.clone(),
            vrid: i.vrid,
            maintenance: i.maintenance,
            vips: i
                .vips
                .iter()
                .map(|v| VipView {
                    address: v.address.clone(),
                    dev: v.dev.clone(),
                    present: v.present,
                })
                .collect(),
            trackers: i
                .trackers
                .iter()
                .map(|t| TrackerView {
                    kind: match v1::TrackerKind::try_from(t.kind)
                        .unwrap_or(v1::TrackerKind::Unspecified)
                    {
                        v1::TrackerKind::Script => "script",
                        v1::TrackerKind::Interface => "interface",
                        v1::TrackerKind::File => "file",
                        v1::TrackerKind::Process => "process",
                        v1::TrackerKind::Unspecified => "?",
                    }
                    .into(),
                    name: t.name.clone(),
                    ok: t.ok,
                    priority_delta: t.priority_delta,
                })
                .collect(),
        }
    }
}

/// A real server of a virtual server.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RealServerView {
    /// `198.51.100.21:80`.
    pub address: String,
    /// `Route`, `Masq`, `Tunnel`.
    pub forward: String,
    /// Weight from the configuration.
    pub configured_weight: u32,
    /// Weight in the kernel table (meaningful when `in_table`).
    pub weight: u32,
    /// In the kernel table.
    pub in_table: bool,
    /// `UP`, `DOWN`, `UNCHECKED`, `UNKNOWN`.
    pub health: String,
    /// Drained by an operator.
    pub drained: bool,
    /// Operator's weight override.
    pub weight_override: Option<u32>,
    /// Active connections.
    pub active_connections: u32,
    /// Inactive connections.
    pub inactive_connections: u32,
    /// Connections scheduled so far.
    pub connections: u64,
    /// The probers' verdicts: `PROBER up|down[ stale]`.
    pub verdicts: Vec<String>,
}

impl From<&v1::RealServer> for RealServerView {
    fn from(r: &v1::RealServer) -> Self {
        let stats = r.stats.unwrap_or_default();
        Self {
            address: address_port(r.address.as_ref()),
            forward: forward_name(r.method).into(),
            configured_weight: r.configured_weight,
            weight: r.kernel_weight,
            in_table: r.in_kernel,
            health: rs_health_name(r.health).into(),
            drained: r.drained,
            weight_override: r.weight_override,
            active_connections: stats.active_connections,
            inactive_connections: stats.inactive_connections,
            connections: stats.connections,
            verdicts: r
                .sources
                .iter()
                .map(|s| {
                    format!(
                        "{} {}{}{}",
                        s.prober,
                        if s.up { "up" } else { "down" },
                        if s.stale { " stale" } else { "" },
                        // A former owner still handing over, or a lost one's
                        // last verdict (the owners are ipvs-manager's).
                        if s.owner || s.target.is_empty() {
                            ""
                        } else {
                            " not-owner"
                        }
                    )
                })
                .collect(),
        }
    }
}

/// A virtual server.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct VirtualServerView {
    /// `TCP  198.51.100.10:80` (ipvsadm's first two columns).
    pub key: String,
    /// Scheduler (`rr`, `wlc`, …).
    pub scheduler: String,
    /// `persistence_timeout`, 0 when not persistent.
    pub persistence_timeout: u32,
    /// In the kernel table.
    pub in_table: bool,
    /// Quorum met (true when no quorum is configured).
    pub quorum_up: bool,
    /// Real servers in configuration order.
    pub real_servers: Vec<RealServerView>,
}

impl From<&v1::VirtualServer> for VirtualServerView {
    fn from(v: &v1::VirtualServer) -> Self {
        Self {
            key: vs_key(v.key.as_ref()),
            scheduler: v.scheduler.clone(),
            persistence_timeout: v.persistence_timeout,
            in_table: v.in_kernel,
            quorum_up: v.quorum.as_ref().is_none_or(|q| q.up),
            real_servers: v.real_servers.iter().map(RealServerView::from).collect(),
        }
    }
}

/// The load-balancer tables of one director.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TablesView {
    /// `nft` or `ipvs`.
    pub backend: String,
    /// Virtual servers.
    pub virtual_servers: Vec<VirtualServerView>,
}

impl From<&v1::ListVirtualServersResponse> for TablesView {
    fn from(r: &v1::ListVirtualServersResponse) -> Self {
        Self {
            backend: backend_name(r.backend).into(),
            virtual_servers: r
                .virtual_servers
                .iter()
                .map(VirtualServerView::from)
                .collect(),
        }
    }
}

/// A check target of a health-prober.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TargetView {
    /// `HTTP_GET:198.51.100.21:80`.
    pub id: String,
    /// `UP`, `DOWN`, `-`.
    pub verdict: String,
    /// Consecutive failed attempts.
    pub consecutive_failures: u32,
    /// Last attempt's detail (empty when it succeeded).
    pub last_detail: String,
    /// Whether the replica asked checks it (the checks divided among the
    /// replicas), and why.
    pub ownership: crate::targets::OwnershipView,
}

impl From<&v1::Target> for TargetView {
    fn from(t: &v1::Target) -> Self {
        Self {
            id: t.id.clone(),
            verdict: verdict_name(t.verdict).into(),
            consecutive_failures: t.consecutive_failures,
            last_detail: t
                .last_result
                .as_ref()
                .map(|r| r.detail.clone())
                .unwrap_or_default(),
            ownership: t.ownership.as_ref().into(),
        }
    }
}

/// A notification delivery.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DeliveryView {
    /// Delivery id.
    pub id: String,
    /// `mail`, `webhook`, `script`.
    pub channel: String,
    /// Recipient, URL or command.
    pub destination: String,
    /// Subject or summary.
    pub summary: String,
    /// `PENDING`, `RETRYING`, `DELIVERED`, `GIVEN_UP`.
    pub state: String,
    /// Attempts made.
    pub attempts: u32,
    /// Last error.
    pub last_error: String,
    /// Trace id of the causing event.
    pub trace_id: String,
}

impl From<&v1::Delivery> for DeliveryView {
    fn from(d: &v1::Delivery) -> Self {
        Self {
            id: d.id.clone(),
            channel: channel_name(d.channel).into(),
            destination: d.destination.clone(),
            summary: d.summary.clone(),
            state: delivery_state_name(d.state).into(),
            attempts: d.attempts,
            last_error: d.last_error.clone(),
            trace_id: d.trace_id.clone(),
        }
    }
}

/// A service that could not be asked.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ServiceError {
    /// `vrrp-core`, `ipvs-manager`, `health-prober`, `notifier`.
    pub service: String,
    /// Its address.
    pub address: String,
    /// What went wrong.
    pub error: String,
}

/// Everything `kactl status` shows about one director.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DirectorStatus {
    /// Director name (`--director NAME=…`, `local` by default).
    pub director: String,
    /// VRRP instances (absent when vrrp-core could not be asked).
    pub instances: Option<Vec<InstanceView>>,
    /// Load-balancer tables (absent when ipvs-manager could not be asked).
    pub tables: Option<TablesView>,
    /// Check targets (absent when health-prober could not be asked).
    pub targets: Option<Vec<TargetView>>,
    /// Recent deliveries, newest first (absent when notifier could not be asked).
    pub deliveries: Option<Vec<DeliveryView>>,
    /// The services that could not be asked, and why.
    pub errors: Vec<ServiceError>,
}

/// The instance table of `kactl status`.
pub fn format_instances(out: &mut String, instances: &[InstanceView]) {
    let _ = writeln!(
        out,
        "{:<12} {:<7} {:>4} {:>4}  {:<16} {:<5} VIPS",
        "INSTANCE", "STATE", "PRIO", "BASE", "MASTER", "MAINT"
    );
    for i in instances {
        let vips: Vec<String> = i
            .vips
            .iter()
            .map(|v| {
                format!(
                    "{} dev {}{}",
                    v.address,
                    v.dev,
                    if v.present { "" } else { " (absent)" }
                )
            })
            .collect();
        let master = if i.master.is_empty() {
            "-".to_owned()
        } else {
            i.master.clone()
        };
        let _ = writeln!(
            out,
            "{:<12} {:<7} {:>4} {:>4}  {:<16} {:<5} {}",
            i.name,
            i.state,
            i.effective_priority,
            i.base_priority,
            master,
            if i.maintenance { "on" } else { "off" },
            vips.join(", ")
        );
        for t in &i.trackers {
            let _ = writeln!(
                out,
                "  track {} {}: {} ({:+})",
                t.kind,
                t.name,
                if t.ok { "ok" } else { "FAILED" },
                t.priority_delta
            );
        }
    }
}

/// The tables as `ipvsadm -Ln` prints them, with a health column; real
/// servers that are configured but not in the table are listed with `-`.
pub fn format_tables(out: &mut String, tables: &TablesView) {
    let _ = writeln!(out, "IP Virtual Server (backend {})", tables.backend);
    let _ = writeln!(out, "Prot LocalAddress:Port Scheduler Flags");
    let _ = writeln!(
        out,
        "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn Health"
    );
    for vs in &tables.virtual_servers {
        let mut flags = String::new();
        if vs.persistence_timeout > 0 {
            let _ = write!(flags, " persistent {}", vs.persistence_timeout);
        }
        if !vs.in_table {
            flags.push_str(" (not in table)");
        }
        if !vs.quorum_up {
            flags.push_str(" (quorum lost)");
        }
        let _ = writeln!(out, "{} {}{}", vs.key, vs.scheduler, flags);
        for rs in &vs.real_servers {
            let mut health = rs.health.clone();
            if rs.drained {
                health.push_str(" drained");
            }
            if let Some(w) = rs.weight_override {
                let _ = write!(health, " override={w}");
            }
            if rs.in_table {
                let _ = writeln!(
                    out,
                    "  -> {:<28} {:<7} {:<6} {:<10} {:<9} {}",
                    rs.address,
                    rs.forward,
                    rs.weight,
                    rs.active_connections,
                    rs.inactive_connections,
                    health
                );
            } else {
                let _ = writeln!(
                    out,
                    "  -> {:<28} {:<7} {:<6} {:<10} {:<9} {} (not in table)",
                    rs.address, rs.forward, "-", "-", "-", health
                );
            }
        }
    }
}

/// The whole human `kactl status` of one director.
pub fn format_status(status: &DirectorStatus) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "== director {}", status.director);
    if let Some(instances) = &status.instances {
        format_instances(&mut out, instances);
    }
    if let Some(tables) = &status.tables {
        if status.instances.is_some() {
            out.push('\n');
        }
        format_tables(&mut out, tables);
    }
    if let Some(targets) = &status.targets {
        // Divided checks: the verdicts of the targets the replica does not
        // check count for nothing; only its own are summed up.
        let checked =
            |t: &&TargetView| matches!(t.ownership.role.as_str(), "all" | "owner" | "handing-over");
        let up = targets
            .iter()
            .filter(checked)
            .filter(|t| t.verdict == "UP")
            .count();
        let down = targets
            .iter()
            .filter(checked)
            .filter(|t| t.verdict == "DOWN")
            .count();
        let _ = write!(
            out,
            "\nhealth-prober: {} targets, {up} up, {down} down",
            targets.len()
        );
        let owned = targets
            .iter()
            .filter(|t| t.ownership.role == "owner")
            .count();
        let handing = targets
            .iter()
            .filter(|t| t.ownership.role == "handing-over")
            .count();
        if targets.iter().any(|t| t.ownership.role != "all") {
            let _ = write!(
                out,
                "; this replica owns {owned}, hands over {handing} (kactl targets: who owns what and why)"
            );
        }
        out.push('\n');
        for t in targets.iter().filter(checked).filter(|t| t.verdict != "UP") {
            let _ = writeln!(
                out,
                "  {} {} ({} failures{}{})",
                t.id,
                t.verdict,
                t.consecutive_failures,
                if t.last_detail.is_empty() { "" } else { ": " },
                t.last_detail
            );
        }
    }
    if let Some(deliveries) = &status.deliveries {
        let open = deliveries
            .iter()
            .filter(|d| d.state == "PENDING" || d.state == "RETRYING")
            .count();
        let _ = writeln!(
            out,
            "\nnotifier: {} recent deliveries, {open} not yet delivered",
            deliveries.len()
        );
        for d in deliveries.iter().take(5) {
            let _ = writeln!(
                out,
                "  {:<9} {:<7} {} \"{}\"{}",
                d.state,
                d.channel,
                d.destination,
                d.summary,
                if d.last_error.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", d.last_error)
                }
            );
        }
    }
    for e in &status.errors {
        let _ = writeln!(out, "\n{} at {}: {}", e.service, e.address, e.error);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rs(address: &str, health: v1::RealServerHealth, in_kernel: bool) -> v1::RealServer {
        v1::RealServer {
            address: Some(v1::AddressPort {
                address: address.into(),
                port: 80,
            }),
            method: v1::ForwardingMethod::Dr as i32,
            configured_weight: 1,
            kernel_weight: if in_kernel { 1 } else { 0 },
            in_kernel,
            health: health as i32,
            stats: Some(v1::Stats {
                active_connections: 3,
                inactive_connections: 7,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn seed_tables() -> v1::ListVirtualServersResponse {
        v1::ListVirtualServersResponse {
            backend: v1::Backend::Nft as i32,
            virtual_servers: vec![v1::VirtualServer {
                key: Some(v1::VirtualServerKey {
                    kind: Some(v1::virtual_server_key::Kind::AddressPort(v1::AddressPort {
                        address: "198.51.100.10".into(),
                        port: 80,
                    })),
                    protocol: v1::Protocol::Tcp as i32,
                }),
                scheduler: "rr".into(),
                in_kernel: true,
                real_servers: vec![
                    rs("198.51.100.21", v1::RealServerHealth::Up, true),
                    rs("198.51.100.22", v1::RealServerHealth::Down, false),
                ],
                ..Default::default()
            }],
        }
    }

    #[test]
    fn tables_look_like_ipvsadm_ln() {
        let mut out = String::new();
        format_tables(&mut out, &TablesView::from(&seed_tables()));
        let expected = "\
IP Virtual Server (backend nft)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn Health
TCP  198.51.100.10:80 rr
  -> 198.51.100.21:80             Route   1      3          7         UP
  -> 198.51.100.22:80             Route   -      -          -         DOWN (not in table)
";
        assert_eq!(out, expected);
    }

    #[test]
    fn drained_and_overridden_servers_say_so() {
        let mut tables = seed_tables();
        let r = &mut tables.virtual_servers[0].real_servers[0];
        r.drained = true;
        r.kernel_weight = 0;
        r.weight_override = Some(5);
        let mut out = String::new();
        format_tables(&mut out, &TablesView::from(&tables));
        assert!(
            out.contains("  -> 198.51.100.21:80             Route   0      3          7         UP drained override=5\n"),
            "{out}"
        );
    }

    #[test]
    fn persistence_fwmark_and_ipv6_keys() {
        let key = v1::VirtualServerKey {
            kind: Some(v1::virtual_server_key::Kind::AddressPort(v1::AddressPort {
                address: "2001:db8::10".into(),
                port: 443,
            })),
            protocol: v1::Protocol::Udp as i32,
        };
        assert_eq!(vs_key(Some(&key)), "UDP  [2001:db8::10]:443");
        let fwm = v1::VirtualServerKey {
            kind: Some(v1::virtual_server_key::Kind::Fwmark(5)),
            protocol: 0,
        };
        assert_eq!(vs_key(Some(&fwm)), "FWM  5");
        let tables = TablesView {
            backend: "ipvs".into(),
            virtual_servers: vec![VirtualServerView {
                key: "TCP  198.51.100.10:80".into(),
                scheduler: "wlc".into(),
                persistence_timeout: 300,
                in_table: true,
                quorum_up: false,
                real_servers: vec![],
            }],
        };
        let mut out = String::new();
        format_tables(&mut out, &tables);
        assert!(
            out.contains("TCP  198.51.100.10:80 wlc persistent 300 (quorum lost)\n"),
            "{out}"
        );
    }

    #[test]
    fn instances_table_shows_state_priorities_master_and_vips() {
        let instance = v1::Instance {
            name: "VI_1".into(),
            state: v1::VrrpState::Backup as i32,
            base_priority: 99,
            effective_priority: 84,
            master_address: "198.51.100.12".into(),
            vips: vec![v1::VirtualIp {
                address: "198.51.100.10/24".into(),
                dev: "eth0".into(),
                present: false,
                ..Default::default()
            }],
            trackers: vec![v1::Tracker {
                kind: v1::TrackerKind::Script as i32,
                name: "chk_down".into(),
                ok: false,
                weight: -15,
                priority_delta: -15,
            }],
            ..Default::default()
        };
        let mut out = String::new();
        format_instances(&mut out, &[InstanceView::from(&instance)]);
        assert_eq!(
            out,
            "INSTANCE     STATE   PRIO BASE  MASTER           MAINT VIPS\n\
             VI_1         BACKUP    84   99  198.51.100.12    off   198.51.100.10/24 dev eth0 (absent)\n\
             \x20 track script chk_down: FAILED (-15)\n"
        );
    }

    #[test]
    fn status_lists_unreachable_services_and_json_has_the_same_facts() {
        let status = DirectorStatus {
            director: "dr1".into(),
            instances: None,
            tables: Some(TablesView::from(&seed_tables())),
            targets: Some(vec![TargetView {
                id: "HTTP_GET:198.51.100.22:80".into(),
                verdict: "DOWN".into(),
                consecutive_failures: 4,
                last_detail: "connection refused".into(),
                ownership: crate::targets::OwnershipView {
                    role: "all".into(),
                    ..Default::default()
                },
            }]),
            deliveries: None,
            errors: vec![ServiceError {
                service: "vrrp-core".into(),
                address: "unix:/run/keepalived-rs/vrrp-core.sock".into(),
                error: "connection refused".into(),
            }],
        };
        let text = format_status(&status);
        assert!(
            text.starts_with("== director dr1\nIP Virtual Server"),
            "{text}"
        );
        assert!(
            text.contains("health-prober: 1 targets, 0 up, 1 down\n  HTTP_GET:198.51.100.22:80 DOWN (4 failures: connection refused)"),
            "{text}"
        );
        assert!(
            text.contains(
                "vrrp-core at unix:/run/keepalived-rs/vrrp-core.sock: connection refused"
            ),
            "{text}"
        );
        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(json["director"], "dr1");
        assert!(json["instances"].is_null());
        let rs = &json["tables"]["virtual_servers"][0]["real_servers"][1];
        assert_eq!(rs["address"], "198.51.100.22:80");
        assert_eq!(rs["health"], "DOWN");
        assert_eq!(rs["in_table"], false);
        assert_eq!(json["errors"][0]["service"], "vrrp-core");
    }
}
