//! The `keepalived.v1.Ipvs` gRPC service: reads come from the view the
//! engine refreshes after every reconcile; overrides go to the engine, which
//! answers once the kernel holds them.

use std::sync::mpsc::Sender;
use std::sync::{Arc, RwLock};

use keepalived_api::v1::ipvs_server::Ipvs;
use keepalived_api::v1::{self, ipvs_event::Payload};
use keepalived_bus::{BusMetrics, DEFAULT_CAPACITY, Producer};
use tokio::sync::oneshot;
use tonic::{Request, Response, Status};

use crate::engine::Input;
use crate::view::View;

/// The `keepalived.v1.Ipvs` service.
#[derive(Clone)]
pub struct IpvsApi {
    view: Arc<RwLock<View>>,
    producer: Producer<v1::IpvsEvent>,
    engine: Sender<Input>,
}

impl std::fmt::Debug for IpvsApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IpvsApi").finish_non_exhaustive()
    }
}

/// A key as the configuration means it: `protocol` unset on an address or
/// group key is TCP (keepalived's default), and a fwmark has no protocol.
fn normalize(mut key: v1::VirtualServerKey) -> v1::VirtualServerKey {
    use v1::virtual_server_key::Kind;
    match key.kind {
        Some(Kind::Fwmark(_)) => key.protocol = v1::Protocol::Unspecified as i32,
        _ if key.protocol == v1::Protocol::Unspecified as i32 => {
            key.protocol = v1::Protocol::Tcp as i32
        }
        _ => {}
    }
    key
}

/// The producer of the Ipvs bus, whose snapshot is the current view.
pub fn producer(
    identity: String,
    view: Arc<RwLock<View>>,
    metrics: BusMetrics,
) -> Producer<v1::IpvsEvent> {
    Producer::with_start_history(identity, DEFAULT_CAPACITY, metrics, move || {
        let view = view.read().unwrap_or_else(|e| e.into_inner());
        v1::IpvsEvent {
            header: None,
            payload: Some(Payload::Snapshot(v1::IpvsSnapshot {
                router_id: view.router_id.clone(),
                backend: view.backend,
                virtual_servers: view.virtual_servers.clone(),
            })),
        }
    })
}

impl IpvsApi {
    /// The API over `view`, publishing with `producer`, sending overrides to `engine`.
    pub fn new(
        view: Arc<RwLock<View>>,
        producer: Producer<v1::IpvsEvent>,
        engine: Sender<Input>,
    ) -> Self {
        Self {
            view,
            producer,
            engine,
        }
    }

    fn key(
        key: Option<&v1::RealServerKey>,
    ) -> Result<(v1::VirtualServerKey, v1::AddressPort), Status> {
        let key = key.ok_or_else(|| Status::invalid_argument("key is required"))?;
        let vs = key
            .virtual_server
            .clone()
            .ok_or_else(|| Status::invalid_argument("key.virtual_server is required"))?;
        let rs = key
            .real_server
            .clone()
            .ok_or_else(|| Status::invalid_argument("key.real_server is required"))?;
        Ok((vs, rs))
    }

    async fn ask(
        &self,
        make: impl FnOnce(crate::engine::Reply) -> Input,
    ) -> Result<Response<v1::RealServer>, Status> {
        let (tx, rx) = oneshot::channel();
        self.engine
            .send(make(tx))
            .map_err(|_| Status::unavailable("the table engine has stopped"))?;
        rx.await
            .map_err(|_| Status::unavailable("the table engine has stopped"))?
            .map(Response::new)
    }
}

#[tonic::async_trait]
impl Ipvs for IpvsApi {
    async fn list_virtual_servers(
        &self,
        _request: Request<v1::ListVirtualServersRequest>,
    ) -> Result<Response<v1::ListVirtualServersResponse>, Status> {
        let view = self.view.read().unwrap_or_else(|e| e.into_inner());
        Ok(Response::new(v1::ListVirtualServersResponse {
            virtual_servers: view.virtual_servers.clone(),
            backend: view.backend,
        }))
    }

    async fn get_virtual_server(
        &self,
        request: Request<v1::GetVirtualServerRequest>,
    ) -> Result<Response<v1::VirtualServer>, Status> {
        let key = request.get_ref().key.clone().map(normalize);
        let view = self.view.read().unwrap_or_else(|e| e.into_inner());
        view.virtual_servers
            .iter()
            .find(|vs| vs.key.clone().map(normalize) == key)
            .cloned()
            .map(Response::new)
            .ok_or_else(|| Status::not_found("no such virtual server configured"))
    }

    type WatchStream = keepalived_bus::WatchResponseStream<v1::IpvsEvent>;

    async fn watch(
        &self,
        request: Request<v1::WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        Ok(self.producer.serve_watch(&request))
    }

    async fn set_real_server_weight(
        &self,
        request: Request<v1::SetRealServerWeightRequest>,
    ) -> Result<Response<v1::RealServer>, Status> {
        let (vs, rs) = Self::key(request.get_ref().key.as_ref())?;
        let weight = request.get_ref().weight;
        if weight.is_some_and(|w| w > 65535) {
            return Err(Status::invalid_argument("weight must be 0..=65535"));
        }
        self.ask(|reply| Input::SetWeight {
            vs,
            rs,
            weight,
            reply,
        })
        .await
    }

    async fn drain_real_server(
        &self,
        request: Request<v1::DrainRealServerRequest>,
    ) -> Result<Response<v1::RealServer>, Status> {
        let (vs, rs) = Self::key(request.get_ref().key.as_ref())?;
        let drain = request.get_ref().drain;
        self.ask(|reply| Input::Drain {
            vs,
            rs,
            drain,
            reply,
        })
        .await
    }
}
