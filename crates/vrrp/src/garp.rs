//! Gratuitous ARP (IPv4) and unsolicited Neighbour Advertisement (IPv6) frames, built
//! byte for byte as keepalived 2.2 sends them on an `AF_PACKET` socket when an instance
//! becomes master (RFC 5798 §6.4.1 / §6.4.2 "broadcast a gratuitous ARP request … for
//! each IPv4 address", "send an unsolicited ND Neighbor Advertisement … for each IPv6
//! address").
//!
//! The frames are complete Ethernet frames; the service writes them with `sendto` on a
//! packet socket bound to the interface.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::codec::internet_checksum;

/// A 48-bit Ethernet MAC address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);

    /// The VRRP virtual MAC 00-00-5E-00-01-{VRID} (RFC 5798 §7.3), for `use_vmac`.
    pub const fn vrrp_v4(vrid: u8) -> MacAddr {
        MacAddr([0x00, 0x00, 0x5e, 0x00, 0x01, vrid])
    }

    /// The IPv6 VRRP virtual MAC 00-00-5E-00-02-{VRID} (RFC 5798 §7.3).
    pub const fn vrrp_v6(vrid: u8) -> MacAddr {
        MacAddr([0x00, 0x00, 0x5e, 0x00, 0x02, vrid])
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

/// Length of a gratuitous ARP frame (Ethernet header 14 + ARP 28; no padding, as captured).
pub const GARP_FRAME_LEN: usize = 42;
/// Length of an unsolicited NA frame (Ethernet 14 + IPv6 40 + NA 24 + TLLA option 8).
pub const UNSOLICITED_NA_FRAME_LEN: usize = 86;

const ETHERTYPE_ARP: [u8; 2] = [0x08, 0x06];
const ETHERTYPE_IPV6: [u8; 2] = [0x86, 0xdd];
const IPPROTO_ICMPV6: u8 = 58;
const ICMPV6_NEIGHBOUR_ADVERTISEMENT: u8 = 136;
const ND_OPT_TARGET_LL_ADDR: u8 = 2;

/// The gratuitous ARP keepalived 2.2.7 sends for `vip` from an interface with MAC `mac`,
/// as seen in `keepalived-vrrpv2-election-garp.pcap`:
///
/// - Ethernet: dst ff:ff:ff:ff:ff:ff, src = interface MAC, type 0x0806;
/// - ARP **request** (op 1), Ethernet/IPv4, sender MAC = interface MAC, sender IP = VIP,
///   target MAC = **ff:ff:ff:ff:ff:ff** (not zero), target IP = VIP.
pub fn gratuitous_arp(mac: MacAddr, vip: Ipv4Addr) -> [u8; GARP_FRAME_LEN] {
    let mut f = [0u8; GARP_FRAME_LEN];
    f[0..6].copy_from_slice(&MacAddr::BROADCAST.0);
    f[6..12].copy_from_slice(&mac.0);
    f[12..14].copy_from_slice(&ETHERTYPE_ARP);
    // ARP: hardware type Ethernet (1), protocol IPv4, hlen 6, plen 4, op request (1).
    f[14..22].copy_from_slice(&[0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01]);
    f[22..28].copy_from_slice(&mac.0);
    f[28..32].copy_from_slice(&vip.octets());
    f[32..38].copy_from_slice(&MacAddr::BROADCAST.0);
    f[38..42].copy_from_slice(&vip.octets());
    f
}

/// The unsolicited Neighbour Advertisement keepalived 2.2 sends for `vip` (RFC 4861 §7.2.6):
///
/// - Ethernet: dst 33:33:00:00:00:01 (RFC 2464 §7 mapping of ff02::1), src = `mac`;
/// - IPv6: hop limit 255, src = the VIP itself, dst = ff02::1;
/// - ICMPv6 type 136 code 0, Override flag set, Router flag = `router` (keepalived sets it
///   when IPv6 forwarding is on for the interface), Solicited clear, target = VIP,
///   Target Link-Layer Address option with `mac`; checksum over the IPv6 pseudo-header.
pub fn unsolicited_na(mac: MacAddr, vip: Ipv6Addr, router: bool) -> [u8; UNSOLICITED_NA_FRAME_LEN] {
    let all_nodes = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
    let mut f = [0u8; UNSOLICITED_NA_FRAME_LEN];
    f[0..6].copy_from_slice(&[0x33, 0x33, 0, 0, 0, 1]);
    f[6..12].copy_from_slice(&mac.0);
    f[12..14].copy_from_slice(&ETHERTYPE_IPV6);
    // IPv6 header: version 6, traffic class 0, flow label 0.
    f[14] = 0x60;
    let icmp_len: u16 = 32;
    f[18..20].copy_from_slice(&icmp_len.to_be_bytes());
    f[20] = IPPROTO_ICMPV6;
    f[21] = 255; // RFC 4861 §7.1.2: hop limit 255
    f[22..38].copy_from_slice(&vip.octets());
    f[38..54].copy_from_slice(&all_nodes.octets());
    // ICMPv6 Neighbour Advertisement (RFC 4861 §4.4).
    f[54] = ICMPV6_NEIGHBOUR_ADVERTISEMENT;
    f[55] = 0;
    f[58] = 0x20 | if router { 0x80 } else { 0 }; // R, S=0, O=1
    f[62..78].copy_from_slice(&vip.octets());
    f[78] = ND_OPT_TARGET_LL_ADDR;
    f[79] = 1; // length in units of 8 bytes
    f[80..86].copy_from_slice(&mac.0);
    let mut pseudo = Vec::with_capacity(40);
    pseudo.extend_from_slice(&vip.octets());
    pseudo.extend_from_slice(&all_nodes.octets());
    pseudo.extend_from_slice(&u32::from(icmp_len).to_be_bytes());
    pseudo.extend_from_slice(&[0, 0, 0, IPPROTO_ICMPV6]);
    let sum = internet_checksum(&[&pseudo, &f[54..86]]);
    f[56..58].copy_from_slice(&sum.to_be_bytes());
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x11]);

    #[test]
    fn gratuitous_arp_is_a_broadcast_request_for_the_vip_itself() {
        let f = gratuitous_arp(MAC, Ipv4Addr::new(198, 51, 100, 10));
        assert_eq!(&f[0..6], &[0xff; 6]);
        assert_eq!(&f[12..14], &[0x08, 0x06]);
        assert_eq!(&f[20..22], &[0, 1], "op = request");
        assert_eq!(&f[28..32], &f[38..42], "sender IP = target IP");
        assert_eq!(
            &f[32..38],
            &[0xff; 6],
            "keepalived puts broadcast in the target MAC"
        );
    }

    #[test]
    fn unsolicited_na_checksum_verifies_and_flags_are_set() {
        let vip: Ipv6Addr = "2001:db8::10".parse().unwrap();
        let f = unsolicited_na(MAC, vip, false);
        assert_eq!(&f[0..6], &[0x33, 0x33, 0, 0, 0, 1]);
        assert_eq!(f[21], 255);
        assert_eq!(f[54], 136);
        assert_eq!(f[58], 0x20, "override only");
        assert_eq!(&f[62..78], &vip.octets());
        assert_eq!(&f[80..86], &MAC.0);
        // Recomputing over pseudo-header + message including the checksum gives zero.
        let mut pseudo = Vec::new();
        pseudo.extend_from_slice(&f[22..54]);
        pseudo.extend_from_slice(&32u32.to_be_bytes());
        pseudo.extend_from_slice(&[0, 0, 0, 58]);
        assert_eq!(internet_checksum(&[&pseudo, &f[54..]]), 0);
        let r = unsolicited_na(MAC, vip, true);
        assert_eq!(r[58], 0xa0, "router + override");
        assert_ne!(r[56..58], f[56..58], "checksum covers the flags");
    }

    #[test]
    fn virtual_macs_follow_rfc5798() {
        assert_eq!(MacAddr::vrrp_v4(3).to_string(), "00:00:5e:00:01:03");
        assert_eq!(MacAddr::vrrp_v6(255).to_string(), "00:00:5e:00:02:ff");
    }
}
