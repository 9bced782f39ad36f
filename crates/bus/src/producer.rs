//! The producing side of a Watch stream.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::SystemTime;

use futures::Stream;
use keepalived_api::BusEvent;
use keepalived_api::v1::EventKind;
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use crate::metrics::BusMetrics;

/// How many events a consumer may fall behind before it is cut off.
pub const DEFAULT_CAPACITY: usize = 4096;

/// How long a producer keeps its whole history for [`Producer::watch_from_start`]: its
/// start-up (a VRRP backup becomes master after 3 adverts and a skew; with
/// `advert_int 10`, over 30 s).
pub const HISTORY_WINDOW: std::time::Duration = std::time::Duration::from_secs(60);

/// At most this many deltas are kept for [`Producer::watch_from_start`].
pub const HISTORY_MAX: usize = 1024;

/// The producer's events since its start, while it keeps them.
struct History<E> {
    started: tokio::time::Instant,
    /// The state before the first delta (taken when the first delta is published).
    first: Option<E>,
    deltas: Vec<E>,
}

type SnapshotFn<E> = dyn Fn() -> E + Send + Sync;

/// The stream type every service's `Watch` RPC returns (its `type WatchStream`).
pub type WatchResponseStream<E> =
    Pin<Box<dyn Stream<Item = Result<E, tonic::Status>> + Send + 'static>>;

struct Inner<E> {
    identity: String,
    incarnation: String,
    /// The last seq issued. Held while an event is stamped and sent, and while
    /// a snapshot is taken, so a snapshot's seq names exactly the deltas it
    /// includes and the deltas after it follow without a gap.
    seq: Mutex<u64>,
    tx: broadcast::Sender<E>,
    snapshot: Box<SnapshotFn<E>>,
    metrics: BusMetrics,
    /// `None` once the window or the size is exceeded. Locked after `seq`.
    history: Mutex<Option<History<E>>>,
}

/// Publishes a service's events to every Watch stream.
pub struct Producer<E: BusEvent> {
    inner: Arc<Inner<E>>,
}

impl<E: BusEvent> Clone for Producer<E> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<E: BusEvent> std::fmt::Debug for Producer<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("identity", &self.inner.identity)
            .field("incarnation", &self.inner.incarnation)
            .finish_non_exhaustive()
    }
}

fn now() -> prost_types::Timestamp {
    prost_types::Timestamp::from(SystemTime::now())
}

/// A fresh random incarnation id (128 bits, hex).
fn new_incarnation() -> String {
    format!("{:032x}", rand::random::<u128>())
}

impl<E: BusEvent> Producer<E> {
    /// A producer named `identity` (`<service>@<host>`), cutting off consumers
    /// more than `capacity` events behind. `snapshot` returns the whole current
    /// state as one event with the snapshot payload; it is called with the
    /// producer's seq lock held, so it must not publish.
    pub fn new(
        identity: impl Into<String>,
        capacity: usize,
        metrics: BusMetrics,
        snapshot: impl Fn() -> E + Send + Sync + 'static,
    ) -> Self {
        let (tx, _) = broadcast::channel(capacity);
        Self {
            inner: Arc::new(Inner {
                identity: identity.into(),
                incarnation: new_incarnation(),
                seq: Mutex::new(0),
                tx,
                snapshot: Box::new(snapshot),
                metrics,
                history: Mutex::new(None),
            }),
        }
    }

    /// [`Producer::new`], keeping its first events for consumers that ask for them
    /// ([`Producer::watch_from_start`]; at most [`HISTORY_MAX`] deltas, for
    /// [`HISTORY_WINDOW`]): for services whose start-up events are notified.
    pub fn with_start_history(
        identity: impl Into<String>,
        capacity: usize,
        metrics: BusMetrics,
        snapshot: impl Fn() -> E + Send + Sync + 'static,
    ) -> Self {
        let p = Self::new(identity, capacity, metrics, snapshot);
        *p.inner.history.lock().unwrap_or_else(|e| e.into_inner()) = Some(History {
            started: tokio::time::Instant::now(),
            first: None,
            deltas: Vec::new(),
        });
        p
    }

    /// This process's incarnation id.
    pub fn incarnation(&self) -> &str {
        &self.inner.incarnation
    }

    /// The producer's identity.
    pub fn identity(&self) -> &str {
        &self.inner.identity
    }

