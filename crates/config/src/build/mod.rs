//! Turns the block tree into the typed model: keyword dispatch per block, value validation
//! with keepalived's ranges, defaults, inheritance and the cross-block checks.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::diag::{Diags, Pos, suggest};
use crate::keywords::{Ctx, Said, alias, alias_table, ctx_name, implemented, unimplemented};
use crate::lexer::Tok;
use crate::model::*;
use crate::time::{Centiseconds, Seconds, TimeUs};
use crate::tree::Node;

mod check;
mod checkers;
mod global;
mod keepalived_rs;
mod reflow;
mod tracking;
mod values;
mod virtual_server;
mod vrrp;
mod vrrp_addresses;
mod vrrp_complete;
mod vrrp_script;

pub(crate) use reflow::reflow;

pub(crate) struct Builder<'a> {
    pub d: &'a mut Diags,
    pub host: String,
    /// This host's interfaces (name → loopback), when the load checks them.
    pub interfaces: Option<&'a BTreeMap<String, bool>>,
    /// Whether this host's scripts and users are checked ([`crate::LoadOptions::host_checks`]).
    pub host_checks: bool,
    /// `vrrp_script` names defined so far (keepalived resolves `track_script` while reading).
    pub scripts_seen: HashSet<String>,
    /// `track_file` names defined so far.
    pub files_seen: HashSet<String>,
    /// `vrrp_track_process` names defined so far.
    pub processes_seen: HashSet<String>,
    /// Where each `vrrp_script` kept in the model is defined.
    pub script_pos: HashMap<String, Pos>,
    /// Every script command configured, with where: for keepalived's script security check.
    pub script_sites: Vec<(Pos, String)>,
    /// The `host { }` blocks of the SMTP_CHECK being read.
    smtp_hosts: Vec<checkers::HostConn>,
    /// `use_vmac` names taken so far, with their instance (keepalived checks while
    /// reading).
    pub vmac_names: Vec<(String, String)>,
}

/// The keyword of a node after alias resolution (with the deprecation warning).
fn kw<'n>(b: &mut Builder<'_>, ctx: Ctx, n: &'n Node<'_>) -> &'n str {
    let k = n.kw.text.as_str();
    same_line_keyword(b, ctx, n);
    if let Some((new, said)) = alias(ctx, k) {
        let message = format!("keyword '{k}' is deprecated, use '{new}' (keepalived says so too)");
        match said {
            Said::Nothing => {}
            Said::Logged => b.d.note(n.kw.pos, message),
            Said::ConfigError => b.d.warn(n.kw.pos, message),
        }
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
                || alias_table(ctx).iter().any(|(old, _, _)| *old == w))
    };
    // FREE_TEXT is checked last: most statements have no keyword among their arguments.
    if let Some(t) = n.args.iter().find(|t| !t.quoted && is_keyword(&t.text))
        && !FREE_TEXT.contains(&n.kw.text.as_str())
    {
        b.d.note(
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
    /// keepalived has no duplicate check for `vrrp_script`, `track_file` and
    /// `vrrp_track_process`: references bind to the first definition (vrrp_track.c
    /// `find_script_by_name`, `find_tracked_process_by_name`, track_file.c
    /// `find_tracked_file_by_name`), and a later one of the same name is never used. Says so
    /// when `seen`, and returns `seen`.
    fn defined_again(&mut self, n: &Node<'_>, what: &str, name: &str, seen: bool) -> bool {
        if seen {
            self.d.note(
                n.kw.pos,
                format!(
                    "{what} {name} is defined again: keepalived uses the first definition and \
                     never this one, and so does keepalived-rs"
                ),
            );
        }
        seen
    }

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
        let cands = implemented(ctx)
            .iter()
            .chain(unimplemented(ctx))
            .copied()
            .chain(alias_table(ctx).iter().map(|(old, _, _)| *old));
        let hint = match suggest(k, cands) {
            Some(s) => format!("; did you mean '{s}'?"),
            None => String::new(),
        };
        let place = if k == "real_server" {
            " (real_server belongs in a virtual_server block)"
        } else {
            ""
        };
        let message = format!("unknown keyword '{k}' in {}{place}{hint}", ctx_name(ctx));
        // Our own extension block is not keepalived's to be lenient about: a typo there is
        // an error, so a setting of ours is never silently lost.
        if matches!(ctx, Ctx::KeepalivedRs | Ctx::Webhook) {
            self.d.error(n.kw.pos, message);
            return;
        }
        // keepalived 2.2.7 logs "Unknown keyword" and runs without the line (lib/parser.c
        // `process_stream`); a typo must not stop a director that keepalived would run.
        self.d.warn(
            n.kw.pos,
            format!("{message} (keepalived: \"Unknown keyword '{k}'\"); the line is ignored"),
        );
    }
}

