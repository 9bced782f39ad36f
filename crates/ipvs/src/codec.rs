//! Pure encoder and decoder of the IPVS generic-netlink messages (`linux/ip_vs.h`), plus the
//! few netlink and genl-controller messages around them. No I/O: every function works on byte
//! buffers, so the wire format is tested byte for byte without a kernel.
//!
//! Layout reminders: a netlink message is a 16-byte `nlmsghdr` (length, type, flags, sequence,
//! port id; host byte order) followed by a 4-byte `genlmsghdr` (command, version, reserved) and
//! attributes. An attribute is a 4-byte header (length without padding, type) and a payload
//! padded to 4 bytes. IPVS ports are big-endian; IPv4 netmasks are big-endian too, while an IPv6
//! "netmask" is a prefix length in host order (that is how ipvsadm and the kernel exchange them).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::types::{
    Dest, Family, Forward, Info, Op, Protocol, Service, ServiceFlags, ServiceKey, Stats, Timeouts,
    Tunnel, TunnelType,
};

/// Length of `struct nlmsghdr`.
pub const NLMSG_HDRLEN: usize = 16;
/// Length of `struct genlmsghdr`.
pub const GENL_HDRLEN: usize = 4;

/// `NLMSG_NOOP`.
pub const NLMSG_NOOP: u16 = 1;
/// `NLMSG_ERROR` (also carries ACKs, with error 0).
pub const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`: end of a dump.
pub const NLMSG_DONE: u16 = 3;
/// `NLMSG_OVERRUN`.
pub const NLMSG_OVERRUN: u16 = 4;

/// `NLM_F_REQUEST`.
pub const NLM_F_REQUEST: u16 = 0x1;
/// `NLM_F_MULTI`.
pub const NLM_F_MULTI: u16 = 0x2;
/// `NLM_F_ACK`.
pub const NLM_F_ACK: u16 = 0x4;
/// `NLM_F_DUMP` (`NLM_F_ROOT | NLM_F_MATCH`).
pub const NLM_F_DUMP: u16 = 0x300;
/// In an error message: the original request was cut to its header (`NETLINK_CAP_ACK`).
pub const NLM_F_CAPPED: u16 = 0x100;
/// In an error message: extended-ack attributes follow.
pub const NLM_F_ACK_TLVS: u16 = 0x200;
/// `NLMSGERR_ATTR_MSG`: human-readable extended-ack message.
const NLMSGERR_ATTR_MSG: u16 = 1;

/// `NLA_F_NESTED`.
pub const NLA_F_NESTED: u16 = 0x8000;
/// Mask of the attribute type bits (`NLA_TYPE_MASK`).
pub const NLA_TYPE_MASK: u16 = 0x3fff;

/// `GENL_ID_CTRL`: the generic-netlink controller's family id.
pub const GENL_ID_CTRL: u16 = 0x10;
/// `CTRL_CMD_GETFAMILY`.
pub const CTRL_CMD_GETFAMILY: u8 = 3;
/// `CTRL_ATTR_FAMILY_ID`.
pub const CTRL_ATTR_FAMILY_ID: u16 = 1;
/// `CTRL_ATTR_FAMILY_NAME`.
pub const CTRL_ATTR_FAMILY_NAME: u16 = 2;

/// `IPVS_GENL_NAME`.
pub const IPVS_GENL_NAME: &str = "IPVS";
/// `IPVS_GENL_VERSION`.
pub const IPVS_GENL_VERSION: u8 = 1;

/// `IPVS_CMD_*`.
#[allow(missing_docs)]
pub mod cmd {
    pub const NEW_SERVICE: u8 = 1;
    pub const SET_SERVICE: u8 = 2;
    pub const DEL_SERVICE: u8 = 3;
    pub const GET_SERVICE: u8 = 4;
    pub const NEW_DEST: u8 = 5;
    pub const SET_DEST: u8 = 6;
    pub const DEL_DEST: u8 = 7;
    pub const GET_DEST: u8 = 8;
    pub const SET_CONFIG: u8 = 12;
    pub const GET_CONFIG: u8 = 13;
    pub const SET_INFO: u8 = 14;
    pub const GET_INFO: u8 = 15;
    pub const ZERO: u8 = 16;
    pub const FLUSH: u8 = 17;
}

/// `IPVS_CMD_ATTR_*`.
#[allow(missing_docs)]
pub mod cmd_attr {
    pub const SERVICE: u16 = 1;
    pub const DEST: u16 = 2;
    pub const TIMEOUT_TCP: u16 = 4;
    pub const TIMEOUT_TCP_FIN: u16 = 5;
    pub const TIMEOUT_UDP: u16 = 6;
    pub const MAX: usize = 6;
}

/// `IPVS_SVC_ATTR_*`.
#[allow(missing_docs)]
pub mod svc_attr {
    pub const AF: u16 = 1;
    pub const PROTOCOL: u16 = 2;
    pub const ADDR: u16 = 3;
    pub const PORT: u16 = 4;
    pub const FWMARK: u16 = 5;
    pub const SCHED_NAME: u16 = 6;
    pub const FLAGS: u16 = 7;
    pub const TIMEOUT: u16 = 8;
    pub const NETMASK: u16 = 9;
    pub const STATS: u16 = 10;
    pub const PE_NAME: u16 = 11;
    pub const STATS64: u16 = 12;
    pub const MAX: usize = 12;
}

/// `IPVS_DEST_ATTR_*`.
#[allow(missing_docs)]
pub mod dest_attr {
    pub const ADDR: u16 = 1;
    pub const PORT: u16 = 2;
    pub const FWD_METHOD: u16 = 3;
    pub const WEIGHT: u16 = 4;
    pub const U_THRESH: u16 = 5;
    pub const L_THRESH: u16 = 6;
    pub const ACTIVE_CONNS: u16 = 7;
    pub const INACT_CONNS: u16 = 8;
    pub const PERSIST_CONNS: u16 = 9;
    pub const STATS: u16 = 10;
    pub const ADDR_FAMILY: u16 = 11;
    pub const STATS64: u16 = 12;
    pub const TUN_TYPE: u16 = 13;
    pub const TUN_PORT: u16 = 14;
    pub const TUN_FLAGS: u16 = 15;
    pub const MAX: usize = 15;
}

/// `IPVS_STATS_ATTR_*`.
#[allow(missing_docs)]
pub mod stats_attr {
    pub const CONNS: u16 = 1;
    pub const INPKTS: u16 = 2;
    pub const OUTPKTS: u16 = 3;
    pub const INBYTES: u16 = 4;
    pub const OUTBYTES: u16 = 5;
    pub const CPS: u16 = 6;
    pub const INPPS: u16 = 7;
    pub const OUTPPS: u16 = 8;
    pub const INBPS: u16 = 9;
    pub const OUTBPS: u16 = 10;
    pub const PAD: u16 = 11;
    pub const MAX: usize = 11;
}

/// `IPVS_INFO_ATTR_*`.
#[allow(missing_docs)]
pub mod info_attr {
    pub const VERSION: u16 = 1;
    pub const CONN_TAB_SIZE: u16 = 2;
    pub const MAX: usize = 2;
}

/// The kernel's limit for scheduler and persistence-engine names, without the NUL
/// (`IP_VS_SCHEDNAME_MAXLEN - 1`, `IP_VS_PENAME_MAXLEN - 1`).
pub const NAME_MAXLEN: usize = 15;

/// Why an operation cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A scheduler or persistence-engine name the kernel would refuse.
    #[error("{what} {name:?} is not a valid name (1..={NAME_MAXLEN} bytes, no NUL)")]
    BadName {
        /// Which name.
        what: &'static str,
        /// The name.
        name: String,
    },
    /// A firewall-mark service with mark 0 (the kernel treats 0 as "no mark").
    #[error("firewall mark 0 does not identify a service")]
    ZeroFwmark,
}

/// Why bytes from the kernel could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A header or attribute claims more bytes than there are, or fewer than its own header.
    #[error("truncated or malformed {0}")]
    Malformed(&'static str),
    /// A required attribute is absent.
    #[error("missing attribute {0}")]
    Missing(&'static str),
    /// An attribute has a length its type does not allow.
    #[error("attribute {0} has a bad length")]
    BadLength(&'static str),
    /// A value outside what the kernel defines.
    #[error("unexpected value for {what}: {value}")]
    BadValue {
        /// Which field.
        what: &'static str,
        /// The value.
        value: u64,
    },
}

// ---------------------------------------------------------------------------------------------
// Encoding primitives

/// Appends a netlink header (length patched by [`finish_msg`]) and returns the message start.
pub fn begin_msg(buf: &mut Vec<u8>, ty: u16, flags: u16, seq: u32) -> usize {
    let start = buf.len();
    buf.extend_from_slice(&0u32.to_ne_bytes());
    buf.extend_from_slice(&ty.to_ne_bytes());
    buf.extend_from_slice(&flags.to_ne_bytes());
    buf.extend_from_slice(&seq.to_ne_bytes());
    // Port id 0: the kernel fills in the sender's.
    buf.extend_from_slice(&0u32.to_ne_bytes());
    start
}

/// Appends a generic-netlink header.
pub fn put_genl_header(buf: &mut Vec<u8>, cmd: u8, version: u8) {
    buf.extend_from_slice(&[cmd, version, 0, 0]);
}

/// Patches the length of the message that starts at `start` (messages are already 4-aligned
/// because every attribute is padded).
pub fn finish_msg(buf: &mut [u8], start: usize) {
    let len = (buf.len() - start) as u32;
    buf[start..start + 4].copy_from_slice(&len.to_ne_bytes());
}

/// Sets extra flags on the already-encoded message at `start` (used to request an ACK on the
/// last message of a batch only).
pub fn add_msg_flags(buf: &mut [u8], start: usize, flags: u16) {
    let cur = u16::from_ne_bytes([buf[start + 6], buf[start + 7]]);
    buf[start + 6..start + 8].copy_from_slice(&(cur | flags).to_ne_bytes());
}

fn pad(buf: &mut Vec<u8>) {
    while !buf.len().is_multiple_of(4) {
        buf.push(0);
    }
}

/// Appends an attribute with the given payload, padded to 4 bytes.
///
/// # Panics
/// If the payload exceeds 65,531 bytes (an attribute length is 16 bits); IPVS payloads are at
/// most 16 bytes.
pub fn put_attr(buf: &mut Vec<u8>, ty: u16, payload: &[u8]) {
    let len = u16::try_from(4 + payload.len()).expect("attribute payloads here are small");
    buf.extend_from_slice(&len.to_ne_bytes());
    buf.extend_from_slice(&ty.to_ne_bytes());
    buf.extend_from_slice(payload);
    pad(buf);
}

fn put_u16(buf: &mut Vec<u8>, ty: u16, v: u16) {
    put_attr(buf, ty, &v.to_ne_bytes());
}

fn put_be16(buf: &mut Vec<u8>, ty: u16, v: u16) {
    put_attr(buf, ty, &v.to_be_bytes());
}

fn put_u32(buf: &mut Vec<u8>, ty: u16, v: u32) {
    put_attr(buf, ty, &v.to_ne_bytes());
}

fn put_u64(buf: &mut Vec<u8>, ty: u16, v: u64) {
    put_attr(buf, ty, &v.to_ne_bytes());
}

fn put_str(buf: &mut Vec<u8>, ty: u16, s: &str) {
    let mut payload = Vec::with_capacity(s.len() + 1);
    payload.extend_from_slice(s.as_bytes());
    payload.push(0);
    put_attr(buf, ty, &payload);
}

/// Opens a nested attribute; close it with [`nest_end`].
pub fn nest_start(buf: &mut Vec<u8>, ty: u16) -> usize {
    let start = buf.len();
    buf.extend_from_slice(&0u16.to_ne_bytes());
    buf.extend_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
    start
}

/// Closes the nested attribute opened at `start`.
///
/// # Panics
/// If the nest grew beyond 65,535 bytes; IPVS nests stay under 200.
pub fn nest_end(buf: &mut [u8], start: usize) {
    let len = u16::try_from(buf.len() - start).expect("nested attributes here are small");
    buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
}

fn addr_bytes(addr: &IpAddr) -> Vec<u8> {
    match addr {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

fn check_name(what: &'static str, name: &str) -> Result<(), EncodeError> {
    if name.is_empty() || name.len() > NAME_MAXLEN || name.contains('\0') {
        return Err(EncodeError::BadName {
            what,
            name: name.to_string(),
        });
    }
    Ok(())
}

fn check_key(key: &ServiceKey) -> Result<(), EncodeError> {
    match key {
        ServiceKey::Fwmark { mark: 0, .. } => Err(EncodeError::ZeroFwmark),
        _ => Ok(()),
    }
}

/// Checks what the encoder cannot express or the kernel would refuse for certain, so that a
/// batch can be validated before any of it is sent.
pub fn validate_op(op: &Op) -> Result<(), EncodeError> {
    match op {
        Op::AddService(s) | Op::EditService(s) => {
            check_key(&s.key)?;
            check_name("scheduler", &s.scheduler)?;
            if let Some(pe) = &s.pe_name {
                check_name("persistence engine", pe)?;
            }
            Ok(())
        }
        Op::DelService(k) | Op::AddDest(k, _) | Op::EditDest(k, _) | Op::DelDest(k, _, _) => {
            check_key(k)
        }
        Op::Flush => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------
// IPVS attributes

/// Appends the service attributes (inside an `IPVS_CMD_ATTR_SERVICE` nest) in ipvsadm's order:
/// the key, then with `full` the scheduler, persistence engine, flags, timeout and netmask.
pub fn put_service_attrs(buf: &mut Vec<u8>, svc_key: &ServiceKey, full: Option<&Service>) {
    put_u16(buf, svc_attr::AF, svc_key.family().af());
    match svc_key {
        ServiceKey::Fwmark { mark, .. } => put_u32(buf, svc_attr::FWMARK, *mark),
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            put_u16(buf, svc_attr::PROTOCOL, protocol.number());
            put_attr(buf, svc_attr::ADDR, &addr_bytes(addr));
            put_be16(buf, svc_attr::PORT, *port);
        }
    }
    if let Some(svc) = full {
        put_str(buf, svc_attr::SCHED_NAME, &svc.scheduler);
        if let Some(pe) = &svc.pe_name {
            put_str(buf, svc_attr::PE_NAME, pe);
        }
        // struct ip_vs_flags { flags, mask }: the mask says which bits to take, so all of them
        // except the kernel-owned "hashed" bit, which must never be set from outside.
        let flags = svc.flags.0 & !ServiceFlags::HASHED.0;
        let mut f = Vec::with_capacity(8);
        f.extend_from_slice(&flags.to_ne_bytes());
        f.extend_from_slice(&u32::MAX.to_ne_bytes());
        put_attr(buf, svc_attr::FLAGS, &f);
        put_u32(buf, svc_attr::TIMEOUT, svc.timeout);
        put_attr(
            buf,
            svc_attr::NETMASK,
            &netmask_bytes(svc_key.family(), svc.netmask),
        );
    }
}

fn netmask_bytes(family: Family, netmask: u32) -> [u8; 4] {
    match family {
        // A v4 mask travels as __be32.
        Family::V4 => netmask.to_be_bytes(),
        // A v6 "mask" is a prefix length the kernel compares as a host-order number.
        Family::V6 => netmask.to_ne_bytes(),
    }
}

fn netmask_from_bytes(family: Family, b: [u8; 4]) -> u32 {
    match family {
        Family::V4 => u32::from_be_bytes(b),
        Family::V6 => u32::from_ne_bytes(b),
    }
}

/// Appends the destination attributes (inside an `IPVS_CMD_ATTR_DEST` nest): address, port and
/// address family, then with `full` the forwarding method, weight, thresholds and, for
/// tunnelling, the tunnel parameters.
pub fn put_dest_attrs(buf: &mut Vec<u8>, addr: &IpAddr, port: u16, full: Option<&Dest>) {
    put_attr(buf, dest_attr::ADDR, &addr_bytes(addr));
    put_be16(buf, dest_attr::PORT, port);
    put_u16(buf, dest_attr::ADDR_FAMILY, Family::of(addr).af());
    if let Some(d) = full {
        put_u32(buf, dest_attr::FWD_METHOD, d.forward.conn_flags());
        put_u32(buf, dest_attr::WEIGHT, d.weight);
        put_u32(buf, dest_attr::U_THRESH, d.upper_threshold);
        put_u32(buf, dest_attr::L_THRESH, d.lower_threshold);
        if d.forward == Forward::Tunnel {
            put_attr(buf, dest_attr::TUN_TYPE, &[d.tunnel.kind.number()]);
            put_be16(buf, dest_attr::TUN_PORT, d.tunnel.port);
            put_u16(buf, dest_attr::TUN_FLAGS, d.tunnel.flags);
        }
    }
}

/// Appends a 64-bit stats nest (`IPVS_*_ATTR_STATS64`) as the kernel dumps it.
pub fn put_stats64(buf: &mut Vec<u8>, ty: u16, s: &Stats) {
    let n = nest_start(buf, ty);
    for (t, v) in [
        (stats_attr::CONNS, s.conns),
        (stats_attr::INPKTS, s.inpkts),
        (stats_attr::OUTPKTS, s.outpkts),
        (stats_attr::INBYTES, s.inbytes),
        (stats_attr::OUTBYTES, s.outbytes),
        (stats_attr::CPS, s.cps),
        (stats_attr::INPPS, s.inpps),
        (stats_attr::OUTPPS, s.outpps),
        (stats_attr::INBPS, s.inbps),
        (stats_attr::OUTBPS, s.outbps),
    ] {
        put_u64(buf, t, v);
    }
    nest_end(buf, n);
}

fn service_nest(buf: &mut Vec<u8>, key: &ServiceKey, full: Option<&Service>) {
    let n = nest_start(buf, cmd_attr::SERVICE);
    put_service_attrs(buf, key, full);
    nest_end(buf, n);
}

fn dest_nest(buf: &mut Vec<u8>, addr: &IpAddr, port: u16, full: Option<&Dest>) {
    let n = nest_start(buf, cmd_attr::DEST);
    put_dest_attrs(buf, addr, port, full);
    nest_end(buf, n);
}

/// Appends one complete request message for `op` and returns its start offset. `flags` are the
/// netlink flags (`NLM_F_REQUEST`, plus `NLM_F_ACK` where an ACK is wanted).
pub fn encode_op(
    buf: &mut Vec<u8>,
    family: u16,
    seq: u32,
    flags: u16,
    op: &Op,
) -> Result<usize, EncodeError> {
    validate_op(op)?;
    let start = begin_msg(buf, family, flags, seq);
    match op {
        Op::AddService(s) => {
            put_genl_header(buf, cmd::NEW_SERVICE, IPVS_GENL_VERSION);
            service_nest(buf, &s.key, Some(s));
        }
        Op::EditService(s) => {
            put_genl_header(buf, cmd::SET_SERVICE, IPVS_GENL_VERSION);
            service_nest(buf, &s.key, Some(s));
        }
        Op::DelService(k) => {
            put_genl_header(buf, cmd::DEL_SERVICE, IPVS_GENL_VERSION);
            service_nest(buf, k, None);
        }
        Op::AddDest(k, d) => {
            put_genl_header(buf, cmd::NEW_DEST, IPVS_GENL_VERSION);
            service_nest(buf, k, None);
            dest_nest(buf, &d.addr, d.port, Some(d));
        }
        Op::EditDest(k, d) => {
            put_genl_header(buf, cmd::SET_DEST, IPVS_GENL_VERSION);
            service_nest(buf, k, None);
            dest_nest(buf, &d.addr, d.port, Some(d));
        }
        Op::DelDest(k, addr, port) => {
            put_genl_header(buf, cmd::DEL_DEST, IPVS_GENL_VERSION);
            service_nest(buf, k, None);
            dest_nest(buf, addr, *port, None);
        }
        Op::Flush => put_genl_header(buf, cmd::FLUSH, IPVS_GENL_VERSION),
    }
    finish_msg(buf, start);
    Ok(start)
}

/// Appends a request without attributes (`GET_INFO`, `GET_CONFIG`, or a `GET_SERVICE` dump).
pub fn encode_simple(buf: &mut Vec<u8>, family: u16, seq: u32, flags: u16, command: u8) -> usize {
    let start = begin_msg(buf, family, flags, seq);
    put_genl_header(buf, command, IPVS_GENL_VERSION);
    finish_msg(buf, start);
    start
}

/// Appends a `GET_DEST` dump request for the destinations of `key`.
pub fn encode_get_dests(buf: &mut Vec<u8>, family: u16, seq: u32, key: &ServiceKey) -> usize {
    let start = begin_msg(buf, family, NLM_F_REQUEST | NLM_F_DUMP, seq);
    put_genl_header(buf, cmd::GET_DEST, IPVS_GENL_VERSION);
    service_nest(buf, key, None);
    finish_msg(buf, start);
    start
}

/// Appends a `SET_CONFIG` request setting the three timeouts (0 leaves one unchanged).
pub fn encode_set_timeouts(
    buf: &mut Vec<u8>,
    family: u16,
    seq: u32,
    flags: u16,
    t: &Timeouts,
) -> usize {
    let start = begin_msg(buf, family, flags, seq);
    put_genl_header(buf, cmd::SET_CONFIG, IPVS_GENL_VERSION);
    put_u32(buf, cmd_attr::TIMEOUT_TCP, t.tcp);
    put_u32(buf, cmd_attr::TIMEOUT_TCP_FIN, t.tcp_fin);
    put_u32(buf, cmd_attr::TIMEOUT_UDP, t.udp);
    finish_msg(buf, start);
    start
}

/// Appends the controller request that resolves a genl family name to its id.
pub fn encode_get_family(buf: &mut Vec<u8>, seq: u32, name: &str) -> usize {
    let start = begin_msg(buf, GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK, seq);
    // The controller speaks version 1 (CTRL_VERSION is 2 but 1 is what libnl sends).
    put_genl_header(buf, CTRL_CMD_GETFAMILY, 1);
    put_str(buf, CTRL_ATTR_FAMILY_NAME, name);
    finish_msg(buf, start);
    start
}

// ---------------------------------------------------------------------------------------------
// Decoding primitives

/// One netlink message inside a received datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawMsg<'a> {
    /// `nlmsg_type`.
    pub ty: u16,
    /// `nlmsg_flags`.
    pub flags: u16,
    /// `nlmsg_seq`.
    pub seq: u32,
    /// Everything after the netlink header.
    pub payload: &'a [u8],
}

/// Splits a datagram into netlink messages.
pub fn split_messages(mut buf: &[u8]) -> Result<Vec<RawMsg<'_>>, DecodeError> {
    let mut out = Vec::new();
    while buf.len() >= NLMSG_HDRLEN {
        let len = u32::from_ne_bytes(buf[0..4].try_into().expect("4 bytes")) as usize;
        if len < NLMSG_HDRLEN || len > buf.len() {
            return Err(DecodeError::Malformed("netlink header"));
        }
        out.push(RawMsg {
            ty: u16::from_ne_bytes([buf[4], buf[5]]),
            flags: u16::from_ne_bytes([buf[6], buf[7]]),
            seq: u32::from_ne_bytes(buf[8..12].try_into().expect("4 bytes")),
            payload: &buf[NLMSG_HDRLEN..len],
        });
        let aligned = (len + 3) & !3;
        buf = &buf[aligned.min(buf.len())..];
    }
    if !buf.is_empty() {
        return Err(DecodeError::Malformed("netlink header"));
    }
    Ok(out)
}

/// What a received message means to a requester.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply<'a> {
    /// An ACK (error 0) for the request with this sequence number.
    Ack,
    /// The request failed with this (positive) errno, with the extended-ack text if any.
    Error {
        /// Positive errno.
        errno: i32,
        /// Kernel's explanation (`NLMSGERR_ATTR_MSG`).
        message: Option<String>,
    },
    /// End of a dump.
    Done,
    /// A generic-netlink message: command and the attributes after the genl header.
    Genl {
        /// `genlmsghdr.cmd`.
        cmd: u8,
        /// Attribute bytes.
        attrs: &'a [u8],
    },
    /// Anything else (NOOP, OVERRUN, other families); ignored by the client.
    Other,
}

/// Interprets a message. `family` is the genl family the requester expects data from.
pub fn classify<'a>(msg: &RawMsg<'a>, family: u16) -> Result<Reply<'a>, DecodeError> {
    match msg.ty {
        NLMSG_ERROR => {
            if msg.payload.len() < 4 {
                return Err(DecodeError::Malformed("netlink error"));
            }
            let err = i32::from_ne_bytes(msg.payload[0..4].try_into().expect("4 bytes"));
            if err == 0 {
                return Ok(Reply::Ack);
            }
            let message = if msg.flags & NLM_F_ACK_TLVS != 0 {
                ext_ack_message(msg.payload, msg.flags)
            } else {
                None
            };
            Ok(Reply::Error {
                errno: err.checked_neg().unwrap_or(i32::MAX),
                message,
            })
        }
        NLMSG_DONE => {
            // A dump may end with an error code instead of data.
            if msg.payload.len() >= 4 {
                let err = i32::from_ne_bytes(msg.payload[0..4].try_into().expect("4 bytes"));
                if err < 0 {
                    return Ok(Reply::Error {
                        errno: err.checked_neg().unwrap_or(i32::MAX),
                        message: None,
                    });
                }
            }
            Ok(Reply::Done)
        }
        t if t == family => {
            if msg.payload.len() < GENL_HDRLEN {
                return Err(DecodeError::Malformed("genl header"));
            }
            Ok(Reply::Genl {
                cmd: msg.payload[0],
                attrs: &msg.payload[GENL_HDRLEN..],
            })
        }
        _ => Ok(Reply::Other),
    }
}

fn ext_ack_message(payload: &[u8], flags: u16) -> Option<String> {
    // error code, then the original header, then (unless capped) the original payload.
    let orig = payload.get(4..4 + NLMSG_HDRLEN)?;
    let orig_len = u32::from_ne_bytes(orig[0..4].try_into().ok()?) as usize;
    let skip = if flags & NLM_F_CAPPED != 0 {
        NLMSG_HDRLEN
    } else {
        (orig_len + 3) & !3
    };
    let tlvs = payload.get(4 + skip..)?;
    for (ty, value) in Attrs::new(tlvs).flatten() {
        if ty == NLMSGERR_ATTR_MSG {
            return Some(c_string(value));
        }
    }
    None
}

/// Iterator over the attributes of a buffer: `(type without flags, payload)`.
#[derive(Debug, Clone)]
pub struct Attrs<'a> {
    buf: &'a [u8],
    failed: bool,
}

impl<'a> Attrs<'a> {
    /// Iterates over `buf`.
    pub fn new(buf: &'a [u8]) -> Attrs<'a> {
        Attrs { buf, failed: false }
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<(u16, &'a [u8]), DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.buf.is_empty() {
            return None;
        }
        if self.buf.len() < 4 {
            self.failed = true;
            return Some(Err(DecodeError::Malformed("attribute header")));
        }
        let len = u16::from_ne_bytes([self.buf[0], self.buf[1]]) as usize;
        let ty = u16::from_ne_bytes([self.buf[2], self.buf[3]]) & NLA_TYPE_MASK;
        if len < 4 || len > self.buf.len() {
            self.failed = true;
            return Some(Err(DecodeError::Malformed("attribute")));
        }
        let value = &self.buf[4..len];
        let aligned = ((len + 3) & !3).min(self.buf.len());
        self.buf = &self.buf[aligned..];
        Some(Ok((ty, value)))
    }
}

/// Attributes indexed by type (types above `N - 1` are ignored: newer kernels add attributes,
/// and old readers must not fail on them). A later duplicate wins, as in the kernel's parser.
fn table<const N: usize>(buf: &[u8]) -> Result<[Option<&[u8]>; N], DecodeError> {
    let mut t = [None; N];
    for a in Attrs::new(buf) {
        let (ty, value) = a?;
        if let Some(slot) = t.get_mut(ty as usize) {
            *slot = Some(value);
        }
    }
    Ok(t)
}

fn get_2(v: Option<&[u8]>, what: &'static str) -> Result<[u8; 2], DecodeError> {
    let v = v.ok_or(DecodeError::Missing(what))?;
    v.get(..2)
        .and_then(|b| b.try_into().ok())
        .ok_or(DecodeError::BadLength(what))
}

fn get_u16(v: Option<&[u8]>, what: &'static str) -> Result<u16, DecodeError> {
    get_2(v, what).map(u16::from_ne_bytes)
}

fn get_be16(v: Option<&[u8]>, what: &'static str) -> Result<u16, DecodeError> {
    get_2(v, what).map(u16::from_be_bytes)
}

fn get_u32(v: Option<&[u8]>, what: &'static str) -> Result<u32, DecodeError> {
    let v = v.ok_or(DecodeError::Missing(what))?;
    let b: [u8; 4] = v
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or(DecodeError::BadLength(what))?;
    Ok(u32::from_ne_bytes(b))
}

fn get_raw4(v: Option<&[u8]>, what: &'static str) -> Result<[u8; 4], DecodeError> {
    let v = v.ok_or(DecodeError::Missing(what))?;
    v.get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or(DecodeError::BadLength(what))
}

/// A counter that may be 32 or 64 bits wide (the legacy stats nest mixes both).
fn get_counter(v: Option<&[u8]>) -> Result<u64, DecodeError> {
    match v {
        None => Ok(0),
        Some(b) if b.len() == 8 => Ok(u64::from_ne_bytes(b.try_into().expect("8 bytes"))),
        Some(b) if b.len() == 4 => Ok(u64::from(u32::from_ne_bytes(
            b.try_into().expect("4 bytes"),
        ))),
        Some(_) => Err(DecodeError::BadLength("stats counter")),
    }
}

fn c_string(v: &[u8]) -> String {
    let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
    String::from_utf8_lossy(&v[..end]).into_owned()
}

fn get_addr(v: Option<&[u8]>, family: Family, what: &'static str) -> Result<IpAddr, DecodeError> {
    let v = v.ok_or(DecodeError::Missing(what))?;
    // The kernel always sends the 16-byte union nf_inet_addr; requests may carry 4 bytes.
    match family {
        Family::V4 => {
            let b: [u8; 4] = v
                .get(..4)
                .and_then(|b| b.try_into().ok())
                .ok_or(DecodeError::BadLength(what))?;
            Ok(IpAddr::V4(Ipv4Addr::from(b)))
        }
        Family::V6 => {
            let b: [u8; 16] = v
                .get(..16)
                .and_then(|b| b.try_into().ok())
                .ok_or(DecodeError::BadLength(what))?;
            Ok(IpAddr::V6(Ipv6Addr::from(b)))
        }
    }
}

fn get_family(v: Option<&[u8]>, what: &'static str) -> Result<Family, DecodeError> {
    let af = get_u16(v, what)?;
    Family::from_af(af).ok_or(DecodeError::BadValue {
        what,
        value: u64::from(af),
    })
}

// ---------------------------------------------------------------------------------------------
// IPVS decoding

/// Decodes a stats nest (32-bit legacy or 64-bit).
pub fn decode_stats(buf: &[u8]) -> Result<Stats, DecodeError> {
    let t = table::<{ stats_attr::MAX + 1 }>(buf)?;
    let g = |a: u16| get_counter(t[a as usize]);
    Ok(Stats {
        conns: g(stats_attr::CONNS)?,
        inpkts: g(stats_attr::INPKTS)?,
        outpkts: g(stats_attr::OUTPKTS)?,
        inbytes: g(stats_attr::INBYTES)?,
        outbytes: g(stats_attr::OUTBYTES)?,
        cps: g(stats_attr::CPS)?,
        inpps: g(stats_attr::INPPS)?,
        outpps: g(stats_attr::OUTPPS)?,
        inbps: g(stats_attr::INBPS)?,
        outbps: g(stats_attr::OUTBPS)?,
    })
}

fn pick_stats(s64: Option<&[u8]>, s32: Option<&[u8]>) -> Result<Option<Stats>, DecodeError> {
    match (s64, s32) {
        (Some(b), _) | (None, Some(b)) => decode_stats(b).map(Some),
        (None, None) => Ok(None),
    }
}

/// Decodes the attributes inside an `IPVS_CMD_ATTR_SERVICE` nest as the kernel dumps them.
pub fn decode_service(buf: &[u8]) -> Result<Service, DecodeError> {
    let t = table::<{ svc_attr::MAX + 1 }>(buf)?;
    let family = get_family(t[svc_attr::AF as usize], "service address family")?;
    let key = match t[svc_attr::FWMARK as usize] {
        Some(_) => ServiceKey::Fwmark {
            family,
            mark: get_u32(t[svc_attr::FWMARK as usize], "service fwmark")?,
        },
        None => {
            let p = get_u16(t[svc_attr::PROTOCOL as usize], "service protocol")?;
            ServiceKey::Addr {
                protocol: Protocol::from_number(p).ok_or(DecodeError::BadValue {
                    what: "service protocol",
                    value: u64::from(p),
                })?,
                addr: get_addr(t[svc_attr::ADDR as usize], family, "service address")?,
                port: get_be16(t[svc_attr::PORT as usize], "service port")?,
            }
        }
    };
    let scheduler = c_string(
        t[svc_attr::SCHED_NAME as usize].ok_or(DecodeError::Missing("service scheduler"))?,
    );
    // The kernel's own "hashed" bit says the service is in its hash table: always true for a
    // dumped service, meaningless to callers, and fatal if sent back. Dropped here.
    let flags = ServiceFlags(
        get_u32(t[svc_attr::FLAGS as usize], "service flags")? & !ServiceFlags::HASHED.0,
    );
    let timeout = get_u32(t[svc_attr::TIMEOUT as usize], "service timeout")?;
    let netmask = netmask_from_bytes(
        family,
        get_raw4(t[svc_attr::NETMASK as usize], "service netmask")?,
    );
    let pe_name = t[svc_attr::PE_NAME as usize]
        .map(c_string)
        .filter(|s| !s.is_empty());
    let stats = pick_stats(t[svc_attr::STATS64 as usize], t[svc_attr::STATS as usize])?;
    Ok(Service {
        key,
        scheduler,
        flags,
        timeout,
        netmask,
        pe_name,
        stats,
    })
}

/// Decodes the attributes inside an `IPVS_CMD_ATTR_DEST` nest. `service_family` is used when
/// the kernel predates per-destination address families.
pub fn decode_dest(buf: &[u8], service_family: Family) -> Result<Dest, DecodeError> {
    let t = table::<{ dest_attr::MAX + 1 }>(buf)?;
    let family = match t[dest_attr::ADDR_FAMILY as usize] {
        Some(_) => get_family(t[dest_attr::ADDR_FAMILY as usize], "dest address family")?,
        None => service_family,
    };
    let fwd = get_u32(t[dest_attr::FWD_METHOD as usize], "dest forwarding method")?;
    let forward = Forward::from_conn_flags(fwd).ok_or(DecodeError::BadValue {
        what: "dest forwarding method",
        value: u64::from(fwd),
    })?;
    let opt_u32 = |a: u16, what| match t[a as usize] {
        Some(_) => get_u32(t[a as usize], what),
        None => Ok(0),
    };
    let tunnel = Tunnel {
        kind: match t[dest_attr::TUN_TYPE as usize] {
            None => TunnelType::Ipip,
            Some(v) => {
                let n = *v
                    .first()
                    .ok_or(DecodeError::BadLength("dest tunnel type"))?;
                TunnelType::from_number(n).ok_or(DecodeError::BadValue {
                    what: "dest tunnel type",
                    value: u64::from(n),
                })?
            }
        },
        port: match t[dest_attr::TUN_PORT as usize] {
            None => 0,
            v => get_be16(v, "dest tunnel port")?,
        },
        flags: match t[dest_attr::TUN_FLAGS as usize] {
            None => 0,
            v => get_u16(v, "dest tunnel flags")?,
        },
    };
    Ok(Dest {
        addr: get_addr(t[dest_attr::ADDR as usize], family, "dest address")?,
        port: get_be16(t[dest_attr::PORT as usize], "dest port")?,
        forward,
        weight: get_u32(t[dest_attr::WEIGHT as usize], "dest weight")?,
        upper_threshold: opt_u32(dest_attr::U_THRESH, "dest upper threshold")?,
        lower_threshold: opt_u32(dest_attr::L_THRESH, "dest lower threshold")?,
        tunnel,
        stats: pick_stats(t[dest_attr::STATS64 as usize], t[dest_attr::STATS as usize])?,
        active_conns: opt_u32(dest_attr::ACTIVE_CONNS, "dest active conns")?,
        inactive_conns: opt_u32(dest_attr::INACT_CONNS, "dest inactive conns")?,
        persist_conns: opt_u32(dest_attr::PERSIST_CONNS, "dest persistent conns")?,
    })
}

/// Finds the nest of type `ty` among a genl message's top-level attributes.
pub fn find_nest(attrs: &[u8], ty: u16) -> Result<Option<&[u8]>, DecodeError> {
    for a in Attrs::new(attrs) {
        let (t, v) = a?;
        if t == ty {
            return Ok(Some(v));
        }
    }
    Ok(None)
}

/// Decodes a service-dump message's attributes (`IPVS_CMD_NEW_SERVICE` reply).
pub fn decode_service_msg(attrs: &[u8]) -> Result<Service, DecodeError> {
    let nest = find_nest(attrs, cmd_attr::SERVICE)?.ok_or(DecodeError::Missing("service"))?;
    decode_service(nest)
}

/// Decodes a destination-dump message's attributes (`IPVS_CMD_NEW_DEST` reply).
pub fn decode_dest_msg(attrs: &[u8], service_family: Family) -> Result<Dest, DecodeError> {
    let nest = find_nest(attrs, cmd_attr::DEST)?.ok_or(DecodeError::Missing("dest"))?;
    decode_dest(nest, service_family)
}

/// Decodes the `GET_INFO` reply.
pub fn decode_info(attrs: &[u8]) -> Result<Info, DecodeError> {
    let t = table::<{ info_attr::MAX + 1 }>(attrs)?;
    Ok(Info {
        version: get_u32(t[info_attr::VERSION as usize], "info version")?,
        conn_tab_size: get_u32(t[info_attr::CONN_TAB_SIZE as usize], "info table size")?,
    })
}

/// Decodes the `GET_CONFIG` reply.
pub fn decode_timeouts(attrs: &[u8]) -> Result<Timeouts, DecodeError> {
    let t = table::<{ cmd_attr::MAX + 1 }>(attrs)?;
    Ok(Timeouts {
        tcp: get_u32(t[cmd_attr::TIMEOUT_TCP as usize], "tcp timeout")?,
        tcp_fin: get_u32(t[cmd_attr::TIMEOUT_TCP_FIN as usize], "tcp fin timeout")?,
        udp: get_u32(t[cmd_attr::TIMEOUT_UDP as usize], "udp timeout")?,
    })
}

/// Decodes the controller's reply to `CTRL_CMD_GETFAMILY`: the family id.
pub fn decode_family_id(attrs: &[u8]) -> Result<u16, DecodeError> {
    let t = table::<{ CTRL_ATTR_FAMILY_NAME as usize + 1 }>(attrs)?;
    get_u16(t[CTRL_ATTR_FAMILY_ID as usize], "family id")
}

#[cfg(test)]
#[path = "codec_tests.rs"]
mod tests;
