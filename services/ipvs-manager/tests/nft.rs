//! ipvs-manager on the nftables data plane, end to end in network
//! namespaces: a client curls the VIP, real servers run `python3 -m
//! http.server` with distinct pages, health comes from fake health-prober
//! replicas. Root only (skipped locally without it, failing under CI=true).

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use futures::StreamExt as _;
use keepalived_api::v1;
use keepalived_testlab::{prerequisites_met, wait_until};

const TOOLS: &[&str] = &["nft", "python3", "curl"];

/// Waits until the real servers answer through the VIP.
fn wait_serving(t: &Topology) {
    wait_real_servers(t);
    assert!(
        wait_until(Duration::from_secs(20), || get(t, None)
            .is_some_and(|p| p.starts_with("rs"))),
        "the VIP never answered"
    );
}

async fn wait_api(m: &Manager, what: &str, f: impl Fn(&v1::VirtualServer) -> bool) {
    for _ in 0..400 {
        if f(&m.vs().await) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "timed out waiting for {what}: {:#?}\n{}",
        m.vs().await,
        m.log()
    );
}

fn rs<'a>(vs: &'a v1::VirtualServer, addr: &str) -> &'a v1::RealServer {
    vs.real_servers
        .iter()
        .find(|r| r.address.as_ref().is_some_and(|a| a.address == addr))
        .unwrap()
}

fn rs_key(addr: &str) -> v1::RealServerKey {
    v1::RealServerKey {
        virtual_server: Some(v1::VirtualServerKey {
            kind: Some(v1::virtual_server_key::Kind::AddressPort(v1::AddressPort {
                address: VIP.into(),
                port: 80,
            })),
            protocol: v1::Protocol::Tcp as i32,
        }),
        real_server: Some(v1::AddressPort {
            address: addr.into(),
            port: 80,
        }),
    }
}

