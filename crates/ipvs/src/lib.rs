//! IPVS (the kernel's L4 load balancer) over generic netlink, for keepalived-rs's ipvs-manager.
//!
//! - [`codec`]: a pure encoder/decoder of the IPVS genl messages of `linux/ip_vs.h`
//!   (services, destinations, 64-bit stats, info, timeouts), tested byte for byte.
//! - [`Ipvs`]: a thin blocking client over one netlink socket: dumps, and a batched
//!   [`Ipvs::apply`] that sends many changes per datagram and reports the first failing one.
//!
//! IPVS state is per network namespace: a socket acts on the namespace of the thread that
//! opened it. See `README.md` for the API at a glance and how to test against a real kernel.
#![forbid(unsafe_code)]

mod client;
pub mod codec;
mod error;
mod socket;
mod types;

pub use client::{Ipvs, MAX_BATCH_BYTES, MAX_BATCH_MSGS};
pub use codec::{DecodeError, EncodeError};
pub use error::{ApplyError, IpvsError};
pub use types::{
    Dest, Family, Forward, Info, Op, Protocol, Service, ServiceFlags, ServiceKey, Stats, Timeouts,
    Tunnel, TunnelType, default_netmask,
};
