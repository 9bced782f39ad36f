//! The `keepalived.v1.Vrrp` gRPC service over the engine's registry.

use std::time::Duration;

use keepalived_api::v1::{self, vrrp_event::Payload, vrrp_server::Vrrp};
use keepalived_bus::{BusMetrics, DEFAULT_CAPACITY, Producer};
use tokio::sync::oneshot;
use tonic::{Request, Response, Status};

use crate::engine::SharedRegistry;
use crate::instance::Control;

/// How long SetMaintenance waits for the instance to carry it out.
const MAINTENANCE_TIMEOUT: Duration = Duration::from_secs(5);

/// The bus producer of vrrp-core: its snapshot is the registry's current view.
pub fn producer(
    identity: String,
    metrics: BusMetrics,
    registry: SharedRegistry,
) -> Producer<v1::VrrpEvent> {
    Producer::with_start_history(identity, DEFAULT_CAPACITY, metrics, move || {
        let reg = registry.read().unwrap_or_else(|e| e.into_inner());
        v1::VrrpEvent {
            header: None,
            payload: Some(Payload::Snapshot(v1::VrrpSnapshot {
                router_id: reg.router_id.clone(),
                instances: reg.instances.iter().map(|h| h.view.snapshot()).collect(),
            })),
        }
    })
}

/// The `keepalived.v1.Vrrp` service.
#[derive(Clone, Debug)]
pub struct VrrpApi {
    registry: SharedRegistry,
    producer: Producer<v1::VrrpEvent>,
}

impl VrrpApi {
    /// An API over `registry`, streaming `producer`'s events.
    pub fn new(registry: SharedRegistry, producer: Producer<v1::VrrpEvent>) -> Self {
        Self { registry, producer }
    }

    fn find(&self, name: &str) -> Result<crate::instance::Handle, Status> {
        let reg = self.registry.read().unwrap_or_else(|e| e.into_inner());
        reg.instances
            .iter()
            .find(|h| h.name == name)
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
        let reg = self.registry.read().unwrap_or_else(|e| e.into_inner());
        Ok(Response::new(v1::ListInstancesResponse {
            instances: reg.instances.iter().map(|h| h.view.snapshot()).collect(),
        }))
    }

    async fn get_instance(
        &self,
        request: Request<v1::GetInstanceRequest>,
    ) -> Result<Response<v1::Instance>, Status> {
        let handle = self.find(&request.get_ref().name)?;
        let view = handle.view.snapshot();
        Ok(Response::new(view))
    }

    type WatchStream = keepalived_bus::WatchResponseStream<v1::VrrpEvent>;

    async fn watch(
        &self,
        request: Request<v1::WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        Ok(self.producer.serve_watch(&request))
    }

    /// The API replacement for `touch /etc/keepalived/down`: the instance gives up
    /// mastership with a priority-0 advert and stays BACKUP until maintenance is off.
    /// Authorisation happened in the runtime's layer.
    async fn set_maintenance(
        &self,
        request: Request<v1::SetMaintenanceRequest>,
    ) -> Result<Response<v1::Instance>, Status> {
        let req = request.into_inner();
        let handle = self.find(&req.name)?;
        tracing::info!(
            "({}) SetMaintenance {} requested: {}",
            req.name,
            if req.enabled { "on" } else { "off" },
            if req.reason.is_empty() {
                "no reason given"
            } else {
                &req.reason
            }
        );
        let (reply, done) = oneshot::channel();
        handle
            .tx
            .send(Control::Maintenance(req.enabled, reply))
            .map_err(|_| Status::unavailable(format!("instance {} is stopping", req.name)))?;
        match tokio::time::timeout(MAINTENANCE_TIMEOUT, done).await {
            Ok(Ok(())) => {
                let view = handle.view.snapshot();
                Ok(Response::new(view))
            }
            _ => Err(Status::deadline_exceeded(format!(
                "instance {} did not apply maintenance within {MAINTENANCE_TIMEOUT:?}",
                req.name
            ))),
        }
    }
}
