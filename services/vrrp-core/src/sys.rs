//! The only module with `unsafe`: the system calls socket2 has no safe form for.
//!
//! - the `sockaddr_ll` an `AF_PACKET` socket needs to send a complete Ethernet frame
//!   (gratuitous ARP, unsolicited NA) out of one interface;
//! - `recvmsg`/`sendmsg` with ancillary data on the raw IPv6 socket (RFC 3542 §6):
//!   `IPV6_PKTINFO` (destination on receive, source and interface on send) and
//!   `IPV6_HOPLIMIT` (the hop limit RFC 5798 §7.1 requires to be 255);
//! - inotify for `track_file`, and a `timerfd` for microsecond-exact timer expiry.
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

/// What `recvmsg` on a raw IPv6 socket tells about one datagram besides its payload
/// (RFC 3542 §6: the IPv6 header itself is not delivered on raw IPv6 sockets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Meta {
    /// Payload length.
    pub len: usize,
    /// Source address (from the socket address).
    pub src: std::net::Ipv6Addr,
    /// Destination address (`IPV6_PKTINFO`), if the kernel reported it.
    pub dst: Option<std::net::Ipv6Addr>,
    /// Hop limit the packet arrived with (`IPV6_HOPLIMIT`), if reported.
    pub hop_limit: Option<u8>,
}

