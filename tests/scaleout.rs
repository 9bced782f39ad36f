//! health-prober scale-out in network namespaces (root): four prober
//! replicas divide the checks of 24 real servers with
//! `health_prober_owners 2`, and ipvs-manager (nft backend) combines the
//! owners' verdicts. The checks are counted where they arrive: each real
//! server logs the source address of every connection, and each replica has
//! its own address.
//!
//! - each target is checked by exactly its 2 owners, the owners every
//!   replica and ipvs-manager compute alike;
//! - a replica killed: its targets are taken over within 2 × delay_loop and
//!   nothing changes in the table;
//! - the replica back: it takes its share again the same way;
//! - a real server failing is removed on one prober's schedule
//!   (delay_loop + retry × delay_before_retry).
#![forbid(unsafe_code)]
// std::time::Instant: these tests wait on real processes (clippy.toml bans it elsewhere).
#![allow(clippy::disallowed_types)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use keepalived_api::v1::{self, health_client::HealthClient, ipvs_client::IpvsClient};
use keepalived_bus::addr::Address;
use keepalived_testlab::{Lab, prerequisites_met, wait_until};
use keepalived_tests::bin_path;

const TARGETS: u16 = 24;
const FIRST_PORT: u16 = 8001;
const DELAY_LOOP: f64 = 2.0;
const REPLICAS: [&str; 4] = ["p1", "p2", "p3", "p4"];

/// Listens on every port given; logs `port peer-address time` per connection.
const TARGET_PY: &str = r#"
import selectors, socket, sys, time
log = open(sys.argv[1], 'a', buffering=1)
sel = selectors.DefaultSelector()
for p in sys.argv[2:]:
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('0.0.0.0', int(p))); s.listen(128); s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, int(p))
while True:
    for key, _ in sel.select():
        try:
            c, peer = key.fileobj.accept()
        except BlockingIOError:
            continue
        log.write('%d %s %.6f\n' % (key.data, peer[0], time.time()))
        c.close()
"#;

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

fn address_of(replica: &str) -> String {
    let n: u8 = replica[1..].parse().unwrap();
    format!("203.0.113.{}", 30 + n)
}

fn replica_of(address: &str) -> Option<&'static str> {
    REPLICAS.iter().copied().find(|r| address_of(r) == address)
}

/// Every check that reached a real server: (port, replica, time).
fn hits(log: &Path) -> Vec<(u16, &'static str, f64)> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut it = l.split(' ');
            let port = it.next()?.parse().ok()?;
            let replica = replica_of(it.next()?)?;
            Some((port, replica, it.next()?.parse().ok()?))
        })
        .collect()
}

/// Which replicas checked each port between `from` and `to`.
fn checkers(log: &Path, from: f64, to: f64) -> BTreeMap<u16, BTreeSet<&'static str>> {
    let mut out: BTreeMap<u16, BTreeSet<&'static str>> = BTreeMap::new();
    for (port, replica, at) in hits(log) {
        if at >= from && at < to {
            out.entry(port).or_default().insert(replica);
        }
    }
    out
}

fn config(dir: &Path) -> PathBuf {
    let mut vs = String::from(
        "global_defs {\n    router_id lab\n}\n\
         virtual_server 198.51.100.10 80 {\n    delay_loop 2\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n",
    );
    for port in FIRST_PORT..FIRST_PORT + TARGETS {
        vs.push_str(&format!(
            "    real_server 203.0.113.12 {port} {{\n        weight 1\n        TCP_CHECK {{\n            connect_timeout 1\n            retry 1\n            delay_before_retry 1\n        }}\n    }}\n"
        ));
    }
    vs.push_str("}\nkeepalived_rs {\n    health_prober_owners 2\n");
    for r in REPLICAS {
        vs.push_str(&format!(
            "    health_prober tcp://{}:50053\n",
            address_of(r)
        ));
    }
    vs.push_str("}\n");
    let path = dir.join("keepalived.conf");
    std::fs::write(&path, vs).unwrap();
    path
}

struct ScaleLab {
    lab: Lab,
    dir: PathBuf,
    conf: PathBuf,
    pids: BTreeMap<&'static str, u32>,
    netns: BTreeMap<&'static str, String>,
}

