//! The service host: builds the gRPC server every service shares and runs it
//! on every `--listen` address until shutdown.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use keepalived_bus::addr::Address;
use keepalived_telemetry::{ServerTraceLayer, TelemetryGuard};
use prometheus_client::registry::Registry;
use tokio::net::{TcpListener, UnixListener};
use tokio::task::JoinSet;
use tokio_stream::wrappers::{TcpListenerStream, UnixListenerStream};
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

use crate::{AuthLayer, CommonArgs, Readiness, Signals};

/// How long open streams (Watch) get to finish after SIGTERM before the
/// listeners are dropped.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// What distinguishes one service from another for the runtime.
#[derive(Debug, Clone, Copy)]
pub struct ServiceSpec {
    /// Binary name: `vrrp-core`, `ipvs-manager`, `health-prober` or `notifier`.
    /// Also `service.name` in traces and the syslog ident.
    pub binary: &'static str,
    /// The fully-qualified gRPC service, e.g. `keepalived.v1.Vrrp`.
    pub grpc_service: &'static str,
    /// The default `--listen` address: loopback, 50051–50054 (docs/architecture.md).
    pub default_listen: &'static str,
    /// gRPC paths of the RPCs that change state (authorised callers only).
    pub mutating_methods: &'static [&'static str],
}

/// This machine's host name (`/proc/sys/kernel/hostname`).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "localhost".to_owned())
}

/// A running service's shared machinery. Create it with [`Runtime::start`],
/// add the service, register metrics, then [`Runtime::serve`].
pub struct Runtime {
    /// The service's description.
    pub spec: ServiceSpec,
    /// Parsed common flags.
    pub args: CommonArgs,
    /// Metrics registry, served on `--metrics-listen`.
    pub registry: Registry,
    /// The `grpc.health.v1` readiness switch.
    pub readiness: Readiness,
    /// Shutdown and reload signals.
    pub signals: Signals,
    routes: RoutesBuilder,
    telemetry: Option<TelemetryGuard>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("spec", &self.spec)
            .field("args", &self.args)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Sets up telemetry, signals, health and reflection. Call inside tokio.
    pub async fn start(spec: ServiceSpec, args: CommonArgs) -> anyhow::Result<Self> {
        let telemetry = keepalived_telemetry::init(spec.binary, &args.log_options())
            .context("setting up logging and tracing")?;
        let signals = Signals::install().context("installing signal handlers")?;
        Self::with_parts(spec, args, signals, Some(telemetry)).await
    }

    /// The part of [`Runtime::start`] after telemetry and signals.
    async fn with_parts(
        spec: ServiceSpec,
        args: CommonArgs,
        signals: Signals,
        telemetry: Option<TelemetryGuard>,
    ) -> anyhow::Result<Self> {
        let (reporter, health) = tonic_health::server::health_reporter();
        let readiness = Readiness::new(reporter, spec.grpc_service).await;
        let mut routes = RoutesBuilder::default();
        routes.add_service(health);
        // grpcurl 1.8.x speaks only v1alpha; newer clients use v1. Only the
        // services this binary serves are listed, though every keepalived.v1
        // type resolves.
        let reflection = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(keepalived_api::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
                .with_service_name(spec.grpc_service)
                .with_service_name("grpc.health.v1.Health")
                .with_service_name("grpc.reflection.v1.ServerReflection")
                .with_service_name("grpc.reflection.v1alpha.ServerReflection")
        };
        routes.add_service(reflection().build_v1().context("building reflection v1")?);
        routes.add_service(
            reflection()
                .build_v1alpha()
                .context("building reflection v1alpha")?,
        );
        Ok(Self {
            spec,
            args,
            registry: Registry::with_prefix("keepalived"),
            readiness,
            signals,
            routes,
            telemetry,
        })
    }

    /// `<binary>@<hostname>`: this replica's identity on the bus.
    pub fn identity(&self) -> String {
        format!("{}@{}", self.spec.binary, hostname())
    }

