//! Real-server mails per checker kind, byte for byte as keepalived 2.2.7's.
//!
//! The body of a real server's mail is the checker's own text, which the
//! health-prober words (`health_prober::words::mail`, the one owner) and
//! ipvs-manager passes on with the kernel change; the notifier puts it under
//! `smtp_alert`'s subject (smtp.c:610-614) in the DATA section of
//! `SMTP_HEADERS_CMD SMTP_BODY_CMD SMTP_SEND_CMD` (smtp.h:103-106).
//!
//! The first tests take the prober's words and this crate's mail for each
//! checker kind; the last one sends them the whole way: a mock health-prober
//! over gRPC, a real ipvs-manager engine (an in-memory table for the
//! kernel), its Ipvs.Watch, the notifier, an SMTP sink.

mod common;

use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use common::*;
use health_prober::outcome::Failure;
use health_prober::spec::TargetSpec;
use health_prober::words;
use keepalived_api::v1;
use keepalived_bus::{Backoff, BusMetrics, Producer, Subscriber};
use notifier::mail;
use notifier::notice::{RsName, VsName};

const DATE: &str = "Sat, 28 Nov 2026 15:33:29 +0000";

/// The check target of `checker` on real server 203.0.113.12:80 of
/// virtual server 198.51.100.10:80/tcp, as the prober builds it.
fn spec(checker: &str) -> TargetSpec {
    let text = format!(
        "track_file down_file {{\n file /tmp/down\n}}\n\
         virtual_server 198.51.100.10 80 {{\n delay_loop 2\n protocol TCP\n\
         real_server 203.0.113.12 80 {{\n{checker}\n}}\n}}\n"
    );
    let config = keepalived_config::load_str(&text, Path::new("/tmp/k.conf"), &Default::default())
        .unwrap()
        .config;
    health_prober::spec::build(&config).remove(0)
}

/// The DATA section the notifier sends for this checker's transition to
/// `up`, or `None` when it sends no mail.
fn our_mail(checker: &str, up: bool, failure: Option<Failure>) -> Option<String> {
    let spec = spec(checker);
    let (body, reason) = words::mail(&spec, up, failure.as_ref());
    let rs = RsName {
        vs: VsName::Addr {
            ip: "198.51.100.10".into(),
            port: 80,
            protocol: "tcp".into(),
        },
        ip: "203.0.113.12".into(),
        port: 80,
    };
    let (subject, body) = mail::real_server("keepalivedR1", &rs, up, Some(&body), &reason)?;
    Some(mail::data(
        DATE,
        "keepalived@localhost",
        &subject,
        &["root@localhost".to_owned()],
        &body,
    ))
}

/// keepalived 2.2.7's DATA section: smtp.h:103-106 around the subject of
/// smtp.c:610-614 (`UP`/`DOWN` from `rs->alive`) and the checker's `body`.
fn keepalived(state: &str, body: &str) -> Option<String> {
    Some(format!(
        "Date: Sat, 28 Nov 2026 15:33:29 +0000\r\n\
         From: keepalived@localhost\r\n\
         Subject: [keepalivedR1] Realserver [203.0.113.12]:tcp:80 of virtual server [198.51.100.10]:tcp:80 - {state}\r\n\
         X-Mailer: Keepalived\r\n\
         To: root@localhost\r\n\
         \r\n\
         {body}\r\n\
         \r\n\
         .\r\n"
    ))
}

#[test]
fn http_get_mails_are_keepalived_2_2_7s() {
    let c = "HTTP_GET {\n url {\n path /\n status_code 200\n }\n }";
    // check_http.c:1034-1036, whatever failed (status, connect, read…).
    assert_eq!(
        our_mail(c, false, Some(Failure::Status(500))),
        keepalived(
            "DOWN",
            "=> CHECK failed on service : HTTP request failed <="
        )
    );
    assert_eq!(
        our_mail(c, false, Some(Failure::ConnectTimeout)),
        keepalived(
            "DOWN",
            "=> CHECK failed on service : HTTP request failed <="
        )
    );
    // check_http.c:1001-1002.
    assert_eq!(
        our_mail(c, true, None),
        keepalived("UP", "=> CHECK succeed on service <=")
    );
}