impl ScaleLab {
    fn start_replica(&mut self, r: &'static str) {
        let socket = self.dir.join(format!("{r}.sock"));
        let _ = std::fs::remove_file(&socket);
        let log = self.dir.join(format!("{r}.{}.log", now() as u64));
        let pid = self
            .lab
            .spawn(
                &self.netns[r],
                bin_path("health-prober"),
                &[
                    "-f",
                    self.conf.to_str().unwrap(),
                    "-l",
                    "-G",
                    "--replica-id",
                    r,
                    "--listen",
                    &format!("tcp://{}:50053", address_of(r)),
                    "--listen",
                    &format!("unix:{}", socket.display()),
                ],
                &log,
            )
            .unwrap();
        self.pids.insert(r, pid);
    }

    fn kill_replica(&mut self, r: &'static str) {
        let pid = self.pids.remove(r).unwrap();
        self.lab.signal(pid, "KILL").unwrap();
        assert!(self.lab.wait_exit(pid, Duration::from_secs(5)).unwrap());
    }

    fn manager_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("ipvs-manager.log")).unwrap_or_default()
    }
}

async fn channel(socket: &Path) -> Option<keepalived_bus::addr::TracedChannel> {
    let address: Address = format!("unix:{}", socket.display()).parse().unwrap();
    keepalived_bus::addr::connect(&address).await.ok()
}

/// Each live replica's targets: id → (role, owners).
async fn roles(
    dir: &Path,
    live: &[&'static str],
) -> BTreeMap<&'static str, Vec<(String, v1::OwnershipRole, Vec<String>)>> {
    let mut out = BTreeMap::new();
    for r in live {
        let Some(ch) = channel(&dir.join(format!("{r}.sock"))).await else {
            continue;
        };
        let Ok(list) = HealthClient::new(ch)
            .list_targets(v1::ListTargetsRequest {})
            .await
        else {
            continue;
        };
        let targets = list
            .into_inner()
            .targets
            .into_iter()
            .map(|t| {
                let o = t.ownership.unwrap_or_default();
                (
                    t.id,
                    v1::OwnershipRole::try_from(o.role).unwrap_or_default(),
                    o.owners,
                )
            })
            .collect();
        out.insert(*r, targets);
    }
    out
}

/// The replica name of a bus identity (`health-prober@host/p1`).
fn short(identity: &str) -> &str {
    identity.rsplit('/').next().unwrap_or(identity)
}

