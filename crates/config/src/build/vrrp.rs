//! `vrrp_script`, `vrrp_instance`, `vrrp_sync_group` and `track_file`.

use super::*;

impl Builder<'_> {
    pub fn vrrp_script(&mut self, node: &Node<'_>) -> VrrpScript {
        let mut s = VrrpScript {
            name: self.name(node),
            script: String::new(),
            interval: TimeUs::from_secs(1),
            timeout: TimeUs(0),
            weight: 0,
            weight_reverse: false,
            fall: 1,
            rise: 1,
            user: None,
            group: None,
            init_fail: false,
        };
        let mut timeout = None;
        let mut have_script = false;
        for n in self.block(node) {
            match kw(self, Ctx::VrrpScript, n) {
                "script" => {
                    if let Some(sc) = self.script(n) {
                        // keepalived takes the whole line as the command.
                        s.script = if sc.user.is_some() {
                            n.args
                                .iter()
                                .map(|t| t.text.as_str())
                                .collect::<Vec<_>>()
                                .join(" ")
                        } else {
                            sc.command
                        };
                        have_script = true;
                    }
                }
                "interval" => {
                    if let Some(v) = self.time(n) {
                        if v.0 == 0 {
                            self.d
                                .error(n.args[0].pos, "interval must be greater than 0");
                        } else {
                            s.interval = v;
                        }
                    }
                }
                "timeout" => timeout = self.time(n),
                "weight" => {
                    if let Some(v) = self.int(n, -253, 253) {
                        s.weight = v as i32;
                    }
                    match n.args.get(1) {
                        Some(t) if t.text == "reverse" => s.weight_reverse = true,
                        Some(t) => self
                            .d
                            .error(t.pos, format!("unexpected '{}' after weight", t.text)),
                        None => {}
                    }
                }
                "fall" => s.fall = self.int(n, 1, u32::MAX as i64).map_or(s.fall, |v| v as u32),
                "rise" => s.rise = self.int(n, 1, u32::MAX as i64).map_or(s.rise, |v| v as u32),
                "user" => {
                    s.user = self.string(n);
                    s.group = n.args.get(1).map(|t| t.text.owned());
                }
                "init_fail" => s.init_fail = self.flag(n).unwrap_or(true),
                _ => self.unknown(Ctx::VrrpScript, n),
            }
        }
        if !have_script {
            self.d.error(
                node.kw.pos,
                format!("vrrp_script {} has no 'script'", s.name),
            );
        }
        // keepalived: a zero/absent timeout means the interval.
        s.timeout = match timeout {
            Some(t) if t.0 > 0 => t,
            _ => s.interval,
        };
        s
    }

    fn vip_list(&mut self, n: &Node<'_>) -> Vec<VirtualIp> {
        let mut out: Vec<VirtualIp> = Vec::new();
        for c in self.block(n) {
            let words: Vec<&Tok<'_>> = std::iter::once(&c.kw).chain(&c.args).collect();
            if let Some(v) = self.vip(&words) {
                if let Some(first) = out.first()
                    && first.address.is_ipv4() != v.address.is_ipv4()
                {
                    self.d.error(
                            c.kw.pos,
                            format!(
                                "{}: address {} is of a different family than {} (mixed IPv4/IPv6 in one block)",
                                n.kw.text, v.address, first.address
                            ),
                        );
                    continue;
                }
                out.push(v);
            }
        }
        out
    }

    fn vip(&mut self, w: &[&Tok<'_>]) -> Option<VirtualIp> {
        let (addr, prefix) = match w[0].text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (w[0].text.as_str(), None),
        };
        let Ok(address) = addr.parse::<IpAddr>() else {
            self.d.error(
                w[0].pos,
                format!("'{}' is not a valid IP address", w[0].text),
            );
            return None;
        };
        let max = if address.is_ipv4() { 32 } else { 128 };
        let prefix_len = match prefix {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(v) if v <= max => v,
                _ => {
                    self.d.error(
                        w[0].pos,
                        format!("invalid prefix length '/{p}' for {address}"),
                    );
                    return None;
                }
            },
        };
        let mut v = VirtualIp {
            address,
            prefix_len,
            brd: None,
            dev: None,
            scope: None,
            label: None,
            peer: None,
            flags: Vec::new(),
        };
        let mut i = 1;
        while i < w.len() {
            let k = &w[i];
            let val = w.get(i + 1);
            let need = |b: &mut Self| {
                if val.is_none() {
                    b.d.error(k.pos, format!("'{}' needs a value", k.text));
                }
            };
            match k.text.as_str() {
                "brd" | "broadcast" => {
                    need(self);
                    v.brd = val.and_then(|t| self.ip_tok(t));
                    i += 1;
                }
                "dev" => {
                    need(self);
                    v.dev = val.map(|t| t.text.owned());
                    i += 1;
                }
                "scope" => {
                    need(self);
                    v.scope = val.map(|t| t.text.owned());
                    i += 1;
                }
                "label" => {
                    need(self);
                    v.label = val.map(|t| t.text.owned());
                    i += 1;
                }
                "peer" => {
                    need(self);
                    v.peer = val.and_then(|t| self.ip_tok(t));
                    i += 1;
                }
                "home" | "-nodad" | "nodad" | "noprefixroute" | "autojoin" | "no_track" => {
                    v.flags.push(k.text.owned())
                }
                // keepalived takes one address per line; a second one is an unknown option.
                o if o
                    .split('/')
                    .next()
                    .is_some_and(|a| a.parse::<IpAddr>().is_ok()) =>
                {
                    self.d.error(
                        k.pos,
                        format!(
                            "unknown virtual address option '{o}': keepalived reads one address \
                             per line, put '{o}' on its own line"
                        ),
                    )
                }
                o => self
                    .d
                    .error(k.pos, format!("unknown virtual address option '{o}'")),
            }
            i += 1;
        }
        Some(v)
    }

    fn route(&mut self, c: &Node<'_>) -> VirtualRoute {
        let mut w = vec![c.kw.clone()];
        w.extend(c.args.iter().cloned());
        let mut r = VirtualRoute {
            to: String::new(),
            via: None,
            dev: None,
            src: None,
            metric: None,
            table: None,
            extra: Vec::new(),
        };
        let mut i = 0;
        while i < w.len() {
            let k = w[i].text.as_str();
            let val = w.get(i + 1);
            match k {
                "src" | "via" | "gw" | "dev" | "metric" | "table" | "to" => {
                    let Some(val) = val else {
                        self.d.error(w[i].pos, format!("'{k}' needs a value"));
                        break;
                    };
                    match k {
                        "src" => r.src = self.ip_tok(val),
                        "via" | "gw" => r.via = self.ip_tok(val),
                        "dev" => r.dev = Some(val.text.owned()),
                        "metric" => {
                            r.metric = self
                                .int_tok(val, 0, u32::MAX as i64, "metric")
                                .map(|v| v as u32)
                        }
                        "table" => r.table = Some(val.text.owned()),
                        _ => r.to = val.text.owned(),
                    }
                    i += 2;
                }
                _ if r.to.is_empty() => {
                    r.to = k.to_string();
                    i += 1;
                }
                _ => {
                    r.extra.push(k.to_string());
                    i += 1;
                }
            }
        }
        if r.to.is_empty() {
            self.d
                .error(c.kw.pos, "virtual route without a destination");
        }
        r
    }

    pub fn vrrp_instance(&mut self, node: &Node<'_>, g: &GlobalDefs) -> VrrpInstance {
        let mut v = VrrpInstance {
            name: self.name(node),
            state: VrrpState::Backup,
            interface: None,
            virtual_router_id: 0,
            priority: 100,
            advert_int: Centiseconds(100),
            version: g.vrrp_version,
            authentication: None,
            virtual_ipaddress: Vec::new(),
            virtual_ipaddress_excluded: Vec::new(),
            unicast_src_ip: None,
            unicast_peer: Vec::new(),
            nopreempt: false,
            preempt_delay: TimeUs(0),
            accept: !g.vrrp_strict,
            track_script: Vec::new(),
            track_interface: Vec::new(),
            track_file: Vec::new(),
            notify: None,
            notify_master: None,
            notify_backup: None,
            notify_fault: None,
            notify_stop: None,
            notify_deleted: None,
            smtp_alert: None,
            garp_master_delay: g.vrrp_garp_master_delay,
            garp_master_repeat: g.vrrp_garp_master_repeat,
            garp_master_refresh: g.vrrp_garp_master_refresh,
            garp_master_refresh_repeat: g.vrrp_garp_master_refresh_repeat,
            garp_lower_prio_delay: Seconds(0),
            garp_lower_prio_repeat: 0,
            use_vmac: None,
            virtual_routes: Vec::new(),
            resolved: VrrpResolved::default(),
        };
        let mut state_set: Option<Pos> = None;
        let mut vrid_seen = false;
        let mut advert: Option<(TimeUs, Pos)> = None;
        let mut lp_delay = None;
        let mut lp_repeat = None;
        let mut nopreempt_pos = None;
        for n in self.block(node) {
            match kw(self, Ctx::VrrpInstance, n) {
                "state" => {
                    if let Some(t) = self.arg(n) {
                        match t.text.as_str() {
                            "MASTER" => v.state = VrrpState::Master,
                            "BACKUP" => v.state = VrrpState::Backup,
                            o => self
                                .d
                                .error(t.pos, format!("state must be MASTER or BACKUP, got '{o}'")),
                        }
                        state_set = Some(t.pos);
                    }
                }
                "interface" => v.interface = self.string(n),
                "virtual_router_id" => {
                    if let Some(x) = self.int(n, 1, 255) {
                        v.virtual_router_id = x as u8;
                        vrid_seen = true;
                    }
                }
                "priority" => {
                    if let Some(x) = self.int(n, 1, 255) {
                        v.priority = x as u8
                    }
                }
                "advert_int" => {
                    if let Some(t) = self.time(n) {
                        advert = Some((t, n.args[0].pos));
                    }
                }
                "version" => {
                    if let Some(x) = self.int(n, 2, 3) {
                        v.version = x as u8
                    }
                }
                "authentication" => {
                    let mut ty = None;
                    let mut pass = None;
                    for a in self.block(n) {
                        same_line_keyword(self, Ctx::Authentication, a);
                        match a.kw.text.as_str() {
                            "auth_type" => {
                                if let Some(t) = self.arg(a) {
                                    ty = match t.text.as_str() {
                                        "PASS" => Some(AuthType::Pass),
                                        "AH" => Some(AuthType::Ah),
                                        o => {
                                            self.d.error(
                                                t.pos,
                                                format!("auth_type must be PASS or AH, got '{o}'"),
                                            );
                                            None
                                        }
                                    }
                                }
                            }
                            "auth_pass" => {
                                if let Some(t) = self.arg(a) {
                                    let mut p = t.text.owned();
                                    if p.chars().count() > 8 {
                                        // VRRPv2 carries 8 octets of password (RFC 2338 §5.3.10).
                                        self.d.warn(
                                            t.pos,
                                            "auth_pass longer than 8 characters, truncated to 8",
                                        );
                                        p = p.chars().take(8).collect();
                                    }
                                    pass = Some(p);
                                }
                            }
                            _ => self.unknown(Ctx::Authentication, a),
                        }
                    }
                    match ty {
                        Some(auth_type) => {
                            v.authentication = Some(Authentication {
                                auth_type,
                                auth_pass: pass.unwrap_or_default(),
                            })
                        }
                        None => self
                            .d
                            .error(n.kw.pos, "authentication block without a valid auth_type"),
                    }
                }
                "virtual_ipaddress" => {
                    let l = self.vip_list(n);
                    v.virtual_ipaddress.extend(l)
                }
                "virtual_ipaddress_excluded" => {
                    let l = self.vip_list(n);
                    v.virtual_ipaddress_excluded.extend(l)
                }
                "unicast_src_ip" | "mcast_src_ip" => v.unicast_src_ip = self.ip(n),
                "unicast_peer" => {
                    for c in self.block(n) {
                        if let Some(ip) = self.ip_tok(&c.kw) {
                            if let Some(first) = v.unicast_peer.first()
                                && first.is_ipv4() != ip.is_ipv4()
                            {
                                self.d.error(
                                    c.kw.pos,
                                    format!("unicast_peer {ip}: mixed IPv4/IPv6 peers"),
                                );
                                continue;
                            }
                            v.unicast_peer.push(ip);
                        }
                    }
                }
                "nopreempt" => {
                    self.no_block(n);
                    v.nopreempt = true;
                    nopreempt_pos = Some(n.kw.pos);
                }
                "preempt" => {
                    self.no_block(n);
                    v.nopreempt = false;
                }
                "preempt_delay" => {
                    if let Some(t) = self.time(n) {
                        if t > TimeUs::from_secs(1000) {
                            self.d
                                .error(n.args[0].pos, "preempt_delay must be at most 1000 seconds");
                        } else {
                            v.preempt_delay = t;
                        }
                    }
                }
                "accept" => {
                    self.no_block(n);
                    v.accept = true
                }
                "no_accept" => {
                    self.no_block(n);
                    v.accept = false
                }
                "track_script" => {
                    let l = self.track_list(n, -253, 253);
                    v.track_script.extend(l)
                }
                "track_interface" => {
                    let l = self.track_list(n, -254, 254);
                    v.track_interface.extend(l)
                }
                "track_file" => {
                    let l = self.track_list(n, -254, 254);
                    v.track_file.extend(l)
                }
                "notify" => v.notify = self.script(n),
                "notify_master" => v.notify_master = self.script(n),
                "notify_backup" => v.notify_backup = self.script(n),
                "notify_fault" => v.notify_fault = self.script(n),
                "notify_stop" => v.notify_stop = self.script(n),
                "notify_deleted" => v.notify_deleted = self.script(n),
                "smtp_alert" => v.smtp_alert = self.flag(n),
                "garp_master_delay" => {
                    if let Some(x) = self.int(n, 0, 86400) {
                        v.garp_master_delay = Seconds(x as u32)
                    }
                }
                "garp_master_repeat" => {
                    if let Some(x) = self.int(n, 1, 100) {
                        v.garp_master_repeat = x as u32
                    }
                }
                "garp_master_refresh" => {
                    if let Some(x) = self.int(n, 0, 86400) {
                        v.garp_master_refresh = Seconds(x as u32)
                    }
                }
                "garp_master_refresh_repeat" => {
                    if let Some(x) = self.int(n, 1, 100) {
                        v.garp_master_refresh_repeat = x as u32
                    }
                }
                "garp_lower_prio_delay" => {
                    lp_delay = self.int(n, 0, 86400).map(|x| Seconds(x as u32))
                }
                "garp_lower_prio_repeat" => lp_repeat = self.int(n, 1, 100).map(|x| x as u32),
                "use_vmac" => {
                    self.no_block(n);
                    v.use_vmac = Some(UseVmac {
                        name: n.args.first().map(|t| t.text.owned()),
                    });
                }
                "virtual_routes" => {
                    for c in self.block(n) {
                        let r = self.route(c);
                        v.virtual_routes.push(r);
                    }
                }
                _ => self.unknown(Ctx::VrrpInstance, n),
            }
        }
        let name = v.name.clone();
        if !vrid_seen {
            self.d.error(
                node.kw.pos,
                format!("vrrp_instance {name}: virtual_router_id is required"),
            );
        }
        // Interval: v2 carries whole seconds (RFC 3768 §5.3.7), v3 centiseconds (RFC 5798 §5.2.7).
        if let Some((t, pos)) = advert {
            let cs = (t.0 + 5_000) / 10_000;
            if v.version == 2 {
                let secs = (t.0 + 500_000) / 1_000_000;
                if t.0 % 1_000_000 != 0 {
                    self.d.warn(
                        pos,
                        format!("advert_int {t} is not a whole number of seconds for VRRPv2, rounded to {}", secs.max(1)),
                    );
                }
                if secs > 255 {
                    self.d
                        .error(pos, "advert_int for VRRPv2 must be 1..255 seconds");
                } else {
                    v.advert_int = Centiseconds::from_secs(secs.max(1) as u32);
                }
            } else if !(1..=4095).contains(&cs) {
                self.d
                    .error(pos, "advert_int for VRRPv3 must be 0.01..40.95 seconds");
            } else {
                if t.0 % 10_000 != 0 {
                    self.d
                        .warn(pos, format!("advert_int {t} rounded to centiseconds"));
                }
                v.advert_int = Centiseconds(cs as u32);
            }
        }
        if v.priority == 255 && v.state == VrrpState::Backup {
            // keepalived: priority 255 means address owner, which is always master.
            if let Some(p) = state_set {
                self.d.warn(
                    p,
                    format!(
                        "vrrp_instance {name}: priority 255 (address owner) forces state MASTER"
                    ),
                );
            }
            v.state = VrrpState::Master;
        }
        if v.nopreempt && v.state == VrrpState::Master {
            self.d.warn(
                nopreempt_pos.unwrap_or(node.kw.pos),
                format!("vrrp_instance {name}: nopreempt will not work with initial state MASTER - clearing"),
            );
            v.nopreempt = false;
        }
        if v.version == 3 && v.authentication.is_some() {
            self.d.warn(
                node.kw.pos,
                format!("vrrp_instance {name}: authentication is not supported by VRRPv3, ignored"),
            );
            v.authentication = None;
        }
        let fam6 = v
            .virtual_ipaddress
            .first()
            .is_some_and(|a| a.address.is_ipv6());
        if fam6
            && matches!(
                v.authentication,
                Some(Authentication {
                    auth_type: AuthType::Ah,
                    ..
                })
            )
        {
            self.d.error(
                node.kw.pos,
                format!("vrrp_instance {name}: AH authentication is not supported with IPv6"),
            );
        }
        if let Some(src) = v.unicast_src_ip
            && let Some(p) = v.unicast_peer.first()
            && p.is_ipv4() != src.is_ipv4()
        {
            self.d.error(
                node.kw.pos,
                format!("vrrp_instance {name}: unicast_src_ip and unicast_peer families differ"),
            );
        }
        v.garp_lower_prio_delay = lp_delay
            .or(g.vrrp_garp_lower_prio_delay)
            .unwrap_or(v.garp_master_delay);
        v.garp_lower_prio_repeat = lp_repeat
            .or(g.vrrp_garp_lower_prio_repeat)
            .unwrap_or(v.garp_master_repeat);
        v
    }

    pub fn sync_group(&mut self, node: &Node<'_>) -> VrrpSyncGroup {
        let mut s = VrrpSyncGroup {
            name: self.name(node),
            group: Vec::new(),
            notify: None,
            notify_master: None,
            notify_backup: None,
            notify_fault: None,
            notify_stop: None,
            smtp_alert: None,
            global_tracking: false,
            track_script: Vec::new(),
            track_interface: Vec::new(),
            track_file: Vec::new(),
        };
        for n in self.block(node) {
            match kw(self, Ctx::SyncGroup, n) {
                "group" => {
                    let w = self.words(n);
                    s.group.extend(w)
                }
                "notify" => s.notify = self.script(n),
                "notify_master" => s.notify_master = self.script(n),
                "notify_backup" => s.notify_backup = self.script(n),
                "notify_fault" => s.notify_fault = self.script(n),
                "notify_stop" => s.notify_stop = self.script(n),
                "smtp_alert" => s.smtp_alert = self.flag(n),
                "global_tracking" => s.global_tracking = self.flag(n).unwrap_or(true),
                "track_script" => {
                    let l = self.track_list(n, -253, 253);
                    s.track_script.extend(l)
                }
                "track_interface" => {
                    let l = self.track_list(n, -254, 254);
                    s.track_interface.extend(l)
                }
                "track_file" => {
                    let l = self.track_list(n, -254, 254);
                    s.track_file.extend(l)
                }
                _ => self.unknown(Ctx::SyncGroup, n),
            }
        }
        s
    }

    pub fn track_file(&mut self, node: &Node<'_>) -> TrackFile {
        let mut t = TrackFile {
            name: self.name(node),
            file: String::new(),
            weight: 1,
            reverse: false,
            init_file: None,
        };
        for n in self.block(node) {
            match kw(self, Ctx::TrackFile, n) {
                "file" => t.file = self.string(n).unwrap_or_default(),
                "weight" => {
                    if let Some(w) = self.int(n, -254, 254) {
                        t.weight = w as i32;
                    }
                    t.reverse = n.args.get(1).is_some_and(|a| a.text == "reverse");
                }
                "init_file" => {
                    self.no_block(n);
                    let mut f = InitFile {
                        value: 0,
                        overwrite: false,
                    };
                    for a in &n.args {
                        if a.text == "overwrite" {
                            f.overwrite = true;
                        } else if let Some(v) =
                            self.int_tok(a, i32::MIN as i64, i32::MAX as i64, "init_file")
                        {
                            f.value = v;
                        }
                    }
                    t.init_file = Some(f);
                }
                _ => self.unknown(Ctx::TrackFile, n),
            }
        }
        if t.file.is_empty() {
            self.d
                .error(node.kw.pos, format!("track_file {} has no 'file'", t.name));
        }
        t
    }
}
