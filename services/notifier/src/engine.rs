//! The delivery engine: turns bus events into spooled deliveries and makes
//! them, one lane at a time in event order, retrying with jittered
//! exponential backoff.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use keepalived_api::v1;
use keepalived_bus::{Backoff, BusMetrics, DEFAULT_CAPACITY, Producer};
use tokio::sync::mpsc;
use tracing::Instrument as _;

use crate::delivery::{Cause, Outcome, Record, Status, now_ms};
use crate::fifo::{Fifos, StateBook};
use crate::job::Action;
use crate::notice::Notice;
use crate::rules::Settings;
use crate::spool::{self, Op, Spool, SpoolError};
use crate::store::{Seen, Store};
use crate::{mail, script, smtp, webhook};

/// Delivery tuning.
#[derive(Debug, Clone)]
pub struct Options {
    /// Spool directory.
    pub spool_dir: PathBuf,
    /// Most deliveries kept (finished ones are pruned oldest first).
    pub spool_max: usize,
    /// Attempts before giving up on a mail or webhook; `None`: never.
    pub max_attempts: Option<u32>,
    /// Attempts of a notify script (a script that ran is delivered whatever
    /// its exit status; this bounds failures to start it or timeouts).
    pub script_attempts: Option<u32>,
    /// A notify script is killed after this long.
    pub script_timeout: Duration,
    /// A webhook call is abandoned (and retried) after this long.
    pub webhook_timeout: Duration,
    /// First retry delay.
    pub retry_initial: Duration,
    /// Longest retry delay.
    pub retry_max: Duration,
}

/// An event as the engine takes it.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// The event's envelope.
    pub header: v1::EventHeader,
    /// True for a snapshot.
    pub snapshot: bool,
    /// The notice it carries (deltas only).
    pub notice: Option<Notice>,
}

/// SharedStore state of the notifier.
pub type SharedStore = Arc<Mutex<Store>>;

struct Inner {
    settings: RwLock<Settings>,
    store: SharedStore,
    spool: Spool,
    lanes: Mutex<HashMap<String, mpsc::UnboundedSender<u64>>>,
    producer: Producer<v1::NotifierEvent>,
    options: Options,
    fifos: Fifos,
    states: Mutex<StateBook>,
}

/// The engine; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

fn lock(store: &SharedStore) -> std::sync::MutexGuard<'_, Store> {
    store.lock().unwrap_or_else(|e| e.into_inner())
}

impl Engine {
    /// Opens the spool, recovers what it held and resumes every unfinished
    /// delivery in its lane, in order. Must run inside a tokio runtime.
    pub fn start(
        settings: Settings,
        options: Options,
        identity: String,
        metrics: BusMetrics,
    ) -> Result<Self, SpoolError> {
        let (recovered, lines) = spool::recover(&options.spool_dir)?;
        let store: SharedStore = Arc::new(Mutex::new(Store::from_recovered(recovered)));
        let live = store.clone();
        let spool = Spool::start(
            &options.spool_dir,
            lines,
            Box::new(move || lock(&live).live_ops()),
        )?;
        let snapshot_store = store.clone();
        let producer = Producer::new(identity, DEFAULT_CAPACITY, metrics, move || {
            v1::NotifierEvent {
                header: None,
                payload: Some(v1::notifier_event::Payload::Snapshot(
                    v1::NotifierSnapshot {
                        deliveries: lock(&snapshot_store)
                            .records()
                            .filter(|r| !r.status.finished())
                            .map(Record::to_proto)
                            .collect(),
                    },
                )),
            }
        });
        let fifos = Fifos::open(&settings.fifos);
        let engine = Self {
            inner: Arc::new(Inner {
                fifos,
                states: Mutex::default(),
                settings: RwLock::new(settings),
                store,
                spool,
                lanes: Mutex::default(),
                producer,
                options,
            }),
        };
        let resumed: Vec<(u64, String)> = lock(&engine.inner.store)
            .records()
            .filter(|r| !r.status.finished())
            .map(|r| (r.seq, r.job.lane.clone()))
            .collect();
        if !resumed.is_empty() {
            tracing::info!(
                count = resumed.len(),
                "resuming unfinished deliveries from the spool"
            );
        }
        for (seq, lane) in resumed {
            engine.dispatch(&lane, seq);
        }
        Ok(engine)
    }

    /// The store, for the API.
    pub fn store(&self) -> SharedStore {
        self.inner.store.clone()
    }

    /// The Notifier bus producer, for the API's Watch.
    pub fn producer(&self) -> Producer<v1::NotifierEvent> {
        self.inner.producer.clone()
    }

