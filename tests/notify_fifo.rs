//! Notify FIFOs against Debian's keepalived 2.2.7 (root, network namespaces):
//! the same configuration runs once under keepalived's VRRP side and once
//! under our vrrp-core + notifier, each in a namespace of its own, through the
//! same transitions: start (BACKUP, then MASTER: no peer), eth0 down
//! (FAULT), eth0 up (BACKUP, MASTER), a tracked file lowering the priority
//! (`notify_priority_changes`: MASTER_PRIORITY), SIGTERM (STOP); VI_1 is the one
//! member of sync group G1, whose `GROUP` lines come after VI_1's (and, at
//! start, before). Every line is compared, start-up ones included: the
//! notifier subscribes after vrrp-core has started, and reads its events from
//! its start (`WatchRequest.from_start`). The test waits for the notifier's
//! subscription before pulling eth0 down.
//!
//! - `notify_fifo`, read by the test (`cat`): byte-identical lines, STOP ones
//!   included.
//! - `vrrp_notify_fifo`, read by its `vrrp_notify_fifo_script`: keepalived
//!   SIGTERMs its scripts before it writes the STOP lines (vrrp_daemon.c
//!   `script_killall` comes before `notify_shutdown`), so its script reads
//!   the lines up to MASTER only; ours outlives vrrp-core and reads the STOP
//!   lines too. Both must have read the same lines up to there, and each
//!   script must be gone after the stop.
//!
//! Both sides must remove the FIFOs they created.
//!
//! Run: `cargo build -p vrrp-core -p notifier --bins &&
//! cargo test -p keepalived-tests --test notify_fifo -- --nocapture`.
//! Under CI=true a missing keepalived or root is a failure; locally it skips
//! loudly.
#![forbid(unsafe_code)]

#[path = "src/compat.rs"]
#[allow(dead_code)] // the dump parsers are tests/compat.rs's
mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use keepalived_testlab::{Lab, prerequisites_met, wait_until};

/// What both sides run; `DIR` is the side's scratch directory.
const CONFIG: &str = r#"
global_defs {
    router_id fifo-test
    notify_fifo DIR/all.fifo
    vrrp_notify_fifo DIR/vrrp.fifo
    vrrp_notify_fifo_script DIR/reader.sh
}
track_file prio {
    file DIR/prio
    weight -1
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    notify_priority_changes
    track_file {
        prio
    }
    virtual_ipaddress {
        198.51.100.200/24
    }
}
vrrp_sync_group G1 {
    group {
        VI_1
    }
    sync_group_tracking_weight
}
"#;

/// Copies the FIFO named as its argument to `FIFO.out` until end-of-file.
const READER: &str = "#!/bin/sh\nexec cat \"$1\" > \"$1.out\"\n";

/// Every line the side should have written once it stopped, per FIFO (the group's
/// STOP comes after its instances').
const DONE: &str = "GROUP \"G1\" STOP";

/// The line eth0 going down makes.
const FROM: &str = "INSTANCE \"VI_1\" FAULT";

struct Side {
    lab: Lab,
    dir: PathBuf,
    ns: String,
}

fn side(tag: &str) -> Side {
    let mut lab = Lab::new(tag).expect("lab");
    let ns = lab.isolated("n").expect("namespace");
    for args in [
        &[
            "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth1",
        ][..],
        &["ip", "link", "set", "eth0", "up"],
        &["ip", "link", "set", "eth1", "up"],
        &["ip", "addr", "add", "198.51.100.1/24", "dev", "eth0"],
    ] {
        lab.exec(&ns, args).expect("namespace set-up");
    }
    let dir = lab.dir().expect("dir");
    std::fs::write(
        dir.join("keepalived.conf"),
        CONFIG.replace("DIR", &dir.display().to_string()),
    )
    .expect("config");
    std::fs::write(dir.join("prio"), "0\n").expect("track file");
    let reader = dir.join("reader.sh");
    std::fs::write(&reader, READER).expect("reader");
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&reader, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    Side { lab, dir, ns }
}

fn read(dir: &Path, fifo: &str) -> String {
    std::fs::read_to_string(dir.join(format!("{fifo}.out"))).unwrap_or_default()
}

fn outputs(dir: &Path) -> [String; 2] {
    [read(dir, "all.fifo"), read(dir, "vrrp.fifo")]
}

