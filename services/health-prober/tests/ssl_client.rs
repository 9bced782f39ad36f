//! SSL_GET with keepalived's top-level `SSL { … }` block: the client
//! certificate is presented to a real server that requires one (UP with the
//! block, DOWN without), the server's certificate is still never verified
//! (a self-signed server certificate from no CA the block names), a reload
//! picks up a changed block, and a file that cannot be loaded stops the
//! prober with keepalived's lines, at start and on reload.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use health_prober::HealthApi;
use health_prober::checks::tls::{SslFile, SslInitError};
use health_prober::engine::{Engine, Metrics, TargetViews};
use keepalived_api::v1::{FailureReason, Verdict};
use keepalived_bus::BusMetrics;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use support::config;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const FAST: &str = "    delay_loop 1\n    warmup 0";
const SSL_GET: &str = "        SSL_GET {\n            url {\n                path /\n            }\n            connect_timeout 1\n            retry 0\n        }";

/// A CA and a client certificate it issued, written as PEM files.
struct ClientPki {
    ca: rcgen::Certificate,
    ca_pem: String,
    cert: String,
    key: String,
}

impl ClientPki {
    fn new(dir: &std::path::Path, name: &str) -> Self {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, format!("{name} CA"));
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, &ca_key);
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["client.example.com".into()]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, format!("{name} client"));
        let cert = params.signed_by(&key, &issuer).unwrap();
        let write = |file: &str, text: &str| {
            let path = dir.join(format!("{name}-{file}"));
            std::fs::write(&path, text).unwrap();
            path.display().to_string()
        };
        Self {
            ca_pem: write("ca.pem", &ca.pem()),
            cert: write("client.pem", &cert.pem()),
            key: write("client.key", &key.serialize_pem()),
            ca,
        }
    }

    /// keepalived's top-level block naming these files.
    fn block(&self) -> String {
        format!(
            "SSL {{\n    password KEYPASS\n    ca {}\n    certificate {}\n    key {}\n}}\n",
            self.ca_pem, self.cert, self.key
        )
    }
}

/// An HTTPS server on 127.0.0.1 with a self-signed certificate that requires
/// a client certificate issued by `client_ca`; counts the requests answered.
async fn mtls_server(client_ca: &rcgen::Certificate) -> (u16, Arc<Mutex<usize>>, JoinHandle<()>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(client_ca.der().clone()).unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    // The server's own certificate: self-signed, for a name nobody asks for.
    let server = rcgen::generate_simple_self_signed(vec!["server.invalid".into()]).unwrap();
    let server_config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![CertificateDer::from(server.cert.der().to_vec())],
            PrivateKeyDer::try_from(server.signing_key.serialize_der()).unwrap(),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let answered = Arc::new(Mutex::new(0));
    let count = answered.clone();
    let task = tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let acceptor = acceptor.clone();
            let count = count.clone();
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
                *count.lock().unwrap() += 1;
            });
        }
    });
    (port, answered, task)
}

/// The prober's engine in-process, loading each text as the binary loads
/// its file: [`health_prober::prepare`], which builds the SSL context.
struct Prober {
    shared: Arc<TargetViews>,
    text: Arc<Mutex<String>>,
    reload: watch::Sender<u64>,
    shutdown: CancellationToken,
    ended: JoinHandle<anyhow::Result<()>>,
}

fn parse(text: &str) -> keepalived_config::Config {
    keepalived_config::load_str(
        text,
        std::path::Path::new("/tmp/k.conf"),
        &Default::default(),
    )
    .unwrap_or_else(|e| panic!("config: {e:?}"))
    .config
}

impl Prober {
    fn start(text: &str) -> Result<Self, SslInitError> {
        let shared = Arc::new(TargetViews::default());
        let api = HealthApi::new(
            "health-prober@test".into(),
            BusMetrics::default(),
            shared.clone(),
        );
        let mut engine = Engine::new(shared.clone(), api.producer(), Metrics::default(), 64);
        let ssl = engine.ssl_client();
        engine.apply(health_prober::prepare(&parse(text), &ssl)?, true);
        let text = Arc::new(Mutex::new(text.to_owned()));
        let source = text.clone();
        let (reload, reloads) = watch::channel(0);
        let shutdown = CancellationToken::new();
        let ended = tokio::spawn(engine.run(shutdown.clone(), reloads, move || {
            Ok(health_prober::prepare(
                &parse(&source.lock().unwrap()),
                &ssl,
            )?)
        }));
        Ok(Self {
            shared,
            text,
            reload,
            shutdown,
            ended,
        })
    }

