//! The consuming side: a reconnecting subscription to one or several
//! replicas of a producer.
//!
//! Updates go through a bounded channel rather than a `watch` channel: the
//! notifier and ipvs-manager need every delta in order, not only the latest
//! value. A consumer slower than its producer's bound is cut off by the
//! producer and resyncs from a new snapshot, so the channel never grows.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::BoxStream;
use futures::{Stream, StreamExt as _};
use keepalived_api::BusEvent;
use keepalived_api::v1::EventKind;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::Backoff;

/// What a consumer learns about one upstream.
#[derive(Debug, Clone, PartialEq)]
pub enum Update<E> {
    /// The upstream's whole state: replace everything known from it.
    Snapshot(E),
    /// One change after the last snapshot, in order (seq already checked).
    Delta(E),
    /// The stream broke or could not be opened. What was known stays the
    /// last known state (stale); it is never a reason for a destructive act.
    /// Sent once per loss, not per failed reconnect.
    Disconnected {
        /// Why.
        error: String,
    },
    /// The upstream disappeared from DNS (scaled down); no more updates.
    Removed,
}

/// An [`Update`] tagged with the upstream it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamUpdate<E> {
    /// The upstream's address, e.g. `tcp://203.0.113.5:50053`.
    pub upstream: String,
    /// What happened.
    pub update: Update<E>,
}

/// An opened Watch stream.
pub type EventStream<E> = BoxStream<'static, Result<E, tonic::Status>>;

/// The future of [`Connector::open`]: the stream, or why it could not be opened.
pub type OpenFuture<E> = Pin<Box<dyn Future<Output = Result<EventStream<E>, String>> + Send>>;

/// Opens one Watch stream to an upstream.
pub trait Connector<E>: Send + Sync + 'static {
    /// Connects to `upstream` and opens its Watch stream.
    fn open(&self, upstream: &str) -> OpenFuture<E>;
}

impl<E, F, Fut, S> Connector<E> for F
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<S, String>> + Send + 'static,
    S: Stream<Item = Result<E, tonic::Status>> + Send + 'static,
{
    fn open(&self, upstream: &str) -> OpenFuture<E> {
        let fut = self(upstream.to_owned());
        Box::pin(async move { fut.await.map(|s| s.boxed()) })
    }
}

/// Reads one opened stream until it fails; returns why it ended.
async fn pump<E: BusEvent>(
    upstream: &str,
    mut stream: EventStream<E>,
    tx: &mpsc::Sender<UpstreamUpdate<E>>,
    backoff: &mut Backoff,
) -> Result<String, ()> {
    // (incarnation, last seq) once the snapshot arrived.
    let mut position: Option<(String, u64)> = None;
    let send = |update| {
        tx.send(UpstreamUpdate {
            upstream: upstream.to_owned(),
            update,
        })
    };
    loop {
        let event = match stream.next().await {
            Some(Ok(event)) => event,
            Some(Err(status)) => return Ok(format!("{}: {}", status.code(), status.message())),
            None => return Ok("stream ended by the producer".into()),
        };
        let Some(header) = event.header().cloned() else {
            return Ok("event without header".into());
        };
        let kind = EventKind::try_from(header.kind).unwrap_or(EventKind::Unspecified);
        match (kind, &mut position) {
            (EventKind::Snapshot, _) => {
                position = Some((header.incarnation.clone(), header.seq));
                backoff.reset();
                send(Update::Snapshot(event)).await.map_err(|_| ())?;
            }
            (EventKind::Delta, Some((incarnation, seq)))
                if *incarnation == header.incarnation && header.seq == *seq + 1 =>
            {
                *seq = header.seq;
                send(Update::Delta(event)).await.map_err(|_| ())?;
            }
            (EventKind::Delta, Some((incarnation, seq))) => {
                return Ok(format!(
                    "sequence gap: expected {incarnation}#{}, got {}#{}; resyncing",
                    *seq + 1,
                    header.incarnation,
                    header.seq
                ));
            }
            (EventKind::Delta, None) => return Ok("stream did not open with a snapshot".into()),
            (EventKind::Unspecified, _) => return Ok("event of unspecified kind".into()),
        }
    }
}

