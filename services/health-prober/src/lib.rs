//! health-prober: decides whether each real server is fit to take traffic,
//! with keepalived 2.2.7's checkers and retry semantics. Needs no privileges.
//!
//! - [`machine`]: the pure per-checker state machine (time passed in).
//! - [`targets`]: the (real server, checker) pairs of a configuration.
//! - [`words`]: keepalived's log lines and mail texts.
//! - [`checks`]: the attempts' I/O (HTTP_GET, SSL_GET, TCP_CHECK, MISC_CHECK,
//!   SMTP_CHECK, DNS_CHECK, UDP_CHECK, PING_CHECK, FILE_CHECK).
//! - [`engine`]: one scheduler driving every target; publishes transitions.
//! - [`api`]: the `keepalived.v1.Health` gRPC service.
#![forbid(unsafe_code)]

pub mod api;
pub mod checks;
pub mod engine;
pub mod machine;
pub mod outcome;
pub mod targets;
pub mod words;

use keepalived_api::v1::health_server::HealthServer;
use keepalived_bus::BusMetrics;
use keepalived_runtime::{CommonArgs, Runtime, ServiceSpec};

pub use api::HealthApi;

/// What the runtime needs to know about health-prober.
pub const SPEC: ServiceSpec = ServiceSpec {
    binary: "health-prober",
    grpc_service: keepalived_api::service_names::HEALTH,
    default_listen: "tcp://127.0.0.1:50053",
    mutating_methods: &[],
};

/// Command line of health-prober.
#[derive(Debug, clap::Parser)]
#[command(
    name = "health-prober",
    version,
    about = "keepalived-rs health checks: HTTP_GET, SSL_GET, TCP_CHECK, MISC_CHECK… with keepalived's retry semantics",
    long_about = "keepalived-rs health checks: runs the checkers of the real_server blocks of keepalived.conf \
(HTTP_GET, SSL_GET, TCP_CHECK, MISC_CHECK, SMTP_CHECK, DNS_CHECK, UDP_CHECK, PING_CHECK, FILE_CHECK) with \
keepalived 2.2.7's timing and publishes verdicts. Serves keepalived.v1.Health over gRPC \
(ListTargets/GetTarget/Watch). Several replicas may run on one config."
)]
pub struct Cli {
    /// Flags shared by every keepalived-rs service.
    #[command(flatten)]
    pub common: CommonArgs,

    /// At most this many check attempts in flight at once.
    #[arg(
        long = "max-concurrent-checks",
        value_name = "N",
        default_value_t = 2048
    )]
    pub max_concurrent_checks: usize,

    /// Distinguishes replicas on one host: the bus identity becomes
    /// `health-prober@<host>/<ID>`.
    #[arg(long = "replica-id", value_name = "ID")]
    pub replica_id: Option<String>,
}

/// The targets of the configuration named by `args` (none when the file is absent).
pub fn load_targets(args: &CommonArgs) -> anyhow::Result<Vec<targets::TargetSpec>> {
    Ok(keepalived_runtime::config::load(args)?
        .map(|config| targets::build(&config))
        .unwrap_or_default())
}

/// Runs health-prober until SIGTERM.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut runtime = Runtime::start(SPEC, cli.common).await?;
    let specs = load_targets(&runtime.args)?;
    let identity = match &cli.replica_id {
        Some(id) => format!("{}/{id}", runtime.identity()),
        None => runtime.identity(),
    };
    let bus_metrics = BusMetrics::default();
    bus_metrics.register(&mut runtime.registry);
    let metrics = engine::Metrics::default();
    metrics.register(&mut runtime.registry);
    let shared = std::sync::Arc::new(engine::Shared::default());
    let api = HealthApi::new(identity, bus_metrics, shared.clone());
    let mut engine =
        engine::Engine::new(shared, api.producer(), metrics, cli.max_concurrent_checks);
    engine.apply(specs, true);
    runtime.add_service(HealthServer::new(api));
    // Targets are scheduled: ready.
    runtime.readiness.set(true).await;
    let args = runtime.args.clone();
    let engine_task = tokio::spawn(engine.run(
        runtime.signals.shutdown.clone(),
        runtime.signals.reloads(),
        move || load_targets(&args),
    ));
    let served = runtime.serve().await;
    engine_task.abort();
    served
}
