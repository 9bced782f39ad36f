//! Mail delivery end to end: keepalived 2.2.7's dialogue byte for byte, mails
//! that wait for a down SMTP server, and a killed notifier that delivers
//! everything exactly once after its restart.

mod common;

use std::time::Duration;

use common::*;
use keepalived_api::v1;
use keepalived_api::v1::RealServerChangeKind as Rs;
use keepalived_api::v1::VrrpState as S;

fn config(smtp_port: u16, extra_global: &str) -> String {
    format!(
        r#"
global_defs {{
    notification_email {{ root@localhost }}
    notification_email_from keepalived@localhost
    smtp_server 127.0.0.1 {smtp_port}
    smtp_connect_timeout 5
    router_id keepalivedR1
    {extra_global}
}}
vrrp_instance VI_1 {{
    state MASTER
    interface eth0
    virtual_router_id 3
    priority 99
    virtual_ipaddress {{ 198.51.100.120/24 }}
}}
virtual_server 198.51.100.10 80 {{
    protocol TCP
    real_server 203.0.113.12 80 {{
        HTTP_GET {{ url {{ path / status_code 200 }} connect_timeout 2 }}
    }}
}}
"#
    )
}

fn dialogue(subject: &str, body: &str) -> String {
    format!(
        "HELO localhost\r\n\
         MAIL FROM:<keepalived@localhost>\r\n\
         RCPT TO:<root@localhost>\r\n\
         DATA\r\n\
         Date: DATE\r\n\
         From: keepalived@localhost\r\n\
         Subject: {subject}\r\n\
         X-Mailer: Keepalived\r\n\
         To: root@localhost\r\n\
         \r\n\
         {body}\r\n\
         \r\n\
         .\r\n\
         QUIT\r\n"
    )
}

