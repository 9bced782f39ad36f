//! The thin I/O shell: a blocking generic-netlink socket. Everything it carries is built and
//! parsed by [`crate::codec`].

use std::io;

use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_GENERIC};

/// Receive buffer per `recv`. The kernel caps a dump datagram at 32 KiB; twice that leaves room.
const RX_CHUNK: usize = 64 * 1024;

/// Socket receive buffer requested. Batches ask for one ACK each, but every failing message
/// in a batch also sends an error: the buffer must hold a full batch of them (see
/// `client::MAX_BATCH_MSGS`), or the kernel drops them and `recv` reports ENOBUFS.
const SO_RCVBUF: libc::c_int = 1 << 20;

/// A generic-netlink socket connected to the kernel.
pub(crate) struct NlSocket {
    sock: Socket,
}

impl NlSocket {
    /// Opens, binds (kernel-assigned port id) and connects to the kernel.
    pub(crate) fn open() -> io::Result<NlSocket> {
        let mut sock = Socket::new(NETLINK_GENERIC)?;
        sock.bind_auto()?;
        sock.connect(&SocketAddr::new(0, 0))?;
        // Best effort: older kernels lack these, and everything works without them (errors
        // are then just longer and without a text).
        let _ = sock.set_ext_ack(true);
        let _ = sock.set_cap_ack(true);
        let _ = sock.set_rx_buf_sz(SO_RCVBUF);
        Ok(NlSocket { sock })
    }

    /// Sends one datagram (which may hold many messages).
    pub(crate) fn send(&self, buf: &[u8]) -> io::Result<()> {
        loop {
            match self.sock.send(buf, 0) {
                Ok(n) if n == buf.len() => return Ok(()),
                Ok(n) => {
                    return Err(io::Error::other(format!(
                        "netlink send wrote {n} of {} bytes",
                        buf.len()
                    )));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Receives one datagram into `buf` (replacing its contents).
    pub(crate) fn recv(&self, buf: &mut Vec<u8>) -> io::Result<()> {
        buf.clear();
        buf.reserve(RX_CHUNK);
        loop {
            // MSG_TRUNC makes recv return the datagram's real size, so a cut one is detected.
            match self.sock.recv(buf, libc::MSG_TRUNC) {
                Ok(n) if n > buf.len() => {
                    return Err(io::Error::other(format!(
                        "netlink datagram of {n} bytes exceeds the {} byte buffer",
                        buf.len()
                    )));
                }
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }
}
