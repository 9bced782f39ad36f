//! The IPVS table as plain data: what a service and a destination are, independent of how they
//! travel over netlink.

use std::fmt;
use std::net::IpAddr;

/// Transport protocol of an address-keyed virtual service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// TCP (IPPROTO_TCP = 6).
    Tcp,
    /// UDP (IPPROTO_UDP = 17).
    Udp,
    /// SCTP (IPPROTO_SCTP = 132).
    Sctp,
}

impl Protocol {
    /// The IP protocol number the kernel uses.
    pub fn number(self) -> u16 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
        }
    }

    /// The protocol for an IP protocol number, if IPVS supports it.
    pub fn from_number(n: u16) -> Option<Protocol> {
        match n {
            6 => Some(Protocol::Tcp),
            17 => Some(Protocol::Udp),
            132 => Some(Protocol::Sctp),
            _ => None,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        })
    }
}

/// Address family (needed by firewall-mark services, which carry no address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// IPv4 (AF_INET).
    V4,
    /// IPv6 (AF_INET6).
    V6,
}

impl Family {
    /// The family of an address.
    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// The AF_* number the kernel uses.
    pub fn af(self) -> u16 {
        match self {
            Family::V4 => libc::AF_INET as u16,
            Family::V6 => libc::AF_INET6 as u16,
        }
    }

    /// The family for an AF_* number.
    pub fn from_af(af: u16) -> Option<Family> {
        match i32::from(af) {
            libc::AF_INET => Some(Family::V4),
            libc::AF_INET6 => Some(Family::V6),
            _ => None,
        }
    }
}

/// What identifies a virtual service in the kernel table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceKey {
    /// `virtual_server ADDR PORT` with a protocol.
    Addr {
        /// Transport protocol.
        protocol: Protocol,
        /// Virtual address (VIP).
        addr: IpAddr,
        /// Virtual port; 0 means "all ports" (persistent port-less services).
        port: u16,
    },
    /// `virtual_server fwmark N`.
    Fwmark {
        /// Address family of the marked packets.
        family: Family,
        /// Firewall mark (non-zero).
        mark: u32,
    },
}

impl ServiceKey {
    /// The address family of the service.
    pub fn family(&self) -> Family {
        match self {
            ServiceKey::Addr { addr, .. } => Family::of(addr),
            ServiceKey::Fwmark { family, .. } => *family,
        }
    }
}

impl fmt::Display for ServiceKey {
    /// ipvsadm's notation: `TCP 198.51.100.1:80`, `UDP [2001:db8::1]:53`, `FWM 5`, `FWM 5 IPv6`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Addr {
                protocol,
                addr: IpAddr::V4(a),
                port,
            } => write!(f, "{protocol} {a}:{port}"),
            ServiceKey::Addr {
                protocol,
                addr: IpAddr::V6(a),
                port,
            } => write!(f, "{protocol} [{a}]:{port}"),
            ServiceKey::Fwmark {
                family: Family::V4,
                mark,
            } => write!(f, "FWM {mark}"),
            ServiceKey::Fwmark {
                family: Family::V6,
                mark,
            } => write!(f, "FWM {mark} IPv6"),
        }
    }
}

/// Virtual service flags (`IP_VS_SVC_F_*`), kept as the kernel's bit set because the scheduler
/// flags mean different things per scheduler (`sh-port` and `mh-port` are the same bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ServiceFlags(pub u32);

impl ServiceFlags {
    /// No flags.
    pub const NONE: ServiceFlags = ServiceFlags(0);
    /// Persistence (`persistence_timeout`); also set `Service::timeout`.
    pub const PERSISTENT: ServiceFlags = ServiceFlags(0x0001);
    /// Kernel-internal "hashed" bit: never sent (the kernel would refuse to hash the service),
    /// and dropped from dumps (6.1 reports it on every service).
    pub const HASHED: ServiceFlags = ServiceFlags(0x0002);
    /// One-packet scheduling (`ops`).
    pub const ONE_PACKET: ServiceFlags = ServiceFlags(0x0004);
    /// Scheduler flag 1.
    pub const SCHED1: ServiceFlags = ServiceFlags(0x0008);
    /// Scheduler flag 2.
    pub const SCHED2: ServiceFlags = ServiceFlags(0x0010);
    /// Scheduler flag 3.
    pub const SCHED3: ServiceFlags = ServiceFlags(0x0020);
    /// `sh`: fall back to another server when the hashed one is unavailable (`sh-fallback`).
    pub const SH_FALLBACK: ServiceFlags = Self::SCHED1;
    /// `sh`: hash the source port too (`sh-port`).
    pub const SH_PORT: ServiceFlags = Self::SCHED2;
    /// `mh`: fall back to another server when the hashed one is unavailable (`mh-fallback`).
    pub const MH_FALLBACK: ServiceFlags = Self::SCHED1;
    /// `mh`: hash the source port too (`mh-port`).
    pub const MH_PORT: ServiceFlags = Self::SCHED2;

