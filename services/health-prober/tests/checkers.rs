//! Each checker against a real server on loopback: up, down, recovery and
//! the reason reported.

mod support;

use std::time::Duration;

use keepalived_api::v1::{FailureReason, Verdict};
use support::*;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, UdpSocket};

const FAST: &str = "    delay_loop 1\n    warmup 0";

async fn wait_verdict(
    prober: &Prober,
    id: &str,
    verdict: Verdict,
    within: Duration,
) -> keepalived_api::v1::Target {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let t = prober.target(id);
        if t.verdict == verdict as i32 {
            return t;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{id} never became {verdict:?}: {t:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn last_reason(t: &keepalived_api::v1::Target) -> (i32, String) {
    let r = t.last_result.clone().unwrap_or_default();
    (r.reason, r.detail)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_code_ranges_digest_and_virtualhost() {
    let target = HttpTarget::start().await;
    target.set(302, b"hello");
    // md5("hello")
    let digest = "5d41402abc4b2a76b9719d911017c592";
    let ok = format!(
        "        HTTP_GET {{
            url {{
                path /ok
                digest {digest}
                status_code 300-399
            }}
            virtualhost www.example.com
            connect_timeout 1
            retry 0
        }}"
    );
    let bad_digest = "        HTTP_GET {
            url {
                path /digest
                digest 00000000000000000000000000000000
                status_code 302
            }
            connect_timeout 1
            retry 0
        }";
    let default_codes = "        HTTP_GET {
            url {
                path /default
            }
            connect_timeout 1
            retry 0
        }";
    let text = format!(
        "virtual_server 127.0.0.10 80 {{\n    protocol TCP\n{FAST}\n    real_server 127.0.0.1 {p} {{\n{ok}\n{bad_digest}\n{default_codes}\n    }}\n}}\n",
        p = target.port
    );
    let prober = Prober::start(&text);
    let base = format!("HTTP_GET:127.0.0.1:{}", target.port);
    let t = wait_verdict(
        &prober,
        &format!("{base}#2"),
        Verdict::Down,
        Duration::from_secs(4),
    )
    .await;
    assert_eq!(
        last_reason(&t),
        (
            FailureReason::DigestMismatch as i32,
            "digest mismatch".into()
        )
    );
    let t = wait_verdict(
        &prober,
        &format!("{base}#3"),
        Verdict::Down,
        Duration::from_secs(4),
    )
    .await;
    assert_eq!(
        last_reason(&t),
        (FailureReason::StatusCode as i32, "status 302".into())
    );
    assert_eq!(
        t.real_server_verdict,
        Verdict::Down as i32,
        "one checker down: server down"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let t = prober.target(&base);
    assert_eq!(t.verdict, Verdict::Up as i32);
    assert!(t.last_result.unwrap().success);
    let requests = target.requests();
    let ok_request = requests
        .iter()
        .find(|r| r.starts_with(b"GET /ok "))
        .expect("the /ok url was fetched");
    assert_eq!(
        String::from_utf8_lossy(ok_request),
        "GET /ok HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: www.example.com\r\n\r\n"
    );
    let default_request = requests
        .iter()
        .find(|r| r.starts_with(b"GET /default "))
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(default_request),
        format!(
            "GET /default HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127.0.0.1:{}\r\n\r\n",
            target.port
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_check_down_on_refused_and_up_again() {
    let target = HttpTarget::start().await;
    let body = "        TCP_CHECK {\n            connect_timeout 1\n            retry 1\n            delay_before_retry 1\n        }";
    let prober = Prober::start(&config(FAST, &[(target.port, body)]));
    let id = format!("TCP_CHECK:127.0.0.1:{}", target.port);
    wait_hits(&target, 1, Duration::from_secs(4)).await;
    target.stop();
    let mut watch = prober.watch();
    let (_, change) = next_change(&mut watch, Duration::from_secs(6)).await;
    assert_eq!(change.to, Verdict::Down as i32);
    assert_eq!(change.attempts.len(), 2, "retry 1: two attempts");
    assert!(
        change
            .attempts
            .iter()
            .all(|a| a.reason == FailureReason::Refused as i32)
    );
    assert_eq!(change.mail_body, "=> TCP CHECK failed on service <=");
    target.restart().await;
    let (_, change) = next_change(&mut watch, Duration::from_secs(6)).await;
    assert_eq!(
        change.to,
        Verdict::Up as i32,
        "one success brings TCP_CHECK up"
    );
    assert_eq!(prober.target(&id).verdict, Verdict::Up as i32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssl_get_up_with_a_self_signed_certificate_down_on_tls_error_and_refused() {
    let cert = rcgen::generate_simple_self_signed(vec!["www.example.com".into()]).unwrap();
    let cert_der = cert.cert.der().clone();
    let key_der =
        rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
    let server_config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert_der], key_der)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(server_config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let tls_port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let mut tls = BufReader::new(tls);
                let mut line = String::new();
                while tls.read_line(&mut line).await.is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let _ = tls
                    .get_mut()
                    .write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    .await;
                let _ = tls.get_mut().shutdown().await;
            });
        }
    });
    // A server that answers in plain text where SSL_GET expects TLS: a TLS error.
    let plain_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let plain_port = plain_listener.local_addr().unwrap().port();
    let _plain = tokio::spawn(async move {
        loop {
            let (mut stream, _) = plain_listener.accept().await.unwrap();
            let _ = stream.write_all(b"HTTP/1.0 400 Bad Request\r\n\r\n").await;
        }
    });
    let ssl = "        SSL_GET {\n            url {\n                path /\n            }\n            connect_timeout 1\n            retry 0\n        }";
    let prober = Prober::start(&config(FAST, &[(tls_port, ssl), (plain_port, ssl)]));
    let tls_id = format!("SSL_GET:127.0.0.1:{tls_port}");
    let plain_id = format!("SSL_GET:127.0.0.1:{plain_port}");
    let t = wait_verdict(&prober, &plain_id, Verdict::Down, Duration::from_secs(4)).await;
    assert_eq!(last_reason(&t).0, FailureReason::TlsError as i32, "{t:?}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let t = prober.target(&tls_id);
    assert_eq!(t.verdict, Verdict::Up as i32, "{t:?}");
    assert!(t.last_result.unwrap().success);
    server.abort();
    let t = wait_verdict(&prober, &tls_id, Verdict::Down, Duration::from_secs(5)).await;
    assert_eq!(last_reason(&t).0, FailureReason::Refused as i32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misc_check_exit_statuses_dynamic_weight_and_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("status");
    std::fs::write(&flag, "0").unwrap();
    let misc = |cmd: &str, extra: &str| {
        format!("        MISC_CHECK {{\n            misc_path \"{cmd}\"\n{extra}\n        }}")
    };
    let switchable = misc(&format!("/bin/sh -c 'exit $(cat {})'", flag.display()), "");
    let dynamic = misc("/bin/sh -c 'exit 5'", "            misc_dynamic");
    let not_dynamic = misc("/bin/sh -c 'exit 5'", "");
    let slow = misc("sleep 5", "            misc_timeout 1");
    let prober = Prober::start(&config(
        FAST,
        &[
            (1001, &switchable),
            (1002, &dynamic),
            (1003, &not_dynamic),
            (1004, &slow),
        ],
    ));
    tokio::time::sleep(Duration::from_millis(1800)).await;
    let t = prober.target("MISC_CHECK:127.0.0.1:1001");
    assert_eq!(t.verdict, Verdict::Up as i32, "exit 0 is up");
    let t = prober.target("MISC_CHECK:127.0.0.1:1002");
    assert_eq!(
        (t.verdict, t.dynamic_weight),
        (Verdict::Up as i32, Some(3)),
        "misc_dynamic exit 5: weight 3"
    );
    let t = wait_verdict(
        &prober,
        "MISC_CHECK:127.0.0.1:1003",
        Verdict::Down,
        Duration::from_secs(3),
    )
    .await;
    assert_eq!(
        last_reason(&t),
        (FailureReason::ScriptExit as i32, "exit status 5".into())
    );
    let t = wait_verdict(
        &prober,
        "MISC_CHECK:127.0.0.1:1004",
        Verdict::Down,
        Duration::from_secs(4),
    )
    .await;
    assert_eq!(
        last_reason(&t),
        (FailureReason::Timeout as i32, "script timed out".into())
    );
    // exit 1 → down (MISC_CHECK retries 0 times by default); back to 0 → up.
    std::fs::write(&flag, "1").unwrap();
    let t = wait_verdict(
        &prober,
        "MISC_CHECK:127.0.0.1:1001",
        Verdict::Down,
        Duration::from_secs(4),
    )
    .await;
    assert_eq!(
        last_reason(&t),
        (FailureReason::ScriptExit as i32, "exit status 1".into())
    );
    std::fs::write(&flag, "0").unwrap();
    wait_verdict(
        &prober,
        "MISC_CHECK:127.0.0.1:1001",
        Verdict::Up,
        Duration::from_secs(4),
    )
    .await;
}

/// A tiny SMTP responder: banner, HELO reply and QUIT reply as given.
async fn smtp_server(banner: &'static str) -> (u16, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut stream = BufReader::new(stream);
                let _ = stream.get_mut().write_all(banner.as_bytes()).await;
                let mut line = String::new();
                while stream.read_line(&mut line).await.is_ok_and(|n| n > 0) {
                    let reply: &[u8] = if line.starts_with("HELO ") {
                        b"250 pleased to meet you\r\n"
                    } else {
                        b"221 bye\r\n"
                    };
                    let _ = stream.get_mut().write_all(reply).await;
                    line.clear();
                }
            });
        }
    });
    (port, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_check_up_on_220_250_and_down_on_a_bad_banner_or_refused() {
    let (good, good_task) = smtp_server("220 mail ESMTP\r\n").await;
    let (bad, _bad_task) = smtp_server("554 go away\r\n").await;
    let smtp =
        "        SMTP_CHECK {\n            connect_timeout 1\n            retry 0\n        }";
    let prober = Prober::start(&config(FAST, &[(good, smtp), (bad, smtp)]));
    let t = wait_verdict(
        &prober,
        &format!("SMTP_CHECK:127.0.0.1:{bad}"),
        Verdict::Down,
        Duration::from_secs(4),
    )
    .await;
    assert_eq!(
        last_reason(&t),
        (FailureReason::Protocol as i32, "Bad greeting banner".into())
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let id = format!("SMTP_CHECK:127.0.0.1:{good}");
    assert_eq!(prober.target(&id).verdict, Verdict::Up as i32);
    good_task.abort();
    let t = wait_verdict(&prober, &id, Verdict::Down, Duration::from_secs(5)).await;
    assert_eq!(last_reason(&t).0, FailureReason::Refused as i32);
}

/// A tiny DNS responder answering every query with `rcode`.
async fn dns_server(rcode: u8) -> (u16, tokio::task::JoinHandle<()>) {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = socket.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let mut buf = [0u8; 512];
        loop {
            let (n, peer) = socket.recv_from(&mut buf).await.unwrap();
            let mut reply = buf[..n].to_vec();
            reply[2] |= 0x80; // QR
            reply[3] = (reply[3] & 0xf0) | rcode;
            let _ = socket.send_to(&reply, peer).await;
        }
    });
    (port, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_check_up_on_noerror_down_on_servfail() {
    let (ok, _ok_task) = dns_server(0).await;
    let (fail, _fail_task) = dns_server(2).await;
    let dns = "        DNS_CHECK {\n            type A\n            name example.com\n            connect_timeout 1\n            retry 0\n        }";
    let text = config(FAST, &[(ok, dns), (fail, dns)])
        .replace(
            "virtual_server 127.0.0.10 80 {",
            "virtual_server 127.0.0.10 53 {",
        )
        .replace("    protocol TCP", "    protocol UDP");
    let prober = Prober::start(&text);
    let t = wait_verdict(
        &prober,
        &format!("DNS_CHECK:127.0.0.1:{fail}"),
        Verdict::Down,
        Duration::from_secs(4),
    )
    .await;
    assert_eq!(
        last_reason(&t),
        (
            FailureReason::Protocol as i32,
            "read error occurred. (rcode = 2)".into()
        )
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let t = prober.target(&format!("DNS_CHECK:127.0.0.1:{ok}"));
    assert_eq!(t.verdict, Verdict::Up as i32);
    assert!(t.last_result.unwrap().success);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_check_needs_a_matching_reply_and_fails_on_port_unreachable() {
    let echo = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = echo.local_addr().unwrap().port();
    let echo_task = tokio::spawn(async move {
        let mut buf = [0u8; 512];
        loop {
            let (n, peer) = echo.recv_from(&mut buf).await.unwrap();
            let _ = echo.send_to(&buf[..n], peer).await;
        }
    });
    let closed = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let udp = "        UDP_CHECK {\n            payload 6b61\n            require_reply 6b\n            connect_timeout 1\n            retry 0\n        }";
    let text = config(FAST, &[(port, udp), (closed_port, udp)])
        .replace("    protocol TCP", "    protocol UDP");
    let prober = Prober::start(&text);
    let t = wait_verdict(
        &prober,
        &format!("UDP_CHECK:127.0.0.1:{closed_port}"),
        Verdict::Down,
        Duration::from_secs(4),
    )
    .await;
    assert_eq!(last_reason(&t).0, FailureReason::Refused as i32, "{t:?}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let id = format!("UDP_CHECK:127.0.0.1:{port}");
    assert_eq!(prober.target(&id).verdict, Verdict::Up as i32);
    echo_task.abort();
    let t = wait_verdict(&prober, &id, Verdict::Down, Duration::from_secs(5)).await;
    assert!(!t.last_result.unwrap().success);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_check_follows_its_track_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("weight");
    std::fs::write(&file, "0\n").unwrap();
    let text = format!(
        "track_file tf {{\n    file {}\n    weight 0\n}}\n{}",
        file.display(),
        config(
            FAST,
            &[(
                80,
                "        FILE_CHECK {\n            track_file tf\n        }"
            )]
        )
    );
    let prober = Prober::start(&text);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        prober.target("FILE_CHECK:127.0.0.1:80").verdict,
        Verdict::Up as i32
    );
    std::fs::write(&file, "1\n").unwrap();
    let t = wait_verdict(
        &prober,
        "FILE_CHECK:127.0.0.1:80",
        Verdict::Down,
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(last_reason(&t).0, FailureReason::File as i32);
}

/// Past misc_timeout the script's whole process group gets SIGTERM, then
/// SIGKILL 2 s later: a script that ignores SIGTERM, and what it started,
/// are gone, and the verdict says it timed out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misc_check_timeout_terminates_the_script_s_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let child_pid = dir.path().join("child");
    let script = dir.path().join("stubborn.sh");
    std::fs::write(
        &script,
        format!(
            "trap '' TERM\nsleep 30 &\necho $! >> {}\nwait\n",
            child_pid.display()
        ),
    )
    .unwrap();
    let body = format!(
        // exec: the process signalled is the script itself, which ignores SIGTERM.
        "        MISC_CHECK {{\n            misc_path \"exec /bin/sh {}\"\n            misc_timeout 1\n        }}",
        script.display()
    );
    let prober = Prober::start(&config(FAST, &[(1005, &body)]));
    let started = tokio::time::Instant::now();
    let t = wait_verdict(
        &prober,
        "MISC_CHECK:127.0.0.1:1005",
        Verdict::Down,
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(
        last_reason(&t),
        (FailureReason::Timeout as i32, "script timed out".into())
    );
    // First run at 1 s, SIGTERM (ignored) at 2 s, SIGKILL at 4 s.
    assert!(
        started.elapsed() >= Duration::from_millis(3500),
        "SIGKILL only after the 2 s grace, not at the timeout: {:?}",
        started.elapsed()
    );
    // The first run's child (later runs append theirs).
    let pid: u32 = std::fs::read_to_string(&child_pid)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // The background child died with the group (gone, or a zombie awaiting its reaper).
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit(')')
                .next()
                .map(|r| r.trim().chars().next().unwrap_or('?'))
        });
    assert!(
        matches!(state, None | Some('Z') | Some('X')),
        "the script's child {pid} survived: state {state:?}"
    );
}

/// misc_dynamic: a new weight while the verdict holds is published at once
/// (from == to), so ipvs-manager changes the weight as keepalived does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misc_dynamic_weight_changes_are_published_while_the_verdict_holds() {
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("status");
    std::fs::write(&flag, "5").unwrap();
    let body = format!(
        "        MISC_CHECK {{\n            misc_path \"/bin/sh -c 'exit $(cat {})'\"\n            misc_dynamic\n        }}",
        flag.display()
    );
    let prober = Prober::start(&config(FAST, &[(1006, &body)]));
    let mut watch = prober.watch();
    let weight_of = |c: &keepalived_api::v1::TargetChange| {
        (
            c.from,
            c.to,
            c.target.as_ref().and_then(|t| t.dynamic_weight),
        )
    };
    let (_, change) = next_change(&mut watch, Duration::from_secs(4)).await;
    let up = Verdict::Up as i32;
    assert_eq!(weight_of(&change), (up, up, Some(3)), "exit 5: weight 3");
    std::fs::write(&flag, "7").unwrap();
    let (_, change) = next_change(&mut watch, Duration::from_secs(4)).await;
    assert_eq!(weight_of(&change), (up, up, Some(5)), "exit 7: weight 5");
}

/// FILE_CHECK with a weight: value × weight is the real server's extra
/// weight, published on the bus as it moves; at −254 or below it is DOWN.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_check_with_a_weight_publishes_its_offset_then_goes_down_at_the_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("load");
    std::fs::write(&file, "2\n").unwrap();
    let text = format!(
        "track_file tf {{\n    file {}\n    weight -10\n}}\n{}",
        file.display(),
        config(
            FAST,
            &[(
                81,
                "        FILE_CHECK {\n            track_file tf\n        }"
            )]
        )
    );
    let prober = Prober::start(&text);
    let mut watch = prober.watch();
    let offset_of = |c: &keepalived_api::v1::TargetChange| {
        (c.to, c.target.as_ref().and_then(|t| t.weight_offset))
    };
    let up = Verdict::Up as i32;
    let (_, change) = next_change(&mut watch, Duration::from_secs(4)).await;
    assert_eq!(offset_of(&change), (up, Some(-20)), "2 × -10");
    std::fs::write(&file, "5\n").unwrap();
    let (_, change) = next_change(&mut watch, Duration::from_secs(4)).await;
    assert_eq!(offset_of(&change), (up, Some(-50)), "5 × -10, still up");
    std::fs::write(&file, "30\n").unwrap();
    let (_, change) = next_change(&mut watch, Duration::from_secs(4)).await;
    assert_eq!(
        offset_of(&change),
        (Verdict::Down as i32, None),
        "-300 is past the fault threshold"
    );
}
