//! A Watch snapshot larger than tonic's default 4 MiB message limit reaches the consumer:
//! 40,000 check targets make a HealthSnapshot of about 8 MB.

use std::time::Duration;

use keepalived_api::v1;
use keepalived_bus::{Backoff, BusMetrics, Producer, Subscriber, Update, Upstreams};
use tonic::{Request, Response, Status};

#[derive(Clone)]
struct Health(Producer<v1::HealthEvent>);

#[tonic::async_trait]
impl v1::health_server::Health for Health {
    async fn list_targets(
        &self,
        _r: Request<v1::ListTargetsRequest>,
    ) -> Result<Response<v1::ListTargetsResponse>, Status> {
        Err(Status::unimplemented("not in this test"))
    }

    async fn get_target(
        &self,
        _r: Request<v1::GetTargetRequest>,
    ) -> Result<Response<v1::Target>, Status> {
        Err(Status::unimplemented("not in this test"))
    }

    type WatchStream = keepalived_bus::WatchStream<v1::HealthEvent>;

    async fn watch(
        &self,
        r: Request<v1::WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        Ok(Response::new(self.0.watch(&r.get_ref().consumer)))
    }
}

const TARGETS: usize = 40_000;

fn snapshot() -> v1::HealthEvent {
    let targets = (0..TARGETS)
        .map(|i| v1::Target {
            id: format!("HTTP_GET:203.0.113.{}:{}", i % 250 + 1, 20_000 + i),
            checker: "HTTP_GET".into(),
            real_server: Some(v1::AddressPort {
                address: format!("203.0.113.{}", i % 250 + 1),
                port: (20_000 + i) as u32,
            }),
            virtual_servers: vec![v1::VirtualServerKey {
                kind: Some(v1::virtual_server_key::Kind::AddressPort(v1::AddressPort {
                    address: "198.51.100.10".into(),
                    port: 80,
                })),
                protocol: v1::Protocol::Tcp as i32,
            }],
            verdict: v1::Verdict::Up as i32,
            // As a prober fills them in: who owns it, and the last attempt.
            ownership: Some(v1::Ownership {
                role: v1::OwnershipRole::Owner as i32,
                owners: vec![
                    "health-prober@director-1/replica-0".into(),
                    "health-prober@director-2/replica-1".into(),
                ],
                live_replicas: 4,
                ..Default::default()
            }),
            last_result: Some(v1::AttemptResult {
                success: true,
                detail: "HTTP status code 200".into(),
                started: Some(prost_types::Timestamp::default()),
                latency: Some(prost_types::Duration::default()),
                ..Default::default()
            }),
            next_check: Some(prost_types::Timestamp {
                seconds: 1_700_000_000,
                nanos: 1,
            }),
            ..Default::default()
        })
        .collect();
    v1::HealthEvent {
        header: None,
        payload: Some(v1::health_event::Payload::Snapshot(v1::HealthSnapshot {
            targets,
        })),
    }
}

#[tokio::test]
async fn a_snapshot_over_4_mib_reaches_the_consumer() {
    let size = prost::Message::encoded_len(&snapshot());
    assert!(size > 4 << 20, "the snapshot is only {size} bytes");
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("health.sock");
    let listener = tokio::net::UnixListener::bind(&socket).unwrap();
    let producer = Producer::new("health-prober@big", 16, BusMetrics::default(), snapshot);
    let service = v1::health_server::HealthServer::new(Health(producer));
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tokio_stream::wrappers::UnixListenerStream::new(listener))
            .await
    });
    let mut sub = Subscriber::start(
        Upstreams::Static(vec![format!("unix:{}", socket.display())]),
        keepalived_bus::watch_connector::<v1::HealthEvent>("test@big"),
        Backoff::new(Duration::from_millis(20), Duration::from_millis(100)),
    );
    let update = tokio::time::timeout(Duration::from_secs(60), sub.updates.recv())
        .await
        .expect("an update within a minute")
        .expect("the subscriber runs");
    let Update::Snapshot(event) = update.update else {
        panic!("expected the snapshot, got {:?}", update.update);
    };
    let Some(v1::health_event::Payload::Snapshot(s)) = event.payload else {
        panic!("not a snapshot payload");
    };
    assert_eq!(s.targets.len(), TARGETS);
}
