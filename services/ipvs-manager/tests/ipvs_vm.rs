//! ipvs-manager against real IPVS, inside the VM of `tests/vm/` (this
//! machine's kernel has no IP_VS). All `#[ignore]`d; run them with
//!
//! ```text
//! CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER=$PWD/tests/vm/run.sh \
//!     cargo test -p ipvs-manager --test ipvs_vm -- --ignored --test-threads=1
//! ```
//!
//! They share the VM's IPVS table, so they run one at a time and each starts
//! by removing what the previous left.
// std::time::Instant: these tests wait on a real kernel in a VM (clippy.toml bans it elsewhere).
#![allow(clippy::disallowed_types)]

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ipvs_manager::backend::Backend;
use ipvs_manager::backend::ipvs::IpvsBackend;
use ipvs_manager::desired::{self, Overrides};
use ipvs_manager::health::{Policy, VerdictBook};
use ipvs_manager::reconcile::diff;
use ipvs_manager::table::{Change, TableState};

const CONF: &str = "global_defs {\n router_id vm\n}\n\
virtual_server 198.51.100.10 80 {\n lvs_sched wrr\n lvs_method NAT\n protocol TCP\n persistence_timeout 120\n\
 real_server 203.0.113.11 80 {\n weight 3\n }\n real_server 203.0.113.12 80 {\n weight 1\n }\n}\n\
virtual_server fwmark 7 {\n lvs_sched mh\n lvs_method DR\n real_server 198.51.100.21 0 {\n }\n}\n";

fn desired_table(conf: &str) -> TableState {
    let config = keepalived_config::load_str(conf, Path::new("/t/k.conf"), &Default::default())
        .expect("valid")
        .config;
    let (plan, errors) = ipvs_manager::spec::build(&config);
    assert!(errors.is_empty(), "{errors:?}");
    desired::compute(
        &plan,
        &VerdictBook::default(),
        Policy::Majority,
        &Overrides::default(),
        &mut HashMap::new(),
    )
    .table
}

fn empty(b: &mut IpvsBackend) {
    let keys: Vec<_> = b.observe().unwrap().table.services.into_keys().collect();
    b.remove_services(&keys).unwrap();
}

fn sh(cmd: &str) -> String {
    let out = Command::new("sh").arg("-c").arg(cmd).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
#[ignore = "needs real IPVS: run inside tests/vm/run.sh"]
fn the_diff_applied_to_ipvs_reads_back_as_desired_and_edits_in_place() {
    let mut b = IpvsBackend::open().expect("IPVS inside the VM");
    empty(&mut b);
    let want = desired_table(CONF);
    let observed = b.observe().unwrap();
    let scope = BTreeSet::new();
    let changes = diff(&want, &observed.table, &scope);
    assert_eq!(changes.len(), 5, "{changes:?}");
    b.apply(&observed.table, &changes).unwrap();
    assert_eq!(b.observe().unwrap().table, want);
    let listing = sh("ipvsadm -Ln");
    assert!(
        listing.contains("TCP  198.51.100.10:80 wrr persistent 120"),
        "{listing}"
    );
    assert!(listing.contains("FWM  7 mh"), "{listing}");

    // A weight change is one edit in place.
    let next = desired_table(&CONF.replace("weight 3", "weight 5"));
    let current = b.observe().unwrap().table;
    let changes = diff(&next, &current, &scope);
    assert!(
        matches!(changes.as_slice(), [Change::EditDest { spec, .. }] if spec.weight == 5),
        "{changes:?}"
    );
    b.apply(&current, &changes).unwrap();

    // A second client (a restarted ipvs-manager) adopts it: nothing to do.
    let mut again = IpvsBackend::open().unwrap();
    assert!(diff(&next, &again.observe().unwrap().table, &scope).is_empty());
    empty(&mut again);
}

#[test]
#[ignore = "needs real IPVS: run inside tests/vm/run.sh"]
fn the_service_programs_ipvs_and_a_kill_9_restart_adopts_without_changes() {
    let mut b = IpvsBackend::open().expect("IPVS inside the VM");
    empty(&mut b);
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("keepalived.conf");
    std::fs::write(&conf, CONF).unwrap();
    Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status()
        .unwrap();
    let start = |name: &str| {
        let log = std::fs::File::create(dir.path().join(name)).unwrap();
        Command::new(env!("CARGO_BIN_EXE_ipvs-manager"))
            .args([
                "-f",
                conf.to_str().unwrap(),
                "-l",
                "-G",
                "--backend",
                "ipvs",
            ])
            .arg("--listen")
            .arg(format!("unix:{}", dir.path().join("m.sock").display()))
            .args(["--health-prober", "unix:/nonexistent.sock"])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .unwrap()
    };
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap_or_default();
    let wait_log = |name: &str, what: &str| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !read(name).contains(what) {
            assert!(Instant::now() < deadline, "no {what:?} in:\n{}", read(name));
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let mut first = start("first.log");
    wait_log("first.log", "Listening on");
    let log = read("first.log");
    assert!(
        log.contains("Adding service [203.0.113.11]:tcp:80 to VS [198.51.100.10]:tcp:80"),
        "{log}"
    );
    assert!(
        log.contains("Gained quorum 1+0=1 <= 4 for VS [198.51.100.10]:tcp:80"),
        "{log}"
    );
    let table = b.observe().unwrap().table;
    assert_eq!(table, desired_table(CONF));
    first.kill().unwrap();
    first.wait().unwrap();

    let mut second = start("second.log");
    wait_log("second.log", "Listening on");
    let log = read("second.log");
    assert!(
        log.contains("adopted 2 service(s) from the kernel (ipvs backend)"),
        "{log}"
    );
    assert!(!log.contains("Adding"), "{log}");
    assert_eq!(b.observe().unwrap().table, table);
    second.kill().unwrap();
    second.wait().unwrap();
    empty(&mut b);
}