pub(crate) fn build(
    nodes: &[Node<'_>],
    d: &mut Diags,
    host: &str,
    opts: &crate::LoadOptions,
) -> Config {
    let mut b = Builder {
        d,
        host: host.to_string(),
        interfaces: opts.interfaces.as_ref(),
        host_checks: opts.host_checks,
        scripts_seen: HashSet::new(),
        files_seen: HashSet::new(),
        processes_seen: HashSet::new(),
        script_pos: HashMap::new(),
        script_sites: Vec::new(),
        smtp_hosts: Vec::new(),
        vmac_names: Vec::new(),
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
        track_processes: Vec::new(),
        virtual_servers: Vec::new(),
        virtual_server_groups: Vec::new(),
        ssl: None,
        keepalived_rs: KeepalivedRs::default(),
        static_ipaddress: Vec::new(),
        static_routes: Vec::new(),
        static_rules: Vec::new(),
    };
    let mut inst_pos = Vec::new();
    let mut vs_pos = Vec::new();
    let mut sg_pos = Vec::new();
    for n in nodes {
        match kw(&mut b, Ctx::Top, n) {
            "global_defs" => {}
            // keepalived has no duplicate check for vrrp_script: `track_script` binds to the
            // first definition and the second is removed as "not used".
            "vrrp_script" => {
                let Some(s) = b.vrrp_script(n) else { continue };
                if b.defined_again(n, "vrrp_script", &s.name, b.scripts_seen.contains(&s.name)) {
                    continue;
                }
                b.scripts_seen.insert(s.name.clone());
                b.script_pos.insert(s.name.clone(), n.kw.pos);
                cfg.vrrp_scripts.push(s);
            }
            // vrrp_parser.c `vrrp_handler`: "vrrp instance %s already defined", the second
            // block is skipped.
            "vrrp_instance" => {
                let name = n.args.first().map(|t| t.text.as_str()).unwrap_or_default();
                if cfg.vrrp_instances.iter().any(|x| x.name == name) {
                    b.d.warn(
                        n.kw.pos,
                        format!(
                            "vrrp instance {name} already defined: keepalived skips this block, \
                             and so does keepalived-rs"
                        ),
                    );
                    continue;
                }
                let v = b.vrrp_instance(n, &cfg.global_defs);
                cfg.vrrp_instances.push(v);
                inst_pos.push(n.kw.pos);
            }
            "vrrp_sync_group" => {
                let name = n.args.first().map(|t| t.text.as_str()).unwrap_or_default();
                if cfg.vrrp_sync_groups.iter().any(|x| x.name == name) {
                    b.d.warn(
                        n.kw.pos,
                        format!(
                            "vrrp sync group {name} already defined: keepalived skips this \
                             block, and so does keepalived-rs"
                        ),
                    );
                    continue;
                }
                let s = b.sync_group(n);
                cfg.vrrp_sync_groups.push(s);
                sg_pos.push(n.kw.pos);
            }
            "track_file" => {
                let Some(t) = b.track_file(n) else { continue };
                if b.defined_again(n, "track_file", &t.name, b.files_seen.contains(&t.name)) {
                    continue;
                }
                b.files_seen.insert(t.name.clone());
                cfg.track_files.push(t);
            }
            "vrrp_track_process" => {
                let Some(t) = b.track_process(n) else {
                    continue;
                };
                let seen = b.processes_seen.contains(&t.name);
                if b.defined_again(n, "vrrp_track_process", &t.name, seen) {
                    continue;
                }
                b.processes_seen.insert(t.name.clone());
                cfg.track_processes.push(t);
            }
            "virtual_server_group" => {
                if let Some(g) = b.vs_group(n) {
                    cfg.virtual_server_groups.push(g);
                }
            }
            "virtual_server" => {
                if let Some(v) = b.virtual_server(n) {
                    cfg.virtual_servers.push(v);
                    vs_pos.push(n.kw.pos);
                }
            }
            "keepalived_rs" => b.keepalived_rs(n, &mut cfg.keepalived_rs),
            // vrrp_parser.c `static_addresses_handler`: like virtual_ipaddress_excluded (no
            // family check); `static_routes_handler`: like virtual_routes.
            "static_ipaddress" => {
                let l = b.vip_list(n, true);
                cfg.static_ipaddress.extend(l);
            }
            "static_rules" => {
                for c in b.block(n) {
                    let r = b.rule(c);
                    cfg.static_rules.push(r);
                }
            }
            "static_routes" => {
                for c in b.block(n) {
                    let r = b.route(c);
                    cfg.static_routes.push(r);
                }
            }
            "SSL" => {
                if cfg.ssl.is_some() {
                    b.d.warn(
                        n.kw.pos,
                        "SSL context already specified - replacing (the earlier SSL block is \
                         dropped, as keepalived does)",
                    );
                }
                cfg.ssl = Some(b.ssl(n));
            }
            _ => b.unknown(Ctx::Top, n),
        }
    }
    check::check(&mut b, &mut cfg, &inst_pos, &vs_pos, &sg_pos);
    cfg
}
