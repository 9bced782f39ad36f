//! health-prober: decides whether each real server is fit to take traffic,
//! with keepalived's checkers and retry semantics. Needs no privileges.
//!
//! This crate serves the `keepalived.v1.Health` API over the shared runtime.
//! The checkers are not built yet (issue #5): the service serves the targets
//! it probes, which today are none, and says so at start-up when the
//! configuration has checkers.
#![forbid(unsafe_code)]

pub mod machine;

use std::pin::Pin;
use std::sync::{Arc, RwLock};

use futures::Stream;
use keepalived_api::v1::health_server::{Health, HealthServer};
use keepalived_api::v1::{self, health_event::Payload};
use keepalived_bus::{BusMetrics, DEFAULT_CAPACITY, Producer};
use keepalived_runtime::{CommonArgs, Runtime, ServiceSpec};
use tonic::{Request, Response, Status};

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
(HTTP_GET, SSL_GET, TCP_CHECK, MISC_CHECK, …) with keepalived 2.2.7's timing and publishes verdicts. Serves \
keepalived.v1.Health over gRPC (ListTargets/GetTarget/Watch). Several replicas may run on one config."
)]
pub struct Cli {
    /// Flags shared by every keepalived-rs service.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// The `keepalived.v1.Health` service.
#[derive(Clone)]
pub struct HealthApi {
    targets: Arc<RwLock<Vec<v1::Target>>>,
    producer: Producer<v1::HealthEvent>,
}

impl HealthApi {
    /// An API over no targets, publishing as `identity`.
    pub fn new(identity: String, metrics: BusMetrics) -> Self {
        let targets: Arc<RwLock<Vec<v1::Target>>> = Arc::default();
        let snapshot_targets = targets.clone();
        let producer = Producer::new(identity, DEFAULT_CAPACITY, metrics, move || {
            let targets = snapshot_targets.read().unwrap_or_else(|e| e.into_inner());
            v1::HealthEvent {
                header: None,
                payload: Some(Payload::Snapshot(v1::HealthSnapshot {
                    targets: targets.clone(),
                })),
            }
        });
        Self { targets, producer }
    }
}

#[tonic::async_trait]
impl Health for HealthApi {
    async fn list_targets(
        &self,
        _request: Request<v1::ListTargetsRequest>,
    ) -> Result<Response<v1::ListTargetsResponse>, Status> {
        let targets = self.targets.read().unwrap_or_else(|e| e.into_inner());
        Ok(Response::new(v1::ListTargetsResponse {
            targets: targets.clone(),
        }))
    }

    async fn get_target(
        &self,
        request: Request<v1::GetTargetRequest>,
    ) -> Result<Response<v1::Target>, Status> {
        let id = &request.get_ref().id;
        let targets = self.targets.read().unwrap_or_else(|e| e.into_inner());
        targets
            .iter()
            .find(|t| &t.id == id)
            .cloned()
            .map(Response::new)
            .ok_or_else(|| Status::not_found(format!("no check target {id:?}")))
    }

    type WatchStream = Pin<Box<dyn Stream<Item = Result<v1::HealthEvent, Status>> + Send>>;

    async fn watch(
        &self,
        request: Request<v1::WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let consumer = request.get_ref().consumer.clone();
        Ok(Response::new(Box::pin(self.producer.watch(&consumer))))
    }
}

/// Runs health-prober until SIGTERM.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut runtime = Runtime::start(SPEC, cli.common).await?;
    let config = keepalived_runtime::config::load(&runtime.args)?;
    if let Some(config) = &config {
        let real_servers: usize = config
            .virtual_servers
            .iter()
            .map(|vs| vs.real_servers.len())
            .sum();
        if real_servers > 0 {
            tracing::warn!(
                "{real_servers} real_server(s) configured but not checked: the checkers of keepalived-rs are not built yet"
            );
        }
    }
    let metrics = BusMetrics::default();
    metrics.register(&mut runtime.registry);
    let api = HealthApi::new(runtime.identity(), metrics);
    runtime.add_service(HealthServer::new(api));
    runtime.readiness.set(true).await;
    runtime.serve().await
}
