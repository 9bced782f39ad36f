//! IPv6 virtual servers on the nftables data plane, end to end in network
//! namespaces: NAT (the `ip6` table's DNAT, round robin) and DR (`fwd ip6`
//! at the director's ingress, a seeded flow hash), with real servers running
//! `python3 -m http.server` on `::` and health from a fake prober. Root only
//! (skipped locally without it, failing under CI=true).

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::*;
use keepalived_testlab::{prerequisites_met, wait_until};

const TOOLS: &[&str] = &["nft", "python3", "curl"];
const VIP6: &str = "2001:db8:1::10";
const CLIENT6: &str = "2001:db8:1::2";

fn config6(kind: &str, real_servers: &[&str]) -> String {
    let mut rs = String::new();
    for addr in real_servers {
        rs.push_str(&format!(
            "    real_server {addr} 80 {{\n        weight 1\n        TCP_CHECK {{\n            connect_timeout 2\n        }}\n    }}\n"
        ));
    }
    format!(
        "global_defs {{\n    router_id lab6\n}}\n\
         virtual_server {VIP6} 80 {{\n    delay_loop 2\n    lb_algo rr\n    lb_kind {kind}\n    protocol TCP\n{rs}}}\n"
    )
}

/// One GET through the IPv6 VIP from the client (from `sport` when given).
fn get6(t: &Topology, sport: Option<u16>) -> Option<String> {
    let url = format!("http://[{VIP6}]/");
    let port = sport.map(|p| p.to_string());
    let mut argv = vec!["curl", "-g", "-s", "-m", "3", "--connect-timeout", "2"];
    if let Some(p) = &port {
        argv.extend(["--local-port", p.as_str()]);
    }
    argv.push(&url);
    let out = t.lab.exec(&t.client.netns, &argv).ok()?;
    let page = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (!page.is_empty()).then_some(page)
}

