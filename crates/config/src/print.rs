//! The canonical printer: a `Config` back to keepalived.conf text that parses to the same model.
//! Every defaulted value is written explicitly so the text does not depend on defaults.

use std::fmt::Write as _;

use crate::model::*;

/// Quotes a word when keepalived's tokenizer would otherwise split or alter it.
fn q(s: &str) -> String {
    let plain = !s.is_empty()
        && !s.chars().any(|c| {
            c.is_whitespace() || matches!(c, '"' | '#' | '!' | '{' | '}' | '\\' | '$' | '@' | '~')
        });
    if plain {
        return s.to_string();
    }
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\t' => o.push_str("\\t"),
            '\r' => o.push_str("\\r"),
            _ => o.push(c),
        }
    }
    o.push('"');
    o
}

/// Always-quoted form (for commands, which keepalived reads as one string when quoted).
fn qq(s: &str) -> String {
    let r = q(s);
    if r.starts_with('"') {
        r
    } else {
        format!("\"{r}\"")
    }
}

struct W {
    s: String,
    depth: usize,
}

impl W {
    fn line(&mut self, text: impl AsRef<str>) {
        for _ in 0..self.depth {
            self.s.push_str("    ");
        }
        self.s.push_str(text.as_ref());
        self.s.push('\n');
    }
    fn open(&mut self, text: impl AsRef<str>) {
        self.line(format!("{} {{", text.as_ref()));
        self.depth += 1;
    }
    fn close(&mut self) {
        self.depth -= 1;
        self.line("}");
    }
    fn opt<T: std::fmt::Display>(&mut self, k: &str, v: &Option<T>) {
        if let Some(v) = v {
            self.line(format!("{k} {v}"));
        }
    }
    fn opt_s(&mut self, k: &str, v: &Option<String>) {
        if let Some(v) = v {
            self.line(format!("{k} {}", q(v)));
        }
    }
    fn flag(&mut self, k: &str, v: bool) {
        if v {
            self.line(k);
        }
    }
    fn tri(&mut self, k: &str, v: Option<bool>) {
        if let Some(b) = v {
            self.line(format!("{k} {b}"));
        }
    }
    fn script(&mut self, k: &str, v: &Option<Script>) {
        if let Some(s) = v {
            let mut l = format!("{k} {}", qq(&s.command));
            if let Some(u) = &s.user {
                let _ = write!(l, " {}", q(u));
                if let Some(g) = &s.group {
                    let _ = write!(l, " {}", q(g));
                }
            }
            self.line(l);
        }
    }
    fn tracks(&mut self, k: &str, v: &[TrackRef]) {
        if v.is_empty() {
            return;
        }
        self.open(k);
        for t in v {
            let mut l = q(&t.name);
            if let Some(w) = t.weight {
                let _ = write!(l, " weight {w}");
                if t.reverse {
                    l.push_str(" reverse");
                }
            }
            self.line(l);
        }
        self.close();
    }
}

fn method(m: LvsMethod) -> &'static str {
    match m {
        LvsMethod::Nat => "NAT",
        LvsMethod::Dr => "DR",
        LvsMethod::Tun => "TUN",
    }
}

fn rule(r: &VirtualRule) -> String {
    let mut words = Vec::new();
    for (k, v) in [
        ("from", &r.from),
        ("to", &r.to),
        ("table", &r.table),
        ("iif", &r.iif),
        ("oif", &r.oif),
    ] {
        if let Some(v) = v {
            words.push(format!("{k} {}", q(v)));
        }
    }
    if let Some(p) = r.priority {
        words.push(format!("priority {p}"));
    }
    if let Some(m) = r.fwmark {
        words.push(format!("fwmark {m}"));
    }
    words.extend(r.extra.iter().map(|e| q(e)));
    words.join(" ")
}

fn route(r: &VirtualRoute) -> String {
    let mut l = String::new();
    if let Some(s) = r.src {
        let _ = write!(l, "src {s} ");
    }
    let _ = write!(l, "to {}", q(&r.to));
    if let Some(x) = r.via {
        let _ = write!(l, " via {x}");
    }
    if let Some(x) = &r.dev {
        let _ = write!(l, " dev {}", q(x));
    }
    if let Some(x) = r.metric {
        let _ = write!(l, " metric {x}");
    }
    if let Some(x) = &r.table {
        let _ = write!(l, " table {}", q(x));
    }
    for e in &r.extra {
        let _ = write!(l, " {}", q(e));
    }
    l
}