    fn reload(&self, text: &str) {
        *self.text.lock().unwrap() = text.to_owned();
        self.reload.send_modify(|g| *g += 1);
    }

    fn target(&self, id: &str) -> keepalived_api::v1::Target {
        self.shared
            .get(id)
            .unwrap_or_else(|| panic!("no target {id}"))
    }

    async fn wait_verdict(
        &self,
        id: &str,
        verdict: Verdict,
        within: Duration,
    ) -> keepalived_api::v1::Target {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let t = self.target(id);
            if t.verdict == verdict as i32 && t.last_result.is_some() {
                return t;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{id} never became {verdict:?}: {t:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Prober {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn reason(t: &keepalived_api::v1::Target) -> i32 {
    t.last_result.clone().unwrap_or_default().reason
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificate_from_the_ssl_block_up_with_it_down_without() {
    let dir = tempfile::tempdir().unwrap();
    let pki = ClientPki::new(dir.path(), "good");
    let (port, answered, _server) = mtls_server(&pki.ca).await;
    let id = format!("SSL_GET:127.0.0.1:{port}");
    let checker = config(FAST, &[(port, SSL_GET)]);

    // With the SSL block: the server gets our certificate, and its own
    // self-signed one (no CA of ours) is not verified: UP.
    let with = Prober::start(&format!("{}{checker}", pki.block())).unwrap();
    // Without: no client certificate, the server refuses the handshake: DOWN.
    let without = Prober::start(&checker).unwrap();

    let t = without
        .wait_verdict(&id, Verdict::Down, Duration::from_secs(5))
        .await;
    assert_eq!(reason(&t), FailureReason::TlsError as i32, "{t:?}");
    let t = with
        .wait_verdict(&id, Verdict::Up, Duration::from_secs(5))
        .await;
    assert!(t.last_result.as_ref().unwrap().success, "{t:?}");
    assert!(*answered.lock().unwrap() >= 1, "the server answered us");
    // And stays so over further attempts.
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert_eq!(with.target(&id).verdict, Verdict::Up as i32);
    assert_eq!(without.target(&id).verdict, Verdict::Down as i32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_picks_up_a_changed_ssl_block() {
    let dir = tempfile::tempdir().unwrap();
    let good = ClientPki::new(dir.path(), "good");
    let other = ClientPki::new(dir.path(), "other");
    let (port, _answered, _server) = mtls_server(&good.ca).await;
    let id = format!("SSL_GET:127.0.0.1:{port}");
    let checker = config(FAST, &[(port, SSL_GET)]);

    let prober = Prober::start(&checker).unwrap();
    prober
        .wait_verdict(&id, Verdict::Down, Duration::from_secs(5))
        .await;
    // The same checker (state kept) with the block added: its next attempt
    // presents the certificate.
    prober.reload(&format!("{}{checker}", good.block()));
    prober
        .wait_verdict(&id, Verdict::Up, Duration::from_secs(8))
        .await;
    // A certificate from a CA the server does not trust: DOWN again.
    prober.reload(&format!("{}{checker}", other.block()));
    let t = prober
        .wait_verdict(&id, Verdict::Down, Duration::from_secs(8))
        .await;
    assert_eq!(reason(&t), FailureReason::TlsError as i32, "{t:?}");
    assert!(!prober.ended.is_finished(), "still running");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_cannot_be_loaded_stops_the_prober_at_start_and_on_reload() {
    let dir = tempfile::tempdir().unwrap();
    let pki = ClientPki::new(dir.path(), "good");
    let checker = config(FAST, &[(1, SSL_GET)]);
    let missing_key = pki.block().replace(&pki.key, "/nonexistent/client.key");

    // At start: keepalived's init_ssl_ctx fails, nothing is checked.
    let error = Prober::start(&format!("{missing_key}{checker}"))
        .err()
        .expect("refused");
    assert_eq!(error.file, SslFile::Key, "{error}");
    assert_eq!(
        error.file.keepalived_line(),
        "SSL error : Cant load key file..."
    );

    // Without an SSL_GET the block is not loaded at all (ssl_required unset).
    let tcp = config(
        FAST,
        &[(
            1,
            "        TCP_CHECK {\n            connect_timeout 1\n        }",
        )],
    );
    drop(Prober::start(&format!("{missing_key}{tcp}")).unwrap());

    // On reload: the prober stops, as keepalived's checker process exits.
    let mut prober = Prober::start(&format!("{}{checker}", pki.block())).unwrap();
    let bad_ca = pki.block().replace(&pki.ca_pem, &pki.key);
    prober.reload(&format!("{bad_ca}{checker}"));
    let ended = tokio::time::timeout(Duration::from_secs(5), &mut prober.ended)
        .await
        .expect("the engine stops")
        .unwrap();
    let error = ended.expect_err("fatal");
    let ssl = error.downcast_ref::<SslInitError>().expect("an SSL error");
    assert_eq!(ssl.file, SslFile::Ca, "{error}");
}

/// The binary: keepalived's lines, then a non-zero exit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_logs_keepalived_lines_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let pki = ClientPki::new(dir.path(), "good");
    let conf = dir.path().join("keepalived.conf");
    let missing_cert = pki.block().replace(&pki.cert, "/nonexistent/client.pem");
    std::fs::write(
        &conf,
        format!("{missing_cert}{}", config(FAST, &[(1, SSL_GET)])),
    )
    .unwrap();
    let socket = dir.path().join("prober.sock");
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_health-prober"))
        .arg("-f")
        .arg(&conf)
        .args(["-l", "-G", "--listen"])
        .arg(format!("unix:{}", socket.display()))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let out = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("the prober exits")
        .unwrap();
    assert!(!out.status.success(), "{:?}", out.status);
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let mut at = 0;
    for line in [
        "SSL error : Cant load certificate file...",
        "Error Initialize SSL, ctx Instance",
        &format!("  SSL  keyfile:{}", pki.key),
        "  SSL password:(not shown)",
        &format!("  SSL   cafile:{}", pki.ca_pem),
        "Terminate...",
    ] {
        let Some(found) = text[at..].find(line) else {
            panic!("{line:?} missing (in order) from:\n{text}");
        };
        at += found + line.len();
    }
    assert!(
        !text.contains("KEYPASS"),
        "the password is not logged:\n{text}"
    );
}

/// The binary on SIGHUP: the same SSL_GET, DOWN without the block, UP once
/// the block is written and the prober told to reload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_reloads_the_ssl_block_on_sighup() {
    use keepalived_api::v1::health_client::HealthClient;

    let dir = tempfile::tempdir().unwrap();
    let pki = ClientPki::new(dir.path(), "good");
    let (port, _answered, _server) = mtls_server(&pki.ca).await;
    let id = format!("SSL_GET:127.0.0.1:{port}");
    let checker = config(FAST, &[(port, SSL_GET)]);
    let conf = dir.path().join("keepalived.conf");
    std::fs::write(&conf, &checker).unwrap();
    let socket = dir.path().join("prober.sock");
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_health-prober"))
        .arg("-f")
        .arg(&conf)
        .args(["-l", "-G", "--listen"])
        .arg(format!("unix:{}", socket.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let address: keepalived_bus::addr::Address =
        format!("unix:{}", socket.display()).parse().unwrap();
    let mut client = None;
    for _ in 0..400 {
        if let Ok(channel) = keepalived_bus::addr::connect(&address).await {
            client = Some(HealthClient::new(channel));
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let mut client = client.expect("health-prober did not come up");
    let mut wait = async |verdict: Verdict| {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(8);
        loop {
            let t = client
                .get_target(keepalived_api::v1::GetTargetRequest { id: id.clone() })
                .await
                .unwrap()
                .into_inner();
            if t.verdict == verdict as i32 && t.last_result.is_some() {
                return t;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "never {verdict:?}: {t:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let t = wait(Verdict::Down).await;
    assert_eq!(reason(&t), FailureReason::TlsError as i32, "{t:?}");
    std::fs::write(&conf, format!("{}{checker}", pki.block())).unwrap();
    let pid = nix::unistd::Pid::from_raw(child.id().unwrap() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).unwrap();
    wait(Verdict::Up).await;
}
