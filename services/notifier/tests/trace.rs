//! Trace continuity: a real server's failure event published inside the
//! producer's span yields a delivery span that is that span's child.

mod common;

use std::time::Duration;

use common::*;
use keepalived_api::v1::RealServerChangeKind as Rs;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_delivery_span_is_the_child_of_the_real_server_failure_event() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    // Global: the engine's lane workers run on every runtime thread. Only
    // this test's and the notifier's spans are of interest.
    let only_ours = tracing_subscriber::filter::Targets::new()
        .with_target("notifier", tracing::Level::INFO)
        .with_target("trace", tracing::Level::INFO);
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(
            tracing_opentelemetry::layer()
                .with_tracer(provider.tracer("trace-test"))
                .with_filter(only_ours),
        ),
    )
    .unwrap();

    let hook = WebhookReceiver::start(0).await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings(dir.path(), "global_defs { router_id R1 }\n");
    settings.webhooks = vec![hook.url.parse().unwrap()];
    let up = Upstreams::start(64).await;
    let _engine = start_engine(settings, options(&dir.path().join("spool")), &up);
    up.wait_watchers(1).await;
    {
        let span = tracing::info_span!("ipvs.apply");
        let _entered = span.enter();
        up.ipvs.publish(rs_change(
            "203.0.113.12",
            Rs::Removed,
            "HTTP request failed",
        ));
    }
    eventually(Duration::from_secs(20), "the webhook", || hook.count() >= 1).await;
    let find = |name: &str| {
        exporter
            .get_finished_spans()
            .unwrap()
            .into_iter()
            .find(|s| s.name == name)
    };
    eventually(Duration::from_secs(20), "both spans ended", || {
        find("ipvs.apply").is_some() && find("notifier.deliver").is_some()
    })
    .await;
    let producer = find("ipvs.apply").unwrap();
    let delivery = find("notifier.deliver").unwrap();
    assert_eq!(
        delivery.span_context.trace_id(),
        producer.span_context.trace_id()
    );
    assert_eq!(delivery.parent_span_id, producer.span_context.span_id());
    // The payload names the same trace.
    let body: serde_json::Value = serde_json::from_slice(&hook.received()[0].body).unwrap();
    assert_eq!(
        body["trace_id"],
        producer.span_context.trace_id().to_string().as_str()
    );
}