/// nft's listing without the counters, which move with traffic.
fn without_counters(ruleset: &str) -> String {
    ruleset
        .lines()
        .map(|l| match l.find("counter packets") {
            Some(i) => {
                let rest = &l[i..];
                let end = rest
                    .match_indices(" bytes ")
                    .next()
                    .map(|(j, _)| {
                        let after = &rest[j + 7..];
                        j + 7 + after.find(' ').unwrap_or(after.len())
                    })
                    .unwrap_or(rest.len());
                format!("{}counter{}", &l[..i], &rest[end..])
            }
            None => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nat_round_robin_alternates_and_a_down_server_stops_receiving_new_flows() {
    if !prerequisites_met("nat_round_robin", TOOLS) {
        return;
    }
    // Real span ids in this process, so the fake prober's events carry a
    // trace (the guard keeps the tracer provider alive).
    let _telemetry = keepalived_telemetry::init(
        "nft-test",
        &keepalived_telemetry::LogOptions {
            console: false,
            detail: false,
            no_syslog: true,
        },
    );
    let mut t = nat_lab("ipnat");
    let prober = FakeProber::start(&t.dir, "pa", &["203.0.113.11", "203.0.113.12"]);
    let conf = config("NAT", &t.real_servers, "");
    let dr = t.directors[0].netns.clone();
    let m = start_manager(&mut t, &dr, "m1", &conf, &[&prober.socket], &[]).await;
    let mut watch = m
        .client()
        .await
        .unwrap()
        .watch(v1::WatchRequest {
            consumer: "test".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    wait_serving(&t);

    // Round robin: consecutive connections alternate.
    let pages: Vec<String> = (0..8).map(|_| get(&t, None).unwrap()).collect();
    for w in pages.windows(2) {
        assert_ne!(w[0], w[1], "rr must alternate: {pages:?}");
    }
    assert!(
        m.log()
            .contains("Gained quorum 1+0=1 <= 2 for VS [198.51.100.10]:tcp:80")
    );
    // Counters from the rule (the nat hook sees each connection's first packet), read at resync.
    wait_api(&m, "counters of 8 connections", |vs| {
        vs.stats.as_ref().is_some_and(|s| s.in_packets >= 8)
    })
    .await;
    // A key without protocol means TCP, as in keepalived.conf.
    let got = m
        .client()
        .await
        .unwrap()
        .get_virtual_server(v1::GetVirtualServerRequest {
            key: Some(v1::VirtualServerKey {
                kind: Some(v1::virtual_server_key::Kind::AddressPort(v1::AddressPort {
                    address: VIP.into(),
                    port: 80,
                })),
                protocol: v1::Protocol::Unspecified as i32,
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (got.scheduler.as_str(), got.backend, got.method),
        (
            "rr",
            v1::Backend::Nft as i32,
            v1::ForwardingMethod::Nat as i32
        )
    );

    // A connection held open across the change keeps working.
    let held_out = t.dir.join("held.out");
    let held = t
        .lab
        .spawn(
            &t.client.netns,
            "python3",
            &[
                "-c",
                "import socket,time\n\
                 s=socket.create_connection(('198.51.100.10',80))\n\
                 time.sleep(3)\n\
                 s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n')\n\
                 d=b''\n\
                 while True:\n    c=s.recv(4096)\n    if not c: break\n    d+=c\n\
                 print(d.split(b'\\r\\n\\r\\n',1)[1].decode().strip())",
            ],
            &held_out,
        )
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // A rewritten table gets a new table handle: a server leaving or joining
    // round robin is a swap of slots and a new modulus, not a rewrite.
    let handle = |r: &str| {
        r.lines()
            .find(|l| l.starts_with("table ip keepalived_rs "))
            .map(str::to_owned)
    };
    let table_before = handle(&ruleset(&t, &dr));
    assert!(table_before.is_some());
    let cause = prober.set("203.0.113.12", false);
    assert!(keepalived_telemetry::trace_id_of(&cause).is_some());
    wait_api(&m, "rs2 out of the kernel", |vs| {
        !rs(vs, "203.0.113.12").in_kernel
    })
    .await;
    assert!(
        m.log()
            .contains("Removing service [203.0.113.12]:tcp:80 from VS [198.51.100.10]:tcp:80"),
        "{}",
        m.log()
    );
    let after: Vec<String> = (0..6).map(|_| get(&t, None).unwrap()).collect();
    assert!(after.iter().all(|p| p == "rs1"), "{after:?}");
    let down = ruleset(&t, &dr);
    assert_eq!(handle(&down), table_before, "rewritten: {down}");
    assert!(down.contains("numgen inc mod 1 map @vs0_slots"), "{down}");
    assert!(t.lab.wait_exit(held, Duration::from_secs(10)).unwrap());
    let held_page = std::fs::read_to_string(&held_out).unwrap();
    assert!(
        held_page.trim().starts_with("rs"),
        "established connection broken: {held_page:?}"
    );

    // The Watch stream carried the removal, as applied.
    let mut removed = false;
    while let Ok(Some(Ok(event))) = tokio::time::timeout(Duration::from_secs(2), watch.next()).await
    {
        if let Some(v1::ipvs_event::Payload::RealServerChanged(c)) = event.payload
            && c.kind == v1::RealServerChangeKind::Removed as i32
        {
            assert_eq!(c.checker, "TCP_CHECK");
            assert_eq!(c.reason, "TCP connection failed");
            // One trace: the prober's check → ipvs-manager's change.
            let trace = event.header.and_then(|h| h.trace).unwrap_or_default();
            assert_eq!(
                keepalived_telemetry::trace_id_of(&trace),
                keepalived_telemetry::trace_id_of(&cause),
                "the kernel change is not in the trace of the verdict"
            );
            removed = true;
            break;
        }
    }
    assert!(removed, "no REMOVED event on Watch");

    prober.set("203.0.113.12", true);
    wait_api(&m, "rs2 back", |vs| rs(vs, "203.0.113.12").in_kernel).await;
    assert!(
        m.log()
            .contains("Adding service [203.0.113.12]:tcp:80 to VS [198.51.100.10]:tcp:80")
    );
    let pages: Vec<String> = (0..6).map(|_| get(&t, None).unwrap()).collect();
    for w in pages.windows(2) {
        assert_ne!(w[0], w[1], "rr must alternate again: {pages:?}");
    }
    assert_eq!(handle(&ruleset(&t, &dr)), table_before, "rewritten");

    // Drain through the API (root over the unix socket is authorised).
    let drained = m
        .client()
        .await
        .unwrap()
        .drain_real_server(v1::DrainRealServerRequest {
            key: Some(rs_key("203.0.113.11")),
            drain: true,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(drained.drained && drained.in_kernel && drained.kernel_weight == 0);
    let pages: Vec<String> = (0..4).map(|_| get(&t, None).unwrap()).collect();
    assert!(pages.iter().all(|p| p == "rs2"), "{pages:?}");
    let w = m
        .client()
        .await
        .unwrap()
        .set_real_server_weight(v1::SetRealServerWeightRequest {
            key: Some(rs_key("203.0.113.12")),
            weight: Some(3),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((w.kernel_weight, w.weight_override), (3, Some(3)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dr_flow_hash_moves_only_the_flows_of_a_server_marked_down() {
    if !prerequisites_met("dr_flow_hash", TOOLS) {
        return;
    }
    let mut t = dr_lab("ipdr", 1);
    let addrs = ["198.51.100.21", "198.51.100.22", "198.51.100.23"];
    let prober = FakeProber::start(&t.dir, "pa", &addrs);
    let conf = config("DR", &t.real_servers, "");
    let dr = t.directors[0].netns.clone();
    let m = start_manager(&mut t, &dr, "m1", &conf, &[&prober.socket], &[]).await;
    wait_serving(&t);
    assert!(ruleset(&t, &dr).contains("seed 0x5eed"));

    let before = flows(&t, 41000..41040);
    let servers: BTreeSet<&String> = before.values().collect();
    assert_eq!(servers.len(), 3, "flows spread over all three: {before:?}");
    assert!(before.values().all(|p| p.starts_with("rs")), "{before:?}");
    assert_eq!(
        before,
        flows(&t, 41000..41040),
        "the same flow, the same server"
    );

    // A rewritten table gets a new table handle (rule handles restart and would not tell).
    let handle = |r: &str| {
        r.lines()
            .find(|l| l.starts_with("table netdev keepalived_rs_dr"))
            .map(str::to_owned)
    };
    let rule_before = handle(&ruleset(&t, &dr));
    prober.set("198.51.100.23", false);
    wait_api(&m, "rs3 out", |vs| !rs(vs, "198.51.100.23").in_kernel).await;
    // The same Maglev table size: only rs3's slots were rewritten, the rule stayed.
    assert_eq!(
        handle(&ruleset(&t, &dr)),
        rule_before,
        "the rule was replaced"
    );
    let after = flows(&t, 41000..41040);
    for (port, page) in &before {
        if page == "rs3" {
            assert_ne!(after[port], "rs3", "port {port} still on the down server");
        } else {
            assert_eq!(
                &after[port], page,
                "port {port} moved although its server stayed up"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_directors_with_the_same_config_send_a_flow_to_the_same_real_server() {
    if !prerequisites_met("two_directors", TOOLS) {
        return;
    }
    let mut t = dr_lab("ip2d", 2);
    let addrs = ["198.51.100.21", "198.51.100.22", "198.51.100.23"];
    let prober = FakeProber::start(&t.dir, "pa", &addrs);
    let conf = config("DR", &t.real_servers, "");
    let (dr1, dr2) = (t.directors[0].netns.clone(), t.directors[1].netns.clone());
    let _m1 = start_manager(&mut t, &dr1, "m1", &conf, &[&prober.socket], &[]).await;
    let _m2 = start_manager(&mut t, &dr2, "m2", &conf, &[&prober.socket], &[]).await;
    wait_serving(&t);
    let via_dr1 = flows(&t, 42000..42030);
    assert!(via_dr1.values().all(|p| p.starts_with("rs")), "{via_dr1:?}");
    assert_eq!(via_dr1.values().collect::<BTreeSet<_>>().len(), 3);

    // The VIP moves to dr2 (what vrrp-core does on failover).
    t.lab
        .exec(
            &dr1,
            &["ip", "addr", "del", &format!("{VIP}/24"), "dev", "eth0"],
        )
        .unwrap();
    t.lab
        .exec(
            &dr2,
            &["ip", "addr", "add", &format!("{VIP}/24"), "dev", "eth0"],
        )
        .unwrap();
    t.lab
        .exec(
            &t.client.netns,
            &[
                "ip",
                "neigh",
                "replace",
                VIP,
                "lladdr",
                "02:00:00:00:00:12",
                "dev",
                "eth0",
            ],
        )
        .unwrap();
    let via_dr2 = flows(&t, 42000..42030);
    assert_eq!(via_dr1, via_dr2, "the directors disagree on flows");
    let counted = ruleset(&t, &dr2);
    assert!(
        !counted.contains("counter packets 0 bytes 0 fwd"),
        "dr2 did not forward: {counted}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_and_restart_during_a_client_loop_fails_no_request_and_rewrites_nothing() {
    if !prerequisites_met("restart_adoption", TOOLS) {
        return;
    }
    let mut t = nat_lab("iprst");
    let prober = FakeProber::start(&t.dir, "pa", &["203.0.113.11", "203.0.113.12"]);
    let conf = config("NAT", &t.real_servers, "");
    let dr = t.directors[0].netns.clone();
    let m = start_manager(&mut t, &dr, "m1", &conf, &[&prober.socket], &[]).await;
    wait_serving(&t);
    let table_before = without_counters(&ruleset(&t, &dr));

    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let client_netns = t.client.netns.clone();
    let looper = {
        let (stop, ok, failed) = (stop.clone(), ok.clone(), failed.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let out = std::process::Command::new("ip")
                    .args(["netns", "exec", &client_netns, "curl", "-s", "-m", "3"])
                    .arg(format!("http://{VIP}/"))
                    .output()
                    .unwrap();
                let page = String::from_utf8_lossy(&out.stdout);
                if out.status.success() && page.starts_with("rs") {
                    ok.fetch_add(1, Ordering::Relaxed);
                } else {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    t.lab.signal(m.pid, "KILL").unwrap();
    assert!(t.lab.wait_exit(m.pid, Duration::from_secs(5)).unwrap());
    std::thread::sleep(Duration::from_millis(500));
    let m2 = start_manager(&mut t, &dr, "m2", &conf, &[&prober.socket], &[]).await;
    std::thread::sleep(Duration::from_millis(1500));
    stop.store(true, Ordering::Relaxed);
    looper.join().unwrap();
    let table_after = without_counters(&ruleset(&t, &dr));
    assert_eq!(failed.load(Ordering::Relaxed), 0, "requests failed");
    assert!(ok.load(Ordering::Relaxed) >= 5, "the loop barely ran");
    assert_eq!(table_before, table_after, "the restart rewrote the table");
    assert!(m2.log().contains("adopted 1 service(s)"), "{}", m2.log());
    assert!(!m2.log().contains("Adding service"), "{}", m2.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn majority_ignores_one_false_down_and_a_killed_prober_changes_nothing() {
    if !prerequisites_met("majority_stale", TOOLS) {
        return;
    }
    let mut t = nat_lab("ipmaj");
    let rss = ["203.0.113.11", "203.0.113.12"];
    let a = FakeProber::start(&t.dir, "pa", &rss);
    let b = FakeProber::start(&t.dir, "pb", &rss);
    let conf = config("NAT", &t.real_servers, "");
    let dr = t.directors[0].netns.clone();
    let m = start_manager(
        &mut t,
        &dr,
        "m1",
        &conf,
        &[&a.socket, &b.socket],
        &[
            "--verdict-policy",
            "majority",
            "--metrics-listen",
            "127.0.0.1:9552",
        ],
    )
    .await;
    wait_api(&m, "two sources each", |vs| {
        vs.real_servers.iter().all(|r| r.sources.len() == 2)
    })
    .await;
    let table = without_counters(&ruleset(&t, &dr));

    a.set("203.0.113.12", false);
    wait_api(&m, "prober A's down verdict", |vs| {
        rs(vs, "203.0.113.12").sources.iter().any(|s| !s.up)
    })
    .await;
    let vs = m.vs().await;
    assert!(
        rs(&vs, "203.0.113.12").in_kernel,
        "one of two is no majority"
    );
    assert_eq!(
        rs(&vs, "203.0.113.12").health,
        v1::RealServerHealth::Up as i32
    );

    b.kill();
    wait_api(&m, "prober B stale", |vs| {
        rs(vs, "203.0.113.12")
            .sources
            .iter()
            .any(|s| s.stale && s.prober == "health-prober@pb")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let vs = m.vs().await;
    assert!(vs.real_servers.iter().all(|r| r.in_kernel));
    assert_eq!(table, without_counters(&ruleset(&t, &dr)));
    assert!(m.log().contains("keeping its last verdicts (stale)"));
    let metrics = t
        .lab
        .exec(&dr, &["curl", "-s", "http://127.0.0.1:9552/metrics"])
        .unwrap();
    let metrics = String::from_utf8_lossy(&metrics.stdout);
    assert!(
        metrics.contains("keepalived_ipvs_health_probers_stale 1"),
        "{metrics}"
    );
    assert!(!m.log().contains("Removing service"), "{}", m.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_deleted_by_hand_is_repaired_at_the_next_resync() {
    if !prerequisites_met("drift_repair", TOOLS) {
        return;
    }
    let mut t = nat_lab("ipdft");
    let prober = FakeProber::start(&t.dir, "pa", &["203.0.113.11", "203.0.113.12"]);
    let conf = config("NAT", &t.real_servers, "");
    let dr = t.directors[0].netns.clone();
    let m = start_manager(&mut t, &dr, "m1", &conf, &[&prober.socket], &[]).await;
    wait_serving(&t);
    t.lab
        .exec(&dr, &["nft", "delete", "table", "ip", "keepalived_rs"])
        .unwrap();
    assert!(wait_ruleset(&t, &dr, |r| r.contains("dnat ip to numgen")));
    assert!(wait_until(Duration::from_secs(5), || m
        .log()
        .contains("changed outside keepalived-rs; repaired")));
    wait_serving(&t);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_leaves_the_table_unless_lvs_flush_on_stop() {
    if !prerequisites_met("flush_on_stop", TOOLS) {
        return;
    }
    let mut t = nat_lab("ipstp");
    let prober = FakeProber::start(&t.dir, "pa", &["203.0.113.11", "203.0.113.12"]);
    let dr = t.directors[0].netns.clone();
    let conf = config("NAT", &t.real_servers, "");
    let m = start_manager(&mut t, &dr, "m1", &conf, &[&prober.socket], &[]).await;
    t.lab.signal(m.pid, "TERM").unwrap();
    assert!(t.lab.wait_exit(m.pid, Duration::from_secs(10)).unwrap());
    assert!(ruleset(&t, &dr).contains("dnat ip to numgen"));

    let conf = conf.replace("router_id lab", "router_id lab\n    lvs_flush_on_stop VS");
    let m = start_manager(&mut t, &dr, "m2", &conf, &[&prober.socket], &[]).await;
    t.lab.signal(m.pid, "TERM").unwrap();
    assert!(t.lab.wait_exit(m.pid, Duration::from_secs(10)).unwrap());
    assert!(!ruleset(&t, &dr).contains("dnat"), "{}", ruleset(&t, &dr));
    assert!(
        m.log()
            .contains("Shutting down service [203.0.113.11]:tcp:80 from VS [198.51.100.10]:tcp:80"),
        "{}",
        m.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_applies_only_the_difference() {
    if !prerequisites_met("sighup_reload", TOOLS) {
        return;
    }
    let mut t = nat_lab("iphup");
    let prober = FakeProber::start(&t.dir, "pa", &["203.0.113.11", "203.0.113.12"]);
    let dr = t.directors[0].netns.clone();
    let conf = config("NAT", &t.real_servers, "");
    let m = start_manager(&mut t, &dr, "m1", &conf, &[&prober.socket], &[]).await;
    wait_serving(&t);

    // rs1's weight changes and a second virtual server appears.
    let second = "virtual_server 198.51.100.10 8080 {\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n\
        real_server 203.0.113.12 80 {\n        weight 1\n    }\n}\n";
    let changed = format!("{}{second}", conf.replacen("weight 1", "weight 2", 1));
    std::fs::write(t.dir.join("m1.conf"), &changed).unwrap();
    t.lab.signal(m.pid, "HUP").unwrap();
    assert!(wait_ruleset(&t, &dr, |r| r.contains("tcp dport 8080")));
    assert!(wait_until(Duration::from_secs(10), || m.log().contains(
        "Changing weight from 1 to 2 for service [203.0.113.11]:tcp:80 of VS [198.51.100.10]:tcp:80"
    )));
    let log = m.log();
    assert!(
        log.contains("Adding Virtual Server [198.51.100.10]:tcp:8080"),
        "{log}"
    );
    assert!(
        !log.contains("Removing"),
        "a reload removed something: {log}"
    );
    // lb_algo rr ignores weights, as IPVS's rr does: rs1 at weight 2 still
    // gets one turn in two (wrr would give it two in three).
    wait_api(&m, "rs1 at weight 2", |vs| {
        rs(vs, "203.0.113.11").kernel_weight == 2
    })
    .await;
    let pages: Vec<String> = (0..6).map(|_| get(&t, None).unwrap()).collect();
    assert_eq!(pages.iter().filter(|p| *p == "rs1").count(), 3, "{pages:?}");

    // Back to the first configuration: the second virtual server goes.
    std::fs::write(t.dir.join("m1.conf"), &conf).unwrap();
    t.lab.signal(m.pid, "HUP").unwrap();
    assert!(wait_ruleset(&t, &dr, |r| !r.contains("tcp dport 8080")));
    assert!(wait_until(Duration::from_secs(10), || m
        .log()
        .contains("Removing Virtual Server [198.51.100.10]:tcp:8080")));
    assert!(
        m.log()
            .contains("Removing service [203.0.113.12]:tcp:80 from VS [198.51.100.10]:tcp:8080")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_quorum_brings_in_the_sorry_server_and_gaining_it_takes_it_out() {
    if !prerequisites_met("sorry_server", TOOLS) {
        return;
    }
    let mut t = nat_lab("ipsry");
    let prober = FakeProber::start(&t.dir, "pa", &["203.0.113.11"]);
    let dr = t.directors[0].netns.clone();
    // rs2 serves only as the sorry server.
    let conf = config(
        "NAT",
        &t.real_servers[..1],
        "    sorry_server 203.0.113.12 80\n",
    );
    let m = start_manager(&mut t, &dr, "m1", &conf, &[&prober.socket], &[]).await;
    wait_serving(&t);
    assert!((0..3).all(|_| get(&t, None).unwrap() == "rs1"));

    prober.set("203.0.113.11", false);
    wait_api(&m, "sorry server in", |vs| rs(vs, "203.0.113.12").in_kernel).await;
    let log = m.log();
    for line in [
        "Removing service [203.0.113.11]:tcp:80 from VS [198.51.100.10]:tcp:80",
        "Lost quorum 1-0=1 > 0 for VS [198.51.100.10]:tcp:80",
        "Adding sorry server [203.0.113.12]:tcp:80 to VS [198.51.100.10]:tcp:80",
    ] {
        assert!(log.contains(line), "no {line:?} in {log}");
    }
    assert!(rs(&m.vs().await, "203.0.113.12").sorry_server);
    assert!((0..3).all(|_| get(&t, None).unwrap() == "rs2"));

    prober.set("203.0.113.11", true);
    wait_api(&m, "sorry server out", |vs| {
        !rs(vs, "203.0.113.12").in_kernel
    })
    .await;
    // Once at start, once now.
    assert_eq!(
        m.log()
            .matches("Gained quorum 1+0=1 <= 1 for VS [198.51.100.10]:tcp:80")
            .count(),
        2,
        "{}",
        m.log()
    );
    assert!(
        m.log()
            .contains("Removing sorry server [203.0.113.12]:tcp:80 from VS [198.51.100.10]:tcp:80")
    );
    assert!((0..3).all(|_| get(&t, None).unwrap() == "rs1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inhibit_on_failure_keeps_a_down_server_at_weight_zero() {
    if !prerequisites_met("inhibit_on_failure", TOOLS) {
        return;
    }
    let mut t = nat_lab("ipinh");
    let prober = FakeProber::start(&t.dir, "pa", &["203.0.113.11", "203.0.113.12"]);
    let dr = t.directors[0].netns.clone();
    let conf = config("NAT", &t.real_servers, "    inhibit_on_failure\n");
    let m = start_manager(&mut t, &dr, "m1", &conf, &[&prober.socket], &[]).await;
    wait_serving(&t);

    prober.set("203.0.113.12", false);
    wait_api(&m, "rs2 at weight 0", |vs| {
        let r = rs(vs, "203.0.113.12");
        r.in_kernel && r.kernel_weight == 0 && r.health == v1::RealServerHealth::Down as i32
    })
    .await;
    assert!(
        m.log()
            .contains("Disabling service [203.0.113.12]:tcp:80 of VS [198.51.100.10]:tcp:80"),
        "{}",
        m.log()
    );
    // Still in the record, weight 0 (mark 0x1 = weight 0, NAT), out of the slots.
    let table = ruleset(&t, &dr);
    assert!(table.contains("203.0.113.12 . 80 . 0x00000001"), "{table}");
    assert!((0..4).all(|_| get(&t, None).unwrap() == "rs1"));

    prober.set("203.0.113.12", true);
    wait_api(&m, "rs2 enabled", |vs| {
        rs(vs, "203.0.113.12").kernel_weight == 1
    })
    .await;
    assert!(
        m.log()
            .contains("Enabling service [203.0.113.12]:tcp:80 of VS [198.51.100.10]:tcp:80")
    );
}

/// The servers named in `replies` (`rsN@address`), failing on a timeout or
/// a reply from anywhere but the VIP (the NAT reply un-translated, or a DR
/// real server answering from its own address).
fn udp_servers(replies: &[(u16, String)]) -> Vec<String> {
    replies
        .iter()
        .map(|(_, r)| {
            let (name, from) = r
                .split_once('@')
                .unwrap_or_else(|| panic!("no UDP reply: {replies:?}"));
            assert_eq!(from, VIP, "reply not from the VIP: {replies:?}");
            name.to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_and_fwmark_nat_services_reach_the_real_servers() {
    if !prerequisites_met("udp_nat", TOOLS) {
        return;
    }
    let mut t = nat_lab("ipudp");
    for host in 0..2 {
        for port in [80, 1358, 1359] {
            udp_echo(&mut t, host, "0.0.0.0", port);
        }
    }
    let dr = t.directors[0].netns.clone();
    // The fwmark is the administrator's, set before the nat hook (mangle < dstnat).
    t.lab
        .nft(
            &dr,
            &format!(
                "table ip lab_mark {{\n  chain pre {{\n    type filter hook prerouting priority mangle; policy accept;\n    ip daddr {VIP} th dport 8080 meta mark set 7\n  }}\n}}\n"
            ),
        )
        .unwrap();
    let rs = "    real_server 203.0.113.11 PORT {\n        weight 1\n    }\n    real_server 203.0.113.12 PORT {\n        weight 1\n    }\n";
    // 1358 as in Debian's UDP_CHECK sample minus the persistence, with
    // `ops` (not built on nft: a warning); 1359 without `protocol` (UDP:
    // check_data.c) and with persistence, as the sample has it; fwmark 7
    // carries TCP and UDP alike.
    let conf = format!(
        "global_defs {{\n    router_id lab\n}}\n\
         virtual_server {VIP} 1358 {{\n    lb_algo rr\n    lb_kind NAT\n    protocol UDP\n    ops\n{}}}\n\
         virtual_server {VIP} 1359 {{\n    lb_algo rr\n    lb_kind NAT\n    persistence_timeout 50\n{}}}\n\
         virtual_server fwmark 7 {{\n    lb_algo rr\n    lb_kind NAT\n{}}}\n",
        rs.replace("PORT", "1358"),
        rs.replace("PORT", "1359"),
        rs.replace("PORT", "80"),
    );
    let m = start_manager(&mut t, &dr, "m1", &conf, &[], &[]).await;
    assert!(
        wait_ruleset(&t, &dr, |r| r.contains("udp dport 1359")
            && r.contains("udp dport 1358")
            && r.contains("meta mark 0x00000007")),
        "the table never reached nft: {}\n{}",
        ruleset(&t, &dr),
        m.log()
    );
    assert!(!m.log().contains("cannot apply"), "{}", m.log());
    assert!(
        wait_until(Duration::from_secs(5), || {
            m.log().contains(
            "VS [198.51.100.10]:udp:1358: ops (one-packet scheduling) is not implemented by the nft backend"
        )
        }),
        "{}",
        m.log()
    );
    wait_real_servers(&t);
    assert!(
        wait_until(Duration::from_secs(20), || udp_ask(&t, 1358, &[0])
            .iter()
            .all(|(_, r)| r.starts_with("rs"))),
        "the UDP VIP never answered: {:?}",
        udp_ask(&t, 1358, &[0])
    );

    // rr over new flows (a new source port each): they alternate.
    let servers = udp_servers(&udp_ask(&t, 1358, &[0; 6]));
    for w in servers.windows(2) {
        assert_ne!(w[0], w[1], "rr must alternate: {servers:?}");
    }
    // Persistence hashes the client address: every flow on one server.
    let servers = udp_servers(&udp_ask(&t, 1359, &[0; 6]));
    assert!(servers.iter().all(|s| *s == servers[0]), "{servers:?}");

    // The fwmark service: TCP and UDP to VIP:8080 both reach both servers.
    let tcp: BTreeSet<String> = (0..4)
        .map(|_| {
            let out = t
                .lab
                .exec(
                    &t.client.netns,
                    &["curl", "-s", "-m", "3", &format!("http://{VIP}:8080/")],
                )
                .unwrap();
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        })
        .collect();
    assert_eq!(
        tcp,
        ["rs1", "rs2"].map(String::from).into(),
        "TCP under fwmark 7"
    );
    let udp: BTreeSet<String> = udp_servers(&udp_ask(&t, 8080, &[0; 4]))
        .into_iter()
        .collect();
    assert_eq!(
        udp,
        ["rs1", "rs2"].map(String::from).into(),
        "UDP under fwmark 7"
    );

    // The API shows both address services as UDP.
    let list = m
        .client()
        .await
        .unwrap()
        .list_virtual_servers(v1::ListVirtualServersRequest {})
        .await
        .unwrap()
        .into_inner()
        .virtual_servers;
    let udp_ports: BTreeSet<u32> = list
        .iter()
        .filter(|vs| {
            vs.key
                .as_ref()
                .is_some_and(|k| k.protocol == v1::Protocol::Udp as i32)
        })
        .filter_map(|vs| match vs.key.as_ref()?.kind.as_ref()? {
            v1::virtual_server_key::Kind::AddressPort(a) => Some(a.port),
            _ => None,
        })
        .collect();
    assert_eq!(udp_ports, [1358, 1359].into(), "{list:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dr_udp_flows_hash_on_the_udp_source_port() {
    if !prerequisites_met("udp_dr", TOOLS) {
        return;
    }
    let mut t = dr_lab("ipudr", 1);
    for host in 0..3 {
        udp_echo(&mut t, host, VIP, 1358);
    }
    let mut rs = String::new();
    for (_, addr) in &t.real_servers {
        rs.push_str(&format!(
            "    real_server {addr} 1358 {{\n        weight 1\n    }}\n"
        ));
    }
    let conf = format!(
        "global_defs {{\n    router_id lab\n}}\n\
         virtual_server {VIP} 1358 {{\n    lb_algo rr\n    lb_kind DR\n    protocol UDP\n{rs}}}\n"
    );
    let dr = t.directors[0].netns.clone();
    let m = start_manager(&mut t, &dr, "m1", &conf, &[], &[]).await;
    assert!(
        wait_ruleset(&t, &dr, |r| r.contains("udp dport 1358")),
        "{}",
        m.log()
    );
    let ports: Vec<u16> = (43000..43030).collect();
    assert!(
        wait_until(Duration::from_secs(20), || udp_ask(&t, 1358, &ports[..1])
            .iter()
            .all(|(_, r)| r.starts_with("rs"))),
        "the UDP VIP never answered"
    );
    let first = udp_servers(&udp_ask(&t, 1358, &ports));
    assert_eq!(
        first.iter().collect::<BTreeSet<_>>().len(),
        3,
        "flows spread over all three: {first:?}"
    );
    assert_eq!(
        first,
        udp_servers(&udp_ask(&t, 1358, &ports)),
        "the same flow, the same server"
    );
    assert!(ruleset(&t, &dr).contains("jhash ip saddr . udp sport"));
    assert!(
        m.log().contains(
            "VS [198.51.100.10]:udp:1358: UDP datagrams fragmented before the director are not forwarded"
        ),
        "{}",
        m.log()
    );
}
