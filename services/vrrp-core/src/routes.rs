//! `virtual_routes`: routes that follow their instance, installed with its VIPs on
//! becoming MASTER and removed before them on leaving it (vrrp.c `vrrp_state_become_master`
//! / `vrrp_restore_interface`), IPv4 and IPv6, through rtnetlink.
//!
//! What is read from an entry (vrrp_iproute.c `alloc_route` syntax): `[TYPE] [to] PREFIX`
//! (`default` too), `via`/`gw`, `dev`, `src`, `metric`, `table` (a number, `main`, `local`,
//! `default`), the types `unicast`/`blackhole`/`unreachable`/`prohibit`, and `onlink`,
//! `no_track` (accepted; route tracking is not built). Any other word leaves the route out with
//! a warning naming it, rather than installing a different route than keepalived would.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use keepalived_config::VirtualRoute;
use netlink_packet_route::route::{RouteMessage, RouteType};
use rtnetlink::RouteMessageBuilder;

use crate::netlink::{Netlink, NetlinkError};
use crate::ports::AddressPort;

/// One route, resolved from the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    /// Destination.
    pub dst: IpAddr,
    /// Its prefix length.
    pub prefix_len: u8,
    /// `via`.
    pub via: Option<IpAddr>,
    /// `dev`.
    pub dev: Option<String>,
    /// `src` (the preferred source).
    pub src: Option<IpAddr>,
    /// `metric`.
    pub metric: Option<u32>,
    /// `table` (main when unset).
    pub table: Option<u32>,
    /// `blackhole`, `unreachable`, `prohibit` or unicast.
    pub kind: RouteType,
    /// `onlink`.
    pub onlink: bool,
}

impl RouteSpec {
    /// From a `virtual_routes` entry; the error names what is not supported.
    pub fn from_config(r: &VirtualRoute) -> Result<Self, String> {
        let mut kind = RouteType::Unicast;
        let mut onlink = false;
        for word in &r.extra {
            match word.as_str() {
                "unicast" => kind = RouteType::Unicast,
                "blackhole" => kind = RouteType::BlackHole,
                "unreachable" => kind = RouteType::Unreachable,
                "prohibit" => kind = RouteType::Prohibit,
                "onlink" => onlink = true,
                "no_track" => {}
                other => return Err(format!("'{other}' is not supported in a virtual route")),
            }
        }
        // The family of `default` comes from the gateway or source, else IPv4.
        let v6 = r.via.or(r.src).is_some_and(|a| a.is_ipv6());
        let (dst, prefix_len) = match r.to.as_str() {
            "default" | "any" | "all" => {
                if v6 {
                    (IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0)
                } else {
                    (IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0)
                }
            }
            to => {
                let (addr, len) = to.split_once('/').unwrap_or((to, ""));
                let dst: IpAddr = addr
                    .parse()
                    .map_err(|_| format!("'{to}' is not a destination prefix"))?;
                let max = if dst.is_ipv6() { 128 } else { 32 };
                let prefix_len = if len.is_empty() {
                    max
                } else {
                    len.parse::<u8>()
                        .ok()
                        .filter(|l| *l <= max)
                        .ok_or_else(|| format!("'{to}' has a bad prefix length"))?
                };
                (dst, prefix_len)
            }
        };
        for a in [r.via, r.src].into_iter().flatten() {
            if a.is_ipv6() != dst.is_ipv6() {
                return Err(format!("{a} is not of the family of {}", r.to));
            }
        }
        let table = match r.table.as_deref() {
            None => None,
            Some("main") => Some(254),
            Some("local") => Some(255),
            Some("default") => Some(253),
            Some(t) => Some(t.parse::<u32>().map_err(|_| {
                format!("table '{t}': only numbers, main, local and default are supported")
            })?),
        };
        Ok(Self {
            dst,
            prefix_len,
            via: r.via,
            dev: r.dev.clone(),
            src: r.src,
            metric: r.metric,
            table,
            kind,
            onlink,
        })
    }

    /// As `ip route` would print it, for logs.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        match self.kind {
            RouteType::BlackHole => s.push_str("blackhole "),
            RouteType::Unreachable => s.push_str("unreachable "),
            RouteType::Prohibit => s.push_str("prohibit "),
            _ => {}
        }
        s.push_str(&format!("{}/{}", self.dst, self.prefix_len));
        if let Some(v) = self.via {
            s.push_str(&format!(" via {v}"));
        }
        if let Some(d) = &self.dev {
            s.push_str(&format!(" dev {d}"));
        }
        if let Some(a) = self.src {
            s.push_str(&format!(" src {a}"));
        }
        if let Some(m) = self.metric {
            s.push_str(&format!(" metric {m}"));
        }
        if let Some(t) = self.table {
            s.push_str(&format!(" table {t}"));
        }
        if self.onlink {
            s.push_str(" onlink");
        }
        s
    }

    /// The route message (the device resolved to `oif`).
    fn message(&self, oif: Option<u32>) -> RouteMessage {
        let mut b = RouteMessageBuilder::<IpAddr>::new()
            .destination_prefix(self.dst, self.prefix_len)
            .expect("destination and family agree")
            .kind(self.kind)
            // vrrp_iproute.c: keepalived's routes carry RTPROT_KEEPALIVED (18).
            .protocol(netlink_packet_route::route::RouteProtocol::KeepAlived);
        if let Some(v) = self.via {
            b = b.gateway(v).expect("gateway of the route's family");
        }
        if let Some(a) = self.src {
            b = b.pref_source(a).expect("source of the route's family");
        }
        if let Some(i) = oif {
            b = b.output_interface(i);
        }
        if let Some(m) = self.metric {
            b = b.priority(m);
        }
        if let Some(t) = self.table {
            b = b.table_id(t);
        }
        if self.onlink {
            b = b.onlink();
        }
        if self.kind != RouteType::Unicast {
            // ip-route(8): routes of these types have no interface scope.
            b = b.scope(netlink_packet_route::route::RouteScope::Universe);
        } else if self.via.is_none() && oif.is_some() {
            b = b.scope(netlink_packet_route::route::RouteScope::Link);
        }
        b.build()
    }
}