/// Follows one upstream for ever: connect, read, on any failure report
/// `Disconnected` once, back off (jittered, exponential) and reconnect.
/// Ends when the receiver of `tx` is dropped.
pub async fn follow<E: BusEvent>(
    upstream: String,
    connector: Arc<dyn Connector<E>>,
    mut backoff: Backoff,
    tx: mpsc::Sender<UpstreamUpdate<E>>,
) {
    // Start as "connected" so the first failure is reported.
    let mut reported_down = false;
    loop {
        let error = match connector.open(&upstream).await {
            Ok(stream) => match pump(&upstream, stream, &tx, &mut backoff).await {
                Ok(error) => {
                    reported_down = false;
                    error
                }
                Err(()) => return,
            },
            Err(error) => error,
        };
        if !reported_down {
            tracing::warn!(%upstream, %error, "lost event stream; keeping last known state");
            let update = UpstreamUpdate {
                upstream: upstream.clone(),
                update: Update::Disconnected { error },
            };
            if tx.send(update).await.is_err() {
                return;
            }
            reported_down = true;
        } else {
            tracing::debug!(%upstream, %error, "reconnect failed");
        }
        tokio::time::sleep(backoff.next_delay()).await;
    }
}

/// Which upstreams to follow.
#[derive(Debug, Clone)]
pub enum Upstreams {
    /// A fixed list of addresses.
    Static(Vec<String>),
    /// Every A/AAAA record of `host:port`, re-resolved every `refresh`; each
    /// record is one replica, addressed as `tcp://IP:PORT`.
    Dns {
        /// `HOST:PORT`.
        name: String,
        /// How often to re-resolve.
        refresh: Duration,
    },
}

/// A running subscription to a set of upstreams.
pub struct Subscriber<E> {
    /// Updates from every upstream, in order per upstream.
    pub updates: mpsc::Receiver<UpstreamUpdate<E>>,
    task: JoinHandle<()>,
}

impl<E> Drop for Subscriber<E> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl<E: BusEvent> Subscriber<E> {
    /// Starts following `upstreams`.
    pub fn start(upstreams: Upstreams, connector: Arc<dyn Connector<E>>, backoff: Backoff) -> Self {
        let (tx, updates) = mpsc::channel(1024);
        let task = tokio::spawn(supervise(upstreams, connector, backoff, tx));
        Self { updates, task }
    }
}

