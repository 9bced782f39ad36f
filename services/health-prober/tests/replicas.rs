//! Several health-prober processes on one configuration each publish their
//! own verdicts under their own identity.

mod support;

use std::time::Duration;

use futures::StreamExt as _;
use keepalived_api::v1::health_client::HealthClient;
use keepalived_api::v1::{self, Verdict, health_event::Payload};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_publish_their_own_identity_and_verdicts() {
    let target = support::HttpTarget::start().await;
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("keepalived.conf");
    std::fs::write(
        &conf,
        support::config(
            "    delay_loop 1\n    warmup 0",
            &[(
                target.port,
                "        TCP_CHECK {\n            connect_timeout 1\n        }",
            )],
        ),
    )
    .unwrap();
    let mut children = Vec::new();
    let mut snapshots = Vec::new();
    for replica in ["a", "b"] {
        let socket = dir.path().join(format!("{replica}.sock"));
        children.push(
            tokio::process::Command::new(env!("CARGO_BIN_EXE_health-prober"))
                .arg("-f")
                .arg(&conf)
                .args(["-G", "--replica-id", replica, "--listen"])
                .arg(format!("unix:{}", socket.display()))
                .kill_on_drop(true)
                .spawn()
                .unwrap(),
        );
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
        let mut client = client.expect("replica did not come up");
        // Let the first check run (1 s), then read the snapshot.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let mut stream = client
            .watch(v1::WatchRequest {
                consumer: "replicas".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let event = stream.next().await.unwrap().unwrap();
        let header = event.header.unwrap();
        let Some(Payload::Snapshot(snapshot)) = event.payload else {
            panic!("snapshot first")
        };
        snapshots.push((header, snapshot));
    }
    let (a, b) = (&snapshots[0], &snapshots[1]);
    assert!(
        a.0.producer.starts_with("health-prober@") && a.0.producer.ends_with("/a"),
        "{}",
        a.0.producer
    );
    assert!(b.0.producer.ends_with("/b"));
    assert_ne!(a.0.incarnation, b.0.incarnation);
    for (_, snapshot) in &snapshots {
        assert_eq!(snapshot.targets.len(), 1);
        let t = &snapshot.targets[0];
        assert_eq!(t.verdict, Verdict::Up as i32);
        assert!(
            t.last_result.as_ref().is_some_and(|r| r.success),
            "each replica probed itself"
        );
    }
    assert!(target.hits().len() >= 2, "both replicas probe the target");
}
