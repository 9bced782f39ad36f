//! The health-prober replica set, as ipvs-manager and the probers
//! themselves learn it: one reading of the flags and the config for both,
//! so the two always follow the same set.

use std::time::Duration;

use keepalived_bus::Upstreams;
use keepalived_config::Config;

/// How often a DNS name of the replica set is resolved again.
pub const DNS_REFRESH: Duration = Duration::from_secs(5);

/// The replica set: `--health-prober-dns` (every A/AAAA record), else
/// `--health-prober` (a list), else the config's `keepalived_rs {
/// health_prober_dns … | health_prober … }`. `None` when nothing names one.
pub fn prober_replicas(
    list: &[String],
    dns: Option<&str>,
    config: Option<&Config>,
) -> Option<Upstreams> {
    let by_dns = |name: &str| Upstreams::Dns {
        name: name.to_owned(),
        refresh: DNS_REFRESH,
    };
    if let Some(name) = dns {
        return Some(by_dns(name));
    }
    if !list.is_empty() {
        return Some(Upstreams::Static(list.to_vec()));
    }
    let ours = &config?.keepalived_rs;
    if let Some(name) = ours.health_prober_dns.as_deref() {
        return Some(by_dns(name));
    }
    (!ours.health_probers.is_empty()).then(|| Upstreams::Static(ours.health_probers.clone()))
}