    /// The seq of the last published event.
    pub fn last_seq(&self) -> u64 {
        *self.inner.seq.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn stamp(&self, event: &mut E, kind: EventKind, seq: u64) {
        let header = event.header_mut();
        header.kind = kind as i32;
        header.producer.clone_from(&self.inner.identity);
        header.incarnation.clone_from(&self.inner.incarnation);
        header.seq = seq;
        header.time = Some(now());
        header.trace = Some(keepalived_telemetry::current_trace_context());
    }

    /// Publishes a delta: stamps it (incarnation, next seq, time, the current
    /// span's trace context) and hands it to every Watch stream. Never waits
    /// for consumers. Returns the seq.
    pub fn publish(&self, mut event: E) -> u64 {
        let mut seq = self.inner.seq.lock().unwrap_or_else(|e| e.into_inner());
        let mut history = self.inner.history.lock().unwrap_or_else(|e| e.into_inner());
        self.keep_history(&mut history, *seq);
        *seq += 1;
        self.stamp(&mut event, EventKind::Delta, *seq);
        if let Some(h) = history.as_mut() {
            h.deltas.push(event.clone());
        }
        drop(history);
        // No receiver is not an error: nobody is watching yet.
        let _ = self.inner.tx.send(event);
        self.inner.metrics.published.inc();
        self.inner
            .metrics
            .lag
            .last_seq
            .store(*seq, std::sync::atomic::Ordering::Relaxed);
        *seq
    }

    /// Keeps the history going before delta `seq + 1` (with `seq` held): the state
    /// before the first delta, and nothing once the window or the size is exceeded.
    fn keep_history(&self, history: &mut Option<History<E>>, seq: u64) {
        let Some(h) = history.as_mut() else {
            return;
        };
        if h.started.elapsed() > HISTORY_WINDOW || h.deltas.len() >= HISTORY_MAX {
            *history = None;
            return;
        }
        if h.first.is_none() {
            // The service may already hold the change it is about to publish: the
            // first delta then repeats what this state says, which consumers take as
            // they take any delta (a transition to the state it is in).
            let mut first = (self.inner.snapshot)();
            self.stamp(&mut first, EventKind::Snapshot, seq);
            h.first = Some(first);
        }
    }

    /// The whole `Watch` RPC handler of a service: the stream for the
    /// consumer the request names ([`Producer::watch`], or
    /// [`Producer::watch_from_start`] when it asks `from_start`).
    pub fn serve_watch(
        &self,
        request: &tonic::Request<keepalived_api::v1::WatchRequest>,
    ) -> tonic::Response<WatchResponseStream<E>> {
        let r = request.get_ref();
        let stream = if r.from_start {
            self.watch_from_start(&r.consumer)
        } else {
            self.watch(&r.consumer)
        };
        tonic::Response::new(Box::pin(stream))
    }

    /// Opens a Watch stream from this incarnation's first event, while the producer
    /// still has all of them ([`Producer::with_start_history`], [`HISTORY_WINDOW`],
    /// [`HISTORY_MAX`]): the state before the first delta, then every delta since,
    /// then the live ones. Otherwise (or before the first delta) it is
    /// [`Producer::watch`].
    pub fn watch_from_start(&self, consumer: &str) -> WatchStream<E> {
        let opened = {
            let seq = self.inner.seq.lock().unwrap_or_else(|e| e.into_inner());
            let history = self.inner.history.lock().unwrap_or_else(|e| e.into_inner());
            match history.as_ref() {
                Some(h) if h.started.elapsed() <= HISTORY_WINDOW => h.first.as_ref().map(|first| {
                    let mut queued: VecDeque<E> = VecDeque::with_capacity(h.deltas.len() + 1);
                    queued.push_back(first.clone());
                    queued.extend(h.deltas.iter().cloned());
                    (queued, self.inner.tx.subscribe(), *seq)
                }),
                _ => None,
            }
        };
        match opened {
            Some((queued, rx, seq)) => {
                tracing::debug!(consumer, producer = %self.inner.identity, events = queued.len(), "Watch stream opened from the start");
                self.stream(consumer, queued, rx, seq)
            }
            None => self.watch(consumer),
        }
    }

    /// Publishes the whole state again as a snapshot, to every open Watch
    /// stream, instead of a burst of deltas (a change of most of the state at
    /// once, which would cut consumers off): consumers take it as they take
    /// the snapshot a stream opens with, replacing what they knew. It carries
    /// the seq of the last delta, so the next delta follows it without a gap.
    pub fn publish_snapshot(&self) {
        let seq = self.inner.seq.lock().unwrap_or_else(|e| e.into_inner());
        let mut snapshot = (self.inner.snapshot)();
        self.stamp(&mut snapshot, EventKind::Snapshot, *seq);
        let _ = self.inner.tx.send(snapshot);
        self.inner.metrics.published.inc();
    }

    /// Opens a Watch stream: the snapshot, then every delta after it. When the
    /// consumer falls behind by more than the capacity, the stream ends with
    /// `RESOURCE_EXHAUSTED` and the consumer must resubscribe.
    pub fn watch(&self, consumer: &str) -> WatchStream<E> {
        let (snapshot, rx, seq) = {
            let seq = self.inner.seq.lock().unwrap_or_else(|e| e.into_inner());
            let rx = self.inner.tx.subscribe();
            let mut snapshot = (self.inner.snapshot)();
            self.stamp(&mut snapshot, EventKind::Snapshot, *seq);
            (snapshot, rx, *seq)
        };
        tracing::debug!(consumer, producer = %self.inner.identity, "Watch stream opened");
        self.stream(consumer, VecDeque::from([snapshot]), rx, seq)
    }

    fn stream(
        &self,
        consumer: &str,
        queued: VecDeque<E>,
        rx: broadcast::Receiver<E>,
        seq: u64,
    ) -> WatchStream<E> {
        let (lag_id, seen) = self.inner.metrics.lag.open(consumer, seq);
        self.inner.metrics.watchers.inc();
        WatchStream {
            queued,
            deltas: BroadcastStream::new(rx),
            done: false,
            consumer: consumer.to_owned(),
            metrics: self.inner.metrics.clone(),
            lag_id,
            seen,
        }
    }
}

/// A Watch stream as served to one consumer (see [`Producer::watch`]).
pub struct WatchStream<E> {
    /// What goes out before the live deltas: the snapshot, or the history.
    queued: VecDeque<E>,
    deltas: BroadcastStream<E>,
    done: bool,
    consumer: String,
    metrics: BusMetrics,
    /// This stream's entry in the lag table and the last seq it handed out.
    lag_id: u64,
    seen: Arc<std::sync::atomic::AtomicU64>,
}

// Nothing in the stream is structurally pinned: `deltas` is itself Unpin and
// the snapshot is only moved out.
impl<E> Unpin for WatchStream<E> {}

impl<E> Drop for WatchStream<E> {
    fn drop(&mut self) {
        self.metrics.watchers.dec();
        self.metrics.lag.close(self.lag_id);
    }
}

impl<E: BusEvent> Stream for WatchStream<E> {
    type Item = Result<E, tonic::Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        if let Some(event) = self.queued.pop_front() {
            return Poll::Ready(Some(Ok(event)));
        }
        match Pin::new(&mut self.deltas).poll_next(cx) {
            Poll::Ready(Some(Ok(event))) => {
                if let Some(header) = event.header() {
                    self.seen
                        .store(header.seq, std::sync::atomic::Ordering::Relaxed);
                }
                Poll::Ready(Some(Ok(event)))
            }
            Poll::Ready(Some(Err(BroadcastStreamRecvError::Lagged(missed)))) => {
                self.done = true;
                self.metrics.cut_off.inc();
                tracing::warn!(
                    consumer = %self.consumer,
                    missed,
                    "Watch consumer fell behind; cut off, it must resubscribe"
                );
                Poll::Ready(Some(Err(tonic::Status::resource_exhausted(format!(
                    "consumer fell {missed} events behind the producer; resubscribe for a new snapshot"
                )))))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt as _;
    use keepalived_api::v1::{self, health_event::Payload};

    fn producer(capacity: usize) -> Producer<v1::HealthEvent> {
        Producer::new(
            "health-prober@test",
            capacity,
            BusMetrics::default(),
            || v1::HealthEvent {
                payload: Some(Payload::Snapshot(v1::HealthSnapshot::default())),
                ..Default::default()
            },
        )
    }

    #[tokio::test(start_paused = true)]
    async fn from_start_replays_the_incarnation_then_goes_live_and_ends_with_the_window() {
        // Without a history, from_start is a plain watch.
        let plain_producer = producer(16);
        plain_producer.publish(delta());
        let mut none = plain_producer.watch_from_start("none");
        let seq = none.next().await.unwrap().unwrap().header.unwrap().seq;
        assert_eq!(seq, 1);
        let p =
            Producer::with_start_history("health-prober@test", 16, BusMetrics::default(), || {
                v1::HealthEvent {
                    payload: Some(Payload::Snapshot(v1::HealthSnapshot::default())),
                    ..Default::default()
                }
            });
        // Before any delta: the usual snapshot.
        let mut early = p.watch_from_start("early");
        let first = early.next().await.unwrap().unwrap();
        assert_eq!(first.header.unwrap().kind, EventKind::Snapshot as i32);
        p.publish(delta());
        p.publish(delta());
        let mut late = p.watch_from_start("late");
        let kinds_seqs = |e: v1::HealthEvent| {
            let h = e.header.unwrap();
            (h.kind, h.seq)
        };
        let snapshot = EventKind::Snapshot as i32;
        let delta_kind = EventKind::Delta as i32;
        // The state before the first delta, both deltas, then a live one.
        assert_eq!(
            kinds_seqs(late.next().await.unwrap().unwrap()),
            (snapshot, 0)
        );
        assert_eq!(
            kinds_seqs(late.next().await.unwrap().unwrap()),
            (delta_kind, 1)
        );
        assert_eq!(
            kinds_seqs(late.next().await.unwrap().unwrap()),
            (delta_kind, 2)
        );
        p.publish(delta());
        assert_eq!(
            kinds_seqs(late.next().await.unwrap().unwrap()),
            (delta_kind, 3)
        );
        // A plain watch is unchanged: the current state at seq 3.
        let mut plain = p.watch("plain");
        assert_eq!(
            kinds_seqs(plain.next().await.unwrap().unwrap()),
            (snapshot, 3)
        );
        // Past the window the history is gone: the current state, as watch gives.
        tokio::time::advance(HISTORY_WINDOW + std::time::Duration::from_secs(1)).await;
        p.publish(delta());
        let mut after = p.watch_from_start("after");
        assert_eq!(
            kinds_seqs(after.next().await.unwrap().unwrap()),
            (snapshot, 4)
        );
    }

    fn delta() -> v1::HealthEvent {
        v1::HealthEvent {
            payload: Some(Payload::TargetChanged(v1::TargetChange::default())),
            ..Default::default()
        }
    }

    fn exposition(registry: &prometheus_client::registry::Registry) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, registry).unwrap();
        text
    }

