//! Telemetry for every keepalived-rs service:
//!
//! - logging in keepalived's console format (`-l`), to syslog unless `-G`,
//!   with more detail under `-D` ([`init`], [`LogOptions`]);
//! - OpenTelemetry trace export configured only by the standard `OTEL_*`
//!   variables (no endpoint set: nothing is exported and nothing complains);
//! - W3C trace-context propagation in gRPC metadata ([`ServerTraceLayer`],
//!   [`ClientTraceLayer`]) and in bus event envelopes
//!   ([`current_trace_context`], [`follow_from`]).
#![forbid(unsafe_code)]

mod format;
mod layers;
mod propagation;
mod syslog;

pub use format::KeepalivedFormat;
pub use layers::{ClientTraceLayer, ClientTraceService, ServerTraceLayer, ServerTraceService};
pub use propagation::{current_trace_context, follow_from, trace_id_of};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Where and how much to log; the flags mirror keepalived's.
#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    /// `-l/--log-console`: log to standard error.
    pub console: bool,
    /// `-D/--log-detail`: debug level and the source of each line.
    pub detail: bool,
    /// `-G/--no-syslog`: do not log to syslog.
    pub no_syslog: bool,
}

/// Errors while setting telemetry up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The OTLP exporter could not be built from the `OTEL_*` settings.
    #[error("OTLP trace exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    /// A global subscriber was already installed.
    #[error("a tracing subscriber is already installed: {0}")]
    AlreadyInstalled(#[from] tracing_subscriber::util::TryInitError),
}

/// Keeps the tracer provider alive; dropping it flushes and shuts the export down.
#[derive(Debug)]
pub struct TelemetryGuard {
    provider: SdkTracerProvider,
    exporting: bool,
}

impl TelemetryGuard {
    /// Flushes spans not yet exported.
    pub fn flush(&self) {
        if self.exporting {
            // A failing collector must not stop the service; the SDK already
            // reports export errors through its own internal log.
            let _ = self.provider.force_flush();
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        let _ = self.provider.shutdown();
    }
}

/// Whether the standard variables name an OTLP endpoint for traces.
pub fn otlp_endpoint_configured() -> bool {
    [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()))
        && std::env::var("OTEL_TRACES_EXPORTER").map_or(true, |v| v != "none")
}

/// Builds the tracer provider: spans always get real ids (so trace context
/// propagates through this service), and are exported only when an OTLP
/// endpoint is configured.
pub fn tracer_provider(service_name: &str) -> Result<(SdkTracerProvider, bool), TelemetryError> {
    // OTEL_SERVICE_NAME, when set, wins over the binary's name (the SDK's
    // environment detector reads it).
    let mut resource = Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name(service_name.to_owned());
    }
    let mut builder = SdkTracerProvider::builder().with_resource(resource.build());
    let exporting = otlp_endpoint_configured();
    if exporting {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .build()?;
        builder = builder.with_batch_exporter(exporter);
    }
    Ok((builder.build(), exporting))
}

/// Installs the global subscriber (console, syslog, OpenTelemetry) and the W3C
/// propagator. `service_name` becomes `service.name` and the syslog ident.
pub fn init(service_name: &str, options: &LogOptions) -> Result<TelemetryGuard, TelemetryError> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let (provider, exporting) = tracer_provider(service_name)?;
    opentelemetry::global::set_tracer_provider(provider.clone());
    let tracer = provider.tracer(service_name.to_owned());

    let default_level = if options.detail { "debug" } else { "info" };
    // Dependencies are noisy at debug; keep them at warn unless RUST_LOG says otherwise.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "warn,{default_level},h2=warn,hyper=warn,tower=warn,tonic=warn,opentelemetry=warn"
        ))
    });
    let console = options.console.then(|| {
        tracing_subscriber::fmt::layer()
            .event_format(KeepalivedFormat::new(options.detail))
            // Colour only on a terminal: a log file or journal is grepped, and escape bytes
            // would split keepalived's wording from its fields.
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_writer(std::io::stderr)
    });
    let syslog = (!options.no_syslog)
        .then(|| syslog::SyslogLayer::connect(service_name))
        .flatten();
    tracing_subscriber::registry()
        .with(filter)
        .with(console)
        .with(syslog)
        .with(tracing_opentelemetry::layer().with_tracer(tracer))
        .try_init()?;
    Ok(TelemetryGuard {
        provider,
        exporting,
    })
}
