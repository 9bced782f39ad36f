//! `use_vmac`: an instance's VRRP virtual MAC interface (RFC 5798 §7.3, "the virtual
//! router MAC address"), as keepalived 2.2.7 builds it (vrrp_vmac.c
//! `netlink_link_add_vmac`, vrrp_if_config.c, vrrp.c `create_vmac_name`):
//!
//! - a macvlan in **private** mode on the instance's interface, with the MAC
//!   00:00:5e:00:01:VRID (IPv4) or 00:00:5e:00:02:VRID (IPv6), or the configured one.
//!   Private mode matters: a peer's adverts carry the same source MAC, and the kernel
//!   hands a multicast frame whose source is one of its macvlans' MACs to that macvlan
//!   only, so the adverts are read on the VMAC;
//! - IPv4: on the VMAC `arp_ignore=1` (answer ARP only for its own addresses, the VIPs),
//!   `accept_local=1` (hear a peer advertising from the same MAC), `rp_filter=0` (receive
//!   with no address of its own) and `promote_secondaries=1`; on the parent `arp_ignore=1`
//!   and `arp_filter=1` (never answer for the VIPs with the parent's MAC: the classic
//!   "both nodes answer" mistake), saved and put back when its last VMAC goes; and
//!   `net.ipv4.conf.all.rp_filter=0` (the kernel uses the larger of `all` and the
//!   interface's), after raising `default` and every interface to the old `all` value so
//!   that nothing else loses its filtering, put back at stop;
//! - no automatic IPv6 link-local address (`addr_gen_mode` none, RFC 5798 §7.4), IPv6 off
//!   altogether for an IPv4 instance with no IPv6 VIP; an IPv6 instance gets the parent's
//!   link-local address (or its EUI-64 one) to advertise from.
//!
//! The VIPs of the instance's family that live on the instance's interface go on the
//! VMAC, so gratuitous ARPs and neighbour adverts carry the virtual MAC, and adverts leave
//! by it (`vmac_xmit_base`: by the parent). vrrp-core removes the VMAC when the instance
//! stops, as keepalived does.
//!
//! The choice of name is pure ([`plan`]); [`VmacHost`] does the netlink and sysctl work.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::path::PathBuf;

use futures::TryStreamExt;
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoMacVlan, LinkAttribute, LinkInfo, LinkMessage, MacVlanMode,
};
use rtnetlink::LinkMacVlan;

use crate::netlink::{Netlink, NetlinkError, errno};
use crate::spec::VipSpec;

/// What the configuration asks of an instance's VMAC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmacSpec {
    /// `use_vmac NAME` (else chosen: `vrrp.VRID`, `vrrp1.VRID`…).
    pub name: Option<String>,
    /// `use_vmac … MAC` (else RFC 5798's).
    pub mac: Option<[u8; 6]>,
    /// `vmac_xmit_base`: adverts are sent and read on the parent interface.
    pub xmit_base: bool,
}

/// RFC 5798 §7.3: 00-00-5E-00-01-{VRID} for IPv4, 00-00-5E-00-02-{VRID} for IPv6.
pub fn rfc_mac(vrid: u8, ipv6: bool) -> [u8; 6] {
    [0x00, 0x00, 0x5e, 0x00, if ipv6 { 0x02 } else { 0x01 }, vrid]
}

/// The EUI-64 link-local address of `mac` (fe80::/64, RFC 4291 Appendix A), as
/// keepalived's `make_link_local_address` builds it.
pub fn eui64_link_local(mac: [u8; 6]) -> Ipv6Addr {
    Ipv6Addr::from([
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        mac[0] ^ 0x02,
        mac[1],
        mac[2],
        0xff,
        0xfe,
        mac[3],
        mac[4],
        mac[5],
    ])
}

/// `aa:bb:cc:dd:ee:ff`.
pub fn mac_text(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// An interface that exists, as far as the choice of a VMAC is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingLink {
    /// Interface index.
    pub index: u32,
    /// Hardware address.
    pub mac: [u8; 6],
    /// A macvlan in private mode.
    pub private_macvlan: bool,
    /// Any macvlan.
    pub macvlan: bool,
    /// The interface it is stacked on (IFLA_LINK).
    pub parent: Option<u32>,
}