fn vip(v: &VirtualIp) -> String {
    let mut l = format!("{}/{}", v.address, v.prefix_len);
    if let Some(b) = v.brd {
        let _ = write!(l, " brd {b}");
    }
    if let Some(d) = &v.dev {
        let _ = write!(l, " dev {}", q(d));
    }
    if let Some(s) = &v.scope {
        let _ = write!(l, " scope {}", q(s));
    }
    if let Some(s) = &v.label {
        let _ = write!(l, " label {}", q(s));
    }
    if let Some(p) = v.peer {
        let _ = write!(l, " peer {p}");
    }
    for f in &v.flags {
        let _ = write!(l, " {f}");
    }
    l
}

impl Config {
    /// Emits a canonical keepalived.conf for this model; parsing it yields an equal `Config`.
    pub fn to_keepalived_conf(&self) -> String {
        let mut w = W {
            s: String::new(),
            depth: 0,
        };
        let g = &self.global_defs;
        w.open("global_defs");
        w.line(format!("router_id {}", q(&g.router_id)));
        if !g.notification_email.is_empty() {
            w.open("notification_email");
            for e in &g.notification_email {
                w.line(q(e));
            }
            w.close();
        }
        w.line(format!(
            "notification_email_from {}",
            q(&g.notification_email_from)
        ));
        if let Some(s) = &g.smtp_server {
            w.line(format!("smtp_server {} {}", q(&s.host), s.port));
        }
        w.line(format!("smtp_helo_name {}", q(&g.smtp_helo_name)));
        w.line(format!("smtp_connect_timeout {}", g.smtp_connect_timeout));
        w.tri("smtp_alert", g.smtp_alert);
        w.tri("smtp_alert_vrrp", g.smtp_alert_vrrp);
        w.tri("smtp_alert_checker", g.smtp_alert_checker);
        w.line(format!("vrrp_mcast_group4 {}", g.vrrp_mcast_group4));
        w.line(format!("vrrp_mcast_group6 {}", g.vrrp_mcast_group6));
        if let Some(u) = &g.script_user {
            let grp = g
                .script_group
                .as_deref()
                .map(|x| format!(" {}", q(x)))
                .unwrap_or_default();
            w.line(format!("script_user {}{grp}", q(u)));
        }
        w.flag("enable_script_security", g.enable_script_security);
        w.flag("lvs_flush", g.lvs_flush);
        match g.lvs_flush_on_stop {
            LvsFlushOnStop::None => {}
            LvsFlushOnStop::Vs => w.line("lvs_flush_on_stop VS"),
            LvsFlushOnStop::All => w.line("lvs_flush_on_stop ALL"),
        }
        let t = &g.lvs_timeouts;
        if t.tcp.is_some() || t.tcpfin.is_some() || t.udp.is_some() {
            let mut l = String::from("lvs_timeouts");
            for (k, v) in [("tcp", t.tcp), ("tcpfin", t.tcpfin), ("udp", t.udp)] {
                if let Some(v) = v {
                    let _ = write!(l, " {k} {v}");
                }
            }
            w.line(l);
        }
        w.line(format!("vrrp_version {}", g.vrrp_version));
        w.flag("vrrp_strict", g.vrrp_strict);
        w.flag("vrrp_lower_prio_no_advert", g.vrrp_lower_prio_no_advert);
        w.flag(
            "vrrp_higher_prio_send_advert",
            g.vrrp_higher_prio_send_advert,
        );
        w.flag(
            "vrrp_notify_priority_changes",
            g.vrrp_notify_priority_changes,
        );
        w.line(format!(
            "vrrp_garp_master_delay {}",
            g.vrrp_garp_master_delay
        ));
        w.line(format!(
            "vrrp_garp_master_repeat {}",
            g.vrrp_garp_master_repeat
        ));
        w.line(format!(
            "vrrp_garp_master_refresh {}",
            g.vrrp_garp_master_refresh
        ));
        w.line(format!(
            "vrrp_garp_master_refresh_repeat {}",
            g.vrrp_garp_master_refresh_repeat
        ));
        w.opt("vrrp_garp_lower_prio_delay", &g.vrrp_garp_lower_prio_delay);
        w.opt(
            "vrrp_garp_lower_prio_repeat",
            &g.vrrp_garp_lower_prio_repeat,
        );
        w.line(format!("vrrp_garp_interval {}", g.vrrp_garp_interval));
        w.line(format!("vrrp_gna_interval {}", g.vrrp_gna_interval));
        w.opt_s("default_interface", &g.default_interface);
        for (kw, fifo) in [
            ("notify_fifo", &g.notify_fifo),
            ("vrrp_notify_fifo", &g.vrrp_notify_fifo),
            ("lvs_notify_fifo", &g.lvs_notify_fifo),
        ] {
            if let Some(f) = fifo {
                let mut l = format!("{kw} {}", q(&f.path));
                if let Some(u) = &f.user {
                    let _ = write!(l, " {}", q(u));
                    if let Some(grp) = &f.group {
                        let _ = write!(l, " {}", q(grp));
                    }
                }
                w.line(l);
                w.script(&format!("{kw}_script"), &f.script);
            }
        }
        w.flag(
            "fifo_write_vrrp_states_on_reload",
            g.fifo_write_vrrp_states_on_reload,
        );
        w.flag("no_email_faults", g.no_email_faults);
        w.close();

        if !self.static_ipaddress.is_empty() {
            w.open("static_ipaddress");
            for a in &self.static_ipaddress {
                w.line(vip(a));
            }
            w.close();
        }
        if !self.static_routes.is_empty() {
            w.open("static_routes");
            for r in &self.static_routes {
                w.line(route(r));
            }
            w.close();
        }
        if !self.static_rules.is_empty() {
            w.open("static_rules");
            for r in &self.static_rules {
                w.line(rule(r));
            }
            w.close();
        }
        for tf in &self.track_files {
            w.open(format!("track_file {}", q(&tf.name)));
            w.line(format!("file {}", q(&tf.file)));
            w.line(format!(
                "weight {}{}",
                tf.weight,
                if tf.reverse { " reverse" } else { "" }
            ));
            if let Some(i) = &tf.init_file {
                w.line(format!(
                    "init_file {}{}",
                    i.value,
                    if i.overwrite { " overwrite" } else { "" }
                ));
            }
            w.close();
        }

        for p in &self.track_processes {
            w.open(format!("vrrp_track_process {}", q(&p.name)));
            match p.param_match {
                Some(ParamMatch::Exact) => w.line("param_match"),
                Some(ParamMatch::Initial) => w.line("param_match initial"),
                Some(ParamMatch::Partial) => w.line("param_match partial"),
                None => {}
            }
            let mut line = format!("process {}", q(&p.process));
            for a in &p.params {
                let _ = write!(line, " {}", q(a));
            }
            w.line(line);
            w.flag("full_command", p.full_command);
            if p.weight != 0 || p.reverse {
                w.line(format!(
                    "weight {}{}",
                    p.weight,
                    if p.reverse { " reverse" } else { "" }
                ));
            }
            if p.quorum >= 1 {
                w.line(format!("quorum {}", p.quorum));
            }
            if p.quorum_max != u32::MAX {
                w.line(format!("quorum_max {}", p.quorum_max));
            }
            if p.terminate_delay.0 > 0 {
                w.line(format!("terminate_delay {}", p.terminate_delay));
            }
            if p.fork_delay.0 > 0 {
                w.line(format!("fork_delay {}", p.fork_delay));
            }
            w.close();
        }

        for s in &self.vrrp_scripts {
            w.open(format!("vrrp_script {}", q(&s.name)));
            w.line(format!("script {}", qq(&s.script)));
            w.line(format!("interval {}", s.interval));
            w.line(format!("timeout {}", s.timeout));
            w.line(format!(
                "weight {}{}",
                s.weight,
                if s.weight_reverse { " reverse" } else { "" }
            ));
            w.line(format!("fall {}", s.fall));
            w.line(format!("rise {}", s.rise));
            if let Some(u) = &s.user {
                let grp = s
                    .group
                    .as_deref()
                    .map(|x| format!(" {}", q(x)))
                    .unwrap_or_default();
                w.line(format!("user {}{grp}", q(u)));
            }
            w.flag("init_fail", s.init_fail);
            w.close();
        }

        for v in &self.vrrp_instances {
            w.open(format!("vrrp_instance {}", q(&v.name)));
            w.line(match v.state {
                VrrpState::Master => "state MASTER",
                VrrpState::Backup => "state BACKUP",
            });
            w.opt_s("interface", &v.interface);
            w.line(format!("virtual_router_id {}", v.virtual_router_id));
            w.line(format!("priority {}", v.priority));
            w.line(format!("version {}", v.version));
            w.line(format!("advert_int {}", v.advert_int));
            if let Some(a) = &v.authentication {
                w.open("authentication");
                w.line(match a.auth_type {
                    AuthType::Pass => "auth_type PASS",
                    AuthType::Ah => "auth_type AH",
                });
                w.line(format!("auth_pass {}", q(&a.auth_pass)));
                w.close();
            }
            for (k, list) in [
                ("virtual_ipaddress", &v.virtual_ipaddress),
                ("virtual_ipaddress_excluded", &v.virtual_ipaddress_excluded),
            ] {
                if !list.is_empty() {
                    w.open(k);
                    for a in list {
                        w.line(vip(a));
                    }
                    w.close();
                }
            }
            w.opt("unicast_src_ip", &v.unicast_src_ip);
            if !v.unicast_peer.is_empty() {
                w.open("unicast_peer");
                for p in &v.unicast_peer {
                    w.line(p.to_string());
                }
                w.close();
            }
            w.flag("nopreempt", v.nopreempt);
            w.line(format!("preempt_delay {}", v.preempt_delay));
            w.line(if v.accept { "accept" } else { "no_accept" });
            w.tracks("track_script", &v.track_script);
            w.tracks("track_interface", &v.track_interface);
            w.tracks("track_file", &v.track_file);
            w.tracks("track_process", &v.track_process);
            w.script("notify", &v.notify);
            w.script("notify_master", &v.notify_master);
            w.script("notify_backup", &v.notify_backup);
            w.script("notify_fault", &v.notify_fault);
            w.script("notify_stop", &v.notify_stop);
            w.script("notify_deleted", &v.notify_deleted);
            w.tri("smtp_alert", v.smtp_alert);
            w.line(format!("garp_master_delay {}", v.garp_master_delay));
            w.line(format!("garp_master_repeat {}", v.garp_master_repeat));
            w.line(format!("garp_master_refresh {}", v.garp_master_refresh));
            w.line(format!(
                "garp_master_refresh_repeat {}",
                v.garp_master_refresh_repeat
            ));
            w.line(format!("garp_lower_prio_delay {}", v.garp_lower_prio_delay));
            w.line(format!(
                "garp_lower_prio_repeat {}",
                v.garp_lower_prio_repeat
            ));
            w.tri("strict_mode", v.strict_mode);
            w.tri("lower_prio_no_advert", v.lower_prio_no_advert);
            w.tri("higher_prio_send_advert", v.higher_prio_send_advert);
            w.tri("notify_priority_changes", v.notify_priority_changes);
            if let Some(u) = &v.use_vmac {
                let mut line = "use_vmac".to_owned();
                if let Some(n) = &u.name {
                    line += &format!(" {}", q(n));
                }
                if let Some(m) = u.mac {
                    line += &format!(
                        " {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                        m[0], m[1], m[2], m[3], m[4], m[5]
                    );
                }
                w.line(line);
            }
            if v.vmac_xmit_base {
                w.line("vmac_xmit_base");
            }
            if !v.virtual_routes.is_empty() {
                w.open("virtual_routes");
                for r in &v.virtual_routes {
                    w.line(route(r));
                }
                w.close();
            }
            if !v.virtual_rules.is_empty() {
                w.open("virtual_rules");
                for r in &v.virtual_rules {
                    w.line(rule(r));
                }
                w.close();
            }
            w.close();
        }

        for sg in &self.vrrp_sync_groups {
            w.open(format!("vrrp_sync_group {}", q(&sg.name)));
            w.open("group");
            for m in &sg.group {
                w.line(q(m));
            }
            w.close();
            w.script("notify", &sg.notify);
            w.script("notify_master", &sg.notify_master);
            w.script("notify_backup", &sg.notify_backup);
            w.script("notify_fault", &sg.notify_fault);
            w.script("notify_stop", &sg.notify_stop);
            w.tri("smtp_alert", sg.smtp_alert);
            w.tri("notify_priority_changes", sg.notify_priority_changes);
            w.flag("global_tracking", sg.global_tracking);
            w.tracks("track_script", &sg.track_script);
            w.tracks("track_interface", &sg.track_interface);
            w.tracks("track_file", &sg.track_file);
            w.tracks("track_process", &sg.track_process);
            w.close();
        }

        for g in &self.virtual_server_groups {
            w.open(format!("virtual_server_group {}", q(&g.name)));
            for e in &g.entries {
                match e {
                    VsgEntry::Fwmark { mark } => w.line(format!("fwmark {mark}")),
                    VsgEntry::Addr {
                        ip,
                        range_end,
                        port,
                    } => {
                        let r = match (range_end, ip) {
                            (None, _) => String::new(),
                            (Some(e), std::net::IpAddr::V4(_)) => format!("-{e}"),
                            (Some(e), std::net::IpAddr::V6(_)) => format!("-{e:x}"),
                        };
                        w.line(format!("{ip}{r} {port}"));
                    }
                }
            }
            w.close();
        }

        if let Some(ssl) = &self.ssl {
            w.open("SSL");
            w.opt_s("password", &ssl.password);
            w.opt_s("ca", &ssl.ca);
            w.opt_s("certificate", &ssl.certificate);
            w.opt_s("key", &ssl.key);
            w.close();
        }

        for vs in &self.virtual_servers {
            self.print_vs(&mut w, vs);
        }

        // Only when set, so a plain keepalived config prints as text keepalived also reads.
        let x = &self.keepalived_rs;
        if *x != KeepalivedRs::default() {
            w.open("keepalived_rs");
            for h in &x.webhooks {
                w.open(format!("webhook {}", q(&h.name)));
                w.line(format!("url {}", q(&h.url)));
                w.opt_s("secret_file", &h.secret_file);
                w.opt_s("ca_file", &h.ca_file);
                if !h.events.is_empty() {
                    let ev: Vec<&str> = h.events.iter().map(|e| e.as_str()).collect();
                    w.line(format!("events {}", ev.join(" ")));
                }
                w.close();
            }
            w.line(format!("verdict_policy {}", x.verdict_policy.as_str()));
            for p in &x.health_probers {
                w.line(format!("health_prober {}", q(p)));
            }
            w.opt_s("health_prober_dns", &x.health_prober_dns);
            if x.health_prober_owners != ProberOwners::default() {
                w.line(format!(
                    "health_prober_owners {}",
                    x.health_prober_owners.as_string()
                ));
            }
            w.close();
        }
        w.s
    }

