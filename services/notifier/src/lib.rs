//! notifier: every outward notification — SMTP mail, webhooks and notify
//! scripts — ordered, retried, never lost.
//!
//! It follows vrrp-core (`Vrrp.Watch`) and ipvs-manager (`Ipvs.Watch`). Each
//! delta that keepalived would notify about becomes deliveries
//! ([`rules`]): the state's notify script, the generic `notify`, keepalived
//! 2.2.7's mail ([`mail`], sent by our own [`smtp`] client) and webhooks
//! ([`webhook`]). Deliveries are journalled in a durable [`spool`] before
//! they are made, made one at a time per lane in event order ([`engine`]),
//! retried with jittered exponential backoff, deduplicated by producer
//! incarnation and seq, and shown by the `keepalived.v1.Notifier` API
//! ([`api`]).
//!
//! The notify FIFOs (`notify_fifo`, `vrrp_notify_fifo`, `lvs_notify_fifo`
//! and their scripts) get keepalived's lines ([`fifo`]) through the same
//! lanes, each FIFO its own.
//!
//! Not built: `notify_deleted` (vrrp-core publishes no deletion event),
//! https webhooks. Configuring them is warned about at start-up.
#![forbid(unsafe_code)]

pub mod api;
pub mod delivery;
pub mod engine;
pub mod fifo;
pub mod ingest;
pub mod job;
pub mod mail;
pub mod metrics;
pub mod notice;
pub mod rules;
pub mod script;
pub mod smtp;
pub mod spool;
pub mod store;
pub mod webhook;

use std::path::PathBuf;
use std::time::Duration;

use keepalived_api::v1::notifier_server::NotifierServer;
use keepalived_bus::BusMetrics;
use keepalived_runtime::{CommonArgs, Runtime, ServiceSpec};

pub use api::NotifierApi;
pub use engine::{Engine, Options};
pub use rules::Settings;

/// What the runtime needs to know about notifier.
pub const SPEC: ServiceSpec = ServiceSpec {
    binary: "notifier",
    grpc_service: keepalived_api::service_names::NOTIFIER,
    default_listen: "tcp://127.0.0.1:50054",
    mutating_methods: &[],
};

/// Command line of notifier.
#[derive(Debug, clap::Parser)]
#[command(
    name = "notifier",
    version,
    about = "keepalived-rs notifications: SMTP mail, webhooks and notify scripts for every transition",
    long_about = "keepalived-rs notifications: follows vrrp-core and ipvs-manager and delivers keepalived's \
mails, notify scripts and webhooks, in order and at least once. Serves keepalived.v1.Notifier over gRPC \
(ListDeliveries/GetDelivery/Watch)."
)]
pub struct Cli {
    /// Flags shared by every keepalived-rs service.
    #[command(flatten)]
    pub common: CommonArgs,
    /// vrrp-core's address.
    #[arg(long, value_name = "ADDR", default_value = "tcp://127.0.0.1:50051")]
    pub vrrp: String,
    /// ipvs-manager's address.
    #[arg(long, value_name = "ADDR", default_value = "tcp://127.0.0.1:50052")]
    pub ipvs: String,
    /// Where deliveries are journalled (survives restarts).
    #[arg(
        long,
        value_name = "DIR",
        default_value = "/var/lib/keepalived-rs/notifier"
    )]
    pub spool_dir: PathBuf,
    /// Most deliveries kept; the oldest finished ones are pruned first
    /// (unfinished ones never are).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub spool_max: usize,
    /// Attempts before a mail or webhook is given up (0: never give up).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub max_attempts: u32,
    /// Attempts to run a notify script that cannot be started or times out
    /// (0: never give up). A script that ran is delivered whatever its exit
    /// status, as keepalived ignores it.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub script_attempts: u32,
    /// Seconds before a notify script is killed.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub script_timeout: u64,
    /// Seconds before a webhook call is abandoned (and retried).
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub webhook_timeout: u64,
    /// First retry delay, milliseconds (doubles per failure, jittered).
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub retry_initial_ms: u64,
    /// Longest retry delay, milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 60_000)]
    pub retry_max_ms: u64,
    /// A webhook: `URL[,events=vrrp,sync_group,realserver,quorum][,secret-file=PATH]`
    /// (repeatable), in addition to the `keepalived_rs { webhook NAME { … } }`
    /// blocks of the configuration.
    #[arg(long, value_name = "SPEC")]
    pub webhook: Vec<webhook::WebhookSpec>,
}

