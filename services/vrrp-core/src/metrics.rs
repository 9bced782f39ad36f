//! Per-instance Prometheus metrics, read from the instances' live views at scrape time
//! (one owner of the facts: the views the API serves; nothing counted twice).

use keepalived_api::v1;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use crate::engine::SharedRegistry;

/// `keepalived_vrrp_*`: state, priorities and keepalived's per-instance counters.
#[derive(Debug)]
pub struct InstanceMetrics(pub SharedRegistry);

/// The states `keepalived_vrrp_state` has one series for, per instance.
const STATES: [(v1::VrrpState, &str); 4] = [
    (v1::VrrpState::Init, "INIT"),
    (v1::VrrpState::Backup, "BACKUP"),
    (v1::VrrpState::Master, "MASTER"),
    (v1::VrrpState::Fault, "FAULT"),
];

/// keepalived's drop counters (`vrrp_stats`) as `reason` labels.
fn drops(c: &v1::InstanceCounters) -> [(&'static str, u64); 11] {
    [
        ("packet_length", c.packet_len_err),
        ("advert_interval", c.advert_interval_err),
        ("ip_ttl", c.ip_ttl_err),
        ("invalid_type", c.invalid_type_rcvd),
        ("address_list", c.addr_list_err),
        ("invalid_auth_type", c.invalid_authtype),
        ("auth_type_mismatch", c.authtype_mismatch),
        ("auth_failure", c.auth_failure),
        ("checksum", c.checksum_err),
        ("version", c.version_err),
        ("vrid", c.vrid_mismatch),
    ]
}

type Gauges = Vec<(Vec<(&'static str, String)>, i64)>;
type Counters = Vec<(Vec<(&'static str, String)>, u64)>;

fn gauge(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    series: Gauges,
) -> std::fmt::Result {
    let mut family =
        encoder.encode_descriptor(name, help, None, ConstGauge::new(0i64).metric_type())?;
    for (labels, value) in &series {
        ConstGauge::new(*value).encode(family.encode_family(labels)?)?;
    }
    Ok(())
}

fn counter(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    series: Counters,
) -> std::fmt::Result {
    let mut family =
        encoder.encode_descriptor(name, help, None, ConstCounter::new(0u64).metric_type())?;
    for (labels, value) in &series {
        ConstCounter::new(*value).encode(family.encode_family(labels)?)?;
    }
    Ok(())
}

impl Collector for InstanceMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> std::fmt::Result {
        let instances: Vec<v1::Instance> = {
            let reg = self.0.read().unwrap_or_else(|e| e.into_inner());
            reg.instances.iter().map(|h| h.view.snapshot()).collect()
        };
        let per = |f: &dyn Fn(&v1::Instance) -> i64| -> Gauges {
            instances
                .iter()
                .map(|i| (vec![("instance", i.name.clone())], f(i)))
                .collect()
        };
        let count = |f: &dyn Fn(&v1::InstanceCounters) -> u64| -> Counters {
            instances
                .iter()
                .map(|i| {
                    (
                        vec![("instance", i.name.clone())],
                        f(&i.counters.unwrap_or_default()),
                    )
                })
                .collect()
        };
        let mut states = Gauges::new();
        for i in &instances {
            for (state, label) in STATES {
                let labels = vec![("instance", i.name.clone()), ("state", label.to_owned())];
                states.push((labels, i64::from(i.state == state as i32)));
            }
        }
        gauge(
            &mut encoder,
            "vrrp_state",
            "1 for the instance's current VRRP state, 0 for the others",
            states,
        )?;
        gauge(
            &mut encoder,
            "vrrp_priority",
            "Configured priority",
            per(&|i| i64::from(i.base_priority)),
        )?;
        gauge(
            &mut encoder,
            "vrrp_effective_priority",
            "Priority after the trackers' weights",
            per(&|i| i64::from(i.effective_priority)),
        )?;
        gauge(
            &mut encoder,
            "vrrp_maintenance",
            "1 while maintenance is on",
            per(&|i| i64::from(i.maintenance)),
        )?;
        counter(
            &mut encoder,
            "vrrp_adverts_sent",
            "Adverts sent",
            count(&|c| c.advert_sent),
        )?;
        counter(
            &mut encoder,
            "vrrp_adverts_received",
            "Valid adverts received",
            count(&|c| c.advert_rcvd),
        )?;
        counter(
            &mut encoder,
            "vrrp_priority_zero_adverts_sent",
            "Priority-0 adverts sent",
            count(&|c| c.pri_zero_sent),
        )?;
        counter(
            &mut encoder,
            "vrrp_priority_zero_adverts_received",
            "Priority-0 adverts received",
            count(&|c| c.pri_zero_rcvd),
        )?;
        counter(
            &mut encoder,
            "vrrp_became_master",
            "Transitions to MASTER",
            count(&|c| c.become_master),
        )?;
        counter(
            &mut encoder,
            "vrrp_released_master",
            "Transitions out of MASTER",
            count(&|c| c.release_master),
        )?;
        let mut dropped = Counters::new();
        for i in &instances {
            for (reason, value) in drops(&i.counters.unwrap_or_default()) {
                dropped.push((
                    vec![("instance", i.name.clone()), ("reason", reason.to_owned())],
                    value,
                ));
            }
        }
        counter(
            &mut encoder,
            "vrrp_adverts_dropped",
            "Adverts dropped, by keepalived's counter for the reason",
            dropped,
        )?;
        Ok(())
    }
}
