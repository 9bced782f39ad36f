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

mod check;
mod checkers;
mod global;
mod keepalived_rs;
mod virtual_server;
mod vrrp;
mod vrrp_complete;

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
    check::check(&mut b, &mut cfg, &inst_pos, &vs_pos, &sg_pos);
    cfg
}
