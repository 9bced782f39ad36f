//! One human line (or JSON object) per bus event of any of the four services.

use keepalived_api::v1;
use keepalived_bus::Update;
use serde::Serialize;

use crate::view::{
    address_port, channel_name, delivery_state_name, state_name, verdict_name, vs_key,
};

/// The trace id (32 hex digits) of a W3C `traceparent`, empty when absent.
pub fn trace_id(header: Option<&v1::EventHeader>) -> String {
    header
        .and_then(|h| h.trace.as_ref())
        .and_then(|t| t.traceparent.split('-').nth(1))
        .filter(|id| id.len() == 32)
        .unwrap_or_default()
        .to_owned()
}

/// RFC 3339 UTC with milliseconds, empty when absent.
pub fn event_time(header: Option<&v1::EventHeader>) -> String {
    header
        .and_then(|h| h.time.as_ref())
        .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32))
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

/// An event of one of the four buses, described for a human.
pub trait Describe {
    /// The producing service (`vrrp-core`, …).
    const SERVICE: &'static str;
    /// The envelope header.
    fn header_ref(&self) -> Option<&v1::EventHeader>;
    /// What happened, in one line.
    fn describe(&self) -> String;
}

fn transition_reason(reason: i32) -> &'static str {
    match v1::TransitionReason::try_from(reason).unwrap_or(v1::TransitionReason::Unspecified) {
        v1::TransitionReason::Unspecified => "unspecified",
        v1::TransitionReason::Startup => "startup",
        v1::TransitionReason::MasterDownTimer => "master down timer",
        v1::TransitionReason::HigherPriorityHeard => "higher priority heard",
        v1::TransitionReason::PriorityZeroHeard => "priority 0 heard",
        v1::TransitionReason::Script => "script",
        v1::TransitionReason::Interface => "interface",
        v1::TransitionReason::TrackFile => "track file",
        v1::TransitionReason::TrackProcess => "track process",
        v1::TransitionReason::Maintenance => "maintenance",
        v1::TransitionReason::Shutdown => "shutdown",
        v1::TransitionReason::SyncGroup => "sync group",
        v1::TransitionReason::Reload => "reload",
    }
}

impl Describe for v1::VrrpEvent {
    const SERVICE: &'static str = "vrrp-core";
    fn header_ref(&self) -> Option<&v1::EventHeader> {
        self.header.as_ref()
    }
    fn describe(&self) -> String {
        use v1::vrrp_event::Payload;
        match &self.payload {
            Some(Payload::Snapshot(s)) => {
                let instances: Vec<String> = s
                    .instances
                    .iter()
                    .map(|i| {
                        format!(
                            "{} {} prio {}",
                            i.name,
                            state_name(i.state),
                            i.effective_priority
                        )
                    })
                    .collect();
                format!(
                    "snapshot {}: {} instance(s){}{}",
                    s.router_id,
                    s.instances.len(),
                    if instances.is_empty() { "" } else { ": " },
                    instances.join(", ")
                )
            }
            Some(Payload::Transition(t)) => format!(
                "{} {} -> {} ({}{}{}) prio {}",
                t.instance,
                state_name(t.from),
                state_name(t.to),
                transition_reason(t.reason),
                if t.detail.is_empty() { "" } else { ": " },
                t.detail,
                t.priority
            ),
            Some(Payload::PriorityChanged(p)) => format!(
                "{} effective priority {} -> {}{}",
                p.instance,
                p.from,
                p.to,
                if p.cause.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", p.cause)
                }
            ),
            Some(Payload::VipsChanged(v)) => {
                let mut parts: Vec<String> = v
                    .added
                    .iter()
                    .map(|a| format!("+{} dev {}", a.address, a.dev))
                    .collect();
                parts.extend(
                    v.removed
                        .iter()
                        .map(|a| format!("-{} dev {}", a.address, a.dev)),
                );
                format!("{} VIPs {}", v.instance, parts.join(" "))
            }
            Some(Payload::GarpSent(g)) => format!(
                "{} sent {} gratuitous ARP(s) on {} for {}",
                g.instance,
                g.count,
                g.interface,
                g.addresses.join(", ")
            ),
            Some(Payload::SyncGroupTransition(g)) => format!(
                "sync group {} {} -> {} ({})",
                g.group,
                state_name(g.from),
                state_name(g.to),
                g.members.join(", ")
            ),
            None => "event without payload".into(),
        }
    }
}

