//! `static_ipaddress`, `static_routes` and `static_rules`: what vrrp-core keeps whatever the
//! instances' states — added at start before any instance runs (vrrp.c `vrrp_complete_init`
//! → `process_static_entries`), brought in step with the configuration at a reload, removed
//! at stop after the instances (vrrp_daemon.c `vrrp_terminate_phase1`).

use crate::ports::AddressPort;
use crate::routes::{self, RouteSpec};
use crate::rules::{InstanceRules, RuleSpec};
use crate::spec::VipSpec;

/// What the configuration asks to be always present.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StaticSpec {
    /// `static_ipaddress`, each on its `dev` (else `default_interface`).
    pub addresses: Vec<VipSpec>,
    /// `static_routes`.
    pub routes: Vec<RouteSpec>,
    /// `static_rules`.
    pub rules: Vec<RuleSpec>,
}

/// The static entries this process installed.
#[derive(Debug, Default)]
pub struct Statics {
    applied: StaticSpec,
}

impl Statics {
    /// Makes the system hold `want`: entries no longer configured are removed, the others
    /// added (present already is success).
    pub async fn apply(&mut self, netlink: &dyn AddressPort, want: &StaticSpec) {
        let old = std::mem::take(&mut self.applied);
        let gone = StaticSpec {
            addresses: old
                .addresses
                .into_iter()
                .filter(|a| !want.addresses.contains(a))
                .collect(),
            routes: old
                .routes
                .into_iter()
                .filter(|r| !want.routes.contains(r))
                .collect(),
            rules: old
                .rules
                .into_iter()
                .filter(|r| !want.rules.contains(r))
                .collect(),
        };
        remove(netlink, &gone).await;
        for a in &want.addresses {
            let added = match netlink.link(&a.dev).await {
                Ok(link) => netlink.add_vip(link.index, a).await,
                Err(e) => Err(e),
            };
            match added {
                Ok(()) => tracing::info!("static address {} added to {}", a.cidr(), a.dev),
                Err(error) => tracing::error!("static address {}: {error}", a.cidr()),
            }
        }
        let mut installed = routes::InstanceRoutes::new(&want.routes);
        installed.add_all(netlink, "static").await;
        InstanceRules::new(&want.rules)
            .add_all(netlink, "static")
            .await;
        self.applied = want.clone();
    }

    /// At stop: removes everything installed.
    pub async fn clear(&mut self, netlink: &dyn AddressPort) {
        let applied = std::mem::take(&mut self.applied);
        remove(netlink, &applied).await;
    }
}

/// Rules, routes (one may use a static address as its source), then the addresses.
async fn remove(netlink: &dyn AddressPort, what: &StaticSpec) {
    InstanceRules::new(&what.rules)
        .remove_all(netlink, "static")
        .await;
    let mut installed = routes::InstanceRoutes::new(&what.routes);
    installed.remove_all(netlink, "static").await;
    for a in &what.addresses {
        let removed = match netlink.link(&a.dev).await {
            Ok(link) => netlink.del_vip(link.index, a).await,
            // Its interface is gone, and the address with it.
            Err(_) => Ok(false),
        };
        match removed {
            Ok(true) => tracing::info!("static address {} removed from {}", a.cidr(), a.dev),
            Ok(false) => {}
            Err(error) => tracing::error!("static address {}: {error}", a.cidr()),
        }
    }
}