#[test]
fn ssl_get_mails_are_keepalived_2_2_7s() {
    // SSL_GET runs check_http.c's epilog (check_ssl.c has no smtp_alert):
    // check_http.c:1034-1036 and :1001-1002.
    let c = "SSL_GET {\n url {\n path /\n status_code 200\n }\n }";
    assert_eq!(
        our_mail(c, false, Some(Failure::Tls("handshake".into()))),
        keepalived(
            "DOWN",
            "=> CHECK failed on service : HTTP request failed <="
        )
    );
    assert_eq!(
        our_mail(c, true, None),
        keepalived("UP", "=> CHECK succeed on service <=")
    );
}

#[test]
fn tcp_check_mails_are_keepalived_2_2_7s() {
    let c = "TCP_CHECK {\n connect_timeout 1\n }";
    // check_tcp.c:130-131: no failure detail in the body.
    assert_eq!(
        our_mail(c, false, Some(Failure::Refused)),
        keepalived("DOWN", "=> TCP CHECK failed on service <=")
    );
    // check_tcp.c:112-113.
    assert_eq!(
        our_mail(c, true, None),
        keepalived("UP", "=> TCP CHECK succeed on service <=")
    );
}

#[test]
fn misc_check_mails_are_keepalived_2_2_7s() {
    let c = "MISC_CHECK {\n misc_path \"/bin/check.sh arg\"\n }";
    // check_misc.c:489 with script_exit_type "failed" (:392, :427).
    assert_eq!(
        our_mail(c, false, Some(Failure::ScriptExit(1))),
        keepalived("DOWN", "=> MISC CHECK failed on service <=")
    );
    assert_eq!(
        our_mail(c, false, Some(Failure::ScriptSignal(9))),
        keepalived("DOWN", "=> MISC CHECK failed on service <=")
    );
    // check_misc.c:425: killed after misc_timeout.
    assert_eq!(
        our_mail(c, false, Some(Failure::ScriptTimeout)),
        keepalived("DOWN", "=> MISC CHECK timed out on service <=")
    );
    // check_misc.c:386.
    assert_eq!(
        our_mail(c, true, None),
        keepalived("UP", "=> MISC CHECK succeeded on service <=")
    );
}

#[test]
fn smtp_check_mails_are_keepalived_2_2_7s() {
    let c = "SMTP_CHECK {\n connect_port 2525\n }";
    // check_smtp.c:374-376: smtp_final's format inside the body, with
    // FMT_SMTP_RS = `[IP]:PORT` of the checked address (check_smtp.h:60);
    // a refused connect is connect_fail (layer4.c:213), check_smtp.c:722.
    assert_eq!(
        our_mail(c, false, Some(Failure::Refused)),
        keepalived(
            "DOWN",
            "=> CHECK failed on service : Could not connect to server [203.0.113.12]:2525 <="
        )
    );
    // check_smtp.c:670.
    assert_eq!(
        our_mail(
            c,
            false,
            Some(Failure::Protocol("Bad HELO response".into()))
        ),
        keepalived(
            "DOWN",
            "=> CHECK failed on service : Bad HELO response from server [203.0.113.12]:2525 <="
        )
    );
    // check_smtp.c:416-417.
    assert_eq!(
        our_mail(c, true, None),
        keepalived("UP", "=> CHECK succeed on service <=")
    );
}

#[test]
fn dns_check_mails_are_keepalived_2_2_7s() {
    let c = "DNS_CHECK {\n name example.com\n }";
    // check_dns.c:147-148 and :157-158 (the colon is keepalived's).
    assert_eq!(
        our_mail(c, false, Some(Failure::ReadTimeout)),
        keepalived("DOWN", "=> DNS_CHECK: failed on service <=")
    );
    assert_eq!(
        our_mail(c, true, None),
        keepalived("UP", "=> DNS_CHECK: succeed on service <=")
    );
}

#[test]
fn udp_check_mails_are_keepalived_2_2_7s() {
    let c = "UDP_CHECK {\n connect_timeout 1\n }";
    // check_udp.c:238-239 and :220-221.
    assert_eq!(
        our_mail(c, false, Some(Failure::Refused)),
        keepalived("DOWN", "=> UDP CHECK failed on service <=")
    );
    assert_eq!(
        our_mail(c, true, None),
        keepalived("UP", "=> UDP CHECK succeed on service <=")
    );
}

