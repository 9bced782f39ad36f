//! The raw IP protocol 112 socket of one interface (RFC 3768 §5.1 / RFC 5798 §5.1):
//! bound to the interface (SO_BINDTODEVICE), a member of the VRRP group
//! (IP_ADD_MEMBERSHIP, or the IP layer drops adverts before the socket sees them), and
//! sending packets whose IPv4 header we build ourselves (IP_HDRINCL) with
//! [`keepalived_vrrp::codec::encode_advert_ipv4`], byte for byte what keepalived sends:
//! TOS 0xc0, TTL 255, DF off, keepalived's id counter.
//!
//! The IPv6 socket (RFC 5798 §5.1.2) carries only the VRRP message: the kernel builds the
//! IPv6 header. It is bound to the interface, a member of ff02::12 (IPV6_JOIN_GROUP),
//! sends with hop limit 255 (IPV6_MULTICAST_HOPS / IPV6_UNICAST_HOPS) from the source
//! given per packet (IPV6_PKTINFO: the interface's link-local address), and reports the
//! destination and hop limit of each received packet (IPV6_RECVPKTINFO,
//! IPV6_RECVHOPLIMIT) so that the checksum and the hop-limit check of RFC 5798 §7.1 can
//! be done by [`keepalived_vrrp::codec::parse_ipv6_payload`].

use std::io::{self, Read as _};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4};

use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;

use keepalived_vrrp::codec::IPPROTO_VRRP;

/// Largest packet we read: an IPv4 header with options plus a VRRP message with 255
/// addresses fits well below this; larger datagrams are truncated and then fail the
/// length checks (counted as `packet_len_err`).
pub const RECV_BUFFER: usize = 2048;

/// A raw VRRP socket on one interface.
#[derive(Debug)]
pub struct VrrpSocket {
    fd: AsyncFd<Socket>,
    interface: String,
}

impl VrrpSocket {
    /// Opens the IPv4 socket on `interface`.
    pub fn open_v4(interface: &str) -> io::Result<Self> {
        let socket = Socket::new(
            Domain::IPV4,
            Type::RAW,
            Some(Protocol::from(i32::from(IPPROTO_VRRP))),
        )?;
        socket.bind_device(Some(interface.as_bytes()))?;
        socket.set_header_included_v4(true)?;
        // Our own multicast adverts must not come back to us.
        socket.set_multicast_loop_v4(false)?;
        socket.set_multicast_ttl_v4(u32::from(keepalived_vrrp::codec::VRRP_TTL))?;
        socket.set_nonblocking(true)?;
        // `AsyncFd::new` is deprecated because a `T` that does not own its descriptor
        // could close it while registered; `Socket` owns its descriptor and is dropped
        // only with the `AsyncFd`, which is the sound case.
        #[allow(deprecated)]
        let fd = AsyncFd::new(socket)?;
        Ok(Self {
            fd,
            interface: interface.to_owned(),
        })
    }

    /// Opens the IPv6 socket on `interface` (RFC 5798 §5.1.2).
    pub fn open_v6(interface: &str) -> io::Result<Self> {
        let socket = Socket::new(
            Domain::IPV6,
            Type::RAW,
            Some(Protocol::from(i32::from(IPPROTO_VRRP))),
        )?;
        socket.bind_device(Some(interface.as_bytes()))?;
        socket.set_multicast_loop_v6(false)?;
        // RFC 5798 §5.1.2.3: Hop Limit 255.
        socket.set_multicast_hops_v6(u32::from(keepalived_vrrp::codec::VRRP_TTL))?;
        socket.set_unicast_hops_v6(u32::from(keepalived_vrrp::codec::VRRP_TTL))?;
        socket.set_recv_hoplimit_v6(true)?;
        crate::sys::set_recv_pktinfo_v6(&socket)?;
        socket.set_nonblocking(true)?;
        // See open_v4 on `AsyncFd::new`.
        #[allow(deprecated)]
        let fd = AsyncFd::new(socket)?;
        Ok(Self {
            fd,
            interface: interface.to_owned(),
        })
    }

    /// Joins IPv6 multicast `group` on interface `ifindex` (IPV6_JOIN_GROUP); joined
    /// already is success.
    pub fn join_v6(&self, group: Ipv6Addr, ifindex: u32) -> io::Result<()> {
        match self.fd.get_ref().join_multicast_v6(&group, ifindex) {
            Err(e) if e.raw_os_error() != Some(libc::EADDRINUSE) => Err(e),
            _ => Ok(()),
        }
    }

    /// Sends one VRRP message over IPv6 from `src` to `dst` out of interface `ifindex`.
    pub fn send_v6(
        &self,
        payload: &[u8],
        src: Ipv6Addr,
        dst: Ipv6Addr,
        ifindex: u32,
    ) -> io::Result<()> {
        crate::sys::send_v6(self.fd.get_ref(), payload, src, dst, ifindex)
    }

    /// Receives one IPv6 VRRP message with its addresses and hop limit.
    pub async fn recv_v6(&self, buf: &mut [u8]) -> io::Result<crate::sys::Ipv6Meta> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|fd| crate::sys::recv_v6(fd.get_ref(), buf)) {
                Ok(result) => return result,
                Err(_would_block) => continue,
            }
        }
    }

    /// Joins multicast `group` on interface `ifindex` (IP_ADD_MEMBERSHIP); joined
    /// already is success.
    pub fn join_v4(&self, group: Ipv4Addr, ifindex: u32) -> io::Result<()> {
        match self
            .fd
            .get_ref()
            .join_multicast_v4_n(&group, &InterfaceIndexOrAddress::Index(ifindex))
        {
            Err(e) if e.raw_os_error() != Some(libc::EADDRINUSE) => Err(e),
            _ => Ok(()),
        }
    }

    /// The interface this socket is bound to.
    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// Sends one complete IPv4 packet (header included) to `dst`.
    pub fn send_v4(&self, packet: &[u8], dst: Ipv4Addr) -> io::Result<()> {
        let address = SockAddr::from(SocketAddrV4::new(dst, 0));
        self.fd.get_ref().send_to(packet, &address)?;
        Ok(())
    }

    /// Receives one packet (an IPv4 raw socket delivers the IP header too).
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|fd| {
                let mut socket: &Socket = fd.get_ref();
                socket.read(buf)
            }) {
                Ok(result) => return result,
                Err(_would_block) => continue,
            }
        }
    }
}
