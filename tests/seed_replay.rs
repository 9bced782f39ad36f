//! The seed scenario (docs/scenario.md) replayed end to end with the
//! real binaries, against two kinds of lab:
//!
//! - `seed_replay_in_namespaces`: network namespaces on this host (the
//!   topology of scripts/lab, config deploy/lab/keepalived.conf.in), root only;
//! - `seed_replay_in_compose` (`#[ignore]`, and only with KRS_COMPOSE=1): the
//!   running compose lab (`docker-compose -p $KRS_COMPOSE_PROJECT up -d`,
//!   project `kalab` by default), driven from outside with docker-compose.
//!
//! Both run the same six checks plus the trace of the real-server failure
//! (prober → ipvs-manager → notifier in one trace, as received by an OTLP
//! receiver: the `otlp-sink` binary, inside the lab, since the services in a
//! namespace or container cannot reach the test's loopback).
//!
//! Log lines and mail subjects are keepalived 2.2.7's (docs/keepalived-checker.md).
#![forbid(unsafe_code)]
// std::time::Instant: these tests time real processes in namespaces (clippy.toml bans it elsewhere).
#![allow(clippy::disallowed_types)]

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use keepalived_api::v1::{self, ipvs_client::IpvsClient};
use keepalived_bus::addr::Address;
use keepalived_testlab::{Lab, prerequisites_met, wait_until};

/// What the replay needs from a lab.
trait SeedLab {
    /// Starts the four services (or three plus the shared probers) of director `n`.
    fn start_director(&mut self, n: u8);
    /// Stops them (SIGTERM).
    fn stop_director(&mut self, n: u8);
    /// Creates (`true`) or removes the `down` file of director `n`.
    fn set_down_file(&mut self, n: u8, down: bool);
    /// One `curl http://VIP/` from the client: the body, or the error.
    fn curl(&self) -> Result<String, String>;
    /// Stops / starts the HTTP server of real server `n`.
    fn set_real_server(&mut self, n: u8, running: bool);
    /// The whole log of `service` on director `n` (for the shared probers: all of them).
    fn log(&self, n: u8, service: &str) -> String;
    /// Every mail received so far (all SMTP sinks), concatenated.
    fn mails(&self) -> String;
    /// Whether director `n` holds the VIP on its interface.
    fn holds_vip(&self, n: u8) -> bool;
    /// ipvs-manager of director `n`.
    fn ipvs_address(&self, n: u8) -> Address;
    /// Spans received so far: (service, trace id).
    fn spans(&self) -> Vec<(String, String)>;
}

fn wait(
    what: &str,
    timeout: Duration,
    mut cond: impl FnMut() -> bool,
    context: impl Fn() -> String,
) {
    if !wait_until(timeout, &mut cond) {
        panic!(
            "timed out after {timeout:?} waiting for: {what}\n{}",
            context()
        );
    }
}

/// Whether `needle` occurs more often in `now` than in `before` (robust to
/// logs of several containers interleaving, and to earlier runs).
fn appeared(before: &str, now: &str, needle: &str) -> bool {
    now.matches(needle).count() > before.matches(needle).count()
}

/// Trace ids in which health-prober, ipvs-manager and notifier all have spans.
fn full_traces(spans: &[(String, String)]) -> BTreeSet<String> {
    let mut by_trace: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for (service, trace) in spans {
        by_trace.entry(trace).or_default().insert(service);
    }
    by_trace
        .into_iter()
        .filter(|(_, s)| {
            s.contains("health-prober") && s.contains("ipvs-manager") && s.contains("notifier")
        })
        .map(|(t, _)| t.to_owned())
        .collect()
}

fn real_servers_in_table(lab: &dyn SeedLab, n: u8) -> Result<BTreeSet<String>, String> {
    let address = lab.ipvs_address(n);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let channel = keepalived_bus::addr::connect(&address)
            .await
            .map_err(|e| format!("{address}: {e}"))?;
        let tables = IpvsClient::new(channel)
            .list_virtual_servers(v1::ListVirtualServersRequest {})
            .await
            .map_err(|s| format!("{address}: {s}"))?
            .into_inner();
        Ok(tables
            .virtual_servers
            .iter()
            .flat_map(|vs| vs.real_servers.iter())
            .filter(|rs| rs.in_kernel)
            .filter_map(|rs| rs.address.as_ref().map(|a| a.address.clone()))
            .collect())
    })
}