#[test]
fn ping_check_mails_are_keepalived_2_2_7s() {
    let c = "PING_CHECK {\n connect_timeout 1\n }";
    // check_ping.c:313-314 and :295-296: keepalived says ICMP.
    assert_eq!(
        our_mail(c, false, Some(Failure::ReadTimeout)),
        keepalived("DOWN", "=> ICMP CHECK failed on service <=")
    );
    assert_eq!(
        our_mail(c, true, None),
        keepalived("UP", "=> ICMP CHECK succeed on service <=")
    );
}

#[test]
fn file_check_sends_no_mail_as_keepalived_2_2_7() {
    // trackers/track_file.c:600-614 changes the checker's state with
    // update_svr_checker_state() and calls no smtp_alert; check_file.c has
    // none either, and ipwrapper.c:215 leaves mail to the checkers.
    let c = "FILE_CHECK {\n track_file down_file\n }";
    assert_eq!(
        our_mail(c, false, Some(Failure::File("/tmp/down holds 1".into()))),
        None
    );
    assert_eq!(our_mail(c, true, None), None);
}

/// The TargetChange the prober publishes when `spec` turns `up` (or down
/// with `failure`): its Target as the prober's engine shows it, and the
/// prober's words (health-prober engine.rs builds it the same way).
fn verdict_change(spec: &TargetSpec, up: bool, failure: Option<Failure>) -> v1::HealthEvent {
    let verdict = |up: bool| {
        if up {
            v1::Verdict::Up
        } else {
            v1::Verdict::Down
        }
    };
    let virtual_servers = spec
        .virtual_servers
        .iter()
        .map(|v| match v.key {
            keepalived_config::VsKey::Addr { ip, port } => v1::VirtualServerKey {
                kind: Some(v1::virtual_server_key::Kind::AddressPort(v1::AddressPort {
                    address: ip.to_string(),
                    port: u32::from(port),
                })),
                protocol: v1::Protocol::Tcp as i32,
            },
            ref other => panic!("not an address: {other:?}"),
        })
        .collect();
    let (mail_body, reason) = words::mail(spec, up, failure.as_ref());
    v1::HealthEvent {
        header: None,
        payload: Some(v1::health_event::Payload::TargetChanged(v1::TargetChange {
            target: Some(v1::Target {
                id: spec.id.clone(),
                checker: words::api_checker_name(&spec.checker.kind).to_owned(),
                real_server: Some(v1::AddressPort {
                    address: spec.real_server.ip().to_string(),
                    port: u32::from(spec.real_server.port()),
                }),
                virtual_servers,
                verdict: verdict(up) as i32,
                real_server_verdict: verdict(up) as i32,
                ..Default::default()
            }),
            from: verdict(!up) as i32,
            to: verdict(up) as i32,
            reason,
            mail_body,
            ..Default::default()
        })),
    }
}

