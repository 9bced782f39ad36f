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
use std::time::Duration;

use keepalived_api::v1::{self, ipvs_event::Payload};
use keepalived_bus::{Producer, UpstreamUpdate};
use keepalived_config::{Config, LvsFlushOnStop};
use tokio::sync::oneshot;
// tokio's clock off the runtime is the real one; inside a paused test runtime, paused.
use tokio::time::Instant;

use crate::backend::{Backend, BackendError, ObservedState};
use crate::desired::{self, Desired, Overrides};
use crate::health::{BookChange, Policy, VerdictBook};
use crate::reconcile;
use crate::spec::{self, Spec, VsName};
use crate::table::{Change, DestKey, ServiceKey};
use crate::view::{self, View, fmt_rs};

mod announce;
mod apply;
mod metrics;

use announce::describe;
pub use metrics::EngineMetrics;

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
    plan: Spec,
    book: VerdictBook,
    /// `health_prober_owners` as read at start.
    owners_per_target: keepalived_config::ProberOwners,
    overrides: Overrides,
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
        let (plan, errors) = config.map(spec::build).unwrap_or_default();
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
                let (plan, errors) = spec::build(&config);
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

/// The data plane's short name for logs.
pub fn backend_name(kind: v1::Backend) -> &'static str {
    match kind {
        v1::Backend::Ipvs => "ipvs",
        v1::Backend::Nft => "nft",
        v1::Backend::Unspecified => "unspecified",
    }
}

#[cfg(test)]
mod tests;
