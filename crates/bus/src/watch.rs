//! The one way every consumer opens a Watch stream: connect to the upstream
//! address (`tcp://…`, `unix:…`, `https://…`) with trace propagation, call the
//! service's `Watch`, hand the stream to [`crate::Subscriber`].

use std::sync::Arc;

use futures::future::BoxFuture;
use keepalived_api::BusEvent;
use keepalived_api::v1;

use crate::Connector;
use crate::addr::{Address, TracedChannel};

/// An event type whose service has a `Watch(WatchRequest) returns (stream …)` RPC.
pub trait Watchable: BusEvent {
    /// Calls the service's Watch over `channel`.
    fn open_watch(
        channel: TracedChannel,
        request: v1::WatchRequest,
    ) -> BoxFuture<'static, Result<tonic::Streaming<Self>, tonic::Status>>;
}

macro_rules! watchable {
    ($event:ident, $client:path) => {
        impl Watchable for v1::$event {
            fn open_watch(
                channel: TracedChannel,
                request: v1::WatchRequest,
            ) -> BoxFuture<'static, Result<tonic::Streaming<Self>, tonic::Status>> {
                Box::pin(async move {
                    <$client>::new(channel)
                        .max_decoding_message_size(crate::MAX_MESSAGE_BYTES)
                        .watch(request)
                        .await
                        .map(tonic::Response::into_inner)
                })
            }
        }
    };
}

watchable!(VrrpEvent, v1::vrrp_client::VrrpClient<TracedChannel>);
watchable!(IpvsEvent, v1::ipvs_client::IpvsClient<TracedChannel>);
watchable!(HealthEvent, v1::health_client::HealthClient<TracedChannel>);
watchable!(
    NotifierEvent,
    v1::notifier_client::NotifierClient<TracedChannel>
);

/// A [`Connector`] that opens `E`'s Watch on each upstream, naming itself
/// `consumer` to the producer (e.g. `ipvs-manager@dr1`).
pub fn watch_connector<E: Watchable>(consumer: impl Into<String>) -> Arc<dyn Connector<E>> {
    connector(consumer.into(), false)
}

/// [`watch_connector`] asking each producer for its events from its start
/// (`WatchRequest.from_start`, [`crate::Producer::watch_from_start`]): a consumer that
/// must see a producer's start-up events although it may subscribe after them.
pub fn watch_connector_from_start<E: Watchable>(
    consumer: impl Into<String>,
) -> Arc<dyn Connector<E>> {
    connector(consumer.into(), true)
}

fn connector<E: Watchable>(consumer: String, from_start: bool) -> Arc<dyn Connector<E>> {
    Arc::new(move |upstream: String| {
        let request = v1::WatchRequest {
            consumer: consumer.clone(),
            from_start,
        };
        async move {
            let address: Address = upstream.parse().map_err(|e| format!("{e}"))?;
            let channel = crate::addr::connect(&address)
                .await
                .map_err(|e| format!("connect: {e}"))?;
            E::open_watch(channel, request)
                .await
                .map_err(|status| format!("watch: {status}"))
        }
    })
}
