//! `virtual_server_group`, `virtual_server` and `real_server`.

use super::*;

impl Builder<'_> {
    /// `virtual_server_group NAME { … }` (check_parser.c `vsg_handler`, check_data.c). `None`
    /// where keepalived removes the group: empty, or IPv4 and IPv6 addresses beside a fwmark
    /// (whose family it then cannot tell).
    pub fn vs_group(&mut self, node: &Node<'_>) -> Option<VirtualServerGroup> {
        let mut g = VirtualServerGroup {
            name: self.name(node),
            entries: Vec::new(),
        };
        for c in self.block(node) {
            if c.kw.text == "fwmark" {
                if let Some(m) = self.int(c, 1, u32::MAX as i64) {
                    g.entries.push(VsgEntry::Fwmark { mark: m as u32 });
                }
                continue;
            }
            let (ip_s, range) = match c.kw.text.rsplit_once('-') {
                Some((a, r)) if a.parse::<IpAddr>().is_ok() => (a, Some(r)),
                _ => (c.kw.text.as_str(), None),
            };
            let Ok(ip) = ip_s.parse::<IpAddr>() else {
                self.d.warn(
                    c.kw.pos,
                    format!(
                        "Invalid virtual server group IP address {} - skipping, as keepalived \
                         does",
                        c.kw.text
                    ),
                );
                continue;
            };
            let range_end = match range {
                None => None,
                Some(r) => {
                    let parsed = if ip.is_ipv4() {
                        r.parse::<u8>().ok().map(u16::from)
                    } else {
                        u16::from_str_radix(r, 16).ok()
                    };
                    let last = match ip {
                        IpAddr::V4(a) => u16::from(a.octets()[3]),
                        IpAddr::V6(a) => a.segments()[7],
                    };
                    match parsed {
                        Some(e) if e >= last => Some(e),
                        _ => {
                            self.d
                                .error(c.kw.pos, format!("invalid address range '{}'", c.kw.text));
                            continue;
                        }
                    }
                }
            };
            let port = match c.args.first() {
                Some(p) => self.port_tok(p).unwrap_or(0),
                None => 0,
            };
            g.entries.push(VsgEntry::Addr {
                ip,
                range_end,
                port,
            });
        }
        let has = |v6: bool| {
            g.entries
                .iter()
                .any(|e| matches!(e, VsgEntry::Addr { ip, .. } if ip.is_ipv6() == v6))
        };
        let fwmark = g
            .entries
            .iter()
            .any(|e| matches!(e, VsgEntry::Fwmark { .. }));
        let why = if g.entries.is_empty() {
            Some("has no entries")
        } else if has(false) && has(true) && fwmark {
            Some("cannot have IPv4, IPv6 and fwmark without family")
        } else {
            None
        };
        if let Some(why) = why {
            self.d.warn(
                node.close.unwrap_or(node.kw.pos),
                format!(
                    "virtual server group {} {why} - removing, as keepalived does",
                    g.name
                ),
            );
            return None;
        }
        Some(g)
    }

    /// `lvs_method NAT|DR|TUN` (check_parser.c `forwarding_handler`); another word is
    /// reported and leaves the method unset. `server` is keepalived's word for whose method.
    fn method(&mut self, n: &Node<'_>, server: &str) -> Option<LvsMethod> {
        let t = self.arg(n)?;
        match t.text.as_str() {
            "NAT" => Some(LvsMethod::Nat),
            "DR" => Some(LvsMethod::Dr),
            "TUN" => Some(LvsMethod::Tun),
            o => {
                self.d.warn(
                    t.pos,
                    format!(
                        "PARSER : unknown [{o}] routing method for {server} server - ignored, as \
                         keepalived does"
                    ),
                );
                None
            }
        }
    }

    /// `virtual_server IP [PORT] | fwmark N | group NAME { … }` (check_parser.c `vs_handler`
    /// and its keywords), then keepalived's checks of it in check_data.c
    /// `validate_check_config`. `None` where keepalived skips the block.
    pub fn virtual_server(&mut self, node: &Node<'_>) -> Option<VirtualServer> {
        let key = match node.args.first().map(|t| t.text.as_str()) {
            Some("fwmark") => {
                let Some(t) = node.args.get(1) else {
                    self.d
                        .error(node.kw.pos, "virtual_server fwmark needs a mark");
                    return None;
                };
                match t.text.parse::<u32>() {
                    Ok(mark) => VsKey::Fwmark { mark },
                    Err(_) => {
                        self.d.warn(
                            t.pos,
                            format!(
                                "virtual server fwmark '{}' must be in [0, 4294967295] - \
                                 ignoring: keepalived skips this virtual_server, and so does \
                                 keepalived-rs",
                                t.text
                            ),
                        );
                        return None;
                    }
                }
            }
            Some("group") => match node.args.get(1) {
                Some(t) => VsKey::Group {
                    name: t.text.owned(),
                },
                None => {
                    self.d
                        .error(node.kw.pos, "virtual_server group needs a name");
                    return None;
                }
            },
            Some(_) => {
                let t = &node.args[0];
                let ip = self.lenient_sockaddr(t, "virtual_server");
                let port = match node.args.get(1) {
                    Some(p) => p.text.parse::<u16>().ok(),
                    None => Some(0),
                };
                let (Some(ip), Some(port)) = (ip, port) else {
                    self.d.warn(
                        t.pos,
                        format!(
                            "Invalid virtual server IP address/port {} {} - skipping: \
                             keepalived skips this virtual_server, and so does keepalived-rs",
                            t.text,
                            node.args.get(1).map_or("", |p| p.text.as_str())
                        ),
                    );
                    return None;
                };
                VsKey::Addr { ip, port }
            }
            None => {
                self.d.error(
                    node.kw.pos,
                    "virtual_server needs IP PORT, fwmark N or group NAME",
                );
                return None;
            }
        };
        let mut vs = VirtualServer {
            key,
            delay_loop: TimeUs::from_secs(60),
            lvs_sched: "wlc".into(),
            lvs_method: LvsMethod::Nat,
            protocol: Protocol::Tcp,
            persistence_timeout: None,
            persistence_granularity: None,
            persistence_engine: None,
            sorry_server: None,
            sorry_server_inhibit: false,
            sorry_server_lvs_method: None,
            inhibit_on_failure: false,
            quorum: 1,
            hysteresis: 0,
            quorum_up: None,
            quorum_down: None,
            alpha: false,
            omega: false,
            ha_suspend: false,
            virtualhost: None,
            ops: false,
            smtp_alert: None,
            retry: None,
            delay_before_retry: None,
            connect_timeout: None,
            warmup: None,
            real_servers: Vec::new(),
        };
        let mut rs_nodes = Vec::new();
        let mut sched_set = false;
        let mut method_set = false;
        let mut protocol_set: Option<Pos> = None;
        let mut default_weight = 1;
        for n in self.block(node) {
            match kw(self, Ctx::VirtualServer, n) {
                "delay_loop" => {
                    if let Some(t) = self.positive_time(n, "virtual server delay loop") {
                        vs.delay_loop = t;
                    }
                }
                "lvs_sched" => {
                    if let Some(t) = self.arg(n) {
                        const SCHEDS: &[&str] = &[
                            "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq",
                            "fo", "ovf", "mh", "twos",
                        ];
                        if SCHEDS.contains(&t.text.as_str()) {
                            vs.lvs_sched = t.text.owned();
                            sched_set = true;
                        } else {
                            self.d.warn(
                                t.pos,
                                format!(
                                    "Invalid lvs_scheduler '{}' - ignoring, as keepalived does",
                                    t.text
                                ),
                            );
                        }
                    }
                }
                "lvs_method" => {
                    if let Some(m) = self.method(n, "virtual") {
                        vs.lvs_method = m;
                        method_set = true;
                    }
                }
                // check_parser.c `vs_proto_handler`: case-insensitive.
                "protocol" => {
                    if let Some(t) = self.arg(n) {
                        match t.text.to_ascii_uppercase().as_str() {
                            "TCP" => vs.protocol = Protocol::Tcp,
                            "UDP" => vs.protocol = Protocol::Udp,
                            "SCTP" => vs.protocol = Protocol::Sctp,
                            _ => {
                                self.d.warn(
                                    t.pos,
                                    format!(
                                        "Unknown protocol {} - ignoring, as keepalived does",
                                        t.text
                                    ),
                                );
                                continue;
                            }
                        }
                        protocol_set = Some(n.kw.pos);
                    }
                }
                // No value is IPVS's default 360 s; 0 or a bad number leaves it unset.
                "persistence_timeout" => {
                    self.no_block(n);
                    match n.args.first() {
                        None => vs.persistence_timeout = Some(Seconds(360)),
                        Some(t) => match t.text.parse::<u32>() {
                            Ok(v @ 1..=2_678_400) => vs.persistence_timeout = Some(Seconds(v)),
                            _ => self.d.warn(
                                t.pos,
                                format!(
                                    "persistence_timeout invalid ('{}', must be 1..2678400) - \
                                     ignored, as keepalived does",
                                    t.text
                                ),
                            ),
                        },
                    }
                }
                "persistence_granularity" => vs.persistence_granularity = self.ip(n),
                "persistence_engine" => vs.persistence_engine = self.string(n),
                // A second sorry_server replaces the first.
                "sorry_server" => {
                    self.no_block(n);
                    match n.args.first() {
                        Some(a) => {
                            let ip = self.lenient_sockaddr(a, "sorry_server");
                            let port = match n.args.get(1) {
                                Some(p) => p.text.parse::<u16>().ok(),
                                None => Some(0),
                            };
                            match (ip, port) {
                                (Some(ip), Some(port)) => {
                                    vs.sorry_server = Some(HostPort { ip, port })
                                }
                                _ => self.d.warn(
                                    a.pos,
                                    format!(
                                        "Invalid sorry server IP address {} - skipping, as \
                                         keepalived does",
                                        a.text
                                    ),
                                ),
                            }
                        }
                        None => self.d.error(n.kw.pos, "sorry_server needs IP [PORT]"),
                    }
                }
                "sorry_server_inhibit" => {
                    self.presence(n);
                    vs.sorry_server_inhibit = true;
                }
                "sorry_server_lvs_method" => vs.sorry_server_lvs_method = self.method(n, "sorry"),
                // At the virtual_server level these are switches: keepalived ignores any value.
                "inhibit_on_failure" => vs.inhibit_on_failure = self.presence(n),
                "alpha" => vs.alpha = self.presence(n),
                "omega" => vs.omega = self.presence(n),
                "ha_suspend" => vs.ha_suspend = self.presence(n),
                "ops" => vs.ops = self.presence(n),
                "quorum" => {
                    if let Some(t) = self.arg(n) {
                        vs.quorum = match t.text.parse::<u32>() {
                            Ok(v @ 1..) => v,
                            _ => {
                                self.d.warn(
                                    t.pos,
                                    format!(
                                        "Quorum {} must be in [1, 4294967295]. Setting to 1, as \
                                         keepalived does",
                                        t.text
                                    ),
                                );
                                1
                            }
                        };
                    }
                }
                "hysteresis" => {
                    if let Some(t) = self.arg(n) {
                        match t.text.parse::<u32>() {
                            Ok(v) => vs.hysteresis = v,
                            Err(_) => self.d.warn(
                                t.pos,
                                format!(
                                    "Hysteresis {} must be in [0, 4294967295] - ignoring, as \
                                     keepalived does",
                                    t.text
                                ),
                            ),
                        }
                    }
                }
                "quorum_up" => self.first_script(n, &mut vs.quorum_up),
                "quorum_down" => self.first_script(n, &mut vs.quorum_down),
                "virtualhost" => vs.virtualhost = self.string(n),
                "smtp_alert" => {
                    if let Some(b) = self.flag(n) {
                        vs.smtp_alert = Some(b)
                    }
                }
                // The real servers' default weight.
                "weight" => {
                    if let Some(t) = self.arg(n) {
                        match t.text.parse::<i32>() {
                            Ok(w @ 1..) => default_weight = w,
                            _ => self.d.warn(
                                t.pos,
                                format!(
                                    "Virtual server weight {} is outside range 1-2147483647 - \
                                     ignored, as keepalived does",
                                    t.text
                                ),
                            ),
                        }
                    }
                }
                "retry" => {
                    if let Some(v) = self.retry(n, 1) {
                        vs.retry = Some(v)
                    }
                }
                "delay_before_retry" => {
                    if let Some(t) = self.any_time(n, "virtual server delay before retry") {
                        vs.delay_before_retry = Some(t)
                    }
                }
                "connect_timeout" => {
                    if let Some(t) = self.positive_time(n, "virtual server connect_timeout") {
                        vs.connect_timeout = Some(t)
                    }
                }
                "warmup" => {
                    if let Some(t) = self.any_time(n, "virtual server warmup") {
                        vs.warmup = Some(t)
                    }
                }
                "real_server" => rs_nodes.push(n),
                _ => self.unknown(Ctx::VirtualServer, n),
            }
        }
        let label = vs_label(&vs.key, vs.protocol, protocol_set.is_some());
        let here = node.kw.pos;
        let is_addr = matches!(vs.key, VsKey::Addr { .. });
        let vs_port = match vs.key {
            VsKey::Addr { port, .. } => port,
            _ => 0,
        };
        for n in rs_nodes {
            if let Some(rs) = self.real_server(n, &vs, vs_port, default_weight) {
                // check_data.c: "real server %s is duplicated - removing second rs".
                if vs
                    .real_servers
                    .iter()
                    .any(|o| o.ip == rs.ip && o.port == rs.port)
                {
                    self.d.warn(
                        n.kw.pos,
                        format!(
                            "VS {label}: real server [{}]:{} is duplicated - removing second rs, \
                             as keepalived does",
                            rs.ip, rs.port
                        ),
                    );
                } else {
                    vs.real_servers.push(rs);
                }
            }
        }
        // check_data.c `validate_check_config`, in its order.
        if vs.real_servers.is_empty() {
            self.d.warn(
                here,
                format!(
                    "Virtual server {label} has no real servers - ignoring: keepalived does not \
                     install it, and neither does keepalived-rs"
                ),
            );
            return None;
        }
        if vs.ha_suspend && matches!(vs.key, VsKey::Fwmark { .. }) {
            self.d.warn(
                here,
                format!(
                    "Virtual server {label}: cannot use ha_suspend with fwmarks - clearing \
                     ha_suspend, as keepalived does"
                ),
            );
            vs.ha_suspend = false;
        }
        if is_addr {
            if protocol_set.is_none() {
                self.d.warn(
                    here,
                    format!(
                        "Virtual server {label}: no protocol set - defaulting to UDP, as \
                         keepalived does (add 'protocol TCP' for a TCP service)"
                    ),
                );
                vs.protocol = Protocol::Udp;
            }
            if vs.ops && vs.protocol != Protocol::Udp {
                self.d.warn(
                    here,
                    format!(
                        "Virtual server {label}: one packet scheduling requires UDP - resetting, \
                         as keepalived does"
                    ),
                );
                vs.ops = false;
            }
            if vs_port == 0 && vs.persistence_timeout.is_none() {
                self.d.warn(
                    here,
                    format!(
                        "Virtual server {label}: zero port only valid for persistent services - \
                         setting persistence_timeout 360, as keepalived does"
                    ),
                );
                vs.persistence_timeout = Some(Seconds(360));
            }
        } else if let (VsKey::Fwmark { .. }, Some(p)) = (&vs.key, protocol_set) {
            self.d.warn(
                p,
                format!(
                    "Warning: Virtual server {label}: protocol specified for fwmark - protocol \
                     will be ignored (as keepalived)"
                ),
            );
        }
        if !sched_set {
            self.d.warn(
                here,
                format!(
                    "Virtual server {label}: no scheduler set, setting default 'wlc' (as \
                     keepalived)"
                ),
            );
        }
        if !method_set && vs.real_servers.iter().any(|r| r.lvs_method.is_none()) {
            self.d.warn(
                here,
                format!(
                    "Virtual server {label}: no forwarding method set, setting default NAT (as \
                     keepalived)"
                ),
            );
        }
        let total: u64 = vs
            .real_servers
            .iter()
            .map(|r| u64::try_from(r.weight).unwrap_or(0))
            .sum();
        if u64::from(vs.quorum) > total {
            let reduced = u32::try_from(total).unwrap_or(u32::MAX);
            self.d.warn(
                here,
                format!(
                    "Warning - quorum {} for {label} exceeds total weight of real servers \
                     {total}, reducing quorum to {reduced} (as keepalived)",
                    vs.quorum
                ),
            );
            vs.quorum = reduced;
        }
        if vs.quorum > 0 && vs.hysteresis >= vs.quorum {
            self.d.warn(
                here,
                format!(
                    "Virtual server {label}: hysteresis {} >= quorum {}; setting hysteresis to \
                     {} (as keepalived)",
                    vs.hysteresis,
                    vs.quorum,
                    vs.quorum - 1
                ),
            );
            vs.hysteresis = vs.quorum - 1;
        }
        // Ports: a real server of a DR or TUN service cannot change the port, so keepalived
        // resets it to the service's; with a fwmark it has none.
        let fwmark = matches!(vs.key, VsKey::Fwmark { .. });
        for rs in &mut vs.real_servers {
            let nat = rs.lvs_method.unwrap_or(vs.lvs_method) == LvsMethod::Nat;
            if fwmark {
                if !nat && rs.port != 0 {
                    self.d.warn(
                        here,
                        format!(
                            "WARNING - fwmark virtual server {label}, real server [{}]:{} has \
                             port specified - clearing (as keepalived)",
                            rs.ip, rs.port
                        ),
                    );
                    keep_checker_port(rs);
                    rs.port = 0;
                }
            } else if is_addr && !nat && rs.port != vs_port {
                self.d.warn(
                    here,
                    format!(
                        "WARNING - virtual server {label} and real server [{}]:{} ports don't \
                         match - resetting to {vs_port} (as keepalived)",
                        rs.ip, rs.port
                    ),
                );
                keep_checker_port(rs);
                rs.port = vs_port;
            }
        }
        // The sorry server likewise (check_data.c, after the real servers).
        let sorry_nat = vs.sorry_server_lvs_method.unwrap_or(vs.lvs_method) == LvsMethod::Nat;
        if let Some(s) = vs.sorry_server.as_mut()
            && !sorry_nat
        {
            if fwmark && s.port != 0 {
                self.d.warn(
                    here,
                    format!(
                        "WARNING - virtual server {label}, sorry server has port specified - \
                         clearing (as keepalived)"
                    ),
                );
                s.port = 0;
            } else if is_addr && s.port != 0 && s.port != vs_port {
                self.d.warn(
                    here,
                    format!(
                        "WARNING - virtual server {label} and sorry server ports don't match - \
                         resetting (as keepalived)"
                    ),
                );
                s.port = vs_port;
            } else if is_addr && s.port == 0 {
                s.port = vs_port;
            }
        }
        Some(vs)
    }

    /// `real_server IP [PORT] { … }` (check_parser.c `rs_handler`). `None` where keepalived
    /// skips the block.
    pub(super) fn real_server(
        &mut self,
        node: &Node<'_>,
        vs: &VirtualServer,
        vs_port: u16,
        default_weight: i32,
    ) -> Option<RealServer> {
        let Some(ipt) = node.args.first() else {
            self.d.error(node.kw.pos, "real_server needs IP [PORT]");
            return None;
        };
        let ip = self.lenient_sockaddr(ipt, "real_server");
        let port = match node.args.get(1) {
            Some(p) => p.text.parse::<u16>().ok(),
            None => Some(0),
        };
        let (Some(ip), Some(port)) = (ip, port) else {
            self.d.warn(
                ipt.pos,
                format!(
                    "Invalid real server ip address/port {}/{} - skipping, as keepalived does",
                    ipt.text,
                    node.args.get(1).map_or("(null)", |p| p.text.as_str())
                ),
            );
            return None;
        };
        if let VsKey::Addr { ip: vip, .. } = vs.key
            && vip.is_ipv4() != ip.is_ipv4()
            && vs.lvs_method != LvsMethod::Tun
        {
            self.d.warn(
                ipt.pos,
                format!(
                    "Address family of virtual server and real server {ip} don't match - \
                     skipping real server, as keepalived does"
                ),
            );
            return None;
        }
        // A real server without a port takes the service's.
        let port = if port == 0 { vs_port } else { port };
        let mut rs = RealServer {
            ip,
            port,
            weight: default_weight,
            lvs_method: None,
            notify_up: None,
            notify_down: None,
            inhibit_on_failure: None,
            delay_loop: None,
            alpha: None,
            retry: None,
            delay_before_retry: None,
            connect_timeout: None,
            warmup: None,
            smtp_alert: None,
            virtualhost: None,
            checkers: Vec::new(),
        };
        let mut checker_nodes = Vec::new();
        for n in node.block.as_deref().unwrap_or(&[]) {
            match kw(self, Ctx::RealServer, n) {
                "weight" => {
                    if let Some(t) = self.arg(n) {
                        match t.text.parse::<i32>() {
                            Ok(w @ 0..) => rs.weight = w,
                            _ => self.d.warn(
                                t.pos,
                                format!(
                                    "Real server weight {} is outside range 0-2147483647 - \
                                     ignored, as keepalived does",
                                    t.text
                                ),
                            ),
                        }
                    }
                }
                "lvs_method" => {
                    if let Some(m) = self.method(n, "real") {
                        rs.lvs_method = Some(m)
                    }
                }
                "notify_up" => self.first_script(n, &mut rs.notify_up),
                "notify_down" => self.first_script(n, &mut rs.notify_down),
                "inhibit_on_failure" => {
                    if let Some(b) = self.flag(n) {
                        rs.inhibit_on_failure = Some(b)
                    }
                }
                "delay_loop" => {
                    if let Some(t) = self.positive_time(n, "real server delay_loop") {
                        rs.delay_loop = Some(t)
                    }
                }
                "alpha" => {
                    if let Some(b) = self.flag(n) {
                        rs.alpha = Some(b)
                    }
                }
                "retry" => {
                    if let Some(v) = self.retry(n, 1) {
                        rs.retry = Some(v)
                    }
                }
                "delay_before_retry" => {
                    if let Some(t) = self.any_time(n, "real server delay_before_retry") {
                        rs.delay_before_retry = Some(t)
                    }
                }
                "connect_timeout" => {
                    if let Some(t) = self.positive_time(n, "real server connect_timeout") {
                        rs.connect_timeout = Some(t)
                    }
                }
                "warmup" => {
                    if let Some(t) = self.any_time(n, "real server warmup") {
                        rs.warmup = Some(t)
                    }
                }
                "smtp_alert" => {
                    if let Some(b) = self.flag(n) {
                        rs.smtp_alert = Some(b)
                    }
                }
                "virtualhost" => rs.virtualhost = self.string(n),
                k if crate::keywords::CHECKERS.contains(&k) => checker_nodes.push(n),
                _ => self.unknown(Ctx::RealServer, n),
            }
        }
        for n in checker_nodes {
            let c = self.checker(n, vs, &rs);
            rs.checkers.extend(c);
        }
        Some(rs)
    }
}