    /// Whether every bit of `other` is set.
    pub fn contains(self, other: ServiceFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Sets the bits of `other`.
    pub fn insert(&mut self, other: ServiceFlags) {
        self.0 |= other.0;
    }

    /// Clears the bits of `other`.
    pub fn remove(&mut self, other: ServiceFlags) {
        self.0 &= !other.0;
    }
}

impl std::ops::BitOr for ServiceFlags {
    type Output = ServiceFlags;
    fn bitor(self, rhs: ServiceFlags) -> ServiceFlags {
        ServiceFlags(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for ServiceFlags {
    fn bitor_assign(&mut self, rhs: ServiceFlags) {
        self.0 |= rhs.0;
    }
}

/// Traffic counters and rates of a service or destination (the kernel's 64-bit set when
/// available, else the legacy 32-bit one widened).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Stats {
    /// Connections scheduled.
    pub conns: u64,
    /// Incoming packets.
    pub inpkts: u64,
    /// Outgoing packets (0 for DR/TUN: replies bypass the director).
    pub outpkts: u64,
    /// Incoming bytes.
    pub inbytes: u64,
    /// Outgoing bytes.
    pub outbytes: u64,
    /// Connection rate (per second, estimated by the kernel every 2 s).
    pub cps: u64,
    /// Incoming packet rate.
    pub inpps: u64,
    /// Outgoing packet rate.
    pub outpps: u64,
    /// Incoming byte rate.
    pub inbps: u64,
    /// Outgoing byte rate.
    pub outbps: u64,
}

/// A virtual service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// Identity.
    pub key: ServiceKey,
    /// Scheduler name (`rr`, `wrr`, `lc`, `wlc`, `lblc`, `lblcr`, `dh`, `sh`, `sed`, `nq`, `fo`,
    /// `ovf`, `mh`, `twos`…): at most 15 bytes; the kernel loads `ip_vs_NAME` on demand.
    pub scheduler: String,
    /// Service flags.
    pub flags: ServiceFlags,
    /// Persistence timeout in seconds (meaningful with [`ServiceFlags::PERSISTENT`]).
    pub timeout: u32,
    /// Persistence granularity. IPv4: the netmask as a number (`0xffff_ff00` for
    /// 255.255.255.0; `0xffff_ffff` = per client address). IPv6: the prefix length (1..=128).
    pub netmask: u32,
    /// Persistence engine (`sip`), if any.
    pub pe_name: Option<String>,
    /// Counters; filled by [`crate::Ipvs::services`], ignored when sent.
    pub stats: Option<Stats>,
}

impl Service {
    /// A service with the given key and scheduler, no flags, and the "whole address" netmask
    /// that ipvsadm uses by default (255.255.255.255, or /128).
    pub fn new(key: ServiceKey, scheduler: impl Into<String>) -> Service {
        Service {
            key,
            scheduler: scheduler.into(),
            flags: ServiceFlags::NONE,
            timeout: 0,
            netmask: default_netmask(key.family()),
            pe_name: None,
            stats: None,
        }
    }

    /// Makes the service persistent for `timeout` seconds.
    pub fn persistent(mut self, timeout: u32) -> Service {
        self.flags.insert(ServiceFlags::PERSISTENT);
        self.timeout = timeout;
        self
    }
}

/// The netmask value meaning "each client address on its own": `0xffff_ffff` for IPv4, 128 for
/// IPv6.
pub fn default_netmask(family: Family) -> u32 {
    match family {
        Family::V4 => u32::MAX,
        Family::V6 => 128,
    }
}

/// Forwarding method of a destination (`lvs_method` / `lb_kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Forward {
    /// NAT (`-m`).
    Masq,
    /// Local node.
    Local,
    /// IP-in-IP (or GUE/GRE) tunnelling (`-i`).
    Tunnel,
    /// Direct routing (`-g`).
    Route,
    /// Cache bypass.
    Bypass,
}

impl Forward {
    /// The `IP_VS_CONN_F_*` forwarding value.
    pub fn conn_flags(self) -> u32 {
        match self {
            Forward::Masq => 0,
            Forward::Local => 1,
            Forward::Tunnel => 2,
            Forward::Route => 3,
            Forward::Bypass => 4,
        }
    }