/// Starts the test's own reader of `all.fifo` once the FIFO exists.
fn read_global(s: &mut Side) {
    let fifo = s.dir.join("all.fifo");
    assert!(
        wait_until(Duration::from_secs(20), || {
            std::fs::symlink_metadata(&fifo).is_ok_and(|m| {
                use std::os::unix::fs::FileTypeExt as _;
                m.file_type().is_fifo()
            })
        }),
        "notify_fifo {} created",
        fifo.display()
    );
    let fifo_s = fifo.display().to_string();
    s.lab
        .spawn(&s.ns, "cat", &[&fifo_s], &s.dir.join("all.fifo.out"))
        .expect("cat");
}

fn masters(dir: &Path) -> usize {
    read(dir, "all.fifo")
        .matches("INSTANCE \"VI_1\" MASTER")
        .count()
}

/// eth0 down until the FAULT line, then up until the next MASTER line.
fn flap(s: &Side, masters_before: usize, what: &str, logs: &dyn Fn() -> String) {
    s.lab
        .exec(&s.ns, &["ip", "link", "set", "eth0", "down"])
        .expect("eth0 down");
    assert!(
        wait_until(Duration::from_secs(10), || read(&s.dir, "all.fifo")
            .contains(FROM)),
        "{what}: FAULT line; read {:?}\n{}",
        outputs(&s.dir),
        logs()
    );
    s.lab
        .exec(&s.ns, &["ip", "link", "set", "eth0", "up"])
        .expect("eth0 up");
    assert!(
        wait_until(Duration::from_secs(15), || masters(&s.dir) > masters_before),
        "{what}: MASTER again; read {:?}\n{}",
        outputs(&s.dir),
        logs()
    );
}

/// The tracked file takes the priority from 100 to 90 while MASTER: with
/// `notify_priority_changes`, a `MASTER_PRIORITY 90` line.
fn lower_priority(s: &Side, what: &str, logs: &dyn Fn() -> String) {
    std::fs::write(s.dir.join("prio"), "10\n").expect("track file");
    assert!(
        wait_until(Duration::from_secs(10), || read(&s.dir, "all.fifo")
            .contains("INSTANCE \"VI_1\" MASTER_PRIORITY 90")),
        "{what}: MASTER_PRIORITY line; read {:?}\n{}",
        outputs(&s.dir),
        logs()
    );
}

fn stopped(dir: &Path) -> bool {
    read(dir, "all.fifo").contains(DONE)
}

/// The reader script's process, from /proc (its command line names the FIFO).
fn script_running(dir: &Path) -> bool {
    let fifo = dir.join("vrrp.fifo").display().to_string();
    std::fs::read_dir("/proc").is_ok_and(|procs| {
        procs.flatten().any(|p| {
            std::fs::read(p.path().join("cmdline")).is_ok_and(|c| {
                String::from_utf8_lossy(&c)
                    .split('\0')
                    .any(|arg| arg == fifo)
            })
        })
    })
}

fn fifos_gone(dir: &Path) -> bool {
    !dir.join("all.fifo").exists() && !dir.join("vrrp.fifo").exists()
}

/// keepalived's side: the lines its reader scripts got.
fn keepalived_lines() -> [String; 2] {
    let mut s = side("fifo-ka");
    let conf = s.dir.join("keepalived.conf").display().to_string();
    let ka = support::KeepalivedRun::start(&mut s.lab, &s.ns, &s.dir, &["--vrrp"], &conf)
        .expect("keepalived starts");
    read_global(&mut s);
    let log = || std::fs::read_to_string(&ka.log).unwrap_or_default();
    assert!(
        wait_until(Duration::from_secs(20), || masters(&s.dir) == 1),
        "keepalived: MASTER; read {:?}; log:\n{}",
        outputs(&s.dir),
        log()
    );
    flap(&s, 1, "keepalived", &log);
    lower_priority(&s, "keepalived", &log);
    ka.stop(&mut s.lab, Duration::from_secs(10));
    assert!(
        wait_until(Duration::from_secs(10), || stopped(&s.dir)),
        "keepalived: STOP lines; read {:?}; log:\n{}",
        outputs(&s.dir),
        log()
    );
    assert!(fifos_gone(&s.dir), "keepalived removes the FIFOs it made");
    assert!(
        wait_until(Duration::from_secs(5), || !script_running(&s.dir)),
        "keepalived stops its FIFO script"
    );
    outputs(&s.dir)
}

