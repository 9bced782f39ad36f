//! The engine: the only writer of the kernel table. It runs on its own
//! thread (backend calls block: `nft -f`, netlink), takes inputs (health
//! updates, reloads, operator overrides, shutdown) from one channel, and on
//! each input computes the desired table, diffs it against what the kernel
//! holds, applies the difference, and only then logs keepalived's lines and
//! publishes the events — the kernel changes at the moment the line is
//! logged.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use keepalived_api::v1::{self, ipvs_event::Payload};
use keepalived_bus::{Producer, UpstreamUpdate};
use keepalived_config::{Config, LvsFlushOnStop};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::oneshot;

use crate::backend::{Backend, BackendError, ObservedState};
use crate::desired::{self, Desired, Overrides};
use crate::health::{BookChange, Policy, VerdictBook};
use crate::plan::{self, Plan, VsName};
use crate::reconcile;
use crate::table::{Change, DestKey, ServiceKey};
use crate::view::{self, View, fmt_rs};

/// A reply to an operator request.
pub type Reply = oneshot::Sender<Result<v1::RealServer, tonic::Status>>;

/// What the engine acts on.
#[derive(Debug)]
pub enum Input {
    /// An update from one health-prober replica.
    Health(Box<UpstreamUpdate<v1::HealthEvent>>),
    /// SIGHUP: the new configuration.
    Reload(Box<Config>),
    /// `SetRealServerWeight`.
    SetWeight {
        /// Which virtual server.
        vs: v1::VirtualServerKey,
        /// Which real server.
        rs: v1::AddressPort,
        /// New weight, or none to clear.
        weight: Option<u32>,
        /// Where to answer.
        reply: Reply,
    },
    /// `DrainRealServer`.
    Drain {
        /// Which virtual server.
        vs: v1::VirtualServerKey,
        /// Which real server.
        rs: v1::AddressPort,
        /// Drain or undrain.
        drain: bool,
        /// Where to answer.
        reply: Reply,
    },
    /// SIGTERM: stop, flushing only if `lvs_flush_on_stop` says so.
    Shutdown(oneshot::Sender<()>),
}

/// Engine metrics (registered under `keepalived_ipvs_*`).
#[derive(Debug, Clone, Default)]
pub struct EngineMetrics {
    /// Kernel changes applied.
    pub changes: Counter,
    /// Failed applies.
    pub apply_errors: Counter,
    /// Drift repairs (the kernel differed at a resync).
    pub drift_repairs: Counter,
    /// Health probers followed.
    pub probers: Gauge,
    /// Of them, unreachable (verdicts kept, stale).
    pub probers_stale: Gauge,
    /// Check targets none of whose owners is reachable and checking them.
    pub targets_without_live_owner: Gauge,
}

impl EngineMetrics {
    /// Registers the metrics.
    pub fn register(&self, registry: &mut prometheus_client::registry::Registry) {
        let sub = registry.sub_registry_with_prefix("ipvs");
        sub.register(
            "kernel_changes",
            "Changes applied to the kernel table",
            self.changes.clone(),
        );
        sub.register(
            "apply_errors",
            "Applies the kernel refused",
            self.apply_errors.clone(),
        );
        sub.register(
            "drift_repairs",
            "Resyncs that found the kernel changed by hand and repaired it",
            self.drift_repairs.clone(),
        );
        sub.register(
            "health_probers",
            "Health-prober replicas known",
            self.probers.clone(),
        );
        sub.register(
            "health_probers_stale",
            "Health-prober replicas unreachable (last verdicts kept)",
            self.probers_stale.clone(),
        );
        sub.register(
            "health_targets_without_live_owner",
            "Check targets none of whose owning prober replicas is reachable and checking them (last verdicts kept)",
            self.targets_without_live_owner.clone(),
        );
    }
}

/// Settings of the engine.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How verdicts combine.
    pub policy: Policy,
    /// How often the kernel is re-read to repair drift.
    pub resync: Duration,
}

/// Why a reconcile runs (for logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    Start,
    Health,
    Operator,
    Reload,
    Resync,
}

