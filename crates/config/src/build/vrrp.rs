//! `vrrp_script`, `vrrp_instance`, `vrrp_sync_group` and `track_file`.

use super::*;

impl Builder<'_> {
    /// `vrrp_script NAME { … }` (vrrp_parser.c `vrrp_script_handler` and its keywords).
    /// `None` when keepalived removes it: "No script set for vrrp_script NAME - removing".
    pub fn vrrp_script(&mut self, node: &Node<'_>) -> Option<VrrpScript> {
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
        let mut unusable_user = false;
        for n in self.block(node) {
            match kw(self, Ctx::VrrpScript, n) {
                "script" => {
                    if let Some(c) = self.command(n) {
                        s.script = c;
                        have_script = true;
                    }
                }
                // Whole seconds; 0 is 1 ("vrrp script interval must be greater than 0,
                // setting to 1"), anything else unreadable leaves the value as it was.
                "interval" => {
                    if let Some(v) = self.script_seconds(n, &s.name, "interval") {
                        s.interval = v;
                    }
                }
                "timeout" => {
                    if let Some(v) = self.script_seconds(n, &s.name, "timeout") {
                        timeout = Some(v);
                    }
                }
                // `vrrp_vscript_weight_handler` stores the number even when it reports it out
                // of -253..253; a word that is not a number is 0.
                "weight" => {
                    if let Some(t) = self.arg(n) {
                        let w = t.text.parse::<i64>();
                        if !matches!(w, Ok(-253..=253)) {
                            self.d.warn(
                                t.pos,
                                format!(
                                    "vrrp_script {} weight {} must be in [-253, 253]; keepalived \
                                     uses it as {} all the same, and so does keepalived-rs",
                                    s.name,
                                    t.text,
                                    w.as_ref().map_or(0, |v| *v)
                                ),
                            );
                        }
                        s.weight =
                            w.map_or(0, |v| v.clamp(i32::MIN.into(), i32::MAX.into()) as i32);
                    }
                    match n.args.get(1) {
                        Some(t) if t.text == "reverse" => s.weight_reverse = true,
                        Some(t) => self.d.warn(
                            t.pos,
                            format!(
                                "vrrp_script {} unknown weight option {}, ignored as keepalived \
                                 does",
                                s.name, t.text
                            ),
                        ),
                        None => {}
                    }
                }
                "fall" | "rise" => {
                    if let Some(t) = self.arg(n) {
                        let v = match t.text.parse::<u32>() {
                            Ok(v @ 1..=0x7fff_ffff) => v,
                            _ => {
                                self.d.warn(
                                    t.pos,
                                    format!(
                                        "({}): vrrp script {} value '{}' invalid, defaulting to \
                                         1, as keepalived does",
                                        s.name, n.kw.text, t.text
                                    ),
                                );
                                1
                            }
                        };
                        if n.kw.text == "fall" {
                            s.fall = v;
                        } else {
                            s.rise = v;
                        }
                    }
                }
                // vrrp_parser.c `vrrp_vscript_user_handler`: a user (or group) this host does
                // not have removes the script at the end of its block; a later good `user`
                // undoes that.
                "user" => {
                    s.user = self.string(n);
                    s.group = n.args.get(1).map(|t| t.text.owned());
                    unusable_user = match &s.user {
                        Some(u) if !self.host_has_user(u, s.group.as_deref()) => {
                            self.d.warn(
                                n.kw.pos,
                                format!(
                                    "Unable to set uid/gid for script {} (no user {u}{} on this \
                                     host): keepalived removes the script, and so does \
                                     keepalived-rs",
                                    s.script,
                                    s.group.as_ref().map_or(String::new(), |g| format!(":{g}"))
                                ),
                            );
                            true
                        }
                        _ => false,
                    };
                }
                "init_fail" => {
                    self.no_block(n);
                    s.init_fail = true;
                }
                _ => self.unknown(Ctx::VrrpScript, n),
            }
        }
        if !have_script {
            self.d.warn(
                node.kw.pos,
                format!(
                    "No script set for vrrp_script {} - removing, as keepalived does",
                    s.name
                ),
            );
            return None;
        }
        if unusable_user {
            return None;
        }
        // vrrp_scheduler.c: no timeout means the interval.
        s.timeout = timeout.unwrap_or(s.interval);
        Some(s)
    }

    /// vrrp_script's `interval` and `timeout`: whole seconds, 0 read as 1.
    fn script_seconds(&mut self, n: &Node<'_>, name: &str, what: &str) -> Option<TimeUs> {
        let t = self.arg(n)?;
        match t.text.parse::<u32>() {
            Ok(0) => {
                self.d.warn(
                    t.pos,
                    format!(
                        "({name}): vrrp script {what} must be greater than 0, setting to 1, as \
                         keepalived does"
                    ),
                );
                Some(TimeUs::from_secs(1))
            }
            Ok(v @ 1..=4294) => Some(TimeUs::from_secs(v.into())),
            _ => {
                self.d.warn(
                    t.pos,
                    format!(
                        "({name}): vrrp script {what} '{}' must be between 1 and 4294 - ignoring, \
                         as keepalived does",
                        t.text
                    ),
                );
                None
            }
        }
    }

    /// A `virtual_ipaddress` block (`excluded`: `virtual_ipaddress_excluded`, whose addresses
    /// keepalived does not hold to the instance's family: vrrp_data.c `alloc_vrrp_evip`).
    fn vip_list(&mut self, n: &Node<'_>, excluded: bool) -> Vec<VirtualIp> {
        let mut out: Vec<VirtualIp> = Vec::new();
        for c in self.block(n) {
            let words: Vec<&Tok<'_>> = std::iter::once(&c.kw).chain(&c.args).collect();
            if let Some(v) = self.vip(&words) {
                if !excluded
                    && let Some(first) = out.first()
                    && first.address.is_ipv4() != v.address.is_ipv4()
                {
                    // vrrp_data.c: "address family must match VRRP instance - ignoring".
                    self.d.warn(
                        c.kw.pos,
                        format!(
                            "{}: address {} is of a different family than {}: keepalived \
                             ignores it (\"address family must match VRRP instance\"), and so \
                             does keepalived-rs",
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
        // vrrp_ipaddress.c `parse_ipaddress`: a bad address is skipped, a bad prefix length is
        // the full length.
        let Ok(address) = addr.parse::<IpAddr>() else {
            self.d.warn(
                w[0].pos,
                format!(
                    "VRRP parsed invalid IP {}. skipping IP... (as keepalived)",
                    w[0].text
                ),
            );
            return None;
        };
        let max = if address.is_ipv4() { 32 } else { 128 };
        let prefix_len = match prefix {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(v) if v <= max => v,
                _ => {
                    self.d.warn(
                        w[0].pos,
                        format!(
                            "Invalid address prefix len {p} for address {address} - using {max} \
                             (as keepalived)"
                        ),
                    );
                    max
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
                    // vrrp_ipaddress.c: an address on a missing interface is dropped.
                    if let (Some(t), Some(m)) = (val, self.interfaces)
                        && !m.contains_key(t.text.as_str())
                    {
                        self.d.warn(
                            t.pos,
                            format!(
                                "WARNING - interface {} for ip address {} doesn't exist: \
                                 keepalived drops the address, and so does keepalived-rs",
                                t.text, w[0].text
                            ),
                        );
                        return None;
                    }
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
                    self.d.warn(
                        k.pos,
                        format!(
                            "Unknown configuration entry '{o}' for ip address - ignoring: \
                             keepalived reads one address per line, put '{o}' on its own line"
                        ),
                    )
                }
                o => self.d.warn(
                    k.pos,
                    format!(
                        "Unknown configuration entry '{o}' for ip address - ignoring, as \
                         keepalived does"
                    ),
                ),
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
                        "dev" => {
                            if let Some(m) = self.interfaces
                                && !m.contains_key(val.text.as_str())
                            {
                                self.d.warn(
                                    val.pos,
                                    format!(
                                        "WARNING - interface {} for VROUTE nexthop doesn't exist \
                                         (as keepalived)",
                                        val.text
                                    ),
                                );
                            }
                            r.dev = Some(val.text.owned())
                        }
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
                // A route type (ip-route(8)) comes before the destination.
                "unicast" | "local" | "broadcast" | "multicast" | "throw" | "unreachable"
                | "prohibit" | "blackhole" | "nat"
                    if r.to.is_empty() =>
                {
                    r.extra.push(k.to_string());
                    i += 1;
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
        } else if r.dev.is_none() && !r.extra.iter().any(|e| e == "no_track") {
            // vrrp_iproute.c `alloc_route`: the route is still installed, not tracked.
            self.d.warn(
                c.kw.pos,
                format!(
                    "Warning - cannot track route {} with no interface specified, not tracking \
                     (as keepalived)",
                    r.to
                ),
            );
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
            strict_mode: None,
            lower_prio_no_advert: None,
            higher_prio_send_advert: None,
            resolved: VrrpResolved::default(),
        };
        let mut state_set: Option<Pos> = None;
        let mut priority_set = false;
        let mut vrid_seen = false;
        let mut advert: Option<(TimeUs, Pos)> = None;
        let mut lp_delay = None;
        let mut lp_repeat = None;
        for n in self.block(node) {
            match kw(self, Ctx::VrrpInstance, n) {
                // vrrp_parser.c `vrrp_state_handler`: MASTER, once given, wins over a later
                // BACKUP; any other word (SLAVE, master, EQUAL…) is BACKUP.
                "state" => {
                    if let Some(t) = self.arg(n) {
                        match t.text.as_str() {
                            "MASTER" => v.state = VrrpState::Master,
                            "BACKUP" if state_set.is_some() && v.state == VrrpState::Master => {
                                self.d.warn(
                                    t.pos,
                                    format!(
                                        "({}) state previously set as MASTER - ignoring BACKUP, \
                                         as keepalived does",
                                        v.name
                                    ),
                                )
                            }
                            "BACKUP" => v.state = VrrpState::Backup,
                            o => {
                                self.d.warn(
                                    t.pos,
                                    format!(
                                        "({}) unknown state '{o}', defaulting to BACKUP, as \
                                         keepalived does",
                                        v.name
                                    ),
                                );
                                v.state = VrrpState::Backup;
                            }
                        }
                        state_set = Some(t.pos);
                    }
                }
                // vrrp_parser.c `vrrp_int_handler`: a loopback is refused, a missing
                // interface reported (keepalived's VRRP process then stops: "Non-existent
                // interface specified in configuration").
                "interface" => {
                    let Some(t) = self.arg(n) else { continue };
                    match self.interfaces.map(|m| m.get(t.text.as_str())) {
                        Some(Some(true)) => {
                            self.d.warn(
                                t.pos,
                                format!(
                                    "({}) cannot use a loopback interface ({}) for vrrp - \
                                     ignoring (as keepalived)",
                                    v.name, t.text
                                ),
                            );
                            continue;
                        }
                        Some(None) => self.d.warn(
                            t.pos,
                            format!(
                                "WARNING - interface {} for vrrp_instance {} doesn't exist: \
                                 keepalived's VRRP process does not start then (\"Non-existent \
                                 interface specified in configuration\"); vrrp-core starts \
                                 without this instance",
                                t.text, v.name
                            ),
                        ),
                        _ => {}
                    }
                    v.interface = Some(t.text.owned());
                }
                "virtual_router_id" => {
                    if let Some(x) = self.int(n, 1, 255) {
                        v.virtual_router_id = x as u8;
                        vrid_seen = true;
                    }
                }
                // `vrrp_prio_handler`: an invalid or out-of-range priority is the default 100.
                "priority" => {
                    if let Some(t) = self.arg(n) {
                        v.priority = match t.text.parse::<u32>() {
                            Ok(x @ 1..=255) => x as u8,
                            _ => {
                                self.d.warn(
                                    t.pos,
                                    format!(
                                        "({}) Priority not valid! must be between 1 & 255. Using \
                                         default 100 (as keepalived)",
                                        v.name
                                    ),
                                );
                                100
                            }
                        };
                        priority_set = true;
                    }
                }
                // `vrrp_adv_handler`: 0.01..255 s; anything else leaves the default (1 s).
                "advert_int" => {
                    if let Some(t) = self.arg(n) {
                        match TimeUs::parse(&t.text) {
                            Some(x) if (10_000..=255_000_000).contains(&x.0) => {
                                advert = Some((x, t.pos))
                            }
                            _ => self.d.warn(
                                t.pos,
                                format!(
                                    "({}) Advert interval ({}) not valid! Must be 0.01..255 \
                                     seconds - ignoring, as keepalived does",
                                    v.name, t.text
                                ),
                            ),
                        }
                    }
                }
                // `vrrp_version_handler`: 2 or 3, else unchanged.
                "version" => {
                    if let Some(t) = self.arg(n) {
                        match t.text.as_str() {
                            "2" => v.version = 2,
                            "3" => v.version = 3,
                            o => self.d.warn(
                                t.pos,
                                format!(
                                    "({}): Version must be either 2 or 3, got '{o}' - ignored, as \
                                     keepalived does",
                                    v.name
                                ),
                            ),
                        }
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
                                            self.d.warn(
                                                t.pos,
                                                format!(
                                                    "unknown authentication type '{o}' (PASS \
                                                     or AH) - ignored, as keepalived does"
                                                ),
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
                        None => self.d.warn(
                            n.kw.pos,
                            "authentication block without a valid auth_type: no \
                             authentication, as keepalived",
                        ),
                    }
                }
                "virtual_ipaddress" => {
                    let l = self.vip_list(n, false);
                    v.virtual_ipaddress.extend(l)
                }
                "virtual_ipaddress_excluded" => {
                    let l = self.vip_list(n, true);
                    v.virtual_ipaddress_excluded.extend(l)
                }
                // vrrp_parser.c `vrrp_srcip_handler`: a malformed address is skipped.
                "unicast_src_ip" | "mcast_src_ip" => {
                    if let Some(t) = self.arg(n) {
                        match self.lenient_sockaddr(t, &n.kw.text) {
                            Some(ip) => v.unicast_src_ip = Some(ip),
                            None => self.d.warn(
                                t.pos,
                                format!(
                                    "Configuration error: VRRP instance[{}] malformed src \
                                     address[{}]. Skipping... (as keepalived)",
                                    v.name, t.text
                                ),
                            ),
                        }
                    }
                }
                // vrrp_data.c `alloc_unicast_peer`: a malformed peer, or one of the other
                // family, is skipped.
                "unicast_peer" => {
                    for c in self.block(n) {
                        let Some(ip) = self.lenient_sockaddr(&c.kw, "unicast_peer") else {
                            self.d.warn(
                                c.kw.pos,
                                format!(
                                    "Configuration error: VRRP instance[{}] malformed unicast \
                                     peer address[{}]. Skipping... (as keepalived)",
                                    v.name, c.kw.text
                                ),
                            );
                            continue;
                        };
                        if let Some(first) = v.unicast_peer.first()
                            && first.is_ipv4() != ip.is_ipv4()
                        {
                            self.d.warn(
                                c.kw.pos,
                                format!(
                                    "Configuration error: VRRP instance[{}] and unicast peer \
                                     address[{ip}] MUST be of the same family !!! Skipping... \
                                     (as keepalived)",
                                    v.name
                                ),
                            );
                            continue;
                        }
                        v.unicast_peer.push(ip);
                    }
                }
                "nopreempt" => {
                    self.no_block(n);
                    v.nopreempt = true;
                }
                "preempt" => {
                    self.no_block(n);
                    v.nopreempt = false;
                }
                // `vrrp_preempt_delay_handler`: 0..1000 s, anything else is 0.
                "preempt_delay" => {
                    if let Some(t) = self.arg(n) {
                        v.preempt_delay = match TimeUs::parse(&t.text) {
                            Some(x) if x <= TimeUs::from_secs(1000) => x,
                            _ => {
                                self.d.warn(
                                    t.pos,
                                    format!(
                                        "({}) Preempt_delay not valid! must be between 0-1000: 0 \
                                         is used, as keepalived does",
                                        v.name
                                    ),
                                );
                                TimeUs(0)
                            }
                        };
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
                    let l = self.track_list(n, TrackKind::Script, &v.name);
                    v.track_script.extend(l)
                }
                "track_interface" => {
                    let l = self.track_list(n, TrackKind::Interface, &v.name);
                    v.track_interface.extend(l)
                }
                "track_file" => {
                    let l = self.track_list(n, TrackKind::File, &v.name);
                    v.track_file.extend(l)
                }
                "notify" => self.first_script(n, &mut v.notify),
                "notify_master" => self.first_script(n, &mut v.notify_master),
                "notify_backup" => self.first_script(n, &mut v.notify_backup),
                "notify_fault" => self.first_script(n, &mut v.notify_fault),
                "notify_stop" => self.first_script(n, &mut v.notify_stop),
                "notify_deleted" => v.notify_deleted = self.script(n),
                "smtp_alert" => {
                    if let Some(b) = self.flag(n) {
                        v.smtp_alert = Some(b)
                    }
                }
                "garp_master_delay" => {
                    if let Some(x) = self.int(n, 0, i64::from(u32::MAX)) {
                        v.garp_master_delay = Seconds(x as u32)
                    }
                }
                "garp_master_repeat" => {
                    if let Some(x) = self.repeat(n) {
                        v.garp_master_repeat = x
                    }
                }
                "garp_master_refresh" => {
                    if let Some(x) = self.int(n, 0, i64::from(u32::MAX)) {
                        v.garp_master_refresh = Seconds(x as u32)
                    }
                }
                "garp_master_refresh_repeat" => {
                    if let Some(x) = self.repeat(n) {
                        v.garp_master_refresh_repeat = x
                    }
                }
                "garp_lower_prio_delay" => {
                    lp_delay = self
                        .int(n, 0, i64::from(u32::MAX))
                        .map(|x| Seconds(x as u32))
                }
                "garp_lower_prio_repeat" => {
                    lp_repeat = self.int(n, 0, i64::from(u32::MAX)).map(|x| x as u32)
                }
                "use_vmac" => {
                    self.no_block(n);
                    v.use_vmac = Some(UseVmac {
                        name: n.args.first().map(|t| t.text.owned()),
                    });
                }
                "strict_mode" => {
                    if let Some(b) = self.flag(n) {
                        v.strict_mode = Some(b)
                    }
                }
                "lower_prio_no_advert" => {
                    if let Some(b) = self.flag(n) {
                        v.lower_prio_no_advert = Some(b)
                    }
                }
                "higher_prio_send_advert" => {
                    if let Some(b) = self.flag(n) {
                        v.higher_prio_send_advert = Some(b)
                    }
                }
                "virtual_routes" => {
                    self.d.warn(
                        n.kw.pos,
                        format!(
                            "({}) virtual_routes is recognised, not implemented by keepalived-rs \
                             yet: vrrp-core does not install these routes",
                            v.name
                        ),
                    );
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
        // Interval: v2 carries whole seconds (RFC 3768 §5.3.7), v3 centiseconds (RFC 5798 §5.2.7);
        // vrrp.c `vrrp_complete_instance` rounds (half up) and clamps rather than refusing.
        if let Some((t, pos)) = advert {
            if v.version == 2 {
                let secs = ((t.0 + 500_000) / 1_000_000).max(1);
                if t.0 % 1_000_000 != 0 {
                    self.d.warn(
                        pos,
                        format!(
                            "({name}) VRRPv2 advertisement interval {t} must be an integer. \
                             rounding to {secs} s, as keepalived does"
                        ),
                    );
                }
                v.advert_int = Centiseconds::from_secs(secs as u32);
            } else {
                let mut cs = ((t.0 + 5_000) / 10_000).max(1);
                if cs > 4095 {
                    self.d.warn(
                        pos,
                        format!(
                            "({name}) VRRPv3 advertisement interval {t} is out of range. Must be \
                             less than 40.96 s. Setting to 40.95 s, as keepalived does"
                        ),
                    );
                    cs = 4095;
                } else if t.0 % 10_000 != 0 {
                    self.d.warn(
                        pos,
                        format!(
                            "({name}) VRRPv3 advertisement interval {t} must be in units of \
                             10ms - rounding, as keepalived does"
                        ),
                    );
                }
                v.advert_int = Centiseconds(cs as u32);
            }
        }
        // vrrp.c: with no priority configured it follows the initial state (MASTER is the
        // address owner, 255), and with no state the state follows the priority.
        if !priority_set && state_set.is_some() && v.state == VrrpState::Master {
            v.priority = 255;
        }
        // An explicit `state BACKUP` with priority 255 stays BACKUP (vrrp.c derives the state
        // from the priority only when none is given); nopreempt with MASTER and the other
        // post-parse adjustments are in vrrp_complete.rs.
        if state_set.is_none() && v.priority == 255 {
            v.state = VrrpState::Master;
        }
        if v.version == 3 && v.authentication.is_some() {
            self.d.warn(
                node.kw.pos,
                format!("({name}) VRRP version 3 does not support authentication. Ignoring."),
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
            self.d.warn(
                node.kw.pos,
                format!("({name}) Cannot use AH authentication with IPv6. ignoring"),
            );
            v.authentication = None;
        }
        if let Some(src) = v.unicast_src_ip
            && let Some(p) = v.unicast_peer.first()
            && p.is_ipv4() != src.is_ipv4()
        {
            self.d.warn(
                node.kw.pos,
                format!(
                    "Configuration error: VRRP instance[{name}] and src address[{src}] MUST be of \
                     the same family !!! Skipping... (as keepalived)"
                ),
            );
            v.unicast_src_ip = None;
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
                "notify" => self.first_script(n, &mut s.notify),
                "notify_master" => self.first_script(n, &mut s.notify_master),
                "notify_backup" => self.first_script(n, &mut s.notify_backup),
                "notify_fault" => self.first_script(n, &mut s.notify_fault),
                "notify_stop" => self.first_script(n, &mut s.notify_stop),
                "smtp_alert" => {
                    if let Some(b) = self.flag(n) {
                        s.smtp_alert = Some(b)
                    }
                }
                "global_tracking" => {
                    if let Some(b) = self.flag(n) {
                        s.global_tracking = b
                    }
                }
                "track_script" => {
                    let l = self.track_list(n, TrackKind::Script, &s.name);
                    s.track_script.extend(l)
                }
                "track_interface" => {
                    let l = self.track_list(n, TrackKind::Interface, &s.name);
                    s.track_interface.extend(l)
                }
                "track_file" => {
                    let l = self.track_list(n, TrackKind::File, &s.name);
                    s.track_file.extend(l)
                }
                _ => self.unknown(Ctx::SyncGroup, n),
            }
        }
        s
    }

    /// `track_file NAME { … }` (trackers/track_file.c). `None` when keepalived drops it: "No
    /// file set for track_file NAME - ignoring".
    pub fn track_file(&mut self, node: &Node<'_>) -> Option<TrackFile> {
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
                // An unusable weight is 1 (track_file.c `track_file_weight_handler`).
                "weight" => {
                    if let Some(a) = self.arg(n) {
                        t.weight = match a.text.parse::<i32>() {
                            Ok(w @ -254..=254) => w,
                            _ => {
                                self.d.warn(
                                    a.pos,
                                    format!(
                                        "Weight ({}) for track_file {} must be between \
                                         [-254..254] inclusive. Ignoring... (1 is used, as \
                                         keepalived does)",
                                        a.text, t.name
                                    ),
                                );
                                1
                            }
                        };
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
            self.d.warn(
                node.kw.pos,
                format!(
                    "No file set for track_file {} - ignoring, as keepalived does",
                    t.name
                ),
            );
            return None;
        }
        Some(t)
    }
    /// The `NAME [weight N [reverse|noreverse]]` lines of a `track_script`, `track_interface`
    /// or `track_file` block of `owner` (an instance or sync group), read as keepalived 2.2.7's
    /// vrrp_track.c / track_file.c read them: a line keepalived cannot use is dropped with its
    /// message, an unusable weight falls back, and nothing here refuses the configuration.
    pub(super) fn track_list(
        &mut self,
        n: &Node<'_>,
        kind: TrackKind,
        owner: &str,
    ) -> Vec<TrackRef> {
        let what = kind.word();
        let mut out: Vec<TrackRef> = Vec::new();
        for c in self.block(n) {
            let name = c.kw.text.as_str();
            let warn = |b: &mut Self, pos: Pos, m: String| {
                b.d.warn(
                    pos,
                    format!("({owner}) {m}; keepalived-rs reads it the same way"),
                )
            };
            if c.block.is_some() {
                warn(
                    self,
                    c.kw.pos,
                    format!("unexpected block in {what} entry {name}"),
                );
            }
            // Scripts and files must be defined before the block that tracks them: keepalived
            // looks them up while it reads the line.
            let seen = match kind {
                TrackKind::Script => self.scripts_seen.contains(name),
                TrackKind::File => self.files_seen.contains(name),
                TrackKind::Interface => self.interfaces.is_none_or(|m| m.contains_key(name)),
            };
            if !seen {
                let m = match kind {
                    TrackKind::Interface => format!("tracked interface {name} doesn't exist"),
                    _ => format!("{what} {name} not found, ignoring..."),
                };
                warn(self, c.kw.pos, m);
                continue;
            }
            if out.iter().any(|t| t.name == name) {
                warn(
                    self,
                    c.kw.pos,
                    format!("duplicate {what} {name} - ignoring"),
                );
                continue;
            }
            let mut r = TrackRef {
                name: name.to_owned(),
                weight: None,
                reverse: false,
            };
            match c.args.first() {
                None => {}
                Some(a) if a.text != "weight" => {
                    warn(
                        self,
                        a.pos,
                        format!("unknown {what} {name} option {} - ignoring", a.text),
                    );
                    continue;
                }
                Some(a) => {
                    let Some(v) = c.args.get(1) else {
                        warn(
                            self,
                            a.pos,
                            format!("weight without value specified for {what} {name} - ignoring"),
                        );
                        continue;
                    };
                    r.weight = kind.weight(self, v, owner, name);
                }
            }
            if let Some(o) = c.args.get(2) {
                match o.text.as_str() {
                    "reverse" => r.reverse = true,
                    "noreverse" if kind != TrackKind::Interface => {}
                    other => {
                        warn(
                            self,
                            o.pos,
                            format!("unknown {what} {name} weight option {other} - ignoring"),
                        );
                        // track_file.c drops the entry; vrrp_track.c keeps it without `reverse`.
                        if kind == TrackKind::File {
                            continue;
                        }
                    }
                }
            }
            out.push(r);
        }
        out
    }
}

/// Which kind of tracked object a track block lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TrackKind {
    Script,
    Interface,
    File,
}

impl TrackKind {
    /// keepalived's word for the entry in its messages.
    pub(super) fn word(self) -> &'static str {
        match self {
            TrackKind::Script => "track script",
            TrackKind::Interface => "track_interface",
            TrackKind::File => "track file",
        }
    }

    /// The entry's `weight N`: scripts and interfaces take -253..253 (±254 is clamped to
    /// ±253), files -254..254; an unusable number falls back to the tracked object's own
    /// weight (an interface's is 0).
    pub(super) fn weight(
        self,
        b: &mut Builder<'_>,
        v: &Tok<'_>,
        owner: &str,
        name: &str,
    ) -> Option<i32> {
        let parsed = v.text.parse::<i32>().ok();
        match (self, parsed) {
            (TrackKind::File, Some(w @ -254..=254)) => Some(w),
            (TrackKind::Script | TrackKind::Interface, Some(w @ (-254 | 254))) => {
                b.d.warn(
                    v.pos,
                    format!(
                        "({owner}) weight for {name} cannot be +/-254. Setting to +/-253, as \
                         keepalived does"
                    ),
                );
                Some(w.signum() * 253)
            }
            (TrackKind::Script | TrackKind::Interface, Some(w @ -253..=253)) => Some(w),
            _ => {
                let (range, fallback) = match self {
                    TrackKind::File => ("[-254..254]", "the track_file's own weight"),
                    TrackKind::Script => ("[-253..253]", "the script's own weight"),
                    TrackKind::Interface => ("[-253..253]", "0"),
                };
                b.d.warn(
                    v.pos,
                    format!(
                        "({owner}) weight {} for {name} must be in {range} inclusive: keepalived \
                         uses {fallback}, and so does keepalived-rs",
                        v.text
                    ),
                );
                match self {
                    TrackKind::Interface => Some(0),
                    _ => None,
                }
            }
        }
    }
}
