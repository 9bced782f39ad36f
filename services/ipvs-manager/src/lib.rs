//! ipvs-manager: the only process that changes the kernel's load-balancer
//! tables (IPVS over generic netlink, nftables where the kernel has no IPVS).
//!
//! Pure parts: [`spec`] (configuration → services), [`health`] (verdicts of
//! every prober and the policy combining them), [`desired`] (keepalived's
//! quorum, sorry server, inhibit and alpha rules), [`reconcile`] (the diff),
//! [`maglev`] (the consistent-hash slot table). I/O: [`backend`] (the data
//! planes), [`engine`] (the single writer), [`api`] (gRPC).
#![forbid(unsafe_code)]

pub mod api;
pub mod backend;
pub mod desired;
pub mod engine;
pub mod health;
pub mod maglev;
pub mod metrics;
pub mod reconcile;
pub mod sched;
pub mod spec;
pub mod table;
pub mod view;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context as _;
use keepalived_api::v1;
use keepalived_api::v1::ipvs_server::IpvsServer;
use keepalived_bus::addr::Address;
use keepalived_bus::{Backoff, BusMetrics, Subscriber, Upstreams};
use keepalived_runtime::{CommonArgs, Runtime, ServiceSpec};

use crate::backend::Backend;
use crate::engine::{Engine, EngineMetrics, Input, Settings};
use crate::health::Policy;
use crate::view::View;

/// What the runtime needs to know about ipvs-manager.
pub const SPEC: ServiceSpec = ServiceSpec {
    binary: "ipvs-manager",
    grpc_service: keepalived_api::service_names::IPVS,
    default_listen: "tcp://127.0.0.1:50052",
    mutating_methods: &[
        "/keepalived.v1.Ipvs/SetRealServerWeight",
        "/keepalived.v1.Ipvs/DrainRealServer",
    ],
};

/// Which data plane to program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendChoice {
    /// IPVS when the kernel has it, else nftables.
    Auto,
    /// IPVS over generic netlink.
    Ipvs,
    /// nftables.
    Nft,
}

/// Command line of ipvs-manager.
#[derive(Debug, clap::Parser)]
#[command(
    name = "ipvs-manager",
    version,
    about = "keepalived-rs load-balancer tables: programs IPVS (or nftables) from keepalived.conf and health verdicts",
    long_about = "keepalived-rs load-balancer tables: turns the virtual_server blocks of keepalived.conf and \
the health-prober verdicts into kernel state (IPVS over generic netlink, nftables where the kernel has no \
IPVS). Serves keepalived.v1.Ipvs over gRPC (List/Get/Watch; SetRealServerWeight and DrainRealServer for \
root over the unix socket or an mTLS client)."
)]
pub struct Cli {
    /// Flags shared by every keepalived-rs service.
    #[command(flatten)]
    pub common: CommonArgs,

    /// Data plane: `auto` picks IPVS when the kernel has it, else nftables.
    #[arg(long, value_enum, default_value = "auto")]
    pub backend: BackendChoice,

    /// A health-prober replica to follow (`tcp://HOST:PORT` or `unix:PATH`).
    /// Repeat for several. Default: the config's `keepalived_rs {
    /// health_prober … }` or `health_prober_dns`, else tcp://127.0.0.1:50053.
    #[arg(long = "health-prober", value_name = "ADDR")]
    pub health_prober: Vec<Address>,