/// Once every live replica agrees: port → owners (replica names).
async fn settled_owners(
    dir: &Path,
    live: &[&'static str],
    timeout: Duration,
) -> BTreeMap<u16, BTreeSet<String>> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let all = roles(dir, live).await;
        let mut owners: BTreeMap<u16, BTreeSet<String>> = BTreeMap::new();
        let mut agreed = all.len() == live.len();
        let mut owned_by: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
        for (r, targets) in &all {
            for (id, role, listed) in targets {
                let port: u16 = id.rsplit(':').next().unwrap().parse().unwrap();
                let listed: BTreeSet<String> = listed.iter().map(|o| short(o).to_owned()).collect();
                match owners.get(&port) {
                    Some(o) if *o != listed => agreed = false,
                    _ => {
                        owners.insert(port, listed);
                    }
                }
                match role {
                    v1::OwnershipRole::Owner => {
                        owned_by.entry(id.clone()).or_default().insert(r);
                    }
                    v1::OwnershipRole::NotOwner => {}
                    _ => agreed = false,
                }
            }
        }
        for (port, o) in &owners {
            let id = format!("TCP_CHECK:203.0.113.12:{port}");
            let by: BTreeSet<String> = owned_by
                .get(&id)
                .map(|s| s.iter().map(|r| r.to_string()).collect())
                .unwrap_or_default();
            if by != *o || o.len() != 2 {
                agreed = false;
            }
        }
        if agreed && owners.len() == usize::from(TARGETS) {
            return owners;
        }
        if std::time::Instant::now() > deadline {
            panic!("the replicas did not settle on the owners: {all:#?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// ipvs-manager's owners of each real server: the sources it counted.
async fn manager_owners(dir: &Path) -> BTreeMap<u16, BTreeSet<String>> {
    let ch = channel(&dir.join("ipvs-manager.sock")).await.unwrap();
    let vss = IpvsClient::new(ch)
        .list_virtual_servers(v1::ListVirtualServersRequest {})
        .await
        .unwrap()
        .into_inner()
        .virtual_servers;
    let mut out = BTreeMap::new();
    for rs in &vss[0].real_servers {
        let port = rs.address.as_ref().unwrap().port as u16;
        let owners: BTreeSet<String> = rs
            .sources
            .iter()
            .filter(|s| s.owner && !s.stale)
            .map(|s| short(&s.prober).to_owned())
            .collect();
        out.insert(port, owners);
    }
    out
}

/// The checks seen in a window of 3 × delay_loop from now match `owners`.
fn assert_checked_by(lab: &ScaleLab, owners: &BTreeMap<u16, BTreeSet<String>>, what: &str) {
    let from = now();
    std::thread::sleep(Duration::from_secs_f64(3.0 * DELAY_LOOP));
    let seen = checkers(&lab.dir.join("hits.log"), from, now());
    for port in FIRST_PORT..FIRST_PORT + TARGETS {
        let got: BTreeSet<String> = seen
            .get(&port)
            .map(|s| s.iter().map(|r| r.to_string()).collect())
            .unwrap_or_default();
        assert_eq!(got, owners[&port], "{what}: port {port} checked by {got:?}");
        assert_eq!(got.len(), 2, "{what}: port {port}");
    }
}

fn removals(log: &str) -> usize {
    log.lines()
        .filter(|l| l.contains("Removing service"))
        .count()
}

#[test]
fn four_replicas_divide_the_checks_two_per_target_and_hand_over_on_kill_and_join() {
    if !prerequisites_met("health-prober scale-out", &["nft", "python3"]) {
        return;
    }
    let mut lab = Lab::new("so").unwrap();
    let dr = lab.host("dr", None, &["203.0.113.2/24"]).unwrap();
    let rs = lab.host("rs", None, &["203.0.113.12/24"]).unwrap();
    let mut netns = BTreeMap::new();
    for r in REPLICAS {
        let host = lab
            .host(r, None, &[&format!("{}/24", address_of(r))])
            .unwrap();
        netns.insert(r, host.netns);
    }
    let dir = lab.dir().unwrap();
    let conf = config(&dir);
    let script = dir.join("target.py");
    std::fs::write(&script, TARGET_PY).unwrap();
    let hits_log = dir.join("hits.log");
    let mut args = vec![
        script.to_str().unwrap().to_owned(),
        hits_log.to_str().unwrap().to_owned(),
    ];
    args.extend((FIRST_PORT..FIRST_PORT + TARGETS).map(|p| p.to_string()));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    lab.spawn(&rs.netns, "python3", &argv, &dir.join("target.out"))
        .unwrap();
    let mut lab = ScaleLab {
        lab,
        dir: dir.clone(),
        conf: conf.clone(),
        pids: BTreeMap::new(),
        netns,
    };
    let manager_socket = dir.join("ipvs-manager.sock");
    lab.lab
        .spawn(
            &dr.netns,
            bin_path("ipvs-manager"),
            &[
                "-f",
                conf.to_str().unwrap(),
                "-l",
                "-G",
                "--listen",
                &format!("unix:{}", manager_socket.display()),
                "--backend",
                "nft",
                "--nft-interface",
                "eth0",
            ],
            &dir.join("ipvs-manager.log"),
        )
        .unwrap();
    for r in REPLICAS {
        lab.start_replica(r);
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let context = |lab: &ScaleLab| {
        let mut s = lab.manager_log();
        for entry in std::fs::read_dir(&lab.dir).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('p') && name.ends_with(".log") {
                s.push_str(&format!(
                    "\n--- {name}\n{}",
                    std::fs::read_to_string(entry.path()).unwrap_or_default()
                ));
            }
        }
        s
    };

    // 1. Division: every target checked by exactly its two owners, the
    //    owners the replicas and ipvs-manager compute alike.
    let owners = runtime.block_on(settled_owners(&dir, &REPLICAS, Duration::from_secs(20)));
    assert!(
        wait_until(Duration::from_secs(10), || lab
            .manager_log()
            .matches("Adding service")
            .count()
            == usize::from(TARGETS)),
        "ipvs-manager did not add every real server:\n{}",
        context(&lab)
    );
    assert_checked_by(&lab, &owners, "four replicas");
    let counted = runtime.block_on(manager_owners(&dir));
    assert_eq!(counted, owners, "ipvs-manager counts the owners' verdicts");
    let assignment = keepalived_rendezvous::Assignment::new(
        REPLICAS
            .iter()
            .map(|r| format!("health-prober@{}/{r}", keepalived_runtime::hostname())),
        2,
    );
    for (port, o) in &owners {
        let computed: BTreeSet<String> = assignment
            .owners(&format!("TCP_CHECK:203.0.113.12:{port}"))
            .iter()
            .map(|o| short(o.member).to_owned())
            .collect();
        assert_eq!(&computed, o, "port {port}");
    }
    let per_replica: BTreeMap<&str, usize> = REPLICAS
        .iter()
        .map(|r| (*r, owners.values().filter(|o| o.contains(*r)).count()))
        .collect();
    println!("targets per replica (24 × 2 owners over 4): {per_replica:?}");

    // 2. Kill one: its targets are taken over within 2 × delay_loop; the
    //    table does not change.
    let victim = "p2";
    let taken: Vec<u16> = owners
        .iter()
        .filter(|(_, o)| o.contains(victim))
        .map(|(p, _)| *p)
        .collect();
    let killed_at = now();
    lab.kill_replica(victim);
    let live: Vec<&'static str> = REPLICAS.iter().copied().filter(|r| *r != victim).collect();
    let after_kill = runtime.block_on(settled_owners(&dir, &live, Duration::from_secs(10)));
    std::thread::sleep(Duration::from_secs_f64(2.0 * DELAY_LOOP + 0.5));
    let hits_now = hits(&hits_log);
    let mut worst = 0.0f64;
    for port in &taken {
        let successor: Vec<&String> = after_kill[port]
            .iter()
            .filter(|o| !owners[port].contains(*o))
            .collect();
        assert_eq!(successor.len(), 1, "port {port}: {:?}", after_kill[port]);
        let first = hits_now
            .iter()
            .filter(|(p, r, at)| p == port && *r == successor[0].as_str() && *at > killed_at)
            .map(|(_, _, at)| at - killed_at)
            .fold(f64::INFINITY, f64::min);
        assert!(
            first <= 2.0 * DELAY_LOOP,
            "port {port}: successor {} first checked {first:.2}s after the kill",
            successor[0]
        );
        worst = worst.max(first);
    }
    println!(
        "{} targets of the killed replica taken over, the last {worst:.2}s after the kill",
        taken.len()
    );
    assert_checked_by(&lab, &after_kill, "after the kill");
    assert_eq!(
        removals(&lab.manager_log()),
        0,
        "killing a replica changed the table:\n{}",
        context(&lab)
    );

    // 3. The replica comes back: it takes its share again, the same way.
    let joined_at = now();
    lab.start_replica(victim);
    let after_join = runtime.block_on(settled_owners(&dir, &REPLICAS, Duration::from_secs(10)));
    assert_eq!(after_join, owners, "the same owners as before the kill");
    std::thread::sleep(Duration::from_secs_f64(2.0 * DELAY_LOOP + 0.5));
    let hits_now = hits(&hits_log);
    let mut worst = 0.0f64;
    for port in &taken {
        let first = hits_now
            .iter()
            .filter(|(p, r, at)| p == port && *r == victim && *at > joined_at)
            .map(|(_, _, at)| at - joined_at)
            .fold(f64::INFINITY, f64::min);
        assert!(
            first <= 2.0 * DELAY_LOOP + 1.0,
            "port {port}: the joiner first checked it {first:.2}s after its start"
        );
        worst = worst.max(first);
    }
    println!("the joiner checks its share, the last target {worst:.2}s after its start");
    assert_checked_by(&lab, &owners, "after the join");
    assert_eq!(
        removals(&lab.manager_log()),
        0,
        "a replica joining changed the table:\n{}",
        context(&lab)
    );

    // 4. A real server fails (refused): removed on one prober's schedule,
    //    delay_loop + retry × delay_before_retry after the failure at most.
    let failing = FIRST_PORT;
    lab.lab
        .nft(
            &rs.netns,
            &format!(
                "table inet fail {{\n chain input {{\n  type filter hook input priority 0;\n  tcp dport {failing} reject with tcp reset\n }}\n}}\n"
            ),
        )
        .unwrap();
    let failed_at = now();
    let line = format!("Removing service [203.0.113.12]:tcp:{failing} ");
    assert!(
        wait_until(Duration::from_secs(10), || lab
            .manager_log()
            .contains(&line)),
        "the failing real server was not removed:\n{}",
        context(&lab)
    );
    let removed_after = now() - failed_at;
    println!("failing real server removed {removed_after:.2}s after the failure");
    // delay_loop 2 + retry 1 × delay_before_retry 1, plus the attempts and the apply.
    assert!(
        removed_after <= DELAY_LOOP + 1.0 + 0.8,
        "removed {removed_after:.2}s after the failure"
    );
    assert_eq!(removals(&lab.manager_log()), 1, "only the failing one");
}
