//! VRRPv3 over IPv6 (RFC 5798 §5.1.2): two directors with 2001:db8::/64 addresses and VIP
//! 2001:db8::10/64, adverts from their link-local addresses to ff02::12 with hop limit
//! 255. Election and the VIP on the master alone; the client's neighbour entry follows
//! the unsolicited neighbour advertisements; kill -9 failover; the hop-limit check of
//! RFC 5798 §7.1 (a hop limit rewritten in the switch is dropped and counted); interop
//! with Debian's keepalived 2.2.7 over IPv6 in both roles.

mod common;

use std::time::Duration;

use common::{Conf, DR1, DR2, Peer, Topology, V6, VIP6, Which};
use keepalived_api::v1::VrrpState;
use keepalived_testlab::wait_until;

/// A VRRPv3 IPv6 instance (with `native_ipv6`, as keepalived users write it).
fn conf(router_id: &str, priority: u8) -> Conf {
    let mut c = Conf::fast_v6(router_id, priority);
    c.instance_extra = "    native_ipv6\n".into();
    c
}

/// The client pings the VIP, so that it has a neighbour entry for the unsolicited NAs
/// to override (RFC 4861 §7.2.5: an unsolicited advert updates an existing entry).
fn client_resolves_vip(t: &Topology) {
    let client = t.client.netns.clone();
    assert!(
        wait_until(Duration::from_secs(5), || t
            .lab
            .exec(&client, &["ping", "-6", "-c1", "-W1", VIP6])
            .is_ok()),
        "client cannot reach {VIP6}\n{}",
        t.logs()
    );
}

#[test]
fn ipv6_election_unsolicited_na_and_kill9_failover() {
    if !common::prerequisites("ipv6 election", &["ping"]) {
        return;
    }
    let mut t = Topology::new_v6("vc6el");
    t.start(Which::Dr1, &conf("R1", 99));
    t.start(Which::Dr2, &conf("R2", 90));
    t.wait_vip_on(Which::Dr1, Duration::from_secs(10));
    // Converged: exactly one master for a while (a backup that dropped the master's
    // adverts — bad checksum, hop limit not seen — would claim the VIP too).
    assert!(
        !wait_until(Duration::from_millis(800), || t.has_vip(Which::Dr2)
            || !t.has_vip(Which::Dr1)),
        "no stable single master\n{}",
        t.logs()
    );
    let dr1 = t.instance(Which::Dr1);
    let dr2 = t.instance(Which::Dr2);
    assert_eq!(dr1.state, VrrpState::Master as i32);
    assert_eq!(dr2.state, VrrpState::Backup as i32);
    // The backup names the master by its link-local address (RFC 5798 §5.1.2.1).
    assert!(
        dr2.master_address.starts_with("fe80::"),
        "master heard from {:?}",
        dr2.master_address
    );
    assert_eq!(dr2.master_priority, 99);
    let c = dr2.counters.unwrap();
    assert!(c.advert_rcvd >= 3, "{c:?}");
    assert_eq!(
        (c.ip_ttl_err, c.checksum_err, c.addr_list_err),
        (0, 0, 0),
        "{c:?}"
    );
    assert!(
        dr1.vips
            .iter()
            .all(|v| v.present && v.address == "2001:db8::10/64")
    );
    // The VIP was added without DAD: usable at once, not tentative.
    let addr = t
        .lab
        .exec(
            &t.dr1.host.netns,
            &["ip", "-6", "-o", "addr", "show", "dev", "eth0"],
        )
        .unwrap();
    let addr = String::from_utf8_lossy(&addr.stdout).to_string();
    let line = addr.lines().find(|l| l.contains(VIP6)).unwrap_or_default();
    assert!(
        line.contains("nodad") && !line.contains("tentative"),
        "{line}"
    );
    client_resolves_vip(&t);
    t.wait_client_mac(DR1.1, Duration::from_secs(5));
    assert!(common::log_contains(
        &t.dr1.log,
        "(VI_1) Sending/queueing Unsolicited Neighbour Adverts on eth0 for 2001:db8::10"
    ));

    // kill -9: DR2 takes over after Master_Down_Interval and its unsolicited NA moves
    // the client's neighbour entry.
    t.stop(Which::Dr1, "KILL");
    assert!(
        wait_until(Duration::from_secs(3), || t.has_vip(Which::Dr2)),
        "DR2 did not take the VIP\n{}",
        t.logs()
    );
    t.wait_client_mac(DR2.1, Duration::from_secs(5));
    let dr2 = t.instance(Which::Dr2);
    assert_eq!(dr2.state, VrrpState::Master as i32);

    // Restarted, DR1 removes its stale VIP and preempts back.
    t.restart(Which::Dr1);
    t.wait_vip_on(Which::Dr1, Duration::from_secs(10));
    t.wait_client_mac(DR1.1, Duration::from_secs(5));
}