    /// Follow every A/AAAA record of `HOST:PORT` as a health-prober replica
    /// (instead of `--health-prober`).
    #[arg(
        long = "health-prober-dns",
        value_name = "HOST:PORT",
        conflicts_with = "health_prober"
    )]
    pub health_prober_dns: Option<String>,

    /// How the verdicts of several probers combine: `majority` (down when
    /// more than half of the probers with a verdict say down), `any-down`,
    /// `all-down`. Default: the config's `keepalived_rs { verdict_policy }`,
    /// else majority.
    #[arg(long = "verdict-policy", value_enum)]
    pub verdict_policy: Option<Policy>,

    /// Seconds between re-reads of the kernel table (repairs changes made by hand).
    #[arg(long = "resync-interval", value_name = "SECONDS", default_value = "5")]
    pub resync_interval: f64,

    /// nft backend: the interface DR services are received on and forwarded
    /// out of (the director's interface towards clients and real servers).
    #[arg(long = "nft-interface", value_name = "IFACE", default_value = "eth0")]
    pub nft_interface: String,

    /// nft backend: the nft program.
    #[arg(long = "nft-binary", value_name = "PATH", default_value = "nft")]
    pub nft_binary: String,
}

/// Opens the data plane asked for.
pub fn open_backend(cli: &Cli) -> anyhow::Result<Box<dyn Backend>> {
    let nft = || -> Box<dyn Backend> {
        Box::new(backend::nft::NftBackend::new(
            cli.nft_binary.clone(),
            cli.nft_interface.clone(),
        ))
    };
    match cli.backend {
        BackendChoice::Nft => Ok(nft()),
        BackendChoice::Ipvs => Ok(Box::new(
            backend::ipvs::IpvsBackend::open().context("--backend ipvs")?,
        )),
        BackendChoice::Auto => match backend::ipvs::IpvsBackend::open() {
            Ok(b) => {
                tracing::info!("backend auto: the kernel has IPVS; using it");
                Ok(Box::new(b))
            }
            Err(e) => {
                tracing::info!("backend auto: {e}; using nftables");
                Ok(nft())
            }
        },
    }
}

/// The verdict policy: the flag, else `keepalived_rs { verdict_policy }`.
fn verdict_policy(cli: &Cli, config: Option<&keepalived_config::Config>) -> Policy {
    use keepalived_config::VerdictPolicy as V;
    cli.verdict_policy.unwrap_or_else(|| {
        match config
            .map(|c| c.keepalived_rs.verdict_policy)
            .unwrap_or_default()
        {
            V::Majority => Policy::Majority,
            V::AnyDown => Policy::AnyDown,
            V::AllDown => Policy::AllDown,
        }
    })
}

/// The prober replicas to follow: the flags, else the config's
/// `keepalived_rs { health_prober … | health_prober_dns … }`
/// (`keepalived_runtime::replicas`, as the probers read it), else the
/// local prober's default address.
fn health_upstreams(cli: &Cli, config: Option<&keepalived_config::Config>) -> Upstreams {
    let list: Vec<String> = cli.health_prober.iter().map(|a| a.to_string()).collect();
    keepalived_runtime::replicas::prober_replicas(&list, cli.health_prober_dns.as_deref(), config)
        .unwrap_or_else(|| Upstreams::Static(vec!["tcp://127.0.0.1:50053".into()]))
}

