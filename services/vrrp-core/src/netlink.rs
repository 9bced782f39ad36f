//! rtnetlink: interface lookup, VIPs added and removed (`ip addr add/del … dev … label …
//! scope … brd …`), and link state followed through the RTNLGRP_LINK multicast group
//! (`ip monitor link`), so an interface going down puts its instances into FAULT.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex};

use futures::{StreamExt, TryStreamExt};
use netlink_packet_core::NetlinkPayload;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope,
};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use rtnetlink::{Handle, MulticastGroup};
use tokio::sync::watch;

use crate::spec::VipSpec;

/// A netlink failure, with what we were doing.
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    /// Opening the netlink socket failed.
    #[error("cannot open a netlink socket: {0}")]
    Open(#[from] std::io::Error),
    /// The interface does not exist.
    #[error("interface {0} does not exist")]
    NoSuchInterface(String),
    /// A request failed.
    #[error("{what}: {source}")]
    Request {
        /// What we asked.
        what: String,
        /// The kernel's answer.
        source: rtnetlink::Error,
    },
}

/// What the engine needs to know of an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    /// Interface index.
    pub index: u32,
    /// Hardware address.
    pub mac: [u8; 6],
    /// IFF_UP and IFF_RUNNING (keepalived's test for a usable interface).
    pub up: bool,
}

fn link_info(msg: &LinkMessage) -> (Option<String>, LinkInfo) {
    let mut name = None;
    let mut mac = [0u8; 6];
    for attr in &msg.attributes {
        match attr {
            LinkAttribute::IfName(n) => name = Some(n.clone()),
            LinkAttribute::Address(a) if a.len() == 6 => mac.copy_from_slice(a),
            _ => {}
        }
    }
    let flags = msg.header.flags;
    let up = flags.contains(LinkFlags::Up) && flags.contains(LinkFlags::Running);
    (
        name,
        LinkInfo {
            index: msg.header.index,
            mac,
            up,
        },
    )
}

pub(crate) fn errno(error: &rtnetlink::Error) -> Option<i32> {
    match error {
        rtnetlink::Error::NetlinkError(e) => Some(-e.raw_code()),
        _ => None,
    }
}

/// A netlink connection for requests.
#[derive(Clone, Debug)]
pub struct Netlink {
    handle: Handle,
}

impl Netlink {
    /// The rtnetlink handle, for the other netlink users of this crate (routes).
    pub(crate) fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Opens the connection (its I/O runs on a spawned task).
    pub fn open() -> Result<Self, NetlinkError> {
        let (connection, handle, _) = rtnetlink::new_connection()?;
        tokio::spawn(connection);
        Ok(Self { handle })
    }

    /// Looks up an interface by name.
    pub async fn link(&self, name: &str) -> Result<LinkInfo, NetlinkError> {
        let mut links = self
            .handle
            .link()
            .get()
            .match_name(name.to_owned())
            .execute();
        match links.try_next().await {
            Ok(Some(msg)) => Ok(link_info(&msg).1),
            Ok(None) => Err(NetlinkError::NoSuchInterface(name.to_owned())),
            Err(e) if errno(&e) == Some(libc::ENODEV) => {
                Err(NetlinkError::NoSuchInterface(name.to_owned()))
            }
            Err(source) => Err(NetlinkError::Request {
                what: format!("looking up interface {name}"),
                source,
            }),
        }
    }

    /// Every link, by name.
    pub async fn links(&self) -> Result<HashMap<String, LinkInfo>, NetlinkError> {
        let mut out = HashMap::new();
        let mut links = self.handle.link().get().execute();
        loop {
            match links.try_next().await {
                Ok(Some(msg)) => {
                    if let (Some(name), info) = link_info(&msg) {
                        out.insert(name, info);
                    }
                }
                Ok(None) => return Ok(out),
                Err(source) => {
                    return Err(NetlinkError::Request {
                        what: "listing interfaces".into(),
                        source,
                    });
                }
            }
        }
    }

    /// The IPv4 addresses on interface `index`, in the kernel's order (primary first).
    pub async fn ipv4_addresses(&self, index: u32) -> Result<Vec<Ipv4Addr>, NetlinkError> {
        let mut out = Vec::new();
        let mut addrs = self
            .handle
            .address()
            .get()
            .set_link_index_filter(index)
            .execute();
        loop {
            match addrs.try_next().await {
                Ok(Some(msg)) => {
                    for attr in &msg.attributes {
                        if let AddressAttribute::Local(IpAddr::V4(a)) = attr {
                            out.push(*a);
                        }
                    }
                }
                Ok(None) => return Ok(out),
                Err(source) => {
                    return Err(NetlinkError::Request {
                        what: format!("listing addresses of interface {index}"),
                        source,
                    });
                }
            }
        }
    }

    /// The link-local IPv6 addresses (fe80::/10) on interface `index` that are usable as
    /// a source (not tentative, not failed DAD), in the kernel's order. RFC 5798
    /// §5.1.2.1: a VRRPv3 advert over IPv6 comes from the interface's link-local address.
    pub async fn ipv6_link_local(&self, index: u32) -> Result<Vec<Ipv6Addr>, NetlinkError> {
        let mut out = Vec::new();
        let mut addrs = self
            .handle
            .address()
            .get()
            .set_link_index_filter(index)
            .execute();
        loop {
            match addrs.try_next().await {
                Ok(Some(msg)) => {
                    let mut flags =
                        AddressFlags::from_bits_retain(u32::from(msg.header.flags.bits()));
                    for attr in &msg.attributes {
                        if let AddressAttribute::Flags(f) = attr {
                            flags = *f;
                        }
                    }
                    if flags.intersects(AddressFlags::Tentative | AddressFlags::Dadfailed) {
                        continue;
                    }
                    for attr in &msg.attributes {
                        if let AddressAttribute::Address(IpAddr::V6(a)) = attr
                            && (a.segments()[0] & 0xffc0) == 0xfe80
                        {
                            out.push(*a);
                        }
                    }
                }
                Ok(None) => return Ok(out),
                Err(source) => {
                    return Err(NetlinkError::Request {
                        what: format!("listing addresses of interface {index}"),
                        source,
                    });
                }
            }
        }
    }

