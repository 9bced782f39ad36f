//! The instance task's ports to the outside world: the socket its adverts leave by, the
//! addresses it adds and removes (rtnetlink), and the frame socket for gratuitous ARP /
//! unsolicited NA, and the routes and rules that follow it. The service plugs in [`VrrpSocket`], [`Netlink`] and [`PacketSocket`];
//! a test plugs in scripted ones and runs an instance task on a paused clock, without
//! root (`tests/instance_task.rs`), as holo's protocol tests do.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};

use futures::future::BoxFuture;

use crate::netlink::{LinkInfo, Netlink, NetlinkError};
use crate::routes::RouteSpec;
use crate::rules::RuleSpec;
use crate::socket::VrrpSocket;
use crate::spec::VipSpec;
use crate::sys::PacketSocket;

/// Where an instance's adverts go out (one per interface and address family).
pub trait AdvertPort: Send + Sync {
    /// The interface the socket is bound to (for log lines).
    fn interface(&self) -> &str;
    /// Sends one complete IPv4 packet (header included, keepalived's `IP_HDRINCL`).
    fn send_v4(&self, packet: &[u8], dst: Ipv4Addr) -> io::Result<()>;
    /// Sends one VRRP message over IPv6 from `src` out of `ifindex` (the kernel builds
    /// the IPv6 header).
    fn send_v6(&self, payload: &[u8], src: Ipv6Addr, dst: Ipv6Addr, ifindex: u32)
    -> io::Result<()>;
}

/// Where gratuitous ARPs and unsolicited neighbour adverts go out.
pub trait FramePort: Send + Sync {
    /// Sends one complete Ethernet frame out of interface `ifindex`.
    fn send_frame(&self, ifindex: u32, frame: &[u8]) -> io::Result<()>;
}

/// The interfaces and addresses an instance reads and changes.
pub trait AddressPort: Send + Sync {
    /// Looks up an interface by name.
    fn link<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<LinkInfo, NetlinkError>>;
    /// The IPv4 addresses of interface `index`, primary first.
    fn ipv4_addresses(&self, index: u32) -> BoxFuture<'_, Result<Vec<Ipv4Addr>, NetlinkError>>;
    /// The IPv6 link-local addresses of interface `index`.
    fn ipv6_link_local(&self, index: u32) -> BoxFuture<'_, Result<Vec<Ipv6Addr>, NetlinkError>>;
    /// Adds a virtual address to interface `index`.
    fn add_vip<'a>(
        &'a self,
        index: u32,
        vip: &'a VipSpec,
    ) -> BoxFuture<'a, Result<(), NetlinkError>>;
    /// Removes a virtual address from interface `index`; whether it was there.
    fn del_vip<'a>(
        &'a self,
        index: u32,
        vip: &'a VipSpec,
    ) -> BoxFuture<'a, Result<bool, NetlinkError>>;
    /// `ip route replace ROUTE` (present already is success).
    fn add_route<'a>(&'a self, route: &'a RouteSpec) -> BoxFuture<'a, Result<(), NetlinkError>>;
    /// `ip route del ROUTE`; whether it was there.
    fn del_route<'a>(&'a self, route: &'a RouteSpec) -> BoxFuture<'a, Result<bool, NetlinkError>>;
    /// `ip rule add RULE`; false when an identical rule was there.
    fn add_rule<'a>(&'a self, rule: &'a RuleSpec) -> BoxFuture<'a, Result<bool, NetlinkError>>;
    /// `ip rule del RULE`; whether it was there.
    fn del_rule<'a>(&'a self, rule: &'a RuleSpec) -> BoxFuture<'a, Result<bool, NetlinkError>>;
}

impl AdvertPort for VrrpSocket {
    fn interface(&self) -> &str {
        VrrpSocket::interface(self)
    }
    fn send_v4(&self, packet: &[u8], dst: Ipv4Addr) -> io::Result<()> {
        VrrpSocket::send_v4(self, packet, dst)
    }
    fn send_v6(
        &self,
        payload: &[u8],
        src: Ipv6Addr,
        dst: Ipv6Addr,
        ifindex: u32,
    ) -> io::Result<()> {
        VrrpSocket::send_v6(self, payload, src, dst, ifindex)
    }
}

impl FramePort for PacketSocket {
    fn send_frame(&self, ifindex: u32, frame: &[u8]) -> io::Result<()> {
        PacketSocket::send_frame(self, ifindex, frame)
    }
}

impl AddressPort for Netlink {
    fn link<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<LinkInfo, NetlinkError>> {
        Box::pin(Netlink::link(self, name))
    }
    fn ipv4_addresses(&self, index: u32) -> BoxFuture<'_, Result<Vec<Ipv4Addr>, NetlinkError>> {
        Box::pin(Netlink::ipv4_addresses(self, index))
    }
    fn ipv6_link_local(&self, index: u32) -> BoxFuture<'_, Result<Vec<Ipv6Addr>, NetlinkError>> {
        Box::pin(Netlink::ipv6_link_local(self, index))
    }
    fn add_vip<'a>(
        &'a self,
        index: u32,
        vip: &'a VipSpec,
    ) -> BoxFuture<'a, Result<(), NetlinkError>> {
        Box::pin(Netlink::add_vip(self, index, vip))
    }
    fn del_vip<'a>(
        &'a self,
        index: u32,
        vip: &'a VipSpec,
    ) -> BoxFuture<'a, Result<bool, NetlinkError>> {
        Box::pin(Netlink::del_vip(self, index, vip))
    }
    fn add_route<'a>(&'a self, route: &'a RouteSpec) -> BoxFuture<'a, Result<(), NetlinkError>> {
        Box::pin(crate::routes::add(self, route))
    }
    fn del_route<'a>(&'a self, route: &'a RouteSpec) -> BoxFuture<'a, Result<bool, NetlinkError>> {
        Box::pin(crate::routes::del(self, route))
    }
    fn add_rule<'a>(&'a self, rule: &'a RuleSpec) -> BoxFuture<'a, Result<bool, NetlinkError>> {
        Box::pin(crate::rules::add(self, rule))
    }
    fn del_rule<'a>(&'a self, rule: &'a RuleSpec) -> BoxFuture<'a, Result<bool, NetlinkError>> {
        Box::pin(crate::rules::del(self, rule))
    }
}
