//! The keepalived-rs event bus (docs/architecture.md, "The event bus").
//!
//! - [`Producer`]: stamps every event with the producer's incarnation, a seq
//!   that grows by one, the time and the current trace context, and serves
//!   `Watch` streams that open with a snapshot. A consumer that falls more than
//!   the producer's bound behind is cut off and must resubscribe; it never
//!   slows the producer or other consumers.
//! - [`follow`] / [`Subscriber`]: a reconnecting consumer with jittered
//!   exponential backoff that yields snapshot / delta / disconnected, checks
//!   the seq, and can follow every replica behind a DNS name.
//! - [`addr`]: the `tcp://HOST:PORT` / `unix:PATH` addresses every service and
//!   client understands, and channel construction with trace propagation.
#![forbid(unsafe_code)]

pub mod addr;
mod backoff;
mod consumer;
mod metrics;
mod producer;
mod watch;

pub use backoff::Backoff;
pub use consumer::{
    Connector, EventStream, OpenFuture, Subscriber, Update, UpstreamUpdate, Upstreams, follow,
};
pub use metrics::BusMetrics;
pub use producer::{
    DEFAULT_CAPACITY, HISTORY_MAX, HISTORY_WINDOW, Producer, WatchResponseStream, WatchStream,
};
pub use watch::{Watchable, watch_connector, watch_connector_from_start};

/// The largest message a bus client accepts (tonic's default is 4 MiB). A Watch stream's
/// first message is the producer's whole snapshot: 40,000 check targets are about 8 MB, so
/// the default would cut every replica and ipvs-manager off from a large prober's verdicts.
pub const MAX_MESSAGE_BYTES: usize = 256 << 20;
