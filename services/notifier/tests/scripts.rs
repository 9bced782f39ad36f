//! Notify scripts end to end: the seed's notify.sh gets exactly its
//! configured arguments, the generic notify keepalived's four, one
//! instance's slow scripts run in event order while another instance's run
//! alongside, and enable_script_security refuses an insecure script.

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use keepalived_api::v1;
use keepalived_api::v1::VrrpState as S;

/// A root-owned 0755 directory (tempdir under a sticky /tmp) holding
/// scripts that log their arguments to `<dir>/<name>.log`.
fn script_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// A script appending `start ARGS` and `end ARGS` (after `sleep`) to its log
/// and to the directory's shared `all.log`.
fn write_script(dir: &Path, name: &str, sleep: &str) -> PathBuf {
    let path = dir.join(name);
    let log = dir.join(format!("{name}.log"));
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\nIFS='|'\necho \"start $*\" | tee -a {all} >> {log}\nsleep {sleep}\necho \"end $*\" | tee -a {all} >> {log}\n",
            log = log.display(),
            all = dir.join("all.log").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn log_lines(dir: &Path, name: &str) -> Vec<String> {
    std::fs::read_to_string(dir.join(format!("{name}.log")))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn instance(name: &str, vrid: u8, scripts: &str) -> String {
    format!(
        r#"
vrrp_instance {name} {{
    interface eth0
    virtual_router_id {vrid}
    priority 99
    virtual_ipaddress {{ 192.0.2.{vrid}/24 }}
{scripts}
}}
"#
    )
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_notify_sh_gets_its_configured_arguments_and_generic_notify_keepaliveds_four() {
    if !is_root() {
        eprintln!("skipped: scripts must be root-owned to pass keepalived's checks");
        return;
    }
    let scripts = script_dir();
    let notify = write_script(scripts.path(), "notify.sh", "0");
    let generic = write_script(scripts.path(), "generic.sh", "0");
    let n = notify.display();
    let conf = format!(
        "global_defs {{ router_id R1 }}\n{}",
        instance(
            "VI_1",
            3,
            &format!(
                "notify_master \"{n} master\"\nnotify_backup \"{n} backup\"\nnotify_fault \"{n} fault\"\nnotify {}",
                generic.display()
            )
        )
    );
    let dir = tempfile::tempdir().unwrap();
    let up = Upstreams::start(64).await;
    let _engine = start_engine(
        settings(dir.path(), &conf),
        options(&dir.path().join("spool")),
        &up,
    );
    up.wait_watchers(1).await;
    up.vrrp.publish(transition("VI_1", S::Init, S::Backup, 99));
    up.vrrp
        .publish(transition("VI_1", S::Backup, S::Master, 99));
    up.vrrp.publish(transition("VI_1", S::Master, S::Fault, 0));
    eventually(Duration::from_secs(20), "three generic notifies", || {
        log_lines(scripts.path(), "generic.sh").len() == 6
    })
    .await;
    let ends = |name| -> Vec<String> {
        log_lines(scripts.path(), name)
            .into_iter()
            .filter_map(|l| l.strip_prefix("end ").map(str::to_owned))
            .collect()
    };
    assert_eq!(ends("notify.sh"), ["backup", "master", "fault"]);
    assert_eq!(
        ends("generic.sh"),
        [
            "INSTANCE|VI_1|BACKUP|99",
            "INSTANCE|VI_1|MASTER|99",
            "INSTANCE|VI_1|FAULT|0"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_instances_slow_scripts_run_in_event_order_while_another_instance_runs_alongside() {
    if !is_root() {
        eprintln!("skipped: scripts must be root-owned to pass keepalived's checks");
        return;
    }
    let scripts = script_dir();
    let slow1 = write_script(scripts.path(), "vi1.sh", "0.4");
    let slow2 = write_script(scripts.path(), "vi2.sh", "0.4");
    let conf = format!(
        "global_defs {{ router_id R1 }}\n{}{}",
        instance("VI_1", 3, &format!("notify {}", slow1.display())),
        instance("VI_2", 4, &format!("notify {}", slow2.display()))
    );
    let dir = tempfile::tempdir().unwrap();
    let up = Upstreams::start(64).await;
    let _engine = start_engine(
        settings(dir.path(), &conf),
        options(&dir.path().join("spool")),
        &up,
    );
    up.wait_watchers(1).await;
    for (from, to) in [
        (S::Init, S::Backup),
        (S::Backup, S::Master),
        (S::Master, S::Fault),
    ] {
        up.vrrp.publish(transition("VI_1", from, to, 99));
        up.vrrp.publish(transition("VI_2", from, to, 98));
    }
    eventually(Duration::from_secs(30), "six script runs", || {
        log_lines(scripts.path(), "vi1.sh").len() == 6
            && log_lines(scripts.path(), "vi2.sh").len() == 6
    })
    .await;
    // One at a time, in event order: start/end pairs never interleave.
    assert_eq!(
        log_lines(scripts.path(), "vi1.sh"),
        [
            "start INSTANCE|VI_1|BACKUP|99",
            "end INSTANCE|VI_1|BACKUP|99",
            "start INSTANCE|VI_1|MASTER|99",
            "end INSTANCE|VI_1|MASTER|99",
            "start INSTANCE|VI_1|FAULT|99",
            "end INSTANCE|VI_1|FAULT|99",
        ]
    );
    // Concurrently across instances: at some moment both ran, i.e. the
    // other instance's script started between one's start and its end.
    // Serialising every script globally would never show that.
    let all = log_lines(scripts.path(), "all");
    let overlapped = all.windows(2).any(|w| {
        let name = |l: &str| l.split('|').nth(1).map(str::to_owned);
        w[0].starts_with("start ") && w[1].starts_with("start ") && name(&w[0]) != name(&w[1])
    });
    assert!(
        overlapped,
        "the two instances' scripts never ran alongside: {all:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enable_script_security_refuses_a_script_in_a_world_writable_directory() {
    let scripts = tempfile::tempdir().unwrap();
    let script = write_script(scripts.path(), "notify.sh", "0");
    // World-writable without the sticky bit: anyone could replace it.
    std::fs::set_permissions(scripts.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let conf = format!(
        "global_defs {{\n router_id R1\n enable_script_security\n}}\n{}",
        instance(
            "VI_1",
            3,
            &format!("notify_master \"{} master\"", script.display())
        )
    );
    let dir = tempfile::tempdir().unwrap();
    let up = Upstreams::start(64).await;
    let engine = start_engine(
        settings(dir.path(), &conf),
        options(&dir.path().join("spool")),
        &up,
    );
    up.wait_watchers(1).await;
    up.vrrp
        .publish(transition("VI_1", S::Backup, S::Master, 99));
    let store = engine.store();
    eventually(Duration::from_secs(20), "the script given up", || {
        store.lock().unwrap().records().any(|r| {
            let d = r.to_proto();
            d.state == v1::DeliveryState::GivenUp as i32
                && d.attempts == 1
                && d.last_error
                    .starts_with("Unsafe permissions found for script '")
                && d.last_error.ends_with("' - disabling.")
        })
    })
    .await;
    assert!(
        log_lines(scripts.path(), "notify.sh").is_empty(),
        "the refused script must not run"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_run_as_script_user_or_their_own_user() {
    if !is_root() {
        eprintln!("skipped: only root can run scripts as another user");
        return;
    }
    let scripts = script_dir();
    let out = tempfile::tempdir().unwrap();
    std::fs::set_permissions(out.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let log = out.path().join("ids.log");
    let script = scripts.path().join("id.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$1 $(id -u) $(id -g)\" >> {}\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let s = script.display();
    let conf = format!(
        "global_defs {{\n router_id R1\n script_user nobody\n}}\n{}",
        instance(
            "VI_1",
            3,
            &format!("notify_backup \"{s} backup\"\nnotify_master \"{s} master\" root root")
        )
    );
    let dir = tempfile::tempdir().unwrap();
    let up = Upstreams::start(64).await;
    let _engine = start_engine(
        settings(dir.path(), &conf),
        options(&dir.path().join("spool")),
        &up,
    );
    up.wait_watchers(1).await;
    up.vrrp.publish(transition("VI_1", S::Init, S::Backup, 99));
    up.vrrp
        .publish(transition("VI_1", S::Backup, S::Master, 99));
    eventually(Duration::from_secs(20), "two runs", || {
        std::fs::read_to_string(&log).is_ok_and(|t| t.lines().count() == 2)
    })
    .await;
    let nobody = std::fs::read_to_string("/etc/passwd")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("nobody:"))
        .map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            format!("{} {}", f[2], f[3])
        })
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        format!("backup {nobody}\nmaster 0 0\n")
    );
}
