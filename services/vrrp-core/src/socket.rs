//! The raw IP protocol 112 socket of one interface (RFC 3768 §5.1 / RFC 5798 §5.1):
//! bound to the interface (SO_BINDTODEVICE), a member of the VRRP group
//! (IP_ADD_MEMBERSHIP, or the IP layer drops adverts before the socket sees them), and
//! sending packets whose IPv4 header we build ourselves (IP_HDRINCL) with
//! [`keepalived_vrrp::codec::encode_advert_ipv4`], byte for byte what keepalived sends:
//! TOS 0xc0, TTL 255, DF off, keepalived's id counter.

use std::io::{self, Read as _};
use std::net::{Ipv4Addr, SocketAddrV4};

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