/// Ours: vrrp-core and the notifier on the same configuration.
fn our_lines() -> [String; 2] {
    let mut s = side("fifo-rs");
    let conf = s.dir.join("keepalived.conf").display().to_string();
    let sock = |svc: &str| format!("unix:{}/{svc}.sock", s.dir.display());
    let spool = s.dir.join("spool").display().to_string();
    let vrrp_args = ["-l", "-G", "-f", &conf, "--listen", &sock("vrrp-core")];
    let vrrp_log = s.dir.join("vrrp-core.log");
    // `env` so the bus's debug line says when the notifier has subscribed.
    let vrrp_core = keepalived_tests::bin_path("vrrp-core")
        .display()
        .to_string();
    let mut env_args = vec!["RUST_LOG=info,keepalived_bus=debug", vrrp_core.as_str()];
    env_args.extend_from_slice(&vrrp_args);
    let vrrp = s
        .lab
        .spawn(&s.ns, "env", &env_args, &vrrp_log)
        .expect("vrrp-core");
    let notifier_args = [
        "-l",
        "-G",
        "-f",
        &conf,
        "--listen",
        &sock("notifier"),
        "--vrrp",
        &sock("vrrp-core"),
        "--ipvs",
        &sock("ipvs-manager"),
        "--spool-dir",
        &spool,
    ];
    let notifier_log = s.dir.join("notifier.log");
    let notifier = s
        .lab
        .spawn(
            &s.ns,
            keepalived_tests::bin_path("notifier"),
            &notifier_args,
            &notifier_log,
        )
        .expect("notifier");
    read_global(&mut s);
    let logs = || {
        format!(
            "vrrp-core:\n{}\nnotifier:\n{}",
            std::fs::read_to_string(&vrrp_log).unwrap_or_default(),
            std::fs::read_to_string(&notifier_log).unwrap_or_default()
        )
    };
    assert!(
        wait_until(Duration::from_secs(30), || {
            std::fs::read_to_string(&vrrp_log)
                .is_ok_and(|l| l.contains("Watch stream opened") && l.contains("notifier"))
        }),
        "ours: the notifier subscribes to vrrp-core\n{}",
        logs()
    );
    // The start-up lines come from vrrp-core's history; wait for its MASTER.
    assert!(
        wait_until(Duration::from_secs(20), || masters(&s.dir) == 1),
        "ours: MASTER; read {:?}\n{}",
        outputs(&s.dir),
        logs()
    );
    let before = masters(&s.dir);
    flap(&s, before, "ours", &logs);
    lower_priority(&s, "ours", &logs);
    s.lab.signal(vrrp, "TERM").expect("TERM vrrp-core");
    assert!(
        s.lab
            .wait_exit(vrrp, Duration::from_secs(10))
            .unwrap_or(false)
    );
    assert!(
        wait_until(Duration::from_secs(10), || stopped(&s.dir)),
        "ours: STOP lines; read {:?}\n{}",
        outputs(&s.dir),
        logs()
    );
    s.lab.signal(notifier, "TERM").expect("TERM notifier");
    assert!(
        s.lab
            .wait_exit(notifier, Duration::from_secs(10))
            .unwrap_or(false)
    );
    assert!(fifos_gone(&s.dir), "the notifier removes the FIFOs it made");
    assert!(
        wait_until(Duration::from_secs(5), || !script_running(&s.dir)),
        "the notifier stops its FIFO script"
    );
    outputs(&s.dir)
}

#[test]
fn fifo_lines_are_keepalived_2_2_7s_byte_for_byte() {
    if !prerequisites_met("notify_fifo", &["keepalived"]) {
        return;
    }
    let [theirs, their_script] = keepalived_lines();
    let [ours, our_script] = our_lines();
    assert_eq!(
        ours, theirs,
        "notify_fifo: ours (left) differ from keepalived 2.2.7's (right)"
    );
    // The scripts: keepalived's got everything before the STOP lines.
    let before_stop: String = theirs
        .split_inclusive('\n')
        .take_while(|l| !l.contains(" STOP "))
        .collect();
    assert_eq!(
        their_script, before_stop,
        "keepalived's vrrp_notify_fifo_script reads up to the stop"
    );
    assert_eq!(
        our_script, ours,
        "our vrrp_notify_fifo_script reads every line, STOP ones too"
    );
    println!("keepalived 2.2.7 and keepalived-rs wrote:\n{theirs}");
}
