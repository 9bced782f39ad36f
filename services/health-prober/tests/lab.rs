//! Namespace tests (root): the prober runs in its own network namespace and
//! an nft rule black-holes the real server, so `connect_timeout` is what
//! bounds each attempt; PING_CHECK uses an unprivileged ICMP socket there.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt as _;
use keepalived_api::v1::health_client::HealthClient;
use keepalived_api::v1::{self, FailureReason, Verdict, health_event::Payload};
use keepalived_testlab::{Lab, prerequisites_met, wait_until};

/// A one-thread HTTP server that appends the arrival time of each connection.
const TARGET_PY: &str = r#"
import socket, sys, time
port = int(sys.argv[1]); log = open(sys.argv[2], 'a', buffering=1)
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', port)); s.listen(128)
while True:
    c, _ = s.accept(); log.write('%.6f\n' % time.time())
    try:
        c.settimeout(2); data = b''
        while b'\r\n\r\n' not in data:
            d = c.recv(1024)
            if not d: break
            data += d
        c.sendall(b'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok')
    except Exception:
        pass
    c.close()
"#;

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

fn hits(log: &Path) -> Vec<f64> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.parse().ok())
        .collect()
}

#[test]
fn connect_timeout_bounds_attempts_to_a_black_holed_server_and_ping_check_answers() {
    if !prerequisites_met("health-prober black hole", &["nft", "python3"]) {
        return;
    }
    let mut lab = Lab::new("hp").unwrap();
    let dr = lab.host("dr", None, &["203.0.113.2/24"]).unwrap();
    let rs = lab.host("rs", None, &["203.0.113.12/24"]).unwrap();
    let dir = lab.dir().unwrap();
    let script = dir.join("target.py");
    std::fs::write(&script, TARGET_PY).unwrap();
    let hits_log = dir.join("hits.log");
    lab.spawn(
        &rs.netns,
        "python3",
        &[script.to_str().unwrap(), "80", hits_log.to_str().unwrap()],
        &dir.join("target.out"),
    )
    .unwrap();
    lab.exec(
        &dr.netns,
        &["sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647"],
    )
    .unwrap();
    let conf = dir.join("keepalived.conf");
    std::fs::write(
        &conf,
        "virtual_server 198.51.100.10 80 {
    protocol TCP
    delay_loop 1
    warmup 0
    real_server 203.0.113.12 80 {
        HTTP_GET {
            url {
                path /
            }
            connect_timeout 1
            retry 2
            delay_before_retry 1
        }
        PING_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}
",
    )
    .unwrap();
    let socket = dir.join("prober.sock");
    let listen = format!("unix:{}", socket.display());
    lab.spawn(
        &dr.netns,
        env!("CARGO_BIN_EXE_health-prober"),
        &[
            "-f",
            conf.to_str().unwrap(),
            "-l",
            "-G",
            "--listen",
            &listen,
        ],
        &dir.join("prober.log"),
    )
    .unwrap();
    assert!(
        wait_until(Duration::from_secs(8), || hits(&hits_log).len() >= 2),
        "no checks arrive"
    );

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let address: keepalived_bus::addr::Address = listen.parse().unwrap();
        let channel = keepalived_bus::addr::connect(&address).await.unwrap();
        let mut client = HealthClient::new(channel);
        let ping = client
            .get_target(v1::GetTargetRequest { id: "PING_CHECK:203.0.113.12:80".into() })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(ping.verdict, Verdict::Up as i32);
        assert!(ping.last_result.unwrap().success, "PING_CHECK got an echo reply");

        let mut stream = client
            .watch(v1::WatchRequest { consumer: "lab".into(), ..Default::default() })
            .await
            .unwrap()
            .into_inner();
        // Black-hole TCP at the real server (ICMP still passes): SYNs vanish.
        let installed = now();
        lab.nft(
            &rs.netns,
            "table inet hole {\n chain input {\n  type filter hook input priority 0;\n  ip saddr 203.0.113.2 tcp dport 80 drop\n }\n}\n",
        )
        .unwrap();
        let change = loop {
            let event = tokio::time::timeout(Duration::from_secs(15), stream.next())
                .await
                .expect("no DOWN in time")
                .unwrap()
                .unwrap();
            if let Some(Payload::TargetChanged(c)) = event.payload {
                break c;
            }
        };
        let down_at = now();
        let last_hit = hits(&hits_log).into_iter().filter(|&t| t <= installed).fold(0.0, f64::max);
        assert_eq!(change.target.as_ref().unwrap().id, "HTTP_GET:203.0.113.12:80");
        assert_eq!(change.to, Verdict::Down as i32);
        assert_eq!(change.attempts.len(), 3, "retry 2: three attempts");
        for a in &change.attempts {
            assert_eq!((a.reason, a.detail.as_str()), (FailureReason::Timeout as i32, "connect timeout"));
            let latency = a.latency.unwrap();
            let latency = latency.seconds as f64 + f64::from(latency.nanos) / 1e9;
            assert!((0.9..1.4).contains(&latency), "each attempt bounded by connect_timeout: {latency}");
        }
        // delay_loop 1 after the last success, then 3 × connect_timeout 1 + 2 × dbr 1.
        let expected = 1.0 + 3.0 + 2.0;
        let got = down_at - last_hit;
        assert!((got - expected).abs() < 0.6, "DOWN {got:.2}s after the last success, expected {expected}s");

        // Now ICMP too: PING_CHECK goes down.
        lab.nft(&rs.netns, "table inet hole2 {\n chain input {\n  type filter hook input priority 0;\n  ip saddr 203.0.113.2 icmp type echo-request drop\n }\n}\n")
            .unwrap();
        let change = loop {
            let event = tokio::time::timeout(Duration::from_secs(10), stream.next())
                .await
                .expect("no PING DOWN in time")
                .unwrap()
                .unwrap();
            if let Some(Payload::TargetChanged(c)) = event.payload
                && c.target.as_ref().unwrap().id.starts_with("PING_CHECK")
            {
                break c;
            }
        };
        assert_eq!(change.to, Verdict::Down as i32);
        assert_eq!(change.attempts[0].reason, FailureReason::Timeout as i32);
    });
}
