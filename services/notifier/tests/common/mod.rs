//! Test peers for the notifier: mock vrrp-core and ipvs-manager (tonic
//! servers whose Watch is a bus producer the test drives), an SMTP sink that
//! records the raw dialogue, and helpers to run the engine in-process.
#![allow(dead_code)]
// std::time::Instant: these tests wait on real processes (clippy.toml bans it elsewhere).
#![allow(clippy::disallowed_types)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use keepalived_api::v1;
use keepalived_bus::{BusMetrics, Producer};
use keepalived_tests::{IpvsProducerApi, VrrpProducerApi};
use notifier::{Engine, Options, Settings};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpListener;

/// Both mock upstreams, served on loopback.
pub struct Upstreams {
    /// vrrp-core's producer.
    pub vrrp: Producer<v1::VrrpEvent>,
    /// ipvs-manager's producer.
    pub ipvs: Producer<v1::IpvsEvent>,
    /// `tcp://…` of the mock vrrp-core.
    pub vrrp_addr: String,
    /// `tcp://…` of the mock ipvs-manager.
    pub ipvs_addr: String,
    /// Metrics of both producers (their `watchers` gauges).
    pub metrics: (BusMetrics, BusMetrics),
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Upstreams {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Upstreams {
    /// Starts both mocks with producers of `capacity`.
    pub async fn start(capacity: usize) -> Self {
        let metrics = (BusMetrics::default(), BusMetrics::default());
        let vrrp = Producer::new("vrrp-core@test", capacity, metrics.0.clone(), || {
            v1::VrrpEvent {
                header: None,
                payload: Some(v1::vrrp_event::Payload::Snapshot(Default::default())),
            }
        });
        let ipvs = Producer::new("ipvs-manager@test", capacity, metrics.1.clone(), || {
            v1::IpvsEvent {
                header: None,
                payload: Some(v1::ipvs_event::Payload::Snapshot(Default::default())),
            }
        });
        let vl = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let il = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let vrrp_addr = format!("tcp://{}", vl.local_addr().unwrap());
        let ipvs_addr = format!("tcp://{}", il.local_addr().unwrap());
        let v = vrrp.clone();
        let i = ipvs.clone();
        let tasks = vec![
            tokio::spawn(async move {
                let _ = tonic::transport::Server::builder()
                    .add_service(v1::vrrp_server::VrrpServer::new(VrrpProducerApi(v)))
                    .serve_with_incoming(keepalived_runtime::no_delay(vl))
                    .await;
            }),
            tokio::spawn(async move {
                let _ = tonic::transport::Server::builder()
                    .add_service(v1::ipvs_server::IpvsServer::new(IpvsProducerApi(i)))
                    .serve_with_incoming(keepalived_runtime::no_delay(il))
                    .await;
            }),
        ];
        Self {
            vrrp,
            ipvs,
            vrrp_addr,
            ipvs_addr,
            metrics,
            tasks,
        }
    }

    /// Waits until both producers have exactly `n` watchers: a delta
    /// published before the notifier watches would only be part of its
    /// snapshot, which never notifies.
    pub async fn wait_watchers(&self, n: i64) {
        let (v, i) = (
            self.metrics.0.watchers.clone(),
            self.metrics.1.watchers.clone(),
        );
        eventually(
            Duration::from_secs(20),
            "the notifier to watch both producers",
            || v.get() == n && i.get() == n,
        )
        .await;
        // The stream opened; let the snapshot reach the notifier.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An instance transition event.
pub fn transition(
    instance: &str,
    from: v1::VrrpState,
    to: v1::VrrpState,
    prio: u32,
) -> v1::VrrpEvent {
    v1::VrrpEvent {
        header: None,
        payload: Some(v1::vrrp_event::Payload::Transition(
            v1::InstanceTransition {
                instance: instance.into(),
                from: from as i32,
                to: to as i32,
                priority: prio,
                ..Default::default()
            },
        )),
    }
}

/// A real server change on VS 198.51.100.10:80/tcp caused by HTTP_CHECK.
pub fn rs_change(rs: &str, kind: v1::RealServerChangeKind, reason: &str) -> v1::IpvsEvent {
    v1::IpvsEvent {
        header: None,
        payload: Some(v1::ipvs_event::Payload::RealServerChanged(
            v1::RealServerChange {
                key: Some(v1::RealServerKey {
                    virtual_server: Some(v1::VirtualServerKey {
                        kind: Some(v1::virtual_server_key::Kind::AddressPort(v1::AddressPort {
                            address: "198.51.100.10".into(),
                            port: 80,
                        })),
                        protocol: v1::Protocol::Tcp as i32,
                    }),
                    real_server: Some(v1::AddressPort {
                        address: rs.into(),
                        port: 80,
                    }),
                }),
                kind: kind as i32,
                reason: reason.into(),
                checker: "HTTP_CHECK".into(),
                ..Default::default()
            },
        )),
    }
}

/// An SMTP sink recording every session's raw client bytes.
pub struct SmtpSink {
    /// Where it listens.
    pub addr: SocketAddr,
    sessions: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve_session(stream: tokio::net::TcpStream, sessions: Arc<Mutex<Vec<String>>>) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut raw = String::new();
    let _ = write.write_all(b"220 sink ESMTP\r\n").await;
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        raw.push_str(&line);
        let reply: &[u8] = if line.starts_with("DATA") {
            let _ = write.write_all(b"354 go ahead\r\n").await;
            // Everything up to CRLF.CRLF is the message.
            loop {
                let mut data = String::new();
                match reader.read_line(&mut data).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                raw.push_str(&data);
                if data == ".\r\n" {
                    break;
                }
            }
            b"250 queued\r\n"
        } else if line.starts_with("QUIT") {
            let _ = write.write_all(b"221 bye\r\n").await;
            break;
        } else {
            b"250 ok\r\n"
        };
        let _ = write.write_all(reply).await;
    }
    // Drain whatever follows (nothing, for a client that sent QUIT).
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(Duration::from_millis(50), reader.read_to_end(&mut rest)).await;
    sessions.lock().unwrap().push(raw);
}

impl SmtpSink {
    /// Listens on `addr` (port 0 for any).
    pub async fn start(addr: &str) -> Self {
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let sessions: Arc<Mutex<Vec<String>>> = Arc::default();
        let s = sessions.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve_session(stream, s.clone()));
            }
        });
        Self {
            addr,
            sessions,
            task,
        }
    }

    /// The sessions so far.
    pub fn sessions(&self) -> Vec<String> {
        self.sessions.lock().unwrap().clone()
    }

    /// Waits until at least `n` sessions completed (panics after `timeout`).
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let sessions = self.sessions();
            if sessions.len() >= n {
                return sessions;
            }
            assert!(
                Instant::now() < deadline,
                "only {} of {n} mails in {timeout:?}: {sessions:#?}",
                sessions.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A loopback port nothing listens on (bound, then released).
pub async fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

/// Replaces the value of the Date header with `DATE`.
pub fn without_date(session: &str) -> String {
    session
        .split_inclusive("\r\n")
        .map(|line| {
            if line.starts_with("Date: ") {
                "Date: DATE\r\n".to_owned()
            } else {
                line.to_owned()
            }
        })
        .collect()
}

/// Writes `text` as keepalived.conf in `dir` and loads the settings.
pub fn settings(dir: &Path, text: &str) -> Settings {
    let path = dir.join("keepalived.conf");
    std::fs::write(&path, text).unwrap();
    let loaded = keepalived_config::load_file(&path, &Default::default()).unwrap();
    Settings::from_config(&loaded.config)
}

/// Fast retries for tests.
pub fn options(spool: &Path) -> Options {
    Options {
        spool_dir: spool.to_path_buf(),
        spool_max: 10_000,
        max_attempts: None,
        script_attempts: Some(3),
        script_timeout: Duration::from_secs(30),
        webhook_timeout: Duration::from_secs(5),
        retry_initial: Duration::from_millis(100),
        retry_max: Duration::from_millis(400),
    }
}

/// The engine in-process, following `up`.
pub fn start_engine(settings: Settings, options: Options, up: &Upstreams) -> Engine {
    let engine = Engine::start(
        settings,
        options,
        "notifier@test".into(),
        BusMetrics::default(),
    )
    .unwrap();
    tokio::spawn(notifier::ingest::follow(
        engine.clone(),
        up.vrrp_addr.clone(),
        up.ipvs_addr.clone(),
        "notifier@test".into(),
    ));
    engine
}

/// Waits until `pred` holds (panics after `timeout` with `what`).
pub async fn eventually(timeout: Duration, what: &str, mut pred: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !pred() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One request a webhook receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    /// `X-Keepalived-Signature`, if any.
    pub signature: Option<String>,
    /// `X-Keepalived-Delivery`.
    pub delivery: String,
    /// The body.
    pub body: Vec<u8>,
    /// The status answered.
    pub status: u16,
    /// When it arrived.
    pub at: Instant,
}

/// An HTTP receiver answering 503 to its first `fail_first` requests, then 200.
pub struct WebhookReceiver {
    /// `http://127.0.0.1:PORT/hook`.
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl WebhookReceiver {
    /// Starts on an ephemeral port.
    pub async fn start(fail_first: usize) -> Self {
        use http_body_util::BodyExt as _;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let store = received.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                let store = store.clone();
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let store = store.clone();
                        async move {
                            let header = |name: &str| {
                                req.headers()
                                    .get(name)
                                    .and_then(|v| v.to_str().ok())
                                    .map(str::to_owned)
                            };
                            let signature = header("x-keepalived-signature");
                            let delivery = header("x-keepalived-delivery").unwrap_or_default();
                            let body = req
                                .into_body()
                                .collect()
                                .await
                                .map(|b| b.to_bytes().to_vec())
                                .unwrap_or_default();
                            let mut store = store.lock().unwrap();
                            let status = if store.len() < fail_first { 503 } else { 200 };
                            store.push(Received {
                                signature,
                                delivery,
                                body,
                                status,
                                at: Instant::now(),
                            });
                            Ok::<_, std::convert::Infallible>(
                                hyper::Response::builder()
                                    .status(status)
                                    .body(http_body_util::Full::new(bytes::Bytes::new()))
                                    .unwrap(),
                            )
                        }
                    },
                );
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            url,
            received,
            task,
        }
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// How many requests so far.
    pub fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }
}
