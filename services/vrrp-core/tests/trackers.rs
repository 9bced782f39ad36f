//! Trackers end to end: the seed's chk_down script (weight -15, fall 2, rise 1) demotes
//! DR1 (99 → 84 < 90) and the VIP floats to DR2, and back; track_file and
//! track_interface weights.

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::time::Duration;

use common::{Conf, Topology, Which};
use keepalived_api::v1::VrrpState;
use keepalived_testlab::wait_until;

#[test]
fn seed_chk_down_script_moves_the_vip_to_dr2_and_back() {
    if !common::prerequisites("chk_down script", &["bash"]) {
        return;
    }
    let mut t = Topology::new("vcchk");
    let script = t.dir.join("chk_down.sh");
    let down = t.dir.join("down");
    std::fs::write(
        &script,
        format!(
            "#!/bin/bash\n[[ -f {} ]] && exit 1 || exit 0\n",
            down.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut dr1 = Conf::fast("keepalivedR1", 99);
    dr1.top_extra = format!(
        // No `user`: the default keepalived_script, missing here, falls back to root with
        // keepalived's warning. (An explicit `user` this host lacks removes the script, as
        // keepalived 2.2.7 does.)
        "vrrp_script chk_down {{\n    script \"{}\"\n    interval 1\n    weight -15\n    fall 2\n    rise 1\n}}\n",
        script.display()
    );
    dr1.instance_extra = "    track_script {\n        chk_down\n    }\n".into();
    t.start(Which::Dr1, &dr1);
    t.start(Which::Dr2, &Conf::fast("keepalivedR2", 90));
    t.wait_vip_on(Which::Dr1, Duration::from_secs(10));

    std::fs::write(&down, "").unwrap();
    t.wait_vip_on(Which::Dr2, Duration::from_secs(10));
    let dr1 = t.instance(Which::Dr1);
    assert_eq!(
        (dr1.state, dr1.effective_priority),
        (VrrpState::Backup as i32, 84)
    );
    assert_eq!(dr1.trackers.len(), 1);
    assert!(!dr1.trackers[0].ok);
    assert_eq!(dr1.trackers[0].priority_delta, -15);
    for line in [
        "Script `chk_down` now returning 1",
        "VRRP_Script(chk_down) failed (exited with status 1)",
        "(VI_1) Changing effective priority from 99 to 84",
        "default user 'keepalived_script' for script execution does not exist - please create.",
    ] {
        assert!(
            common::log_contains(&t.dr1.log, line),
            "missing {line:?}\n{}",
            t.logs()
        );
    }

    std::fs::remove_file(&down).unwrap();
    t.wait_vip_on(Which::Dr1, Duration::from_secs(10));
    assert_eq!(t.instance(Which::Dr1).effective_priority, 99);
    assert!(common::log_contains(
        &t.dr1.log,
        "VRRP_Script(chk_down) succeeded"
    ));
}

#[test]
fn track_file_and_track_interface_weights_change_the_priority() {
    if !common::prerequisites("track_file/track_interface", &[]) {
        return;
    }
    let mut t = Topology::new("vctrk");
    let file = t.dir.join("prio");
    std::fs::write(&file, "0\n").unwrap();
    // A veth pair inside DR1 to track (this kernel has no dummy interfaces).
    let ns = t.dr1.host.netns.clone();
    t.lab
        .exec(
            &ns,
            &[
                "ip", "link", "add", "t0", "type", "veth", "peer", "name", "t1",
            ],
        )
        .unwrap();
    t.lab.exec(&ns, &["ip", "link", "set", "t0", "up"]).unwrap();
    t.lab.exec(&ns, &["ip", "link", "set", "t1", "up"]).unwrap();
    let mut dr1 = Conf::fast("R1", 99);
    dr1.top_extra = format!(
        "track_file prio {{\n    file \"{}\"\n    weight -1\n}}\n",
        file.display()
    );
    dr1.instance_extra = "    track_file {\n        prio\n    }\n    track_interface {\n        t0 weight -20\n    }\n".into();
    t.start(Which::Dr1, &dr1);
    t.start(Which::Dr2, &Conf::fast("R2", 90));
    t.wait_vip_on(Which::Dr1, Duration::from_secs(10));

    std::fs::write(&file, "15\n").unwrap();
    t.wait_vip_on(Which::Dr2, Duration::from_secs(10));
    assert_eq!(t.instance(Which::Dr1).effective_priority, 84);
    std::fs::write(&file, "0\n").unwrap();
    t.wait_vip_on(Which::Dr1, Duration::from_secs(10));

    // t1 down → t0 loses its carrier → -20.
    t.lab
        .exec(&ns, &["ip", "link", "set", "t1", "down"])
        .unwrap();
    t.wait_vip_on(Which::Dr2, Duration::from_secs(10));
    assert!(wait_until(Duration::from_secs(2), || t
        .instance(Which::Dr1)
        .effective_priority
        == 79));
    t.lab.exec(&ns, &["ip", "link", "set", "t1", "up"]).unwrap();
    t.wait_vip_on(Which::Dr1, Duration::from_secs(10));
}

#[test]
fn track_process_losing_its_process_lowers_the_priority_and_moves_the_vip() {
    if !common::prerequisites("track_process", &["sleep"]) {
        return;
    }
    let mut sleeper = common::Sleeper::start(1);
    let seconds = sleeper.seconds.clone();
    let mut t = Topology::new("vcproc");
    let mut dr1 = Conf::fast("R1", 99);
    dr1.top_extra =
        format!("vrrp_track_process sleeper {{\n    process sleep {seconds}\n    weight -15\n}}\n");
    dr1.instance_extra = "    track_process {\n        sleeper\n    }\n".into();
    t.start(Which::Dr1, &dr1);
    t.start(Which::Dr2, &Conf::fast("R2", 90));
    t.wait_vip_on(Which::Dr1, Duration::from_secs(10));
    let vi = t.instance(Which::Dr1);
    assert_eq!(vi.effective_priority, 99);
    assert_eq!(
        (vi.trackers[0].kind, vi.trackers[0].ok),
        (keepalived_api::v1::TrackerKind::Process as i32, true)
    );

    sleeper.kill();
    t.wait_vip_on(Which::Dr2, Duration::from_secs(10));
    let vi = t.instance(Which::Dr1);
    assert_eq!(
        (
            vi.state,
            vi.effective_priority,
            vi.trackers[0].priority_delta
        ),
        (VrrpState::Backup as i32, 84, -15)
    );
    assert!(
        common::log_contains(&t.dr1.log, "Quorum lost for tracked process sleeper"),
        "{}",
        t.logs()
    );

    sleeper.restart();
    t.wait_vip_on(Which::Dr1, Duration::from_secs(10));
    assert!(common::log_contains(
        &t.dr1.log,
        "Quorum gained for tracked process sleeper"
    ));
}