/// What to do to have the VMAC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// A matching VMAC exists (left by an earlier run): use it as it is.
    Reuse {
        /// Its name.
        name: String,
    },
    /// Create it (after deleting `replace`, an incompatible macvlan of that name).
    Create {
        /// Its name.
        name: String,
        /// Index of a macvlan of that name to delete first.
        replace: Option<u32>,
    },
}

impl Plan {
    /// The VMAC's name.
    pub fn name(&self) -> &str {
        match self {
            Plan::Reuse { name } | Plan::Create { name, .. } => name,
        }
    }
}

/// Chooses the VMAC of an instance (keepalived 2.2.7 vrrp.c `vrrp_complete_instance` and
/// `create_vmac_name`): a macvlan in private mode on `parent` with the right MAC is used
/// whatever its name; else the configured name (an incompatible macvlan of that name is
/// replaced, a non-macvlan makes the name ignored); else the first free of `vrrp.VRID`,
/// then `vrrp1.VRID`, `vrrp2.VRID`… (IPv6: `vrrp6.VRID` first), skipping names other
/// instances use and interfaces that exist. `log` gets keepalived's messages.
#[allow(clippy::too_many_arguments)] // each is one fact keepalived's choice reads
pub fn plan(
    instance: &str,
    spec: &VmacSpec,
    mac: [u8; 6],
    vrid: u8,
    ipv6: bool,
    parent: u32,
    existing: &HashMap<String, ExistingLink>,
    taken: &[String],
    log: &mut Vec<String>,
) -> Plan {
    let mut matching: Vec<&String> = existing
        .iter()
        .filter(|(n, l)| {
            l.private_macvlan && l.parent == Some(parent) && l.mac == mac && !taken.contains(n)
        })
        .map(|(n, _)| n)
        .collect();
    matching.sort();
    if let Some(found) = matching.first() {
        log.push(format!("({instance}) Found matching interface {found}"));
        if let Some(want) = spec.name.as_ref().filter(|w| w != found) {
            log.push(format!(
                "({instance}) vmac name mismatch {want} <=> {found}. changing to {found}."
            ));
        }
        return Plan::Reuse {
            name: (*found).clone(),
        };
    }
    if let Some(want) = &spec.name {
        match existing.get(want) {
            None => {
                return Plan::Create {
                    name: want.clone(),
                    replace: None,
                };
            }
            Some(l) if l.macvlan => {
                log.push(format!(
                    "({instance}) VMAC {want} already exists but is incompatible. It will be deleted/updated"
                ));
                return Plan::Create {
                    name: want.clone(),
                    replace: Some(l.index),
                };
            }
            Some(_) => log.push(format!(
                "({instance}) VMAC interface name {want} already exists as a non VMAC interface. ignoring configured name"
            )),
        }
    }
    let free = |n: &String| !taken.contains(n) && !existing.contains_key(n);
    let first = format!("vrrp.{vrid}");
    if free(&first) {
        return Plan::Create {
            name: first,
            replace: None,
        };
    }
    // create_vmac_name: IPv4 tries vrrp1, vrrp2…; IPv6 tries vrrp6 first, then vrrp1…
    // skipping vrrp6.
    let mut num: u32 = 0;
    loop {
        num = match (ipv6, num) {
            (true, 0) => 6,
            (true, 6) => 1,
            (true, n) if n + 1 == 6 => 7,
            (_, n) => n + 1,
        };
        let name = format!("vrrp{num}.{vrid}");
        if free(&name) {
            return Plan::Create {
                name,
                replace: None,
            };
        }
    }
}

/// The VMAC's counterpart of a VIP: a VIP of the instance's family on the instance's
/// interface goes on the VMAC (vrrp.c `vrrp_complete_instance`, "use_vmac applies if no
/// interface specified or interface == vrrp_interface").
pub fn moves_to_vmac(vip: &VipSpec, interface: &str, ipv6: bool) -> bool {
    vip.dev == interface && vip.address.is_ipv6() == ipv6
}

/// A VMAC vrrp-core made (or adopted) for an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vmac {
    /// Its name.
    pub name: String,
    /// Its index.
    pub index: u32,
    /// Its MAC.
    pub mac: [u8; 6],
    /// Index of the parent interface.
    pub parent: u32,
    /// Name of the parent interface.
    pub parent_name: String,
    /// Adverts leave by the parent (`vmac_xmit_base`).
    pub xmit_base: bool,
    /// IPv4 instance (the sysctls were set for it).
    pub ipv4: bool,
}