const CHAIN_CONFIG: &str = r#"
global_defs {
    notification_email { root@localhost }
    notification_email_from keepalived@localhost
    smtp_server 127.0.0.1 SMTP_PORT
    smtp_connect_timeout 5
    router_id keepalivedR1
}
track_file down_file {
    file /tmp/keepalived-rs-test-down
}
virtual_server 198.51.100.10 80 {
    protocol TCP
    real_server 203.0.113.12 80 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 203.0.113.13 80 {
        FILE_CHECK {
            track_file down_file
        }
    }
    real_server 203.0.113.14 80 {
        SMTP_CHECK {
            connect_port 2525
        }
    }
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_probers_words_reach_the_mail_unchanged_through_ipvs_manager() {
    let sink = SmtpSink::start("127.0.0.1:0").await;
    let dir = tempfile::tempdir().unwrap();
    let text = CHAIN_CONFIG.replace("SMTP_PORT", &sink.addr.port().to_string());
    let settings = settings(dir.path(), &text);
    let config =
        keepalived_config::load_file(&dir.path().join("keepalived.conf"), &Default::default())
            .unwrap()
            .config;
    let specs = health_prober::spec::build(&config);
    let spec_of = |rs: &str| {
        specs
            .iter()
            .find(|s| s.real_server.ip().to_string() == rs)
            .unwrap()
            .clone()
    };

    // The notifier follows the mock upstreams; ipvs-manager's engine
    // publishes into the mock ipvs-manager's producer.
    let up = Upstreams::start(64).await;
    let _notifier = start_engine(settings, options(&dir.path().join("spool")), &up);

    // A mock health-prober: its Watch serves what the test publishes.
    let health_metrics = BusMetrics::default();
    let health = Producer::new("health-prober@test", 64, health_metrics.clone(), || {
        v1::HealthEvent {
            header: None,
            payload: Some(v1::health_event::Payload::Snapshot(Default::default())),
        }
    });
    let (health_addr, _health_task) = keepalived_tests::serve_health_producer(health.clone()).await;

    // ipvs-manager's engine on its own thread, fed by a bus subscription to
    // the prober as its main() does.
    let engine = ipvs_manager::engine::Engine::start(
        Box::new(
            ipvs_manager::backend::memory::MemoryBackend::new(
                ipvs_manager::backend::memory::MemoryKind::Nft,
            )
            .0,
        ),
        Some(&config),
        ipvs_manager::engine::Settings {
            policy: ipvs_manager::health::Policy::Majority,
            resync: Duration::from_secs(3600),
        },
        Arc::new(RwLock::new(ipvs_manager::view::View::default())),
        up.ipvs.clone(),
        Default::default(),
    )
    .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let engine_thread = std::thread::spawn(move || engine.run(rx));
    let mut subscriber = Subscriber::start(
        keepalived_bus::Upstreams::Static(vec![format!("tcp://{health_addr}")]),
        keepalived_bus::watch_connector::<v1::HealthEvent>("ipvs-manager@test"),
        Backoff::default(),
    );
    let health_tx = tx.clone();
    let forward = tokio::spawn(async move {
        while let Some(update) = subscriber.updates.recv().await {
            let input = ipvs_manager::engine::Input::Health(Box::new(update));
            if health_tx.send(input).is_err() {
                return;
            }
        }
    });
    let watchers = health_metrics.watchers.clone();
    eventually(
        Duration::from_secs(20),
        "ipvs-manager to watch the prober",
        || watchers.get() == 1,
    )
    .await;
    up.wait_watchers(1).await;

    let tcp = spec_of("203.0.113.12");
    let file = spec_of("203.0.113.13");
    let smtp = spec_of("203.0.113.14");
    let published = [
        (&tcp, false, Some(Failure::Refused)),
        (&smtp, false, Some(Failure::ConnectTimeout)),
        (&file, false, Some(Failure::File("holds 1".into()))),
        (&tcp, true, None),
    ];
    for (spec, is_up, failure) in &published {
        health.publish(verdict_change(spec, *is_up, failure.clone()));
    }

    // Three mails, in event order on the one mail lane; FILE_CHECK's change
    // (before the last one) mails nothing.
    let sessions = sink.wait_for(3, Duration::from_secs(30)).await;
    let bodies: Vec<String> = sessions
        .iter()
        .map(|s| {
            let data = s.split("\r\n\r\n").nth(1).unwrap();
            data.to_owned()
        })
        .collect();
    let words_of = |(spec, is_up, failure): &(&TargetSpec, bool, Option<Failure>)| {
        words::mail(spec, *is_up, failure.as_ref()).0
    };
    assert_eq!(words_of(&published[2]), "", "FILE_CHECK has no words");
    assert_eq!(
        bodies,
        [
            words_of(&published[0]),
            words_of(&published[1]),
            words_of(&published[3])
        ],
        "{sessions:#?}"
    );
    // And those words are keepalived's (check_tcp.c:131, check_smtp.c:717, check_tcp.c:113).
    assert_eq!(
        bodies,
        [
            "=> TCP CHECK failed on service <=",
            "=> CHECK failed on service : Connection timeout to server [203.0.113.14]:2525 <=",
            "=> TCP CHECK succeed on service <=",
        ]
    );
    let subjects: Vec<&str> = sessions
        .iter()
        .map(|s| s.lines().find_map(|l| l.strip_prefix("Subject: ")).unwrap())
        .collect();
    assert_eq!(
        subjects,
        [
            "[keepalivedR1] Realserver [203.0.113.12]:tcp:80 of virtual server [198.51.100.10]:tcp:80 - DOWN",
            "[keepalivedR1] Realserver [203.0.113.14]:tcp:80 of virtual server [198.51.100.10]:tcp:80 - DOWN",
            "[keepalivedR1] Realserver [203.0.113.12]:tcp:80 of virtual server [198.51.100.10]:tcp:80 - UP",
        ]
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.sessions().len(), 3, "no fourth mail (FILE_CHECK)");

    forward.abort();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    tx.send(ipvs_manager::engine::Input::Shutdown(done_tx))
        .unwrap();
    done_rx.await.unwrap();
    let _ = tokio::task::spawn_blocking(move || engine_thread.join()).await;
}