async fn supervise<E: BusEvent>(
    upstreams: Upstreams,
    connector: Arc<dyn Connector<E>>,
    backoff: Backoff,
    tx: mpsc::Sender<UpstreamUpdate<E>>,
) {
    let mut followers: HashMap<String, JoinHandle<()>> = HashMap::new();
    let spawn = |upstream: String| {
        tokio::spawn(follow(
            upstream,
            connector.clone(),
            backoff.clone(),
            tx.clone(),
        ))
    };
    match upstreams {
        Upstreams::Static(list) => {
            for upstream in list {
                followers.insert(upstream.clone(), spawn(upstream));
            }
            // Keep the followers alive until the subscriber is dropped.
            tx.closed().await;
        }
        Upstreams::Dns { name, refresh } => loop {
            match tokio::net::lookup_host(&name).await {
                Ok(addrs) => {
                    let current: Vec<String> = addrs.map(|a| format!("tcp://{a}")).collect();
                    followers.retain(|upstream, task| {
                        let keep = current.contains(upstream);
                        if !keep {
                            task.abort();
                            tracing::info!(%upstream, "replica left DNS; no longer followed");
                            let _ = tx.try_send(UpstreamUpdate {
                                upstream: upstream.clone(),
                                update: Update::Removed,
                            });
                        }
                        keep
                    });
                    for upstream in current {
                        if !followers.contains_key(&upstream) {
                            tracing::info!(%upstream, "following replica found in DNS");
                            followers.insert(upstream.clone(), spawn(upstream));
                        }
                    }
                }
                // Resolution failures keep the known replicas: no destructive act.
                Err(error) => tracing::warn!(%name, %error, "cannot resolve replicas"),
            }
            tokio::select! {
                () = tokio::time::sleep(refresh) => {}
                () = tx.closed() => break,
            }
        },
    }
    for task in followers.values() {
        task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BusMetrics, Producer};
    use keepalived_api::v1::{self, health_event::Payload};

    fn snapshot() -> v1::HealthEvent {
        v1::HealthEvent {
            payload: Some(Payload::Snapshot(Default::default())),
            ..Default::default()
        }
    }

    fn delta() -> v1::HealthEvent {
        v1::HealthEvent {
            payload: Some(Payload::TargetChanged(Default::default())),
            ..Default::default()
        }
    }

    /// A connector to in-process producers, swappable to simulate restarts.
    type Slot = Arc<std::sync::Mutex<Option<Producer<v1::HealthEvent>>>>;

    fn connector(slot: Slot) -> Arc<dyn Connector<v1::HealthEvent>> {
        Arc::new(move |_upstream: String| {
            let producer = slot.lock().unwrap().clone();
            async move {
                match producer {
                    Some(p) => Ok(p.watch("test")),
                    None => Err("connection refused".to_string()),
                }
            }
        })
    }

    fn fast_backoff() -> Backoff {
        Backoff::new(Duration::from_millis(5), Duration::from_millis(20))
    }

    #[tokio::test]
    async fn reports_disconnect_then_new_incarnation_snapshot() {
        let first = Producer::new("p", 16, BusMetrics::default(), snapshot);
        let slot: Slot = Arc::new(std::sync::Mutex::new(Some(first.clone())));
        let mut sub = Subscriber::start(
            Upstreams::Static(vec!["tcp://p:1".into()]),
            connector(slot.clone()),
            fast_backoff(),
        );
        let update = sub.updates.recv().await.unwrap();
        let Update::Snapshot(event) = update.update else {
            panic!("{update:?}")
        };
        assert_eq!(event.header.unwrap().incarnation, first.incarnation());
        first.publish(delta());
        assert!(matches!(
            sub.updates.recv().await.unwrap().update,
            Update::Delta(_)
        ));

        // "Kill" the producer: its streams end and it cannot be reached.
        *slot.lock().unwrap() = None;
        drop(first);
        let update = sub.updates.recv().await.unwrap();
        assert!(
            matches!(update.update, Update::Disconnected { .. }),
            "{update:?}"
        );

        // Restart: a new incarnation's snapshot arrives.
        let second = Producer::new("p", 16, BusMetrics::default(), snapshot);
        *slot.lock().unwrap() = Some(second.clone());
        let update = sub.updates.recv().await.unwrap();
        let Update::Snapshot(event) = update.update else {
            panic!("{update:?}")
        };
        assert_eq!(event.header.unwrap().incarnation, second.incarnation());
    }

    #[tokio::test]
    async fn a_sequence_gap_forces_a_resync() {
        let events = vec![
            {
                let mut e = snapshot();
                let h = e.header_mut();
                h.kind = EventKind::Snapshot as i32;
                h.incarnation = "a".into();
                h.seq = 5;
                e
            },
            {
                let mut e = delta();
                let h = e.header_mut();
                h.kind = EventKind::Delta as i32;
                h.incarnation = "a".into();
                h.seq = 7;
                e
            },
        ];
        let connector: Arc<dyn Connector<v1::HealthEvent>> = Arc::new(move |_: String| {
            let events = events.clone();
            async move { Ok(futures::stream::iter(events.into_iter().map(Ok))) }
        });
        let mut sub = Subscriber::start(
            Upstreams::Static(vec!["x".into()]),
            connector,
            fast_backoff(),
        );
        assert!(matches!(
            sub.updates.recv().await.unwrap().update,
            Update::Snapshot(_)
        ));
        match sub.updates.recv().await.unwrap().update {
            Update::Disconnected { error } => assert!(error.contains("sequence gap"), "{error}"),
            other => panic!("{other:?}"),
        }
        // And it resubscribes: a new snapshot.
        assert!(matches!(
            sub.updates.recv().await.unwrap().update,
            Update::Snapshot(_)
        ));
    }

    #[tokio::test]
    async fn unreachable_upstream_is_reported_once_not_per_retry() {
        let slot: Slot = Arc::new(std::sync::Mutex::new(None));
        let mut sub = Subscriber::start(
            Upstreams::Static(vec!["tcp://gone:1".into()]),
            connector(slot),
            fast_backoff(),
        );
        assert!(matches!(
            sub.updates.recv().await.unwrap().update,
            Update::Disconnected { .. }
        ));
        let more = tokio::time::timeout(Duration::from_millis(200), sub.updates.recv()).await;
        assert!(
            more.is_err(),
            "no repeated Disconnected while still down: {more:?}"
        );
    }
}
