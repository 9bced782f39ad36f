//! Differential test of virtual servers and checkers against Debian's
//! keepalived 2.2.7, inside the IPVS VM of `tests/vm/` (keepalived's checker
//! side needs IPVS, which the build machines' kernel lacks; tests/compat.rs
//! can only compare these values with the ones expectations.toml records).
//!
//! For every fixture in tests/compat/ with a `virtual_server`, keepalived's
//! checker side runs in a network namespace of its own
//! (`keepalived --check -n -l -D -f FIXTURE` with its own pid files), writes
//! its data file on SIGUSR1 (check_daemon.c `sigusr1_check` →
//! check_print.c: `$TMPDIR/keepalived_check.data`) and is stopped. Per
//! virtual server, real server and checker, the values it resolved are
//! compared with our `vrrp-core --dump-config`. Differences not listed in
//! tests/compat/differences.toml (keys `checker vsN…`) fail, one line each.
//!
//! `#[ignore]`d: it needs real IPVS. Run it (root, `cargo build -p vrrp-core`
//! first) with
//!
//! ```text
//! CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER=$PWD/tests/vm/run.sh \
//!     cargo test -p keepalived-tests --test compat_vm -- --ignored --nocapture
//! ```
//!
//! `COMPAT_VM_REPORT=FILE` also writes the differences, one a line, to FILE.
#![forbid(unsafe_code)]
// std::time::Instant: these tests wait on a real keepalived in a VM (clippy.toml bans it elsewhere).
#![allow(clippy::disallowed_types)]

#[path = "src/compat.rs"]
#[allow(dead_code)] // the VRRP-side helpers are tests/compat.rs's
mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use keepalived_testlab::{Lab, prerequisites_met, wait_until};
use serde_json::Value;
use support::check::{KaCheckDump, KaRealServer, KaVirtualServer, KnownDifference};

fn compat_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("compat")
}

/// The fixtures with a virtual server (`virtual_server ADDR PORT`,
/// `virtual_server fwmark N`, `virtual_server group NAME`).
fn fixtures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(compat_dir())
        .expect("tests/compat")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "conf"))
        .filter(|p| {
            std::fs::read_to_string(p).is_ok_and(|t| {
                t.lines()
                    .any(|l| l.trim_start().starts_with("virtual_server "))
            })
        })
        .collect();
    v.sort();
    v
}

fn stem(p: &Path) -> String {
    p.file_stem().unwrap().to_string_lossy().into_owned()
}

/// Root, `ip`, keepalived and IPVS (`/proc/net/ip_vs` exists once the
/// module is loaded; tests/vm/init loads it). The test is `#[ignore]`d and
/// run on purpose in the VM, whose environment does not carry CI=true
/// (tests/vm/run.sh passes RUST_*, CARGO_*, KRS_* only): a missing
/// keepalived or IPVS is a failure, like the other VM tests' missing IPVS.
fn prerequisites() -> bool {
    let test = "compat checker (VM)";
    if !prerequisites_met(test, &[]) {
        return false;
    }
    let mut missing = Vec::new();
    if !support::keepalived().is_file() {
        missing.push("keepalived 2.2.7 (scripts/install-test-deps.sh)");
    }
    if !Path::new("/proc/net/ip_vs").exists() {
        missing.push("IPVS (run it inside tests/vm/run.sh)");
    }
    assert!(missing.is_empty(), "{test}: needs {}", missing.join(", "));
    true
}

