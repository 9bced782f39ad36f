//! `global_defs`.

use super::*;

impl Builder<'_> {
    pub fn global(&mut self, nodes: &[&Node<'_>]) -> GlobalDefs {
        let mut g = GlobalDefs {
            router_id: self.host.clone(),
            notification_email: Vec::new(),
            notification_email_from: format!("keepalived@{}", self.host),
            smtp_server: None,
            smtp_helo_name: "localhost".into(),
            smtp_connect_timeout: Seconds(30),
            smtp_alert: None,
            smtp_alert_vrrp: None,
            smtp_alert_checker: None,
            vrrp_mcast_group4: Ipv4Addr::new(224, 0, 0, 18),
            vrrp_mcast_group6: Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12),
            script_user: None,
            script_group: None,
            enable_script_security: false,
            lvs_flush: false,
            lvs_flush_on_stop: LvsFlushOnStop::None,
            lvs_timeouts: LvsTimeouts::default(),
            vrrp_version: 2,
            vrrp_strict: false,
            vrrp_lower_prio_no_advert: false,
            vrrp_higher_prio_send_advert: false,
            vrrp_garp_master_delay: Seconds(5),
            vrrp_garp_master_repeat: 5,
            vrrp_garp_master_refresh: Seconds(0),
            vrrp_garp_master_refresh_repeat: 1,
            vrrp_garp_lower_prio_delay: None,
            vrrp_garp_lower_prio_repeat: None,
            vrrp_garp_interval: TimeUs(0),
            vrrp_gna_interval: TimeUs(0),
            default_interface: None,
        };
        for gn in nodes {
            for n in self.block(gn) {
                match kw(self, Ctx::Global, n) {
                    "router_id" => g.router_id = self.string(n).unwrap_or(g.router_id),
                    "notification_email" => g.notification_email = self.words(n),
                    "notification_email_from" => {
                        g.notification_email_from =
                            self.string(n).unwrap_or(g.notification_email_from)
                    }
                    "smtp_server" => {
                        if let Some(host) = self.string(n) {
                            let port = match n.args.get(1) {
                                Some(p) => {
                                    self.int_tok(p, 1, 65535, "smtp_server port").unwrap_or(25)
                                        as u16
                                }
                                None => 25,
                            };
                            g.smtp_server = Some(SmtpServer { host, port });
                        }
                    }
                    "smtp_helo_name" => {
                        g.smtp_helo_name = self.string(n).unwrap_or(g.smtp_helo_name)
                    }
                    "smtp_connect_timeout" => {
                        if let Some(v) = self.int(n, 1, 3600) {
                            g.smtp_connect_timeout = Seconds(v as u32)
                        }
                    }
                    "smtp_alert" => {
                        if let Some(b) = self.flag(n) {
                            g.smtp_alert = Some(b)
                        }
                    }
                    "smtp_alert_vrrp" => {
                        if let Some(b) = self.flag(n) {
                            g.smtp_alert_vrrp = Some(b)
                        }
                    }
                    "smtp_alert_checker" => {
                        if let Some(b) = self.flag(n) {
                            g.smtp_alert_checker = Some(b)
                        }
                    }
                    "vrrp_mcast_group4" => {
                        if let Some(IpAddr::V4(a)) = self.sockaddr(n) {
                            if a.is_multicast() {
                                g.vrrp_mcast_group4 = a;
                            } else {
                                self.d.warn(
                                    n.args[0].pos,
                                    format!("{a} is not an IPv4 multicast address - ignored"),
                                );
                            }
                        } else if !n.args.is_empty() {
                            self.d.warn(
                                n.args[0].pos,
                                "vrrp_mcast_group4 needs an IPv4 address - ignored",
                            );
                        }
                    }
                    "vrrp_mcast_group6" => {
                        if let Some(IpAddr::V6(a)) = self.sockaddr(n) {
                            if a.is_multicast() {
                                g.vrrp_mcast_group6 = a;
                            } else {
                                self.d.warn(
                                    n.args[0].pos,
                                    format!("{a} is not an IPv6 multicast address - ignored"),
                                );
                            }
                        } else if !n.args.is_empty() {
                            self.d
                                .error(n.args[0].pos, "vrrp_mcast_group6 needs an IPv6 address");
                        }
                    }
                    "script_user" => {
                        g.script_user = self.string(n);
                        g.script_group = n.args.get(1).map(|t| t.text.owned());
                    }
                    "enable_script_security" => {
                        if let Some(b) = self.flag(n) {
                            g.enable_script_security = b
                        }
                    }
                    "lvs_flush" => {
                        if let Some(b) = self.flag(n) {
                            g.lvs_flush = b
                        }
                    }
                    "lvs_flush_on_stop" => {
                        self.no_block(n);
                        g.lvs_flush_on_stop = match n.args.first().map(|t| t.text.as_str()) {
                            None | Some("ALL") => LvsFlushOnStop::All,
                            Some("VS") => LvsFlushOnStop::Vs,
                            Some(o) => {
                                self.d.warn(
                                    n.args[0].pos,
                                    format!(
                                        "lvs_flush_on_stop expects VS or ALL, got '{o}' - ignored"
                                    ),
                                );
                                LvsFlushOnStop::None
                            }
                        }
                    }
                    "lvs_timeouts" => {
                        self.no_block(n);
                        let mut i = 0;
                        while i < n.args.len() {
                            let k = &n.args[i];
                            let v = n
                                .args
                                .get(i + 1)
                                .and_then(|t| self.int_tok(t, 0, 86400 * 365, "lvs_timeouts"))
                                .map(|v| Seconds(v as u32));
                            match k.text.as_str() {
                                "tcp" => g.lvs_timeouts.tcp = v,
                                "tcpfin" => g.lvs_timeouts.tcpfin = v,
                                "udp" => g.lvs_timeouts.udp = v,
                                o => self.d.warn(
                                    k.pos,
                                    format!(
                                        "lvs_timeouts: unknown '{o}' (tcp, tcpfin, udp) - ignored"
                                    ),
                                ),
                            }
                            i += 2;
                        }
                    }
                    "vrrp_version" => {
                        if let Some(v) = self.int(n, 2, 3) {
                            g.vrrp_version = v as u8
                        }
                    }
                    "vrrp_strict" => {
                        if let Some(b) = self.flag(n) {
                            g.vrrp_strict = b
                        }
                    }
                    "vrrp_garp_master_delay" => {
                        if let Some(v) = self.int(n, 0, i64::from(u32::MAX)) {
                            g.vrrp_garp_master_delay = Seconds(v as u32)
                        }
                    }
                    "vrrp_garp_master_repeat" => {
                        if let Some(v) = self.repeat(n) {
                            g.vrrp_garp_master_repeat = v
                        }
                    }
                    "vrrp_garp_master_refresh" => {
                        if let Some(v) = self.int(n, 0, i64::from(u32::MAX)) {
                            g.vrrp_garp_master_refresh = Seconds(v as u32)
                        }
                    }
                    "vrrp_garp_master_refresh_repeat" => {
                        if let Some(v) = self.repeat(n) {
                            g.vrrp_garp_master_refresh_repeat = v
                        }
                    }
                    "vrrp_garp_lower_prio_delay" => {
                        g.vrrp_garp_lower_prio_delay = self
                            .int(n, 0, i64::from(u32::MAX))
                            .map(|v| Seconds(v as u32))
                    }
                    "vrrp_garp_lower_prio_repeat" => {
                        g.vrrp_garp_lower_prio_repeat =
                            self.int(n, 0, i64::from(u32::MAX)).map(|v| v as u32)
                    }
                    "vrrp_garp_interval" => {
                        if let Some(t) = self.garp_interval(n) {
                            g.vrrp_garp_interval = t
                        }
                    }
                    "vrrp_gna_interval" => {
                        if let Some(t) = self.garp_interval(n) {
                            g.vrrp_gna_interval = t
                        }
                    }
                    "default_interface" => g.default_interface = self.string(n),
                    "vrrp_lower_prio_no_advert" => {
                        if let Some(b) = self.flag(n) {
                            g.vrrp_lower_prio_no_advert = b
                        }
                    }
                    "vrrp_higher_prio_send_advert" => {
                        if let Some(b) = self.flag(n) {
                            g.vrrp_higher_prio_send_advert = b
                        }
                    }
                    _ => self.unknown(Ctx::Global, n),
                }
            }
        }
        g
    }

    /// `vrrp_garp_interval` / `vrrp_gna_interval` (global_parser.c): 0.000001..4294.967295 s;
    /// anything else — 0 too, as keepalived's own sample writes it — is reported and leaves
    /// the interval unset; a second or more is logged as very large.
    fn garp_interval(&mut self, n: &Node<'_>) -> Option<TimeUs> {
        let t = self.arg(n)?;
        match TimeUs::parse(&t.text) {
            Some(v) if (1..=u64::from(u32::MAX)).contains(&v.0) => {
                if v.0 >= 1_000_000 {
                    self.d.note(
                        t.pos,
                        format!("The {} is very large - {} seconds", n.kw.text, t.text),
                    );
                }
                Some(v)
            }
            _ => {
                self.d.warn(
                    t.pos,
                    format!(
                        "{} '{}' is invalid (0.000001..4294.967295 s) - ignored, as keepalived \
                         does",
                        n.kw.text, t.text
                    ),
                );
                None
            }
        }
    }
}