/// Waits until ipvs-manager's API shows `addr` out of the kernel table.
async fn wait_out(m: &Manager, addr: &str) {
    for _ in 0..400 {
        let vs = m.vs().await;
        if vs
            .real_servers
            .iter()
            .any(|r| r.address.as_ref().is_some_and(|a| a.address == addr) && !r.in_kernel)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{addr} never left the table: {:#?}\n{}",
        m.vs().await,
        m.log()
    );
}

fn wait_serving6(t: &Topology, m: &Manager) {
    assert!(
        wait_until(Duration::from_secs(20), || get6(t, None)
            .is_some_and(|p| p.starts_with("rs"))),
        "the IPv6 VIP never answered\n{}\n{}",
        ruleset(t, &t.directors[0].netns),
        m.log()
    );
}

/// LVS-NAT over IPv6: client and VIP on 2001:db8:1::/64, real servers on
/// 2001:db8:2::/64 routed through the director.
fn nat_lab6(tag: &str) -> Topology {
    let mut lab = keepalived_testlab::Lab::new(tag).unwrap();
    let dir = lab.dir().unwrap();
    let client = lab
        .host("client", None, &[&format!("{CLIENT6}/64")])
        .unwrap();
    let dr = lab
        .host(
            "dr1",
            None,
            &[
                "2001:db8:1::11/64",
                &format!("{VIP6}/64"),
                "2001:db8:2::1/64",
            ],
        )
        .unwrap();
    sysctl(&lab, &dr.netns, &["net.ipv6.conf.all.forwarding=1"]);
    let mut real_servers = Vec::new();
    for (name, addr) in [("rs1", "2001:db8:2::11"), ("rs2", "2001:db8:2::12")] {
        let h = lab.host(name, None, &[&format!("{addr}/64")]).unwrap();
        lab.exec(
            &h.netns,
            &[
                "ip",
                "-6",
                "route",
                "add",
                "default",
                "via",
                "2001:db8:2::1",
            ],
        )
        .unwrap();
        // The director shares the link and IPv6 has no send_redirects: the real
        // server must ignore its redirects (per interface: `all` does not cover eth0),
        // or it sends the replies straight to the client, past the un-NAT.
        sysctl(
            &lab,
            &h.netns,
            &[
                "net.ipv6.conf.all.accept_redirects=0",
                "net.ipv6.conf.eth0.accept_redirects=0",
            ],
        );
        http_server_on(&mut lab, &dir, &h, name, "::");
        real_servers.push((h, addr.to_owned()));
    }
    Topology {
        lab,
        dir,
        client,
        directors: vec![dr],
        real_servers,
    }
}

/// LVS-DR over IPv6: one link; the director holds the VIP, the real servers hold it
/// on `lo` (IPv6 answers neighbour solicitations only for the receiving interface's
/// addresses) and reply to the client directly.
fn dr_lab6(tag: &str) -> Topology {
    let mut lab = keepalived_testlab::Lab::new(tag).unwrap();
    let dir = lab.dir().unwrap();
    let client = lab
        .host("client", None, &[&format!("{CLIENT6}/64")])
        .unwrap();
    let dr = lab
        .host("dr1", None, &["2001:db8:1::11/64", &format!("{VIP6}/64")])
        .unwrap();
    let mut real_servers = Vec::new();
    for (name, addr) in [
        ("rs1", "2001:db8:1::21"),
        ("rs2", "2001:db8:1::22"),
        ("rs3", "2001:db8:1::23"),
    ] {
        let h = lab.host(name, None, &[&format!("{addr}/64")]).unwrap();
        lab.exec(
            &h.netns,
            &[
                "ip",
                "-6",
                "addr",
                "add",
                &format!("{VIP6}/128"),
                "dev",
                "lo",
            ],
        )
        .unwrap();
        http_server_on(&mut lab, &dir, &h, name, "::");
        real_servers.push((h, addr.to_owned()));
    }
    Topology {
        lab,
        dir,
        client,
        directors: vec![dr],
        real_servers,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_nat_round_robin_reaches_both_real_servers_and_a_down_one_leaves() {
    if !prerequisites_met("ipv6_nat", TOOLS) {
        return;
    }
    let mut t = nat_lab6("ip6nat");
    let addrs = ["2001:db8:2::11", "2001:db8:2::12"];
    let prober = FakeProber::start_on(&t.dir, "pa", VIP6, &addrs);
    let dr = t.directors[0].netns.clone();
    let m = start_manager(
        &mut t,
        &dr,
        "m1",
        &config6("NAT", &addrs),
        &[&prober.socket],
        &[],
    )
    .await;
    wait_serving6(&t, &m);
    let rules = ruleset(&t, &dr);
    assert!(rules.contains("table ip6 keepalived_rs6"), "{rules}");
    assert!(
        rules.contains("type ipv6_addr . inet_service . mark"),
        "{rules}"
    );

    let pages: Vec<String> = (0..6).map(|_| get6(&t, None).unwrap_or_default()).collect();
    for w in pages.windows(2) {
        assert_ne!(w[0], w[1], "rr must alternate: {pages:?}");
    }
    let seen: BTreeSet<&String> = pages.iter().collect();
    assert_eq!(seen.len(), 2, "{pages:?}");

    prober.set("2001:db8:2::12", false);
    wait_out(&m, "2001:db8:2::12").await;
    let pages: Vec<Option<String>> = (0..4).map(|_| get6(&t, None)).collect();
    assert!(
        pages.iter().all(|p| p.as_deref() == Some("rs1")),
        "rs2 still receives new flows: {pages:?}\n{}\n{}",
        ruleset(&t, &dr),
        m.log(),
    );
    assert!(
        m.log()
            .contains("Removing service [2001:db8:2::12]:tcp:80 from VS [2001:db8:1::10]:tcp:80"),
        "{}",
        m.log()
    );
    // A restarted manager adopts the IPv6 table instead of rewriting it.
    let handle = |r: &str| {
        r.lines()
            .find(|l| l.starts_with("table ip6 keepalived_rs6"))
            .map(str::to_owned)
    };
    let before = handle(&ruleset(&t, &dr));
    drop(m);
    let m = start_manager(
        &mut t,
        &dr,
        "m2",
        &config6("NAT", &addrs),
        &[&prober.socket],
        &[],
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        handle(&ruleset(&t, &dr)),
        before,
        "rewritten at restart\n{}",
        m.log()
    );

    // The IPv6 virtual server leaves the configuration: its ip6 table goes too, and
    // nothing DNATs the VIP any more.
    let v4_only = "global_defs {\n    router_id lab6\n}\n\
        virtual_server 198.51.100.10 80 {\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n\
        real_server 203.0.113.11 80 {\n        weight 1\n    }\n}\n";
    std::fs::write(t.dir.join("m2.conf"), v4_only).unwrap();
    t.lab.signal(m.pid, "HUP").unwrap();
    assert!(
        wait_ruleset(&t, &dr, |r| !r.contains("keepalived_rs6")
            && r.contains("198.51.100.10")),
        "the ip6 table stayed\n{}\n{}",
        ruleset(&t, &dr),
        m.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_dr_flow_hash_spreads_flows_and_keeps_each_on_its_server() {
    if !prerequisites_met("ipv6_dr", TOOLS) {
        return;
    }
    let mut t = dr_lab6("ip6dr");
    let addrs = ["2001:db8:1::21", "2001:db8:1::22", "2001:db8:1::23"];
    let prober = FakeProber::start_on(&t.dir, "pa", VIP6, &addrs);
    let dr = t.directors[0].netns.clone();
    let m = start_manager(
        &mut t,
        &dr,
        "m1",
        &config6("DR", &addrs),
        &[&prober.socket],
        &[],
    )
    .await;
    wait_serving6(&t, &m);
    let rules = ruleset(&t, &dr);
    assert!(
        rules.contains("fwd ip6 to jhash ip6 saddr . tcp sport"),
        "{rules}"
    );

    let flows = |t: &Topology| flows_to(t, VIP6, CLIENT6, 42000..42024);
    let before = flows(&t);
    assert!(
        before.len() == 24 && before.values().all(|p| p.starts_with("rs")),
        "every flow answered: {before:?}"
    );
    let servers: BTreeSet<&String> = before.values().collect();
    assert_eq!(servers.len(), 3, "flows spread over all three: {before:?}");
    assert_eq!(before, flows(&t), "the same flow, the same server");

    prober.set("2001:db8:1::23", false);
    wait_out(&m, "2001:db8:1::23").await;
    let after = flows(&t);
    for (port, page) in &before {
        if page != "rs3" {
            assert_eq!(
                &after[port], page,
                "port {port} moved although its server stayed up"
            );
        }
    }
}