/// Asks the kernel to report the destination address (`IPV6_RECVPKTINFO`) of every
/// datagram received on `fd` (RFC 3542 §6.1). The hop limit is asked for with socket2's
/// `set_recv_hoplimit_v6`.
pub fn set_recv_pktinfo_v6(fd: &impl std::os::fd::AsRawFd) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: `fd` is an open socket owned by the caller for the duration of the call;
    // the option value points at a live `c_int` and its exact size is passed.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_RECVPKTINFO,
            std::ptr::from_ref(&on).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Control buffer large enough for `IPV6_PKTINFO` plus `IPV6_HOPLIMIT` (each a
/// `cmsghdr` of 16 bytes plus 20 resp. 4 bytes of data, padded to 8), with room to spare.
const CONTROL_LEN: usize = 128;

/// `recvmsg` on a raw IPv6 socket (non-blocking): the payload into `buf`, the source, and
/// the destination and hop limit from the ancillary data (RFC 3542 §6).
pub fn recv_v6(fd: &impl std::os::fd::AsRawFd, buf: &mut [u8]) -> io::Result<Ipv6Meta> {
    // u64 storage keeps the control buffer aligned for `cmsghdr`.
    let mut control = [0u64; CONTROL_LEN / 8];
    // SAFETY: an all-zero `sockaddr_in6` is a valid value of the type.
    let mut from: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: an all-zero `msghdr` is a valid value; the fields that matter are set below.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = std::ptr::from_mut(&mut from).cast();
    msg.msg_namelen = std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = CONTROL_LEN;
    // SAFETY: every pointer in `msg` refers to live, writable storage of the length given
    // next to it (`from`, `buf` through `iov`, `control`), all outliving the call.
    let n = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut meta = Ipv6Meta {
        len: n as usize,
        src: std::net::Ipv6Addr::from(from.sin6_addr.s6_addr),
        dst: None,
        hop_limit: None,
    };
    // SAFETY: `msg` was filled in by a successful recvmsg: `msg_control` and
    // `msg_controllen` describe the initialised ancillary data inside `control`, which is
    // what the CMSG_* macros walk; each header they return lies inside that buffer, and
    // its data is read unaligned with exactly the size of the type the kernel wrote for
    // that level and type (`in6_pktinfo`, `c_int`), after checking `cmsg_len` covers it.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            let header = &*cmsg;
            let data = libc::CMSG_DATA(cmsg);
            let available = header.cmsg_len.saturating_sub(libc::CMSG_LEN(0) as usize);
            if header.cmsg_level == libc::IPPROTO_IPV6 {
                if header.cmsg_type == libc::IPV6_PKTINFO
                    && available >= std::mem::size_of::<libc::in6_pktinfo>()
                {
                    let info = data.cast::<libc::in6_pktinfo>().read_unaligned();
                    meta.dst = Some(std::net::Ipv6Addr::from(info.ipi6_addr.s6_addr));
                } else if header.cmsg_type == libc::IPV6_HOPLIMIT
                    && available >= std::mem::size_of::<libc::c_int>()
                {
                    let hops = data.cast::<libc::c_int>().read_unaligned();
                    meta.hop_limit = u8::try_from(hops).ok();
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    Ok(meta)
}

/// `sendmsg` of one VRRP payload on a raw IPv6 socket to `dst`, with the source address
/// and outgoing interface fixed by an `IPV6_PKTINFO` control message (RFC 3542 §6.1), so
/// the packet leaves from exactly the address its VRRPv3 checksum was computed with
/// (RFC 5798 §5.1.2.1: the interface's link-local address).
pub fn send_v6(
    fd: &impl std::os::fd::AsRawFd,
    payload: &[u8],
    src: std::net::Ipv6Addr,
    dst: std::net::Ipv6Addr,
    ifindex: u32,
) -> io::Result<()> {
    let mut control = [0u64; CONTROL_LEN / 8];
    // SAFETY: an all-zero `sockaddr_in6` is a valid value of the type.
    let mut to: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
    to.sin6_family = libc::AF_INET6 as libc::sa_family_t;
    to.sin6_addr.s6_addr = dst.octets();
    // Link-local and multicast link-scope destinations need the interface as scope.
    to.sin6_scope_id = ifindex;
    let mut iov = libc::iovec {
        iov_base: payload.as_ptr().cast_mut().cast(),
        iov_len: payload.len(),
    };
    // SAFETY: an all-zero `msghdr` is a valid value; the fields that matter are set below.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = std::ptr::from_mut(&mut to).cast();
    msg.msg_namelen = std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE is a pure size computation.
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<libc::in6_pktinfo>() as u32) };
    msg.msg_controllen = space as usize;
    // SAFETY: `control` is 8-byte aligned, zeroed and at least `space` bytes long, so
    // CMSG_FIRSTHDR returns a header inside it with room for one `in6_pktinfo` after it;
    // we write the header fields and the data (unaligned) within that room. The kernel
    // only reads `payload` through `iov` (the `cast_mut` is never written through).
    let n = unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::IPPROTO_IPV6;
        (*cmsg).cmsg_type = libc::IPV6_PKTINFO;
        (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<libc::in6_pktinfo>() as u32) as usize;
        libc::CMSG_DATA(cmsg)
            .cast::<libc::in6_pktinfo>()
            .write_unaligned(libc::in6_pktinfo {
                ipi6_addr: libc::in6_addr {
                    s6_addr: src.octets(),
                },
                ipi6_ifindex: ifindex,
            });
        libc::sendmsg(fd.as_raw_fd(), &msg, 0)
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// An inotify instance (inotify(7)) watching one directory for changes to one file in
/// it: `track_file` reacts to writes, replacements (rename over it), creation and
/// removal at once instead of polling, as keepalived does.
#[derive(Debug)]
pub struct FileWatch {
    fd: std::os::fd::OwnedFd,
    name: Vec<u8>,
}

/// The events that can change what a tracked file contains: written and closed,
/// modified, created, removed, renamed into or out of the directory, or the directory
/// itself removed or moved (the watch then ends: `IN_IGNORED`).
const FILE_WATCH_MASK: u32 = libc::IN_CLOSE_WRITE
    | libc::IN_MODIFY
    | libc::IN_CREATE
    | libc::IN_DELETE
    | libc::IN_MOVED_TO
    | libc::IN_MOVED_FROM
    | libc::IN_DELETE_SELF
    | libc::IN_MOVE_SELF;

/// What one drain of the inotify queue found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FileEvents {
    /// An event concerned the watched file (or the directory as a whole).
    pub touched: bool,
    /// The watch ended (directory removed or moved): it must be set up again.
    pub ended: bool,
}

impl FileWatch {
    /// Watches the directory of `path` (non-blocking, close-on-exec).
    pub fn new(path: &std::path::Path) -> io::Result<Self> {
        use std::os::fd::FromRawFd as _;
        use std::os::unix::ffi::OsStrExt as _;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => std::path::Path::new("."),
        };
        let name = path
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?
            .as_bytes()
            .to_vec();
        let dir = std::ffi::CString::new(dir.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))?;
        // SAFETY: inotify_init1 takes only flags and returns a new descriptor or -1.
        let raw = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a descriptor we just opened and own exclusively.
        let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(raw) };
        // SAFETY: `fd` is open; `dir` is a NUL-terminated string alive for the call.
        let wd = unsafe {
            libc::inotify_add_watch(
                std::os::fd::AsRawFd::as_raw_fd(&fd),
                dir.as_ptr(),
                FILE_WATCH_MASK,
            )
        };
        if wd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Self { fd, name })
    }

    /// Reads every queued event (non-blocking); `WouldBlock` when there is none.
    pub fn drain(&self) -> io::Result<FileEvents> {
        // Room for many events; each is a 16-byte header plus a padded name.
        let mut buf = [0u8; 4096];
        let mut found = FileEvents::default();
        let mut read_any = false;
        loop {
            // SAFETY: `fd` is open and `buf` is writable for its whole length.
            let n = unsafe {
                libc::read(
                    std::os::fd::AsRawFd::as_raw_fd(&self.fd),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                )
            };
            if n < 0 {
                let error = io::Error::last_os_error();
                if error.kind() == io::ErrorKind::WouldBlock && read_any {
                    return Ok(found);
                }
                return Err(error);
            }
            read_any = true;
            let events = parse_inotify(&buf[..n as usize], &self.name);
            found.touched |= events.touched;
            found.ended |= events.ended;
        }
    }
}