/// An IPv4 sysctl of one interface, `net.ipv4.conf.IF.NAME`.
fn conf4(interface: &str, name: &str) -> PathBuf {
    PathBuf::from(format!("/proc/sys/net/ipv4/conf/{interface}/{name}"))
}

fn conf6(interface: &str, name: &str) -> PathBuf {
    PathBuf::from(format!("/proc/sys/net/ipv6/conf/{interface}/{name}"))
}

fn read_sysctl(path: &PathBuf) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn write_sysctl(path: &PathBuf, value: u32) -> std::io::Result<()> {
    std::fs::write(path, format!("{value}\n"))
}

/// The parent's ARP settings before its first VMAC, and how many VMACs it carries.
#[derive(Debug, Clone)]
struct ParentArp {
    arp_ignore: u32,
    arp_filter: u32,
    changed: bool,
    vmacs: usize,
}

/// `net.ipv4.conf.{all,default,IF}.rp_filter` as they were before the first IPv4 VMAC
/// (keepalived's `clear_rp_filter` / `restore_rp_filter`).
#[derive(Debug, Clone, Default)]
struct SavedRpFilter {
    all: u32,
    default: Option<u32>,
    interfaces: Vec<(String, u32)>,
}

/// The host side of VMACs: creates and removes them and keeps the sysctls keepalived
/// sets, restoring what it changed.
#[derive(Debug, Default)]
pub struct VmacHost {
    parents: HashMap<String, ParentArp>,
    rp_filter: Option<SavedRpFilter>,
}