fn subject_of(session: &str) -> String {
    session
        .lines()
        .find_map(|l| l.strip_prefix("Subject: "))
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vrrp_transition_and_real_server_down_up_mail_keepalived_2_2_7_byte_for_byte() {
    let sink = SmtpSink::start("127.0.0.1:0").await;
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(dir.path(), &config(sink.addr.port(), "smtp_alert"));
    let up = Upstreams::start(64).await;
    let _engine = start_engine(settings, options(&dir.path().join("spool")), &up);
    up.wait_watchers(1).await;

    // keepalived's start-up BACKUP mail comes from the INIT → BACKUP transition.
    up.vrrp.publish(transition("VI_1", S::Init, S::Backup, 99));
    up.ipvs.publish(rs_change(
        "203.0.113.12",
        Rs::Removed,
        "HTTP request failed",
    ));
    up.ipvs.publish(rs_change("203.0.113.12", Rs::Added, ""));
    let sessions = sink.wait_for(3, Duration::from_secs(30)).await;
    let mut got: Vec<String> = sessions.iter().map(|s| without_date(s)).collect();
    // VRRP and ipvs mails share one lane, but the two producers' events race
    // into the notifier; within ipvs, DOWN precedes UP.
    got.sort_by_key(|s| subject_of(s).contains("Realserver"));
    assert_eq!(
        got[0],
        dialogue(
            "[keepalivedR1] VRRP Instance VI_1 - Entering BACKUP state",
            "=> VRRP Instance is no longer owning VRRP VIPs <="
        )
    );
    assert_eq!(
        got[1],
        dialogue(
            "[keepalivedR1] Realserver [203.0.113.12]:tcp:80 of virtual server [198.51.100.10]:tcp:80 - DOWN",
            "=> CHECK failed on service : HTTP request failed <="
        )
    );
    assert_eq!(
        got[2],
        dialogue(
            "[keepalivedR1] Realserver [203.0.113.12]:tcp:80 of virtual server [198.51.100.10]:tcp:80 - UP",
            "=> CHECK succeed on service <="
        )
    );
    // The Date is strftime("%a, %d %b %Y %H:%M:%S %z").
    let date = sessions[0]
        .lines()
        .find_map(|l| l.strip_prefix("Date: "))
        .unwrap();
    assert!(
        chrono::DateTime::parse_from_str(date, "%a, %d %b %Y %H:%M:%S %z").is_ok(),
        "{date}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vrrp_mails_need_smtp_alert_and_shutdown_sends_none() {
    let sink = SmtpSink::start("127.0.0.1:0").await;
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(dir.path(), &config(sink.addr.port(), ""));
    let up = Upstreams::start(64).await;
    let engine = start_engine(settings, options(&dir.path().join("spool")), &up);
    up.wait_watchers(1).await;
    up.vrrp
        .publish(transition("VI_1", S::Backup, S::Master, 99));
    up.vrrp.publish(transition("VI_1", S::Master, S::Stop, 99));
    // Shutdown removals carry no checker: no mail.
    let mut shutdown = rs_change("203.0.113.12", Rs::Removed, "");
    if let Some(v1::ipvs_event::Payload::RealServerChanged(c)) = &mut shutdown.payload {
        c.checker.clear();
    }
    up.ipvs.publish(shutdown);
    // A real-server DOWN still mails without any smtp_alert (2.2.7 default).
    up.ipvs.publish(rs_change(
        "203.0.113.12",
        Rs::Removed,
        "HTTP request failed",
    ));
    let sessions = sink.wait_for(1, Duration::from_secs(30)).await;
    assert!(subject_of(&sessions[0]).ends_with("- DOWN"));
    // Only that one delivery exists at all: nothing else is pending.
    let store = engine.store();
    let count = store.lock().unwrap().len();
    assert_eq!(count, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mails_wait_while_the_smtp_server_is_down_then_arrive_in_order() {
    let port = free_port().await;
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(dir.path(), &config(port, "smtp_alert"));
    let up = Upstreams::start(64).await;
    let engine = start_engine(settings, options(&dir.path().join("spool")), &up);
    up.wait_watchers(1).await;
    up.vrrp.publish(transition("VI_1", S::Init, S::Backup, 99));
    up.vrrp
        .publish(transition("VI_1", S::Backup, S::Master, 99));

    // The first mail retries (with its error and next attempt); the second
    // waits behind it.
    let store = engine.store();
    eventually(Duration::from_secs(20), "a retrying mail", || {
        let store = store.lock().unwrap();
        store.records().any(|r| {
            let d = r.to_proto();
            d.state == v1::DeliveryState::Retrying as i32
                && d.attempts >= 2
                && d.last_error
                    .contains("SMTP connection ERROR to [127.0.0.1]")
                && d.next_attempt.is_some()
        })
    })
    .await;
    let pending = store
        .lock()
        .unwrap()
        .records()
        .filter(|r| r.to_proto().state == v1::DeliveryState::Pending as i32)
        .count();
    assert_eq!(pending, 1, "the second mail waits behind the first");

    let sink = SmtpSink::start(&format!("127.0.0.1:{port}")).await;
    let sessions = sink.wait_for(2, Duration::from_secs(30)).await;
    assert_eq!(
        sessions.iter().map(|s| subject_of(s)).collect::<Vec<_>>(),
        [
            "[keepalivedR1] VRRP Instance VI_1 - Entering BACKUP state",
            "[keepalivedR1] VRRP Instance VI_1 - Entering MASTER state"
        ]
    );
    eventually(Duration::from_secs(10), "both delivered", || {
        store
            .lock()
            .unwrap()
            .records()
            .all(|r| r.to_proto().state == v1::DeliveryState::Delivered as i32)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_notifier_delivers_pending_mail_after_restart_exactly_once() {
    let port = free_port().await;
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("keepalived.conf");
    std::fs::write(&conf, config(port, "smtp_alert")).unwrap();
    let spool = dir.path().join("spool");
    let up = Upstreams::start(64).await;
    let args = [
        "--vrrp",
        &up.vrrp_addr,
        "--ipvs",
        &up.ipvs_addr,
        "--spool-dir",
        spool.to_str().unwrap(),
        "--retry-initial-ms",
        "100",
        "--retry-max-ms",
        "300",
    ];
    let mut first =
        keepalived_tests::ServiceProcess::start("notifier", dir.path(), &conf, &args, &[]);
    up.wait_watchers(1).await;
    up.vrrp.publish(transition("VI_1", S::Init, S::Backup, 99));
    up.vrrp
        .publish(transition("VI_1", S::Backup, S::Master, 99));
    up.ipvs.publish(rs_change(
        "203.0.113.12",
        Rs::Removed,
        "HTTP request failed",
    ));
    // All three are journalled (and none can be sent: no SMTP server).
    eventually(Duration::from_secs(20), "three spooled mails", || {
        notifier::spool::recover(&spool)
            .map(|(r, _)| r.records.len() == 3)
            .unwrap_or(false)
    })
    .await;
    first.kill();
    up.wait_watchers(0).await;

    let sink = SmtpSink::start(&format!("127.0.0.1:{port}")).await;
    let _second =
        keepalived_tests::ServiceProcess::start("notifier", dir.path(), &conf, &args, &[]);
    let sessions = sink.wait_for(3, Duration::from_secs(30)).await;
    // A new event after the restart is delivered too, once.
    up.wait_watchers(1).await;
    up.vrrp.publish(transition("VI_1", S::Master, S::Fault, 0));
    let sessions_after = sink.wait_for(4, Duration::from_secs(30)).await;
    assert!(sessions_after.len() >= sessions.len());
    // Nothing twice: give a duplicate every chance to show up.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut subjects: Vec<String> = sink.sessions().iter().map(|s| subject_of(s)).collect();
    subjects.sort();
    assert_eq!(
        subjects,
        [
            "[keepalivedR1] Realserver [203.0.113.12]:tcp:80 of virtual server [198.51.100.10]:tcp:80 - DOWN",
            "[keepalivedR1] VRRP Instance VI_1 - Entering BACKUP state",
            "[keepalivedR1] VRRP Instance VI_1 - Entering FAULT state",
            "[keepalivedR1] VRRP Instance VI_1 - Entering MASTER state",
        ]
    );
    let log = std::fs::read_to_string(dir.path().join("notifier.log")).unwrap();
    assert!(
        log.contains(&format!("Remote SMTP server [127.0.0.1]:{port} connected."))
            && log.contains("SMTP alert successfully sent."),
        "keepalived's log lines: {log}"
    );
}

/// Kills the aiosmtpd child this test started (by its own pid).
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_smtp_server_aiosmtpd_accepts_the_alert() {
    let available = std::process::Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .status()
        .is_ok_and(|s| s.success());
    if !available {
        eprintln!("skipped: aiosmtpd is not installed (pip install aiosmtpd; .ci/run does)");
        return;
    }
    let port = free_port().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("aiosmtpd.out");
    let _server = Child(
        std::process::Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .env("PYTHONUNBUFFERED", "1")
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    eventually(Duration::from_secs(20), "aiosmtpd listening", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    })
    .await;
    let settings = settings(dir.path(), &config(port, ""));
    let up = Upstreams::start(64).await;
    let engine = start_engine(settings, options(&dir.path().join("spool")), &up);
    up.wait_watchers(1).await;
    up.ipvs.publish(rs_change(
        "203.0.113.12",
        Rs::Removed,
        "HTTP request failed",
    ));
    eventually(
        Duration::from_secs(20),
        "aiosmtpd to print the mail",
        || std::fs::read_to_string(&out).is_ok_and(|t| t.contains("CHECK failed on service")),
    )
    .await;
    let text = std::fs::read_to_string(&out).unwrap();
    for line in [
        "From: keepalived@localhost",
        "Subject: [keepalivedR1] Realserver [203.0.113.12]:tcp:80 of virtual server [198.51.100.10]:tcp:80 - DOWN",
        "X-Mailer: Keepalived",
        "To: root@localhost",
        "=> CHECK failed on service : HTTP request failed <=",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
    let store = engine.store();
    eventually(Duration::from_secs(10), "delivered", || {
        store
            .lock()
            .unwrap()
            .records()
            .all(|r| r.to_proto().state == v1::DeliveryState::Delivered as i32)
    })
    .await;
}
