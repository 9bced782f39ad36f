//! Trace continuity: W3C trace context crosses processes in gRPC metadata
//! and the bus in event envelopes, and spans reach an OTLP/gRPC receiver
//! configured only through the standard OTEL_* variables.

use std::time::Duration;

use futures::StreamExt as _;
use keepalived_api::v1;
use keepalived_bus::{BusMetrics, Producer};
use keepalived_tests::otlp::OtlpReceiver;
use keepalived_tests::{ServiceProcess, minimal_config, serve_health_producer};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use tracing_subscriber::layer::SubscriberExt as _;

fn random_hex(bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_continues_the_callers_trace_and_exports_by_otel_variables() {
    let receiver = OtlpReceiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = minimal_config(dir.path());
    let endpoint = receiver.endpoint();
    let process = ServiceProcess::start(
        "notifier",
        dir.path(),
        &config,
        &[],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    );

    let trace_id = random_hex(16);
    let parent_span = random_hex(8);
    let mut request = tonic::Request::new(v1::ListDeliveriesRequest::default());
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{trace_id}-{parent_span}-01").parse().unwrap(),
    );
    v1::notifier_client::NotifierClient::new(process.tcp_channel().await)
        .list_deliveries(request)
        .await
        .expect("ListDeliveries");

    let span = receiver
        .wait_for(Duration::from_secs(15), |s| s.trace_id == trace_id)
        .await
        .unwrap_or_else(|| panic!("no span of our trace arrived: {:?}", receiver.spans()));
    assert_eq!(
        span.parent_span_id, parent_span,
        "server span is a child of the caller's"
    );
    assert_eq!(
        span.service, "notifier",
        "service.name is the binary's name"
    );
    assert_eq!(span.name, "/keepalived.v1.Notifier/ListDeliveries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_span_is_the_child_of_the_producer_span_across_the_bus() {
    let receiver = OtlpReceiver::start().await;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(receiver.endpoint())
        .build()
        .unwrap();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_simple_exporter(exporter)
        .build();
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bus-test")));
    let _guard = tracing::subscriber::set_default(subscriber);

    // The producer serves Health.Watch over real gRPC on loopback.
    let producer = Producer::new("health-prober@test", 64, BusMetrics::default(), || {
        v1::HealthEvent {
            header: None,
            payload: Some(v1::health_event::Payload::Snapshot(Default::default())),
        }
    });
    let (addr, server) = serve_health_producer(producer.clone()).await;

    let channel = keepalived_bus::addr::connect(&keepalived_bus::addr::Address::Tcp {
        host: "127.0.0.1".into(),
        port: addr.port(),
    })
    .await
    .unwrap();
    let mut stream = v1::health_client::HealthClient::new(channel)
        .watch(v1::WatchRequest::default())
        .await
        .unwrap()
        .into_inner();
    let _snapshot = stream.next().await.unwrap().unwrap();

    {
        let span = tracing::info_span!("prober.verdict");
        let _entered = span.enter();
        producer.publish(v1::HealthEvent {
            header: None,
            payload: Some(v1::health_event::Payload::TargetChanged(Default::default())),
        });
    }
    let event = stream.next().await.unwrap().unwrap();
    let trace = event.header.as_ref().and_then(|h| h.trace.clone());
    {
        let span = tracing::info_span!("ipvs.apply");
        keepalived_telemetry::follow_from(&span, trace.as_ref());
    }
    provider.force_flush().unwrap();

    let producer_span = receiver
        .wait_for(Duration::from_secs(10), |s| s.name == "prober.verdict")
        .await
        .expect("producer span exported");
    let consumer_span = receiver
        .wait_for(Duration::from_secs(10), |s| s.name == "ipvs.apply")
        .await
        .expect("consumer span exported");
    assert_eq!(consumer_span.trace_id, producer_span.trace_id);
    assert_eq!(consumer_span.parent_span_id, producer_span.span_id);
    assert_eq!(
        keepalived_telemetry::trace_id_of(trace.as_ref().unwrap()),
        Some(producer_span.trace_id.as_str())
    );
    server.abort();
}