impl std::os::fd::AsRawFd for FileWatch {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.fd.as_raw_fd()
    }
}

/// Parses a buffer of `struct inotify_event`s (wd i32, mask u32, cookie u32, len u32,
/// then `len` bytes of NUL-padded name), native-endian, without `unsafe`.
fn parse_inotify(buf: &[u8], name: &[u8]) -> FileEvents {
    let mut out = FileEvents::default();
    let mut at = 0;
    while at + 16 <= buf.len() {
        let word = |i: usize| u32::from_ne_bytes([buf[i], buf[i + 1], buf[i + 2], buf[i + 3]]);
        let mask = word(at + 4);
        let len = word(at + 12) as usize;
        let raw = buf.get(at + 16..at + 16 + len).unwrap_or(&[]);
        let event_name = raw.split(|&b| b == 0).next().unwrap_or(&[]);
        if mask & (libc::IN_IGNORED | libc::IN_DELETE_SELF | libc::IN_MOVE_SELF) != 0 {
            out.ended = true;
            out.touched = true;
        } else if mask & libc::IN_Q_OVERFLOW != 0 || event_name == name {
            out.touched = true;
        }
        at += 16 + len;
    }
    out
}

/// A one-shot `timerfd` on CLOCK_MONOTONIC (timerfd_create(2)): the kernel wakes the
/// reactor at the microsecond, where tokio's timer wheel rounds every deadline up to the
/// next millisecond and parks for whole milliseconds. Used for the last stretch before a
/// backup's Master_Down_Timer expires (RFC 5798 §6.4.2), which bounds the failover time.
#[derive(Debug)]
pub struct TimerFd {
    fd: std::os::fd::OwnedFd,
}