fn curl_many(lab: &dyn SeedLab, count: usize) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for _ in 0..count {
        let body = lab.curl().unwrap_or_else(|e| format!("error: {e}"));
        *seen.entry(body.trim().to_owned()).or_insert(0) += 1;
    }
    seen
}

/// The six checks of docs/scenario.md and the trace, in the seed's order.
fn replay(lab: &mut dyn SeedLab) {
    let step = |name: &str| eprintln!("seed replay: {name}");

    // 1. Takeover: only DR2 up -> MASTER, GARPs, the notify mail.
    step("1 takeover with only DR2");
    lab.stop_director(1);
    lab.stop_director(2);
    let (log2, mails) = (lab.log(2, "vrrp-core"), lab.mails());
    lab.start_director(2);
    wait(
        "DR2 holds the VIP",
        Duration::from_secs(20),
        || lab.holds_vip(2) && !lab.holds_vip(1),
        || lab.log(2, "vrrp-core"),
    );
    wait(
        "DR2 logs MASTER and gratuitous ARPs",
        Duration::from_secs(10),
        || {
            let now = lab.log(2, "vrrp-core");
            appeared(&log2, &now, "(VI_1) Entering MASTER STATE")
                && appeared(
                    &log2,
                    &now,
                    "(VI_1) Sending/queueing gratuitous ARPs on eth0 for 198.51.100.10",
                )
        },
        || lab.log(2, "vrrp-core"),
    );
    wait(
        "DR2's notify_master mail and keepalived's VRRP mail",
        Duration::from_secs(30),
        || {
            let now = lab.mails();
            appeared(&mails, &now, "DR2 to be master, vip floating")
                && appeared(
                    &mails,
                    &now,
                    "[keepalivedR2] VRRP Instance VI_1 - Entering MASTER state",
                )
        },
        || lab.mails() + &lab.log(2, "notifier"),
    );

    // 2. Preemption: DR1 starts and takes the VIP.
    step("2 preemption by DR1");
    let log2 = lab.log(2, "vrrp-core");
    lab.start_director(1);
    wait(
        "DR1 holds the VIP, DR2 not",
        Duration::from_secs(20),
        || lab.holds_vip(1) && !lab.holds_vip(2),
        || lab.log(1, "vrrp-core"),
    );
    wait(
        "DR2's preemption lines",
        Duration::from_secs(5),
        || {
            let now = lab.log(2, "vrrp-core");
            appeared(
                &log2,
                &now,
                "(VI_1) Master received advert from 198.51.100.11 with higher priority 99, ours 90",
            ) && appeared(&log2, &now, "(VI_1) Entering BACKUP STATE")
        },
        || lab.log(2, "vrrp-core"),
    );

    // 3. Script demotion: the down file on DR1 -> priority 84 -> DR2 master.
    step("3 script demotion");
    let log1 = lab.log(1, "vrrp-core");
    lab.set_down_file(1, true);
    wait(
        "the VIP floats to DR2",
        Duration::from_secs(20),
        || lab.holds_vip(2) && !lab.holds_vip(1),
        || lab.log(1, "vrrp-core"),
    );
    wait(
        "DR1's demotion lines",
        Duration::from_secs(5),
        || {
            let now = lab.log(1, "vrrp-core");
            appeared(
                &log1,
                &now,
                "VRRP_Script(chk_down) failed (exited with status 1)",
            ) && appeared(&log1, &now, "Changing effective priority from 99 to 84")
                && appeared(&log1, &now, "with higher priority 90, ours 84")
                && appeared(&log1, &now, "(VI_1) Entering BACKUP STATE")
        },
        || lab.log(1, "vrrp-core"),
    );
    lab.set_down_file(1, false);
    wait(
        "DR1 takes the VIP back once the down file is gone",
        Duration::from_secs(20),
        || lab.holds_vip(1) && !lab.holds_vip(2),
        || lab.log(1, "vrrp-core"),
    );

    // 4. Requests through the VIP reach both real servers.
    step("4 requests through the VIP");
    wait(
        "both real servers in DR1's table",
        Duration::from_secs(30),
        || real_servers_in_table(lab, 1).is_ok_and(|s| s.len() == 2),
        || {
            format!(
                "{:?}\n{}",
                real_servers_in_table(lab, 1),
                lab.log(1, "ipvs-manager")
            )
        },
    );
    let seen = curl_many(lab, 20);
    let (s1, s2) = (
        seen.get("server1").copied().unwrap_or(0),
        seen.get("server2").copied().unwrap_or(0),
    );
    assert!(
        s1 >= 3 && s2 >= 3 && s1 + s2 == 20,
        "20 requests through the VIP should all succeed and reach both real servers: {seen:?}"
    );

    // 5. Real-server failure: RS2's HTTP server stops.
    step("5 real-server failure");
    let (prober, ipvs, mails, traces) = (
        lab.log(1, "health-prober"),
        lab.log(1, "ipvs-manager"),
        lab.mails(),
        full_traces(&lab.spans()),
    );
    lab.set_real_server(2, false);
    wait(
        "RS2 removed from DR1's table",
        Duration::from_secs(40),
        || real_servers_in_table(lab, 1).is_ok_and(|s| s.len() == 1 && s.contains("198.51.100.21")),
        || format!("{:?}", real_servers_in_table(lab, 1)),
    );
    wait(
        "keepalived 2.2.7's failure lines",
        Duration::from_secs(10),
        || {
            appeared(
                &prober,
                &lab.log(1, "health-prober"),
                "HTTP_CHECK on service [198.51.100.22]:tcp:80 failed after 3 retries.",
            ) && appeared(
                &ipvs,
                &lab.log(1, "ipvs-manager"),
                "Removing service [198.51.100.22]:tcp:80 from VS [198.51.100.10]:tcp:80",
            )
        },
        || lab.log(1, "health-prober") + &lab.log(1, "ipvs-manager"),
    );
    wait(
        "the DOWN mail",
        Duration::from_secs(30),
        || {
            appeared(
                &mails,
                &lab.mails(),
                "[keepalivedR1] Realserver [198.51.100.22]:tcp:80 of virtual server [198.51.100.10]:tcp:80 - DOWN",
            )
        },
        || lab.mails() + &lab.log(1, "notifier"),
    );
    let seen = curl_many(lab, 10);
    assert_eq!(
        seen.get("server1"),
        Some(&10),
        "with RS2 down every request goes to RS1: {seen:?}"
    );

    // The failure's trace: health-prober -> ipvs-manager -> notifier.
    step("5b the failure's trace");
    wait(
        "a new trace with spans of health-prober, ipvs-manager and notifier",
        Duration::from_secs(30),
        || {
            full_traces(&lab.spans())
                .difference(&traces)
                .next()
                .is_some()
        },
        || {
            let spans = lab.spans();
            format!(
                "{} spans received, last: {:?}",
                spans.len(),
                spans.iter().rev().take(20).collect::<Vec<_>>()
            )
        },
    );

    // 6. Recovery.
    step("6 real-server recovery");
    let (prober, ipvs, mails) = (
        lab.log(1, "health-prober"),
        lab.log(1, "ipvs-manager"),
        lab.mails(),
    );
    lab.set_real_server(2, true);
    wait(
        "RS2 back in DR1's table",
        Duration::from_secs(40),
        || real_servers_in_table(lab, 1).is_ok_and(|s| s.len() == 2),
        || format!("{:?}", real_servers_in_table(lab, 1)),
    );
    wait(
        "keepalived 2.2.7's recovery lines",
        Duration::from_secs(10),
        || {
            let p = lab.log(1, "health-prober");
            appeared(
                &prober,
                &p,
                "HTTP status code success to [198.51.100.22]:tcp:80 url(/)",
            ) && appeared(
                &prober,
                &p,
                "Remote Web server [198.51.100.22]:tcp:80 succeed on service.",
            ) && appeared(
                &ipvs,
                &lab.log(1, "ipvs-manager"),
                "Adding service [198.51.100.22]:tcp:80 to VS [198.51.100.10]:tcp:80",
            )
        },
        || lab.log(1, "health-prober") + &lab.log(1, "ipvs-manager"),
    );
    wait(
        "the UP mail",
        Duration::from_secs(30),
        || {
            appeared(
                &mails,
                &lab.mails(),
                "[keepalivedR1] Realserver [198.51.100.22]:tcp:80 of virtual server [198.51.100.10]:tcp:80 - UP",
            )
        },
        || lab.mails(),
    );
    step("done");
}