    fn print_vs(&self, w: &mut W, vs: &VirtualServer) {
        w.open(match &vs.key {
            VsKey::Addr { ip, port } => format!("virtual_server {ip} {port}"),
            VsKey::Fwmark { mark } => format!("virtual_server fwmark {mark}"),
            VsKey::Group { name } => format!("virtual_server group {}", q(name)),
        });
        w.line(format!("delay_loop {}", vs.delay_loop));
        w.line(format!("lvs_sched {}", q(&vs.lvs_sched)));
        w.line(format!("lvs_method {}", method(vs.lvs_method)));
        w.line(match vs.protocol {
            Protocol::Tcp => "protocol TCP",
            Protocol::Udp => "protocol UDP",
            Protocol::Sctp => "protocol SCTP",
        });
        w.opt("persistence_timeout", &vs.persistence_timeout);
        w.opt("persistence_granularity", &vs.persistence_granularity);
        w.opt_s("persistence_engine", &vs.persistence_engine);
        if let Some(s) = vs.sorry_server {
            w.line(format!("sorry_server {} {}", s.ip, s.port));
        }
        w.flag("sorry_server_inhibit", vs.sorry_server_inhibit);
        if let Some(m) = vs.sorry_server_lvs_method {
            w.line(format!("sorry_server_lvs_method {}", method(m)));
        }
        w.flag("inhibit_on_failure", vs.inhibit_on_failure);
        w.line(format!("quorum {}", vs.quorum));
        w.line(format!("hysteresis {}", vs.hysteresis));
        w.script("quorum_up", &vs.quorum_up);
        w.script("quorum_down", &vs.quorum_down);
        w.flag("alpha", vs.alpha);
        w.flag("omega", vs.omega);
        w.flag("ha_suspend", vs.ha_suspend);
        w.opt_s("virtualhost", &vs.virtualhost);
        w.flag("ops", vs.ops);
        w.tri("smtp_alert", vs.smtp_alert);
        w.opt("retry", &vs.retry);
        w.opt("delay_before_retry", &vs.delay_before_retry);
        w.opt("connect_timeout", &vs.connect_timeout);
        w.opt("warmup", &vs.warmup);
        for rs in &vs.real_servers {
            w.open(format!("real_server {} {}", rs.ip, rs.port));
            w.line(format!("weight {}", rs.weight));
            if let Some(m) = rs.lvs_method {
                w.line(format!("lvs_method {}", method(m)));
            }
            w.script("notify_up", &rs.notify_up);
            w.script("notify_down", &rs.notify_down);
            w.tri("inhibit_on_failure", rs.inhibit_on_failure);
            w.opt("delay_loop", &rs.delay_loop);
            w.tri("alpha", rs.alpha);
            w.opt("retry", &rs.retry);
            w.opt("delay_before_retry", &rs.delay_before_retry);
            w.opt("connect_timeout", &rs.connect_timeout);
            w.opt("warmup", &rs.warmup);
            w.tri("smtp_alert", rs.smtp_alert);
            w.opt_s("virtualhost", &rs.virtualhost);
            for c in &rs.checkers {
                print_checker(w, c);
            }
            w.close();
        }
        w.close();
    }
}

