//! notifier: every outward notification — SMTP mail, webhooks and notify
//! scripts — ordered, retried, never lost.
//!
//! This crate serves the `keepalived.v1.Notifier` API over the shared
//! runtime. Delivery is not built yet (issue #7): the service serves the
//! deliveries it made, which today are none, and says so at start-up when the
//! configuration asks for notifications.
#![forbid(unsafe_code)]

use std::pin::Pin;
use std::sync::{Arc, RwLock};

use futures::Stream;
use keepalived_api::v1::notifier_server::{Notifier, NotifierServer};
use keepalived_api::v1::{self, notifier_event::Payload};
use keepalived_bus::{BusMetrics, DEFAULT_CAPACITY, Producer};
use keepalived_runtime::{CommonArgs, Runtime, ServiceSpec};
use tonic::{Request, Response, Status};

/// What the runtime needs to know about notifier.
pub const SPEC: ServiceSpec = ServiceSpec {
    binary: "notifier",
    grpc_service: keepalived_api::service_names::NOTIFIER,
    default_listen: "tcp://127.0.0.1:50054",
    mutating_methods: &[],
};

/// How many deliveries ListDeliveries returns when the request sets no limit.
const DEFAULT_LIST_LIMIT: usize = 100;

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
}

/// The `keepalived.v1.Notifier` service.
#[derive(Clone)]
pub struct NotifierApi {
    /// Deliveries, oldest first.
    deliveries: Arc<RwLock<Vec<v1::Delivery>>>,
    producer: Producer<v1::NotifierEvent>,
}

fn unfinished(delivery: &v1::Delivery) -> bool {
    matches!(
        v1::DeliveryState::try_from(delivery.state),
        Ok(v1::DeliveryState::Pending | v1::DeliveryState::Retrying)
    )
}

impl NotifierApi {
    /// An API over no deliveries, publishing as `identity`.
    pub fn new(identity: String, metrics: BusMetrics) -> Self {
        let deliveries: Arc<RwLock<Vec<v1::Delivery>>> = Arc::default();
        let snapshot_deliveries = deliveries.clone();
        let producer = Producer::new(identity, DEFAULT_CAPACITY, metrics, move || {
            let deliveries = snapshot_deliveries.read().unwrap_or_else(|e| e.into_inner());
            v1::NotifierEvent {
                header: None,
                payload: Some(Payload::Snapshot(v1::NotifierSnapshot {
                    deliveries: deliveries.iter().filter(|d| unfinished(d)).cloned().collect(),
                })),
            }
        });
        Self {
            deliveries,
            producer,
        }
    }
}

#[tonic::async_trait]
impl Notifier for NotifierApi {
    async fn list_deliveries(
        &self,
        request: Request<v1::ListDeliveriesRequest>,
    ) -> Result<Response<v1::ListDeliveriesResponse>, Status> {
        let request = request.get_ref();
        let limit = match request.limit {
            0 => DEFAULT_LIST_LIMIT,
            n => n as usize,
        };
        let wanted = v1::DeliveryState::try_from(request.state)
            .map_err(|_| Status::invalid_argument("unknown delivery state"))?;
        let deliveries = self.deliveries.read().unwrap_or_else(|e| e.into_inner());
        let deliveries = deliveries
            .iter()
            .rev()
            .filter(|d| wanted == v1::DeliveryState::Unspecified || d.state == wanted as i32)
            .take(limit)
            .cloned()
            .collect();
        Ok(Response::new(v1::ListDeliveriesResponse { deliveries }))
    }

    async fn get_delivery(
        &self,
        request: Request<v1::GetDeliveryRequest>,
    ) -> Result<Response<v1::Delivery>, Status> {
        let id = &request.get_ref().id;
        let deliveries = self.deliveries.read().unwrap_or_else(|e| e.into_inner());
        deliveries
            .iter()
            .find(|d| &d.id == id)
            .cloned()
            .map(Response::new)
            .ok_or_else(|| Status::not_found(format!("no delivery {id:?}")))
    }

    type WatchStream = Pin<Box<dyn Stream<Item = Result<v1::NotifierEvent, Status>> + Send>>;

    async fn watch(
        &self,
        request: Request<v1::WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let consumer = request.get_ref().consumer.clone();
        Ok(Response::new(Box::pin(self.producer.watch(&consumer))))
    }
}

/// Runs notifier until SIGTERM.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut runtime = Runtime::start(SPEC, cli.common).await?;
    let config = keepalived_runtime::config::load(&runtime.args)?;
    if let Some(config) = &config
        && !config.global_defs.notification_email.is_empty()
    {
        tracing::warn!(
            "notification_email configured but no mail is sent: the notifier of keepalived-rs is not built yet"
        );
    }
    let metrics = BusMetrics::default();
    metrics.register(&mut runtime.registry);
    let api = NotifierApi::new(runtime.identity(), metrics);
    runtime.add_service(NotifierServer::new(api));
    runtime.readiness.set(true).await;
    runtime.serve().await
}