    #[tokio::test]
    async fn consumer_lag_is_what_the_stream_has_not_handed_out_yet() {
        let metrics = BusMetrics::default();
        let mut registry = prometheus_client::registry::Registry::with_prefix("keepalived");
        metrics.register(&mut registry);
        let producer = Producer::new("health-prober@test", 16, metrics, || v1::HealthEvent {
            payload: Some(Payload::Snapshot(v1::HealthSnapshot::default())),
            ..Default::default()
        });
        producer.publish(delta());
        let mut stream = producer.watch("kactl");
        for _ in 0..3 {
            producer.publish(delta());
        }
        let text = exposition(&registry);
        assert!(
            text.contains("keepalived_bus_consumer_lag_events{consumer=\"kactl\"} 3"),
            "{text}"
        );
        for _ in 0..4 {
            stream.next().await.unwrap().unwrap();
        }
        let text = exposition(&registry);
        assert!(
            text.contains("keepalived_bus_consumer_lag_events{consumer=\"kactl\"} 0"),
            "{text}"
        );
        drop(stream);
        assert!(!exposition(&registry).contains("consumer=\"kactl\""));
    }

    #[tokio::test]
    async fn watch_opens_with_snapshot_then_deltas_with_consecutive_seq() {
        let producer = producer(16);
        producer.publish(delta());
        producer.publish(delta());
        let mut stream = producer.watch("test");
        producer.publish(delta());
        producer.publish(delta());

        let snapshot = stream.next().await.unwrap().unwrap();
        let header = snapshot.header.unwrap();
        assert_eq!(header.kind, EventKind::Snapshot as i32);
        assert_eq!(header.seq, 2, "snapshot names the deltas it includes");
        assert_eq!(header.incarnation, producer.incarnation());
        assert_eq!(header.producer, "health-prober@test");
        for expected in [3, 4] {
            let event = stream.next().await.unwrap().unwrap();
            let header = event.header.unwrap();
            assert_eq!(header.kind, EventKind::Delta as i32);
            assert_eq!(header.seq, expected);
            assert!(header.time.is_some());
        }
    }

