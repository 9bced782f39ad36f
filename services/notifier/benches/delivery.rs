//! Notifier throughput and latency, printed (not a timed test):
//!
//! 1. A burst of 10,000 VRRP transitions from a mock vrrp-core over real
//!    gRPC on loopback, each spooled (journal, group commit, fdatasync) and
//!    delivered to a webhook receiver on loopback. Reports the time to spool
//!    and to deliver them all, and checks that none was lost or doubled.
//! 2. Event-to-delivery latency under no load: one transition at a time,
//!    from `publish` to the receiver's arrival, p50/p99 over 500 events.
//!
//! `cargo bench -p notifier --bench delivery`
// std::time::Instant: a benchmark measures real time (clippy.toml bans it elsewhere).
#![allow(clippy::disallowed_types)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::{Upstreams, WebhookReceiver, options, start_engine, transition};
use keepalived_api::v1::VrrpState as S;
use notifier::Settings;
use notifier::delivery::Status;

const BURST: usize = 10_000;
const SAMPLES: usize = 500;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank]
}

async fn run() {
    let hook = WebhookReceiver::start(0).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = Settings {
        router_id: "bench".into(),
        webhooks: vec![hook.url.parse().expect("spec")],
        ..Settings::default()
    };
    // The producer's bound must hold the whole burst, or the bus would cut
    // the notifier off and resync it from a snapshot (which never notifies).
    let up = Upstreams::start(BURST * 2).await;
    let engine = start_engine(settings, options(&dir.path().join("spool")), &up);
    up.wait_watchers(1).await;

    // 1. Burst.
    let start = Instant::now();
    for i in 0..BURST {
        let (from, to) = if i % 2 == 0 {
            (S::Backup, S::Master)
        } else {
            (S::Master, S::Backup)
        };
        up.vrrp.publish(transition("VI_1", from, to, 100));
    }
    let published = start.elapsed();
    let store = engine.store();
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut spooled = None;
    loop {
        let (len, delivered) = {
            let store = store.lock().expect("store");
            let delivered = store
                .records()
                .filter(|r| r.status == Status::Delivered)
                .count();
            (store.len(), delivered)
        };
        if spooled.is_none() && len >= BURST {
            spooled = Some(start.elapsed());
        }
        if delivered >= BURST {
            break;
        }
        assert!(Instant::now() < deadline, "burst not delivered in 600 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let delivered = start.elapsed();
    let received = hook.received();
    let unique: HashSet<&str> = received.iter().map(|r| r.delivery.as_str()).collect();
    let journal = std::fs::metadata(dir.path().join("spool/journal"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "burst of {BURST} transitions → webhook (loopback, spool on {}):",
        dir.path().display()
    );
    println!("  published by the mock producer in {published:?}");
    println!(
        "  all spooled after {:?}, all delivered after {delivered:?} ({:.0} deliveries/s)",
        spooled.unwrap_or_default(),
        BURST as f64 / delivered.as_secs_f64()
    );
    println!(
        "  receiver got {} requests, {} distinct deliveries (lost: {}, doubled: {}); journal {} KiB",
        received.len(),
        unique.len(),
        BURST - unique.len(),
        received.len() - unique.len(),
        journal / 1024
    );
    assert_eq!(unique.len(), BURST, "a delivery was lost");

    drop(engine);
    drop(up);

    // 2. Latency, one event at a time: spool on this disk, then on tmpfs
    // (the difference is the cost of the fdatasync before dispatch).
    latency("disk", dir.path()).await;
    if std::path::Path::new("/dev/shm").is_dir() {
        let shm = tempfile::tempdir_in("/dev/shm").expect("tmpfs dir");
        latency("tmpfs", shm.path()).await;
    }
}

async fn latency(label: &str, dir: &std::path::Path) {
    let hook = WebhookReceiver::start(0).await;
    let settings = Settings {
        router_id: "bench".into(),
        webhooks: vec![hook.url.parse().expect("spec")],
        ..Settings::default()
    };
    let up = Upstreams::start(64).await;
    let _engine = start_engine(settings, options(&dir.join(format!("spool-{label}"))), &up);
    up.wait_watchers(1).await;
    let mut latencies = Vec::with_capacity(SAMPLES);
    for i in 0..SAMPLES {
        let before = hook.count();
        let (from, to) = if i % 2 == 0 {
            (S::Backup, S::Master)
        } else {
            (S::Master, S::Backup)
        };
        let sent = Instant::now();
        up.vrrp.publish(transition("VI_2", from, to, 100));
        let deadline = Instant::now() + Duration::from_secs(30);
        while hook.count() == before {
            assert!(Instant::now() < deadline, "event {i} not delivered");
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        let at = hook.received()[before].at;
        latencies.push(at.duration_since(sent));
    }
    latencies.sort();
    println!(
        "event-to-delivery latency, no load, spool on {label} ({SAMPLES} events, publish → webhook arrival): p50 {:?}, p99 {:?}, max {:?}",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies[SAMPLES - 1]
    );
}

fn main() {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(run());
}
