//! Pure VRRP protocol core of keepalived-rs: inputs and time in, actions out.
//!
//! Nothing here touches a socket, a clock or a thread. The `vrrp-core` service wraps it
//! with raw sockets, rtnetlink and timers:
//!
//! - [`time`]: unit newtypes ([`time::AdvertSeconds`] for v2, [`time::AdvertCentiseconds`] for v3,
//!   [`time::Micros`], caller-supplied [`time::Timestamp`]) and the Skew_Time /
//!   Master_Down_Interval formulas (RFC 3768 §6.1, RFC 5798 §6.1).
//! - [`codec`]: encode/decode of VRRPv2/v3 adverts, keepalived's IPv4 header, and the
//!   receive checks of RFC 3768 §7.1 / RFC 5798 §7.1.
//! - [`garp`]: gratuitous ARP and unsolicited neighbour advertisement frames, byte for
//!   byte as keepalived sends them.
//! - [`state`]: the per-instance state machine (RFC 5798 §6.4 plus keepalived's FAULT).
//! - [`sync`]: `vrrp_sync_group` semantics over member states.
//! - [`counters`]: keepalived's per-instance statistics.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod codec;
pub mod counters;
pub mod garp;
pub mod state;
pub mod sync;
pub mod time;