/// Whether `msg` is a macvlan, in private mode, and on which parent.
fn describe(msg: &LinkMessage) -> (Option<String>, ExistingLink) {
    let mut name = None;
    let mut link = ExistingLink {
        index: msg.header.index,
        mac: [0; 6],
        private_macvlan: false,
        macvlan: false,
        parent: None,
    };
    for attr in &msg.attributes {
        match attr {
            LinkAttribute::IfName(n) => name = Some(n.clone()),
            LinkAttribute::Address(a) if a.len() == 6 => link.mac.copy_from_slice(a),
            LinkAttribute::Link(p) => link.parent = Some(*p),
            LinkAttribute::LinkInfo(infos) => {
                for info in infos {
                    match info {
                        LinkInfo::Kind(InfoKind::MacVlan) => link.macvlan = true,
                        LinkInfo::Data(InfoData::MacVlan(data)) => {
                            link.private_macvlan = data
                                .iter()
                                .any(|d| matches!(d, InfoMacVlan::Mode(MacVlanMode::Private)));
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    link.private_macvlan &= link.macvlan;
    (name, link)
}

fn request(what: String) -> impl FnOnce(rtnetlink::Error) -> NetlinkError {
    move |source| NetlinkError::Request { what, source }
}

impl VmacHost {
    /// Every interface, for [`plan`].
    pub async fn existing(
        netlink: &Netlink,
    ) -> Result<HashMap<String, ExistingLink>, NetlinkError> {
        let mut out = HashMap::new();
        let mut links = netlink.handle().link().get().execute();
        while let Some(msg) = links
            .try_next()
            .await
            .map_err(request("listing interfaces".into()))?
        {
            if let (Some(name), link) = describe(&msg) {
                out.insert(name, link);
            }
        }
        Ok(out)
    }

    /// Creates (or adopts) the VMAC of `plan` on `parent` and sets it up: its sysctls
    /// and the parent's, its IPv6 link-local address (`link_local`, IPv6 instances that
    /// advertise from it), and link up. Everything it did is said in one log line.
    #[allow(clippy::too_many_arguments)]
    pub async fn create(
        &mut self,
        netlink: &Netlink,
        instance: &str,
        plan: &Plan,
        mac: [u8; 6],
        parent: (u32, &str),
        ipv6: bool,
        ipv6_vips: bool,
        link_local: Option<Ipv6Addr>,
        xmit_base: bool,
    ) -> Result<Vmac, NetlinkError> {
        let handle = netlink.handle();
        let name = plan.name().to_owned();
        let created = match plan {
            Plan::Reuse { .. } => false,
            Plan::Create { replace, .. } => {
                if let Some(old) = replace {
                    handle
                        .link()
                        .del(*old)
                        .execute()
                        .await
                        .map_err(request(format!("removing the old VMAC interface {name}")))?;
                }
                handle
                    .link()
                    .add(
                        LinkMacVlan::new(&name, parent.0, MacVlanMode::Private)
                            .address(mac.to_vec())
                            .build(),
                    )
                    .execute()
                    .await
                    .map_err(request(format!(
                        "({instance}) Unable to create VMAC interface {name}"
                    )))?;
                true
            }
        };
        let index = netlink.link(&name).await?.index;
        let mut set = Vec::new();
        // RFC 5798 §7.4: no link-local address of the VMAC's own; before the link is up,
        // or the kernel makes one at once.
        let _ = write_sysctl(&conf6(&name, "addr_gen_mode"), 1);
        if !ipv6 {
            self.clear_rp_filter();
            for (key, value) in [
                ("arp_ignore", 1),
                ("accept_local", 1),
                ("rp_filter", 0),
                ("promote_secondaries", 1),
            ] {
                match write_sysctl(&conf4(&name, key), value) {
                    Ok(()) => set.push(format!("{key}={value}")),
                    Err(e) => tracing::warn!("({instance}) cannot set {key} on {name}: {e}"),
                }
            }
            if !ipv6_vips {
                let _ = write_sysctl(&conf6(&name, "disable_ipv6"), 1);
            }
        }
        let parent_note = if ipv6 {
            String::new()
        } else {
            self.set_parent(parent.1)
        };
        handle
            .link()
            .set(rtnetlink::LinkUnspec::new_with_index(index).up().build())
            .execute()
            .await
            .map_err(request(format!("setting {name} up")))?;
        if let Some(addr) = link_local.filter(|_| ipv6 && !xmit_base) {
            let vip = VipSpec {
                address: IpAddr::V6(addr),
                prefix_len: 64,
                dev: name.clone(),
                label: None,
                scope: None,
                brd: None,
                excluded: false,
            };
            if let Err(e) = netlink.add_vip(index, &vip).await {
                tracing::info!("({instance}) adding link-local address to {name} failed: {e}");
            }
        }
        tracing::info!(
            "({instance}) {} VMAC interface {name} (macvlan, private mode, MAC {}) on {}: \
             the VIPs go on it, so gratuitous ARPs and neighbour adverts carry the virtual \
             MAC; adverts leave by {}{}{}",
            if created {
                "Created"
            } else {
                "Using the existing"
            },
            mac_text(mac),
            parent.1,
            if xmit_base { parent.1 } else { &name },
            if set.is_empty() {
                String::new()
            } else {
                format!("; set on {name}: {}", set.join(" "))
            },
            parent_note,
        );
        Ok(Vmac {
            name,
            index,
            mac,
            parent: parent.0,
            parent_name: parent.1.to_owned(),
            xmit_base,
            ipv4: !ipv6,
        })
    }

    /// Removes a VMAC (keepalived's `netlink_link_del_vmac`) and, with its parent's last
    /// one, puts back the parent's ARP settings.
    pub async fn remove(&mut self, netlink: &Netlink, instance: &str, vmac: &Vmac) {
        match netlink.handle().link().del(vmac.index).execute().await {
            Ok(()) => tracing::info!("({instance}) Removed VMAC interface {}", vmac.name),
            Err(e) if errno(&e) == Some(libc::ENODEV) => {}
            Err(e) => tracing::info!(
                "({instance}) Error removing VMAC interface {}: {e}",
                vmac.name
            ),
        }
        if !vmac.ipv4 {
            return;
        }
        let last = match self.parents.get_mut(&vmac.parent_name) {
            Some(p) => {
                p.vmacs = p.vmacs.saturating_sub(1);
                p.vmacs == 0
            }
            None => false,
        };
        if last
            && let Some(p) = self.parents.remove(&vmac.parent_name)
            && p.changed
        {
            let _ = write_sysctl(&conf4(&vmac.parent_name, "arp_ignore"), p.arp_ignore);
            let _ = write_sysctl(&conf4(&vmac.parent_name, "arp_filter"), p.arp_filter);
            tracing::info!(
                "({instance}) {} has no VMAC left: arp_ignore={} arp_filter={} put back",
                vmac.parent_name,
                p.arp_ignore,
                p.arp_filter
            );
        }
    }

    /// Puts back `rp_filter` (at stop, after the last VMAC), changing only what still
    /// holds the value we set (keepalived's `restore_rp_filter`).
    pub fn restore_rp_filter(&mut self) {
        let Some(saved) = self.rp_filter.take() else {
            return;
        };
        let all = conf4("all", "rp_filter");
        if read_sysctl(&all) == Some(0) {
            tracing::info!(
                "NOTICE: resetting sysctl net.ipv4.conf.all.rp_filter to {}",
                saved.all
            );
            let _ = write_sysctl(&all, saved.all);
        }
        if let Some(d) = saved.default {
            let path = conf4("default", "rp_filter");
            if read_sysctl(&path) == Some(saved.all) {
                tracing::info!("NOTICE: resetting sysctl net.ipv4.conf.default.rp_filter to {d}");
                let _ = write_sysctl(&path, d);
            }
        }
        for (interface, value) in saved.interfaces {
            let path = conf4(&interface, "rp_filter");
            if read_sysctl(&path) == Some(saved.all) {
                let _ = write_sysctl(&path, value);
            }
        }
    }

    /// keepalived's `clear_rp_filter`: the kernel filters by the larger of `all` and the
    /// interface's `rp_filter`, so the VMAC's 0 needs `all` at 0; `default` and every
    /// interface are first raised to the old `all`, so nothing else filters less.
    fn clear_rp_filter(&mut self) {
        if self.rp_filter.is_some() {
            return;
        }
        let all_path = conf4("all", "rp_filter");
        let Some(all) = read_sysctl(&all_path) else {
            tracing::info!("Unable to read sysctl net.ipv4.conf.all.rp_filter");
            return;
        };
        let mut saved = SavedRpFilter {
            all,
            ..Default::default()
        };
        if all == 0 {
            self.rp_filter = Some(saved);
            return;
        }
        let default_path = conf4("default", "rp_filter");
        if let Some(d) = read_sysctl(&default_path).filter(|d| *d < all) {
            tracing::info!(
                "NOTICE: setting sysctl net.ipv4.conf.default.rp_filter from {d} to {all}"
            );
            let _ = write_sysctl(&default_path, all);
            saved.default = Some(d);
        }
        if let Ok(dir) = std::fs::read_dir("/proc/sys/net/ipv4/conf") {
            for entry in dir.flatten() {
                let interface = entry.file_name().to_string_lossy().into_owned();
                if interface == "all" || interface == "default" {
                    continue;
                }
                let path = conf4(&interface, "rp_filter");
                if let Some(v) = read_sysctl(&path).filter(|v| *v < all) {
                    let _ = write_sysctl(&path, all);
                    saved.interfaces.push((interface, v));
                }
            }
        }
        tracing::info!("NOTICE: setting sysctl net.ipv4.conf.all.rp_filter from {all} to 0");
        let _ = write_sysctl(&all_path, 0);
        self.rp_filter = Some(saved);
    }

    /// The parent's `arp_ignore=1` and `arp_filter=1`, saved the first time; the log
    /// line's part about it.
    fn set_parent(&mut self, parent: &str) -> String {
        if let Some(p) = self.parents.get_mut(parent) {
            p.vmacs += 1;
            return String::new();
        }
        let arp_ignore = read_sysctl(&conf4(parent, "arp_ignore")).unwrap_or(0);
        let arp_filter = read_sysctl(&conf4(parent, "arp_filter")).unwrap_or(0);
        let changed = arp_ignore != 1 || arp_filter != 1;
        if changed {
            let _ = write_sysctl(&conf4(parent, "arp_ignore"), 1);
            let _ = write_sysctl(&conf4(parent, "arp_filter"), 1);
        }
        self.parents.insert(
            parent.to_owned(),
            ParentArp {
                arp_ignore,
                arp_filter,
                changed,
                vmacs: 1,
            },
        );
        if changed {
            format!(
                "; set on {parent}: arp_ignore=1 arp_filter=1 (were {arp_ignore} and \
                 {arp_filter}; put back when its last VMAC goes), so {parent} never answers \
                 ARP for the VIPs with its own MAC"
            )
        } else {
            String::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: Option<&str>) -> VmacSpec {
        VmacSpec {
            name: name.map(str::to_owned),
            mac: None,
            xmit_base: false,
        }
    }

    fn link(index: u32, mac: [u8; 6], private: bool, parent: Option<u32>) -> ExistingLink {
        ExistingLink {
            index,
            mac,
            private_macvlan: private,
            macvlan: private || parent.is_some(),
            parent,
        }
    }

    /// [`plan`] for VRID 51 on parent 2.
    fn plan51(
        name: Option<&str>,
        ipv6: bool,
        existing: &HashMap<String, ExistingLink>,
        taken: &[String],
        log: &mut Vec<String>,
    ) -> Plan {
        plan(
            "VI_1",
            &spec(name),
            rfc_mac(51, ipv6),
            51,
            ipv6,
            2,
            existing,
            taken,
            log,
        )
    }

    #[test]
    fn macs_and_link_locals_are_rfc_5798s() {
        assert_eq!(rfc_mac(51, false), [0, 0, 0x5e, 0, 1, 51]);
        assert_eq!(rfc_mac(7, true), [0, 0, 0x5e, 0, 2, 7]);
        assert_eq!(
            eui64_link_local([0x52, 0x54, 0, 0x12, 0x34, 0x56]),
            "fe80::5054:ff:fe12:3456".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(mac_text(rfc_mac(51, false)), "00:00:5e:00:01:33");
    }

    #[test]
    fn names_are_chosen_as_create_vmac_name_chooses_them() {
        let mut log = Vec::new();
        let none = HashMap::new();
        assert_eq!(
            plan51(None, false, &none, &[], &mut log),
            Plan::Create {
                name: "vrrp.51".into(),
                replace: None
            }
        );
        let taken = ["vrrp.51".to_owned(), "vrrp1.51".to_owned()];
        assert_eq!(
            plan51(None, false, &none, &taken, &mut log).name(),
            "vrrp2.51"
        );
        assert_eq!(
            plan51(None, true, &none, &taken, &mut log).name(),
            "vrrp6.51"
        );
        let mut with6 = taken.to_vec();
        with6.extend(["vrrp6.51".into(), "vrrp2.51".into(), "vrrp3.51".into()]);
        with6.extend(["vrrp4.51".into(), "vrrp5.51".into()]);
        assert_eq!(
            plan51(None, true, &none, &with6, &mut log).name(),
            "vrrp7.51"
        );
        assert!(log.is_empty());
    }

    #[test]
    fn a_matching_leftover_is_reused_and_a_conflicting_name_is_replaced_or_ignored() {
        let mac = rfc_mac(51, false);
        let mut existing = HashMap::new();
        existing.insert("old.51".to_owned(), link(9, mac, true, Some(2)));
        let mut log = Vec::new();
        assert_eq!(
            plan51(Some("v51"), false, &existing, &[], &mut log),
            Plan::Reuse {
                name: "old.51".into()
            }
        );
        assert_eq!(
            log,
            [
                "(VI_1) Found matching interface old.51",
                "(VI_1) vmac name mismatch v51 <=> old.51. changing to old.51."
            ]
        );
        // On another parent, or in bridge mode: not a match; a macvlan of the wanted name
        // is replaced, a non-macvlan makes the name ignored.
        let mut existing = HashMap::new();
        existing.insert("v51".to_owned(), link(9, mac, false, Some(3)));
        existing.insert("eth9".to_owned(), link(10, mac, false, None));
        let mut log = Vec::new();
        assert_eq!(
            plan51(Some("v51"), false, &existing, &[], &mut log),
            Plan::Create {
                name: "v51".into(),
                replace: Some(9)
            }
        );
        assert_eq!(
            plan51(Some("eth9"), false, &existing, &[], &mut log),
            Plan::Create {
                name: "vrrp.51".into(),
                replace: None
            }
        );
        assert_eq!(log.len(), 2, "{log:?}");
        assert!(
            log[1].ends_with("already exists as a non VMAC interface. ignoring configured name")
        );
    }

    #[test]
    fn only_the_instance_family_vips_on_its_interface_move_to_the_vmac() {
        let vip = |a: &str, dev: &str| VipSpec {
            address: a.parse().unwrap(),
            prefix_len: 24,
            dev: dev.into(),
            label: None,
            scope: None,
            brd: None,
            excluded: false,
        };
        assert!(moves_to_vmac(&vip("198.51.100.10", "eth0"), "eth0", false));
        assert!(!moves_to_vmac(&vip("198.51.100.10", "eth1"), "eth0", false));
        assert!(!moves_to_vmac(&vip("2001:db8::1", "eth0"), "eth0", false));
    }
}
