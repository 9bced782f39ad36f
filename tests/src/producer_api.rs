//! Mock peers for tests and benchmarks (STYLE.md: dummy implementations of
//! each component's interface): `keepalived.v1` servers whose Watch is a bus
//! producer the test drives; their List/Get answer empty and their
//! state-changing RPCs are UNIMPLEMENTED.

use std::net::SocketAddr;

use keepalived_api::v1;
use keepalived_bus::{Producer, WatchStream};

/// Serves Watch from a [`Producer`] the test publishes into; List/Get are empty.
#[derive(Clone)]
pub struct HealthProducerApi(pub Producer<v1::HealthEvent>);

#[tonic::async_trait]
impl v1::health_server::Health for HealthProducerApi {
    async fn list_targets(
        &self,
        _: tonic::Request<v1::ListTargetsRequest>,
    ) -> Result<tonic::Response<v1::ListTargetsResponse>, tonic::Status> {
        Ok(tonic::Response::new(Default::default()))
    }

    async fn get_target(
        &self,
        _: tonic::Request<v1::GetTargetRequest>,
    ) -> Result<tonic::Response<v1::Target>, tonic::Status> {
        Err(tonic::Status::not_found("this mock has no targets"))
    }

    type WatchStream = WatchStream<v1::HealthEvent>;

    async fn watch(
        &self,
        request: tonic::Request<v1::WatchRequest>,
    ) -> Result<tonic::Response<Self::WatchStream>, tonic::Status> {
        Ok(tonic::Response::new(
            self.0.watch(&request.get_ref().consumer),
        ))
    }
}

/// Mock vrrp-core: Watch from a producer.
#[derive(Clone)]
pub struct VrrpProducerApi(pub Producer<v1::VrrpEvent>);

#[tonic::async_trait]
impl v1::vrrp_server::Vrrp for VrrpProducerApi {
    async fn list_instances(
        &self,
        _: tonic::Request<v1::ListInstancesRequest>,
    ) -> Result<tonic::Response<v1::ListInstancesResponse>, tonic::Status> {
        Ok(tonic::Response::new(Default::default()))
    }

    async fn get_instance(
        &self,
        _: tonic::Request<v1::GetInstanceRequest>,
    ) -> Result<tonic::Response<v1::Instance>, tonic::Status> {
        Err(tonic::Status::not_found("this mock has no instances"))
    }

    type WatchStream = WatchStream<v1::VrrpEvent>;

    async fn watch(
        &self,
        request: tonic::Request<v1::WatchRequest>,
    ) -> Result<tonic::Response<Self::WatchStream>, tonic::Status> {
        Ok(tonic::Response::new(
            self.0.watch(&request.get_ref().consumer),
        ))
    }

    async fn set_maintenance(
        &self,
        _: tonic::Request<v1::SetMaintenanceRequest>,
    ) -> Result<tonic::Response<v1::Instance>, tonic::Status> {
        Err(tonic::Status::unimplemented("mock"))
    }
}

/// Mock ipvs-manager: Watch from a producer.
#[derive(Clone)]
pub struct IpvsProducerApi(pub Producer<v1::IpvsEvent>);

#[tonic::async_trait]
impl v1::ipvs_server::Ipvs for IpvsProducerApi {
    async fn list_virtual_servers(
        &self,
        _: tonic::Request<v1::ListVirtualServersRequest>,
    ) -> Result<tonic::Response<v1::ListVirtualServersResponse>, tonic::Status> {
        Ok(tonic::Response::new(Default::default()))
    }

    async fn get_virtual_server(
        &self,
        _: tonic::Request<v1::GetVirtualServerRequest>,
    ) -> Result<tonic::Response<v1::VirtualServer>, tonic::Status> {
        Err(tonic::Status::not_found("this mock has no virtual servers"))
    }

    type WatchStream = WatchStream<v1::IpvsEvent>;

    async fn watch(
        &self,
        request: tonic::Request<v1::WatchRequest>,
    ) -> Result<tonic::Response<Self::WatchStream>, tonic::Status> {
        Ok(tonic::Response::new(
            self.0.watch(&request.get_ref().consumer),
        ))
    }

    async fn set_real_server_weight(
        &self,
        _: tonic::Request<v1::SetRealServerWeightRequest>,
    ) -> Result<tonic::Response<v1::RealServer>, tonic::Status> {
        Err(tonic::Status::unimplemented("mock"))
    }

    async fn drain_real_server(
        &self,
        _: tonic::Request<v1::DrainRealServerRequest>,
    ) -> Result<tonic::Response<v1::RealServer>, tonic::Status> {
        Err(tonic::Status::unimplemented("mock"))
    }
}

/// Serves `producer` on an ephemeral loopback port; returns the address and
/// the server task (abort it to stop).
pub async fn serve_health_producer(
    producer: Producer<v1::HealthEvent>,
) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let task = tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .add_service(v1::health_server::HealthServer::new(HealthProducerApi(
                producer,
            )))
            .serve_with_incoming(keepalived_runtime::no_delay(listener))
            .await;
    });
    (addr, task)
}