/// An instance's `virtual_routes`, and which of them we installed.
#[derive(Debug, Default)]
pub struct InstanceRoutes {
    routes: Vec<(RouteSpec, bool)>,
}

impl InstanceRoutes {
    /// The routes of an instance, none installed yet.
    pub fn new(specs: &[RouteSpec]) -> Self {
        Self {
            routes: specs.iter().map(|s| (s.clone(), false)).collect(),
        }
    }

    /// Whether any is installed.
    pub fn any_present(&self) -> bool {
        self.routes.iter().any(|(_, present)| *present)
    }

    /// Installs every route (on becoming MASTER, after the VIPs: a route may use a VIP as
    /// its source).
    pub async fn add_all(&mut self, netlink: &dyn AddressPort, instance: &str) {
        for (spec, present) in &mut self.routes {
            match netlink.add_route(spec).await {
                Ok(()) => {
                    *present = true;
                    tracing::info!("({instance}) route {} added", spec.describe());
                }
                Err(error) => tracing::error!("({instance}) {error}"),
            }
        }
    }

    /// Removes every route (on leaving MASTER and at stop, before the VIPs), also one left
    /// behind by an earlier run.
    pub async fn remove_all(&mut self, netlink: &dyn AddressPort, instance: &str) {
        for (spec, present) in &mut self.routes {
            match netlink.del_route(spec).await {
                Ok(true) => tracing::info!("({instance}) route {} removed", spec.describe()),
                Ok(false) => {}
                Err(error) => tracing::error!("({instance}) {error}"),
            }
            *present = false;
        }
    }
}

async fn oif(netlink: &Netlink, spec: &RouteSpec) -> Result<Option<u32>, NetlinkError> {
    match &spec.dev {
        Some(dev) => Ok(Some(netlink.link(dev).await?.index)),
        None => Ok(None),
    }
}

/// `ip route replace ROUTE`: present already is success.
pub(crate) async fn add(netlink: &Netlink, spec: &RouteSpec) -> Result<(), NetlinkError> {
    let msg = spec.message(oif(netlink, spec).await?);
    netlink
        .handle()
        .route()
        .add(msg)
        .replace()
        .execute()
        .await
        .map_err(|source| NetlinkError::Request {
            what: format!("adding route {}", spec.describe()),
            source,
        })
}

/// `ip route del ROUTE`; returns whether it was there.
pub(crate) async fn del(netlink: &Netlink, spec: &RouteSpec) -> Result<bool, NetlinkError> {
    let oif = match oif(netlink, spec).await {
        Ok(oif) => oif,
        // Its interface is gone, and the route with it.
        Err(_) => return Ok(false),
    };
    match netlink
        .handle()
        .route()
        .del(spec.message(oif))
        .execute()
        .await
    {
        Ok(()) => Ok(true),
        Err(e)
            if matches!(
                crate::netlink::errno(&e),
                Some(libc::ESRCH) | Some(libc::ENOENT)
            ) =>
        {
            Ok(false)
        }
        Err(source) => Err(NetlinkError::Request {
            what: format!("removing route {}", spec.describe()),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(to: &str, extra: &[&str]) -> VirtualRoute {
        VirtualRoute {
            to: to.into(),
            via: None,
            dev: None,
            src: None,
            metric: None,
            table: None,
            extra: extra.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn entries_resolve_as_ip_route_reads_them() {
        let r = RouteSpec::from_config(&route("blackhole", &[]));
        assert!(r.is_err(), "{r:?}");
        let r = RouteSpec::from_config(&route("198.51.100.192/26", &["blackhole"])).unwrap();
        assert_eq!(r.describe(), "blackhole 198.51.100.192/26");
        let mut d = route("default", &[]);
        d.via = Some("2001:db8::1".parse().unwrap());
        d.table = Some("100".into());
        let r = RouteSpec::from_config(&d).unwrap();
        assert_eq!(r.describe(), "::/0 via 2001:db8::1 table 100");
        let r = RouteSpec::from_config(&route("203.0.113.7", &[])).unwrap();
        assert_eq!(r.prefix_len, 32);
        assert!(RouteSpec::from_config(&route("203.0.113.0/24", &["proto", "static"])).is_err());
        let mut t = route("203.0.113.0/24", &[]);
        t.table = Some("vrrp".into());
        assert!(RouteSpec::from_config(&t).is_err());
        let mut m = route("203.0.113.0/24", &[]);
        m.via = Some("2001:db8::1".parse().unwrap());
        assert!(RouteSpec::from_config(&m).is_err());
    }
}
