//! The `keepalived.v1.Health` gRPC service over the engine's shared view.

use std::sync::Arc;

use keepalived_api::v1::health_server::Health;
use keepalived_api::v1::{self, health_event::Payload};
use keepalived_bus::{BusMetrics, DEFAULT_CAPACITY, Producer};
use tonic::{Request, Response, Status};

use crate::engine::TargetViews;

/// The `keepalived.v1.Health` service.
#[derive(Clone)]
pub struct HealthApi {
    shared: Arc<TargetViews>,
    producer: Producer<v1::HealthEvent>,
}

impl HealthApi {
    /// The API over `shared`, publishing as `identity`.
    pub fn new(identity: String, metrics: BusMetrics, shared: Arc<TargetViews>) -> Self {
        let snapshot_of = shared.clone();
        let producer = Producer::new(identity, DEFAULT_CAPACITY, metrics, move || {
            v1::HealthEvent {
                header: None,
                payload: Some(Payload::Snapshot(v1::HealthSnapshot {
                    targets: snapshot_of.list(),
                })),
            }
        });
        Self { shared, producer }
    }

    /// The producer the engine publishes transitions on.
    pub fn producer(&self) -> Producer<v1::HealthEvent> {
        self.producer.clone()
    }
}

#[tonic::async_trait]
impl Health for HealthApi {
    async fn list_targets(
        &self,
        _request: Request<v1::ListTargetsRequest>,
    ) -> Result<Response<v1::ListTargetsResponse>, Status> {
        Ok(Response::new(v1::ListTargetsResponse {
            targets: self.shared.list(),
        }))
    }

    async fn get_target(
        &self,
        request: Request<v1::GetTargetRequest>,
    ) -> Result<Response<v1::Target>, Status> {
        let id = &request.get_ref().id;
        self.shared
            .get(id)
            .map(Response::new)
            .ok_or_else(|| Status::not_found(format!("no check target {id:?}")))
    }

    type WatchStream = keepalived_bus::WatchResponseStream<v1::HealthEvent>;

    async fn watch(
        &self,
        request: Request<v1::WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        Ok(self.producer.serve_watch(&request))
    }
}