// ------------------------------------------------------------ namespaces

fn bin(name: &str) -> PathBuf {
    keepalived_tests::bin_path(name)
}

struct NsLab {
    lab: Lab,
    dir: PathBuf,
    ns: HashMap<String, String>,
    services: HashMap<u8, Vec<u32>>,
    http: HashMap<u8, u32>,
}

impl NsLab {
    fn new() -> Self {
        let mut lab = Lab::new("seed").expect("lab");
        let dir = lab.dir().expect("dir");
        let mut ns = HashMap::new();
        for (name, mac, addr) in [
            ("dr1", "02:00:00:00:00:11", "198.51.100.11/24"),
            ("dr2", "02:00:00:00:00:12", "198.51.100.12/24"),
            ("rs1", "02:00:00:00:00:21", "198.51.100.21/24"),
            ("rs2", "02:00:00:00:00:22", "198.51.100.22/24"),
            ("client", "02:00:00:00:00:64", "198.51.100.100/24"),
        ] {
            let host = lab.host(name, Some(mac), &[addr]).expect("host");
            ns.insert(name.to_owned(), host.netns);
        }
        let template = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/lab/keepalived.conf.in"),
        )
        .expect("deploy/lab/keepalived.conf.in");
        for n in 1..=2u8 {
            let rs = &ns[&format!("rs{n}")];
            lab.exec(
                rs,
                &[
                    "ip",
                    "addr",
                    "add",
                    "198.51.100.10/32",
                    "dev",
                    "lo",
                    "label",
                    "lo:0",
                ],
            )
            .expect("vip on lo");
            lab.exec(
                rs,
                &[
                    "sysctl",
                    "-qw",
                    "net.ipv4.conf.lo.arp_ignore=1",
                    "net.ipv4.conf.lo.arp_announce=2",
                    "net.ipv4.conf.all.arp_ignore=1",
                    "net.ipv4.conf.all.arp_announce=2",
                ],
            )
            .expect("arp sysctls");
            let www = dir.join(format!("rs{n}"));
            std::fs::create_dir_all(&www).unwrap();
            std::fs::write(www.join("index.html"), format!("server{n}\n")).unwrap();

            let d = dir.join(format!("dr{n}"));
            std::fs::create_dir_all(&d).unwrap();
            let (state, prio) = if n == 1 {
                ("MASTER", "99")
            } else {
                ("BACKUP", "90")
            };
            let config = template
                .replace("@ROUTER_ID@", &format!("keepalivedR{n}"))
                .replace("@STATE@", state)
                .replace("@PRIORITY@", prio)
                .replace("@DIR@", d.to_str().unwrap());
            std::fs::write(d.join("keepalived.conf"), config).unwrap();
            let script = |name: &str, body: String| {
                let p = d.join(name);
                std::fs::write(&p, body).unwrap();
                Command::new("chmod").arg("755").arg(&p).status().unwrap();
            };
            script(
                "chk_down.sh",
                format!(
                    "#!/bin/sh\n[ -f {0}/down ] && exit 1 || exit 0\n",
                    d.display()
                ),
            );
            // The seed's notify.sh mails; here it sends the same subject to the director's sink.
            script(
                "notify.sh",
                format!(
                    "#!/bin/sh\nprintf 'Subject: DR{n} to be %s, vip floating\\r\\n\\r\\n%s: vrrp transition, DR{n} changed to be %s\\r\\n' \"$1\" \"$(date '+%F %T')\" \"$1\" | curl -sS --max-time 10 smtp://127.0.0.1:2525 --mail-from keepalived@localhost --mail-rcpt root@localhost -T -\n"
                ),
            );
            let dr = ns[&format!("dr{n}")].clone();
            lab.spawn(
                &dr,
                "python3",
                &["-u", "-m", "aiosmtpd", "-n", "-l", "127.0.0.1:2525"],
                &d.join("smtp.log"),
            )
            .expect("smtp sink");
            lab.spawn(
                &dr,
                bin("otlp-sink"),
                &["--listen", "127.0.0.1:4317"],
                &d.join("otlp.log"),
            )
            .expect("otlp sink");
        }
        let mut me = Self {
            lab,
            dir,
            ns,
            services: HashMap::new(),
            http: HashMap::new(),
        };
        me.set_real_server(1, true);
        me.set_real_server(2, true);
        me
    }

    fn d(&self, n: u8) -> PathBuf {
        self.dir.join(format!("dr{n}"))
    }
}

