//! Encoding: netlink and genl headers, attributes, and the IPVS requests.

use super::*;

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

pub(super) fn pad(buf: &mut Vec<u8>) {
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

pub(super) fn put_u16(buf: &mut Vec<u8>, ty: u16, v: u16) {
    put_attr(buf, ty, &v.to_ne_bytes());
}

pub(super) fn put_be16(buf: &mut Vec<u8>, ty: u16, v: u16) {
    put_attr(buf, ty, &v.to_be_bytes());
}

pub(super) fn put_u32(buf: &mut Vec<u8>, ty: u16, v: u32) {
    put_attr(buf, ty, &v.to_ne_bytes());
}

pub(super) fn put_u64(buf: &mut Vec<u8>, ty: u16, v: u64) {
    put_attr(buf, ty, &v.to_ne_bytes());
}

pub(super) fn put_str(buf: &mut Vec<u8>, ty: u16, s: &str) {
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

pub(super) fn addr_bytes(addr: &IpAddr) -> Vec<u8> {
    match addr {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

pub(super) fn check_name(what: &'static str, name: &str) -> Result<(), EncodeError> {
    if name.is_empty() || name.len() > NAME_MAXLEN || name.contains('\0') {
        return Err(EncodeError::BadName {
            what,
            name: name.to_string(),
        });
    }
    Ok(())
}

pub(super) fn check_key(key: &ServiceKey) -> Result<(), EncodeError> {
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

pub(super) fn netmask_bytes(family: Family, netmask: u32) -> [u8; 4] {
    match family {
        // A v4 mask travels as __be32.
        Family::V4 => netmask.to_be_bytes(),
        // A v6 "mask" is a prefix length the kernel compares as a host-order number.
        Family::V6 => netmask.to_ne_bytes(),
    }
}

pub(super) fn netmask_from_bytes(family: Family, b: [u8; 4]) -> u32 {
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

pub(super) fn service_nest(buf: &mut Vec<u8>, key: &ServiceKey, full: Option<&Service>) {
    let n = nest_start(buf, cmd_attr::SERVICE);
    put_service_attrs(buf, key, full);
    nest_end(buf, n);
}

pub(super) fn dest_nest(buf: &mut Vec<u8>, addr: &IpAddr, port: u16, full: Option<&Dest>) {
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