/// The VM's initramfs has no /etc: without a passwd file keepalived cannot
/// resolve `script_user root` ("Unable to resolve script username"), and
/// script security then disables MISC_CHECKs. Creates the two files only
/// where they are missing, which is only in that throw-away guest.
fn ensure_passwd() {
    for (file, line) in [
        ("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
        ("/etc/group", "root:x:0:\n"),
    ] {
        if !Path::new(file).exists() {
            std::fs::create_dir_all("/etc").expect("/etc");
            std::fs::write(file, line).unwrap_or_else(|e| panic!("{file}: {e}"));
        }
    }
}

/// The fixture itself, or, when its `SSL { ca … certificate … key … }`
/// names files this system lacks (the VM has no /etc), a copy in `dir`
/// naming a CA, certificate and key made here: keepalived's checker stops
/// when it cannot load them (check_ssl.c "Cant load certificate file"),
/// and the values compared do not depend on them.
fn with_ssl_files(conf: &Path, dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(conf).expect("fixture");
    let mut in_ssl = false;
    let mut changed = false;
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let t = line.trim();
        let mut words = t.split_whitespace();
        let (first, second) = (words.next(), words.next());
        if t == "SSL {" {
            in_ssl = true;
        } else if in_ssl && t == "}" {
            in_ssl = false;
        } else if in_ssl
            && let (Some(kw @ ("ca" | "certificate" | "key")), Some(path)) = (first, second)
            && !Path::new(path).exists()
        {
            let indent = &line[..line.len() - line.trim_start().len()];
            let file = dir.join(format!("ssl-{kw}.pem"));
            out.push_str(&format!("{indent}{kw} {}\n", file.display()));
            changed = true;
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    if !changed {
        return conf.to_owned();
    }
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = rcgen::CertificateParams::new(vec!["www.example.com".to_owned()])
        .expect("params")
        .self_signed(&key)
        .expect("certificate");
    for (kw, pem) in [
        ("ca", cert.pem()),
        ("certificate", cert.pem()),
        ("key", key.serialize_pem()),
    ] {
        std::fs::write(dir.join(format!("ssl-{kw}.pem")), pem).expect("ssl file");
    }
    let copy = dir.join(conf.file_name().expect("file name"));
    std::fs::write(&copy, out).expect("fixture copy");
    copy
}

// ------------------------------------------------------------ one fixture

/// What one fixture produced.
struct Run {
    name: String,
    ka: Result<KaCheckDump, String>,
    ours: Result<Value, String>,
}

fn run_fixture(conf: &Path) -> Run {
    let name = stem(conf);
    let mut lab = Lab::new("ckvm").expect("lab");
    let ns = lab.isolated("n").expect("namespace");
    let dir = lab.dir().expect("dir");
    let conf = with_ssl_files(conf, &dir);
    let conf_s = conf.to_str().unwrap();
    let ka = keepalived_check_dump(&mut lab, &ns, &dir, conf_s);
    let dump = Command::new(keepalived_tests::bin_path("vrrp-core"))
        .args(["--dump-config", "-f", conf_s])
        .stdin(Stdio::null())
        .output()
        .expect("vrrp-core --dump-config");
    let ours = if dump.status.success() {
        serde_json::from_slice(&dump.stdout).map_err(|e| format!("--dump-config JSON: {e}"))
    } else {
        let err = String::from_utf8_lossy(&dump.stderr);
        let first = err
            .lines()
            .find(|l| l.contains(": error: "))
            .or_else(|| err.lines().next())
            .unwrap_or("");
        Err(format!(
            "--dump-config refused (exit {}): {}",
            dump.status.code().unwrap_or(-1),
            support::base_name(first)
        ))
    };
    Run { name, ka, ours }
}

/// Starts keepalived's checker side in `ns`, waits for its start-up (the
/// SIGUSR1 handler is set before it reports in: check_daemon.c
/// `check_signal_init`, config_notify.c "Startup complete"), sends SIGUSR1 to
/// the checker child, then SIGTERM to the parent: the dump is one event of
/// the child's single thread, so once the file exists it is complete when
/// the process has exited.
fn keepalived_check_dump(
    lab: &mut Lab,
    ns: &str,
    dir: &Path,
    conf: &str,
) -> Result<KaCheckDump, String> {
    let ka = support::KeepalivedRun::start(lab, ns, dir, &["--check"], conf)?;
    let (log, parent) = (ka.log.clone(), ka.parent);
    let data = ka.tmp.join("keepalived_check.data");
    // Generous: under emulation keepalived starts in about a second.
    let started = wait_until(Duration::from_secs(60), || {
        std::fs::read_to_string(&log).is_ok_and(|l| l.contains("Startup complete"))
            || lab.wait_exit(parent, Duration::ZERO).unwrap_or(true)
    });
    let child = ka.child("check.pid");
    let result = match child {
        Some(child)
            if started
                && std::fs::read_to_string(&log).is_ok_and(|l| l.contains("Startup complete")) =>
        {
            let sent = Command::new("kill")
                .args(["-USR1", &child.to_string()])
                .status()
                .is_ok_and(|s| s.success());
            if sent && wait_until(Duration::from_secs(30), || data.exists()) {
                Ok(())
            } else {
                Err(format!(
                    "keepalived's checker wrote no data file after SIGUSR1: {}",
                    log_gist(&log)
                ))
            }
        }
        _ => Err(format!(
            "keepalived's checker side does not run it: {}",
            log_gist(&log)
        )),
    };
    ka.stop(lab, Duration::from_secs(30));
    result?;
    let text = std::fs::read_to_string(&data).map_err(|e| e.to_string())?;
    Ok(support::check::parse_keepalived_check_dump(&text))
}

/// keepalived's log without its start-up and shutdown boilerplate, one line.
fn log_gist(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let boring = [
        "Starting ",
        "Running on",
        "Command line",
        "Opening file",
        "Configuration file",
        "NOTICE",
        "Stopped",
        "CPU usage",
    ];
    text.lines()
        // "Mon Dec  7 00:57:14 2026: message"
        .map(|l| l.get(26..).unwrap_or(l))
        .filter(|l| !l.starts_with(' ') && !boring.iter().any(|b| l.starts_with(b)))
        .collect::<Vec<_>>()
        .join(" | ")
        .replace(&format!("{}/", compat_dir().display()), "")
}

// ------------------------------------------------------------ comparisons

/// One difference; `key` identifies it in differences.toml.
#[derive(Debug, Clone)]
struct Diff {
    key: String,
    text: String,
}

/// The differences of one fixture, and how many values were compared.
#[derive(Debug, Default)]
struct Out {
    diffs: Vec<Diff>,
    compared: usize,
}

impl Out {
    fn push(&mut self, key: String, text: String) {
        self.diffs.push(Diff { key, text });
    }

    /// Compares one value. keepalived always prints the fields compared
    /// (absent optional ones are filled in by the caller), so an empty or
    /// unparsed value of its is a parsing failure here, not a match.
    fn field(&mut self, key: &str, f: &str, kv: String, ov: String) {
        self.compared += 1;
        if kv.is_empty() || kv.contains('?') {
            self.push(
                format!("{key}.{f}"),
                format!("keepalived's dump shows no readable {f} ({kv:?}); we {ov}"),
            );
        } else if kv != ov {
            self.push(format!("{key}.{f}"), format!("keepalived {kv}; we {ov}"));
        }
    }
}

fn compare(run: &Run) -> Out {
    let mut out = Out::default();
    let ours = match (&run.ka, &run.ours) {
        (Ok(_), Ok(v)) => v,
        // Neither runs it: no difference.
        (Err(_), Err(_)) => return out,
        (Err(e), Ok(_)) => {
            out.push(
                "checker keepalived-run".into(),
                format!("{e}; our --dump-config resolves it"),
            );
            return out;
        }
        (Ok(_), Err(e)) => {
            out.push(
                "checker dump-config".into(),
                format!("keepalived's checker runs it; {e}"),
            );
            return out;
        }
    };
    let ka = run.ka.as_ref().expect("checked above");
    let empty = Vec::new();
    let our_vss = ours
        .get("virtual_servers")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    for orphan in &ka.orphans {
        out.push(
            "checker orphan".into(),
            format!("keepalived's checker {orphan:?} names no real server of its dump"),
        );
    }
    for i in 0..ka.virtual_servers.len().max(our_vss.len()) {
        let key = format!("checker vs{i}");
        match (ka.virtual_servers.get(i), our_vss.get(i)) {
            (Some(k), Some(o)) => compare_vs(&key, k, o, &mut out),
            (Some(k), None) => out.push(
                key,
                format!("keepalived has virtual server {}; we have none", k.id),
            ),
            (None, Some(o)) => out.push(
                key,
                format!(
                    "we have virtual server {}; keepalived has none",
                    our_vs_id(o)
                ),
            ),
            (None, None) => unreachable!(),
        }
    }
    out
}

fn s(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(x) => x.to_string(),
    }
}

/// keepalived's value's first word, without a trailing comma.
fn word(v: Option<&String>) -> String {
    v.and_then(|s| s.split_whitespace().next())
        .unwrap_or("")
        .trim_end_matches(',')
        .to_owned()
}

/// Microseconds shown as seconds (`6s`, `0.5s`).
fn secs_us(us: Option<f64>) -> String {
    us.map_or("?".into(), |u| format!("{}s", u / 1e6))
}

/// keepalived's `6.000000` (seconds, check_data.c format_decimal or
/// check_api.c's `%f`) or `6000000 us` (check_api.c dump_checker), as seconds.
fn ka_secs(v: Option<&String>) -> String {
    let Some(v) = v else { return "?".into() };
    let mut w = v.split_whitespace();
    let n: Option<f64> = w.next().and_then(|n| n.parse().ok());
    let us = match (n, w.next()) {
        (Some(n), Some("us")) => Some(n),
        (Some(n), _) => Some((n * 1e6).round()),
        _ => None,
    };
    secs_us(us)
}

fn our_secs(v: Option<&Value>) -> String {
    secs_us(v.and_then(Value::as_f64))
}

/// `[ADDR]:PORT`, keepalived's form (utils.c inet_sockaddrtopair).
fn pair(ip: &str, port: &str) -> String {
    format!("[{ip}]:{port}")
}

/// Our virtual server's name in keepalived's form (check_data.c format_vs).
fn our_vs_id(o: &Value) -> String {
    let k = o.get("key");
    let f = |n: &str| s(k.and_then(|k| k.get(n)));
    match f("kind").as_str() {
        "fwmark" => format!("FWM {}", f("mark")),
        "group" => f("name"),
        _ => format!(
            "[{}]:{}:{}",
            f("ip"),
            match s(o.get("protocol")).as_str() {
                "" => "none".to_owned(),
                p => p.to_lowercase(),
            },
            f("port")
        ),
    }
}

fn compare_vs(key: &str, k: &KaVirtualServer, o: &Value, out: &mut Out) {
    let mut field = |f: &str, kv: String, ov: String| out.field(key, f, kv, ov);
    let g = |n: &str| k.values.get(n);
    // A group is named `[NAME]:PORT` by keepalived (format_vs); ours by name.
    let ka_id = if g("VS GROUP").is_some() {
        k.id.trim_start_matches('[')
            .split(']')
            .next()
            .unwrap_or("")
            .to_owned()
    } else {
        k.id.clone()
    };
    field("key", ka_id, our_vs_id(o));
    field(
        "protocol",
        word(g("protocol")),
        match s(o.get("protocol")).as_str() {
            "" => "none".into(),
            p => p.to_owned(),
        },
    );
    field("lvs_sched", word(g("lvs_sched")), s(o.get("lvs_sched")));
    let vs_method = s(o.get("lvs_method"));
    field(
        "lvs_method",
        word(g("default forwarding method")),
        vs_method.clone(),
    );
    // Printed only when set (check_data.c dump_vs).
    field(
        "persistence_timeout",
        g("persistence timeout").cloned().unwrap_or("0".into()),
        match o.get("persistence_timeout") {
            Some(Value::Null) | None => "0".into(),
            v => s(v),
        },
    );
    field(
        "persistence_granularity",
        g("persistence granularity")
            .cloned()
            .unwrap_or("none".into()),
        match s(o.get("persistence_granularity")) {
            g if g.is_empty() => "none".into(),
            g => g,
        },
    );
    field("quorum", word(g("quorum")), s(o.get("quorum")));
    field("hysteresis", word(g("hysteresis")), s(o.get("hysteresis")));
    field(
        "delay_loop",
        ka_secs(g("delay_loop")),
        our_secs(o.get("delay_loop")),
    );

    let empty = Vec::new();
    let our_rss = o
        .get("real_servers")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    for i in 0..k.real_servers.len().max(our_rss.len()) {
        let rkey = format!("{key}.rs{i}");
        match (k.real_servers.get(i), our_rss.get(i)) {
            (Some(kr), Some(or)) => compare_rs(&rkey, kr, or, &vs_method, out),
            (Some(kr), None) => out.push(
                rkey,
                format!("keepalived has real server {}; we have none", kr.address),
            ),
            (None, Some(or)) => out.push(
                rkey,
                format!(
                    "we have real server {}; keepalived has none",
                    pair(&s(or.get("ip")), &s(or.get("port")))
                ),
            ),
            (None, None) => unreachable!(),
        }
    }
}

fn compare_rs(key: &str, k: &KaRealServer, o: &Value, vs_method: &str, out: &mut Out) {
    let mut field = |f: &str, kv: String, ov: String| out.field(key, f, kv, ov);
    let (ip, port) = (s(o.get("ip")), s(o.get("port")));
    field("address", k.address.clone(), pair(&ip, &port));
    // The configured weight: `WEIGHT`/`effective weight` move with MISC_CHECK
    // and track_file weights once the checkers run.
    field(
        "weight",
        word(k.values.get("initial weight")),
        s(o.get("weight")),
    );
    // A real server takes its virtual server's method unless it sets one
    // (check_data.c alloc_rs).
    let method = match s(o.get("lvs_method")) {
        m if m.is_empty() => vs_method.to_owned(),
        m => m,
    };
    field(
        "lvs_method",
        word(k.values.get("forwarding method")),
        method,
    );

    // keepalived queues FILE_CHECKs after the configuration is read
    // (check_file.c add_rs_to_track_files), the others as they are read
    // (check_api.c queue_checker): ours in that order, keyed by our index.
    let empty = Vec::new();
    let mut our_cks: Vec<(usize, &Value)> = o
        .get("checkers")
        .and_then(Value::as_array)
        .unwrap_or(&empty)
        .iter()
        .enumerate()
        .collect();
    our_cks.sort_by_key(|(_, c)| s(c.get("kind").and_then(|k| k.get("type"))) == "FILE_CHECK");
    for i in 0..k.checkers.len().max(our_cks.len()) {
        let ckey = format!("{key}.ck{}", our_cks.get(i).map_or(i, |(n, _)| *n));
        match (k.checkers.get(i), our_cks.get(i).map(|(_, c)| *c)) {
            (Some(kc), Some(oc)) => {
                let mut field = |f: &str, kv: String, ov: String| out.field(&ckey, f, kv, ov);
                let g = |n: &str| kc.get(n);
                let kind = word(g("Keepalive method"));
                field(
                    "kind",
                    kind.clone(),
                    s(oc.get("kind").and_then(|k| k.get("type"))),
                );
                let t = oc.get("timing");
                let tg = |n: &str| t.and_then(|t| t.get(n));
                // FILE_CHECK has no timing (check_api.c dump_checker).
                if kind != "FILE_CHECK" {
                    field("retry", word(g("Retries")), s(tg("retry")));
                    // Printed only with retries (check_api.c dump_checker).
                    if g("Delay before retry").is_some() {
                        field(
                            "delay_before_retry",
                            ka_secs(g("Delay before retry")),
                            our_secs(tg("delay_before_retry")),
                        );
                    }
                    field(
                        "delay_loop",
                        ka_secs(g("Delay loop")),
                        our_secs(tg("delay_loop")),
                    );
                    field("warmup", ka_secs(g("Warmup")), our_secs(tg("warmup")));
                    field(
                        "alpha",
                        (word(g("Alpha")) == "yes").to_string(),
                        s(tg("alpha")),
                    );
                }
                // Connection options, for the checkers that have them.
                if g("conn.Dest").is_some() {
                    field(
                        "connect_timeout",
                        ka_secs(g("conn.Timeout")),
                        our_secs(tg("connect_timeout")),
                    );
                    let cip = match s(oc.get("connect_ip")) {
                        c if c.is_empty() => ip.clone(),
                        c => c,
                    };
                    let cport = match s(oc.get("connect_port")) {
                        c if c.is_empty() => port.clone(),
                        c => c,
                    };
                    field(
                        "connect",
                        g("conn.Dest").cloned().unwrap_or_default(),
                        pair(&cip, &cport),
                    );
                }
            }
            (Some(kc), None) => out.push(
                ckey,
                format!(
                    "keepalived has a {} checker; we have none",
                    word(kc.get("Keepalive method"))
                ),
            ),
            (None, Some(oc)) => out.push(
                ckey,
                format!(
                    "we have a {} checker; keepalived has none",
                    s(oc.get("kind").and_then(|k| k.get("type")))
                ),
            ),
            (None, None) => unreachable!(),
        }
    }
}

// ------------------------------------------------------------------ test

#[test]
#[ignore = "needs real IPVS: run inside tests/vm/run.sh"]
fn compat_checker_values_against_keepalived_in_the_vm() {
    if !prerequisites() {
        return;
    }
    ensure_passwd();
    let known: Vec<KnownDifference> =
        support::check::load_differences(&compat_dir().join("differences.toml"));
    let all = fixtures();
    assert!(
        all.len() >= 30,
        "tests/compat holds {} fixtures with a virtual_server, want >= 30",
        all.len()
    );
    let started = Instant::now();
    let queue = Mutex::new(all.clone());
    let results = Mutex::new(Vec::<(String, Out)>::new());
    // keepalived idles between health checks: a few fixtures at once keep
    // the guest's CPU busy.
    std::thread::scope(|sc| {
        for _ in 0..4 {
            sc.spawn(|| {
                loop {
                    let Some(conf) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    let t0 = Instant::now();
                    let run = run_fixture(&conf);
                    let out = compare(&run);
                    eprintln!(
                        "fixture  {}: {} values compared, {} differences, {:.1}s",
                        run.name,
                        out.compared,
                        out.diffs.len(),
                        t0.elapsed().as_secs_f64()
                    );
                    results.lock().unwrap().push((run.name, out));
                }
            });
        }
    });
    // keepalived's track_file init_file writes the fixtures' /tmp/compat-* files.
    for conf in &all {
        for line in std::fs::read_to_string(conf).unwrap_or_default().lines() {
            if let Some(path) = line.trim().strip_prefix("file /tmp/compat-") {
                let _ = std::fs::remove_file(format!("/tmp/compat-{path}"));
            }
        }
    }
    let mut results = results.into_inner().unwrap();
    results.sort_by(|a, b| a.0.cmp(&b.0));

    let mut failures = Vec::new();
    let mut hit = BTreeSet::new();
    let mut known_count = 0;
    for (fixture, out) in &results {
        for d in &out.diffs {
            if let Some(i) = known
                .iter()
                .position(|k| &k.fixture == fixture && k.key == d.key)
            {
                hit.insert(i);
                known_count += 1;
                eprintln!("known    {fixture}: {}: {}", d.key, d.text);
            } else {
                failures.push(format!("{fixture}: {}: {}", d.key, d.text));
            }
        }
    }
    for (i, k) in known.iter().enumerate() {
        if k.key.starts_with("checker ") && !hit.contains(&i) {
            eprintln!(
                "stale    differences.toml entry {}: {} no longer differs",
                k.fixture, k.key
            );
        }
    }
    let clean = results.iter().filter(|(_, o)| o.diffs.is_empty()).count();
    let compared: usize = results.iter().map(|(_, o)| o.compared).sum();
    eprintln!(
        "compat checker: {} fixtures in {:.1}s, {compared} values compared, {clean} fixtures without differences, {} differences ({} known)",
        results.len(),
        started.elapsed().as_secs_f64(),
        failures.len() + known_count,
        known_count
    );
    if let Ok(path) = std::env::var("COMPAT_VM_REPORT") {
        std::fs::write(&path, failures.join("\n") + "\n").expect("COMPAT_VM_REPORT");
    }
    assert!(
        failures.is_empty(),
        "{} differences from keepalived 2.2.7's checker (not in tests/compat/differences.toml):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
