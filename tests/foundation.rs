//! Every service binary serves, on a unix socket and on TCP: reflection v1
//! and v1alpha, `grpc.health.v1`, and a Watch stream that opens with a
//! snapshot; state-changing RPCs are refused to unauthorised callers.

use std::time::Duration;

use futures::StreamExt as _;
use keepalived_api::v1;
use keepalived_bus::addr::TracedChannel;
use keepalived_tests::{SERVICES, ServiceProcess, minimal_config};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

fn grpc_name(service: &str) -> &'static str {
    match service {
        "vrrp-core" => keepalived_api::service_names::VRRP,
        "ipvs-manager" => keepalived_api::service_names::IPVS,
        "health-prober" => keepalived_api::service_names::HEALTH,
        "notifier" => keepalived_api::service_names::NOTIFIER,
        other => panic!("unknown service {other}"),
    }
}

async fn reflection_v1_services(channel: TracedChannel) -> Vec<String> {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let mut client = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = client
        .server_reflection_info(futures::stream::iter([request]))
        .await
        .expect("reflection v1")
        .into_inner();
    let response = responses.next().await.expect("a response").expect("ok");
    match response.message_response {
        Some(MessageResponse::ListServicesResponse(list)) => {
            list.service.into_iter().map(|s| s.name).collect()
        }
        other => panic!("unexpected reflection v1 response {other:?}"),
    }
}

async fn reflection_v1alpha_services(channel: TracedChannel) -> Vec<String> {
    use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
    let mut client = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = client
        .server_reflection_info(futures::stream::iter([request]))
        .await
        .expect("reflection v1alpha")
        .into_inner();
    let response = responses.next().await.expect("a response").expect("ok");
    match response.message_response {
        Some(MessageResponse::ListServicesResponse(list)) => {
            list.service.into_iter().map(|s| s.name).collect()
        }
        other => panic!("unexpected reflection v1alpha response {other:?}"),
    }
}

async fn health_status(channel: TracedChannel, service: &str) -> ServingStatus {
    let response = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .expect("health check")
        .into_inner();
    ServingStatus::try_from(response.status).expect("known status")
}

/// Opens the service's Watch stream and returns the header of its first event.
async fn first_watch_header(service: &str, channel: TracedChannel) -> (v1::EventHeader, bool) {
    use keepalived_api::BusEvent;
    let request = v1::WatchRequest {
        consumer: "foundation-test".into(),
        ..Default::default()
    };
    macro_rules! first {
        ($client:ty) => {{
            let mut stream = <$client>::new(channel)
                .watch(request)
                .await
                .expect("watch")
                .into_inner();
            let event = tokio::time::timeout(Duration::from_secs(5), stream.next())
                .await
                .expect("an event within 5 s")
                .expect("stream open")
                .expect("event ok");
            (
                event.header().cloned().expect("header"),
                event.is_snapshot_payload(),
            )
        }};
    }
    match service {
        "vrrp-core" => first!(v1::vrrp_client::VrrpClient<TracedChannel>),
        "ipvs-manager" => first!(v1::ipvs_client::IpvsClient<TracedChannel>),
        "health-prober" => first!(v1::health_client::HealthClient<TracedChannel>),
        "notifier" => first!(v1::notifier_client::NotifierClient<TracedChannel>),
        other => panic!("unknown service {other}"),
    }
}

