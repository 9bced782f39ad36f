//! Delivery metrics, read from the store at scrape time (the store owns the facts).

use std::collections::BTreeMap;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;

use crate::delivery::Status;
use crate::engine::SharedStore;
use crate::job::Action;

/// `keepalived_notifier_deliveries{channel,status}` and `keepalived_notifier_spool_depth`.
#[derive(Debug)]
pub struct DeliveryMetrics(pub SharedStore);

fn channel(action: &Action) -> &'static str {
    match action {
        Action::Mail(_) => "mail",
        Action::Script(_) => "script",
        Action::Webhook(_) => "webhook",
        Action::Fifo(_) => "fifo",
    }
}

fn status(status: Status) -> &'static str {
    match status {
        Status::Pending => "pending",
        Status::Retrying => "retrying",
        Status::Delivered => "delivered",
        Status::GivenUp => "given_up",
    }
}

impl Collector for DeliveryMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> std::fmt::Result {
        let mut by = BTreeMap::new();
        for c in ["mail", "script", "webhook", "fifo"] {
            for s in ["pending", "retrying", "delivered", "given_up"] {
                by.insert((c, s), 0i64);
            }
        }
        let mut depth = 0i64;
        {
            let store = self.0.lock().unwrap_or_else(|e| e.into_inner());
            for record in store.records() {
                *by.entry((channel(&record.job.action), status(record.status)))
                    .or_default() += 1;
                depth += i64::from(!record.status.finished());
            }
        }
        let mut family = encoder.encode_descriptor(
            "notifier_deliveries",
            "Deliveries the spool holds, by channel and status (finished ones until pruned by --spool-max)",
            None,
            ConstGauge::new(0i64).metric_type(),
        )?;
        for ((c, s), n) in &by {
            let labels = [("channel", *c), ("status", *s)];
            ConstGauge::new(*n).encode(family.encode_family(&labels)?)?;
        }
        let gauge = ConstGauge::new(depth);
        let family = encoder.encode_descriptor(
            "notifier_spool_depth",
            "Deliveries not yet delivered or given up",
            None,
            gauge.metric_type(),
        )?;
        gauge.encode(family)?;
        Ok(())
    }
}
