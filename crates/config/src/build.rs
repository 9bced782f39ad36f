//! Turns the block tree into the typed model: keyword dispatch per block, value validation
//! with keepalived's ranges, defaults, inheritance and the cross-block checks.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::diag::{Diags, Pos, suggest};
use crate::keywords::{Ctx, alias, alias_table, ctx_name, implemented, unimplemented};
use crate::lexer::Tok;
use crate::model::*;
use crate::time::{Centiseconds, Seconds, TimeUs};
use crate::tree::Node;

pub(crate) struct Builder<'a> {
    pub d: &'a mut Diags,
    pub host: String,
}

/// The keyword of a node after alias resolution (with the deprecation warning).
fn kw<'n>(b: &mut Builder<'_>, ctx: Ctx, n: &'n Node<'_>) -> &'n str {
    let k = n.kw.text.as_str();
    same_line_keyword(b, ctx, n);
    if let Some(new) = alias(ctx, k) {
        b.d.warn(
            n.kw.pos,
            format!("keyword '{k}' is deprecated, use '{new}'"),
        );
        return new;
    }
    k
}

/// Keywords whose values are a command line: any word may follow them, keywords included.
const FREE_TEXT: &[&str] = &[
    "script",
    "misc_path",
    "notify",
    "notify_master",
    "notify_backup",
    "notify_fault",
    "notify_stop",
    "notify_deleted",
    "notify_up",
    "notify_down",
    "quorum_up",
    "quorum_down",
];

/// Warns when a statement's arguments contain another keyword of the same block, as in
/// `url { path / status_code 200 }` or `authentication { auth_type PASS auth_pass secret }`.
///
/// keepalived 2.2 reads one statement per line: `read_line` (lib/parser.c) splits a line only
/// at `{` and `}`, and `process_stream` hands every word of the piece to the handler of its
/// first word, which takes the values it wants and ignores the rest. So keepalived sets
/// `path /` and never sees `status_code 200`, and `auth_pass` above is never set. We read the
/// line the same way — a keepalived-rs node must not use a password its keepalived peer
/// ignores — and say that the second keyword has no effect.
fn same_line_keyword(b: &mut Builder<'_>, ctx: Ctx, n: &Node<'_>) {
    if n.args.is_empty() {
        return;
    }
    // Every keyword starts with an ASCII letter (`keyword_tables_start_with_letters`), so
    // addresses, numbers and paths skip the table scans.
    let is_keyword = |w: &str| {
        w.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
            && (implemented(ctx).contains(&w)
                || unimplemented(ctx).contains(&w)
                || alias_table(ctx).iter().any(|(old, _)| *old == w))
    };
    // FREE_TEXT is checked last: most statements have no keyword among their arguments.
    if let Some(t) = n.args.iter().find(|t| !t.quoted && is_keyword(&t.text))
        && !FREE_TEXT.contains(&n.kw.text.as_str())
    {
        b.d.warn(
            t.pos,
            format!(
                "'{}' is on the same line as '{}': keepalived reads one statement per line, \
                 so it is an extra argument of '{}' and has no effect; put it on its own line",
                t.text, n.kw.text, n.kw.text
            ),
        );
    }
}