impl SeedLab for NsLab {
    fn start_director(&mut self, n: u8) {
        if self.services.contains_key(&n) {
            return;
        }
        let d = self.d(n);
        let netns = self.ns[&format!("dr{n}")].clone();
        let sock = |s: &str| format!("unix:{}/{s}.sock", d.display());
        let config = d.join("keepalived.conf");
        let mut pids = Vec::new();
        for svc in ["vrrp-core", "health-prober", "ipvs-manager", "notifier"] {
            let _ = std::fs::remove_file(d.join(format!("{svc}.sock")));
            let mut args = vec![
                "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317".to_owned(),
                bin(svc).display().to_string(),
                "-l".into(),
                "-G".into(),
                "-f".into(),
                config.display().to_string(),
                "--listen".into(),
                sock(svc),
            ];
            match svc {
                "ipvs-manager" => args.extend([
                    "--backend".into(),
                    "nft".into(),
                    "--health-prober".into(),
                    sock("health-prober"),
                ]),
                "notifier" => args.extend([
                    "--vrrp".into(),
                    sock("vrrp-core"),
                    "--ipvs".into(),
                    sock("ipvs-manager"),
                    "--spool-dir".into(),
                    d.join("spool").display().to_string(),
                ]),
                _ => {}
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            // Logs are appended per start so that offsets stay valid across restarts.
            let log = d.join(format!("{svc}.run.log"));
            let pid = self.lab.spawn(&netns, "env", &args, &log).expect("spawn");
            pids.push(pid);
            let path = d.join(format!("{svc}.sock"));
            wait(
                &format!("dr{n} {svc} socket"),
                Duration::from_secs(20),
                || path.exists(),
                || std::fs::read_to_string(&log).unwrap_or_default(),
            );
        }
        self.services.insert(n, pids);
    }

    fn stop_director(&mut self, n: u8) {
        let Some(pids) = self.services.remove(&n) else {
            return;
        };
        for pid in pids.iter().rev() {
            let _ = self.lab.signal(*pid, "TERM");
        }
        for pid in pids {
            assert!(
                self.lab
                    .wait_exit(pid, Duration::from_secs(10))
                    .unwrap_or(false),
                "dr{n} service {pid} did not stop on SIGTERM"
            );
        }
        // Keep the whole history of logs for later offsets.
        for svc in ["vrrp-core", "health-prober", "ipvs-manager", "notifier"] {
            let d = self.d(n);
            let run = std::fs::read_to_string(d.join(format!("{svc}.run.log"))).unwrap_or_default();
            let mut all = std::fs::read_to_string(d.join(format!("{svc}.log"))).unwrap_or_default();
            all.push_str(&run);
            std::fs::write(d.join(format!("{svc}.log")), all).unwrap();
            let _ = std::fs::remove_file(d.join(format!("{svc}.run.log")));
        }
    }

    fn set_down_file(&mut self, n: u8, down: bool) {
        let f = self.d(n).join("down");
        if down {
            std::fs::write(f, "").unwrap()
        } else {
            let _ = std::fs::remove_file(f);
        }
    }

    fn curl(&self) -> Result<String, String> {
        self.lab
            .exec(
                &self.ns["client"],
                &["curl", "-sS", "--max-time", "3", "http://198.51.100.10/"],
            )
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .map_err(|e| e.to_string())
    }

    fn set_real_server(&mut self, n: u8, running: bool) {
        if running {
            if self.http.contains_key(&n) {
                return;
            }
            let www = self.dir.join(format!("rs{n}"));
            let netns = self.ns[&format!("rs{n}")].clone();
            let pid = self
                .lab
                .spawn(
                    &netns,
                    "python3",
                    &[
                        "-m",
                        "http.server",
                        "80",
                        "--bind",
                        "0.0.0.0",
                        "--directory",
                        www.to_str().unwrap(),
                    ],
                    &self.dir.join(format!("rs{n}.log")),
                )
                .expect("http");
            self.http.insert(n, pid);
            let ns = self.ns[&format!("rs{n}")].clone();
            wait(
                "http server up",
                Duration::from_secs(10),
                || {
                    self.lab
                        .exec(
                            &ns,
                            &[
                                "curl",
                                "-s",
                                "-o",
                                "/dev/null",
                                &format!("http://198.51.100.2{n}/"),
                            ],
                        )
                        .is_ok()
                },
                String::new,
            );
        } else if let Some(pid) = self.http.remove(&n) {
            let _ = self.lab.signal(pid, "TERM");
            let _ = self.lab.wait_exit(pid, Duration::from_secs(5));
        }
    }

    fn log(&self, n: u8, service: &str) -> String {
        let d = self.d(n);
        let mut all = std::fs::read_to_string(d.join(format!("{service}.log"))).unwrap_or_default();
        all.push_str(
            &std::fs::read_to_string(d.join(format!("{service}.run.log"))).unwrap_or_default(),
        );
        all
    }

    fn mails(&self) -> String {
        (1..=2)
            .map(|n| std::fs::read_to_string(self.d(n).join("smtp.log")).unwrap_or_default())
            .collect()
    }

    fn holds_vip(&self, n: u8) -> bool {
        self.lab
            .exec(
                &self.ns[&format!("dr{n}")],
                &["ip", "-4", "-o", "addr", "show", "dev", "eth0"],
            )
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(" 198.51.100.10/"))
    }