/// keepalived's `FMT_VS` name of a virtual server in messages: `[IP]:tcp:PORT`, `FWM N`,
/// `[GROUP]:PORT`.
fn vs_label(key: &VsKey, protocol: Protocol, protocol_set: bool) -> String {
    match key {
        VsKey::Addr { ip, port } => {
            let proto = match (protocol_set, protocol) {
                (false, _) => "none",
                (true, Protocol::Tcp) => "tcp",
                (true, Protocol::Udp) => "udp",
                (true, Protocol::Sctp) => "sctp",
            };
            format!("[{ip}]:{proto}:{port}")
        }
        VsKey::Fwmark { mark } => format!("FWM {mark}"),
        VsKey::Group { name } => format!("[{name}]:0"),
    }
}

/// The checkers of a real server whose port keepalived resets still connect to the port that
/// was written: each checker's destination is set from the `real_server` line while it is read
/// (check_api.c `alloc_checker`), before check_data.c changes the real server's port.
fn keep_checker_port(rs: &mut RealServer) {
    if rs.port == 0 {
        return;
    }
    for c in &mut rs.checkers {
        // MISC_CHECK and FILE_CHECK connect nowhere.
        let connects = !matches!(
            c.kind,
            CheckerKind::MiscCheck(_) | CheckerKind::FileCheck(_)
        );
        if connects && c.connect_port.is_none() {
            c.connect_port = Some(rs.port);
        }
    }
}
