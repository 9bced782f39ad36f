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

mod decode;
mod encode;

pub use decode::*;
pub use encode::*;

#[cfg(test)]
mod tests;