    #[tokio::test]
    async fn a_snapshot_published_mid_stream_carries_the_last_seq_and_deltas_follow_it() {
        let producer = producer(16);
        let mut stream = producer.watch("test");
        producer.publish(delta());
        producer.publish_snapshot();
        producer.publish(delta());
        let mut kinds_and_seqs = Vec::new();
        for _ in 0..4 {
            let h = stream.next().await.unwrap().unwrap().header.unwrap();
            kinds_and_seqs.push((h.kind, h.seq));
        }
        let (snap, delta) = (EventKind::Snapshot as i32, EventKind::Delta as i32);
        assert_eq!(
            kinds_and_seqs,
            [(snap, 0), (delta, 1), (snap, 1), (delta, 2)]
        );
    }

    #[tokio::test]
    async fn lagging_consumer_is_cut_off_and_others_are_not() {
        let producer = producer(8);
        let mut slow = producer.watch("slow");
        let mut fast = producer.watch("fast");
        assert!(slow.next().await.unwrap().is_ok());
        assert!(fast.next().await.unwrap().is_ok());
        for _ in 0..20 {
            producer.publish(delta());
            assert!(fast.next().await.unwrap().is_ok());
        }
        let status = slow.next().await.unwrap().unwrap_err();
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert!(slow.next().await.is_none(), "a cut-off stream ends");
    }

    #[test]
    fn incarnations_differ_between_producers() {
        assert_ne!(producer(1).incarnation(), producer(1).incarnation());
    }
}
