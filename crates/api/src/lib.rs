//! The keepalived-rs gRPC contracts: package `keepalived.v1`, generated from
//! `proto/keepalived/v1/` by tonic and prost.
//!
//! Besides the generated code this crate provides [`BusEvent`], the common view
//! of the four services' event envelopes that the event bus works with.
#![forbid(unsafe_code)]

/// Generated messages and services of package `keepalived.v1`.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod v1 {
    tonic::include_proto!("keepalived.v1");
}

/// The encoded `FileDescriptorSet` of every `keepalived.v1` file (and the
/// well-known types they import), for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/keepalived_descriptor.bin"));

/// An event that travels on the bus: one of the services' `*Event` messages,
/// each of which starts with an [`v1::EventHeader`].
pub trait BusEvent: prost::Message + Clone + Default + Send + Sync + 'static {
    /// The envelope header, if set.
    fn header(&self) -> Option<&v1::EventHeader>;
    /// The envelope header, created when absent.
    fn header_mut(&mut self) -> &mut v1::EventHeader;
    /// Whether the payload is this service's snapshot message.
    fn is_snapshot_payload(&self) -> bool;
}

macro_rules! bus_event {
    ($event:ident, $payload:ident) => {
        impl BusEvent for v1::$event {
            fn header(&self) -> Option<&v1::EventHeader> {
                self.header.as_ref()
            }
            fn header_mut(&mut self) -> &mut v1::EventHeader {
                self.header.get_or_insert_with(Default::default)
            }
            fn is_snapshot_payload(&self) -> bool {
                matches!(self.payload, Some(v1::$payload::Payload::Snapshot(_)))
            }
        }
    };
}

bus_event!(VrrpEvent, vrrp_event);
bus_event!(IpvsEvent, ipvs_event);
bus_event!(HealthEvent, health_event);
bus_event!(NotifierEvent, notifier_event);

/// Fully-qualified gRPC service names, as reflection and `grpc.health.v1` use them.
pub mod service_names {
    /// `keepalived.v1.Vrrp`.
    pub const VRRP: &str = "keepalived.v1.Vrrp";
    /// `keepalived.v1.Ipvs`.
    pub const IPVS: &str = "keepalived.v1.Ipvs";
    /// `keepalived.v1.Health`.
    pub const HEALTH: &str = "keepalived.v1.Health";
    /// `keepalived.v1.Notifier`.
    pub const NOTIFIER: &str = "keepalived.v1.Notifier";
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn descriptor_set_names_all_four_services() {
        let fds = prost_types::FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).unwrap();
        let services: Vec<String> = fds
            .file
            .iter()
            .filter(|f| f.package() == "keepalived.v1")
            .flat_map(|f| {
                f.service
                    .iter()
                    .map(|s| format!("keepalived.v1.{}", s.name()))
            })
            .collect();
        for name in [
            service_names::VRRP,
            service_names::IPVS,
            service_names::HEALTH,
            service_names::NOTIFIER,
        ] {
            assert!(
                services.iter().any(|s| s == name),
                "{name} missing: {services:?}"
            );
        }
    }

    #[test]
    fn header_mut_creates_and_snapshot_payload_is_recognised() {
        let mut event = v1::HealthEvent {
            payload: Some(v1::health_event::Payload::Snapshot(Default::default())),
            ..Default::default()
        };
        assert!(event.header().is_none());
        event.header_mut().seq = 7;
        assert_eq!(event.header().unwrap().seq, 7);
        assert!(event.is_snapshot_payload());
        let delta = v1::HealthEvent {
            payload: Some(v1::health_event::Payload::TargetChanged(Default::default())),
            ..Default::default()
        };
        assert!(!delta.is_snapshot_payload());
    }
}
