//! Prometheus metrics of a producer.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Counters every producer keeps; cheap to clone (shared atomics).
#[derive(Debug, Clone, Default)]
pub struct BusMetrics {
    /// Events published.
    pub published: Counter,
    /// Watch streams open now.
    pub watchers: Gauge,
    /// Watch streams cut off because their consumer fell behind.
    pub cut_off: Counter,
}

impl BusMetrics {
    /// Registers the metrics under `<registry prefix>_bus_*`.
    pub fn register(&self, registry: &mut Registry) {
        let sub = registry.sub_registry_with_prefix("bus");
        sub.register(
            "events_published",
            "Events published on this service's Watch stream",
            self.published.clone(),
        );
        sub.register(
            "watchers",
            "Watch streams currently open",
            self.watchers.clone(),
        );
        sub.register(
            "watchers_cut_off",
            "Watch streams cut off because the consumer fell behind",
            self.cut_off.clone(),
        );
    }
}
