//! The runtime every keepalived-rs service shares (DESIGN.md, "gRPC surface
//! common to all services"): command-line flags, listeners on
//! `tcp://HOST:PORT` and `unix:PATH`, server reflection v1 and v1alpha,
//! `grpc.health.v1` tied to real readiness, optional TLS and mTLS, the
//! authorisation of state-changing RPCs, Prometheus metrics, graceful
//! shutdown on SIGTERM/SIGINT and a SIGHUP reload hook.
#![forbid(unsafe_code)]

pub mod auth;
mod cli;
mod metrics_http;
mod readiness;
mod server;
mod signals;

pub use auth::{AuthLayer, Caller};
pub use cli::{CommonArgs, parse_args};
pub use readiness::Readiness;
pub use server::{Runtime, ServiceSpec, hostname};
pub use signals::Signals;
