//! `use_vmac` against Debian's keepalived 2.2.7 as the peer, in both roles: the master
//! holds the VIP on a private macvlan with RFC 5798's MAC (00:00:5e:00:01:03 for VRID
//! 3), its gratuitous ARPs and ARP replies carry that MAC (the client's neighbour entry
//! holds it, also after a takeover and with the entry flushed), the parent interface
//! never answers for the VIP with its own MAC (arp_ignore/arp_filter), and a stopped
//! director leaves no VMAC; vrrp-core also puts its parent's ARP settings back, which
//! keepalived 2.2.7 does not.

mod common;

use std::time::Duration;

use common::{Conf, Peer, Topology, VIP, Which};
use keepalived_testlab::wait_until;

/// RFC 5798 §7.3 for VRID 3.
const VMAC: &str = "00:00:5e:00:01:03";

fn conf(router_id: &str, priority: u8) -> Conf {
    let mut c = Conf::fast(router_id, priority);
    c.instance_extra = "    use_vmac\n".into();
    c
}

/// A command's output on a director; empty when it fails (no such interface).
fn run(t: &Topology, which: Which, argv: &[&str]) -> String {
    t.lab
        .exec(&t.director(which).host.netns, argv)
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default()
}

/// `ip -d link show vrrp.3` on a director, if it exists.
fn vmac_link(t: &Topology, which: Which) -> Option<String> {
    let text = run(t, which, &["ip", "-d", "-o", "link", "show", "vrrp.3"]);
    (!text.trim().is_empty()).then_some(text)
}

fn sysctl(t: &Topology, which: Which, key: &str) -> String {
    run(t, which, &["sysctl", "-n", key]).trim().to_owned()
}

/// The client forgets the VIP's MAC, pings it, and returns the MAC it learnt from the
/// ARP reply. A first ping lets the master learn the client's MAC, so that the second
/// one's only ARP is the client's request (a master that must resolve the client asks
/// from its parent interface with the VIP as sender, which also sets the client's
/// entry: keepalived behaves the same).
fn fresh_arp(t: &Topology) -> Option<String> {
    let netns = t.client.netns.clone();
    let ping = || {
        wait_until(Duration::from_secs(3), || {
            t.lab
                .exec(&netns, &["ping", "-c", "1", "-W", "1", VIP])
                .is_ok_and(|o| o.status.success())
        })
    };
    assert!(ping(), "client cannot ping the VIP\n{}", t.logs());
    let _ = t.lab.exec(&netns, &["ip", "neigh", "flush", "dev", "eth0"]);
    assert!(ping(), "client cannot ping the VIP\n{}", t.logs());
    t.client_mac()
}

fn vmac_interop(tag: &str, high: Peer) {
    if !common::prerequisites(tag, &["keepalived", "ping", "sysctl"]) {
        return;
    }
    let low = high.other();
    let mut t = Topology::new(tag);
    let (c1, c2) = (conf("R1", 99), conf("R2", 90));
    let wait = Duration::from_secs(8);
    t.start_peer(Which::Dr2, low, &c2);
    t.start_peer(Which::Dr1, high, &c1);
    t.wait_vip_on(Which::Dr1, wait);
    assert!(
        !wait_until(Duration::from_millis(800), || t.has_vip(Which::Dr2)
            || !t.has_vip(Which::Dr1)),
        "no stable single master\n{}",
        t.logs()
    );
    for which in [Which::Dr1, Which::Dr2] {
        let link =
            vmac_link(&t, which).unwrap_or_else(|| panic!("no vrrp.3 on {which:?}\n{}", t.logs()));
        assert!(
            link.contains("macvlan mode private") && link.contains(&format!("link/ether {VMAC}")),
            "{which:?}: {link}"
        );
        assert_eq!(
            sysctl(&t, which, "net.ipv4.conf.eth0.arp_ignore"),
            "1",
            "{which:?}"
        );
        assert_eq!(
            sysctl(&t, which, "net.ipv4.conf.eth0.arp_filter"),
            "1",
            "{which:?}"
        );
        assert_eq!(
            sysctl(&t, which, "net.ipv4.conf.vrrp/3.rp_filter"),
            "0",
            "{which:?}"
        );
    }
    // Ours says what it made, on which parent, and what it set.
    let ours = if high == Peer::Ours {
        Which::Dr1
    } else {
        Which::Dr2
    };
    let log = std::fs::read_to_string(&t.director(ours).log).unwrap_or_default();
    let line = log
        .lines()
        .find(|l| l.contains("(VI_1) Created VMAC interface vrrp.3 (macvlan, private mode, MAC 00:00:5e:00:01:03) on eth0"))
        .unwrap_or_else(|| panic!("no creation line\n{log}"));
    eprintln!("{line}");
    assert!(
        line.contains("arp_ignore=1 accept_local=1 rp_filter=0 promote_secondaries=1")
            && line.contains("set on eth0: arp_ignore=1 arp_filter=1 (were 0 and 0"),
        "{line}"
    );
    let on_vmac = run(
        &t,
        Which::Dr1,
        &["ip", "-o", "addr", "show", "dev", "vrrp.3"],
    );
    assert!(on_vmac.contains(&format!(" {VIP}/")), "{on_vmac}");
    // The master's gratuitous ARPs come from the VMAC, and so does its ARP reply.
    t.wait_client_mac(VMAC, Duration::from_secs(5));
    assert_eq!(fresh_arp(&t).as_deref(), Some(VMAC));

    // The master stops: the backup takes over with the same MAC; the stopped one
    // removes its VMAC and puts eth0's ARP settings back.
    t.stop(Which::Dr1, "TERM");
    t.wait_vip_on(Which::Dr2, wait);
    assert_eq!(fresh_arp(&t).as_deref(), Some(VMAC));
    assert!(
        wait_until(Duration::from_secs(3), || vmac_link(&t, Which::Dr1)
            .is_none()),
        "{high:?} left vrrp.3 behind"
    );
    // keepalived 2.2.7 means to put them back (vrrp_if_config.c
    // `reset_interface_parameters`) but restores the values its netlink monitor read
    // after it had set them, so they stay 1; vrrp-core puts back what was there
    // (docs/compatibility.md, "use_vmac").
    let expected = if high == Peer::Ours { "0" } else { "1" };
    for key in ["arp_ignore", "arp_filter"] {
        assert_eq!(
            sysctl(&t, Which::Dr1, &format!("net.ipv4.conf.eth0.{key}")),
            expected,
            "{high:?}: eth0's {key} after stop"
        );
    }

    // It comes back and preempts.
    t.start_peer(Which::Dr1, high, &c1);
    t.wait_vip_on(Which::Dr1, wait);
    assert_eq!(fresh_arp(&t).as_deref(), Some(VMAC));
}

#[test]
fn use_vmac_interop_ours_master() {
    vmac_interop("vcvm1", Peer::Ours);
}

#[test]
fn use_vmac_interop_keepalived_master() {
    vmac_interop("vcvm2", Peer::Keepalived);
}