async fn check_surface(process: &ServiceProcess, channel: impl Fn() -> TracedChannel) {
    let name = grpc_name(&process.name);
    for (version, services) in [
        ("v1", reflection_v1_services(channel()).await),
        ("v1alpha", reflection_v1alpha_services(channel()).await),
    ] {
        for expected in [
            name,
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
        ] {
            assert!(
                services.iter().any(|s| s == expected),
                "{}: reflection {version} lacks {expected}: {services:?}",
                process.name
            );
        }
        // Only what this binary serves is advertised.
        let others = services
            .iter()
            .filter(|s| s.starts_with("keepalived.v1.") && *s != name)
            .count();
        assert_eq!(others, 0, "{}: {services:?}", process.name);
    }
    assert_eq!(health_status(channel(), name).await, ServingStatus::Serving);
    assert_eq!(health_status(channel(), "").await, ServingStatus::Serving);
    let (header, snapshot_payload) = first_watch_header(&process.name, channel()).await;
    assert_eq!(
        header.kind,
        v1::EventKind::Snapshot as i32,
        "{}",
        process.name
    );
    assert!(
        snapshot_payload,
        "{}: first event carries the snapshot",
        process.name
    );
    assert_eq!(header.incarnation.len(), 32, "{}", process.name);
    assert!(
        header.producer.starts_with(&format!("{}@", process.name)),
        "{}: producer {}",
        process.name,
        header.producer
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_binary_serves_reflection_health_and_watch_on_unix_and_tcp() {
    let dir = tempfile::tempdir().unwrap();
    let config = minimal_config(dir.path());
    for service in SERVICES {
        let process = ServiceProcess::start(service, dir.path(), &config, &[], &[]);
        let unix = process.unix_channel().await;
        check_surface(&process, || unix.clone()).await;
        let tcp = process.tcp_channel().await;
        check_surface(&process, || tcp.clone()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_changing_rpc_is_refused_over_tcp_and_authorised_over_unix_as_root() {
    let dir = tempfile::tempdir().unwrap();
    let config = minimal_config(dir.path());
    let process = ServiceProcess::start("vrrp-core", dir.path(), &config, &[], &[]);
    let request = || v1::SetMaintenanceRequest {
        name: "VI_1".into(),
        enabled: true,
        reason: "test".into(),
    };

    let status = v1::vrrp_client::VrrpClient::new(process.tcp_channel().await)
        .set_maintenance(request())
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");

    // Read RPCs stay open over TCP.
    v1::vrrp_client::VrrpClient::new(process.tcp_channel().await)
        .list_instances(v1::ListInstancesRequest {})
        .await
        .expect("ListInstances is open to anyone");

    let running_as_root = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"));
    let status = v1::vrrp_client::VrrpClient::new(process.unix_channel().await)
        .set_maintenance(request())
        .await
        .unwrap_err();
    if running_as_root {
        // Authorised: the service itself answers (no such instance runs).
        assert_eq!(status.code(), tonic::Code::NotFound, "{status:?}");
    } else {
        assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");
    }

    let log = process.log_text();
    assert!(log.contains("refused state-changing RPC"), "{log}");
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, in PEM files.
struct Pki {
    ca: std::path::PathBuf,
    server_cert: std::path::PathBuf,
    server_key: std::path::PathBuf,
    client_cert: String,
    client_key: String,
    ca_pem: String,
}

fn make_pki(dir: &std::path::Path) -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate().unwrap();
    let server_cert =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .unwrap()
            .signed_by(&server_key, &issuer)
            .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let client_cert = CertificateParams::new(vec!["operator".to_string()])
        .unwrap()
        .signed_by(&client_key, &issuer)
        .unwrap();

    let write = |name: &str, pem: String| {
        let path = dir.join(name);
        std::fs::write(&path, pem).unwrap();
        path
    };
    Pki {
        ca: write("ca.pem", ca_cert.pem()),
        server_cert: write("server.pem", server_cert.pem()),
        server_key: write("server.key", server_key.serialize_pem()),
        client_cert: client_cert.pem(),
        client_key: client_key.serialize_pem(),
        ca_pem: ca_cert.pem(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_client_certificate_authorises_and_plain_tls_does_not() {
    use tonic::transport::{Certificate, ClientTlsConfig, Identity};
    let dir = tempfile::tempdir().unwrap();
    let config = minimal_config(dir.path());
    let pki = make_pki(dir.path());
    let args = [
        "--tls-cert",
        pki.server_cert.to_str().unwrap(),
        "--tls-key",
        pki.server_key.to_str().unwrap(),
        "--tls-client-ca",
        pki.ca.to_str().unwrap(),
    ];
    let process = ServiceProcess::start("ipvs-manager", dir.path(), &config, &args, &[]);
    let address = keepalived_bus::addr::Address::Https {
        host: "127.0.0.1".into(),
        port: process.tcp.port(),
    };
    let request = || v1::DrainRealServerRequest {
        key: Some(v1::RealServerKey {
            virtual_server: Some(v1::VirtualServerKey {
                kind: Some(v1::virtual_server_key::Kind::AddressPort(v1::AddressPort {
                    address: "198.51.100.10".into(),
                    port: 80,
                })),
                protocol: v1::Protocol::Tcp as i32,
            }),
            real_server: Some(v1::AddressPort {
                address: "203.0.113.11".into(),
                port: 80,
            }),
        }),
        drain: true,
    };

    let ca = Certificate::from_pem(&pki.ca_pem);
    let anonymous = keepalived_bus::addr::connect_with(&address, |e| {
        e.tls_config(
            ClientTlsConfig::new()
                .ca_certificate(ca.clone())
                .domain_name("127.0.0.1"),
        )
        .unwrap()
    })
    .await
    .expect("TLS without client certificate");
    let status = v1::ipvs_client::IpvsClient::new(anonymous.clone())
        .drain_real_server(request())
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");
    v1::ipvs_client::IpvsClient::new(anonymous)
        .list_virtual_servers(v1::ListVirtualServersRequest {})
        .await
        .expect("reads are open over TLS");

    let identity = Identity::from_pem(&pki.client_cert, &pki.client_key);
    let operator = keepalived_bus::addr::connect_with(&address, |e| {
        e.tls_config(
            ClientTlsConfig::new()
                .ca_certificate(ca.clone())
                .domain_name("127.0.0.1")
                .identity(identity),
        )
        .unwrap()
    })
    .await
    .expect("mTLS");
    let status = v1::ipvs_client::IpvsClient::new(operator)
        .drain_real_server(request())
        .await
        .unwrap_err();
    // Authorised: the service answers itself (no such real server applied).
    assert_eq!(status.code(), tonic::Code::NotFound, "{status:?}");
}

#[test]
fn sigterm_stops_gracefully_and_removes_the_unix_socket() {
    let dir = tempfile::tempdir().unwrap();
    let config = minimal_config(dir.path());
    let mut process = ServiceProcess::start("notifier", dir.path(), &config, &[], &[]);
    assert!(process.unix.exists());
    process.signal("TERM");
    assert_eq!(process.wait_exit(Duration::from_secs(10)), Some(0));
    assert!(!process.unix.exists(), "socket removed on stop");
    assert!(process.log_text().contains("Received SIGTERM, stopping"));
}

#[test]
fn config_test_flag_reports_errors_with_position_and_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.conf");
    std::fs::write(&bad, "global_defs {\n    router_idd R1\n}\n").unwrap();
    for service in SERVICES {
        let output = std::process::Command::new(keepalived_tests::bin_path(service))
            .args(["-t", "-f", bad.to_str().unwrap()])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(5), "{service}: {stderr}");
        assert!(stderr.contains("bad.conf:2:5"), "{service}: {stderr}");
        assert!(
            stderr.contains("router_id"),
            "{service}: suggestion in {stderr}"
        );

        let good = minimal_config(dir.path());
        let output = std::process::Command::new(keepalived_tests::bin_path(service))
            .args(["-t", "-f", good.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{service}");
    }
}