    /// Replaces the settings (a reload); deliveries already spooled keep what
    /// was decided when their event arrived.
    pub fn set_settings(&self, settings: Settings) {
        self.inner.fifos.reconcile(&settings.fifos);
        if settings.fifos.write_states_on_reload {
            self.write_states(&settings);
        }
        *self
            .inner
            .settings
            .write()
            .unwrap_or_else(|e| e.into_inner()) = settings;
    }

    /// Keeps up with vrrp-core's instance and group states, for
    /// `fifo_write_vrrp_states_on_reload`.
    pub fn observe_vrrp(&self, event: &v1::VrrpEvent) {
        self.inner
            .states
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .observe(event);
    }

    /// `fifo_write_vrrp_states_on_reload`: every group's and instance's
    /// current line to the VRRP FIFOs, at once (keepalived writes them while
    /// reloading, not as notifications).
    fn write_states(&self, settings: &Settings) {
        let lines = self
            .inner
            .states
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .reload_lines(&settings.fifos);
        for path in &settings.fifos.vrrp {
            for line in &lines {
                if let Err(error) = self.inner.fifos.write(path, line) {
                    tracing::warn!(%error, "state line not written at reload");
                }
            }
        }
    }

    /// At stop: unlinks the FIFOs we created and closes them.
    pub async fn close_fifos(&self) {
        self.inner.fifos.close_all().await;
    }

