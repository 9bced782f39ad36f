//! Parsing helpers for the differential test against keepalived 2.2.7
//! (`tests/compat.rs`): keepalived's `-t` messages, its SIGUSR1 data dump,
//! our `FILE:LINE:COL: severity: message` diagnostics, and the address
//! rewriting of the samples start test.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use keepalived_testlab::Lab;

/// Debian's keepalived 2.2.7.
pub fn keepalived() -> PathBuf {
    ["/usr/sbin/keepalived", "/usr/local/sbin/keepalived"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("keepalived"))
}

/// One side of keepalived run by a test in a namespace, in the foreground, with its pid
/// files, log and data file (`$TMPDIR`, global_data.c `open_dump_file`) under `dir/ka`.
pub struct KeepalivedRun {
    /// The parent process.
    pub parent: u32,
    /// Where its pid files and data files are.
    pub tmp: PathBuf,
    /// Its log (`-l -D`).
    pub log: PathBuf,
}

impl KeepalivedRun {
    /// Starts `keepalived SIDE FLAGS… -f CONF` (`--vrrp` or `--check`) in `ns`.
    pub fn start(
        lab: &mut Lab,
        ns: &str,
        dir: &Path,
        side: &[&str],
        conf: &str,
    ) -> Result<Self, String> {
        let tmp = dir.join("ka");
        std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
        let p = |f: &str| tmp.join(f).display().to_string();
        let tmpdir = format!("TMPDIR={}", tmp.display());
        let ka = keepalived().display().to_string();
        let (kpid, vpid, cpid, bpid) = (p("k.pid"), p("vrrp.pid"), p("check.pid"), p("bfd.pid"));
        let mut args = vec![tmpdir.as_str(), ka.as_str()];
        args.extend_from_slice(side);
        args.extend_from_slice(&[
            "-n", "-l", "-D", "-f", conf, "-p", &kpid, "-r", &vpid, "-c", &cpid, "-b", &bpid,
        ]);
        let log = tmp.join("keepalived.log");
        let parent = lab
            .spawn(ns, "env", &args, &log)
            .map_err(|e| e.to_string())?;
        Ok(Self { parent, tmp, log })
    }

    /// The pid in the pid file `name` (`vrrp.pid`, `check.pid`) once keepalived wrote it.
    pub fn child(&self, name: &str) -> Option<u32> {
        std::fs::read_to_string(self.tmp.join(name))
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
    }

    /// SIGTERM, then SIGKILL if it is still there after `grace`.
    pub fn stop(&self, lab: &mut Lab, grace: Duration) {
        let _ = lab.signal(self.parent, "TERM");
        if !lab.wait_exit(self.parent, grace).unwrap_or(false) {
            let _ = lab.signal(self.parent, "KILL");
            let _ = lab.wait_exit(self.parent, Duration::from_secs(5));
        }
    }
}

/// One message keepalived's `-t` printed on stderr.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct KaMessage {
    /// The file the message names (`(FILE: Line N)`); `None` for `(Line N)`,
    /// which keepalived prints while it reads its main file (lib/parser.c
    /// `vreport_config_error`: the file name only once `include` is possible).
    pub file: Option<String>,
    /// The line, if the message carries one.
    pub line: Option<u32>,
    /// The text after the location.
    pub text: String,
}

/// Parses keepalived's `-t` stderr. Messages repeat once per process that
/// reads the config (parent, VRRP, checker): duplicates of the same
/// (line, text) are merged, whatever the file form.
pub fn parse_keepalived_messages(stderr: &str) -> Vec<KaMessage> {
    let mut out: Vec<KaMessage> = Vec::new();
    for raw in stderr.lines() {
        let line = raw.trim_end();
        if line.is_empty() {
            continue;
        }
        let msg = parse_one(line);
        if !out.iter().any(|m| m.line == msg.line && m.text == msg.text) {
            out.push(msg);
        }
    }
    out
}

