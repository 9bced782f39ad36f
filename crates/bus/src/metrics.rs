//! Prometheus metrics of a producer.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
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
    /// How far each open Watch stream is behind the last published seq.
    pub(crate) lag: Arc<LagTable>,
}

/// The open Watch streams and the last seq each has been handed.
#[derive(Debug, Default)]
pub(crate) struct LagTable {
    /// The producer's last published seq.
    pub(crate) last_seq: AtomicU64,
    next_id: AtomicU64,
    streams: Mutex<BTreeMap<u64, (String, Arc<AtomicU64>)>>,
}

impl LagTable {
    /// Adds a stream of `consumer` that has seen everything up to `seq`; returns its id
    /// and the cell it updates as it hands out events.
    pub(crate) fn open(&self, consumer: &str, seq: u64) -> (u64, Arc<AtomicU64>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let seen = Arc::new(AtomicU64::new(seq));
        self.lock().insert(id, (consumer.to_owned(), seen.clone()));
        (id, seen)
    }

    /// Removes a stream.
    pub(crate) fn close(&self, id: u64) {
        self.lock().remove(&id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, (String, Arc<AtomicU64>)>> {
        self.streams.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Collector for LagTable {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> std::fmt::Result {
        let last = self.last_seq.load(Ordering::Relaxed);
        // Several streams of one consumer name (two kactl) show as the furthest behind.
        let mut by_consumer: BTreeMap<String, u64> = BTreeMap::new();
        for (consumer, seen) in self.lock().values() {
            let lag = last.saturating_sub(seen.load(Ordering::Relaxed));
            let entry = by_consumer.entry(consumer.clone()).or_default();
            *entry = (*entry).max(lag);
        }
        let mut family = encoder.encode_descriptor(
            "consumer_lag_events",
            "Events published but not yet handed to the consumer's Watch stream",
            None,
            ConstGauge::new(0i64).metric_type(),
        )?;
        for (consumer, lag) in &by_consumer {
            let labels = [("consumer", consumer.as_str())];
            ConstGauge::new(i64::try_from(*lag).unwrap_or(i64::MAX))
                .encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
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
            "Watch streams (consumers) currently open",
            self.watchers.clone(),
        );
        sub.register(
            "watchers_cut_off",
            "Watch streams cut off because the consumer fell behind",
            self.cut_off.clone(),
        );
        sub.register_collector(Box::new(self.lag.clone()));
    }
}