    fn ipvs_address(&self, n: u8) -> Address {
        Address::Unix(self.d(n).join("ipvs-manager.sock"))
    }

    fn spans(&self) -> Vec<(String, String)> {
        (1..=2u8)
            .flat_map(|n| {
                parse_span_lines(
                    &std::fs::read_to_string(self.d(n).join("otlp.log")).unwrap_or_default(),
                )
            })
            .collect()
    }
}

/// The string value of `"key":"…"` in a compact JSON line (no escapes in
/// service names and hex ids).
fn json_str<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let pat = format!("\"{key}\":\"");
    let start = line.find(&pat)? + pat.len();
    let len = line[start..].find('"')?;
    Some(&line[start..start + len])
}

/// (service, trace id) of otlp-sink's JSON lines (any prefix before `{`, like
/// docker-compose's `otlp-sink_1 | `, is ignored).
fn parse_span_lines(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.find('{').map(|i| &l[i..]))
        .filter_map(|l| {
            Some((
                json_str(l, "service")?.to_owned(),
                json_str(l, "trace_id")?.to_owned(),
            ))
        })
        .collect()
}

#[test]
fn seed_replay_in_namespaces() {
    if !prerequisites_met("seed replay (namespaces)", &["nft", "python3", "curl"]) {
        return;
    }
    let started = Instant::now();
    let mut lab = NsLab::new();
    replay(&mut lab);
    for n in [1, 2] {
        lab.stop_director(n);
    }
    eprintln!("seed replay in namespaces took {:?}", started.elapsed());
}