fn nonzero(n: u32) -> Option<u32> {
    (n > 0).then_some(n)
}

impl Cli {
    /// The engine options the flags describe.
    pub fn options(&self) -> Options {
        Options {
            spool_dir: self.spool_dir.clone(),
            spool_max: self.spool_max,
            max_attempts: nonzero(self.max_attempts),
            script_attempts: nonzero(self.script_attempts),
            script_timeout: Duration::from_secs(self.script_timeout),
            webhook_timeout: Duration::from_secs(self.webhook_timeout),
            retry_initial: Duration::from_millis(self.retry_initial_ms.max(1)),
            retry_max: Duration::from_millis(self.retry_max_ms.max(self.retry_initial_ms)),
        }
    }
}

/// Settings from the configuration file (if any) and the webhook flags.
fn settings(runtime: &Runtime, webhooks: &[webhook::WebhookSpec]) -> anyhow::Result<Settings> {
    let config = keepalived_runtime::config::load(&runtime.args)?;
    let mut settings = match &config {
        Some(config) => {
            warn_unbuilt(config);
            Settings::from_config(config)
        }
        None => Settings {
            router_id: keepalived_runtime::hostname(),
            rs_default_alert: true,
            ..Settings::default()
        },
    };
    // Webhooks from `keepalived_rs { webhook … }` first, then the flags'.
    settings.webhooks = Vec::new();
    for webhook in config.iter().flat_map(|c| &c.keepalived_rs.webhooks) {
        match webhook::WebhookSpec::from_config(webhook) {
            Ok(spec) => settings.webhooks.push(spec),
            Err(error) => tracing::warn!("webhook {}: {error}; not used", webhook.name),
        }
    }
    settings.webhooks.extend_from_slice(webhooks);
    Ok(settings)
}

/// Says what the configuration asks for that this notifier does not do.
fn warn_unbuilt(config: &keepalived_config::Config) {
    for vi in &config.vrrp_instances {
        if vi.notify_deleted.is_some() {
            tracing::warn!(
                instance = %vi.name,
                "notify_deleted is not run by keepalived-rs yet: vrrp-core publishes no instance-deleted event"
            );
        }
    }
}

/// Runs notifier until SIGTERM.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut runtime = Runtime::start(SPEC, cli.common.clone()).await?;
    let settings = settings(&runtime, &cli.webhook)?;
    let metrics = BusMetrics::default();
    metrics.register(&mut runtime.registry);
    let engine = Engine::start(settings, cli.options(), runtime.identity(), metrics)?;
    runtime
        .registry
        .register_collector(Box::new(crate::metrics::DeliveryMetrics(engine.store())));
    runtime.add_service(NotifierServer::new(NotifierApi::new(
        engine.store(),
        engine.producer(),
    )));
    tokio::spawn(ingest::follow(
        engine.clone(),
        cli.vrrp.clone(),
        cli.ipvs.clone(),
        runtime.identity(),
    ));
    // SIGHUP: new settings for events from now on.
    let webhooks = cli.webhook.clone();
    let reload_engine = engine.clone();
    keepalived_runtime::config::spawn_reloader(
        runtime.args.clone(),
        runtime.signals.reloads(),
        move |config| {
            warn_unbuilt(&config);
            let mut settings = Settings::from_config(&config);
            settings.webhooks = webhooks.clone();
            reload_engine.set_settings(settings);
            true
        },
    );
    runtime.readiness.set(true).await;
    let served = runtime.serve().await;
    engine.close_fifos().await;
    served
}