    /// Adds a gRPC service (the service's own, typically one).
    pub fn add_service<S>(&mut self, service: S) -> &mut Self
    where
        S: tower_service::Service<
                http::Request<tonic::body::Body>,
                Response = http::Response<tonic::body::Body>,
                Error = std::convert::Infallible,
            > + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.routes.add_service(service);
        self
    }

    fn tls_config(&self) -> anyhow::Result<Option<ServerTlsConfig>> {
        let (Some(cert), Some(key)) = (&self.args.tls_cert, &self.args.tls_key) else {
            return Ok(None);
        };
        let read = |path: &PathBuf| {
            std::fs::read(path).with_context(|| format!("reading {}", path.display()))
        };
        let mut config =
            ServerTlsConfig::new().identity(Identity::from_pem(read(cert)?, read(key)?));
        if let Some(ca) = &self.args.tls_client_ca {
            // Optional: clients without a certificate may still read; the
            // authorisation layer decides what they may change.
            config = config
                .client_ca_root(Certificate::from_pem(read(ca)?))
                .client_auth_optional(true);
        }
        Ok(Some(config))
    }

    /// Serves gRPC on every `--listen` address (and metrics, if asked) until
    /// SIGTERM/SIGINT, then stops gracefully. Binds everything first, so an
    /// address in use fails start-up.
    pub async fn serve(self) -> anyhow::Result<()> {
        let tls = self.tls_config()?;
        let routes = self.routes.routes();
        let auth = AuthLayer::new(self.spec.mutating_methods.iter().copied());
        let shutdown = self.signals.shutdown.clone();
        let mut servers = JoinSet::new();
        let mut sockets = Vec::new();

        for address in &self.args.listen {
            let signal = shutdown.clone().cancelled_owned();
            match address {
                Address::Tcp { host, port } => {
                    let host = host.trim_start_matches('[').trim_end_matches(']');
                    let listener = TcpListener::bind((host, *port))
                        .await
                        .with_context(|| format!("listening on {address}"))?;
                    let local = listener.local_addr()?;
                    let secure = if tls.is_some() { " (TLS)" } else { "" };
                    tracing::info!("Listening on tcp://{local}{secure}");
                    let mut builder = Server::builder();
                    if let Some(tls) = &tls {
                        builder = builder.tls_config(tls.clone())?;
                    }
                    let server = builder
                        .layer(ServerTraceLayer)
                        .layer(auth.clone())
                        .serve_with_incoming_shutdown(routes.clone(), no_delay(listener), signal);
                    servers.spawn(server);
                }
                Address::Unix(path) => {
                    remove_stale_socket(path)?;
                    let listener = UnixListener::bind(path)
                        .with_context(|| format!("listening on {address}"))?;
                    tracing::info!("Listening on {address}");
                    sockets.push(path.clone());
                    let server = Server::builder()
                        .layer(ServerTraceLayer)
                        .layer(auth.clone())
                        .serve_with_incoming_shutdown(
                            routes.clone(),
                            UnixListenerStream::new(listener),
                            signal,
                        );
                    servers.spawn(server);
                }
                Address::Https { .. } => bail!(
                    "--listen {address}: https:// is a client address; serve tcp:// with --tls-cert"
                ),
            }
        }

        if let Some(addr) = self.args.metrics_listen {
            let listener = crate::metrics_http::bind(addr)
                .await
                .with_context(|| format!("metrics listener on {addr}"))?;
            tracing::info!(
                "Serving metrics on http://{}/metrics",
                listener.local_addr()?
            );
            tokio::spawn(crate::metrics_http::serve(
                listener,
                Arc::new(self.registry),
                shutdown.clone(),
            ));
        }

        let result = tokio::select! {
            Some(finished) = servers.join_next() => match finished {
                Ok(Ok(())) => Ok(()),
                Ok(Err(error)) => Err(anyhow::Error::new(error).context("gRPC server failed")),
                Err(join) => Err(anyhow::Error::new(join).context("gRPC server task")),
            },
            () = shutdown.cancelled() => Ok(()),
        };
        self.readiness.set(false).await;
        // Watch streams never end by themselves: give them a moment, then drop them.
        shutdown.cancel();
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while servers.join_next().await.is_some() {}
        })
        .await;
        servers.abort_all();
        for path in sockets {
            let _ = std::fs::remove_file(path);
        }
        if let Some(telemetry) = &self.telemetry {
            telemetry.flush();
        }
        result
    }
}

/// Accepted TCP connections with Nagle's algorithm off: bus events are small
/// and latency-sensitive (tonic sets this only on listeners it binds itself).
pub fn no_delay(
    listener: TcpListener,
) -> impl futures::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    use futures::StreamExt as _;
    TcpListenerStream::new(listener).map(|accepted| {
        if let Ok(stream) = &accepted {
            // Best effort: a socket that refuses it still works, just slower.
            let _ = stream.set_nodelay(true);
        }
        accepted
    })
}

/// Removes a socket file left by a previous run; refuses to remove anything
/// that is not a socket.
fn remove_stale_socket(path: &std::path::Path) -> anyhow::Result<()> {
    use std::os::unix::fs::FileTypeExt as _;
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => std::fs::remove_file(path)
            .with_context(|| format!("removing stale socket {}", path.display())),
        Ok(_) => bail!(
            "{} exists and is not a socket; refusing to replace it",
            path.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("checking {}", path.display())),
    }
}
