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
            vrrp_notify_priority_changes: false,
            vrrp_garp_master_delay: Seconds(5),
            vrrp_garp_master_repeat: 5,
            vrrp_garp_master_refresh: Seconds(0),
            vrrp_garp_master_refresh_repeat: 1,
            vrrp_garp_lower_prio_delay: None,
            vrrp_garp_lower_prio_repeat: None,
            vrrp_garp_interval: TimeUs(0),
            vrrp_gna_interval: TimeUs(0),
            default_interface: None,
            notify_fifo: None,
            vrrp_notify_fifo: None,
            lvs_notify_fifo: None,
            fifo_write_vrrp_states_on_reload: false,
            no_email_faults: false,
        };
        // `…_script` may come before its FIFO: [global, vrrp, lvs].
        let mut fifo_scripts: [Option<(Pos, Script)>; 3] = [None, None, None];
        let mut fifo_pos = [Pos::default(); 3];
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
                    "vrrp_notify_priority_changes" => {
                        if let Some(b) = self.flag(n) {
                            g.vrrp_notify_priority_changes = b
                        }
                    }
                    "notify_fifo" => {
                        fifo_pos[0] = n.kw.pos;
                        self.notify_fifo(n, &mut g.notify_fifo)
                    }
                    "vrrp_notify_fifo" => {
                        fifo_pos[1] = n.kw.pos;
                        self.notify_fifo(n, &mut g.vrrp_notify_fifo)
                    }
                    "lvs_notify_fifo" => {
                        fifo_pos[2] = n.kw.pos;
                        self.notify_fifo(n, &mut g.lvs_notify_fifo)
                    }
                    "notify_fifo_script" => self.fifo_script(n, &mut fifo_scripts[0]),
                    "vrrp_notify_fifo_script" => self.fifo_script(n, &mut fifo_scripts[1]),
                    "lvs_notify_fifo_script" => self.fifo_script(n, &mut fifo_scripts[2]),
                    // Switches without a value (global_parser.c sets them on sight).
                    "fifo_write_vrrp_states_on_reload" => {
                        self.no_block(n);
                        g.fifo_write_vrrp_states_on_reload = true
                    }
                    "no_email_faults" => {
                        self.no_block(n);
                        g.no_email_faults = true
                    }
                    _ => self.unknown(Ctx::Global, n),
                }
            }
        }
        let [global, vrrp, lvs] = fifo_scripts;
        for (fifo, script, kw) in [
            (&mut g.notify_fifo, global, "notify_fifo"),
            (&mut g.vrrp_notify_fifo, vrrp, "vrrp_notify_fifo"),
            (&mut g.lvs_notify_fifo, lvs, "lvs_notify_fifo"),
        ] {
            match (fifo.as_mut(), script) {
                (Some(f), Some((_, s))) => f.script = Some(s),
                (None, Some((pos, _))) => self.d.warn(
                    pos,
                    format!("{kw}_script without {kw} - not run, as keepalived does not"),
                ),
                _ => {}
            }
        }
        self.dedup_fifos(&mut g, fifo_pos);
        g
    }

    /// `notify_fifo PATH [USER [GROUP]]` (global_parser.c `notify_fifo`): the first one wins.
    fn notify_fifo(&mut self, n: &Node<'_>, slot: &mut Option<NotifyFifo>) {
        self.no_block(n);
        let Some(path) = self.arg(n) else { return };
        if let Some(old) = slot {
            self.d.warn(
                path.pos,
                format!(
                    "{} already specified ({}) - ignoring {}",
                    n.kw.text, old.path, path.text
                ),
            );
            return;
        }
        let user = n.args.get(1).map(|t| t.text.owned());
        let group = n.args.get(2).map(|t| t.text.owned());
        if let Some(u) = &user
            && !self.host_has_user(u, group.as_deref())
        {
            self.d.note(
                n.args[1].pos,
                format!(
                    "Invalid user/group for {} {} - ignoring: keepalived does not create it, \
                     and neither does keepalived-rs",
                    n.kw.text, path.text
                ),
            );
            return;
        }
        *slot = Some(NotifyFifo {
            path: path.text.owned(),
            user,
            group,
            script: None,
        });
    }

    /// `…notify_fifo_script CMD [USER [GROUP]]`: the first one wins.
    fn fifo_script(&mut self, n: &Node<'_>, slot: &mut Option<(Pos, Script)>) {
        if slot.is_some() {
            self.d.warn(
                n.kw.pos,
                format!("{} already specified - ignored", n.kw.text),
            );
            return;
        }
        if let Some(s) = self.script(n) {
            *slot = Some((n.kw.pos, s));
        }
    }

    /// global_data.c `init_global_data`: a VRRP or LVS FIFO that is the global one is dropped
    /// (its lines would be written twice); an LVS FIFO that is the VRRP one keeps only the
    /// VRRP script.
    fn dedup_fifos(&mut self, g: &mut GlobalDefs, pos: [Pos; 3]) {
        let global = g.notify_fifo.as_ref().map(|f| f.path.clone());
        for (slot, kind, pos) in [
            (&mut g.vrrp_notify_fifo, "vrrp", pos[1]),
            (&mut g.lvs_notify_fifo, "LVS", pos[2]),
        ] {
            if let (Some(f), Some(gp)) = (slot.as_ref(), &global)
                && &f.path == gp
            {
                self.d.note(
                    pos,
                    format!(
                        "notify FIFO {gp} has been specified for global and {kind} FIFO - \
                         ignoring {kind} FIFO"
                    ),
                );
                *slot = None;
            }
        }
        if let (Some(v), Some(l)) = (&g.vrrp_notify_fifo, &mut g.lvs_notify_fifo)
            && v.path == l.path
            && v.script.is_some()
            && l.script.take().is_some()
        {
            self.d.note(
                pos[2],
                "LVS notify FIFO and vrrp FIFO are the same both with scripts - ignoring LVS \
                 FIFO script",
            );
        }
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
