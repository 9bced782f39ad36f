//! Webhooks end to end: signed JSON payloads a receiver verifies, per-endpoint
//! event filters, and a 5xx retried until it succeeds.

mod common;

use std::time::Duration;

use common::*;
use keepalived_api::v1;
use keepalived_api::v1::RealServerChangeKind as Rs;
use keepalived_api::v1::VrrpState as S;
use notifier::webhook::{WebhookSpec, signature};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiver_verifies_signed_payloads_and_a_5xx_is_retried() {
    let hook = WebhookReceiver::start(2).await;
    let filtered = WebhookReceiver::start(0).await;
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "s3cret\n").unwrap();
    let mut settings = settings(dir.path(), "global_defs { router_id keepalivedR1 }\n");
    settings.webhooks = vec![
        format!("{},secret-file={}", hook.url, secret.display())
            .parse::<WebhookSpec>()
            .unwrap(),
        format!("{},events=realserver", filtered.url)
            .parse()
            .unwrap(),
    ];
    let up = Upstreams::start(64).await;
    let engine = start_engine(settings, options(&dir.path().join("spool")), &up);
    up.wait_watchers(1).await;
    up.vrrp
        .publish(transition("VI_1", S::Backup, S::Master, 100));
    // The two producers race into the notifier; order them by waiting.
    eventually(Duration::from_secs(20), "a first attempt", || {
        hook.count() >= 1
    })
    .await;
    up.ipvs.publish(rs_change(
        "203.0.113.12",
        Rs::Removed,
        "HTTP request failed",
    ));

    // Two 503s, then both payloads: four requests, the first three for the
    // VRRP event (same delivery id each time); the real-server event waits
    // behind it on the endpoint's lane.
    eventually(Duration::from_secs(20), "four requests", || {
        hook.count() >= 4
    })
    .await;
    let got = hook.received();
    assert_eq!(
        got.iter().map(|r| r.status).collect::<Vec<_>>(),
        [503, 503, 200, 200]
    );
    assert_eq!(
        got[0].delivery, got[2].delivery,
        "a retry is the same delivery"
    );
    assert_ne!(got[2].delivery, got[3].delivery);
    for r in &got {
        assert_eq!(
            r.signature.as_deref(),
            Some(signature(b"s3cret", &r.body).as_str()),
            "signature verifies"
        );
    }
    let vrrp: serde_json::Value = serde_json::from_slice(&got[2].body).unwrap();
    assert_eq!(vrrp["event"], "vrrp");
    assert_eq!(vrrp["instance"], "VI_1");
    assert_eq!(
        (vrrp["old_state"].as_str(), vrrp["new_state"].as_str()),
        (Some("BACKUP"), Some("MASTER"))
    );
    assert_eq!(vrrp["router_id"], "keepalivedR1");
    let rs: serde_json::Value = serde_json::from_slice(&got[3].body).unwrap();
    assert_eq!(rs["event"], "realserver");
    assert_eq!(rs["real_server"], "[203.0.113.12]:tcp:80");
    assert_eq!(rs["virtual_server"], "[198.51.100.10]:tcp:80");
    assert_eq!(rs["new_state"], "DOWN");
    assert_eq!(rs["reason"], "HTTP request failed");

    // The filtered endpoint got only the real-server event, unsigned.
    eventually(Duration::from_secs(10), "the filtered hook", || {
        filtered.count() >= 1
    })
    .await;
    let only = filtered.received();
    assert_eq!(only.len(), 1);
    assert!(only[0].signature.is_none());
    assert!(String::from_utf8_lossy(&only[0].body).contains("\"realserver\""));

    // The API showed the retries.
    let store = engine.store();
    let d = store
        .lock()
        .unwrap()
        .by_id(&got[0].delivery)
        .map(|r| r.to_proto())
        .unwrap();
    assert_eq!(d.state, v1::DeliveryState::Delivered as i32);
    assert_eq!(d.attempts, 3);
    assert!(d.last_error.contains("503"), "{}", d.last_error);
}