    /// Handles a batch of events: snapshots move cursors, new deltas become
    /// deliveries. One durable commit for the whole batch; deliveries start
    /// only once it is on disk.
    pub async fn ingest(&self, batch: Vec<Incoming>) -> Result<(), SpoolError> {
        let mut ops = Vec::new();
        let mut created: Vec<(u64, String)> = Vec::new();
        {
            let settings = self
                .inner
                .settings
                .read()
                .unwrap_or_else(|e| e.into_inner());
            let mut store = lock(&self.inner.store);
            for event in batch {
                let h = &event.header;
                if event.snapshot {
                    store.observe_snapshot(&h.producer, &h.incarnation, h.seq);
                    continue;
                }
                if store.observe(&h.producer, &h.incarnation, h.seq) == Seen::Duplicate {
                    tracing::debug!(producer = %h.producer, seq = h.seq, "event already handled; skipped");
                    continue;
                }
                let Some(notice) = event.notice else { continue };
                let trace = h.trace.clone().unwrap_or_default();
                let trace_id = keepalived_telemetry::trace_id_of(&trace)
                    .unwrap_or_default()
                    .to_owned();
                let time = h
                    .time
                    .as_ref()
                    .and_then(|t| {
                        chrono::DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).ok()?)
                    })
                    .unwrap_or_else(chrono::Utc::now);
                let context = webhook::Context {
                    time: time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    trace_id: trace_id.clone(),
                    producer: h.producer.clone(),
                    incarnation: h.incarnation.clone(),
                    seq: h.seq,
                };
                let jobs = settings.jobs_for(&notice, &context);
                tracing::debug!(producer = %h.producer, seq = h.seq, ?notice, deliveries = jobs.len(), "event");
                let cause = Cause {
                    producer: h.producer.clone(),
                    incarnation: h.incarnation.clone(),
                    seq: h.seq,
                    traceparent: trace.traceparent.clone(),
                    tracestate: trace.tracestate.clone(),
                    trace_id,
                    kind: notice.kind().to_owned(),
                };
                let now = now_ms();
                for (index, job) in jobs.into_iter().enumerate() {
                    let id = format!("{}-{}-{index}", h.incarnation, h.seq);
                    if store.contains_id(&id) {
                        continue;
                    }
                    let seq = store.allocate();
                    let record = Record::new(seq, id, job, cause.clone(), now);
                    created.push((seq, record.job.lane.clone()));
                    ops.push(Op::Put(Box::new(record.clone())));
                    store.put(record);
                }
                if let Some(cursor) = store.cursor(&h.producer) {
                    ops.push(Op::Cursor(cursor.clone()));
                }
            }
            ops.extend(store.prune(self.inner.options.spool_max));
        }
        let committed = self.inner.spool.commit(ops).await;
        // Even if the journal failed, the deliveries are in memory: make them
        // rather than drop them (their next state change journals them whole).
        for (seq, lane) in created {
            self.publish(seq);
            self.dispatch(&lane, seq);
        }
        committed
    }

    fn publish(&self, seq: u64) {
        let Some(delivery) = lock(&self.inner.store).get(seq).map(Record::to_proto) else {
            return;
        };
        self.inner.producer.publish(v1::NotifierEvent {
            header: None,
            payload: Some(v1::notifier_event::Payload::DeliveryChanged(delivery)),
        });
    }

    /// Queues `seq` on its lane, starting the lane's worker on first use.
    fn dispatch(&self, lane: &str, seq: u64) {
        let mut lanes = self.inner.lanes.lock().unwrap_or_else(|e| e.into_inner());
        let tx = lanes.entry(lane.to_owned()).or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(self.clone().lane_worker(rx));
            tx
        });
        // The worker lives as long as the engine; a send cannot fail.
        let _ = tx.send(seq);
    }

    /// One lane: each delivery in turn until delivered or given up; the next
    /// waits (ordering per destination).
    async fn lane_worker(self, mut rx: mpsc::UnboundedReceiver<u64>) {
        let o = &self.inner.options;
        let mut backoff = Backoff::new(o.retry_initial, o.retry_max);
        while let Some(seq) = rx.recv().await {
            loop {
                let Some(record) = lock(&self.inner.store).get(seq).cloned() else {
                    break;
                };
                if record.status.finished() {
                    break;
                }
                if let Some(due) = record.next_attempt {
                    let wait = u64::try_from(due - now_ms()).unwrap_or(0);
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                }
                let outcome = self.attempt(&record).await;
                let delay = if matches!(outcome, Outcome::Delivered) {
                    backoff.reset();
                    Duration::ZERO
                } else {
                    backoff.next_delay()
                };
                let max = match record.job.action {
                    Action::Script(_) => o.script_attempts,
                    _ => o.max_attempts,
                };
                let mut updated = record;
                updated.apply(outcome, now_ms(), delay, max);
                if updated.status == Status::GivenUp {
                    tracing::error!(delivery = %updated.id, error = %updated.last_error, attempts = updated.attempts, "delivery given up");
                }
                let finished = updated.status.finished();
                self.record_update(updated);
                if finished {
                    break;
                }
            }
        }
    }

    /// Stores an attempt's result: memory first (so a compaction never
    /// writes an older version), then the journal. The lane does not wait for
    /// the sync: losing this line in a crash only means the delivery is made
    /// again (at least once), and not waiting lets the group commit batch a
    /// burst.
    fn record_update(&self, record: Record) {
        let seq = record.seq;
        let mut ops = vec![Op::Put(Box::new(record.clone()))];
        {
            let mut store = lock(&self.inner.store);
            store.put(record);
            ops.extend(store.prune(self.inner.options.spool_max));
        }
        // Queued now, in lane order; only the wait for the sync is detached.
        let synced = self.inner.spool.enqueue(ops);
        tokio::spawn(async move {
            if let Err(error) = synced.await {
                tracing::error!(%error, "cannot journal a delivery's state");
            }
        });
        self.publish(seq);
    }

    /// One attempt, in a span that is the child of the causing event's.
    async fn attempt(&self, record: &Record) -> Outcome {
        let span = tracing::info_span!(
            "notifier.deliver",
            delivery = %record.id,
            lane = %record.job.lane,
            attempt = record.attempts + 1,
        );
        keepalived_telemetry::follow_from(
            &span,
            Some(&v1::TraceContext {
                traceparent: record.cause.traceparent.clone(),
                tracestate: record.cause.tracestate.clone(),
            }),
        );
        let o = &self.inner.options;
        let result = async {
            match &record.job.action {
                Action::Mail(m) => {
                    let date = mail::rfc822_date(chrono::Local::now());
                    smtp::send(m, &date)
                        .await
                        .map_err(|e| (e.to_string(), true))
                }
                Action::Script(s) => script::run(s, o.script_timeout)
                    .await
                    .map(|_| ())
                    .map_err(|e| (e.to_string(), e.retryable())),
                Action::Webhook(w) => webhook::post(
                    &w.url,
                    &w.body,
                    w.secret_file.as_deref(),
                    w.ca_file.as_deref(),
                    &record.id,
                    o.webhook_timeout,
                )
                .await
                .map_err(|e| (e.to_string(), true)),
                Action::Fifo(f) => self
                    .inner
                    .fifos
                    .write(&f.path, &f.line)
                    .map_err(|e| (e.to_string(), e.retryable())),
            }
        }
        .instrument(span.clone())
        .await;
        match result {
            Ok(()) => Outcome::Delivered,
            Err((error, retryable)) => {
                span.in_scope(|| tracing::warn!(delivery = %record.id, %error, "delivery failed"));
                Outcome::Failed { error, retryable }
            }
        }
    }
}
