//! The `keepalived.v1.Notifier` service over the engine's store.

use keepalived_api::v1;
use keepalived_api::v1::notifier_server::Notifier;
use keepalived_bus::Producer;
use tonic::{Request, Response, Status};

use crate::delivery::Record;
use crate::engine::SharedStore;

/// How many deliveries ListDeliveries returns when the request sets no limit.
const DEFAULT_LIST_LIMIT: usize = 100;

/// The `keepalived.v1.Notifier` service.
#[derive(Clone)]
pub struct NotifierApi {
    store: SharedStore,
    producer: Producer<v1::NotifierEvent>,
}

impl NotifierApi {
    /// An API over `store`, watching `producer`.
    pub fn new(store: SharedStore, producer: Producer<v1::NotifierEvent>) -> Self {
        Self { store, producer }
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
        let store = self.store.lock().unwrap_or_else(|e| e.into_inner());
        let deliveries = store
            .records()
            .rev()
            .map(Record::to_proto)
            .filter(|d| wanted == v1::DeliveryState::Unspecified || d.state == wanted as i32)
            .take(limit)
            .collect();
        Ok(Response::new(v1::ListDeliveriesResponse { deliveries }))
    }

    async fn get_delivery(
        &self,
        request: Request<v1::GetDeliveryRequest>,
    ) -> Result<Response<v1::Delivery>, Status> {
        let id = &request.get_ref().id;
        let store = self.store.lock().unwrap_or_else(|e| e.into_inner());
        store
            .by_id(id)
            .map(Record::to_proto)
            .map(Response::new)
            .ok_or_else(|| Status::not_found(format!("no delivery {id:?}")))
    }

    type WatchStream = keepalived_bus::WatchResponseStream<v1::NotifierEvent>;

    async fn watch(
        &self,
        request: Request<v1::WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        Ok(self.producer.serve_watch(&request))
    }
}
