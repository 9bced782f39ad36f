//! kactl against the real services: the four binaries run in a network
//! namespace (vrrp-core must never touch the root namespace) with their unix
//! sockets in a scratch directory; kactl runs outside and reaches them over
//! those sockets, as root (so the state-changing RPCs are allowed).
//!
//! Needs root, `ip`, `nft`, `python3` and the workspace binaries built
//! (`cargo build --workspace --bins`, as scripts/test does).
#![forbid(unsafe_code)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keepalived_testlab::{Lab, prerequisites_met, wait_until};

/// A workspace binary next to this test's profile directory.
fn service_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test exe");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} not built: run `cargo build --workspace --bins` first",
        path.display()
    );
    path
}

fn kactl(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kactl"))
        .arg("--director")
        .arg(format!("lab=unix:{}", dir.display()))
        .args(args)
        .output()
        .expect("run kactl");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const CONFIG: &str = r#"
global_defs {
    router_id kactl_lab
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 3
    priority 99
    advert_int 1
    virtual_ipaddress {
        198.51.100.10/24 dev eth0
    }
}
virtual_server 198.51.100.10 80 {
    delay_loop 1
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 198.51.100.21 80 {
        weight 1
        HTTP_GET {
            url {
                path /
                status_code 200
            }
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
}
"#;

#[test]
fn status_events_maintenance_drain_and_weight_against_the_real_services() {
    if !prerequisites_met("kactl lab", &["nft", "python3"]) {
        return;
    }
    let mut lab = Lab::new("kactl").expect("lab");
    let dr = lab
        .host("dr1", Some("02:00:00:00:00:11"), &["198.51.100.11/24"])
        .expect("dr1");
    let rs = lab
        .host("rs1", Some("02:00:00:00:00:21"), &["198.51.100.21/24"])
        .expect("rs1");
    let dir = lab.dir().expect("dir");
    let www = dir.join("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("index.html"), "server1\n").unwrap();
    lab.spawn(
        &rs.netns,
        "python3",
        &[
            "-m",
            "http.server",
            "80",
            "--bind",
            "198.51.100.21",
            "--directory",
            www.to_str().unwrap(),
        ],
        &dir.join("rs1.log"),
    )
    .expect("http server");
    let config = dir.join("keepalived.conf");
    std::fs::write(&config, CONFIG).unwrap();
    let sock = |s: &str| format!("unix:{}/{s}.sock", dir.display());
    let config_arg = config.to_str().unwrap().to_owned();
    let spool = dir.join("spool");
    for (svc, extra) in [
        ("vrrp-core", vec![]),
        ("health-prober", vec![]),
        (
            "ipvs-manager",
            vec![
                "--backend".to_owned(),
                "nft".to_owned(),
                "--health-prober".to_owned(),
                sock("health-prober"),
            ],
        ),
        (
            "notifier",
            vec![
                "--vrrp".to_owned(),
                sock("vrrp-core"),
                "--ipvs".to_owned(),
                sock("ipvs-manager"),
                "--spool-dir".to_owned(),
                spool.to_str().unwrap().to_owned(),
            ],
        ),
    ] {
        let mut args: Vec<String> = vec![
            "-l".into(),
            "-G".into(),
            "-f".into(),
            config_arg.clone(),
            "--listen".into(),
            sock(svc),
        ];
        args.extend(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        lab.spawn(
            &dr.netns,
            service_bin(svc),
            &args,
            &dir.join(format!("{svc}.log")),
        )
        .expect("spawn service");
    }
    for svc in ["vrrp-core", "health-prober", "ipvs-manager", "notifier"] {
        let path = dir.join(format!("{svc}.sock"));
        assert!(
            wait_until(Duration::from_secs(20), || path.exists()),
            "{svc} did not create its socket: {}",
            std::fs::read_to_string(dir.join(format!("{svc}.log"))).unwrap_or_default()
        );
    }

    // Status: VI_1 becomes MASTER (alone, after Master_Down_Interval) and the
    // real server is UP in the table.
    let mut last = String::new();
    let ready = wait_until(Duration::from_secs(30), || {
        let (_, out, err) = kactl(&dir, &["status"]);
        last = format!("{out}{err}");
        out.contains("VI_1         MASTER")
            && out.contains("  -> 198.51.100.21:80             Route   1 ")
            && !out.contains("(not in table)")
    });
    assert!(ready, "lab never ready; last status:\n{last}");
    let (code, out, err) = kactl(&dir, &["status"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.starts_with("== director lab\nINSTANCE     STATE   PRIO BASE  MASTER "),
        "{out}"
    );
    assert!(out.contains("198.51.100.10/24 dev eth0"), "{out}");
    assert!(
        out.contains("IP Virtual Server (backend nft)\nProt LocalAddress:Port Scheduler Flags\n"),
        "{out}"
    );
    assert!(out.contains("\nTCP  198.51.100.10:80 rr\n"), "{out}");
    assert!(
        out.contains("health-prober: 1 targets, 1 up, 0 down"),
        "{out}"
    );

    let (code, out, _) = kactl(&dir, &["status", "-o", "json"]);
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(&out).expect("status JSON");
    assert_eq!(json[0]["instances"][0]["state"], "MASTER");
    assert_eq!(json[0]["instances"][0]["vips"][0]["present"], true);
    assert_eq!(json[0]["tables"]["backend"], "nft");
    assert_eq!(
        json[0]["tables"]["virtual_servers"][0]["real_servers"][0]["health"],
        "UP"
    );

    // events without --follow: one snapshot per service, then exit 0.
    let (code, out, err) = kactl(&dir, &["events"]);
    assert_eq!(code, 0, "{out}{err}");
    for svc in ["vrrp-core", "ipvs-manager", "health-prober", "notifier"] {
        assert!(
            out.lines()
                .any(|l| l.contains(&format!(" lab {svc}")) && l.contains("snapshot")),
            "no {svc} snapshot in:\n{out}"
        );
    }

    // events --follow sees the maintenance transition.
    let mut follower = Command::new(env!("CARGO_BIN_EXE_kactl"))
        .arg("--director")
        .arg(format!("lab=unix:{}", dir.display()))
        .args(["events", "--follow"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kactl events --follow");
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    {
        let lines = lines.clone();
        let stdout = follower.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
    }
    assert!(
        wait_until(Duration::from_secs(10), || lines.lock().unwrap().len() >= 4),
        "follow gave no snapshots: {:?}",
        lines.lock().unwrap()
    );

    let (code, out, err) = kactl(
        &dir,
        &["maintenance", "VI_1", "on", "--reason", "kactl test"],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("lab: VI_1 maintenance on, state "), "{out}");
    let (_, out, _) = kactl(&dir, &["status"]);
    assert!(
        wait_until(Duration::from_secs(10), || {
            kactl(&dir, &["status"]).1.contains("VI_1         BACKUP")
        }),
        "maintenance did not demote:\n{out}"
    );
    assert!(
        kactl(&dir, &["status"])
            .1
            .contains(" on    198.51.100.10/24")
    );
    let transition = wait_until(Duration::from_secs(10), || {
        lines.lock().unwrap().iter().any(|l| {
            l.contains(" lab vrrp-core     VI_1 MASTER -> BACKUP (maintenance")
                && l.contains(" trace=")
        })
    });
    assert!(
        transition,
        "no maintenance transition line: {:#?}",
        lines.lock().unwrap()
    );

    // drain, undrain, weight override and reset.
    let (code, out, err) = kactl(&dir, &["drain", "198.51.100.10:80", "198.51.100.21:80"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("lab: 198.51.100.21:80 weight 0 (configured 1), drained"),
        "{out}"
    );
    assert!(
        wait_until(Duration::from_secs(10), || kactl(&dir, &["status"])
            .1
            .contains("  -> 198.51.100.21:80             Route   0      ")),
        "drain not in the table"
    );
    let (code, out, err) = kactl(&dir, &["undrain", "198.51.100.10:80", "198.51.100.21:80"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("weight 1 (configured 1), UP"), "{out}");
    let (code, out, err) = kactl(
        &dir,
        &[
            "-o",
            "json",
            "weight",
            "198.51.100.10:80",
            "198.51.100.21:80",
            "5",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let json: serde_json::Value = serde_json::from_str(&out).expect("weight JSON");
    assert_eq!(json[0]["real_server"]["weight_override"], 5);
    assert_eq!(json[0]["real_server"]["weight"], 5);
    let (code, out, _) = kactl(
        &dir,
        &["weight", "198.51.100.10:80", "198.51.100.21:80", "reset"],
    );
    assert_eq!(code, 0);
    assert!(out.contains("weight 1 (configured 1), UP"), "{out}");
    let (code, _, err) = kactl(&dir, &["drain", "198.51.100.10:80", "198.51.100.99:80"]);
    assert_ne!(code, 0, "an unknown real server is an error");
    assert!(err.starts_with("kactl: "), "{err}");

    let (code, out, err) = kactl(&dir, &["maintenance", "VI_1", "off"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("maintenance off"), "{out}");

    // A director that is not there: status says which services and exits 1.
    let (code, out, _) = Command::new(env!("CARGO_BIN_EXE_kactl"))
        .args([
            "--director",
            &format!("gone=unix:{}/nowhere", dir.display()),
            "status",
        ])
        .output()
        .map(|o| {
            (
                o.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&o.stdout).into_owned(),
                (),
            )
        })
        .unwrap();
    assert_eq!(code, 1);
    assert!(out.contains("vrrp-core at unix:"), "{out}");

    let _ = follower.kill();
    let _ = follower.wait();
}
