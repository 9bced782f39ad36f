//! The seed's real-server failure and recovery (docs/scenario.md, checks 5–6) with the
//! real health-prober binary: its console log (`-l -G`) must carry
//! keepalived 2.2.7's lines in order, and Watch must say DOWN then UP.

mod support;

use std::time::Duration;

use futures::StreamExt as _;
use keepalived_api::v1::health_client::HealthClient;
use keepalived_api::v1::{self, Verdict, health_event::Payload};
use support::HttpTarget;

/// The seed's real_server block: `delay_loop 2`, HTTP_GET on `/` expecting 200,
/// connect_timeout 2, nb_get_retry 3, delay_before_retry 3. The two real servers share one
/// address on two ports, so the service is NAT: with DR keepalived resets a real server's port
/// to the service's (check_data.c), and the two would be one.
fn seed_config(rs1: u16, rs2: u16) -> String {
    let rs = |port: u16| {
        format!(
            "    real_server 127.0.0.1 {port} {{
        weight 1
        HTTP_GET {{
            url {{
                path /
                status_code 200
            }}
            connect_timeout 2
            nb_get_retry 3
            delay_before_retry 3
        }}
    }}
"
        )
    };
    format!(
        "virtual_server 127.0.0.10 80 {{
    delay_loop 2
    lb_algo rr
    lb_kind NAT
    protocol TCP
{}{}}}
",
        rs(rs1),
        rs(rs2)
    )
}

/// The log's messages, without the `%c: ` time prefix.
fn messages(log: &str) -> Vec<String> {
    log.lines()
        .filter_map(|l| {
            // "Sat Nov 28 15:33:29 2026: message" — the time has 4 colons-free words + HH:MM:SS YYYY.
            let idx = l
                .find(" 20")
                .and_then(|i| l[i + 1..].find(": ").map(|j| i + 1 + j + 2))?;
            Some(l[idx..].to_owned())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rs2_stopped_and_restarted_logs_keepalived_lines_and_watch_says_down_then_up() {
    let rs1 = HttpTarget::start().await;
    let rs2 = HttpTarget::start().await;
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("keepalived.conf");
    std::fs::write(&conf, seed_config(rs1.port, rs2.port)).unwrap();
    let socket = dir.path().join("prober.sock");
    let log_path = dir.path().join("prober.log");
    let log_file = std::fs::File::create(&log_path).unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_health-prober"))
        .arg("-f")
        .arg(&conf)
        .args(["-l", "-G", "--listen"])
        .arg(format!("unix:{}", socket.display()))
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file)
        .kill_on_drop(true)
        .spawn()
        .unwrap();

    let address: keepalived_bus::addr::Address =
        format!("unix:{}", socket.display()).parse().unwrap();
    let mut client = None;
    for _ in 0..200 {
        if let Ok(channel) = keepalived_bus::addr::connect(&address).await {
            client = Some(HealthClient::new(channel));
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let mut client = client.expect("health-prober did not come up");
    let mut stream = client
        .watch(v1::WatchRequest {
            consumer: "seed-test".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let first = stream.next().await.unwrap().unwrap();
    let Some(Payload::Snapshot(snapshot)) = first.payload else {
        panic!("Watch must open with a snapshot")
    };
    assert_eq!(snapshot.targets.len(), 2);
    let rs2_id = format!("HTTP_GET:127.0.0.1:{}", rs2.port);

    // Both up and checked once, then RS2's server stops.
    support::wait_hits(&rs2, 1, Duration::from_secs(6)).await;
    rs2.stop();
    let change = loop {
        let event = tokio::time::timeout(Duration::from_secs(25), stream.next())
            .await
            .expect("no DOWN in time")
            .unwrap()
            .unwrap();
        if let Some(Payload::TargetChanged(c)) = event.payload {
            break c;
        }
    };
    assert_eq!(change.to, Verdict::Down as i32);
    assert_eq!(change.target.as_ref().unwrap().id, rs2_id);
    assert_eq!(change.reason, "HTTP request failed");
    assert_eq!(change.attempts.len(), 4, "nb_get_retry 3: four attempts");

    rs2.restart().await;
    let change = loop {
        let event = tokio::time::timeout(Duration::from_secs(15), stream.next())
            .await
            .expect("no UP in time")
            .unwrap()
            .unwrap();
        if let Some(Payload::TargetChanged(c)) = event.payload {
            break c;
        }
    };
    assert_eq!(change.to, Verdict::Up as i32);
    assert_eq!(change.target.as_ref().unwrap().id, rs2_id);

    let _ = child.start_kill();
    let _ = child.wait().await;
    let log = std::fs::read_to_string(&log_path).unwrap();
    let lines = messages(&log);
    let rs1_fmt = format!("[127.0.0.1]:tcp:{}", rs1.port);
    let rs2_fmt = format!("[127.0.0.1]:tcp:{}", rs2.port);
    let expected = [
        format!("Activating healthchecker for service {rs1_fmt} for VS [127.0.0.10]:tcp:80"),
        format!("Activating healthchecker for service {rs2_fmt} for VS [127.0.0.10]:tcp:80"),
        format!("Remote Web server {rs2_fmt} succeed on service."),
        format!("HTTP_CHECK on service {rs2_fmt} failed after 3 retries."),
        format!("HTTP status code success to {rs2_fmt} url(/)"),
        format!("HTTP status code success to {rs2_fmt} url(/)"),
        format!("Remote Web server {rs2_fmt} succeed on service."),
    ];
    // In order, considering only RS2's lines and the activations.
    let relevant: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains(&rs2_fmt) || l.starts_with("Activating"))
        .collect();
    assert_eq!(
        relevant.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        expected.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "log:\n{log}"
    );
    // The `%c: ` prefix of keepalived's console format.
    assert!(
        log.lines()
            .any(|l| l.ends_with(&expected[3]) && l.len() > expected[3].len() + 20),
        "{log}"
    );
    println!("{log}");
}