/// The engine state.
pub struct Engine {
    backend: Box<dyn Backend>,
    settings: Settings,
    flush_on_stop: LvsFlushOnStop,
    plan: Plan,
    book: VerdictBook,
    /// `health_prober_owners` as read at start.
    owners_per_target: keepalived_config::ProberOwners,
    overrides: Overrides,
    quorum: HashMap<VsName, bool>,
    observed: ObservedState,
    /// Services this process owns: every planned service so far.
    scope: BTreeSet<ServiceKey>,
    /// Last applied entry (weight in the table, or absent) per real server
    /// and sorry server of each virtual server: the logical state the log
    /// lines describe.
    logical: BTreeMap<(VsName, DestKey), Option<u32>>,
    last_desired: Desired,
    /// The last apply succeeded and `observed` is what it left: every
    /// service not touched since matches `last_desired`.
    in_step: bool,
    reported: HashSet<String>,
    view: Arc<RwLock<View>>,
    producer: Producer<v1::IpvsEvent>,
    metrics: EngineMetrics,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

impl Engine {
    /// Builds the engine and ADOPTS the kernel table: reads what is there,
    /// changes only what differs from the configuration (no flush), so a
    /// restart drops no connection. Fails when the kernel cannot be read.
    pub fn start(
        mut backend: Box<dyn Backend>,
        config: Option<&Config>,
        settings: Settings,
        view: Arc<RwLock<View>>,
        producer: Producer<v1::IpvsEvent>,
        metrics: EngineMetrics,
    ) -> Result<Self, BackendError> {
        tracing::info!("Initializing ipvs");
        let observed = backend.observe()?;
        let (plan, errors) = config.map(plan::build).unwrap_or_default();
        for e in errors {
            tracing::error!("{e}");
        }
        let mut engine = Self {
            backend,
            settings,
            flush_on_stop: config
                .map(|c| c.global_defs.lvs_flush_on_stop)
                .unwrap_or(LvsFlushOnStop::None),
            scope: plan.service_keys(),
            plan,
            book: VerdictBook::default(),
            owners_per_target: Default::default(),
            overrides: Overrides::default(),
            quorum: HashMap::new(),
            observed,
            logical: BTreeMap::new(),
            last_desired: Desired::default(),
            in_step: false,
            reported: HashSet::new(),
            view,
            producer,
            metrics,
        };
        if let Some(c) = config {
            engine.timeouts(c);
            engine.owners_per_target = c.keepalived_rs.health_prober_owners;
            engine.book.set_owners_per_target(engine.owners_per_target);
        }
        if config.is_some_and(|c| c.global_defs.lvs_flush) {
            tracing::warn!(
                "lvs_flush is set but not honoured: ipvs-manager adopts the kernel table instead of flushing it (flushing at start would drop every connection)"
            );
        }
        let adopted = engine.observed.table.services.len();
        engine.logical = engine.logical_from_kernel();
        tracing::info!(
            "adopted {adopted} service(s) from the kernel ({} backend)",
            backend_name(engine.backend.kind())
        );
        engine.reconcile(Cause::Start);
        Ok(engine)
    }

    /// `lvs_timeouts`, when configured.
    fn timeouts(&mut self, config: &Config) {
        let t = config.global_defs.lvs_timeouts;
        if t.tcp.is_none() && t.tcpfin.is_none() && t.udp.is_none() {
            return;
        }
        if let Err(e) = self.backend.set_timeouts(
            t.tcp.map(|s| s.0),
            t.tcpfin.map(|s| s.0),
            t.udp.map(|s| s.0),
        ) {
            tracing::error!("{e}");
        }
    }

    /// What the kernel says about each planned real server (used at start so
    /// that adopting a table logs no "Adding" for what is already there).
    fn logical_from_kernel(&self) -> BTreeMap<(VsName, DestKey), Option<u32>> {
        let mut out = BTreeMap::new();
        for vs in &self.plan.virtual_servers {
            let all = vs
                .real_servers
                .iter()
                .map(|r| r.key)
                .chain(vs.sorry.as_ref().map(|s| s.key));
            for key in all {
                out.insert(
                    (vs.name.clone(), key),
                    view::kernel_weight(vs, &self.observed, key),
                );
            }
        }
        out
    }