fn rs_key(key: Option<&v1::RealServerKey>) -> String {
    match key {
        Some(k) => format!(
            "{} in {}",
            address_port(k.real_server.as_ref()),
            vs_key(k.virtual_server.as_ref()).replace("  ", " ")
        ),
        None => "?".into(),
    }
}

impl Describe for v1::IpvsEvent {
    const SERVICE: &'static str = "ipvs-manager";
    fn header_ref(&self) -> Option<&v1::EventHeader> {
        self.header.as_ref()
    }
    fn describe(&self) -> String {
        use v1::ipvs_event::Payload;
        match &self.payload {
            Some(Payload::Snapshot(s)) => {
                let (mut up, mut total) = (0, 0);
                for vs in &s.virtual_servers {
                    total += vs.real_servers.len();
                    up += vs.real_servers.iter().filter(|r| r.in_kernel).count();
                }
                format!(
                    "snapshot {}: backend {}, {} virtual server(s), {up}/{total} real servers in the table",
                    s.router_id,
                    crate::view::backend_name(s.backend),
                    s.virtual_servers.len()
                )
            }
            Some(Payload::RealServerChanged(c)) => {
                let kind = match v1::RealServerChangeKind::try_from(c.kind)
                    .unwrap_or(v1::RealServerChangeKind::Unspecified)
                {
                    v1::RealServerChangeKind::Added => "added",
                    v1::RealServerChangeKind::Removed => "removed",
                    v1::RealServerChangeKind::WeightChanged => "weight changed",
                    v1::RealServerChangeKind::Disabled => "disabled",
                    v1::RealServerChangeKind::Enabled => "enabled",
                    v1::RealServerChangeKind::Unspecified => "changed",
                };
                let mut why = c.checker.clone();
                if !c.reason.is_empty() {
                    if !why.is_empty() {
                        why.push_str(": ");
                    }
                    why.push_str(&c.reason);
                }
                format!(
                    "real server {} {kind}, weight {} -> {}{}",
                    rs_key(c.key.as_ref()),
                    c.old_weight,
                    c.new_weight,
                    if why.is_empty() {
                        String::new()
                    } else {
                        format!(" ({why})")
                    }
                )
            }
            Some(Payload::QuorumChanged(q)) => {
                let quorum = q.quorum.unwrap_or_default();
                format!(
                    "quorum of {} {} (alive weight {}, quorum {})",
                    vs_key(q.key.as_ref()).replace("  ", " "),
                    if quorum.up { "gained" } else { "lost" },
                    quorum.alive_weight,
                    quorum.quorum
                )
            }
            Some(Payload::VirtualServerChanged(v)) => format!(
                "virtual server {} {}",
                vs_key(v.key.as_ref()).replace("  ", " "),
                if v.added {
                    "added to the table"
                } else {
                    "removed from the table"
                }
            ),
            None => "event without payload".into(),
        }
    }
}

impl Describe for v1::HealthEvent {
    const SERVICE: &'static str = "health-prober";
    fn header_ref(&self) -> Option<&v1::EventHeader> {
        self.header.as_ref()
    }
    fn describe(&self) -> String {
        use v1::health_event::Payload;
        match &self.payload {
            Some(Payload::Snapshot(s)) => {
                let up = s
                    .targets
                    .iter()
                    .filter(|t| t.verdict == v1::Verdict::Up as i32)
                    .count();
                let down = s
                    .targets
                    .iter()
                    .filter(|t| t.verdict == v1::Verdict::Down as i32)
                    .count();
                format!(
                    "snapshot: {} target(s), {up} up, {down} down",
                    s.targets.len()
                )
            }
            Some(Payload::TargetChanged(c)) => {
                let id = c.target.as_ref().map(|t| t.id.as_str()).unwrap_or("?");
                let what = if c.removed {
                    "removed by reload".to_owned()
                } else if c.added {
                    format!("added by reload, {}", verdict_name(c.to))
                } else if c.from == c.to {
                    let weight = c.target.as_ref().and_then(|t| t.dynamic_weight);
                    format!(
                        "{}, dynamic weight {}",
                        verdict_name(c.to),
                        weight.map_or("unset".to_owned(), |w| w.to_string())
                    )
                } else {
                    format!("{} -> {}", verdict_name(c.from), verdict_name(c.to))
                };
                format!(
                    "{id} {what}{}",
                    if c.reason.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", c.reason)
                    }
                )
            }
            None => "event without payload".into(),
        }
    }
}

