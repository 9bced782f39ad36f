//! `virtual_server_group`, `virtual_server` and `real_server`.

use super::*;

impl Builder<'_> {
    pub fn vs_group(&mut self, node: &Node<'_>) -> VirtualServerGroup {
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
                self.d.error(
                    c.kw.pos,
                    format!(
                        "virtual_server_group entry '{}' is not IP PORT or fwmark N",
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
        g
    }

    fn method(&mut self, n: &Node<'_>) -> Option<LvsMethod> {
        let t = self.arg(n)?;
        match t.text.as_str() {
            "NAT" => Some(LvsMethod::Nat),
            "DR" => Some(LvsMethod::Dr),
            "TUN" => Some(LvsMethod::Tun),
            o => {
                self.d.error(
                    t.pos,
                    format!("{} must be NAT, DR or TUN, got '{o}'", n.kw.text),
                );
                None
            }
        }
    }

    pub fn virtual_server(&mut self, node: &Node<'_>) -> Option<VirtualServer> {
        let key = match node.args.first().map(|t| t.text.as_str()) {
            Some("fwmark") => {
                let t = node.args.get(1).cloned();
                match t {
                    Some(t) => VsKey::Fwmark {
                        mark: self.int_tok(&t, 1, u32::MAX as i64, "fwmark")? as u32,
                    },
                    None => {
                        self.d
                            .error(node.kw.pos, "virtual_server fwmark needs a mark");
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
                let t = node.args[0].clone();
                let ip = self.ip_tok(&t)?;
                let port = match node.args.get(1) {
                    Some(p) => self.port_tok(p)?,
                    None => 0,
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
        for n in self.block(node) {
            match kw(self, Ctx::VirtualServer, n) {
                "delay_loop" => {
                    if let Some(t) = self.time(n) {
                        if t.0 == 0 {
                            self.d
                                .error(n.args[0].pos, "delay_loop must be greater than 0");
                        } else {
                            vs.delay_loop = t;
                        }
                    }
                }
                "lvs_sched" => {
                    if let Some(s) = self.string(n) {
                        const SCHEDS: &[&str] = &[
                            "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq",
                            "fo", "ovf", "mh", "twos",
                        ];
                        if !SCHEDS.contains(&s.as_str()) {
                            self.d
                                .warn(n.args[0].pos, format!("unknown LVS scheduler '{s}'"));
                        }
                        vs.lvs_sched = s;
                    }
                }
                "lvs_method" => vs.lvs_method = self.method(n).unwrap_or(vs.lvs_method),
                "protocol" => {
                    if let Some(t) = self.arg(n) {
                        match t.text.as_str() {
                            "TCP" => vs.protocol = Protocol::Tcp,
                            "UDP" => vs.protocol = Protocol::Udp,
                            "SCTP" => vs.protocol = Protocol::Sctp,
                            o => self.d.error(
                                t.pos,
                                format!("protocol must be TCP, UDP or SCTP, got '{o}'"),
                            ),
                        }
                    }
                }
                "persistence_timeout" => {
                    self.no_block(n);
                    vs.persistence_timeout = match n.args.first() {
                        None => Some(Seconds(360)),
                        Some(t) => self
                            .int_tok(t, 1, u32::MAX as i64, "persistence_timeout")
                            .map(|v| Seconds(v as u32)),
                    }
                }
                "persistence_granularity" => vs.persistence_granularity = self.ip(n),
                "persistence_engine" => vs.persistence_engine = self.string(n),
                "sorry_server" => {
                    self.no_block(n);
                    match (n.args.first(), n.args.get(1)) {
                        (Some(a), Some(p)) => {
                            if let (Some(ip), Some(port)) = (self.ip_tok(a), self.port_tok(p)) {
                                vs.sorry_server = Some(HostPort { ip, port })
                            }
                        }
                        (Some(a), None) => {
                            if let Some(ip) = self.ip_tok(a) {
                                vs.sorry_server = Some(HostPort { ip, port: 0 })
                            }
                        }
                        _ => self.d.error(n.kw.pos, "sorry_server needs IP [PORT]"),
                    }
                }
                "sorry_server_inhibit" => vs.sorry_server_inhibit = self.flag(n).unwrap_or(true),
                "sorry_server_lvs_method" => vs.sorry_server_lvs_method = self.method(n),
                "inhibit_on_failure" => vs.inhibit_on_failure = self.flag(n).unwrap_or(true),
                "quorum" => vs.quorum = self.int(n, 1, u32::MAX as i64).map_or(1, |v| v as u32),
                "hysteresis" => {
                    vs.hysteresis = self.int(n, 0, u32::MAX as i64).map_or(0, |v| v as u32)
                }
                "quorum_up" => vs.quorum_up = self.script(n),
                "quorum_down" => vs.quorum_down = self.script(n),
                "alpha" => vs.alpha = self.flag(n).unwrap_or(true),
                "omega" => vs.omega = self.flag(n).unwrap_or(true),
                "ha_suspend" => vs.ha_suspend = self.flag(n).unwrap_or(true),
                "virtualhost" => vs.virtualhost = self.string(n),
                "ops" => vs.ops = self.flag(n).unwrap_or(true),
                "smtp_alert" => vs.smtp_alert = self.flag(n),
                "retry" => vs.retry = self.int(n, 0, u32::MAX as i64).map(|v| v as u32),
                "delay_before_retry" => vs.delay_before_retry = self.time(n),
                "connect_timeout" => vs.connect_timeout = self.time(n),
                "warmup" => vs.warmup = self.time(n),
                "real_server" => rs_nodes.push(n),
                _ => self.unknown(Ctx::VirtualServer, n),
            }
        }
        if vs.ops && vs.protocol != Protocol::Udp {
            self.d.warn(
                node.kw.pos,
                "ops (one-packet scheduling) only applies to UDP virtual servers",
            );
        }
        if vs.hysteresis >= vs.quorum {
            self.d.warn(
                node.kw.pos,
                format!(
                    "hysteresis {} >= quorum {}; keepalived uses quorum - 1",
                    vs.hysteresis, vs.quorum
                ),
            );
            vs.hysteresis = vs.quorum - 1;
        }
        let vs_port = match vs.key {
            VsKey::Addr { port, .. } => port,
            _ => 0,
        };
        for n in rs_nodes {
            if let Some(rs) = self.real_server(n, &vs, vs_port) {
                vs.real_servers.push(rs);
            }
        }
        Some(vs)
    }

    pub(super) fn real_server(
        &mut self,
        node: &Node<'_>,
        vs: &VirtualServer,
        vs_port: u16,
    ) -> Option<RealServer> {
        let Some(ipt) = node.args.first() else {
            self.d.error(node.kw.pos, "real_server needs IP [PORT]");
            return None;
        };
        let ip = self.ip_tok(ipt)?;
        if let VsKey::Addr { ip: vip, .. } = vs.key
            && vip.is_ipv4() != ip.is_ipv4()
            && vs.lvs_method != LvsMethod::Tun
        {
            self.d.error(
                ipt.pos,
                format!("real_server {ip}: address family differs from virtual server {vip}"),
            );
        }
        let port = match node.args.get(1) {
            Some(p) => self.port_tok(p)?,
            None => vs_port,
        };
        let mut rs = RealServer {
            ip,
            port,
            weight: 1,
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
                "weight" => rs.weight = self.int(n, 0, 65535).map_or(1, |v| v as i32),
                "lvs_method" => rs.lvs_method = self.method(n),
                "notify_up" => rs.notify_up = self.script(n),
                "notify_down" => rs.notify_down = self.script(n),
                "inhibit_on_failure" => rs.inhibit_on_failure = self.flag(n),
                "delay_loop" => rs.delay_loop = self.time(n),
                "alpha" => rs.alpha = self.flag(n),
                "retry" => rs.retry = self.int(n, 0, u32::MAX as i64).map(|v| v as u32),
                "delay_before_retry" => rs.delay_before_retry = self.time(n),
                "connect_timeout" => rs.connect_timeout = self.time(n),
                "warmup" => rs.warmup = self.time(n),
                "smtp_alert" => rs.smtp_alert = self.flag(n),
                "virtualhost" => rs.virtualhost = self.string(n),
                "HTTP_GET" | "SSL_GET" | "TCP_CHECK" | "MISC_CHECK" | "SMTP_CHECK"
                | "DNS_CHECK" | "UDP_CHECK" | "PING_CHECK" | "FILE_CHECK" => checker_nodes.push(n),
                _ => self.unknown(Ctx::RealServer, n),
            }
        }
        for n in checker_nodes {
            if let Some(c) = self.checker(n, vs, &rs) {
                rs.checkers.push(c);
            }
        }
        Some(rs)
    }
}
