//! The bus across processes: a producer killed and restarted (the consumer
//! sees disconnected, then the new incarnation's snapshot), and a stalled
//! consumer cut off while another keeps receiving.
// std::time::Instant: these tests wait on real processes (clippy.toml bans it elsewhere).
#![allow(clippy::disallowed_types)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use keepalived_api::v1;
use keepalived_bus::addr::Address;
use keepalived_bus::{Backoff, BusMetrics, Connector, Producer, Subscriber, Update, Upstreams};
use keepalived_tests::{ServiceProcess, minimal_config, serve_health_producer};

fn health_connector() -> Arc<dyn Connector<v1::HealthEvent>> {
    keepalived_bus::watch_connector("bus-test")
}

async fn next_update(sub: &mut Subscriber<v1::HealthEvent>) -> Update<v1::HealthEvent> {
    tokio::time::timeout(Duration::from_secs(15), sub.updates.recv())
        .await
        .expect("an update within 15 s")
        .expect("subscriber running")
        .update
}

fn incarnation(update: &Update<v1::HealthEvent>) -> String {
    match update {
        Update::Snapshot(event) => event.header.as_ref().unwrap().incarnation.clone(),
        other => panic!("expected a snapshot, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_producer_is_reported_disconnected_then_its_new_incarnation_resyncs() {
    let dir = tempfile::tempdir().unwrap();
    let config = minimal_config(dir.path());
    let mut prober = ServiceProcess::start("health-prober", dir.path(), &config, &[], &[]);
    let upstream = format!("unix:{}", prober.unix.display());
    let mut sub = Subscriber::start(
        Upstreams::Static(vec![upstream]),
        health_connector(),
        Backoff::new(Duration::from_millis(50), Duration::from_millis(400)),
    );
    let first = incarnation(&next_update(&mut sub).await);

    prober.kill();
    match next_update(&mut sub).await {
        Update::Disconnected { error } => assert!(!error.is_empty()),
        other => panic!("expected Disconnected, got {other:?}"),
    }

    let restarted = ServiceProcess::start("health-prober", dir.path(), &config, &[], &[]);
    let second = incarnation(&next_update(&mut sub).await);
    assert_ne!(first, second, "a restart is a new incarnation");
    drop(restarted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_consumer_is_cut_off_while_another_keeps_receiving() {
    const CAPACITY: usize = 1024;
    const EVENTS: u64 = 20_000;
    let producer = Producer::new(
        "health-prober@test",
        CAPACITY,
        BusMetrics::default(),
        || v1::HealthEvent {
            header: None,
            payload: Some(v1::health_event::Payload::Snapshot(Default::default())),
        },
    );
    let (addr, server) = serve_health_producer(producer.clone()).await;
    let address = Address::Tcp {
        host: "127.0.0.1".into(),
        port: addr.port(),
    };
    let open = |name: &'static str| {
        let address = address.clone();
        async move {
            let channel = keepalived_bus::addr::connect(&address).await.unwrap();
            v1::health_client::HealthClient::new(channel)
                .watch(v1::WatchRequest {
                    consumer: name.into(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
        }
    };
    let mut stalled = open("stalled").await;
    let mut live = open("live").await;
    assert!(stalled.next().await.unwrap().is_ok(), "snapshot");
    assert!(live.next().await.unwrap().is_ok(), "snapshot");

    // The live consumer reads everything as it comes; the stalled one reads nothing.
    let reader = tokio::spawn(async move {
        let mut last = 0;
        let mut worst_gap = Duration::ZERO;
        let mut previous = Instant::now();
        while last < EVENTS {
            let event = live
                .next()
                .await
                .expect("live stream open")
                .expect("no error");
            let seq = event.header.unwrap().seq;
            assert_eq!(seq, last + 1, "in order, nothing lost");
            last = seq;
            worst_gap = worst_gap.max(previous.elapsed());
            previous = Instant::now();
        }
        worst_gap
    });
    let started = Instant::now();
    // 512-byte events: 20,000 of them overflow HTTP/2's flow-control
    // windows (2 MiB per stream), so the stalled consumer really stalls the
    // server side of its stream rather than buffering everything client-side.
    let change = v1::TargetChange {
        reason: "x".repeat(512),
        ..Default::default()
    };
    for n in 0..EVENTS {
        producer.publish(v1::HealthEvent {
            header: None,
            payload: Some(v1::health_event::Payload::TargetChanged(change.clone())),
        });
        // ~30,000 events/s: a burst a live consumer follows easily, while the
        // stalled one falls past the bound within a fraction of a second.
        if n % 32 == 31 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let publish_time = started.elapsed();
    let worst_gap = tokio::time::timeout(Duration::from_secs(60), reader)
        .await
        .expect("live consumer received every event")
        .unwrap();
    eprintln!("published {EVENTS} in {publish_time:?}; live consumer's worst gap {worst_gap:?}");

    // The stalled consumer, once it reads again, gets what was buffered and
    // then RESOURCE_EXHAUSTED: it must resubscribe.
    let mut received = 0u64;
    let status = loop {
        match tokio::time::timeout(Duration::from_secs(10), stalled.next()).await {
            Ok(Some(Ok(_))) => received += 1,
            Ok(Some(Err(status))) => break status,
            Ok(None) => panic!("stream ended without an error after {received} events"),
            Err(_) => panic!("stalled consumer neither cut off nor fed after {received} events"),
        }
    };
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    assert!(
        received < EVENTS,
        "it was cut off before the end ({received})"
    );
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_found_by_dns_are_each_followed() {
    let producer = Producer::new("health-prober@replica", 64, BusMetrics::default(), || {
        v1::HealthEvent {
            header: None,
            payload: Some(v1::health_event::Payload::Snapshot(Default::default())),
        }
    });
    let (addr, server) = serve_health_producer(producer.clone()).await;
    // `localhost` resolves to 127.0.0.1 (and possibly ::1, where nothing listens).
    let mut sub = Subscriber::start(
        Upstreams::Dns {
            name: format!("localhost:{}", addr.port()),
            refresh: Duration::from_secs(60),
        },
        health_connector(),
        Backoff::new(Duration::from_millis(50), Duration::from_millis(400)),
    );
    let expected = format!("tcp://127.0.0.1:{}", addr.port());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let update = tokio::time::timeout_at(deadline.into(), sub.updates.recv())
            .await
            .expect("a snapshot from the resolved replica within 15 s")
            .expect("subscriber running");
        if update.upstream == expected {
            assert_eq!(incarnation(&update.update), producer.incarnation());
            break;
        }
        // Another record (::1) that nothing serves reports itself down; fine.
        assert!(
            matches!(update.update, Update::Disconnected { .. }),
            "{update:?}"
        );
    }
    server.abort();
}
