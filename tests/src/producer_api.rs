//! A `keepalived.v1.Health` server whose Watch is a test-driven bus
//! producer: the mock peer for bus tests and benchmarks.

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
