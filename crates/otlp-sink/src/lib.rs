//! otlp-sink: the smallest useful OpenTelemetry trace receiver. It serves
//! OTLP/gRPC `TraceService/Export` (opentelemetry-proto's tonic server stub)
//! and writes every received span as one JSON line on stdout, so that a lab
//! without a registry (no collector or Jaeger image) can still show the
//! traces: `docker compose logs otlp-sink`.
//!
//! It keeps nothing: no storage, no query API, no metrics or logs signal.
#![forbid(unsafe_code)]

use std::io::Write as _;
use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
use serde_json::{Map, json};

/// Lowercase hex of `bytes` (trace and span ids).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn value_json(value: Option<&AnyValue>) -> serde_json::Value {
    match value.and_then(|v| v.value.as_ref()) {
        Some(Value::StringValue(s)) => json!(s),
        Some(Value::BoolValue(b)) => json!(b),
        Some(Value::IntValue(i)) => json!(i),
        Some(Value::DoubleValue(d)) => json!(d),
        Some(Value::ArrayValue(a)) => a.values.iter().map(|v| value_json(Some(v))).collect(),
        Some(Value::KvlistValue(kv)) => attributes_json(&kv.values),
        Some(Value::BytesValue(b)) => json!(hex(b)),
        Some(other) => json!(format!("{other:?}")),
        None => serde_json::Value::Null,
    }
}

fn attributes_json(attributes: &[KeyValue]) -> serde_json::Value {
    let mut map = Map::new();
    for kv in attributes {
        map.insert(kv.key.clone(), value_json(kv.value.as_ref()));
    }
    serde_json::Value::Object(map)
}

/// One JSON object per span of `request`: `service` (the resource's
/// `service.name`), `name`, `trace_id`, `span_id`, `parent_span_id` (empty for
/// a root span), `start_unix_nano`, `end_unix_nano` and `attributes`.
pub fn spans_as_json(request: &ExportTraceServiceRequest) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for resource_spans in &request.resource_spans {
        let service = resource_spans
            .resource
            .iter()
            .flat_map(|r| r.attributes.iter())
            .find(|kv| kv.key == "service.name")
            .map(|kv| value_json(kv.value.as_ref()))
            .unwrap_or(serde_json::Value::Null);
        for scope in &resource_spans.scope_spans {
            for span in &scope.spans {
                out.push(json!({
                    "service": service,
                    "name": span.name,
                    "trace_id": hex(&span.trace_id),
                    "span_id": hex(&span.span_id),
                    "parent_span_id": hex(&span.parent_span_id),
                    "start_unix_nano": span.start_time_unix_nano,
                    "end_unix_nano": span.end_time_unix_nano,
                    "attributes": attributes_json(&span.attributes),
                }));
            }
        }
    }
    out
}

/// The receiver: writes JSON lines to its sink (stdout in the binary).
#[derive(Clone)]
pub struct Sink {
    out: Arc<Mutex<Box<dyn std::io::Write + Send>>>,
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sink")
    }
}

impl Sink {
    /// A sink writing to `out`.
    pub fn new(out: Box<dyn std::io::Write + Send>) -> Self {
        Self {
            out: Arc::new(Mutex::new(out)),
        }
    }

    /// The tonic service to add to a server.
    pub fn service(self) -> TraceServiceServer<Self> {
        TraceServiceServer::new(self)
    }
}

#[tonic::async_trait]
impl TraceService for Sink {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let lines = spans_as_json(request.get_ref());
        let mut out = self
            .out
            .lock()
            .map_err(|_| tonic::Status::internal("output poisoned"))?;
        for line in lines {
            writeln!(out, "{line}").map_err(|e| tonic::Status::internal(e.to_string()))?;
        }
        out.flush()
            .map_err(|e| tonic::Status::internal(e.to_string()))?;
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

/// Serves OTLP/gRPC on `listen` until the process is stopped.
pub async fn serve(listen: std::net::SocketAddr, sink: Sink) -> anyhow::Result<()> {
    eprintln!("otlp-sink: receiving OTLP/gRPC traces on {listen}; spans as JSON lines on stdout");
    tonic::transport::Server::builder()
        .add_service(sink.service())
        .serve_with_shutdown(listen, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

    #[test]
    fn one_json_line_per_span_with_service_and_ids() {
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![KeyValue {
                        key: "service.name".into(),
                        value: Some(AnyValue {
                            value: Some(Value::StringValue("health-prober".into())),
                        }),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans: vec![Span {
                        name: "verdict".into(),
                        trace_id: vec![0xab; 16],
                        span_id: vec![1, 2, 3, 4, 5, 6, 7, 8],
                        attributes: vec![KeyValue {
                            key: "rs".into(),
                            value: Some(AnyValue {
                                value: Some(Value::IntValue(80)),
                            }),
                            ..Default::default()
                        }],
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let spans = spans_as_json(&request);
        assert_eq!(spans.len(), 1);
        let s = &spans[0];
        assert_eq!(s["service"], "health-prober");
        assert_eq!(s["name"], "verdict");
        assert_eq!(s["trace_id"], "ab".repeat(16));
        assert_eq!(s["span_id"], "0102030405060708");
        assert_eq!(s["parent_span_id"], "");
        assert_eq!(s["attributes"]["rs"], 80);
    }
}