#[test]
fn ipv6_adverts_with_a_hop_limit_other_than_255_are_dropped_and_counted() {
    if !common::prerequisites("ipv6 hop limit", &["nft"]) {
        return;
    }
    let mut t = Topology::new_v6("vc6hl");
    t.start(Which::Dr1, &conf("R1", 99));
    t.start(Which::Dr2, &conf("R2", 90));
    t.wait_vip_on(Which::Dr1, Duration::from_secs(10));
    // The switch rewrites the hop limit of DR1's VRRP packets: as if they had crossed
    // a router (RFC 5798 §7.1: MUST discard).
    let sw = t.lab.switch_netns().to_owned();
    t.lab
        .nft(
            &sw,
            &format!(
                "table bridge hl {{\n chain c {{\n  type filter hook forward priority 0;\n  \
                 iifname \"{}\" ip6 nexthdr 112 ip6 hoplimit set 64\n }}\n}}\n",
                t.dr1.host.port
            ),
        )
        .expect("nft");
    assert!(
        wait_until(Duration::from_secs(5), || t.has_vip(Which::Dr2)),
        "DR2 kept listening to adverts with hop limit 64\n{}",
        t.logs()
    );
    let c = t.instance(Which::Dr2).counters.unwrap();
    assert!(c.ip_ttl_err >= 3, "{c:?}");
    assert!(
        common::log_contains(&t.dr2.log, "invalid TTL/HL. Received 64 and expect 255"),
        "{}",
        t.logs()
    );
    // Hop limit 255 again: DR2 hears the higher priority and steps back.
    t.lab
        .exec(&sw, &["nft", "delete", "table", "bridge", "hl"])
        .expect("nft delete");
    t.wait_vip_on(Which::Dr1, Duration::from_secs(5));
}

/// DR1 (priority 99) runs `high`, DR2 (priority 90) `low`, both VRRPv3 over IPv6;
/// `unicast`: adverts go from each director's 2001:db8:: address to the other's
/// (`unicast_src_ip` / `unicast_peer`) instead of to ff02::12.
fn interop(tag: &str, high: Peer, low: Peer, unicast: bool) {
    if !common::prerequisites(tag, &["keepalived", "ping", "nft"]) {
        return;
    }
    let mut t = Topology::new_v6(tag);
    let (mut c1, mut c2) = (conf("R1", 99), conf("R2", 90));
    if unicast {
        c1.unicast = Some((V6[0].to_owned(), vec![V6[1].to_owned()]));
        c2.unicast = Some((V6[1].to_owned(), vec![V6[0].to_owned()]));
        // No multicast at all: the bridge drops it, so only unicast can elect.
        let sw = t.lab.switch_netns().to_owned();
        t.lab
            .nft(
                &sw,
                "table bridge nomc {\n chain c {\n  type filter hook forward priority 0;\n  \
                 ip6 daddr ff02::12 drop\n }\n}\n",
            )
            .expect("nft");
    }
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
    client_resolves_vip(&t);
    t.wait_client_mac(DR1.1, Duration::from_secs(5));

    // SIGTERM: priority 0, the backup takes over and announces itself.
    t.stop(Which::Dr1, "TERM");
    t.wait_vip_on(Which::Dr2, wait);
    t.wait_client_mac(DR2.1, Duration::from_secs(5));

    // DR1 comes back and preempts.
    t.start_peer(Which::Dr1, high, &c1);
    t.wait_vip_on(Which::Dr1, wait);
    t.wait_client_mac(DR1.1, Duration::from_secs(5));

    // kill -9: the backup takes over after Master_Down_Interval.
    match high {
        Peer::Ours => t.stop(Which::Dr1, "KILL"),
        Peer::Keepalived => t.kill9_keepalived(Which::Dr1),
    }
    assert!(
        wait_until(wait, || t.has_vip(Which::Dr2)),
        "backup did not take over after kill -9\n{}",
        t.logs()
    );
    t.wait_client_mac(DR2.1, Duration::from_secs(5));
    if low == Peer::Ours {
        let c = t.instance(Which::Dr2).counters.unwrap();
        assert!(c.advert_rcvd > 0, "{c:?}");
        assert_eq!((c.ip_ttl_err, c.checksum_err), (0, 0), "{c:?}");
    }
}

#[test]
fn interop_v3_ipv6_ours_master() {
    interop("vci6m1", Peer::Ours, Peer::Keepalived, false);
}

#[test]
fn interop_v3_ipv6_keepalived_master() {
    interop("vci6m2", Peer::Keepalived, Peer::Ours, false);
}

#[test]
fn ipv6_unicast_ours_both() {
    interop("vc6u0", Peer::Ours, Peer::Ours, true);
}

#[test]
fn interop_v3_ipv6_unicast_keepalived_master() {
    interop("vci6u2", Peer::Keepalived, Peer::Ours, true);
}

#[test]
fn ipv6_interface_down_on_master_is_fault_and_up_again_recovers() {
    if !common::prerequisites("ipv6 interface fault", &[]) {
        return;
    }
    let mut t = Topology::new_v6("vc6if");
    t.start(Which::Dr1, &conf("R1", 99));
    t.start(Which::Dr2, &conf("R2", 90));
    t.wait_vip_on(Which::Dr1, Duration::from_secs(10));
    let dr1_ns = t.dr1.host.netns.clone();
    t.lab
        .exec(&dr1_ns, &["ip", "link", "set", "eth0", "down"])
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || t.instance(Which::Dr1).state
            == VrrpState::Fault as i32),
        "DR1 not in FAULT\n{}",
        t.logs()
    );
    assert!(
        wait_until(Duration::from_secs(5), || t.has_vip(Which::Dr2)),
        "{}",
        t.logs()
    );
    // Up again: the link-local address comes back (the kernel removed it with the
    // link), DR1 adverts from it again and preempts.
    t.lab
        .exec(&dr1_ns, &["ip", "link", "set", "eth0", "up"])
        .unwrap();
    t.wait_vip_on(Which::Dr1, Duration::from_secs(10));
    assert!(
        !wait_until(Duration::from_millis(800), || t.has_vip(Which::Dr2)
            || !t.has_vip(Which::Dr1)),
        "no stable single master after recovery\n{}",
        t.logs()
    );
}