    /// The method for the low three bits of connection flags.
    pub fn from_conn_flags(v: u32) -> Option<Forward> {
        match v & 0x7 {
            0 => Some(Forward::Masq),
            1 => Some(Forward::Local),
            2 => Some(Forward::Tunnel),
            3 => Some(Forward::Route),
            4 => Some(Forward::Bypass),
            _ => None,
        }
    }
}

/// Encapsulation of a tunnelling destination (kernel ≥ 5.3; keepalived's `tunnel_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TunnelType {
    /// IP-in-IP (the classic LVS-TUN).
    #[default]
    Ipip,
    /// Generic UDP Encapsulation (needs `port`).
    Gue,
    /// GRE.
    Gre,
}

impl TunnelType {
    /// The `IP_VS_CONN_F_TUNNEL_TYPE_*` value.
    pub fn number(self) -> u8 {
        match self {
            TunnelType::Ipip => 0,
            TunnelType::Gue => 1,
            TunnelType::Gre => 2,
        }
    }

    /// The type for an `IP_VS_CONN_F_TUNNEL_TYPE_*` value.
    pub fn from_number(n: u8) -> Option<TunnelType> {
        match n {
            0 => Some(TunnelType::Ipip),
            1 => Some(TunnelType::Gue),
            2 => Some(TunnelType::Gre),
            _ => None,
        }
    }
}

/// Tunnel parameters of a destination; sent only with [`Forward::Tunnel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Tunnel {
    /// Encapsulation.
    pub kind: TunnelType,
    /// UDP port for GUE (0 otherwise).
    pub port: u16,
    /// `IP_VS_TUNNEL_ENCAP_FLAG_*` (checksum options for GUE/GRE).
    pub flags: u16,
}

/// A destination (real server) of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dest {
    /// Real server address (may differ in family from the service only with tunnelling).
    pub addr: IpAddr,
    /// Real server port.
    pub port: u16,
    /// Forwarding method.
    pub forward: Forward,
    /// Weight; 0 keeps the server in the table but sends it no new connections.
    pub weight: u32,
    /// Upper connection threshold (0 = none).
    pub upper_threshold: u32,
    /// Lower connection threshold (0 = none).
    pub lower_threshold: u32,
    /// Tunnel parameters (used with [`Forward::Tunnel`]).
    pub tunnel: Tunnel,
    /// Counters; filled by [`crate::Ipvs::dests`], ignored when sent.
    pub stats: Option<Stats>,
    /// Active connections (read only).
    pub active_conns: u32,
    /// Inactive connections (read only).
    pub inactive_conns: u32,
    /// Persistence templates (read only).
    pub persist_conns: u32,
}

impl Dest {
    /// A destination with weight 1, no thresholds and zeroed read-only fields.
    pub fn new(addr: IpAddr, port: u16, forward: Forward) -> Dest {
        Dest {
            addr,
            port,
            forward,
            weight: 1,
            upper_threshold: 0,
            lower_threshold: 0,
            tunnel: Tunnel::default(),
            stats: None,
            active_conns: 0,
            inactive_conns: 0,
            persist_conns: 0,
        }
    }

    /// Sets the weight.
    pub fn weight(mut self, weight: u32) -> Dest {
        self.weight = weight;
        self
    }
}

/// General IPVS information.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    /// IPVS version, `0x010201` for 1.2.1.
    pub version: u32,
    /// Size of the connection hash table.
    pub conn_tab_size: u32,
}

impl Info {
    /// The version as ipvsadm prints it (`1.2.1`).
    pub fn version_string(&self) -> String {
        format!(
            "{}.{}.{}",
            (self.version >> 16) & 0xff,
            (self.version >> 8) & 0xff,
            self.version & 0xff
        )
    }
}

/// Connection timeouts in seconds (`ipvsadm --set tcp tcpfin udp`). When set, 0 leaves a value
/// unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timeouts {
    /// Established TCP.
    pub tcp: u32,
    /// TCP after FIN.
    pub tcp_fin: u32,
    /// UDP.
    pub udp: u32,
}

/// One change to the kernel table, as [`crate::Ipvs::apply`] sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Create a service (fails with EEXIST if present).
    AddService(Service),
    /// Change scheduler, flags, timeout, netmask or persistence engine of a service.
    EditService(Service),
    /// Delete a service and its destinations.
    DelService(ServiceKey),
    /// Add a destination to a service (EEXIST if present).
    AddDest(ServiceKey, Dest),
    /// Change forwarding method, weight or thresholds of a destination.
    EditDest(ServiceKey, Dest),
    /// Delete the destination `addr:port` of a service.
    DelDest(ServiceKey, IpAddr, u16),
    /// Delete every service and destination (of the socket's network namespace).
    Flush,
}
