//! Following vrrp-core and ipvs-manager: two reconnecting bus subscriptions
//! whose updates are handed to the engine in batches (one durable commit per
//! batch).

use keepalived_api::v1;
use keepalived_bus::{Backoff, Subscriber, Update, UpstreamUpdate, Upstreams};

use crate::engine::{Engine, Incoming};
use crate::notice;

/// Most updates handled in one batch.
const BATCH: usize = 512;

fn incoming<E>(
    update: UpstreamUpdate<E>,
    header: impl Fn(&E) -> Option<v1::EventHeader>,
    notice: impl Fn(&E) -> Option<notice::Notice>,
) -> Option<Incoming> {
    let (event, snapshot) = match update.update {
        Update::Snapshot(event) => (event, true),
        Update::Delta(event) => (event, false),
        Update::Disconnected { error } => {
            tracing::warn!(upstream = %update.upstream, %error, "event stream lost; notifications resume when it is back");
            return None;
        }
        Update::Removed => return None,
    };
    Some(Incoming {
        header: header(&event)?,
        snapshot,
        notice: if snapshot { None } else { notice(&event) },
    })
}

/// Follows both producers for ever, feeding `engine`. Each stream starts from its
/// producer's start while the producer still holds it (`from_start`): the notifications
/// keepalived sends at start (INIT → BACKUP, a first MASTER) are sent although the
/// notifier subscribes a moment later; those it already delivered are recognised by
/// their delivery id and not sent again.
pub async fn follow(engine: Engine, vrrp: String, ipvs: String, consumer: String) {
    let mut vrrp = Subscriber::start(
        Upstreams::Static(vec![vrrp]),
        keepalived_bus::watch_connector_from_start::<v1::VrrpEvent>(consumer.clone()),
        Backoff::default(),
    );
    let mut ipvs = Subscriber::start(
        Upstreams::Static(vec![ipvs]),
        keepalived_bus::watch_connector_from_start::<v1::IpvsEvent>(consumer),
        Backoff::default(),
    );
    let vrrp_in = |u: UpstreamUpdate<v1::VrrpEvent>| {
        if let Update::Snapshot(e) | Update::Delta(e) = &u.update {
            engine.observe_vrrp(e);
        }
        incoming(u, |e: &v1::VrrpEvent| e.header.clone(), notice::from_vrrp)
    };
    let ipvs_in = |u| incoming(u, |e: &v1::IpvsEvent| e.header.clone(), notice::from_ipvs);
    loop {
        let mut batch = Vec::new();
        tokio::select! {
            Some(u) = vrrp.updates.recv() => batch.extend(vrrp_in(u)),
            Some(u) = ipvs.updates.recv() => batch.extend(ipvs_in(u)),
            else => return,
        }
        // Whatever else is already queued rides the same commit.
        while batch.len() < BATCH {
            if let Ok(u) = vrrp.updates.try_recv() {
                batch.extend(vrrp_in(u));
            } else if let Ok(u) = ipvs.updates.try_recv() {
                batch.extend(ipvs_in(u));
            } else {
                break;
            }
        }
        // Each delivery's span is made a child of its event's span when it is
        // attempted (engine), so nothing is traced here.
        if let Err(error) = engine.ingest(batch).await {
            tracing::error!(%error, "cannot spool events; their deliveries go ahead from memory and are journalled with their next state change");
        }
    }
}