    /// Adds a VIP on interface `index` (`ip addr add VIP/PLEN [brd B] [scope S] [label L]
    /// dev DEV`). Already present is success.
    pub async fn add_vip(&self, index: u32, vip: &VipSpec) -> Result<(), NetlinkError> {
        let mut request = self
            .handle
            .address()
            .add(index, vip.address, vip.prefix_len);
        let msg = request.message_mut();
        // rtnetlink computes a broadcast address for prefixes < 31; keepalived sets one only
        // when `brd` is configured.
        msg.attributes
            .retain(|a| !matches!(a, AddressAttribute::Broadcast(_)));
        if let Some(IpAddr::V4(brd)) = vip.brd {
            msg.attributes.push(AddressAttribute::Broadcast(brd));
        }
        if let Some(label) = &vip.label {
            msg.attributes.push(AddressAttribute::Label(label.clone()));
        }
        if let Some(scope) = &vip.scope {
            msg.header.scope = parse_scope(scope);
        }
        if vip.address.is_ipv6() {
            // keepalived adds IPv6 VIPs with IFA_F_NODAD: a VIP moving between routers
            // must be usable at once, and the old master may still hold it (kill -9).
            msg.header.flags |= AddressHeaderFlags::Nodad;
            msg.attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
        match request.execute().await {
            Ok(()) => Ok(()),
            Err(e) if errno(&e) == Some(libc::EEXIST) => Ok(()),
            Err(source) => Err(NetlinkError::Request {
                what: format!("adding {} to {}", vip.cidr(), vip.dev),
                source,
            }),
        }
    }

    /// Removes a VIP from interface `index`; returns whether it was there.
    pub async fn del_vip(&self, index: u32, vip: &VipSpec) -> Result<bool, NetlinkError> {
        let mut msg = AddressMessage::default();
        msg.header.family = match vip.address {
            IpAddr::V4(_) => netlink_packet_route::AddressFamily::Inet,
            IpAddr::V6(_) => netlink_packet_route::AddressFamily::Inet6,
        };
        msg.header.prefix_len = vip.prefix_len;
        msg.header.index = index;
        msg.attributes.push(AddressAttribute::Local(vip.address));
        msg.attributes.push(AddressAttribute::Address(vip.address));
        match self.handle.address().del(msg).execute().await {
            Ok(()) => Ok(true),
            Err(e)
                if matches!(
                    errno(&e),
                    Some(libc::EADDRNOTAVAIL) | Some(libc::ENOENT) | Some(libc::ENODEV)
                ) =>
            {
                Ok(false)
            }
            Err(source) => Err(NetlinkError::Request {
                what: format!("removing {} from {}", vip.cidr(), vip.dev),
                source,
            }),
        }
    }
}

fn parse_scope(scope: &str) -> AddressScope {
    match scope {
        "global" | "universe" => AddressScope::Universe,
        "site" => AddressScope::Site,
        "link" => AddressScope::Link,
        "host" => AddressScope::Host,
        "nowhere" => AddressScope::Nowhere,
        other => other
            .parse::<u8>()
            .map_or(AddressScope::Universe, AddressScope::from),
    }
}

/// Link state of every interface, kept current from RTNLGRP_LINK notifications. Each
/// interface has a `watch` channel of its `up` state; a missing interface is down.
#[derive(Clone, Debug)]
pub struct LinkMonitor {
    links: Arc<Mutex<HashMap<String, watch::Sender<bool>>>>,
}

impl LinkMonitor {
    /// Subscribes to link notifications, then reads the current state of every link (in
    /// that order, so no change between the two is lost).
    pub async fn start(netlink: &Netlink) -> Result<Self, NetlinkError> {
        let (connection, _handle, mut messages) =
            rtnetlink::new_multicast_connection(&[MulticastGroup::Link])?;
        tokio::spawn(connection);
        let monitor = Self {
            links: Arc::new(Mutex::new(HashMap::new())),
        };
        for (name, info) in netlink.links().await? {
            monitor.set(&name, info.up);
        }
        let this = monitor.clone();
        tokio::spawn(async move {
            while let Some((message, _)) = messages.next().await {
                match message.payload {
                    NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(msg)) => {
                        if let (Some(name), info) = link_info(&msg) {
                            this.set(&name, info.up);
                        }
                    }
                    NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(msg)) => {
                        if let (Some(name), _) = link_info(&msg) {
                            this.set(&name, false);
                        }
                    }
                    _ => {}
                }
            }
            tracing::error!("netlink link monitor ended: link state is no longer followed");
        });
        Ok(monitor)
    }

    fn set(&self, name: &str, up: bool) {
        let mut links = self.links.lock().unwrap_or_else(|e| e.into_inner());
        match links.get(name) {
            Some(tx) => {
                tx.send_if_modified(|v| std::mem::replace(v, up) != up);
            }
            None => {
                links.insert(name.to_owned(), watch::channel(up).0);
            }
        }
    }

    /// The `up` state of interface `name`, following changes.
    pub fn subscribe(&self, name: &str) -> watch::Receiver<bool> {
        let mut links = self.links.lock().unwrap_or_else(|e| e.into_inner());
        links
            .entry(name.to_owned())
            .or_insert_with(|| watch::channel(false).0)
            .subscribe()
    }
}
