//! vrrp-core: VRRP v2/v3 election (RFC 3768/5798), virtual IPs through
//! rtnetlink and gratuitous ARP — the only process that changes addresses.
//!
//! This crate serves the `keepalived.v1.Vrrp` API over the shared runtime.
//! The election engine itself (sockets, timers, VIPs) is not built yet
//! (issue #4): the service serves the instances it runs, which today are none,
//! and says so at start-up when the configuration has some.
#![forbid(unsafe_code)]

use std::pin::Pin;
use std::sync::{Arc, RwLock};

use futures::Stream;
use keepalived_api::v1::vrrp_server::{Vrrp, VrrpServer};
use keepalived_api::v1::{self, vrrp_event::Payload};
use keepalived_bus::{BusMetrics, DEFAULT_CAPACITY, Producer};
use keepalived_runtime::{CommonArgs, Runtime, ServiceSpec};
use tonic::{Request, Response, Status};

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

/// The state the API serves.
#[derive(Debug, Default)]
struct State {
    router_id: String,
    instances: Vec<v1::Instance>,
}

/// The `keepalived.v1.Vrrp` service.
#[derive(Clone)]
pub struct VrrpApi {
    state: Arc<RwLock<State>>,
    producer: Producer<v1::VrrpEvent>,
}

impl VrrpApi {
    /// An API over no instances, publishing as `identity`.
    pub fn new(identity: String, router_id: String, metrics: BusMetrics) -> Self {
        let state = Arc::new(RwLock::new(State {
            router_id,
            instances: Vec::new(),
        }));
        let snapshot_state = state.clone();
        let producer = Producer::new(identity, DEFAULT_CAPACITY, metrics, move || {
            let state = snapshot_state.read().unwrap_or_else(|e| e.into_inner());
            v1::VrrpEvent {
                header: None,
                payload: Some(Payload::Snapshot(v1::VrrpSnapshot {
                    router_id: state.router_id.clone(),
                    instances: state.instances.clone(),
                })),
            }
        });
        Self { state, producer }
    }

    fn find(&self, name: &str) -> Result<v1::Instance, Status> {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        state
            .instances
            .iter()
            .find(|i| i.name == name)
            .cloned()
            .ok_or_else(|| Status::not_found(format!("no VRRP instance named {name:?} is running")))
    }
}

#[tonic::async_trait]
impl Vrrp for VrrpApi {
    async fn list_instances(
        &self,
        _request: Request<v1::ListInstancesRequest>,
    ) -> Result<Response<v1::ListInstancesResponse>, Status> {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        Ok(Response::new(v1::ListInstancesResponse {
            instances: state.instances.clone(),
        }))
    }

    async fn get_instance(
        &self,
        request: Request<v1::GetInstanceRequest>,
    ) -> Result<Response<v1::Instance>, Status> {
        self.find(&request.get_ref().name).map(Response::new)
    }

    type WatchStream = Pin<Box<dyn Stream<Item = Result<v1::VrrpEvent, Status>> + Send>>;

    async fn watch(
        &self,
        request: Request<v1::WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let consumer = request.get_ref().consumer.clone();
        Ok(Response::new(Box::pin(self.producer.watch(&consumer))))
    }

    async fn set_maintenance(
        &self,
        request: Request<v1::SetMaintenanceRequest>,
    ) -> Result<Response<v1::Instance>, Status> {
        // Authorisation already happened in the runtime's layer. With no
        // election engine there is no instance to demote.
        let name = &request.get_ref().name;
        self.find(name)?;
        Err(Status::unimplemented(
            "maintenance needs the VRRP engine, which keepalived-rs does not run yet (issue #4)",
        ))
    }
}

/// Runs vrrp-core until SIGTERM.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut runtime = Runtime::start(SPEC, cli.common).await?;
    let config = keepalived_runtime::config::load(&runtime.args)?;
    let router_id = config
        .as_ref()
        .map(|c| c.global_defs.router_id.clone())
        .unwrap_or_default();
    if let Some(config) = &config
        && !config.vrrp_instances.is_empty()
    {
        tracing::warn!(
            "{} vrrp_instance(s) configured but not run: the VRRP engine of keepalived-rs is not built yet",
            config.vrrp_instances.len()
        );
    }
    let metrics = BusMetrics::default();
    metrics.register(&mut runtime.registry);
    let api = VrrpApi::new(runtime.identity(), router_id, metrics);
    runtime.add_service(VrrpServer::new(api));
    runtime.readiness.set(true).await;
    runtime.serve().await
}