fn parse_one(line: &str) -> KaMessage {
    if let Some(rest) = line.strip_prefix('(')
        && let Some(close) = rest.find(") ")
    {
        let loc = &rest[..close];
        let text = rest[close + 2..].to_owned();
        if let Some(n) = loc.strip_prefix("Line ")
            && let Ok(n) = n.parse()
        {
            return KaMessage {
                file: None,
                line: Some(n),
                text,
            };
        }
        if let Some((file, n)) = loc.rsplit_once(": Line ")
            && let Ok(n) = n.parse()
        {
            return KaMessage {
                file: Some(file.to_owned()),
                line: Some(n),
                text,
            };
        }
    }
    KaMessage {
        file: None,
        line: None,
        text: line.to_owned(),
    }
}

/// One diagnostic of ours.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct OurDiag {
    /// The file it names.
    pub file: String,
    /// Line (1-based).
    pub line: u32,
    /// Column (1-based).
    pub col: u32,
    /// `error`, `warning`, `security` or `note`.
    pub severity: String,
    /// The message.
    pub text: String,
}

/// Parses `FILE:LINE:COL: severity: message` lines; other lines (the
/// summary) are ignored.
pub fn parse_our_diags(stderr: &str) -> Vec<OurDiag> {
    let mut out = Vec::new();
    for line in stderr.lines() {
        for severity in ["error", "warning", "security", "note"] {
            let tag = format!(": {severity}: ");
            let Some(at) = line.find(&tag) else { continue };
            let loc = &line[..at];
            let mut parts = loc.rsplitn(3, ':');
            let (Some(col), Some(ln), Some(file)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let (Ok(col), Ok(ln)) = (col.parse(), ln.parse()) else {
                continue;
            };
            let d = OurDiag {
                file: file.to_owned(),
                line: ln,
                col,
                severity: severity.to_owned(),
                text: line[at + tag.len()..].to_owned(),
            };
            if !out.contains(&d) {
                out.push(d);
            }
            break;
        }
    }
    out
}

/// The last path component (diagnostics name files by the path they were
/// given; fixtures are compared by name).
pub fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// A block of keepalived's data dump: `Key = Value` pairs and lists.
#[derive(Debug, Clone, Default)]
pub struct DumpBlock {
    /// `Key = Value` lines directly in the block (first occurrence wins).
    pub values: BTreeMap<String, String>,
    /// List headers (`Virtual IP (2):`, `Unicast Peer :`, `Tracked scripts :`)
    /// with their entries (lines indented deeper than the header).
    pub lists: BTreeMap<String, Vec<String>>,
}

/// keepalived's SIGUSR1 dump (keepalived/vrrp/vrrp_print.c → vrrp_data.c
/// `dump_data_vrrp`), as far as the test reads it.
#[derive(Debug, Clone, Default)]
pub struct KaDump {
    /// `------< Global definitions >------`.
    pub global: BTreeMap<String, String>,
    /// ` VRRP Instance = NAME` blocks.
    pub instances: BTreeMap<String, DumpBlock>,
    /// ` VRRP Script = NAME` blocks.
    pub scripts: BTreeMap<String, DumpBlock>,
    /// keepalived's log of the run (for FAULT reasons); filled by the caller.
    pub log: String,
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// Parses the data file.
pub fn parse_keepalived_dump(text: &str) -> KaDump {
    let mut dump = KaDump::default();
    let mut section = String::new();
    // (kind, name) of the block being read, and the open list header.
    let mut current: Option<(&'static str, String)> = None;
    let mut list: Option<(usize, String)> = None;
    for line in text.lines() {
        let t = line.trim();
        if let Some(s) = t.strip_prefix("------<") {
            section = s
                .trim_end_matches('-')
                .trim_end_matches('>')
                .trim()
                .to_owned();
            current = None;
            list = None;
            continue;
        }
        if section == "Global definitions" {
            if let Some((k, v)) = t.split_once(" = ") {
                dump.global.entry(k.to_owned()).or_insert(v.to_owned());
            }
            continue;
        }
        let header = match section.as_str() {
            "VRRP Topology" => t.strip_prefix("VRRP Instance = ").map(|n| ("instance", n)),
            "VRRP Scripts" => t.strip_prefix("VRRP Script = ").map(|n| ("script", n)),
            _ => None,
        };
        if let Some((kind, name)) = header
            && indent(line) == 1
        {
            {
                current = Some((kind, name.to_owned()));
                list = None;
                continue;
            }
        }
        let Some((kind, name)) = &current else {
            continue;
        };
        let map = if *kind == "instance" {
            &mut dump.instances
        } else {
            &mut dump.scripts
        };
        let block = map.entry(name.clone()).or_default();
        let ind = indent(line);
        if let Some((lind, lname)) = &list {
            if ind > *lind {
                block
                    .lists
                    .entry(lname.clone())
                    .or_default()
                    .push(t.to_owned());
                continue;
            }
            list = None;
        }
        if t.ends_with(':') && !t.contains(" = ") {
            let key = t.trim_end_matches(':').trim();
            // `Virtual IP (2)` → `Virtual IP`.
            let key = key.split(" (").next().unwrap_or(key).to_owned();
            block.lists.entry(key.clone()).or_default();
            list = Some((ind, key));
            continue;
        }
        if let Some((k, v)) = t.split_once(" = ") {
            block.values.entry(k.to_owned()).or_insert(v.to_owned());
        }
    }
    dump
}

/// Rewrites every IPv4 and IPv6 address in `text` into the test ranges:
/// each distinct IPv4 to a distinct 198.51.100.x (x from 10 to 250, then
/// 203.0.113.10..250, so that the test namespace's own addresses .1 and
/// .252-.254 stay free), each distinct IPv6 to a distinct 2001:db8::1:x. Netmasks (255.*, 0.0.0.0) and
/// multicast groups are not addresses of hosts and are kept. An address
/// range `A.B.C.D-E` maps to a range of the same length inside one /24.
/// Returns the text and the mapping.
pub fn rewrite_addresses(text: &str) -> (String, BTreeMap<String, String>) {
    let mut map: BTreeMap<String, String> = BTreeMap::new();
    let mut v4 = 0u32;
    let mut v6 = 0u32;
    let mut out = String::with_capacity(text.len());
    let mut token = String::new();
    let is_tok = |c: char| c.is_ascii_hexdigit() || c == '.' || c == ':' || c == '-';
    let mut flush = |token: &mut String, out: &mut String| {
        if token.is_empty() {
            return;
        }
        let replaced = map_token(token, &mut map, &mut v4, &mut v6);
        out.push_str(&replaced);
        token.clear();
    };
    for c in text.chars() {
        if is_tok(c) {
            token.push(c);
        } else {
            flush(&mut token, &mut out);
            out.push(c);
        }
    }
    flush(&mut token, &mut out);
    (out, map)
}

/// The first of `count` consecutive test addresses after the `used` ones
/// handed out, inside one /24 (198.51.100.10..250, then 203.0.113.10..250).
fn allocate_v4(used: &mut u32, count: u32) -> Ipv4Addr {
    const PER_BLOCK: u32 = 241;
    let mut start = *used;
    if start % PER_BLOCK + count > PER_BLOCK {
        start = (start / PER_BLOCK + 1) * PER_BLOCK;
    }
    assert!(
        start + count <= 2 * PER_BLOCK,
        "more distinct IPv4 addresses than the test ranges hold"
    );
    *used = start + count;
    let octet = (start % PER_BLOCK + 10) as u8;
    if start < PER_BLOCK {
        Ipv4Addr::new(198, 51, 100, octet)
    } else {
        Ipv4Addr::new(203, 0, 113, octet)
    }
}

fn map_token(
    token: &str,
    map: &mut BTreeMap<String, String>,
    v4: &mut u32,
    v6: &mut u32,
) -> String {
    // `A.B.C.D-E`: a range of E - D + 1 addresses.
    if let Some((left, end)) = token.split_once('-')
        && let Ok(a) = left.parse::<Ipv4Addr>()
        && let Ok(end) = end.parse::<u8>()
        && end >= a.octets()[3]
    {
        let len = u32::from(end - a.octets()[3]);
        return map
            .entry(token.to_owned())
            .or_insert_with(|| {
                let first = allocate_v4(v4, len + 1);
                format!("{first}-{}", u32::from(first.octets()[3]) + len)
            })
            .clone();
    }
    if token.contains('-') {
        // Words with dashes: each part on its own.
        return token
            .split('-')
            .map(|part| map_token(part, map, v4, v6))
            .collect::<Vec<_>>()
            .join("-");
    }
    // Trailing dots or colons belong to the text (`addr.`), not the address.
    let core = token.trim_end_matches(['.', ':']);
    let tail = &token[core.len()..];
    if let Ok(a) = core.parse::<Ipv4Addr>() {
        if a.octets()[0] == 255 || a.is_unspecified() || a.is_multicast() || a.is_loopback() {
            return token.to_owned();
        }
        let m = map
            .entry(core.to_owned())
            .or_insert_with(|| allocate_v4(v4, 1).to_string());
        return format!("{m}{tail}");
    }
    if core.contains(':')
        && let Ok(a) = core.parse::<Ipv6Addr>()
    {
        if a.is_multicast() || a.is_loopback() || a.is_unspecified() {
            return token.to_owned();
        }
        let m = map.entry(core.to_owned()).or_insert_with(|| {
            *v6 += 1;
            format!("2001:db8::1:{:x}", *v6)
        });
        return format!("{m}{tail}");
    }
    token.to_owned()
}

/// Whether `ip` is inside the ranges tests may use.
pub fn in_test_ranges(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            (o[0], o[1], o[2]) == (198, 51, 100) || (o[0], o[1], o[2]) == (203, 0, 113)
        }
        IpAddr::V6(a) => {
            let s = a.segments();
            s[0] == 0x2001 && s[1] == 0x0db8
        }
    }
}

/// keepalived's checker data dump (`keepalived_check.data`, written on
/// SIGUSR1 by check_print.c `check_print_data` → check_data.c
/// `dump_data_check`) and differences.toml, as `tests/compat_vm.rs` reads
/// them; `tests/compat.rs` reads differences.toml with them too (it compiles this file
/// and uses only that, hence the allowance).
#[allow(dead_code)]
pub mod check {
    use std::collections::BTreeMap;
    use std::path::Path;

    /// One virtual server of `------< LVS Topology >------`
    /// (check_data.c `dump_vs`).
    #[derive(Debug, Clone, Default)]
    pub struct KaVirtualServer {
        /// keepalived's name for it (check_data.c `format_vs`):
        /// `[ADDR]:tcp:PORT`, `FWM N` or `[GROUP]:PORT`; the checkers name it so.
        pub id: String,
        /// `Key = Value` pairs (first occurrence wins; `a = 1, b = 2` gives two).
        pub values: BTreeMap<String, String>,
        /// Its real servers, in keepalived's order.
        pub real_servers: Vec<KaRealServer>,
    }

    /// One `------< Real server >------` (check_data.c `dump_rs`).
    #[derive(Debug, Clone, Default)]
    pub struct KaRealServer {
        /// `[ADDR]:PROTO:PORT` (check_data.c `format_rs`).
        pub id: String,
        /// `[ADDR]:PORT`, from `RIP = …, RPORT = …`.
        pub address: String,
        /// `Key = Value` pairs, first occurrence wins.
        pub values: BTreeMap<String, String>,
        /// Its checkers from `------< Health checkers >------`, in queue order.
        pub checkers: Vec<BTreeMap<String, String>>,
    }

    /// The parsed dump: virtual servers with their real servers and checkers.
    #[derive(Debug, Clone, Default)]
    pub struct KaCheckDump {
        /// In keepalived's order (the configuration's).
        pub virtual_servers: Vec<KaVirtualServer>,
        /// Checkers whose ` VS -> RS` header matched no real server.
        pub orphans: Vec<String>,
    }

    /// Splits a dump line into `Key = Value` pairs at `, ` (keepalived puts
    /// several on one line: `quorum = 3, hysteresis = 1`).
    fn pairs(line: &str) -> impl Iterator<Item = (&str, &str)> {
        line.split(", ").filter_map(|p| p.split_once(" = "))
    }

    fn insert_pairs(map: &mut BTreeMap<String, String>, line: &str, prefix: &str) {
        for (k, v) in pairs(line) {
            map.entry(format!("{prefix}{k}"))
                .or_insert_with(|| v.to_owned());
        }
    }

    /// Parses the data file. A checker's `Connection` options (check_api.c
    /// `dump_connection_opts`: `Dest`, `Timeout`, …) are stored as
    /// `conn.Dest`, `conn.Timeout`, so that the kind-specific lines that
    /// follow (a MISC_CHECK's `timeout = N`) cannot be taken for them.
    pub fn parse_keepalived_check_dump(text: &str) -> KaCheckDump {
        let mut dump = KaCheckDump::default();
        let mut section = String::new();
        // Inside LVS Topology: whether a VS / RS block is open.
        let mut in_vs = false;
        let mut in_rs = false;
        // Inside Health checkers: (vs index, rs index) of the open checker,
        // whether its Connection block is open, and the search cursor (the
        // queue is in configuration order, so matching moves forward only).
        let mut checker: Option<(usize, usize)> = None;
        let mut in_conn = false;
        let mut cursor = (0usize, 0usize);
        for line in text.lines() {
            let t = line.trim();
            let ind = line.len() - line.trim_start().len();
            if ind == 0
                && let Some(s) = t.strip_prefix("------<")
            {
                section = s.trim_end_matches(['-', '>']).trim().to_owned();
                fill_ids(&mut dump);
                in_vs = false;
                in_rs = false;
                checker = None;
                continue;
            }
            match section.as_str() {
                "LVS Topology" => {
                    if t == "------< Virtual server >------" {
                        dump.virtual_servers.push(KaVirtualServer::default());
                        in_vs = true;
                        in_rs = false;
                        continue;
                    }
                    if t == "------< Real server >------" && in_vs {
                        let vs = dump.virtual_servers.last_mut().expect("open vs");
                        vs.real_servers.push(KaRealServer::default());
                        in_rs = true;
                        continue;
                    }
                    if t.starts_with("------<") {
                        // A virtual server group (check_data.c dump_vsg).
                        in_vs = false;
                        in_rs = false;
                        continue;
                    }
                    if !in_vs {
                        continue;
                    }
                    let vs = dump.virtual_servers.last_mut().expect("open vs");
                    if in_rs {
                        let rs = vs.real_servers.last_mut().expect("open rs");
                        insert_pairs(&mut rs.values, t, "");
                    } else {
                        insert_pairs(&mut vs.values, t, "");
                    }
                }
                "Health checkers" => {
                    if ind == 1
                        && let Some((v, r)) = t.split_once(" -> ")
                    {
                        in_conn = false;
                        checker = find_rs(&dump, cursor, v, r);
                        match checker {
                            Some((vi, ri)) => {
                                cursor = (vi, ri);
                                dump.virtual_servers[vi].real_servers[ri]
                                    .checkers
                                    .push(BTreeMap::new());
                            }
                            None => dump.orphans.push(t.to_owned()),
                        }
                        continue;
                    }
                    let Some((vi, ri)) = checker else { continue };
                    let ck = dump.virtual_servers[vi].real_servers[ri]
                        .checkers
                        .last_mut()
                        .expect("open checker");
                    if t == "Connection" {
                        in_conn = true;
                        continue;
                    }
                    if in_conn && ind > 3 {
                        insert_pairs(ck, t, "conn.");
                        continue;
                    }
                    in_conn = false;
                    insert_pairs(ck, t, "");
                }
                _ => {}
            }
        }
        fill_ids(&mut dump);
        dump
    }

    /// Sets the names the checkers use (check_data.c `format_vs`,
    /// `format_rs`: utils.c `inet_sockaddrtotrio`) from the fields read.
    fn fill_ids(dump: &mut KaCheckDump) {
        for vs in &mut dump.virtual_servers {
            let proto = match vs.values.get("protocol").map(String::as_str) {
                Some("TCP") => "tcp",
                Some("UDP") => "udp",
                Some("SCTP") => "sctp",
                Some("none") | None => "none",
                Some(_) => "?",
            };
            let get = |m: &BTreeMap<String, String>, k: &str| m.get(k).cloned().unwrap_or_default();
            vs.id = if let Some(g) = vs.values.get("VS GROUP") {
                g.clone()
            } else if let Some(m) = vs.values.get("VS FWMARK") {
                format!("FWM {m}")
            } else {
                format!(
                    "[{}]:{proto}:{}",
                    get(&vs.values, "VS VIP"),
                    get(&vs.values, "VPORT")
                )
            };
            for rs in &mut vs.real_servers {
                let (ip, port) = (get(&rs.values, "RIP"), get(&rs.values, "RPORT"));
                rs.id = format!("[{ip}]:{proto}:{port}");
                rs.address = format!("[{ip}]:{port}");
            }
        }
    }

    /// The first real server at or after `from` named (`vs`, `rs`). The queue
    /// is in configuration order; only a (VS, RS) pair defined twice with
    /// the same addresses is ambiguous, and its checkers go to the first.
    fn find_rs(
        dump: &KaCheckDump,
        from: (usize, usize),
        vs: &str,
        rs: &str,
    ) -> Option<(usize, usize)> {
        dump.virtual_servers
            .iter()
            .enumerate()
            .flat_map(|(vi, v)| {
                v.real_servers
                    .iter()
                    .enumerate()
                    .map(move |(ri, r)| (vi, ri, v, r))
            })
            .find(|(vi, ri, v, r)| (*vi, *ri) >= from && v.id == vs && r.id == rs)
            .map(|(vi, ri, _, _)| (vi, ri))
    }

    /// One entry of differences.toml: (fixture, key).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct KnownDifference {
        /// The fixture's file name without `.conf`.
        pub fixture: String,
        /// The key the test prints for the difference.
        pub key: String,
    }

    /// Reads differences.toml (`[[difference]]` tables with fixture, key
    /// and reason); panics on a malformed file.
    pub fn load_differences(path: &Path) -> Vec<KnownDifference> {
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let doc: toml_edit::DocumentMut = text.parse().expect("differences.toml parses");
        let mut out = Vec::new();
        if let Some(arr) = doc.get("difference").and_then(|i| i.as_array_of_tables()) {
            for t in arr.iter() {
                let s = |k: &str| {
                    t.get(k)
                        .and_then(|v| v.as_str())
                        .unwrap_or_else(|| panic!("differences.toml: entry without {k}"))
                        .to_owned()
                };
                let _reason = s("reason");
                out.push(KnownDifference {
                    fixture: s("fixture"),
                    key: s("key"),
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalived_messages_are_parsed_and_merged_across_processes() {
        let text = "(Line 3) Unknown keyword 'x'\n(/a/b.conf: Line 3) Unknown keyword 'x'\n\
                    Virtual server [198.51.100.4]:tcp:80: no scheduler set\n";
        let m = parse_keepalived_messages(text);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].line, Some(3));
        assert_eq!(m[1].line, None);
    }

    #[test]
    fn our_diagnostics_are_parsed() {
        let d = parse_our_diags("/x/a.conf:14:12: error: priority 300\n/x/a.conf: 1 error(s)\n");
        assert_eq!(d.len(), 1);
        assert_eq!(
            (d[0].line, d[0].col, d[0].severity.as_str()),
            (14, 12, "error")
        );
    }

    #[test]
    fn checker_dump_is_parsed_and_checkers_attached_to_their_real_servers() {
        // Shaped like keepalived 2.2.7's keepalived_check.data (check_data.c
        // dump_vs / dump_rs, check_api.c dump_checker): a VS defined twice
        // keeps its own checkers.
        let text = "------< LVS Topology >------\n System is compiled with LVS v1.2.1\n \
            ------< Virtual server group >------\n Virtual Server Group = G, IPv4 = yes, IPv6 = no\n   \
            VIP = 203.0.113.1, VPORT = 80\n ------< Virtual server >------\n \
            VS VIP = 203.0.113.10, VPORT = 80\n   delay_loop = 6.000000\n   lvs_sched = wrr\n   \
            protocol = TCP\n   quorum = 3, hysteresis = 1\n   default forwarding method = NAT\n   \
            sorry server = [198.51.100.99]:tcp:8080\n     forwarding method = DR\n   \
            ------< Real server >------\n   RIP = 198.51.100.21, RPORT = 8080, WEIGHT = 2 EFF WEIGHT = 2\n   \
            forwarding method = NAT\n   initial weight = 2\n \
            ------< Virtual server >------\n VS VIP = 203.0.113.10, VPORT = 80\n   protocol = TCP\n   \
            ------< Real server >------\n   RIP = 198.51.100.22, RPORT = 8080, WEIGHT = 1 EFF WEIGHT = 1\n\
            ------< Health checkers >------\n [203.0.113.10]:tcp:80 -> [198.51.100.21]:tcp:8080\n   \
            Retries = 1\n   Connection\n     Dest = [198.51.100.21]:8080\n     Timeout = 3.000000\n   \
            Keepalive method = MISC_CHECK\n   timeout = 9\n \
            [203.0.113.10]:tcp:80 -> [198.51.100.21]:tcp:8080\n   Retries = 2\n   \
            Keepalive method = HTTP_GET, http protocol 1.0\n \
            [203.0.113.10]:tcp:80 -> [198.51.100.22]:tcp:8080\n   Retries = 3\n";
        let d = check::parse_keepalived_check_dump(text);
        assert_eq!(d.virtual_servers.len(), 2);
        let vs = &d.virtual_servers[0];
        assert_eq!(vs.id, "[203.0.113.10]:tcp:80");
        assert_eq!(vs.values["quorum"], "3");
        assert_eq!(vs.values["hysteresis"], "1");
        assert_eq!(vs.values["default forwarding method"], "NAT");
        let rs = &vs.real_servers[0];
        assert_eq!(rs.address, "[198.51.100.21]:8080");
        assert_eq!(rs.values["forwarding method"], "NAT");
        assert_eq!(rs.values["initial weight"], "2");
        assert_eq!(rs.checkers.len(), 2);
        assert_eq!(rs.checkers[0]["conn.Timeout"], "3.000000");
        assert!(!rs.checkers[0].contains_key("Timeout"));
        assert_eq!(rs.checkers[1]["Keepalive method"], "HTTP_GET");
        // The third belongs to the second definition of the same VS.
        assert_eq!(d.virtual_servers[1].real_servers[0].checkers.len(), 1);
        assert!(d.orphans.is_empty());
    }

    /// The inputs are the private addresses keepalived's samples are written with: the
    /// rewriter exists to move them into the test ranges (text only, never sent anywhere).
    #[test]
    fn addresses_are_mapped_distinctly_and_masks_kept() {
        let (t, m) = rewrite_addresses(
            "a 192.168.1.1 b 192.168.1.1/24 c 10.0.0.2 255.255.255.0 224.0.0.18 ae00::1 ae00::2",
        );
        assert_eq!(
            t,
            "a 198.51.100.10 b 198.51.100.10/24 c 198.51.100.11 255.255.255.0 224.0.0.18 2001:db8::1:1 2001:db8::1:2"
        );
        assert_eq!(m.len(), 4);
        let (t, _) = rewrite_addresses("192.168.1.1 192.168.200.10-20 80 lb-1 dead-beef");
        assert_eq!(t, "198.51.100.10 198.51.100.11-21 80 lb-1 dead-beef");
    }
}
