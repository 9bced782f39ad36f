//! Bus benchmark (prints figures; not a timed test): events/s through Watch
//! streams over gRPC on loopback, and publish-to-receive latency at a fixed
//! rate, for 1 and 8 consumers.
//!
//! Run: `cargo bench -p keepalived-tests --bench bus_watch`.
//! Goal (issue #2): ≥ 100,000 events/s; p99 < 1 ms at 10,000 events/s.
// std::time::Instant: a benchmark measures real time (clippy.toml bans it elsewhere).
#![allow(clippy::disallowed_types)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt as _;
use keepalived_api::v1;
use keepalived_bus::addr::Address;
use keepalived_bus::{BusMetrics, Producer};
use keepalived_tests::serve_health_producer;

fn producer(capacity: usize) -> Producer<v1::HealthEvent> {
    Producer::new("bench@loopback", capacity, BusMetrics::default(), || {
        v1::HealthEvent {
            header: None,
            payload: Some(v1::health_event::Payload::Snapshot(Default::default())),
        }
    })
}

/// A realistic delta: one verdict change of one target.
fn event() -> v1::HealthEvent {
    v1::HealthEvent {
        header: None,
        payload: Some(v1::health_event::Payload::TargetChanged(v1::TargetChange {
            target: Some(v1::Target {
                id: "HTTP_GET:203.0.113.12:80".into(),
                checker: "HTTP_CHECK".into(),
                real_server: Some(v1::AddressPort {
                    address: "203.0.113.12".into(),
                    port: 80,
                }),
                verdict: v1::Verdict::Down as i32,
                ..Default::default()
            }),
            from: v1::Verdict::Up as i32,
            to: v1::Verdict::Down as i32,
            reason: "HTTP request failed".into(),
            ..Default::default()
        })),
    }
}

async fn open_streams(
    port: u16,
    consumers: usize,
) -> Vec<tonic::codec::Streaming<v1::HealthEvent>> {
    let mut streams = Vec::new();
    for n in 0..consumers {
        let channel = keepalived_bus::addr::connect(&Address::Tcp {
            host: "127.0.0.1".into(),
            port,
        })
        .await
        .expect("connect");
        let mut stream = v1::health_client::HealthClient::new(channel)
            .watch(v1::WatchRequest {
                consumer: format!("bench-{n}"),
                ..Default::default()
            })
            .await
            .expect("watch")
            .into_inner();
        stream.next().await.expect("snapshot").expect("ok");
        streams.push(stream);
    }
    streams
}

/// Publishes `events` as fast as the slowest consumer sustains (the
/// publisher never runs more than half the producer's bound ahead of it, as
/// a real producer's burst would not); returns events/s as seen by the
/// slowest consumer (time until every consumer has every event).
async fn throughput(consumers: usize, events: u64) -> f64 {
    const CAPACITY: usize = 1 << 16;
    let producer = producer(CAPACITY);
    let (addr, server) = serve_health_producer(producer.clone()).await;
    let streams = open_streams(addr.port(), consumers).await;
    let received: Arc<Vec<AtomicU64>> =
        Arc::new((0..consumers).map(|_| AtomicU64::new(0)).collect());
    let readers: Vec<_> = streams
        .into_iter()
        .enumerate()
        .map(|(i, mut stream)| {
            let received = received.clone();
            tokio::spawn(async move {
                let mut n = 0;
                while n < events {
                    match stream.next().await {
                        Some(Ok(_)) => {
                            n += 1;
                            received[i].store(n, Ordering::Relaxed);
                        }
                        other => panic!("consumer lost the stream after {n}: {other:?}"),
                    }
                }
            })
        })
        .collect();
    let template = event();
    let started = Instant::now();
    for published in 0..events {
        while published
            - received
                .iter()
                .map(|r| r.load(Ordering::Relaxed))
                .min()
                .unwrap_or(0)
            > (CAPACITY / 2) as u64
        {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        producer.publish(template.clone());
    }
    for reader in readers {
        reader.await.expect("reader");
    }
    let elapsed = started.elapsed();
    server.abort();
    events as f64 / elapsed.as_secs_f64()
}

/// Publishes at `rate` events/s for `duration`; returns (p50, p99, max)
/// publish-to-receive latency over all consumers.
async fn latency(
    consumers: usize,
    rate: u64,
    duration: Duration,
) -> (Duration, Duration, Duration) {
    let producer = producer(1 << 16);
    let (addr, server) = serve_health_producer(producer.clone()).await;
    let streams = open_streams(addr.port(), consumers).await;
    let total = rate * duration.as_secs();
    let readers: Vec<_> = streams
        .into_iter()
        .map(|mut stream| {
            tokio::spawn(async move {
                let mut samples = Vec::with_capacity(total as usize);
                while (samples.len() as u64) < total {
                    let event = stream.next().await.expect("open").expect("ok");
                    let sent: SystemTime = event
                        .header
                        .and_then(|h| h.time)
                        .and_then(|t| t.try_into().ok())
                        .expect("event time");
                    samples.push(SystemTime::now().duration_since(sent).unwrap_or_default());
                }
                samples
            })
        })
        .collect();
    let template = event();
    let period = Duration::from_secs(1) / rate as u32;
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    for _ in 0..total {
        ticker.tick().await;
        producer.publish(template.clone());
    }
    let mut all = Vec::new();
    for reader in readers {
        all.extend(reader.await.expect("reader"));
    }
    server.abort();
    all.sort();
    let pick = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    (pick(0.50), pick(0.99), *all.last().expect("samples"))
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        println!("bus_watch: Watch streams over gRPC on loopback (TCP), release build");
        for consumers in [1, 8] {
            let rate = throughput(consumers, 200_000).await;
            println!(
                "throughput  consumers={consumers}  {rate:>10.0} events/s per stream, {:>10.0} deliveries/s in all (200,000 events)",
                rate * consumers as f64
            );
        }
        for consumers in [1, 8] {
            let (p50, p99, max) = latency(consumers, 10_000, Duration::from_secs(3)).await;
            println!(
                "latency     consumers={consumers}  at 10,000 events/s: p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
                p50.as_secs_f64() * 1e3,
                p99.as_secs_f64() * 1e3,
                max.as_secs_f64() * 1e3
            );
        }
    });
}
