//! W3C trace context in bus event envelopes.

use std::collections::HashMap;

use keepalived_api::v1::TraceContext;
use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::TraceContextExt as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

const TRACEPARENT: &str = "traceparent";
const TRACESTATE: &str = "tracestate";

struct MapCarrier(HashMap<String, String>);

impl Injector for MapCarrier {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
}

impl Extractor for MapCarrier {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

/// The current span's context as an envelope field (empty when the current
/// span has no valid OpenTelemetry context).
pub fn current_trace_context() -> TraceContext {
    let cx = tracing::Span::current().context();
    let mut carrier = MapCarrier(HashMap::new());
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&cx, &mut carrier));
    TraceContext {
        traceparent: carrier.0.remove(TRACEPARENT).unwrap_or_default(),
        tracestate: carrier.0.remove(TRACESTATE).unwrap_or_default(),
    }
}

/// Makes `span` a child of the producer's span named in `trace`. A missing or
/// malformed context leaves `span` a root span; it never fails the consumer.
pub fn follow_from(span: &tracing::Span, trace: Option<&TraceContext>) {
    let Some(trace) = trace.filter(|t| !t.traceparent.is_empty()) else {
        return;
    };
    let mut map = HashMap::from([(TRACEPARENT.to_owned(), trace.traceparent.clone())]);
    if !trace.tracestate.is_empty() {
        map.insert(TRACESTATE.to_owned(), trace.tracestate.clone());
    }
    let carrier = MapCarrier(map);
    let parent = opentelemetry::global::get_text_map_propagator(|p| p.extract(&carrier));
    if parent.span().span_context().is_valid() {
        // Only fails when the span is disabled (filtered out); nothing to do then.
        let _ = span.set_parent(parent);
    }
}

/// The trace id (32 hex digits) carried by `trace`, if any — for log lines
/// and for finding an event's trace.
pub fn trace_id_of(trace: &TraceContext) -> Option<&str> {
    // traceparent = version "-" trace-id "-" parent-id "-" flags
    let mut parts = trace.traceparent.split('-');
    let _version = parts.next()?;
    parts.next().filter(|id| id.len() == 32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::propagation::TraceContextPropagator;
    use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn consumer_span_is_child_of_producer_span_through_envelope() {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let trace = {
                let producer = tracing::info_span!("producer");
                let _entered = producer.enter();
                current_trace_context()
            };
            assert!(trace.traceparent.starts_with("00-"), "{trace:?}");
            let consumer = tracing::info_span!("consumer");
            follow_from(&consumer, Some(&trace));
            drop(consumer);
        });
        provider.force_flush().unwrap();
        let spans = exporter.get_finished_spans().unwrap();
        let producer = spans.iter().find(|s| s.name == "producer").unwrap();
        let consumer = spans.iter().find(|s| s.name == "consumer").unwrap();
        assert_eq!(
            consumer.span_context.trace_id(),
            producer.span_context.trace_id()
        );
        assert_eq!(consumer.parent_span_id, producer.span_context.span_id());
    }

    #[test]
    fn trace_id_is_read_from_traceparent() {
        let trace = TraceContext {
            traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
            tracestate: String::new(),
        };
        assert_eq!(
            trace_id_of(&trace),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert_eq!(trace_id_of(&TraceContext::default()), None);
    }

    #[test]
    fn malformed_context_leaves_a_root_span() {
        let span = tracing::Span::none();
        follow_from(
            &span,
            Some(&TraceContext {
                traceparent: "garbage".into(),
                tracestate: String::new(),
            }),
        );
    }
}