impl Describe for v1::NotifierEvent {
    const SERVICE: &'static str = "notifier";
    fn header_ref(&self) -> Option<&v1::EventHeader> {
        self.header.as_ref()
    }
    fn describe(&self) -> String {
        use v1::notifier_event::Payload;
        match &self.payload {
            Some(Payload::Snapshot(s)) => {
                format!("snapshot: {} delivery(ies) pending", s.deliveries.len())
            }
            Some(Payload::DeliveryChanged(d)) => format!(
                "{} to {} {} \"{}\" (attempt {}{}{})",
                channel_name(d.channel),
                d.destination,
                delivery_state_name(d.state),
                d.summary,
                d.attempts,
                if d.last_error.is_empty() { "" } else { ": " },
                d.last_error
            ),
            None => "event without payload".into(),
        }
    }
}

/// One line of `kactl events`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EventLine {
    /// Event time (RFC 3339, UTC), empty for connection notices.
    pub time: String,
    /// Director name.
    pub director: String,
    /// Producing service.
    pub service: String,
    /// `snapshot`, `delta`, `disconnected` or `removed`.
    pub kind: String,
    /// Producer identity (`service@host`).
    pub producer: String,
    /// Event seq within the producer's incarnation.
    pub seq: u64,
    /// What happened.
    pub text: String,
    /// Trace id of the event (empty when it carries none).
    pub trace_id: String,
}

impl EventLine {
    /// The line for one update of a subscription.
    pub fn from_update<E: Describe>(director: &str, update: &Update<E>) -> Self {
        let line = |kind: &str, event: Option<&E>, text: String| {
            let header = event.and_then(|e| e.header_ref());
            Self {
                time: event_time(header),
                director: director.to_owned(),
                service: E::SERVICE.to_owned(),
                kind: kind.to_owned(),
                producer: header.map(|h| h.producer.clone()).unwrap_or_default(),
                seq: header.map(|h| h.seq).unwrap_or_default(),
                text,
                trace_id: trace_id(header),
            }
        };
        match update {
            Update::Snapshot(e) => line("snapshot", Some(e), e.describe()),
            Update::Delta(e) => line("delta", Some(e), e.describe()),
            Update::Disconnected { error } => line(
                "disconnected",
                None,
                format!("stream lost: {error} (reconnecting)"),
            ),
            Update::Removed => line("removed", None, "replica left DNS".into()),
        }
    }