impl TimerFd {
    /// A disarmed, non-blocking, close-on-exec timer.
    pub fn new() -> io::Result<Self> {
        use std::os::fd::FromRawFd as _;
        // SAFETY: timerfd_create takes a clock id and flags and returns a new descriptor
        // or -1.
        let raw = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a descriptor we just opened and own exclusively.
        Ok(Self {
            fd: unsafe { std::os::fd::OwnedFd::from_raw_fd(raw) },
        })
    }

    /// Arms the timer to expire once, `after` from now (at least 1 ns: zero would
    /// disarm it). Re-arming discards an expiry not yet read.
    pub fn arm(&self, after: std::time::Duration) -> io::Result<()> {
        let after = after.max(std::time::Duration::from_nanos(1));
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: after.as_secs() as libc::time_t,
                tv_nsec: libc::c_long::from(after.subsec_nanos()),
            },
        };
        // SAFETY: `fd` is an open timerfd; `spec` is a valid itimerspec alive for the
        // call; the old value is not asked for (null).
        let rc = unsafe {
            libc::timerfd_settime(
                std::os::fd::AsRawFd::as_raw_fd(&self.fd),
                0,
                &spec,
                std::ptr::null_mut(),
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Consumes an expiry; `WouldBlock` when the timer has not expired since it was armed.
    pub fn consume(&self) -> io::Result<()> {
        let mut ticks = [0u8; 8];
        // SAFETY: `fd` is open and `ticks` is writable for its 8 bytes, the size a
        // timerfd read needs.
        let n = unsafe {
            libc::read(
                std::os::fd::AsRawFd::as_raw_fd(&self.fd),
                ticks.as_mut_ptr().cast(),
                ticks.len(),
            )
        };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }
}

impl std::os::fd::AsRawFd for TimerFd {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(mask: u32, name: &str) -> Vec<u8> {
        let mut padded = name.as_bytes().to_vec();
        if !padded.is_empty() {
            padded.resize(name.len().div_ceil(16) * 16 + 16, 0);
        }
        let mut e = Vec::new();
        e.extend_from_slice(&1i32.to_ne_bytes());
        e.extend_from_slice(&mask.to_ne_bytes());
        e.extend_from_slice(&0u32.to_ne_bytes());
        e.extend_from_slice(&(padded.len() as u32).to_ne_bytes());
        e.extend_from_slice(&padded);
        e
    }

    #[test]
    fn inotify_events_are_matched_by_file_name() {
        let mut buf = event(libc::IN_CLOSE_WRITE, "other");
        assert_eq!(parse_inotify(&buf, b"prio"), FileEvents::default());
        buf.extend(event(libc::IN_MOVED_TO, "prio"));
        assert_eq!(
            parse_inotify(&buf, b"prio"),
            FileEvents {
                touched: true,
                ended: false
            }
        );
        assert!(parse_inotify(&event(libc::IN_IGNORED, ""), b"prio").ended);
    }

    #[test]
    // The timerfd runs on the kernel's real clock: so must the test that times it.
    #[allow(clippy::disallowed_types)]
    fn timerfd_expires_once_after_arming_and_rearming_discards_an_unread_expiry() {
        let timer = TimerFd::new().unwrap();
        assert_eq!(
            timer.consume().unwrap_err().kind(),
            io::ErrorKind::WouldBlock,
            "disarmed"
        );
        let started = std::time::Instant::now();
        timer.arm(std::time::Duration::from_millis(5)).unwrap();
        while timer.consume().is_err() {
            assert!(started.elapsed() < std::time::Duration::from_secs(2));
            std::thread::yield_now();
        }
        assert!(started.elapsed() >= std::time::Duration::from_millis(5));
        // One-shot: nothing more to read.
        assert_eq!(
            timer.consume().unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        timer.arm(std::time::Duration::from_millis(1)).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(10));
        timer.arm(std::time::Duration::from_secs(60)).unwrap();
        assert_eq!(
            timer.consume().unwrap_err().kind(),
            io::ErrorKind::WouldBlock,
            "the expiry before re-arming must not count"
        );
    }
}
