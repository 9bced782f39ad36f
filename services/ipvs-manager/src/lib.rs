//! ipvs-manager: the only process that changes the kernel's load-balancer
//! tables (IPVS over generic netlink, nftables where the kernel has no IPVS).
//!
//! This crate serves the `keepalived.v1.Ipvs` API over the shared runtime.
//! Programming the tables is not built yet (issue #6): the service serves the
//! virtual servers it has applied, which today are none, and says so at
//! start-up when the configuration has some.
#![forbid(unsafe_code)]

pub mod backend;
pub mod desired;
pub mod health;
pub mod maglev;
pub mod plan;
pub mod reconcile;
pub mod sched;
pub mod table;

use std::pin::Pin;
use std::sync::{Arc, RwLock};

use futures::Stream;
use keepalived_api::v1::ipvs_server::{Ipvs, IpvsServer};
use keepalived_api::v1::{self, ipvs_event::Payload};
use keepalived_bus::{BusMetrics, DEFAULT_CAPACITY, Producer};
use keepalived_runtime::{CommonArgs, Runtime, ServiceSpec};
use tonic::{Request, Response, Status};

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
}

#[derive(Debug, Default)]
struct State {
    router_id: String,
    virtual_servers: Vec<v1::VirtualServer>,
}

/// The `keepalived.v1.Ipvs` service.
#[derive(Clone)]
pub struct IpvsApi {
    state: Arc<RwLock<State>>,
    producer: Producer<v1::IpvsEvent>,
}

impl IpvsApi {
    /// An API over no virtual servers, publishing as `identity`.
    pub fn new(identity: String, router_id: String, metrics: BusMetrics) -> Self {
        let state = Arc::new(RwLock::new(State {
            router_id,
            virtual_servers: Vec::new(),
        }));
        let snapshot_state = state.clone();
        let producer = Producer::new(identity, DEFAULT_CAPACITY, metrics, move || {
            let state = snapshot_state.read().unwrap_or_else(|e| e.into_inner());
            v1::IpvsEvent {
                header: None,
                payload: Some(Payload::Snapshot(v1::IpvsSnapshot {
                    router_id: state.router_id.clone(),
                    backend: v1::Backend::Unspecified as i32,
                    virtual_servers: state.virtual_servers.clone(),
                })),
            }
        });
        Self { state, producer }
    }

    /// The real server named by `key`, or NOT_FOUND.
    fn find_real_server(&self, key: Option<&v1::RealServerKey>) -> Result<v1::RealServer, Status> {
        let key = key.ok_or_else(|| Status::invalid_argument("key is required"))?;
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        state
            .virtual_servers
            .iter()
            .filter(|vs| vs.key.as_ref() == key.virtual_server.as_ref())
            .flat_map(|vs| vs.real_servers.iter())
            .find(|rs| rs.address.as_ref() == key.real_server.as_ref())
            .cloned()
            .ok_or_else(|| Status::not_found("no such real server in the applied tables"))
    }
}

#[tonic::async_trait]
impl Ipvs for IpvsApi {
    async fn list_virtual_servers(
        &self,
        _request: Request<v1::ListVirtualServersRequest>,
    ) -> Result<Response<v1::ListVirtualServersResponse>, Status> {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        Ok(Response::new(v1::ListVirtualServersResponse {
            virtual_servers: state.virtual_servers.clone(),
            backend: v1::Backend::Unspecified as i32,
        }))
    }

    async fn get_virtual_server(
        &self,
        request: Request<v1::GetVirtualServerRequest>,
    ) -> Result<Response<v1::VirtualServer>, Status> {
        let key = request.get_ref().key.as_ref();
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        state
            .virtual_servers
            .iter()
            .find(|vs| vs.key.as_ref() == key)
            .cloned()
            .map(Response::new)
            .ok_or_else(|| Status::not_found("no such virtual server in the applied tables"))
    }

    type WatchStream = Pin<Box<dyn Stream<Item = Result<v1::IpvsEvent, Status>> + Send>>;

    async fn watch(
        &self,
        request: Request<v1::WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let consumer = request.get_ref().consumer.clone();
        Ok(Response::new(Box::pin(self.producer.watch(&consumer))))
    }

    async fn set_real_server_weight(
        &self,
        request: Request<v1::SetRealServerWeightRequest>,
    ) -> Result<Response<v1::RealServer>, Status> {
        self.find_real_server(request.get_ref().key.as_ref())?;
        Err(Status::unimplemented(
            "weight overrides need the table reconciler, which keepalived-rs does not run yet (issue #6)",
        ))
    }

    async fn drain_real_server(
        &self,
        request: Request<v1::DrainRealServerRequest>,
    ) -> Result<Response<v1::RealServer>, Status> {
        self.find_real_server(request.get_ref().key.as_ref())?;
        Err(Status::unimplemented(
            "draining needs the table reconciler, which keepalived-rs does not run yet (issue #6)",
        ))
    }
}

/// Runs ipvs-manager until SIGTERM.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut runtime = Runtime::start(SPEC, cli.common).await?;
    let config = keepalived_runtime::config::load(&runtime.args)?;
    let router_id = config
        .as_ref()
        .map(|c| c.global_defs.router_id.clone())
        .unwrap_or_default();
    if let Some(config) = &config
        && !config.virtual_servers.is_empty()
    {
        tracing::warn!(
            "{} virtual_server(s) configured but not programmed: the table manager of keepalived-rs is not built yet",
            config.virtual_servers.len()
        );
    }
    let metrics = BusMetrics::default();
    metrics.register(&mut runtime.registry);
    let api = IpvsApi::new(runtime.identity(), router_id, metrics);
    runtime.add_service(IpvsServer::new(api));
    runtime.readiness.set(true).await;
    runtime.serve().await
}
