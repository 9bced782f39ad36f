//! Decoding: attribute tables, and the kernel's IPVS replies and dumps.

use super::*;

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

pub(super) fn ext_ack_message(payload: &[u8], flags: u16) -> Option<String> {
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
pub(super) fn table<const N: usize>(buf: &[u8]) -> Result<[Option<&[u8]>; N], DecodeError> {
    let mut t = [None; N];
    for a in Attrs::new(buf) {
        let (ty, value) = a?;
        if let Some(slot) = t.get_mut(ty as usize) {
            *slot = Some(value);
        }
    }
    Ok(t)
}

pub(super) fn get_2(v: Option<&[u8]>, what: &'static str) -> Result<[u8; 2], DecodeError> {
    let v = v.ok_or(DecodeError::Missing(what))?;
    v.get(..2)
        .and_then(|b| b.try_into().ok())
        .ok_or(DecodeError::BadLength(what))
}

pub(super) fn get_u16(v: Option<&[u8]>, what: &'static str) -> Result<u16, DecodeError> {
    get_2(v, what).map(u16::from_ne_bytes)
}

pub(super) fn get_be16(v: Option<&[u8]>, what: &'static str) -> Result<u16, DecodeError> {
    get_2(v, what).map(u16::from_be_bytes)
}

pub(super) fn get_u32(v: Option<&[u8]>, what: &'static str) -> Result<u32, DecodeError> {
    let v = v.ok_or(DecodeError::Missing(what))?;
    let b: [u8; 4] = v
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or(DecodeError::BadLength(what))?;
    Ok(u32::from_ne_bytes(b))
}

pub(super) fn get_raw4(v: Option<&[u8]>, what: &'static str) -> Result<[u8; 4], DecodeError> {
    let v = v.ok_or(DecodeError::Missing(what))?;
    v.get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or(DecodeError::BadLength(what))
}

/// A counter that may be 32 or 64 bits wide (the legacy stats nest mixes both).
pub(super) fn get_counter(v: Option<&[u8]>) -> Result<u64, DecodeError> {
    match v {
        None => Ok(0),
        Some(b) if b.len() == 8 => Ok(u64::from_ne_bytes(b.try_into().expect("8 bytes"))),
        Some(b) if b.len() == 4 => Ok(u64::from(u32::from_ne_bytes(
            b.try_into().expect("4 bytes"),
        ))),
        Some(_) => Err(DecodeError::BadLength("stats counter")),
    }
}

pub(super) fn c_string(v: &[u8]) -> String {
    let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
    String::from_utf8_lossy(&v[..end]).into_owned()
}

pub(super) fn get_addr(
    v: Option<&[u8]>,
    family: Family,
    what: &'static str,
) -> Result<IpAddr, DecodeError> {
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

pub(super) fn get_family(v: Option<&[u8]>, what: &'static str) -> Result<Family, DecodeError> {
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

pub(super) fn pick_stats(
    s64: Option<&[u8]>,
    s32: Option<&[u8]>,
) -> Result<Option<Stats>, DecodeError> {
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