/// Runs ipvs-manager until SIGTERM.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut runtime = Runtime::start(SPEC, cli.common.clone()).await?;
    let config = keepalived_runtime::config::load(&runtime.args)?;
    let router_id = config
        .as_ref()
        .map(|c| c.global_defs.router_id.clone())
        .unwrap_or_default();
    let view = Arc::new(RwLock::new(View {
        router_id,
        ..View::default()
    }));
    let bus_metrics = BusMetrics::default();
    bus_metrics.register(&mut runtime.registry);
    let engine_metrics = EngineMetrics::default();
    engine_metrics.register(&mut runtime.registry);
    runtime
        .registry
        .register_collector(Box::new(crate::metrics::RealServerMetrics(view.clone())));
    let producer = api::producer(runtime.identity(), view.clone(), bus_metrics);

    let backend = open_backend(&cli)?;
    let settings = Settings {
        policy: verdict_policy(&cli, config.as_ref()),
        resync: Duration::from_secs_f64(cli.resync_interval.max(0.1)),
    };
    let upstreams = health_upstreams(&cli, config.as_ref());
    // Adoption: read the kernel and reconcile by difference before serving.
    let engine = {
        let view = view.clone();
        let producer = producer.clone();
        tokio::task::spawn_blocking(move || {
            Engine::start(
                backend,
                config.as_ref(),
                settings,
                view,
                producer,
                engine_metrics,
            )
        })
        .await
        .context("engine start")?
        .context("cannot read the kernel table")?
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let engine_thread = std::thread::Builder::new()
        .name("ipvs-engine".into())
        .spawn(move || engine.run(rx))
        .context("cannot start the engine thread")?;

    // Health input from every prober replica.
    let mut subscriber = Subscriber::start(
        upstreams,
        keepalived_bus::watch_connector::<v1::HealthEvent>(runtime.identity()),
        Backoff::default(),
    );
    let health_tx = tx.clone();
    tokio::spawn(async move {
        while let Some(update) = subscriber.updates.recv().await {
            if health_tx.send(Input::Health(Box::new(update))).is_err() {
                return;
            }
        }
    });

    // SIGHUP: reload and apply only the difference.
    let reload_tx = tx.clone();
    keepalived_runtime::config::spawn_reloader(
        runtime.args.clone(),
        runtime.signals.reloads(),
        move |config| reload_tx.send(Input::Reload(Box::new(config))).is_ok(),
    );

    // SIGTERM: the engine stops while the server is in its grace period, so
    // the events of a flush at stop still reach the watchers.
    let api_tx = tx.clone();
    let shutdown = runtime.signals.shutdown.clone();
    let stopper = tokio::spawn(async move {
        shutdown.cancelled().await;
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        if tx.send(Input::Shutdown(done_tx)).is_ok() {
            let _ = done_rx.await;
        }
    });
    runtime.add_service(IpvsServer::new(api::IpvsApi::new(view, producer, api_tx)));
    runtime.readiness.set(true).await;
    let served = runtime.serve().await;
    let _ = stopper.await;
    let _ = tokio::task::spawn_blocking(move || engine_thread.join()).await;
    served
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    fn config(text: &str) -> keepalived_config::Config {
        keepalived_config::load_str(
            text,
            std::path::Path::new("/tmp/k.conf"),
            &Default::default(),
        )
        .unwrap()
        .config
    }

    fn cli(args: &[&str]) -> Cli {
        Cli::parse_from(std::iter::once("ipvs-manager").chain(args.iter().copied()))
    }

    #[test]
    fn prober_replicas_and_policy_come_from_flags_then_the_keepalived_rs_block() {
        let ours = config(
            "keepalived_rs {\n    verdict_policy any_down\n    health_prober tcp://198.51.100.31:50053\n    health_prober tcp://198.51.100.32:50053\n}\n",
        );
        let none = cli(&[]);
        assert_eq!(verdict_policy(&none, Some(&ours)), Policy::AnyDown);
        assert_eq!(verdict_policy(&none, None), Policy::Majority);
        assert_eq!(
            verdict_policy(&cli(&["--verdict-policy", "all-down"]), Some(&ours)),
            Policy::AllDown
        );
        match health_upstreams(&none, Some(&ours)) {
            Upstreams::Static(list) => assert_eq!(
                list,
                ["tcp://198.51.100.31:50053", "tcp://198.51.100.32:50053"]
            ),
            other => panic!("{other:?}"),
        }
        match health_upstreams(&cli(&["--health-prober-dns", "probers:50053"]), Some(&ours)) {
            Upstreams::Dns { name, .. } => assert_eq!(name, "probers:50053"),
            other => panic!("{other:?}"),
        }
        match health_upstreams(&none, None) {
            Upstreams::Static(list) => assert_eq!(list, ["tcp://127.0.0.1:50053"]),
            other => panic!("{other:?}"),
        }
        let dns = config("keepalived_rs {\n    health_prober_dns probers:50053\n}\n");
        assert!(matches!(
            health_upstreams(&none, Some(&dns)),
            Upstreams::Dns { .. }
        ));
    }
}
