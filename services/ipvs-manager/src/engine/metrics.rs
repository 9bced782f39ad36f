//! The engine's metrics (`keepalived_ipvs_*`).

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;

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
