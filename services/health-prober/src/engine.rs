//! The I/O shell around the state machines: one scheduler (a tokio
//! `DelayQueue`) drives every target, attempts run as tasks bounded by a
//! semaphore, results come back over a channel and are fed to each target's
//! [`Machine`]. Transitions are logged in keepalived's words and published on
//! the bus inside a tracing span covering the attempts that led to them.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use futures::StreamExt as _;
use keepalived_api::v1::{self, health_event::Payload};
use keepalived_bus::Producer;
use keepalived_config::CheckerKind;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::time::DelayQueue;
use tokio_util::time::delay_queue;
use tracing::Instrument as _;

use crate::checks::Probe;
use crate::checks::tls::{SslClient, SslInitError};
use crate::machine::{Flavor, Machine, Timing};
use crate::outcome::Outcome;
use crate::spec::TargetSpec;
use crate::words;

mod share;
use share::Role;
pub use share::{Share, ShareMetrics};

/// The API's view of all targets, shared with the gRPC service.
///
/// Stored by the engine's slot index, so the per-attempt update is an index,
/// not a lookup by id; the id index serves `GetTarget`.
#[derive(Debug, Default)]
pub struct TargetViews {
    views: RwLock<Views>,
}

#[derive(Debug, Default)]
struct Views {
    by_slot: Vec<Option<v1::Target>>,
    by_id: HashMap<String, usize>,
}

impl Views {
    fn set(&mut self, slot: usize, view: v1::Target) {
        if self.by_slot.len() <= slot {
            self.by_slot.resize(slot + 1, None);
        }
        self.clear(slot);
        self.by_id.insert(view.id.clone(), slot);
        self.by_slot[slot] = Some(view);
    }

    fn clear(&mut self, slot: usize) -> Option<v1::Target> {
        let old = self.by_slot.get_mut(slot)?.take()?;
        if self.by_id.get(&old.id) == Some(&slot) {
            self.by_id.remove(&old.id);
        }
        Some(old)
    }

    fn get_mut(&mut self, slot: usize) -> Option<&mut v1::Target> {
        self.by_slot.get_mut(slot)?.as_mut()
    }
}

impl TargetViews {
    /// All targets, in id order.
    pub fn list(&self) -> Vec<v1::Target> {
        let mut all: Vec<v1::Target> = self.read().by_slot.iter().flatten().cloned().collect();
        all.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        all
    }

