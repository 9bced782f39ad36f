//! Every service's `/metrics` on the lab's config (deploy/lab/keepalived.conf.in, one
//! director and one live real server in namespaces) passes `promtool check metrics`,
//! and every metric the Grafana dashboard (deploy/grafana/keepalived-rs.json) queries is
//! among those exported. Root only (namespaces); promtool from Debian's `prometheus`.
#![forbid(unsafe_code)]
// std::time::Instant: these tests wait on real processes (clippy.toml bans it elsewhere).
#![allow(clippy::disallowed_types)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use keepalived_testlab::{Lab, prerequisites_met, wait_until};

const PORTS: [(&str, u16); 4] = [
    ("vrrp-core", 9051),
    ("ipvs-manager", 9052),
    ("health-prober", 9053),
    ("notifier", 9054),
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The sample names of a text exposition (`name{labels} value` lines).
fn sample_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

/// Every `keepalived_*` name in the dashboard's query expressions.
fn dashboard_metrics(dashboard: &serde_json::Value) -> BTreeSet<String> {
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    match (k.as_str(), v) {
                        ("expr", serde_json::Value::String(e)) => out.push(e.clone()),
                        _ => walk(v, out),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut exprs = Vec::new();
    walk(dashboard, &mut exprs);
    let mut names = BTreeSet::new();
    for expr in exprs {
        let mut rest = expr.as_str();
        while let Some(at) = rest.find("keepalived_") {
            let tail = &rest[at..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(tail.len());
            names.insert(tail[..end].to_owned());
            rest = &tail[end..];
        }
    }
    names
}

fn promtool_check(text: &str) -> Result<(), String> {
    use std::io::Write as _;
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("promtool: {e}"))?;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

#[test]
fn every_metrics_endpoint_passes_promtool_and_exports_every_dashboard_metric() {
    if !prerequisites_met("metrics", &["promtool", "curl", "python3"]) {
        return;
    }
    let mut lab = Lab::new("metrics").expect("lab");
    let dir = lab.dir().expect("dir");
    let dr = lab
        .host("dr1", Some("02:00:00:00:00:11"), &["198.51.100.11/24"])
        .expect("dr1")
        .netns;
    let rs = lab
        .host("rs1", Some("02:00:00:00:00:21"), &["198.51.100.21/24"])
        .expect("rs1")
        .netns;
    // rs1 answers; rs2 (198.51.100.22) does not exist, so its checks fail.
    let www = dir.join("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("index.html"), "server1\n").unwrap();
    lab.spawn(
        &rs,
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
        &dir.join("http.log"),
    )
    .expect("http server");

    let config = std::fs::read_to_string(repo().join("deploy/lab/keepalived.conf.in"))
        .expect("deploy/lab/keepalived.conf.in")
        .replace("@ROUTER_ID@", "metrics")
        .replace("@STATE@", "MASTER")
        .replace("@PRIORITY@", "99")
        .replace("@DIR@", dir.to_str().unwrap());
    std::fs::write(dir.join("keepalived.conf"), config).unwrap();
    for script in ["chk_down.sh", "notify.sh"] {
        let path = dir.join(script);
        std::fs::write(&path, "#!/bin/sh\nexit 0\n").unwrap();
        Command::new("chmod")
            .arg("755")
            .arg(&path)
            .status()
            .unwrap();
    }
    let sock = |s: &str| format!("unix:{}/{s}.sock", dir.display());
    let config = dir.join("keepalived.conf").display().to_string();
    for (service, port) in PORTS {
        let bin = keepalived_tests::bin_path(service);
        let mut args = vec![
            "-l".to_owned(),
            "-G".into(),
            "-f".into(),
            config.clone(),
            "--listen".into(),
            sock(service),
            "--metrics-listen".into(),
            format!("127.0.0.1:{port}"),
        ];
        match service {
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
                dir.join("spool").display().to_string(),
            ]),
            _ => {}
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        lab.spawn(&dr, &bin, &args, &dir.join(format!("{service}.log")))
            .expect("spawn");
    }
    let scrape = |port: u16| -> String {
        lab.exec(
            &dr,
            &["curl", "-sf", &format!("http://127.0.0.1:{port}/metrics")],
        )
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
    };
    let logs = || {
        PORTS
            .iter()
            .map(|(s, _)| {
                format!(
                    "--- {s}\n{}",
                    std::fs::read_to_string(dir.join(format!("{s}.log"))).unwrap_or_default()
                )
            })
            .collect::<String>()
    };
    // Up and doing something: MASTER, a failed and a passed check, a consumer on each bus.
    let settled = wait_until(Duration::from_secs(40), || {
        let vrrp = scrape(9051);
        let prober = scrape(9053);
        vrrp.contains("keepalived_vrrp_state{instance=\"VI_1\",state=\"MASTER\"} 1")
            && !vrrp.contains("keepalived_bus_watchers 0")
            && prober.contains("keepalived_prober_check_failures_total{checker=\"HTTP_GET\"}")
            && !scrape(9052).is_empty()
            && !scrape(9054).is_empty()
    });
    assert!(
        settled,
        "services did not settle in 40 s:\n{}\n--- vrrp-core /metrics\n{}\n--- health-prober /metrics\n{}\n--- ipvs-manager /metrics\n{}\n--- notifier /metrics\n{}",
        logs(),
        scrape(9051),
        scrape(9053),
        scrape(9052),
        scrape(9054)
    );

    let mut exported = BTreeSet::new();
    for (service, port) in PORTS {
        let text = scrape(port);
        std::fs::write(dir.join(format!("{service}.metrics")), &text).unwrap();
        if let Err(problems) = promtool_check(&text) {
            panic!(
                "promtool check metrics on {service}'s /metrics:\n{problems}\n--- exposition\n{text}"
            );
        }
        exported.extend(sample_names(&text));
    }
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("deploy/grafana/keepalived-rs.json"))
            .expect("deploy/grafana/keepalived-rs.json"),
    )
    .expect("dashboard JSON");
    let queried = dashboard_metrics(&dashboard);
    assert!(queried.len() >= 10, "the dashboard queries {queried:?}");
    let missing: Vec<_> = queried.difference(&exported).collect();
    assert!(
        missing.is_empty(),
        "dashboard queries metrics no service exports: {missing:?}\nexported: {exported:?}"
    );
}
