//! Test support: controllable targets on loopback that record when each
//! attempt reaches them, and the prober's engine run in-process.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt as _;
use health_prober::engine::{Engine, Metrics, TargetViews};
use health_prober::{HealthApi, spec};
use keepalived_api::v1::{self, health_event::Payload};
use keepalived_bus::{BusMetrics, WatchStream};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// What an HTTP target answers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

#[derive(Debug, Default)]
struct Log {
    hits: Vec<Instant>,
    requests: Vec<Vec<u8>>,
}

/// An HTTP server on 127.0.0.1 that records attempts; it can be stopped
/// (connections refused) and restarted on the same port.
pub struct HttpTarget {
    pub port: u16,
    reply: Arc<Mutex<Reply>>,
    log: Arc<Mutex<Log>>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl HttpTarget {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let target = Self {
            port,
            reply: Arc::new(Mutex::new(Reply {
                status: 200,
                body: b"ok\n".to_vec(),
            })),
            log: Arc::default(),
            task: Mutex::new(None),
        };
        target.serve(listener);
        target
    }

    fn serve(&self, listener: TcpListener) {
        let reply = self.reply.clone();
        let log = self.log.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    continue;
                };
                let at = Instant::now();
                let reply = reply.clone();
                let log = log.clone();
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buf))
                            .await
                        {
                            Ok(Ok(n)) if n > 0 => request.extend_from_slice(&buf[..n]),
                            _ => break,
                        }
                    }
                    {
                        let mut log = log.lock().unwrap();
                        log.hits.push(at);
                        log.requests.push(request);
                    }
                    let r = reply.lock().unwrap().clone();
                    let mut out = format!(
                        "HTTP/1.0 {} X\r\nContent-Length: {}\r\n\r\n",
                        r.status,
                        r.body.len()
                    )
                    .into_bytes();
                    out.extend_from_slice(&r.body);
                    let _ = stream.write_all(&out).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        *self.task.lock().unwrap() = Some(task);
    }

    pub fn set(&self, status: u16, body: &[u8]) {
        *self.reply.lock().unwrap() = Reply {
            status,
            body: body.to_vec(),
        };
    }

    pub fn hits(&self) -> Vec<Instant> {
        self.log.lock().unwrap().hits.clone()
    }

    pub fn requests(&self) -> Vec<Vec<u8>> {
        self.log.lock().unwrap().requests.clone()
    }

    /// Closes the listener: attempts are refused.
    pub fn stop(&self) {
        if let Some(task) = self.task.lock().unwrap().take() {
            task.abort();
        }
    }

    /// Listens again on the same port.
    pub async fn restart(&self) {
        // The aborted task drops its listener asynchronously; retry briefly.
        for _ in 0..100 {
            if let Ok(listener) = TcpListener::bind(("127.0.0.1", self.port)).await {
                self.serve(listener);
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("cannot listen on {} again", self.port);
    }
}

impl Drop for HttpTarget {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The prober's engine, run in-process on a configuration text.
pub struct Prober {
    pub shared: Arc<TargetViews>,
    pub api: HealthApi,
    shutdown: CancellationToken,
    reload: watch::Sender<u64>,
    config: Arc<Mutex<String>>,
    pub started: Instant,
}

pub fn specs(text: &str) -> Vec<spec::TargetSpec> {
    let config = keepalived_config::load_str(
        text,
        std::path::Path::new("/tmp/k.conf"),
        &Default::default(),
    )
    .unwrap_or_else(|e| panic!("config: {e:?}"))
    .config;
    spec::build(&config)
}

impl Prober {
    pub fn start(config: &str) -> Self {
        let shared = Arc::new(TargetViews::default());
        let api = HealthApi::new(
            "health-prober@test".into(),
            BusMetrics::default(),
            shared.clone(),
        );
        let mut engine = Engine::new(shared.clone(), api.producer(), Metrics::default(), 64);
        let started = Instant::now();
        engine.apply(specs(config), true);
        let shutdown = CancellationToken::new();
        let (reload, reloads) = watch::channel(0);
        let text = Arc::new(Mutex::new(config.to_owned()));
        let source = text.clone();
        tokio::spawn(engine.run(shutdown.clone(), reloads, move || {
            Ok(specs(&source.lock().unwrap()))
        }));
        Self {
            shared,
            api,
            shutdown,
            reload,
            config: text,
            started,
        }
    }

    pub fn watch(&self) -> WatchStream<v1::HealthEvent> {
        self.api.producer().watch("test")
    }

    pub fn reload(&self, config: &str) {
        *self.config.lock().unwrap() = config.to_owned();
        self.reload.send_modify(|g| *g += 1);
    }

    pub fn target(&self, id: &str) -> v1::Target {
        self.shared
            .get(id)
            .unwrap_or_else(|| panic!("no target {id}"))
    }
}

impl Drop for Prober {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The next verdict change on `stream` (snapshots skipped), within `within`.
pub async fn next_change(
    stream: &mut WatchStream<v1::HealthEvent>,
    within: Duration,
) -> (Instant, v1::TargetChange) {
    let deadline = Instant::now() + within;
    loop {
        let event = tokio::time::timeout_at(deadline, stream.next())
            .await
            .expect("no verdict change in time")
            .expect("stream ended")
            .expect("stream error");
        if let Some(Payload::TargetChanged(change)) = event.payload {
            return (Instant::now(), change);
        }
    }
}

/// Like [`next_change`], with the event's envelope.
pub async fn next_change_with_header(
    stream: &mut WatchStream<v1::HealthEvent>,
    within: Duration,
) -> (v1::EventHeader, v1::TargetChange) {
    let deadline = Instant::now() + within;
    loop {
        let event = tokio::time::timeout_at(deadline, stream.next())
            .await
            .expect("no verdict change in time")
            .expect("stream ended")
            .expect("stream error");
        if let Some(Payload::TargetChanged(change)) = event.payload {
            return (event.header.unwrap_or_default(), change);
        }
    }
}

/// Waits until `target` has received `n` attempts (or panics after `within`).
pub async fn wait_hits(target: &HttpTarget, n: usize, within: Duration) -> Vec<Instant> {
    let deadline = Instant::now() + within;
    loop {
        let hits = target.hits();
        if hits.len() >= n {
            return hits;
        }
        assert!(
            Instant::now() < deadline,
            "only {} of {n} attempts arrived",
            hits.len()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Asserts `actual` is `expected` ± the tolerance of a loaded 2-core machine.
pub fn assert_about(actual: Duration, expected: f64, what: &str) {
    let tolerance = 0.3;
    let got = actual.as_secs_f64();
    assert!(
        (got - expected).abs() <= tolerance,
        "{what}: {got:.3}s, expected {expected:.3}s ± {tolerance}s"
    );
}

/// One virtual server around `real_servers` (each a `real_server` block body).
pub fn config(vs_opts: &str, real_servers: &[(u16, &str)]) -> String {
    let mut text = format!("virtual_server 127.0.0.10 80 {{\n    protocol TCP\n{vs_opts}\n");
    for (port, body) in real_servers {
        text.push_str(&format!(
            "    real_server 127.0.0.1 {port} {{\n{body}\n    }}\n"
        ));
    }
    text.push_str("}\n");
    text
}