impl Builder<'_> {
    fn unknown(&mut self, ctx: Ctx, n: &Node<'_>) {
        let k = n.kw.text.as_str();
        if unimplemented(ctx).contains(&k) {
            self.d.warn(
                n.kw.pos,
                format!(
                    "keyword '{k}' in {} is recognised, not implemented by keepalived-rs yet",
                    ctx_name(ctx)
                ),
            );
            return;
        }
        if ctx != Ctx::Top && ctx != Ctx::VirtualServer && k == "real_server" {
            self.d.error(
                n.kw.pos,
                "real_server is only valid inside a virtual_server block",
            );
            return;
        }
        if ctx == Ctx::Top && k == "real_server" {
            self.d
                .error(n.kw.pos, "real_server outside a virtual_server block");
            return;
        }
        let cands = implemented(ctx)
            .iter()
            .chain(unimplemented(ctx))
            .copied()
            .chain(alias_table(ctx).iter().map(|(old, _)| *old));
        let hint = match suggest(k, cands) {
            Some(s) => format!("; did you mean '{s}'?"),
            None => String::new(),
        };
        self.d.error(
            n.kw.pos,
            format!("unknown keyword '{k}' in {}{hint}", ctx_name(ctx)),
        );
    }

    fn block<'n>(&mut self, n: &'n Node<'n>) -> &'n [Node<'n>] {
        match &n.block {
            Some(b) => b,
            None => {
                self.d
                    .error(n.kw.pos, format!("'{}' needs a {{ }} block", n.kw.text));
                &[]
            }
        }
    }

    fn no_block(&mut self, n: &Node<'_>) {
        if n.block.is_some() {
            self.d.error(
                n.kw.pos,
                format!("'{}' does not take a {{ }} block", n.kw.text),
            );
        }
    }

    fn arg<'n>(&mut self, n: &'n Node<'n>) -> Option<&'n Tok<'n>> {
        self.no_block(n);
        let a = n.args.first();
        if a.is_none() {
            self.d
                .error(n.kw.pos, format!("'{}' needs a value", n.kw.text));
        }
        a
    }

    fn string(&mut self, n: &Node<'_>) -> Option<String> {
        self.arg(n).map(|t| t.text.owned())
    }

    fn int_tok(&mut self, t: &Tok<'_>, lo: i64, hi: i64, what: &str) -> Option<i64> {
        match t.text.parse::<i64>() {
            Ok(v) if (lo..=hi).contains(&v) => Some(v),
            Ok(v) => {
                self.d
                    .error(t.pos, format!("{what} {v} out of range {lo}..{hi}"));
                None
            }
            Err(_) => {
                self.d
                    .error(t.pos, format!("{what}: '{}' is not a number", t.text));
                None
            }
        }
    }

    fn int(&mut self, n: &Node<'_>, lo: i64, hi: i64) -> Option<i64> {
        let t = self.arg(n)?;
        self.int_tok(t, lo, hi, &n.kw.text)
    }

    fn time_tok(&mut self, t: &Tok<'_>, what: &str) -> Option<TimeUs> {
        let v = TimeUs::parse(&t.text);
        if v.is_none() {
            self.d.error(
                t.pos,
                format!("{what}: '{}' is not a valid time in seconds", t.text),
            );
        }
        v
    }

    fn time(&mut self, n: &Node<'_>) -> Option<TimeUs> {
        let t = self.arg(n)?;
        self.time_tok(t, &n.kw.text)
    }

    fn ip_tok(&mut self, t: &Tok<'_>) -> Option<IpAddr> {
        let v = t.text.parse::<IpAddr>().ok();
        if v.is_none() {
            self.d
                .error(t.pos, format!("'{}' is not a valid IP address", t.text));
        }
        v
    }

    fn ip(&mut self, n: &Node<'_>) -> Option<IpAddr> {
        let t = self.arg(n)?;
        self.ip_tok(t)
    }

    fn port_tok(&mut self, t: &Tok<'_>) -> Option<u16> {
        self.int_tok(t, 0, 65535, "port").map(|v| v as u16)
    }

    /// `keyword [true|false|yes|no|on|off]`: no value means true.
    fn flag(&mut self, n: &Node<'_>) -> Option<bool> {
        self.no_block(n);
        let Some(t) = n.args.first() else {
            return Some(true);
        };
        match t.text.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" => Some(true),
            "false" | "no" | "off" => Some(false),
            _ => {
                self.d.error(
                    t.pos,
                    format!(
                        "'{}' expects true/false/yes/no/on/off, got '{}'",
                        n.kw.text, t.text
                    ),
                );
                None
            }
        }
    }

    /// A script: a quoted command may be followed by user and group; an unquoted command line
    /// is joined back with spaces.
    fn script(&mut self, n: &Node<'_>) -> Option<Script> {
        self.no_block(n);
        let first = self.arg(n)?;
        if first.quoted || n.args.len() == 1 {
            Some(Script {
                command: first.text.owned(),
                user: n.args.get(1).map(|t| t.text.owned()),
                group: n.args.get(2).map(|t| t.text.owned()),
            })
        } else {
            let command = n
                .args
                .iter()
                .map(|t| t.text.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            Some(Script {
                command,
                user: None,
                group: None,
            })
        }
    }

    /// Each word of each line of a block (notification_email, group).
    fn words(&mut self, n: &Node<'_>) -> Vec<String> {
        let mut v = Vec::new();
        for c in self.block(n) {
            v.push(c.kw.text.owned());
            v.extend(c.args.iter().map(|t| t.text.owned()));
        }
        v
    }

    fn name(&mut self, n: &Node<'_>) -> String {
        match n.args.first() {
            Some(t) => t.text.owned(),
            None => {
                self.d
                    .error(n.kw.pos, format!("'{}' needs a name", n.kw.text));
                String::new()
            }
        }
    }

    /// `name [weight N [reverse]]` lines of a track block.
    fn track_list(&mut self, n: &Node<'_>, wmin: i64, wmax: i64) -> Vec<TrackRef> {
        let mut out = Vec::new();
        for c in self.block(n) {
            let mut r = TrackRef {
                name: c.kw.text.owned(),
                weight: None,
                reverse: false,
            };
            let mut i = 0;
            while i < c.args.len() {
                let a = &c.args[i];
                match a.text.as_str() {
                    "weight" => {
                        if let Some(w) = c.args.get(i + 1) {
                            r.weight = self.int_tok(w, wmin, wmax, "weight").map(|v| v as i32);
                            i += 1;
                        } else {
                            self.d.error(a.pos, "weight needs a value");
                        }
                    }
                    "reverse" => r.reverse = true,
                    _ => self.d.error(
                        a.pos,
                        format!("unexpected '{}' in {} entry", a.text, n.kw.text),
                    ),
                }
                i += 1;
            }
            if c.block.is_some() {
                self.d.error(c.kw.pos, "unexpected block in track list");
            }
            out.push(r);
        }
        out
    }

    // ----------------------------------------------------------------- global_defs

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
                    "smtp_alert" => g.smtp_alert = self.flag(n),
                    "smtp_alert_vrrp" => g.smtp_alert_vrrp = self.flag(n),
                    "smtp_alert_checker" => g.smtp_alert_checker = self.flag(n),
                    "vrrp_mcast_group4" => {
                        if let Some(IpAddr::V4(a)) = self.ip(n) {
                            if a.is_multicast() {
                                g.vrrp_mcast_group4 = a;
                            } else {
                                self.d.error(
                                    n.args[0].pos,
                                    format!("{a} is not an IPv4 multicast address"),
                                );
                            }
                        } else if !n.args.is_empty() {
                            self.d
                                .error(n.args[0].pos, "vrrp_mcast_group4 needs an IPv4 address");
                        }
                    }
                    "vrrp_mcast_group6" => {
                        if let Some(IpAddr::V6(a)) = self.ip(n) {
                            if a.is_multicast() {
                                g.vrrp_mcast_group6 = a;
                            } else {
                                self.d.error(
                                    n.args[0].pos,
                                    format!("{a} is not an IPv6 multicast address"),
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
                        g.enable_script_security = self.flag(n).unwrap_or(true)
                    }
                    "lvs_flush" => g.lvs_flush = self.flag(n).unwrap_or(true),
                    "lvs_flush_on_stop" => {
                        self.no_block(n);
                        g.lvs_flush_on_stop = match n.args.first().map(|t| t.text.as_str()) {
                            None | Some("ALL") => LvsFlushOnStop::All,
                            Some("VS") => LvsFlushOnStop::Vs,
                            Some(o) => {
                                self.d.error(
                                    n.args[0].pos,
                                    format!("lvs_flush_on_stop expects VS or ALL, got '{o}'"),
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
                                o => self.d.error(
                                    k.pos,
                                    format!("lvs_timeouts: unknown '{o}' (tcp, tcpfin, udp)"),
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
                    "vrrp_strict" => g.vrrp_strict = self.flag(n).unwrap_or(true),
                    "vrrp_garp_master_delay" => {
                        if let Some(v) = self.int(n, 0, 86400) {
                            g.vrrp_garp_master_delay = Seconds(v as u32)
                        }
                    }
                    "vrrp_garp_master_repeat" => {
                        if let Some(v) = self.int(n, 1, 100) {
                            g.vrrp_garp_master_repeat = v as u32
                        }
                    }
                    "vrrp_garp_master_refresh" => {
                        if let Some(v) = self.int(n, 0, 86400) {
                            g.vrrp_garp_master_refresh = Seconds(v as u32)
                        }
                    }
                    "vrrp_garp_master_refresh_repeat" => {
                        if let Some(v) = self.int(n, 1, 100) {
                            g.vrrp_garp_master_refresh_repeat = v as u32
                        }
                    }
                    "vrrp_garp_lower_prio_delay" => {
                        g.vrrp_garp_lower_prio_delay =
                            self.int(n, 0, 86400).map(|v| Seconds(v as u32))
                    }
                    "vrrp_garp_lower_prio_repeat" => {
                        g.vrrp_garp_lower_prio_repeat = self.int(n, 1, 100).map(|v| v as u32)
                    }
                    "vrrp_garp_interval" => g.vrrp_garp_interval = self.time(n).unwrap_or_default(),
                    "vrrp_gna_interval" => g.vrrp_gna_interval = self.time(n).unwrap_or_default(),
                    "default_interface" => g.default_interface = self.string(n),
                    _ => self.unknown(Ctx::Global, n),
                }
            }
        }
        g
    }

    // ----------------------------------------------------------------- vrrp_script

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

    // ----------------------------------------------------------------- vrrp_instance

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

    // ----------------------------------------------------------------- LVS

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

    fn real_server(
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

    fn checker(&mut self, node: &Node<'_>, vs: &VirtualServer, rs: &RealServer) -> Option<Checker> {
        let k: &'static str = match node.kw.text.as_str() {
            "HTTP_GET" => "HTTP_GET",
            "SSL_GET" => "SSL_GET",
            "TCP_CHECK" => "TCP_CHECK",
            "MISC_CHECK" => "MISC_CHECK",
            "SMTP_CHECK" => "SMTP_CHECK",
            "DNS_CHECK" => "DNS_CHECK",
            "UDP_CHECK" => "UDP_CHECK",
            "PING_CHECK" => "PING_CHECK",
            _ => "FILE_CHECK",
        };
        let ctx = Ctx::Checker(k);
        let mut kind = match k {
            "HTTP_GET" | "SSL_GET" => {
                let h = HttpCheck {
                    urls: Vec::new(),
                    http_protocol: None,
                    virtualhost: None,
                    enable_sni: false,
                    fast_recovery: false,
                };
                if k == "HTTP_GET" {
                    CheckerKind::HttpGet(h)
                } else {
                    CheckerKind::SslGet(h)
                }
            }
            "TCP_CHECK" => CheckerKind::TcpCheck,
            "MISC_CHECK" => CheckerKind::MiscCheck(MiscCheck {
                misc_path: String::new(),
                misc_timeout: None,
                misc_dynamic: false,
                user: None,
                group: None,
            }),
            "SMTP_CHECK" => CheckerKind::SmtpCheck(SmtpCheck {
                helo_name: None,
                hosts: Vec::new(),
            }),
            "DNS_CHECK" => CheckerKind::DnsCheck(DnsCheck {
                query_type: "SOA".into(),
                name: ".".into(),
            }),
            "UDP_CHECK" => CheckerKind::UdpCheck(UdpCheck {
                payload: None,
                require_reply: false,
                reply_pattern: None,
                min_reply_length: None,
                max_reply_length: None,
            }),
            "PING_CHECK" => CheckerKind::PingCheck,
            _ => CheckerKind::FileCheck(FileCheck {
                track_file: String::new(),
                weight: None,
                reverse: false,
            }),
        };
        let mut c = Checker {
            kind: CheckerKind::PingCheck,
            connect_ip: None,
            connect_port: None,
            bindto: None,
            bind_port: None,
            bind_if: None,
            fwmark: None,
            connect_timeout: None,
            retry: None,
            delay_before_retry: None,
            warmup: None,
            delay_loop: None,
            alpha: None,
            log_all_failures: false,
            timing: CheckerTiming {
                delay_loop: TimeUs(0),
                connect_timeout: TimeUs(0),
                retry: 0,
                delay_before_retry: TimeUs(0),
                warmup: TimeUs(0),
                alpha: false,
            },
        };
        let allowed = implemented(ctx);
        for n in node.block.as_deref().unwrap_or(&[]) {
            let key = kw(self, ctx, n);
            if !allowed.contains(&key) {
                self.unknown(ctx, n);
                continue;
            }
            match key {
                "connect_ip" => c.connect_ip = self.ip(n),
                "connect_port" => c.connect_port = self.arg(n).and_then(|t| self.port_tok(t)),
                "bindto" => c.bindto = self.ip(n),
                "bind_port" => c.bind_port = self.arg(n).and_then(|t| self.port_tok(t)),
                "bind_if" => c.bind_if = self.string(n),
                "fwmark" => c.fwmark = self.int(n, 0, u32::MAX as i64).map(|v| v as u32),
                "connect_timeout" => c.connect_timeout = self.time(n),
                "retry" => c.retry = self.int(n, 0, u32::MAX as i64).map(|v| v as u32),
                "delay_before_retry" => c.delay_before_retry = self.time(n),
                "warmup" => c.warmup = self.time(n),
                "delay_loop" => c.delay_loop = self.time(n),
                "alpha" => c.alpha = self.flag(n),
                "log_all_failures" => c.log_all_failures = self.flag(n).unwrap_or(true),
                _ => self.checker_specific(&mut kind, n),
            }
        }
        // Validate what each type needs.
        match &mut kind {
            CheckerKind::HttpGet(h) | CheckerKind::SslGet(h) if h.urls.is_empty() => {
                self.d.error(node.kw.pos, format!("{k} has no url block"));
            }
            CheckerKind::MiscCheck(m) if m.misc_path.is_empty() => {
                self.d.error(node.kw.pos, "MISC_CHECK has no misc_path")
            }
            CheckerKind::FileCheck(f) if f.track_file.is_empty() => {
                self.d.error(node.kw.pos, "FILE_CHECK has no track_file")
            }
            _ => {}
        }
        let delay_loop = c.delay_loop.or(rs.delay_loop).unwrap_or(vs.delay_loop);
        // keepalived 2.2 per-checker defaults: MISC_CHECK retries 0 times with no delay,
        // HTTP_GET/SSL_GET wait 3 s between retries, DNS_CHECK retries 3 times
        // `delay_loop` apart (its default delay_before_retry of 0 means delay_loop),
        // others 1 retry and 1 s.
        let (def_retry, def_dbr) = match kind {
            CheckerKind::MiscCheck(_) => (0, TimeUs(0)),
            CheckerKind::HttpGet(_) | CheckerKind::SslGet(_) => (1, TimeUs::from_secs(3)),
            CheckerKind::DnsCheck(_) => (3, delay_loop),
            _ => (1, TimeUs::from_secs(1)),
        };
        c.timing = CheckerTiming {
            delay_loop,
            connect_timeout: c
                .connect_timeout
                .or(rs.connect_timeout)
                .or(vs.connect_timeout)
                .unwrap_or(TimeUs::from_secs(5)),
            retry: c.retry.or(rs.retry).or(vs.retry).unwrap_or(def_retry),
            delay_before_retry: c
                .delay_before_retry
                .or(rs.delay_before_retry)
                .or(vs.delay_before_retry)
                .unwrap_or(def_dbr),
            warmup: c.warmup.or(rs.warmup).or(vs.warmup).unwrap_or(delay_loop),
            alpha: c.alpha.or(rs.alpha).unwrap_or(vs.alpha),
        };
        c.kind = kind;
        Some(c)
    }

    fn checker_specific(&mut self, kind: &mut CheckerKind, n: &Node<'_>) {
        match kind {
            CheckerKind::HttpGet(h) | CheckerKind::SslGet(h) => match n.kw.text.as_str() {
                "url" => {
                    if let Some(u) = self.url(n) {
                        h.urls.push(u)
                    }
                }
                "http_protocol" => {
                    if let Some(t) = self.arg(n) {
                        match t.text.as_str() {
                            "1.0" | "1.1" | "1.0C" | "1.0K" => {
                                h.http_protocol = Some(t.text.owned())
                            }
                            o => self.d.error(
                                t.pos,
                                format!("http_protocol must be 1.0, 1.0C, 1.0K or 1.1, got '{o}'"),
                            ),
                        }
                    }
                }
                "virtualhost" => h.virtualhost = self.string(n),
                "fast_recovery" => h.fast_recovery = self.flag(n).unwrap_or(true),
                _ => h.enable_sni = self.flag(n).unwrap_or(true),
            },
            CheckerKind::MiscCheck(m) => match n.kw.text.as_str() {
                "misc_path" => m.misc_path = self.script(n).map(|s| s.command).unwrap_or_default(),
                "misc_timeout" => m.misc_timeout = self.time(n),
                "misc_dynamic" => m.misc_dynamic = self.flag(n).unwrap_or(true),
                _ => {
                    m.user = self.string(n);
                    m.group = n.args.get(1).map(|t| t.text.owned());
                }
            },
            CheckerKind::SmtpCheck(s) => match n.kw.text.as_str() {
                "helo_name" => s.helo_name = self.string(n),
                _ => {
                    self.d.warn(
                        n.kw.pos,
                        "SMTP_CHECK 'host' blocks are deprecated; use one SMTP_CHECK per host",
                    );
                    let mut h = SmtpHost {
                        connect_ip: None,
                        connect_port: None,
                        bindto: None,
                        bind_port: None,
                        bind_if: None,
                        connect_timeout: None,
                        fwmark: None,
                    };
                    for a in self.block(n) {
                        same_line_keyword(self, Ctx::SmtpHost, a);
                        match a.kw.text.as_str() {
                            "connect_ip" => h.connect_ip = self.ip(a),
                            "connect_port" => {
                                h.connect_port = self.arg(a).and_then(|t| self.port_tok(t))
                            }
                            "bindto" => h.bindto = self.ip(a),
                            "bind_port" => h.bind_port = self.arg(a).and_then(|t| self.port_tok(t)),
                            "bind_if" => h.bind_if = self.string(a),
                            "connect_timeout" => h.connect_timeout = self.time(a),
                            "fwmark" => {
                                h.fwmark = self.int(a, 0, u32::MAX as i64).map(|v| v as u32)
                            }
                            _ => self.unknown(Ctx::SmtpHost, a),
                        }
                    }
                    s.hosts.push(h);
                }
            },
            CheckerKind::DnsCheck(d) => match n.kw.text.as_str() {
                "type" => {
                    if let Some(t) = self.arg(n) {
                        const TYPES: &[&str] = &["A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA"];
                        let up = t.text.to_ascii_uppercase();
                        if TYPES.contains(&up.as_str()) {
                            d.query_type = up;
                        } else {
                            self.d.error(
                                t.pos,
                                format!(
                                    "DNS_CHECK type '{}' not one of {}",
                                    t.text,
                                    TYPES.join(", ")
                                ),
                            );
                        }
                    }
                }
                _ => d.name = self.string(n).unwrap_or(d.name.clone()),
            },
            CheckerKind::UdpCheck(u) => match n.kw.text.as_str() {
                "payload" => u.payload = self.hex(n),
                "require_reply" => {
                    u.require_reply = true;
                    u.reply_pattern = if n.args.is_empty() { None } else { self.hex(n) };
                }
                "min_reply_length" => u.min_reply_length = self.int(n, 0, 65535).map(|v| v as u32),
                _ => u.max_reply_length = self.int(n, 0, 65535).map(|v| v as u32),
            },
            CheckerKind::FileCheck(f) => match n.kw.text.as_str() {
                "track_file" => f.track_file = self.string(n).unwrap_or_default(),
                _ => {
                    f.weight = self.int(n, -254, 254).map(|v| v as i32);
                    f.reverse = n.args.get(1).is_some_and(|a| a.text == "reverse");
                }
            },
            CheckerKind::TcpCheck | CheckerKind::PingCheck => {
                self.unknown(Ctx::Checker("TCP_CHECK"), n)
            }
        }
    }

    fn hex(&mut self, n: &Node<'_>) -> Option<String> {
        let t = self.arg(n)?;
        let s = t.text.to_ascii_lowercase();
        if s.len() % 2 == 0 && !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            Some(s)
        } else {
            self.d.error(
                t.pos,
                format!("'{}' is not an even-length hex string", t.text),
            );
            None
        }
    }

    fn url(&mut self, node: &Node<'_>) -> Option<Url> {
        let mut u = Url {
            path: String::new(),
            digest: None,
            status_code: Vec::new(),
            virtualhost: None,
        };
        for n in self.block(node) {
            same_line_keyword(self, Ctx::Url, n);
            match n.kw.text.as_str() {
                "path" => u.path = self.string(n).unwrap_or_default(),
                "digest" => {
                    if let Some(t) = self.arg(n) {
                        let d = t.text.to_ascii_lowercase();
                        if d.len() == 32 && d.bytes().all(|b| b.is_ascii_hexdigit()) {
                            u.digest = Some(d);
                        } else {
                            self.d.error(
                                t.pos,
                                format!("digest '{}' is not 32 hex digits (MD5)", t.text),
                            );
                        }
                    }
                }
                "status_code" => {
                    self.no_block(n);
                    if n.args.is_empty() {
                        self.d.error(n.kw.pos, "status_code needs a value");
                    }
                    for t in &n.args {
                        let (a, b) = t.text.split_once('-').unwrap_or((&t.text, &t.text));
                        match (a.parse::<u16>(), b.parse::<u16>()) {
                            (Ok(a), Ok(b))
                                if (100..=599).contains(&a)
                                    && (100..=599).contains(&b)
                                    && a <= b =>
                            {
                                u.status_code.push(StatusRange { from: a, to: b })
                            }
                            _ => self.d.error(
                                t.pos,
                                format!("invalid status_code '{}' (100-599 or a range)", t.text),
                            ),
                        }
                    }
                }
                "virtualhost" => u.virtualhost = self.string(n),
                _ => self.unknown(Ctx::Url, n),
            }
        }
        if u.path.is_empty() {
            self.d.error(node.kw.pos, "url block without a path");
            return None;
        }
        if u.status_code.is_empty() {
            // keepalived 2.2: with neither status_code nor digest, any 2xx is success.
            u.status_code.push(StatusRange { from: 200, to: 299 });
        }
        Some(u)
    }
}

/// The whole build: top-level dispatch, then cross-block checks.
/// `HOST:PORT` with a non-empty host and a numeric port (`[v6]:PORT` included).
fn is_host_port(s: &str) -> bool {
    s.rsplit_once(':')
        .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok())
}

impl Builder<'_> {
    // ----------------------------------------------------------------- keepalived_rs

    /// `keepalived_rs { … }`, merged into `x` (several blocks add up, like `global_defs`).
    fn keepalived_rs(&mut self, node: &Node<'_>, x: &mut KeepalivedRs) {
        if !node.args.is_empty() {
            self.d.error(
                node.args[0].pos,
                "keepalived_rs takes no name, only a { } block",
            );
        }
        for n in self.block(node) {
            match kw(self, Ctx::KeepalivedRs, n) {
                "webhook" => {
                    if let Some(w) = self.webhook(n) {
                        if x.webhooks.iter().any(|o| o.name == w.name) {
                            self.d
                                .error(n.kw.pos, format!("webhook {} defined twice", w.name));
                        } else {
                            x.webhooks.push(w);
                        }
                    }
                }
                "verdict_policy" => {
                    if let Some(t) = self.arg(n) {
                        match t.text.as_str() {
                            "majority" => x.verdict_policy = VerdictPolicy::Majority,
                            "any_down" => x.verdict_policy = VerdictPolicy::AnyDown,
                            "all_down" => x.verdict_policy = VerdictPolicy::AllDown,
                            o => self.d.error(
                                t.pos,
                                format!(
                                    "verdict_policy must be majority, any_down or all_down, got '{o}'"
                                ),
                            ),
                        }
                    }
                }
                "health_prober" => {
                    let Some(t) = self.arg(n) else { continue };
                    let ok = match t.text.split_once("://") {
                        Some(("tcp", hp)) => is_host_port(hp),
                        _ => t.text.strip_prefix("unix:").is_some_and(|p| !p.is_empty()),
                    };
                    if !ok {
                        self.d.error(
                            t.pos,
                            format!(
                                "health_prober '{}' is not tcp://HOST:PORT or unix:PATH",
                                t.text
                            ),
                        );
                    } else if x.health_probers.iter().any(|p| *p == t.text.as_str()) {
                        self.d
                            .error(t.pos, format!("health_prober '{}' listed twice", t.text));
                    } else if x.health_prober_dns.is_some() {
                        // ipvs-manager's --health-prober and --health-prober-dns conflict too.
                        self.d.error(
                            n.kw.pos,
                            "health_prober and health_prober_dns cannot both be set",
                        );
                    } else {
                        x.health_probers.push(t.text.owned());
                    }
                }
                "health_prober_dns" => {
                    let Some(t) = self.arg(n) else { continue };
                    if !is_host_port(&t.text) {
                        self.d.error(
                            t.pos,
                            format!("health_prober_dns '{}' is not HOST:PORT", t.text),
                        );
                    } else if !x.health_probers.is_empty() {
                        self.d.error(
                            n.kw.pos,
                            "health_prober and health_prober_dns cannot both be set",
                        );
                    } else {
                        x.health_prober_dns = Some(t.text.owned());
                    }
                }
                _ => self.unknown(Ctx::KeepalivedRs, n),
            }
        }
    }

    /// `webhook NAME { url …  secret_file …  events … }`.
    fn webhook(&mut self, node: &Node<'_>) -> Option<Webhook> {
        let name = self.name(node);
        let mut w = Webhook {
            name,
            url: String::new(),
            secret_file: None,
            events: Vec::new(),
        };
        for n in self.block(node) {
            match kw(self, Ctx::Webhook, n) {
                "url" => {
                    if let Some(t) = self.arg(n) {
                        let host = t
                            .text
                            .strip_prefix("http://")
                            .or_else(|| t.text.strip_prefix("https://"));
                        if host.is_some_and(|h| !h.is_empty() && !h.starts_with('/')) {
                            w.url = t.text.owned();
                        } else {
                            self.d.error(
                                t.pos,
                                format!(
                                    "webhook url '{}' is not http://HOST/… or https://HOST/…",
                                    t.text
                                ),
                            );
                        }
                    }
                }
                "secret_file" => w.secret_file = self.string(n),
                "events" => {
                    self.no_block(n);
                    if n.args.is_empty() {
                        self.d
                            .error(n.kw.pos, "events needs at least one event kind");
                    }
                    for t in &n.args {
                        match WebhookEvent::ALL.iter().find(|(_, k)| *k == t.text.as_str()) {
                            Some((e, _)) if !w.events.contains(e) => w.events.push(*e),
                            Some(_) => {}
                            None => self.d.error(
                                t.pos,
                                format!(
                                    "unknown webhook event '{}' (known: vrrp, sync_group, realserver, quorum)",
                                    t.text
                                ),
                            ),
                        }
                    }
                }
                _ => self.unknown(Ctx::Webhook, n),
            }
        }
        if w.url.is_empty() {
            self.d
                .error(node.kw.pos, format!("webhook {} needs a url", w.name));
            return None;
        }
        Some(w)
    }
}

pub(crate) fn build(nodes: &[Node<'_>], d: &mut Diags, host: &str) -> Config {
    let mut b = Builder {
        d,
        host: host.to_string(),
    };
    let globals: Vec<&Node<'_>> = nodes
        .iter()
        .filter(|n| n.kw.text == "global_defs")
        .collect();
    let g = b.global(&globals);
    let mut cfg = Config {
        global_defs: g,
        vrrp_scripts: Vec::new(),
        vrrp_instances: Vec::new(),
        vrrp_sync_groups: Vec::new(),
        track_files: Vec::new(),
        virtual_servers: Vec::new(),
        virtual_server_groups: Vec::new(),
        keepalived_rs: KeepalivedRs::default(),
    };
    let mut inst_pos = Vec::new();
    let mut vs_pos = Vec::new();
    let mut sg_pos = Vec::new();
    for n in nodes {
        match kw(&mut b, Ctx::Top, n) {
            "global_defs" => {}
            "vrrp_script" => {
                let s = b.vrrp_script(n);
                if cfg.vrrp_scripts.iter().any(|x| x.name == s.name) {
                    b.d.error(n.kw.pos, format!("vrrp_script {} defined twice", s.name));
                } else {
                    cfg.vrrp_scripts.push(s);
                }
            }
            "vrrp_instance" => {
                let v = b.vrrp_instance(n, &cfg.global_defs);
                if cfg.vrrp_instances.iter().any(|x| x.name == v.name) {
                    b.d.error(n.kw.pos, format!("vrrp_instance {} defined twice", v.name));
                } else {
                    cfg.vrrp_instances.push(v);
                    inst_pos.push(n.kw.pos);
                }
            }
            "vrrp_sync_group" => {
                let s = b.sync_group(n);
                cfg.vrrp_sync_groups.push(s);
                sg_pos.push(n.kw.pos);
            }
            "track_file" => {
                let t = b.track_file(n);
                cfg.track_files.push(t);
            }
            "virtual_server_group" => {
                let g = b.vs_group(n);
                cfg.virtual_server_groups.push(g);
            }
            "virtual_server" => {
                if let Some(v) = b.virtual_server(n) {
                    cfg.virtual_servers.push(v);
                    vs_pos.push(n.kw.pos);
                }
            }
            "keepalived_rs" => b.keepalived_rs(n, &mut cfg.keepalived_rs),
            _ => b.unknown(Ctx::Top, n),
        }
    }
    check(&mut b, &mut cfg, &inst_pos, &vs_pos, &sg_pos);
    cfg
}

/// Cross-block checks keepalived makes after reading everything.
fn check(b: &mut Builder<'_>, cfg: &mut Config, inst_pos: &[Pos], vs_pos: &[Pos], sg_pos: &[Pos]) {
    let scripts: HashSet<String> = cfg.vrrp_scripts.iter().map(|s| s.name.clone()).collect();
    let files: HashSet<String> = cfg.track_files.iter().map(|s| s.name.clone()).collect();
    let mut vrids: HashMap<(Option<String>, bool, u8), String> = HashMap::new();
    for (v, pos) in cfg.vrrp_instances.iter_mut().zip(inst_pos) {
        // keepalived: "track script X not found, ignoring".
        v.track_script.retain(|t| {
            let ok = scripts.contains(&t.name);
            if !ok {
                b.d.warn(
                    *pos,
                    format!(
                        "vrrp_instance {}: track_script '{}' is not defined, ignoring",
                        v.name, t.name
                    ),
                );
            }
            ok
        });
        v.track_file.retain(|t| {
            let ok = files.contains(&t.name);
            if !ok {
                b.d.warn(
                    *pos,
                    format!(
                        "vrrp_instance {}: track_file '{}' is not defined, ignoring",
                        v.name, t.name
                    ),
                );
            }
            ok
        });
        if v.virtual_router_id == 0 {
            continue;
        }
        let v6 = v
            .virtual_ipaddress
            .first()
            .is_some_and(|a| a.address.is_ipv6());
        let key = (v.interface.clone(), v6, v.virtual_router_id);
        if let Some(other) = vrids.get(&key) {
            b.d.error(
                *pos,
                format!(
                    "vrrp_instance {}: virtual_router_id {} already used by {other} on the same interface and address family",
                    v.name, v.virtual_router_id
                ),
            );
        } else {
            vrids.insert(key, v.name.clone());
        }
    }
    let names: HashSet<String> = cfg.vrrp_instances.iter().map(|v| v.name.clone()).collect();
    let mut in_group: HashSet<String> = HashSet::new();
    for (sg, pos) in cfg.vrrp_sync_groups.iter_mut().zip(sg_pos) {
        sg.group.retain(|m| {
            let ok = names.contains(m);
            if !ok {
                b.d.warn(
                    *pos,
                    format!(
                        "vrrp_sync_group {}: instance {m} does not exist, ignoring",
                        sg.name
                    ),
                );
            }
            ok
        });
        for m in &sg.group {
            if !in_group.insert(m.clone()) {
                b.d.error(
                    *pos,
                    format!(
                        "vrrp_sync_group {}: instance {m} is already in another sync group",
                        sg.name
                    ),
                );
            }
        }
        // As for an instance: keepalived logs "track script X not found, ignoring".
        sg.track_script.retain(|t| {
            let ok = scripts.contains(&t.name);
            if !ok {
                b.d.warn(
                    *pos,
                    format!(
                        "vrrp_sync_group {}: track_script '{}' is not defined, ignoring",
                        sg.name, t.name
                    ),
                );
            }
            ok
        });
    }
    let groups: HashSet<String> = cfg
        .virtual_server_groups
        .iter()
        .map(|g| g.name.clone())
        .collect();
    // keepalived refuses a second virtual_server for the same service: IPVS has one service
    // per address, port and protocol (or fwmark, or group).
    let mut services: HashSet<(&VsKey, Protocol)> = HashSet::new();
    for (vs, pos) in cfg.virtual_servers.iter().zip(vs_pos) {
        if !services.insert((&vs.key, vs.protocol)) {
            let what = match &vs.key {
                VsKey::Addr { ip, port } => format!("{ip} {port}"),
                VsKey::Fwmark { mark } => format!("fwmark {mark}"),
                VsKey::Group { name } => format!("group {name}"),
            };
            b.d.error(
                *pos,
                format!(
                    "virtual_server {what} ({}) is defined twice",
                    format!("{:?}", vs.protocol).to_uppercase()
                ),
            );
        }
    }
    for (vs, pos) in cfg.virtual_servers.iter().zip(vs_pos) {
        if let VsKey::Group { name } = &vs.key
            && !groups.contains(name)
        {
            b.d.error(
                *pos,
                format!("virtual_server group {name}: no virtual_server_group of that name"),
            );
        }
        for rs in &vs.real_servers {
            for c in &rs.checkers {
                if let CheckerKind::FileCheck(f) = &c.kind
                    && !f.track_file.is_empty()
                    && !files.contains(&f.track_file)
                {
                    b.d.error(
                        *pos,
                        format!("FILE_CHECK: track_file '{}' is not defined", f.track_file),
                    );
                }
            }
        }
    }
}
