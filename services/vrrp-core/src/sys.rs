//! The only module with `unsafe`: building the `sockaddr_ll` an `AF_PACKET` socket needs
//! to send a complete Ethernet frame (gratuitous ARP, unsolicited NA) out of one
//! interface. socket2 has no safe constructor for link-layer addresses.
#![allow(unsafe_code)]

use std::io;

use socket2::{Domain, SockAddr, Socket, Type};

/// An `AF_PACKET`/`SOCK_RAW` socket that sends frames and never receives (protocol 0:
/// the kernel delivers nothing to it, so no receive queue builds up).
#[derive(Debug)]
pub struct PacketSocket {
    socket: Socket,
}

impl PacketSocket {
    /// Opens the socket (needs CAP_NET_RAW).
    pub fn open() -> io::Result<Self> {
        let socket = Socket::new(Domain::PACKET, Type::RAW, None)?;
        socket.set_nonblocking(true)?;
        Ok(Self { socket })
    }

    /// Sends one complete Ethernet frame out of interface `ifindex`. The destination in
    /// the `sockaddr_ll` is the frame's own destination MAC and its EtherType, as
    /// keepalived fills it in.
    pub fn send_frame(&self, ifindex: u32, frame: &[u8]) -> io::Result<()> {
        if frame.len() < 14 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "frame shorter than an Ethernet header",
            ));
        }
        let mut dst = [0u8; 8];
        dst[..6].copy_from_slice(&frame[0..6]);
        let protocol = u16::from_be_bytes([frame[12], frame[13]]);
        let address = link_address(ifindex, protocol, dst)?;
        self.socket.send_to(frame, &address)?;
        Ok(())
    }
}

/// A `sockaddr_ll` for `ifindex` wrapped as a socket2 address.
fn link_address(ifindex: u32, protocol: u16, mac: [u8; 8]) -> io::Result<SockAddr> {
    let ifindex = i32::try_from(ifindex)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface index out of range"))?;
    // SAFETY: `try_init` hands us zeroed storage of `sockaddr_storage` size, which is
    // larger than and suitably aligned for `sockaddr_ll`; we write one complete
    // `sockaddr_ll` into it and report exactly its size as the length, so every byte up
    // to the length is initialised.
    let ((), address) = unsafe {
        SockAddr::try_init(|storage, len| {
            let ll = storage.cast::<libc::sockaddr_ll>();
            ll.write(libc::sockaddr_ll {
                sll_family: libc::AF_PACKET as u16,
                sll_protocol: protocol.to_be(),
                sll_ifindex: ifindex,
                sll_hatype: 0,
                sll_pkttype: 0,
                sll_halen: 6,
                sll_addr: mac,
            });
            *len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            Ok(())
        })
    }?;
    Ok(address)
}
