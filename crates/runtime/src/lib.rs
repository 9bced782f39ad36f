//! The runtime every keepalived-rs service shares (docs/architecture.md, "The
//! gRPC surface every service shares"): command-line flags, listeners on
//! `tcp://HOST:PORT` and `unix:PATH`, server reflection v1 and v1alpha,
//! `grpc.health.v1` tied to real readiness, optional TLS and mTLS, the
//! authorisation of state-changing RPCs, Prometheus metrics, graceful
//! shutdown on SIGTERM/SIGINT and a SIGHUP reload hook.
#![forbid(unsafe_code)]

pub mod auth;
mod cli;
pub mod config;
mod metrics_http;
mod readiness;
pub mod replicas;
mod server;
mod signals;

pub use auth::{AuthLayer, Caller};
pub use cli::{CommonArgs, parse_args};
pub use readiness::Readiness;
pub use server::{Runtime, ServiceSpec, hostname, no_delay};
pub use signals::Signals;

/// keepalived's exit code for a fatal error.
pub const EXIT_FATAL: u8 = 3;

/// Runs a service's main future on a multi-threaded tokio runtime and turns
/// its result into the process exit code (errors are printed to standard
/// error as well as logged, since logging may go to syslog only).
pub fn block_on<F>(main: F) -> std::process::ExitCode
where
    F: std::future::Future<Output = anyhow::Result<()>>,
{
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return std::process::ExitCode::from(EXIT_FATAL);
        }
    };
    match runtime.block_on(main) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("error: {error:#}");
            std::process::ExitCode::from(EXIT_FATAL)
        }
    }
}