fn print_checker(w: &mut W, c: &Checker) {
    w.open(c.kind.keyword());
    match &c.kind {
        CheckerKind::HttpGet(h) | CheckerKind::SslGet(h) => {
            for u in &h.urls {
                w.open("url");
                w.line(format!("path {}", q(&u.path)));
                w.opt_s("digest", &u.digest);
                let codes: Vec<String> = u
                    .status_code
                    .iter()
                    .map(|r| {
                        if r.from == r.to {
                            r.from.to_string()
                        } else {
                            format!("{}-{}", r.from, r.to)
                        }
                    })
                    .collect();
                w.line(format!("status_code {}", codes.join(" ")));
                w.opt_s("virtualhost", &u.virtualhost);
                w.close();
            }
            w.opt_s("http_protocol", &h.http_protocol);
            w.opt_s("virtualhost", &h.virtualhost);
            w.flag("enable_sni", h.enable_sni);
            w.flag("fast_recovery", h.fast_recovery);
        }
        CheckerKind::MiscCheck(m) => {
            w.line(format!("misc_path {}", qq(&m.misc_path)));
            w.opt("misc_timeout", &m.misc_timeout);
            w.flag("misc_dynamic", m.misc_dynamic);
            if let Some(u) = &m.user {
                let grp = m
                    .group
                    .as_deref()
                    .map(|x| format!(" {}", q(x)))
                    .unwrap_or_default();
                w.line(format!("user {}{grp}", q(u)));
            }
        }
        CheckerKind::SmtpCheck(s) => {
            w.opt_s("helo_name", &s.helo_name);
        }
        CheckerKind::DnsCheck(d) => {
            w.line(format!("type {}", d.query_type));
            w.line(format!("name {}", q(&d.name)));
        }
        CheckerKind::UdpCheck(u) => {
            w.opt_s("payload", &u.payload);
            if u.require_reply {
                w.line(match &u.reply_pattern {
                    Some(p) => format!("require_reply {p}"),
                    None => "require_reply".into(),
                });
            }
            w.opt("min_reply_length", &u.min_reply_length);
            w.opt("max_reply_length", &u.max_reply_length);
        }
        CheckerKind::FileCheck(f) => {
            w.line(format!("track_file {}", q(&f.track_file)));
            if let Some(x) = f.weight {
                w.line(format!(
                    "weight {x}{}",
                    if f.reverse { " reverse" } else { "" }
                ));
            }
        }
        CheckerKind::TcpCheck | CheckerKind::PingCheck => {}
    }
    w.opt("connect_ip", &c.connect_ip);
    w.opt("connect_port", &c.connect_port);
    w.opt("bindto", &c.bindto);
    w.opt("bind_port", &c.bind_port);
    w.opt_s("bind_if", &c.bind_if);
    w.opt("fwmark", &c.fwmark);
    w.opt("connect_timeout", &c.connect_timeout);
    w.opt("retry", &c.retry);
    w.opt("delay_before_retry", &c.delay_before_retry);
    w.opt("warmup", &c.warmup);
    w.opt("delay_loop", &c.delay_loop);
    w.tri("alpha", c.alpha);
    w.flag("log_all_failures", c.log_all_failures);
    w.close();
}