// --------------------------------------------------------------- compose

struct ComposeLab {
    compose: Vec<String>,
    project: String,
}

impl ComposeLab {
    fn new() -> Self {
        let compose = std::env::var("KRS_COMPOSE_CMD").unwrap_or_else(|_| "docker-compose".into());
        let project = std::env::var("KRS_COMPOSE_PROJECT").unwrap_or_else(|_| "kalab".into());
        Self {
            compose: compose.split_whitespace().map(str::to_owned).collect(),
            project,
        }
    }

    fn run(&self, args: &[&str]) -> Result<String, String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let out = Command::new(&self.compose[0])
            .args(&self.compose[1..])
            .args(["-p", &self.project, "-f"])
            .arg(root.join("compose.yaml"))
            .args(args)
            .output()
            .map_err(|e| format!("{}: {e}", self.compose.join(" ")))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "{args:?}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    fn director_services(n: u8) -> [String; 3] {
        [
            format!("dr{n}-vrrp-core"),
            format!("dr{n}-ipvs-manager"),
            format!("dr{n}-notifier"),
        ]
    }
}

impl SeedLab for ComposeLab {
    fn start_director(&mut self, n: u8) {
        let s = Self::director_services(n);
        self.run(&["start", &s[0], &s[1], &s[2]])
            .expect("start director");
    }
    fn stop_director(&mut self, n: u8) {
        let s = Self::director_services(n);
        self.run(&["stop", "-t", "10", &s[2], &s[1], &s[0]])
            .expect("stop director");
    }
    fn set_down_file(&mut self, n: u8, down: bool) {
        let cmd = if down {
            "touch /etc/keepalived/down"
        } else {
            "rm -f /etc/keepalived/down"
        };
        self.run(&["exec", "-T", &format!("dr{n}-vrrp-core"), "sh", "-c", cmd])
            .expect("down file");
    }
    fn curl(&self) -> Result<String, String> {
        self.run(&[
            "exec",
            "-T",
            "client",
            "curl",
            "-sS",
            "--max-time",
            "3",
            "http://198.51.100.10/",
        ])
    }
    fn set_real_server(&mut self, n: u8, running: bool) {
        self.run(&[if running { "start" } else { "stop" }, &format!("rs{n}")])
            .expect("rs");
    }
    fn log(&self, n: u8, service: &str) -> String {
        let name = if service == "health-prober" {
            service.to_owned()
        } else {
            format!("dr{n}-{service}")
        };
        self.run(&["logs", "--no-color", &name]).unwrap_or_default()
    }
    fn mails(&self) -> String {
        self.run(&["logs", "--no-color", "smtp"])
            .unwrap_or_default()
    }
    fn holds_vip(&self, n: u8) -> bool {
        self.run(&[
            "exec",
            "-T",
            &format!("dr{n}-net"),
            "ip",
            "-4",
            "-o",
            "addr",
            "show",
            "dev",
            "eth0",
        ])
        .is_ok_and(|o| o.contains(" 198.51.100.10/"))
    }
    fn ipvs_address(&self, n: u8) -> Address {
        Address::Tcp {
            host: format!("198.51.100.1{n}"),
            port: 50052,
        }
    }
    fn spans(&self) -> Vec<(String, String)> {
        parse_span_lines(
            &self
                .run(&["logs", "--no-color", "otlp-sink"])
                .unwrap_or_default(),
        )
    }
}

/// Against the running compose lab (see docs/lab.md): `KRS_COMPOSE=1 cargo
/// test -p keepalived-tests --test seed_replay -- --ignored seed_replay_in_compose`.
#[test]
#[ignore = "needs the compose lab up (docs/lab.md) and KRS_COMPOSE=1"]
fn seed_replay_in_compose() {
    assert_eq!(
        std::env::var("KRS_COMPOSE").as_deref(),
        Ok("1"),
        "set KRS_COMPOSE=1 with the compose lab up (docker-compose -p kalab up -d)"
    );
    let started = Instant::now();
    let mut lab = ComposeLab::new();
    lab.run(&["ps"]).expect("compose lab");
    replay(&mut lab);
    eprintln!("seed replay in compose took {:?}", started.elapsed());
}