    /// The target with this id.
    pub fn get(&self, id: &str) -> Option<v1::Target> {
        let views = self.read();
        let slot = *views.by_id.get(id)?;
        views.by_slot.get(slot)?.clone()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Views> {
        self.views.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Views> {
        self.views.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// Scheduler metrics (registered under `keepalived_prober_*`).
#[derive(Debug, Clone)]
pub struct Metrics {
    /// How late attempts start against their schedule, in seconds.
    pub lateness: Histogram,
    /// How long attempts take, in seconds.
    pub duration: Histogram,
    /// Attempts run, by checker kind (`HTTP_GET`, `TCP_CHECK`…).
    pub attempts: Family<[(&'static str, &'static str); 1], Counter>,
    /// Attempts that failed, by checker kind.
    pub failures: Family<[(&'static str, &'static str); 1], Counter>,
    /// Targets scheduled.
    pub targets: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let buckets = [
            0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075,
            0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0,
        ];
        Self {
            lateness: Histogram::new(buckets),
            duration: Histogram::new(buckets),
            attempts: Family::default(),
            failures: Family::default(),
            targets: Gauge::default(),
        }
    }
}

impl Metrics {
    /// Registers the metrics.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "prober_check_lateness_seconds",
            "How late check attempts start against their schedule",
            self.lateness.clone(),
        );
        registry.register(
            "prober_check_duration_seconds",
            "How long check attempts take",
            self.duration.clone(),
        );
        registry.register(
            "prober_checks",
            "Check attempts run, by checker kind",
            self.attempts.clone(),
        );
        registry.register(
            "prober_check_failures",
            "Check attempts that failed, by checker kind",
            self.failures.clone(),
        );
        registry.register(
            "prober_targets",
            "Check targets scheduled",
            self.targets.clone(),
        );
    }
}

/// The keepalived flavour of a checker type.
pub fn flavor(kind: &CheckerKind) -> Flavor {
    match kind {
        CheckerKind::HttpGet(_) | CheckerKind::SslGet(_) => Flavor::Http,
        CheckerKind::DnsCheck(_) => Flavor::Dns,
        CheckerKind::SmtpCheck(_) => Flavor::Smtp,
        CheckerKind::MiscCheck(_) => Flavor::Misc,
        CheckerKind::TcpCheck
        | CheckerKind::UdpCheck(_)
        | CheckerKind::PingCheck
        | CheckerKind::FileCheck(_) => Flavor::Tcp,
    }
}

fn timing_of(spec: &TargetSpec) -> Timing {
    let t = &spec.checker.timing;
    Timing {
        delay_loop: t.delay_loop.as_duration(),
        delay_before_retry: t.delay_before_retry.as_duration(),
        // keepalived's FILE_CHECK follows the file (inotify) with no retry:
        // the verdict turns with the file's value at once.
        retry: if matches!(spec.checker.kind, CheckerKind::FileCheck(_)) {
            0
        } else {
            t.retry
        },
        warmup: t.warmup.as_duration(),
        alpha: t.alpha,
        log_all_failures: spec.checker.log_all_failures,
        fast_recovery: match &spec.checker.kind {
            CheckerKind::HttpGet(h) | CheckerKind::SslGet(h) => h.fast_recovery,
            _ => false,
        },
    }
}

fn verdict(up: bool) -> v1::Verdict {
    if up {
        v1::Verdict::Up
    } else {
        v1::Verdict::Down
    }
}

/// The attempts of one failing (or recovering) stretch of a target, and the
/// span that covers them.
/// What one attempt changed ([`Engine::step`]).
struct Stepped {
    spec: Arc<TargetSpec>,
    /// The new verdict, when it changed.
    changed: Option<bool>,
    /// The episode that ended with the change.
    episode: Option<Episode>,
    /// A `misc_dynamic` weight or FILE_CHECK offset changed.
    weight_changed: bool,
}

#[derive(Debug)]
struct Episode {
    span: tracing::Span,
    attempts: Vec<v1::AttemptResult>,
}

#[derive(Debug)]
struct Slot {
    spec: Arc<TargetSpec>,
    probe: Arc<Probe>,
    machine: Machine,
    /// Changes whenever the slot is reused, so a late result is dropped.
    generation: u64,
    key: Option<delay_queue::Key>,
    due: Instant,
    episode: Option<Episode>,
    weight: Option<u32>,
    weight_offset: Option<i32>,
    verdict_since: SystemTime,
    last: Option<v1::AttemptResult>,
    /// Whether this replica checks the target (the checks divided among
    /// the replicas), and why, as the API shows it.
    role: Role,
    ownership: Option<v1::Ownership>,
}

#[derive(Debug)]
struct Done {
    slot: usize,
    generation: u64,
    /// The HTTP url the attempt fetched (index).
    url: usize,
    started: Instant,
    ended: Instant,
    outcome: Outcome,
}

/// The scheduler of every check target.
pub struct Engine {
    shared: Arc<TargetViews>,
    producer: Producer<v1::HealthEvent>,
    metrics: Metrics,
    queue: DelayQueue<usize>,
    slots: Vec<Option<Slot>>,
    free: Vec<usize>,
    by_identity: HashMap<String, usize>,
    by_real_server: HashMap<String, Vec<usize>>,
    origin: Instant,
    origin_wall: SystemTime,
    tx: mpsc::UnboundedSender<Done>,
    rx: mpsc::UnboundedReceiver<Done>,
    permits: Arc<Semaphore>,
    /// Due targets waiting for a free permit, oldest first: only
    /// `max_concurrent` attempts ever exist as tasks.
    waiting: std::collections::VecDeque<(usize, u64)>,
    generation: u64,
    /// SSL_GET's TLS context, one for every SSL_GET target.
    ssl: Arc<SslClient>,
    /// The replica set the checks are divided with, if any.
    share: Option<Share>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("targets", &self.by_identity.len())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine publishing on `producer`, with at most `max_concurrent`
    /// attempts in flight.
    pub fn new(
        shared: Arc<TargetViews>,
        producer: Producer<v1::HealthEvent>,
        metrics: Metrics,
        max_concurrent: usize,
    ) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            shared,
            producer,
            metrics,
            queue: DelayQueue::new(),
            slots: Vec::new(),
            free: Vec::new(),
            by_identity: HashMap::new(),
            by_real_server: HashMap::new(),
            origin: Instant::now(),
            origin_wall: SystemTime::now(),
            tx,
            rx,
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
            waiting: std::collections::VecDeque::new(),
            generation: 0,
            ssl: Arc::default(),
            share: None,
        }
    }

    /// Uses `ssl` as SSL_GET's TLS context (shared with the loader that replaces it).
    pub fn with_ssl_client(mut self, ssl: Arc<SslClient>) -> Self {
        self.ssl = ssl;
        self
    }

    /// The TLS context SSL_GET attempts use (the autogen one until replaced):
    /// a configuration's loader replaces it, see [`crate::prepare`].
    pub fn ssl_client(&self) -> Arc<SslClient> {
        self.ssl.clone()
    }

    fn wall(&self, at: Instant) -> SystemTime {
        self.origin_wall + at.saturating_duration_since(self.origin)
    }

    fn timestamp(&self, at: Instant) -> prost_types::Timestamp {
        prost_types::Timestamp::from(self.wall(at))
    }

    /// Applies a (new) set of targets: unchanged ones keep their state and
    /// schedule, new ones start (first check 1 s + a random share of warmup
    /// from now), removed ones stop. `initial` suppresses the added/removed
    /// events (the snapshot carries the start-up state).
    pub fn apply(&mut self, specs: Vec<TargetSpec>, initial: bool) {
        let now = Instant::now();
        let wanted: std::collections::HashSet<String> =
            specs.iter().map(|s| s.identity.clone()).collect();
        // Removals first: a changed checker keeps its id, and its new
        // incarnation must not be removed with the old one.
        let gone: Vec<usize> = self
            .by_identity
            .iter()
            .filter(|(identity, _)| !wanted.contains(*identity))
            .map(|(_, &index)| index)
            .collect();
        for index in gone {
            self.remove(index);
        }
        for spec in specs {
            match self.by_identity.get(&spec.identity) {
                Some(&index) => {
                    if let Some(slot) = self.slots[index].as_mut() {
                        // Same checker: new id or virtual servers only.
                        slot.spec = Arc::new(spec);
                    }
                }
                None => self.add(spec, now, initial),
            }
        }
        // Ids may have shifted: rebuild the API view from the slots.
        let mut views = Views::default();
        for index in 0..self.slots.len() {
            if self.slots[index].is_some() {
                views.set(index, self.view(index));
            }
        }
        *self.shared.write() = views;
        self.by_real_server.clear();
        for (index, slot) in self.slots.iter().enumerate() {
            if let Some(slot) = slot {
                self.by_real_server
                    .entry(slot.spec.real_server_key())
                    .or_default()
                    .push(index);
            }
        }
        let keys: Vec<String> = self.by_real_server.keys().cloned().collect();
        for key in keys {
            self.refresh_real_server(&key);
        }
        self.metrics.targets.set(self.by_identity.len() as i64);
        // New targets get their owners (once the replica set is known).
        self.reassign_all();
    }

    fn add(&mut self, spec: TargetSpec, now: Instant, initial: bool) {
        let probe = match Probe::new(&spec, &self.ssl) {
            Ok(probe) => Arc::new(probe),
            Err(error) => {
                tracing::warn!("{} not checked: {error}", spec.id);
                return;
            }
        };
        for vs in &spec.virtual_servers {
            tracing::info!("{}", words::activating(&spec, &vs.label));
        }
        let machine = machine_for(&spec);
        let first = machine.first_check_at(Duration::ZERO, rand::random::<f64>());
        let due = now + first;
        self.generation += 1;
        let index = self.free.pop().unwrap_or_else(|| {
            self.slots.push(None);
            self.slots.len() - 1
        });
        // Divided checks: nothing is checked before its owners are known.
        let role = self.initial_role();
        let key = role.checks().then(|| self.queue.insert_at(index, due));
        let identity = spec.identity.clone();
        self.slots[index] = Some(Slot {
            spec: Arc::new(spec),
            probe,
            machine,
            generation: self.generation,
            key,
            due,
            episode: None,
            weight: None,
            weight_offset: None,
            verdict_since: SystemTime::now(),
            last: None,
            role,
            ownership: None,
        });
        self.by_identity.insert(identity, index);
        let view = self.view(index);
        self.shared.write().set(index, view.clone());
        if !initial {
            self.publish_change(v1::TargetChange {
                from: v1::Verdict::Unspecified as i32,
                to: view.verdict,
                target: Some(view),
                added: true,
                ..Default::default()
            });
        }
    }

    fn remove(&mut self, index: usize) {
        let Some(slot) = self.slots[index].take() else {
            return;
        };
        if let Some(key) = slot.key {
            self.queue.remove(&key);
        }
        self.by_identity.remove(&slot.spec.identity);
        self.free.push(index);
        let view = self.shared.write().clear(index);
        tracing::info!("Removing healthchecker for service {}", slot.spec.fmt_rs());
        if let Some(view) = view {
            self.publish_change(v1::TargetChange {
                from: view.verdict,
                to: v1::Verdict::Unspecified as i32,
                target: Some(view),
                removed: true,
                ..Default::default()
            });
        }
    }

    fn publish_change(&self, change: v1::TargetChange) {
        self.producer.publish(v1::HealthEvent {
            header: None,
            payload: Some(Payload::TargetChanged(change)),
        });
    }

    /// The API view of a slot.
    fn view(&self, index: usize) -> v1::Target {
        let Some(slot) = self.slots[index].as_ref() else {
            return v1::Target::default();
        };
        let spec = &slot.spec;
        v1::Target {
            id: spec.id.clone(),
            checker: words::api_checker_name(&spec.checker.kind).to_owned(),
            real_server: Some(v1::AddressPort {
                address: spec.real_server.ip().to_string(),
                port: u32::from(spec.real_server.port()),
            }),
            virtual_servers: spec.virtual_servers.iter().map(vs_key).collect(),
            verdict: verdict(slot.machine.is_up()) as i32,
            last_result: slot.last.clone(),
            consecutive_failures: slot.machine.consecutive_failures(),
            next_check: slot.key.map(|_| self.timestamp(slot.due)),
            dynamic_weight: slot.weight,
            weight_offset: slot.weight_offset,
            verdict_since: Some(prost_types::Timestamp::from(slot.verdict_since)),
            real_server_verdict: self
                .shared
                .read()
                .by_slot
                .get(index)
                .and_then(Option::as_ref)
                .filter(|t| t.id == spec.id)
                .map(|t| t.real_server_verdict)
                .unwrap_or(v1::Verdict::Unspecified as i32),
            ownership: match slot.role {
                Role::Waiting if slot.ownership.is_none() => Some(v1::Ownership {
                    role: v1::OwnershipRole::Waiting as i32,
                    reason: "waiting for the replica set (start-up)".into(),
                    ..Default::default()
                }),
                _ => slot.ownership.clone(),
            },
        }
    }

    /// Recomputes the real server's verdict over its checkers and stores it
    /// in each of its targets.
    fn refresh_real_server(&mut self, key: &str) {
        let Some(members) = self.by_real_server.get(key) else {
            return;
        };
        let up = crate::machine::real_server_up(
            members
                .iter()
                .filter_map(|&i| self.slots[i].as_ref())
                .map(|s| s.machine.is_up()),
        );
        let mut views = self.shared.write();
        for &i in members {
            if let Some(t) = views.get_mut(i) {
                t.real_server_verdict = verdict(up) as i32;
            }
        }
    }

    /// A target is due: run it now if a permit is free, else queue it.
    fn due(&mut self, index: usize) {
        let Some(slot) = self.slots[index].as_mut() else {
            return;
        };
        slot.key = None;
        let generation = slot.generation;
        match self.permits.clone().try_acquire_owned() {
            Ok(permit) => self.launch(index, permit),
            Err(_) => self.waiting.push_back((index, generation)),
        }
    }

    /// Starts queued targets while permits are free.
    fn drain_waiting(&mut self) {
        while let Some(&(index, generation)) = self.waiting.front() {
            // A slot removed (or reused) by a reload while it waited is skipped.
            if self.slots[index].as_ref().map(|s| s.generation) != Some(generation) {
                self.waiting.pop_front();
                continue;
            }
            let Ok(permit) = self.permits.clone().try_acquire_owned() else {
                return;
            };
            self.waiting.pop_front();
            self.launch(index, permit);
        }
    }

    fn launch(&mut self, index: usize, permit: tokio::sync::OwnedSemaphorePermit) {
        let Some(slot) = self.slots[index].as_mut() else {
            return;
        };
        let probe = slot.probe.clone();
        let tx = self.tx.clone();
        let generation = slot.generation;
        let due = slot.due;
        let url = slot.machine.current_url();
        let lateness = self.metrics.lateness.clone();
        // Attempts get their own span only inside an episode: a healthy
        // target costs no span (and no span bookkeeping) per check.
        let span = slot.episode.as_ref().map(|episode| {
            tracing::info_span!(
                parent: &episode.span,
                "check_attempt",
                target = %slot.spec.id,
                success = tracing::field::Empty,
                reason = tracing::field::Empty,
            )
        });
        let record = span.clone();
        let attempt = async move {
            let started = Instant::now();
            lateness.observe(started.saturating_duration_since(due).as_secs_f64());
            let outcome = probe.run(url).await;
            let ended = Instant::now();
            if let Some(span) = record {
                span.record("success", outcome.success());
                if let Some(f) = &outcome.failure {
                    span.record("reason", f.detail());
                }
            }
            // The permit is free before the engine hears of the result.
            drop(permit);
            let _ = tx.send(Done {
                slot: index,
                generation,
                url,
                started,
                ended,
                outcome,
            });
        };
        match span {
            Some(span) => tokio::spawn(attempt.instrument(span)),
            None => tokio::spawn(attempt),
        };
    }

    /// An attempt ended: count it, feed it to the target's machine (retry
    /// rules, keepalived's log lines, the next attempt scheduled), update the
    /// API view, and publish what changed.
    fn complete(&mut self, done: Done) {
        let index = done.slot;
        if self.slots[index]
            .as_ref()
            .is_none_or(|slot| slot.generation != done.generation)
        {
            return;
        }
        self.count_attempt(&done);
        let result = self.attempt_result(&done);
        let Some(step) = self.step(index, &done, result) else {
            return;
        };
        self.refresh_view_after_attempt(index, step.changed.is_some());
        self.publish_attempt(index, &done, step);
    }

    fn count_attempt(&self, done: &Done) {
        let Some(slot) = self.slots[done.slot].as_ref() else {
            return;
        };
        // The `checker` label: the keyword of keepalived.conf (HTTP_GET and SSL_GET apart,
        // where keepalived's logs say HTTP_CHECK for both).
        let kind = [("checker", slot.spec.checker.kind.keyword())];
        self.metrics.attempts.get_or_create(&kind).inc();
        self.metrics
            .duration
            .observe((done.ended - done.started).as_secs_f64());
        if !done.outcome.success() {
            self.metrics.failures.get_or_create(&kind).inc();
        }
    }

    /// The attempt as the API shows it.
    fn attempt_result(&self, done: &Done) -> v1::AttemptResult {
        let failure = done.outcome.failure.as_ref();
        v1::AttemptResult {
            started: Some(self.timestamp(done.started)),
            latency: prost_types::Duration::try_from(done.ended - done.started).ok(),
            success: done.outcome.success(),
            reason: failure.map(|f| f.reason() as i32).unwrap_or_default(),
            detail: failure.map(|f| f.detail()).unwrap_or_default(),
        }
    }

    /// The attempt through the target's machine: its episode, weights, log
    /// lines and next attempt. What changed, for the view and the bus.
    fn step(&mut self, index: usize, done: &Done, result: v1::AttemptResult) -> Option<Stepped> {
        let origin = self.origin;
        let slot = self.slots[index].as_mut()?;
        let success = done.outcome.success();
        let was_up = slot.machine.is_up();
        // An episode opens at the first attempt that disagrees with the verdict.
        if slot.episode.is_none() && success != was_up {
            let span = tracing::info_span!(
                "health_episode",
                target = %slot.spec.id,
                checker = words::api_checker_name(&slot.spec.checker.kind),
                from = if was_up { "UP" } else { "DOWN" },
                first_attempt = %result.detail,
            );
            slot.episode = Some(Episode {
                span,
                attempts: Vec::new(),
            });
        }
        if let Some(episode) = &mut slot.episode {
            episode.attempts.push(result.clone());
        }
        let step = slot.machine.on_attempt(
            done.started.saturating_duration_since(origin),
            done.ended.saturating_duration_since(origin),
            success,
        );
        // misc_dynamic or FILE_CHECK: a new weight while the verdict holds is
        // news too (keepalived changes the IPVS weight at once).
        let weight_changed = (done.outcome.weight.is_some() && done.outcome.weight != slot.weight)
            || done.outcome.weight_offset != slot.weight_offset;
        if let Some(weight) = done.outcome.weight {
            slot.weight = Some(weight);
        }
        // FILE_CHECK: the offset holds while the file is above its fault threshold.
        slot.weight_offset = done.outcome.weight_offset;
        slot.last = Some(result);
        for note in &step.notes {
            if let Some(line) =
                words::line(&slot.spec, *note, done.outcome.failure.as_ref(), done.url)
            {
                tracing::info!("{line}");
            }
        }
        slot.due = origin + step.next_at;
        slot.key = Some(self.queue.insert_at(index, slot.due));
        let changed = step.changed;
        if changed.is_some() {
            slot.verdict_since = SystemTime::now();
        }
        let episode = match changed {
            Some(_) => slot.episode.take(),
            // The attempt agrees with the verdict again: the episode ends quietly.
            None if success == slot.machine.is_up() => {
                slot.episode.take();
                None
            }
            None => None,
        };
        Some(Stepped {
            spec: slot.spec.clone(),
            changed,
            episode,
            weight_changed,
        })
    }

    /// Updates the API view of `index` in place: no rebuild per attempt.
    fn refresh_view_after_attempt(&self, index: usize, target_changed: bool) {
        let Some(slot) = self.slots[index].as_ref() else {
            return;
        };
        let next_check = prost_types::Timestamp::from(
            self.origin_wall + slot.due.saturating_duration_since(self.origin),
        );
        let mut views = self.shared.write();
        if let Some(t) = views.get_mut(index) {
            t.verdict = verdict(slot.machine.is_up()) as i32;
            t.last_result.clone_from(&slot.last);
            t.consecutive_failures = slot.machine.consecutive_failures();
            t.next_check = Some(next_check);
            t.dynamic_weight = slot.weight;
            t.weight_offset = slot.weight_offset;
            if target_changed {
                t.verdict_since = Some(prost_types::Timestamp::from(slot.verdict_since));
            }
        }
    }

    /// Publishes what an attempt changed: a verdict (in its episode's trace,
    /// with the failed attempts and keepalived's words), a new owner's first
    /// result, or a weight while the verdict holds.
    fn publish_attempt(&mut self, index: usize, done: &Done, step: Stepped) {
        let Stepped {
            spec,
            changed,
            episode,
            weight_changed,
        } = step;
        // A new owner's first result of its own: former owners may stop.
        let own_result = self.took_own_result(index);
        if let Some(up) = changed {
            self.refresh_real_server(&spec.real_server_key());
            let view = self.view(index);
            let (mail_body, reason) = words::mail(&spec, up, done.outcome.failure.as_ref());
            let change = v1::TargetChange {
                target: Some(view),
                from: verdict(!up) as i32,
                to: verdict(up) as i32,
                attempts: match (&episode, up) {
                    (Some(e), false) => e.attempts.clone(),
                    _ => Vec::new(),
                },
                reason,
                mail_body,
                removed: false,
                added: false,
            };
            match &episode {
                Some(e) => e.span.in_scope(|| self.publish_change(change)),
                None => {
                    let span = tracing::info_span!("health_transition", target = %spec.id);
                    span.in_scope(|| self.publish_change(change));
                }
            }
        } else if own_result && !weight_changed {
            self.publish_ownership(index);
        } else if weight_changed {
            let view = self.view(index);
            let held = view.verdict;
            let span = tracing::info_span!("health_weight", target = %spec.id);
            span.in_scope(|| {
                self.publish_change(v1::TargetChange {
                    target: Some(view),
                    from: held,
                    to: held,
                    ..Default::default()
                })
            });
        }
    }

    /// Runs until `shutdown`; on each change of `reloads`, `load` gives the
    /// new targets (an error keeps the running set, as keepalived does),
    /// except an [`SslInitError`]: keepalived's checker process exits when
    /// the SSL context cannot be built on reload (check_daemon.c
    /// `stop_check(KEEPALIVED_EXIT_FATAL)`), and so does this loop, with it.
    pub async fn run(
        mut self,
        shutdown: CancellationToken,
        mut reloads: watch::Receiver<u64>,
        mut load: impl FnMut() -> anyhow::Result<Vec<TargetSpec>>,
    ) -> anyhow::Result<()> {
        loop {
            let settling = self.settling();
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                Some(done) = self.rx.recv() => {
                    self.complete(done);
                    // Take every result already there in one go: one result
                    // per turn of the loop would spend the task's cooperative
                    // budget on results alone and starve the due queue.
                    while let Ok(done) = self.rx.try_recv() {
                        self.complete(done);
                    }
                    self.drain_waiting();
                }
                Some(expired) = self.queue.next(), if !self.queue.is_empty() => {
                    self.due(expired.into_inner());
                }
                Some(update) = share::next_update(&mut self.share) => self.on_peer(update),
                () = tokio::time::sleep(Duration::from_millis(100)), if settling => self.settle_tick(),
                changed = reloads.changed() => {
                    if changed.is_err() {
                        // No more reloads can come; keep checking.
                        reloads = watch::channel(0).1;
                        continue;
                    }
                    match load() {
                        Ok(specs) => self.apply(specs, false),
                        Err(error) if error.is::<SslInitError>() => return Err(error),
                        Err(error) => tracing::error!("reload failed, keeping the running checkers: {error:#}"),
                    }
                }
            }
        }
        Ok(())
    }
}

/// A target's machine at start-up.
fn machine_for(spec: &TargetSpec) -> Machine {
    let urls = match &spec.checker.kind {
        CheckerKind::HttpGet(h) | CheckerKind::SslGet(h) => h.urls.len(),
        _ => 1,
    };
    Machine::new(flavor(&spec.checker.kind), timing_of(spec)).with_urls(urls)
}

fn vs_key(vs: &crate::spec::VsRef) -> v1::VirtualServerKey {
    use keepalived_config::{Protocol, VsKey};
    use v1::virtual_server_key::Kind;
    let kind = match &vs.key {
        VsKey::Addr { ip, port } => Kind::AddressPort(v1::AddressPort {
            address: ip.to_string(),
            port: u32::from(*port),
        }),
        VsKey::Fwmark { mark } => Kind::Fwmark(*mark),
        VsKey::Group { name } => Kind::Group(name.clone()),
    };
    let protocol = match vs.protocol {
        Protocol::Tcp => v1::Protocol::Tcp,
        Protocol::Udp => v1::Protocol::Udp,
        Protocol::Sctp => v1::Protocol::Sctp,
    };
    v1::VirtualServerKey {
        kind: Some(kind),
        protocol: protocol as i32,
    }
}
