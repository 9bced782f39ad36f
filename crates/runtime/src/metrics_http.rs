//! Prometheus text exposition over HTTP/1 (`--metrics-listen`, path `/metrics`).
//!
//! A scraper that asks for OpenMetrics (`Accept: application/openmetrics-text`, as
//! Prometheus does) gets it; anyone else (curl, `promtool check metrics`) gets the
//! classic text format 0.0.4, where a counter's family is named with its `_total`.

use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

fn respond(
    registry: &Registry,
    request: &http::Request<hyper::body::Incoming>,
) -> http::Response<Full<Bytes>> {
    if request.uri().path() != "/metrics" {
        return http::Response::builder()
            .status(http::StatusCode::NOT_FOUND)
            .body(Full::new(Bytes::from_static(
                b"only /metrics is served here\n",
            )))
            .unwrap_or_default();
    }
    let openmetrics = request
        .headers()
        .get_all(http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/openmetrics-text"));
    let mut text = String::new();
    if let Err(error) = prometheus_client::encoding::text::encode(&mut text, registry) {
        return http::Response::builder()
            .status(http::StatusCode::INTERNAL_SERVER_ERROR)
            .body(Full::new(Bytes::from(format!(
                "encoding metrics: {error}\n"
            ))))
            .unwrap_or_default();
    }
    let (content_type, text) = if openmetrics {
        (
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            text,
        )
    } else {
        (
            "text/plain; version=0.0.4; charset=utf-8",
            to_text_format(&text),
        )
    };
    http::Response::builder()
        .header(http::header::CONTENT_TYPE, content_type)
        .body(Full::new(Bytes::from(text)))
        .unwrap_or_default()
}

/// OpenMetrics text as the classic Prometheus text format 0.0.4: counter families take
/// their samples' `_total` name, `info` families become gauges, and the `# UNIT` and
/// `# EOF` lines (unknown to 0.0.4) go.
fn to_text_format(openmetrics: &str) -> String {
    let mut counters = std::collections::HashSet::new();
    for line in openmetrics.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ")
            && let Some(name) = rest.strip_suffix(" counter")
        {
            counters.insert(name.to_owned());
        }
    }
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let meta = ["# HELP ", "# TYPE "]
            .into_iter()
            .find_map(|p| line.strip_prefix(p).map(|rest| (p, rest)));
        match meta {
            Some((prefix, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                let name = if counters.contains(name) {
                    format!("{name}_total")
                } else {
                    name.to_owned()
                };
                let tail = if prefix == "# TYPE " && tail == "info" {
                    "gauge"
                } else {
                    tail
                };
                out.push_str(prefix);
                out.push_str(&name);
                out.push(' ');
                out.push_str(tail);
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// Serves `registry` on `listener` until `shutdown`.
pub(crate) async fn serve(
    listener: TcpListener,
    registry: Arc<Registry>,
    shutdown: CancellationToken,
) {
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    tracing::warn!(%error, "metrics listener accept failed");
                    continue;
                }
            },
            () = shutdown.cancelled() => return,
        };
        let registry = registry.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let response = respond(&registry, &request);
                async move { Ok::<_, std::convert::Infallible>(response) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Binds the metrics listener (so bind errors surface at start-up).
pub(crate) async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

#[cfg(test)]
mod tests {
    use super::to_text_format;

    #[test]
    fn counters_are_named_with_total_and_openmetrics_only_lines_go() {
        let om = "# HELP keepalived_x_adverts Adverts sent.\n\
# TYPE keepalived_x_adverts counter\n\
keepalived_x_adverts_total{instance=\"VI_1\"} 3\n\
# HELP keepalived_x_up Up.\n\
# TYPE keepalived_x_up gauge\n\
# UNIT keepalived_x_up seconds\n\
keepalived_x_up 1\n\
# EOF\n";
        assert_eq!(
            to_text_format(om),
            "# HELP keepalived_x_adverts_total Adverts sent.\n\
# TYPE keepalived_x_adverts_total counter\n\
keepalived_x_adverts_total{instance=\"VI_1\"} 3\n\
# HELP keepalived_x_up Up.\n\
# TYPE keepalived_x_up gauge\n\
keepalived_x_up 1\n"
        );
    }
}
