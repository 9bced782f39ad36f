//! health-prober: decides whether each real server is fit to take traffic,
//! with keepalived 2.2.7's checkers and retry semantics. Needs no privileges.
//!
//! - [`machine`]: the pure per-checker state machine (time passed in).
//! - [`spec`]: the (real server, checker) pairs of a configuration.
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
pub mod peers;
pub mod spec;
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

    /// Threads that run the checks (1: one event loop, as keepalived's
    /// checker; more spread the attempts' work over as many cores).
    #[arg(long = "checker-threads", value_name = "N", default_value_t = 1)]
    pub checker_threads: usize,

    /// Distinguishes replicas on one host: the bus identity becomes
    /// `health-prober@<host>/<ID>`.
    #[arg(long = "replica-id", value_name = "ID")]
    pub replica_id: Option<String>,

    /// A replica of the health-prober set this one divides the checks with
    /// (`tcp://HOST:PORT` or `unix:PATH`; list every replica, this one
    /// included, as ipvs-manager's `--health-prober` does). Repeat for
    /// several. Default: the config's `keepalived_rs { health_prober … }`
    /// or `health_prober_dns`; with neither, this replica checks every target.
    #[arg(long = "health-prober", value_name = "ADDR")]
    pub health_prober: Vec<keepalived_bus::addr::Address>,

    /// Every A/AAAA record of `HOST:PORT` is a replica of the set (instead
    /// of `--health-prober`).
    #[arg(
        long = "health-prober-dns",
        value_name = "HOST:PORT",
        conflicts_with = "health_prober"
    )]
    pub health_prober_dns: Option<String>,
}

/// The targets of `config`, with SSL_GET's TLS context built from its `SSL`
/// block into `ssl` when a checker needs it (keepalived builds it only when
/// an SSL_GET exists: check_data->ssl_required, check_daemon.c). An error is
/// fatal, as in keepalived; [`checks::tls::init_ssl_ctx`] has logged why.
pub fn prepare(
    config: &keepalived_config::Config,
    ssl: &checks::tls::SslClient,
) -> Result<Vec<spec::TargetSpec>, checks::tls::SslInitError> {
    let specs = spec::build(config);
    let ssl_required = specs
        .iter()
        .any(|s| matches!(s.checker.kind, keepalived_config::CheckerKind::SslGet(_)));
    ssl.replace(if ssl_required {
        checks::tls::init_ssl_ctx(config.ssl.as_ref())?
    } else {
        checks::tls::autogen()
    });
    Ok(specs)
}

/// The targets of the configuration named by `args` (none when the file is
/// absent); see [`prepare`].
pub fn load_targets(
    args: &CommonArgs,
    ssl: &checks::tls::SslClient,
) -> anyhow::Result<Vec<spec::TargetSpec>> {
    match keepalived_runtime::config::load(args)? {
        Some(config) => Ok(prepare(&config, ssl)?),
        None => Ok(Vec::new()),
    }
}

/// Runs health-prober until SIGTERM.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut runtime = Runtime::start(SPEC, cli.common).await?;
    let ssl = std::sync::Arc::new(checks::tls::SslClient::default());
    let config = keepalived_runtime::config::load(&runtime.args)?;
    let specs = match &config {
        Some(config) => prepare(config, &ssl)?,
        None => Vec::new(),
    };
    // The replica set, read as ipvs-manager reads it; k from the config.
    let list: Vec<String> = cli.health_prober.iter().map(|a| a.to_string()).collect();
    let set = keepalived_runtime::replicas::prober_replicas(
        &list,
        cli.health_prober_dns.as_deref(),
        config.as_ref(),
    );
    let owners = config
        .as_ref()
        .map(|c| c.keepalived_rs.health_prober_owners)
        .unwrap_or_default();
    let identity = match &cli.replica_id {
        Some(id) => format!("{}/{id}", runtime.identity()),
        None => runtime.identity(),
    };
    let bus_metrics = BusMetrics::default();
    bus_metrics.register(&mut runtime.registry);
    let metrics = engine::Metrics::default();
    metrics.register(&mut runtime.registry);
    let share_metrics = engine::ShareMetrics::default();
    if set.is_some() {
        share_metrics.register(&mut runtime.registry);
    }
    let shared = std::sync::Arc::new(engine::TargetViews::default());
    let api = HealthApi::new(identity.clone(), bus_metrics, shared.clone());
    runtime.add_service(HealthServer::new(api.clone()));
    // Every check runs on a runtime of its own: by default one thread (a
    // current-thread runtime, as keepalived's checker is one event loop), so
    // attempts, their sockets and timers never wake another thread; the gRPC
    // side keeps the process's other threads.
    let (scheduled_tx, scheduled_rx) = tokio::sync::oneshot::channel();
    let shutdown = runtime.signals.shutdown.clone();
    let reloads = runtime.signals.reloads();
    let args = runtime.args.clone();
    let max_concurrent = cli.max_concurrent_checks;
    let threads = cli.checker_threads.max(1);
    let checker = std::thread::Builder::new().name("checker".into()).spawn(
        move || -> anyhow::Result<()> {
            let events = if threads == 1 {
                tokio::runtime::Builder::new_current_thread()
            } else {
                let mut builder = tokio::runtime::Builder::new_multi_thread();
                builder.worker_threads(threads).thread_name("checker");
                builder
            }
            .enable_all()
            .build()?;
            events.block_on(async move {
                let mut engine =
                    engine::Engine::new(shared, api.producer(), metrics, max_concurrent)
                        .with_ssl_client(ssl.clone());
                if let Some(set) = set {
                    tracing::info!(
                        "dividing the checks with the health-prober replica set, {} owner(s) per target",
                        owners.as_string()
                    );
                    engine = engine.with_share(engine::Share::start(
                        identity,
                        set,
                        owners,
                        share_metrics,
                    ));
                }
                engine.apply(specs, true);
                let _ = scheduled_tx.send(());
                let ended = engine
                    .run(shutdown.clone(), reloads, move || {
                        let config = keepalived_runtime::config::load(&args)?;
                        if config
                            .as_ref()
                            .map(|c| c.keepalived_rs.health_prober_owners)
                            .unwrap_or_default()
                            != owners
                        {
                            tracing::warn!(
                                "health_prober_owners changed: not applied by a reload, restart the replicas (all with the same value, as ipvs-manager)"
                            );
                        }
                        match config {
                            Some(config) => Ok(prepare(&config, &ssl)?),
                            None => Ok(Vec::new()),
                        }
                    })
                    .await;
                // A fatal reload (the SSL context) stops the whole service.
                shutdown.cancel();
                ended
            })
        },
    )?;
    if scheduled_rx.await.is_err() {
        // The thread ended before scheduling anything: say why.
        return match checker.join() {
            Ok(Err(error)) => Err(error.context("cannot start the checker thread")),
            _ => anyhow::bail!("the checker thread ended before scheduling the targets"),
        };
    }
    // Targets are scheduled: ready.
    runtime.readiness.set(true).await;
    let shutdown = runtime.signals.shutdown.clone();
    let served = runtime.serve().await;
    // However serving ended, the checker stops too.
    shutdown.cancel();
    match tokio::task::spawn_blocking(move || checker.join()).await {
        Ok(Ok(result)) => result?,
        _ => anyhow::bail!("the checker thread panicked"),
    }
    served
}