    /// Runs until shutdown, re-reading the kernel every `resync`.
    pub fn run(mut self, inputs: Receiver<Input>) {
        let mut next_resync = Instant::now() + self.settings.resync;
        loop {
            let wait = next_resync.saturating_duration_since(Instant::now());
            match inputs.recv_timeout(wait) {
                Ok(Input::Shutdown(done)) => {
                    self.shutdown();
                    let _ = done.send(());
                    return;
                }
                Ok(input) => self.handle(input),
                Err(RecvTimeoutError::Timeout) => {
                    self.count_ownerless();
                    self.resync();
                    next_resync = Instant::now() + self.settings.resync;
                }
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    fn handle(&mut self, input: Input) {
        match input {
            Input::Health(update) => {
                let update = *update;
                // The span of this reconcile is a child of the prober's span
                // that produced the verdict: one trace prober → ipvs-manager → notifier.
                let span = tracing::info_span!("health_update", upstream = %update.upstream);
                if let keepalived_bus::Update::Delta(event) = &update.update {
                    keepalived_telemetry::follow_from(
                        &span,
                        event.header.as_ref().and_then(|h| h.trace.as_ref()),
                    );
                }
                let _entered = span.enter();
                let change = self.book.update(&update);
                let membership = change != BookChange::Verdicts
                    || matches!(update.update, keepalived_bus::Update::Snapshot(_));
                match change {
                    BookChange::Stale => tracing::warn!(
                        upstream = %update.upstream,
                        "health-prober unreachable; keeping its last verdicts (stale), the table stays as it is"
                    ),
                    BookChange::Unreachable => tracing::warn!(
                        upstream = %update.upstream,
                        "health-prober not reachable yet; its real servers keep their start-up state (up, or down with alpha)"
                    ),
                    BookChange::Removed => tracing::info!(
                        upstream = %update.upstream,
                        "health-prober left DNS; its verdicts no longer count"
                    ),
                    BookChange::Verdicts => {}
                }
                let (known, stale) = self.book.counts();
                self.metrics.probers.set(known as i64);
                self.metrics.probers_stale.set(stale as i64);
                if membership {
                    self.count_ownerless();
                }
                self.reconcile_health();
            }
            Input::Reload(config) => {
                tracing::info!("Reloading: applying the difference of the new configuration");
                let (plan, errors) = plan::build(&config);
                for e in errors {
                    tracing::error!("{e}");
                }
                self.flush_on_stop = config.global_defs.lvs_flush_on_stop;
                if config.keepalived_rs.health_prober_owners != self.owners_per_target {
                    // The probers read it at start only: changing it here alone
                    // would make ipvs-manager's owners differ from theirs.
                    tracing::warn!(
                        "health_prober_owners changed: not applied by a reload, restart ipvs-manager and the probers"
                    );
                }
                self.timeouts(&config);
                self.scope.extend(plan.service_keys());
                self.plan = plan;
                self.reconcile(Cause::Reload);
                // Services gone from the configuration are gone from the kernel now.
                self.scope = self.plan.service_keys();
            }
            Input::SetWeight {
                vs,
                rs,
                weight,
                reply,
            } => {
                let result = self.operator(&vs, &rs, |o| o.weight = weight);
                let _ = reply.send(result);
            }
            Input::Drain {
                vs,
                rs,
                drain,
                reply,
            } => {
                let result = self.operator(&vs, &rs, |o| o.drained = drain);
                let _ = reply.send(result);
            }
            Input::Shutdown(_) => {}
        }
    }

    fn operator(
        &mut self,
        vs: &v1::VirtualServerKey,
        rs: &v1::AddressPort,
        change: impl FnOnce(&mut desired::Override),
    ) -> Result<v1::RealServer, tonic::Status> {
        let name = self
            .plan
            .virtual_servers
            .iter()
            .find(|p| crate::health::key_matches(vs, &p.name))
            .map(|p| p.name.clone())
            .ok_or_else(|| tonic::Status::not_found("no such virtual server configured"))?;
        let ip = rs
            .address
            .parse()
            .map_err(|_| tonic::Status::invalid_argument("real server address is not an IP"))?;
        let key = DestKey {
            ip,
            port: u16::try_from(rs.port)
                .map_err(|_| tonic::Status::invalid_argument("port out of range"))?,
        };
        if !self
            .plan
            .find(&name)
            .is_some_and(|p| p.real_servers.iter().any(|r| r.key == key))
        {
            return Err(tonic::Status::not_found(
                "no such real server in that virtual server",
            ));
        }
        let previous = self
            .overrides
            .get(&(name.clone(), key))
            .copied()
            .unwrap_or_default();
        let mut next = previous;
        change(&mut next);
        self.overrides.insert((name.clone(), key), next);
        let index = self
            .plan
            .virtual_servers
            .iter()
            .position(|p| p.name == name)
            .unwrap_or_default();
        if !self.reconcile_vss(&[index], Cause::Operator) {
            self.overrides.insert((name.clone(), key), previous);
            return Err(tonic::Status::unavailable(
                "the kernel refused the change; see the ipvs-manager log",
            ));
        }
        self.last_desired
            .virtual_servers
            .iter()
            .find(|v| v.plan.name == name)
            .and_then(|v| {
                v.real_servers
                    .iter()
                    .find(|r| r.plan.key == key)
                    .map(|r| view::real_server(&v.plan, r, &self.observed))
            })
            .ok_or_else(|| tonic::Status::internal("real server vanished"))
    }

    /// Sets the gauge of targets without a live owner: on membership
    /// changes and at each resync (a walk over every target, too costly for
    /// every verdict).
    fn count_ownerless(&mut self) {
        self.metrics
            .targets_without_live_owner
            .set(self.book.targets_without_live_owner() as i64);
    }

    fn resync(&mut self) {
        match self.backend.observe() {
            Ok(observed) => {
                self.observed = observed;
                self.reconcile(Cause::Resync);
            }
            Err(e) => tracing::error!("cannot re-read the kernel table: {e}"),
        }
    }

    /// Computes, diffs, applies; logs and publishes what changed. Returns
    /// false when the kernel refused (state unchanged, retried at resync).
    fn reconcile(&mut self, cause: Cause) -> bool {
        let mut quorum = self.quorum.clone();
        let mut desired = desired::compute(
            &self.plan,
            &self.book,
            self.settings.policy,
            &self.overrides,
            &mut quorum,
        );
        // Leave out what this data plane cannot carry, saying so once.
        let backend = &self.backend;
        let reported = &mut self.reported;
        desired
            .table
            .services
            .retain(|key, service| match backend.supports(key, service) {
                Ok(()) => true,
                Err(why) => {
                    if reported.insert(why.clone()) {
                        tracing::error!("{why}; this virtual server is not programmed");
                    }
                    false
                }
            });
        for vs in &desired.virtual_servers {
            self.approximation_note(vs, &desired);
        }
        let scope = self.scope_now();
        let changes = reconcile::diff(&desired.table, &self.observed.table, &scope);
        // The full diff brings every service in step (unless the apply says otherwise).
        self.in_step = true;
        if !self.apply_changes(&changes) {
            return false;
        }
        if cause == Cause::Resync && !changes.is_empty() {
            self.metrics.drift_repairs.inc();
            for c in &changes {
                tracing::warn!(
                    "kernel table was changed outside keepalived-rs; repaired: {}",
                    describe(c)
                );
            }
        }
        // The view first: a Watch snapshot taken after an event's seq must
        // already include that event's change.
        self.refresh_view(&desired);
        self.announce(&desired, &changes, &quorum);
        self.quorum = quorum;
        self.last_desired = desired;
        true
    }

    /// Applies `changes` to the kernel and to `observed`. False when the
    /// kernel refused (observed re-read).
    fn apply_changes(&mut self, changes: &[Change]) -> bool {
        if !changes.is_empty() {
            if let Err(e) = self.backend.apply(changes) {
                self.metrics.apply_errors.inc();
                tracing::error!(
                    "cannot apply {} change(s) to the kernel table: {e}; will retry at the next resync",
                    changes.len()
                );
                // IPVS batches are not transactions: part may have been
                // applied, so the next diff starts from a fresh read.
                match self.backend.observe() {
                    Ok(o) => self.observed = o,
                    Err(e) => tracing::error!("cannot re-read the kernel table: {e}"),
                }
                self.in_step = false;
                return false;
            }
            self.metrics.changes.inc_by(changes.len() as u64);
            if let Err(e) = self.observed.table.apply(changes) {
                tracing::warn!("kernel table out of step after apply ({e}); re-reading it");
                self.in_step = false;
                if let Ok(o) = self.backend.observe() {
                    self.observed = o;
                }
            }
        }
        true
    }

    /// A verdict changed: the virtual servers holding a real server whose
    /// verdicts changed are computed again ([`Self::reconcile_vss`]); all of
    /// them when the book cannot say which (a snapshot, a prober stale or
    /// gone).
    fn reconcile_health(&mut self) -> bool {
        let Some(changed) = self.book.changed_since(self.last_desired.book_generation) else {
            return self.reconcile(Cause::Health);
        };
        let indices: Vec<usize> = self
            .plan
            .virtual_servers
            .iter()
            .enumerate()
            .filter(|(_, vs)| {
                changed.iter().any(|(rs, name)| {
                    name.as_ref().is_none_or(|n| *n == vs.name)
                        && vs.real_servers.iter().any(|r| r.key == *rs)
                })
            })
            .map(|(i, _)| i)
            .collect();
        self.reconcile_vss(&indices, Cause::Health)
    }

    /// Only the inputs of virtual servers `indices` changed (an operator
    /// override, verdicts on their real servers): what [`Self::reconcile`]
    /// does, computed, diffed, viewed and announced for them alone (a single
    /// change in a 10,000-server table costs that virtual server, not the
    /// table). Falls back to the full reconcile when the rest is not known to
    /// be in step with the kernel (a failed apply, a drifted read) or some
    /// virtual server's quorum changes at every computation by itself
    /// (quorum + hysteresis 0 with nothing alive).
    fn reconcile_vss(&mut self, indices: &[usize], cause: Cause) -> bool {
        if !self.in_step
            || self.last_desired.virtual_servers.len() != self.plan.virtual_servers.len()
            || self
                .plan
                .virtual_servers
                .iter()
                .any(|v| v.quorum.saturating_add(v.hysteresis) == 0)
        {
            return self.reconcile(cause);
        }
        let mut quorum = self.quorum.clone();
        let mut desired = std::mem::take(&mut self.last_desired);
        let generation = desired.book_generation;
        let mut replaced = Vec::with_capacity(indices.len());
        let mut touched = BTreeSet::new();
        for &index in indices {
            let r = desired::update_vs(
                &mut desired,
                &self.plan,
                index,
                &self.book,
                self.settings.policy,
                &self.overrides,
                &mut quorum,
            );
            touched.extend(r.touched.iter().copied());
            replaced.push(r);
        }
        // Every virtual server whose verdicts changed is computed again.
        desired.book_generation = self.book.generation();
        for key in &touched {
            if let Some(service) = desired.table.services.get(key)
                && let Err(why) = self.backend.supports(key, service)
            {
                if self.reported.insert(why.clone()) {
                    tracing::error!("{why}; this virtual server is not programmed");
                }
                desired.table.services.remove(key);
            }
        }
        for &index in indices {
            self.approximation_note(&desired.virtual_servers[index], &desired);
        }
        // The destinations edited, when every update only edited some.
        let edited: Option<BTreeSet<DestKey>> =
            replaced.iter().try_fold(BTreeSet::new(), |mut all, r| {
                all.extend(r.dests.as_ref()?);
                Some(all)
            });
        let changes = edited
            .and_then(|dests| {
                reconcile::diff_dests(&desired.table, &self.observed.table, &touched, &dests)
            })
            .unwrap_or_else(|| {
                let scope = self.scope_now();
                reconcile::diff_services(&desired.table, &self.observed.table, &scope, &touched)
            });
        if !self.apply_changes(&changes) {
            for r in replaced.into_iter().rev() {
                r.restore(&mut desired);
            }
            desired.book_generation = generation;
            self.last_desired = desired;
            return false;
        }
        for &index in indices {
            self.refresh_view_vs(&desired, index);
        }
        for c in &changes {
            match c {
                Change::AddService { key, .. } => self.vs_changed(key, true),
                Change::DelService { key } => self.vs_changed(key, false),
                _ => {}
            }
        }
        let mut logical = BTreeMap::new();
        for &index in indices {
            self.announce_vs(
                &desired,
                &desired.virtual_servers[index],
                &quorum,
                &mut logical,
            );
        }
        self.logical.extend(logical);
        self.quorum = quorum;
        self.last_desired = desired;
        true
    }

    /// Services this process may change now.
    fn scope_now(&self) -> BTreeSet<ServiceKey> {
        let mut scope = self.scope.clone();
        scope.extend(self.plan.service_keys());
        if self.backend.kind() == v1::Backend::Nft {
            // The nft tables are ours alone: anything in them is ours to remove.
            scope.extend(self.observed.table.services.keys().copied());
        }
        scope
    }

    /// Says once that the nft backend approximates this virtual server's
    /// scheduler, ignores its `ops` or cannot forward fragmented UDP (DR).
    fn approximation_note(&mut self, vs: &desired::VsOutcome, desired: &Desired) {
        if let Some(key) = vs.plan.services.first() {
            let persistent = vs.plan.spec.persistence.is_some();
            let (_, approx) = crate::sched::nft_strategy(&vs.plan.spec.scheduler, persistent);
            let mut notes = Vec::new();
            if approx {
                notes.push(format!(
                    "VS {}: scheduler {}{} is approximated by the nft backend (round robin or a consistent source hash)",
                    vs.plan.name,
                    vs.plan.spec.scheduler,
                    if persistent { " with persistence" } else { "" }
                ));
            }
            // One-packet scheduling (IP_VS_SVC_F_ONEPACKET) needs a decision
            // per datagram; the nft NAT is conntrack's, made once per flow.
            if vs.plan.spec.ops {
                notes.push(format!(
                    "VS {}: ops (one-packet scheduling) is not implemented by the nft backend; each flow is scheduled once, as conntrack keeps it",
                    vs.plan.name
                ));
            }
            // DR forwards at ingress, before any reassembly: a non-first
            // fragment has no UDP header to match (IPVS sees the datagram
            // reassembled at LOCAL_IN). Measured: 3000 bytes lost, 1400 fine.
            let udp = matches!(
                key,
                ServiceKey::Addr {
                    proto: crate::table::Proto::Udp,
                    ..
                }
            );
            let dr = desired.table.services.get(key).is_some_and(|s| {
                s.dests
                    .values()
                    .any(|d| d.method == crate::table::Method::Dr)
            });
            if udp && dr {
                notes.push(format!(
                    "VS {}: UDP datagrams fragmented before the director are not forwarded by the nft backend's DR (no reassembly at ingress)",
                    vs.plan.name
                ));
            }
            if self.backend.kind() == v1::Backend::Nft && desired.table.services.contains_key(key) {
                for note in notes {
                    if self.reported.insert(note.clone()) {
                        tracing::warn!("{note}");
                    }
                }
            }
        }
    }

    /// Logs keepalived's lines and publishes the events for what changed.
    fn announce(&mut self, desired: &Desired, changes: &[Change], quorum: &HashMap<VsName, bool>) {
        for c in changes {
            match c {
                Change::AddService { key, .. } => self.vs_changed(key, true),
                Change::DelService { key } => self.vs_changed(key, false),
                _ => {}
            }
        }
        let mut logical = BTreeMap::new();
        for vs in &desired.virtual_servers {
            self.announce_vs(desired, vs, quorum, &mut logical);
        }
        // Real servers of virtual servers that left the configuration.
        for ((name, key), before) in &self.logical {
            if !logical.contains_key(&(name.clone(), *key))
                && let Some(w) = before
            {
                tracing::info!("Removing service {} from VS {name}", fmt_rs(name, *key));
                self.publish_rs(
                    name,
                    *key,
                    v1::RealServerChangeKind::Removed,
                    *w,
                    0,
                    "virtual server removed from the configuration",
                    "",
                    None,
                    None,
                );
            }
        }
        self.logical = logical;
    }

    /// [`Self::announce`] for one virtual server: its lines and events, its
    /// entries into `logical`.
    fn announce_vs(
        &self,
        desired: &Desired,
        vs: &desired::VsOutcome,
        quorum: &HashMap<VsName, bool>,
        logical: &mut BTreeMap<(VsName, DestKey), Option<u32>>,
    ) {
        {
            // A virtual server the data plane cannot carry has no entries.
            let programmed = vs
                .plan
                .services
                .first()
                .is_some_and(|k| desired.table.services.contains_key(k));
            for r in &vs.real_servers {
                let entry = if programmed { r.entry } else { None };
                logical.insert((vs.plan.name.clone(), r.plan.key), entry);
                let before = self
                    .logical
                    .get(&(vs.plan.name.clone(), r.plan.key))
                    .copied()
                    .flatten();
                if before != entry {
                    self.rs_changed(vs, Some(r), r.plan.key, before, entry);
                }
            }
            if let Some((s, entry)) = &vs.sorry {
                let entry = if programmed { *entry } else { None };
                logical.insert((vs.plan.name.clone(), s.key), entry);
                let before = self
                    .logical
                    .get(&(vs.plan.name.clone(), s.key))
                    .copied()
                    .flatten();
                if before != entry {
                    self.rs_changed(vs, None, s.key, before, entry);
                }
            }
            let was = self.quorum.get(&vs.plan.name).copied();
            let now = quorum.get(&vs.plan.name).copied().unwrap_or(true);
            if was != Some(now) {
                let q = vs.plan.quorum;
                let h = vs.plan.hysteresis;
                let w = vs.quorum.alive_weight;
                if now {
                    tracing::info!(
                        "Gained quorum {q}+{h}={} <= {w} for VS {}",
                        q.saturating_add(h),
                        vs.plan.name
                    );
                } else {
                    tracing::info!(
                        "Lost quorum {q}-{h}={} > {w} for VS {}",
                        q.saturating_sub(h),
                        vs.plan.name
                    );
                }
                self.producer.publish(v1::IpvsEvent {
                    header: None,
                    payload: Some(Payload::QuorumChanged(v1::QuorumChange {
                        key: Some(view::vs_key(&vs.plan.name)),
                        quorum: Some(v1::Quorum {
                            quorum: q,
                            hysteresis: h,
                            alive_weight: w,
                            up: now,
                        }),
                    })),
                });
            }
        }
    }

    fn vs_changed(&self, key: &ServiceKey, added: bool) {
        let name = self
            .plan
            .virtual_servers
            .iter()
            .find(|v| v.services.contains(key))
            .map(|v| v.name.to_string())
            .unwrap_or_else(|| key.to_string());
        if added {
            if name == key.to_string() {
                tracing::info!("Adding Virtual Server {key}");
            } else {
                tracing::info!("Adding Virtual Server {key} of {name}");
            }
        } else {
            tracing::info!("Removing Virtual Server {key}");
        }
        let vs_key = self
            .plan
            .virtual_servers
            .iter()
            .find(|v| v.services.contains(key))
            .map(|v| view::vs_key(&v.name))
            .unwrap_or_else(|| match key {
                ServiceKey::Addr { proto, ip, port } => view::vs_key(&VsName::Addr {
                    proto: *proto,
                    ip: *ip,
                    port: *port,
                }),
                ServiceKey::Fwmark { mark, .. } => view::vs_key(&VsName::Fwmark { mark: *mark }),
            });
        self.producer.publish(v1::IpvsEvent {
            header: None,
            payload: Some(Payload::VirtualServerChanged(v1::VirtualServerChange {
                key: Some(vs_key),
                added,
            })),
        });
    }

    /// One real server's entry changed: keepalived 2.2.7's line, then the event.
    fn rs_changed(
        &self,
        vs: &desired::VsOutcome,
        r: Option<&desired::RsOutcome>,
        key: DestKey,
        before: Option<u32>,
        after: Option<u32>,
    ) {
        use v1::RealServerChangeKind as K;
        let name = &vs.plan.name;
        let rs = fmt_rs(name, key);
        let inhibit = r.map(|r| r.plan.inhibit).unwrap_or(false);
        let alive = r.map(|r| r.alive).unwrap_or(true);
        // The verdict that decided, with the prober's words for its mail.
        let source = r.and_then(|r| r.verdicts.sources.iter().find(|s| s.up == alive));
        let (reason, checker, mail_body) = match source {
            Some(s) => (
                if alive { "" } else { &*s.reason },
                &*s.checker,
                s.mail_body.as_deref(),
            ),
            None => ("", "", None),
        };
        // keepalived: "Adding sorry server [IP]:tcp:80 to VS …", "Adding service …".
        let sorry = if r.is_none() {
            "sorry server"
        } else {
            "service"
        };
        let kind = match (before, after) {
            (None, Some(0)) if !alive => {
                tracing::info!("Disabling {sorry} {rs} of VS {name}");
                K::Disabled
            }
            (None, Some(_)) => {
                tracing::info!("Adding {sorry} {rs} to VS {name}");
                K::Added
            }
            (Some(_), None) => {
                tracing::info!("Removing {sorry} {rs} from VS {name}");
                K::Removed
            }
            (Some(a), Some(0)) if a > 0 && !alive => {
                tracing::info!("Disabling {sorry} {rs} of VS {name}");
                K::Disabled
            }
            (Some(0), Some(b)) if b > 0 && (inhibit || r.is_none()) => {
                tracing::info!("Enabling {sorry} {rs} of VS {name}");
                K::Enabled
            }
            (Some(a), Some(b)) => {
                tracing::info!("Changing weight from {a} to {b} for service {rs} of VS {name}");
                K::WeightChanged
            }
            (None, None) => return,
        };
        let after_view = r.map(|r| {
            let mut v = view::real_server(&vs.plan, r, &self.observed);
            v.kernel_weight = after.unwrap_or(0);
            v.in_kernel = after.is_some();
            v
        });
        self.publish_rs(
            name,
            key,
            kind,
            before.unwrap_or(0),
            after.unwrap_or(0),
            reason,
            checker,
            mail_body,
            after_view,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn publish_rs(
        &self,
        name: &VsName,
        key: DestKey,
        kind: v1::RealServerChangeKind,
        old_weight: u32,
        new_weight: u32,
        reason: &str,
        checker: &str,
        mail_body: Option<&str>,
        real_server: Option<v1::RealServer>,
    ) {
        self.producer.publish(v1::IpvsEvent {
            header: None,
            payload: Some(Payload::RealServerChanged(v1::RealServerChange {
                key: Some(v1::RealServerKey {
                    virtual_server: Some(view::vs_key(name)),
                    real_server: Some(view::address(key)),
                }),
                kind: kind as i32,
                old_weight,
                new_weight,
                reason: reason.to_owned(),
                checker: checker.to_owned(),
                real_server,
                mail_body: mail_body.map(str::to_owned),
            })),
        });
    }

    /// [`Self::refresh_view`] for virtual server `index` only.
    fn refresh_view_vs(&self, desired: &Desired, index: usize) {
        let backend = self.backend.kind() as i32;
        let one = view::virtual_server(&desired.virtual_servers[index], &self.observed, backend);
        let mut view = self.view.write().unwrap_or_else(|e| e.into_inner());
        if view.backend == backend && view.virtual_servers.len() == desired.virtual_servers.len() {
            view.virtual_servers[index] = one;
            return;
        }
        drop(view);
        self.refresh_view(desired);
    }

    fn refresh_view(&self, desired: &Desired) {
        let backend = self.backend.kind() as i32;
        let list = desired
            .virtual_servers
            .iter()
            .map(|v| view::virtual_server(v, &self.observed, backend))
            .collect();
        let mut view = self.view.write().unwrap_or_else(|e| e.into_inner());
        view.backend = backend;
        view.virtual_servers = list;
    }

    /// keepalived at SIGTERM with `lvs_flush_on_stop`: `Shutting down
    /// service …` per real server, then the services go. Without it the
    /// table stays, so traffic keeps flowing while ipvs-manager restarts.
    fn shutdown(&mut self) {
        if self.flush_on_stop == LvsFlushOnStop::None {
            tracing::info!("Stopping: kernel table left in place (lvs_flush_on_stop not set)");
            if self.plan.virtual_servers.iter().any(|v| v.omega) {
                tracing::warn!(
                    "omega has no effect without lvs_flush_on_stop: the real servers stay in the table"
                );
            }
            return;
        }
        for vs in &self.last_desired.virtual_servers {
            for r in &vs.real_servers {
                if let Some(w) = view::kernel_weight(&vs.plan, &self.observed, r.plan.key) {
                    let inhibited = if w == 0 && r.plan.inhibit {
                        "(inhibited) "
                    } else {
                        ""
                    };
                    tracing::info!(
                        "Shutting down {inhibited}service {} from VS {}",
                        fmt_rs(&vs.plan.name, r.plan.key),
                        vs.plan.name
                    );
                }
            }
        }
        let keys: Vec<ServiceKey> = match self.flush_on_stop {
            LvsFlushOnStop::All => self.observed.table.services.keys().copied().collect(),
            _ => self.plan.service_keys().into_iter().collect(),
        };
        if let Err(e) = self.backend.remove_services(&keys) {
            tracing::error!("cannot remove the virtual servers at stop: {e}");
            return;
        }
        // omega: the real servers of a virtual server taken down are
        // announced down, so the notifier runs their notify_down scripts.
        for vs in self
            .last_desired
            .virtual_servers
            .iter()
            .filter(|v| v.plan.omega)
        {
            for r in &vs.real_servers {
                if let Some(w) = view::kernel_weight(&vs.plan, &self.observed, r.plan.key) {
                    self.publish_rs(
                        &vs.plan.name,
                        r.plan.key,
                        v1::RealServerChangeKind::Removed,
                        w,
                        0,
                        "shutting down (omega)",
                        "",
                        None,
                        None,
                    );
                }
            }
        }
    }
}

fn describe(c: &Change) -> String {
    match c {
        Change::AddService { key, spec } => format!("added service {key} ({})", spec.scheduler),
        Change::EditService { key, spec } => format!("edited service {key} ({})", spec.scheduler),
        Change::DelService { key } => format!("removed service {key}"),
        Change::AddDest {
            service,
            dest,
            spec,
        } => format!(
            "added {dest} to {service} (weight {}, {})",
            spec.weight,
            spec.method.ipvsadm_name()
        ),
        Change::EditDest {
            service,
            dest,
            spec,
        } => format!(
            "set {dest} in {service} to weight {}, {}",
            spec.weight,
            spec.method.ipvsadm_name()
        ),
        Change::DelDest { service, dest } => format!("removed {dest} from {service}"),
    }
}

/// The data plane's short name for logs.
pub fn backend_name(kind: v1::Backend) -> &'static str {
    match kind {
        v1::Backend::Ipvs => "ipvs",
        v1::Backend::Nft => "nft",
        v1::Backend::Unspecified => "unspecified",
    }
}
