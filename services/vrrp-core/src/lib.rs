//! vrrp-core: VRRP v2/v3 election (RFC 3768/5798), virtual IPs through rtnetlink and
//! gratuitous ARP — the only process that changes addresses.
//!
//! The protocol logic is the pure `keepalived-vrrp` crate; this crate is the shell
//! around it:
//!
//! - [`spec`]: keepalived.conf → what the engine runs (pure);
//! - [`socket`]: the raw protocol-112 sockets of an interface (IPv4 and IPv6);
//! - [`sys`]: the `AF_PACKET` socket for gratuitous ARP / unsolicited NA and the IPv6
//!   `recvmsg`/`sendmsg` with ancillary data (the only `unsafe`);
//! - [`netlink`]: interfaces, VIPs, link state over rtnetlink;
//! - [`trackers`]: `vrrp_script`, `track_file`, `track_interface`, priority arithmetic;
//! - [`track_process`]: `vrrp_track_process`, read from `/proc`;
//! - [`vmac`]: `use_vmac`, the instance's virtual MAC interface (a private macvlan) and
//!   the sysctls keepalived sets for it;
//! - [`instance`]: one task per instance, driving the state machine;
//! - [`engine`]: sockets and dispatch, sync groups, reload, graceful stop;
//! - [`api`], [`view`]: the `keepalived.v1.Vrrp` service and its messages.
//!
//! VRRPv3 runs over IPv4 and IPv6 (RFC 5798 §5.1): an instance's family is that of its
//! first VIP (else of `unicast_src_ip` / its first `unicast_peer`); IPv6 adverts go from
//! the interface's link-local address to ff02::12 (`vrrp_mcast_group6`) or the unicast
//! peers, IPv6 VIPs are added with `nodad` and announced with unsolicited neighbour
//! advertisements.
//!
//! Not implemented: `auth_type AH` — such an instance is held in FAULT
//! (never master, sends no adverts) with the reason in the log and on the bus, and every
//! other instance runs. A sync group's `track_*` entries are tracked by each member, as
//! keepalived does. keepalived's post-parse adjustments (strict mode, the address
//! owner, sync-group weights, own `track_interface`…) are made by the config loader
//! (`Config::complete_vrrp`), so `-t` shows them.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod api;
pub mod clock;
pub mod engine;
pub mod instance;
pub mod metrics;
pub mod netlink;
pub mod ports;
pub mod routes;
pub mod rules;
pub mod socket;
pub mod spec;
pub mod statics;
pub mod sys;
pub mod track_process;
pub mod trackers;
pub mod view;
pub mod vmac;

use std::sync::{Arc, RwLock};

use keepalived_api::v1::vrrp_server::VrrpServer;
use keepalived_bus::BusMetrics;
use keepalived_runtime::{CommonArgs, Runtime, ServiceSpec};

/// What the runtime needs to know about vrrp-core.
pub const SPEC: ServiceSpec = ServiceSpec {
    binary: "vrrp-core",
    grpc_service: keepalived_api::service_names::VRRP,
    default_listen: "tcp://127.0.0.1:50051",
    mutating_methods: &["/keepalived.v1.Vrrp/SetMaintenance"],
};

/// Command line of vrrp-core.
#[derive(Debug, clap::Parser)]
#[command(
    name = "vrrp-core",
    version,
    about = "keepalived-rs VRRP service: elects the master, holds the virtual IPs, sends gratuitous ARPs",
    long_about = "keepalived-rs VRRP service: elects the master (VRRP v2/v3), holds the virtual IPs and \
sends gratuitous ARPs, reading the vrrp_* blocks of keepalived.conf. Serves keepalived.v1.Vrrp over gRPC \
(List/Get/Watch; SetMaintenance for root over the unix socket or an mTLS client)."
)]
pub struct Cli {
    /// Flags shared by every keepalived-rs service.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Loads keepalived.conf into the engine's configuration (an absent file is an empty
/// configuration, as the runtime decides).
pub fn load_spec(args: &CommonArgs) -> anyhow::Result<spec::EngineSpec> {
    let Some(config) = keepalived_runtime::config::load(args)? else {
        return Ok(spec::EngineSpec::default());
    };
    let mut warnings = Vec::new();
    let spec = spec::EngineSpec::from_config(&config, &mut warnings);
    for w in warnings {
        tracing::warn!("{w}");
    }
    Ok(spec)
}

/// Runs vrrp-core until SIGTERM, then stops every instance gracefully.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut runtime = Runtime::start(SPEC, cli.common).await?;
    let spec = load_spec(&runtime.args)?;
    let metrics = BusMetrics::default();
    metrics.register(&mut runtime.registry);
    let registry = Arc::new(RwLock::new(engine::Registry::default()));
    runtime
        .registry
        .register_collector(Box::new(crate::metrics::InstanceMetrics(registry.clone())));
    let producer = api::producer(runtime.identity(), metrics, registry.clone());
    runtime.add_service(VrrpServer::new(api::VrrpApi::new(
        registry.clone(),
        producer.clone(),
    )));
    let engine = engine::Engine::start(spec, producer, registry).await?;
    // Sockets are open and every instance started.
    runtime.readiness.set(true).await;
    let args = runtime.args.clone();
    let shutdown = runtime.signals.shutdown.clone();
    let engine = tokio::spawn(
        engine.run(shutdown.clone(), runtime.signals.reloads(), move || {
            load_spec(&args)
        }),
    );
    let served = runtime.serve().await;
    // serve() returns on SIGTERM; make sure the engine stops even if serving failed.
    shutdown.cancel();
    let _ = engine.await;
    served
}