    /// `TIME DIRECTOR SERVICE TEXT trace=ID`.
    pub fn human(&self) -> String {
        let time = if self.time.is_empty() {
            "-"
        } else {
            &self.time
        };
        let trace = if self.trace_id.is_empty() {
            "-"
        } else {
            &self.trace_id
        };
        format!(
            "{time} {} {:<13} {} trace={trace}",
            self.director, self.service, self.text
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(kind: v1::EventKind) -> Option<v1::EventHeader> {
        Some(v1::EventHeader {
            kind: kind as i32,
            producer: "vrrp-core@dr1".into(),
            incarnation: "i".into(),
            seq: 7,
            time: Some(prost_types::Timestamp {
                seconds: 1_700_000_000,
                nanos: 123_000_000,
            }),
            trace: Some(v1::TraceContext {
                traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into(),
                tracestate: String::new(),
            }),
        })
    }

    #[test]
    fn a_transition_is_one_line_with_time_director_and_trace_id() {
        let event = v1::VrrpEvent {
            header: header(v1::EventKind::Delta),
            payload: Some(v1::vrrp_event::Payload::Transition(
                v1::InstanceTransition {
                    instance: "VI_1".into(),
                    from: v1::VrrpState::Master as i32,
                    to: v1::VrrpState::Backup as i32,
                    reason: v1::TransitionReason::HigherPriorityHeard as i32,
                    detail: "higher priority 90 from 198.51.100.12".into(),
                    priority: 84,
                    instance_state: None,
                },
            )),
        };
        let line = EventLine::from_update("dr1", &Update::Delta(event));
        assert_eq!(
            line.human(),
            "2023-11-14T22:13:20.123Z dr1 vrrp-core     VI_1 MASTER -> BACKUP (higher priority heard: \
             higher priority 90 from 198.51.100.12) prio 84 trace=0af7651916cd43dd8448eb211c80319c"
        );
        assert_eq!(line.kind, "delta");
        assert_eq!(line.seq, 7);
        let json = serde_json::to_value(&line).unwrap();
        assert_eq!(json["trace_id"], "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(json["producer"], "vrrp-core@dr1");
    }

    #[test]
    fn real_server_removal_names_the_checker_and_reason() {
        let event = v1::IpvsEvent {
            header: header(v1::EventKind::Delta),
            payload: Some(v1::ipvs_event::Payload::RealServerChanged(
                v1::RealServerChange {
                    key: Some(v1::RealServerKey {
                        virtual_server: Some(v1::VirtualServerKey {
                            kind: Some(v1::virtual_server_key::Kind::AddressPort(
                                v1::AddressPort {
                                    address: "198.51.100.10".into(),
                                    port: 80,
                                },
                            )),
                            protocol: v1::Protocol::Tcp as i32,
                        }),
                        real_server: Some(v1::AddressPort {
                            address: "198.51.100.22".into(),
                            port: 80,
                        }),
                    }),
                    kind: v1::RealServerChangeKind::Removed as i32,
                    old_weight: 1,
                    new_weight: 0,
                    reason: "HTTP request failed".into(),
                    checker: "HTTP_CHECK".into(),
                    real_server: None,
                    mail_body: None,
                },
            )),
        };
        assert_eq!(
            event.describe(),
            "real server 198.51.100.22:80 in TCP 198.51.100.10:80 removed, weight 1 -> 0 \
             (HTTP_CHECK: HTTP request failed)"
        );
    }

    #[test]
    fn verdicts_deliveries_and_disconnects() {
        let verdict = v1::HealthEvent {
            header: None,
            payload: Some(v1::health_event::Payload::TargetChanged(v1::TargetChange {
                target: Some(v1::Target {
                    id: "HTTP_GET:198.51.100.22:80".into(),
                    ..Default::default()
                }),
                from: v1::Verdict::Up as i32,
                to: v1::Verdict::Down as i32,
                reason: "HTTP request failed".into(),
                ..Default::default()
            })),
        };
        assert_eq!(
            verdict.describe(),
            "HTTP_GET:198.51.100.22:80 UP -> DOWN (HTTP request failed)"
        );
        let delivery = v1::NotifierEvent {
            header: None,
            payload: Some(v1::notifier_event::Payload::DeliveryChanged(v1::Delivery {
                channel: v1::Channel::Mail as i32,
                destination: "root@localhost".into(),
                summary: "[keepalivedR1] Realserver [198.51.100.22]:80 - DOWN".into(),
                state: v1::DeliveryState::Delivered as i32,
                attempts: 1,
                ..Default::default()
            })),
        };
        assert_eq!(
            delivery.describe(),
            "mail to root@localhost DELIVERED \"[keepalivedR1] Realserver [198.51.100.22]:80 - DOWN\" (attempt 1)"
        );
        let lost = EventLine::from_update::<v1::NotifierEvent>(
            "dr2",
            &Update::Disconnected {
                error: "connection refused".into(),
            },
        );
        assert_eq!(
            lost.human(),
            "- dr2 notifier      stream lost: connection refused (reconnecting) trace=-"
        );
    }

    #[test]
    fn trace_id_needs_a_well_formed_traceparent() {
        let mut h = header(v1::EventKind::Delta).unwrap();
        assert_eq!(trace_id(Some(&h)), "0af7651916cd43dd8448eb211c80319c");
        h.trace = Some(v1::TraceContext {
            traceparent: "garbage".into(),
            tracestate: String::new(),
        });
        assert_eq!(trace_id(Some(&h)), "");
        assert_eq!(trace_id(None), "");
    }
}
