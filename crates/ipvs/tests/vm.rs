//! Tests against the real IPVS of Debian 12's kernel, inside the VM of `tests/vm/` (this
//! machine's kernel has no IP_VS). All `#[ignore]`d; run them with
//!
//! ```text
//! CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER=$PWD/tests/vm/run.sh \
//!     cargo test -p keepalived-ipvs --test vm -- --ignored
//! ```
//!
//! IPVS state is per network namespace and the tests share the VM's, so they take a lock and
//! start from a flushed table. What the client reads back is cross-checked against `ipvsadm -Ln`
//! (libipvs, an independent implementation of the same protocol).
// std::time::Instant: these tests wait on a real kernel in a VM (clippy.toml bans it elsewhere).
#![allow(clippy::disallowed_types)]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use keepalived_ipvs::*;

static LOCK: Mutex<()> = Mutex::new(());

/// Exclusive use of the VM's IPVS table, flushed.
fn setup() -> (MutexGuard<'static, ()>, Ipvs) {
    let guard = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let mut ipvs = Ipvs::open().expect("IPVS must be available inside the VM");
    ipvs.apply(&[Op::Flush]).expect("flush");
    (guard, ipvs)
}

fn sh(cmd: &str) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .expect("spawn sh");
    assert!(
        out.status.success(),
        "`{cmd}` failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn ip4(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The `i`th of many destinations: 2001:db8:64::i.
fn many_dest(i: u32) -> IpAddr {
    IpAddr::V6(std::net::Ipv6Addr::from(
        0x2001_0db8_0064_0000_0000_0000_0000_0000_u128 + u128::from(i),
    ))
}

fn tcp(addr: &str, port: u16) -> ServiceKey {
    ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: ip4(addr),
        port,
    }
}

/// `ipvsadm -Ln` as normalised lines: each service line (whitespace collapsed) mapped to its
/// sorted destination lines.
fn ipvsadm_table() -> BTreeMap<String, Vec<String>> {
    let text = sh("ipvsadm -Ln");
    let mut table = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines().skip(3) {
        let norm = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if let Some(d) = norm.strip_prefix("-> ") {
            let svc = current.clone().expect("dest line before any service");
            table
                .entry(svc)
                .or_insert_with(Vec::new)
                .push(d.to_string());
        } else if !norm.is_empty() {
            table.insert(norm.clone(), Vec::new());
            current = Some(norm);
        }
    }
    for v in table.values_mut() {
        v.sort();
    }
    table
}

fn addr_port(addr: &IpAddr, port: u16) -> String {
    match addr {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

/// How ipvsadm 1.31 prints a service line, from what our client read.
fn render_service(s: &Service) -> String {
    let mut out = match s.key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => format!("{protocol} {}", addr_port(&addr, port)),
        ServiceKey::Fwmark { family, mark } => match family {
            Family::V4 => format!("FWM {mark}"),
            Family::V6 => format!("FWM {mark} IPv6"),
        },
    };
    out.push(' ');
    out.push_str(&s.scheduler);
    let mut sched_flags = Vec::new();
    let prefix = if s.scheduler == "mh" { "mh" } else { "sh" };
    if s.flags.contains(ServiceFlags::SCHED1) {
        sched_flags.push(format!("{prefix}-fallback"));
    }
    if s.flags.contains(ServiceFlags::SCHED2) {
        sched_flags.push(format!("{prefix}-port"));
    }
    if !sched_flags.is_empty() {
        out.push_str(&format!(" ({})", sched_flags.join(",")));
    }
    if s.flags.contains(ServiceFlags::PERSISTENT) {
        out.push_str(&format!(" persistent {}", s.timeout));
        match s.key.family() {
            Family::V4 if s.netmask != u32::MAX => {
                out.push_str(&format!(" mask {}", Ipv4Addr::from(s.netmask)))
            }
            Family::V6 if s.netmask != 128 => out.push_str(&format!(" mask {}", s.netmask)),
            _ => {}
        }
        if let Some(pe) = &s.pe_name {
            out.push_str(&format!(" pe {pe}"));
        }
    }
    if s.flags.contains(ServiceFlags::ONE_PACKET) {
        out.push_str(" ops");
    }
    out
}

fn render_dest(d: &Dest) -> String {
    let fwd = match d.forward {
        Forward::Masq => "Masq",
        Forward::Local => "Local",
        Forward::Tunnel => "Tunnel",
        Forward::Route => "Route",
        Forward::Bypass => "Bypass",
    };
    format!(
        "{} {fwd} {} {} {}",
        addr_port(&d.addr, d.port),
        d.weight,
        d.active_conns,
        d.inactive_conns
    )
}

/// Our client's view of the whole table, rendered as ipvsadm prints it.
fn client_table(ipvs: &mut Ipvs) -> BTreeMap<String, Vec<String>> {
    let mut table = BTreeMap::new();
    for s in ipvs.services().unwrap() {
        let mut dests: Vec<String> = ipvs
            .dests(&s.key)
            .unwrap()
            .iter()
            .map(render_dest)
            .collect();
        dests.sort();
        table.insert(render_service(&s), dests);
    }
    table
}

fn assert_matches_ipvsadm(ipvs: &mut Ipvs) {
    let ours = client_table(ipvs);
    let theirs = ipvsadm_table();
    assert_eq!(ours, theirs, "client dump vs ipvsadm -Ln");
}

const SCHEDULERS: [&str; 13] = [
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh",
];

#[test]
#[ignore = "needs IPVS: run inside the VM (tests/vm/run.sh)"]
fn every_scheduler_and_forwarding_method() {
    let (_g, mut ipvs) = setup();
    let mut ops = Vec::new();
    for (i, sched) in SCHEDULERS.iter().enumerate() {
        let key = tcp(&format!("198.51.100.{}", 101 + i), 80);
        ops.push(Op::AddService(Service::new(key, *sched)));
        ops.push(Op::AddDest(
            key,
            Dest::new(ip4("198.51.100.161"), 8080, Forward::Masq).weight(1),
        ));
        ops.push(Op::AddDest(
            key,
            Dest::new(ip4("198.51.100.162"), 80, Forward::Tunnel).weight(2),
        ));
        ops.push(Op::AddDest(
            key,
            Dest::new(ip4("198.51.100.163"), 80, Forward::Route).weight(3),
        ));
    }
    ipvs.apply(&ops).unwrap();

    let services = ipvs.services().unwrap();
    assert_eq!(services.len(), SCHEDULERS.len());
    for (i, sched) in SCHEDULERS.iter().enumerate() {
        let key = tcp(&format!("198.51.100.{}", 101 + i), 80);
        let s = services.iter().find(|s| s.key == key).expect("service");
        assert_eq!(s.scheduler, *sched);
        assert_eq!(s.flags, ServiceFlags::NONE);
        assert_eq!(s.netmask, u32::MAX);
        assert!(s.stats.is_some());
        let mut dests = ipvs.dests(&key).unwrap();
        dests.sort_by_key(|d| d.addr);
        let got: Vec<_> = dests
            .iter()
            .map(|d| (d.addr, d.port, d.forward, d.weight))
            .collect();
        assert_eq!(
            got,
            [
                (ip4("198.51.100.161"), 8080, Forward::Masq, 1),
                (ip4("198.51.100.162"), 80, Forward::Tunnel, 2),
                (ip4("198.51.100.163"), 80, Forward::Route, 3),
            ]
        );
        assert_eq!(dests[1].tunnel, Tunnel::default());
    }
    assert_matches_ipvsadm(&mut ipvs);

    // "twos" only exists from 6.4; 6.1 answers ENOENT, reported at the right index.
    let key = tcp("198.51.100.201", 80);
    let err = ipvs
        .apply(&[
            Op::AddService(Service::new(key, "rr")),
            Op::AddService(Service::new(tcp("198.51.100.202", 80), "twos")),
        ])
        .unwrap_err();
    assert_eq!((err.index, err.sent), (1, 2));
    assert_eq!(err.source.errno(), Some(libc::ENOENT), "{err}");
}

#[test]
#[ignore = "needs IPVS: run inside the VM (tests/vm/run.sh)"]
fn weights_persistence_fwmark_udp_v6_flags() {
    let (_g, mut ipvs) = setup();
    let persistent = {
        let mut s = Service::new(tcp("198.51.100.211", 443), "wrr").persistent(600);
        s.netmask = 0xffff_ff00;
        s
    };
    let v6 = {
        let key = ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: "2001:db8::10".parse().unwrap(),
            port: 80,
        };
        let mut s = Service::new(key, "wlc").persistent(120);
        s.netmask = 64;
        s
    };
    let fwm4 = Service::new(
        ServiceKey::Fwmark {
            family: Family::V4,
            mark: 7,
        },
        "lc",
    );
    let fwm6 = Service::new(
        ServiceKey::Fwmark {
            family: Family::V6,
            mark: 8,
        },
        "rr",
    );
    let udp = {
        let key = ServiceKey::Addr {
            protocol: Protocol::Udp,
            addr: ip4("198.51.100.212"),
            port: 53,
        };
        let mut s = Service::new(key, "sh");
        s.flags = ServiceFlags::SH_FALLBACK | ServiceFlags::SH_PORT | ServiceFlags::ONE_PACKET;
        s
    };
    let mh = {
        let key = ServiceKey::Addr {
            protocol: Protocol::Sctp,
            addr: ip4("198.51.100.213"),
            port: 5060,
        };
        let mut s = Service::new(key, "mh");
        s.flags = ServiceFlags::MH_PORT;
        s
    };
    let sip = {
        let key = ServiceKey::Addr {
            protocol: Protocol::Udp,
            addr: ip4("198.51.100.214"),
            port: 5060,
        };
        let mut s = Service::new(key, "rr").persistent(30);
        s.pe_name = Some("sip".into());
        s
    };
    let gue = {
        let mut d = Dest::new(ip4("198.51.100.176"), 5060, Forward::Tunnel).weight(2);
        d.tunnel = Tunnel {
            kind: TunnelType::Gue,
            port: 6080,
            flags: 1, // IP_VS_TUNNEL_ENCAP_FLAG_CSUM
        };
        d
    };
    let gre = {
        let mut d = Dest::new(ip4("198.51.100.177"), 5060, Forward::Tunnel).weight(3);
        d.tunnel.kind = TunnelType::Gre;
        d
    };
    let mut thresholds = Dest::new(ip4("198.51.100.173"), 443, Forward::Route).weight(100);
    thresholds.upper_threshold = 500;
    thresholds.lower_threshold = 50;
    let ops = vec![
        Op::AddService(persistent.clone()),
        Op::AddDest(
            persistent.key,
            Dest::new(ip4("198.51.100.171"), 443, Forward::Route).weight(0),
        ),
        Op::AddDest(
            persistent.key,
            Dest::new(ip4("198.51.100.172"), 443, Forward::Route).weight(65535),
        ),
        Op::AddDest(persistent.key, thresholds.clone()),
        Op::AddService(v6.clone()),
        Op::AddDest(
            v6.key,
            Dest::new("2001:db8:1::1".parse().unwrap(), 80, Forward::Masq).weight(4),
        ),
        // A v4 real server behind a v6 service: allowed for tunnelling only.
        Op::AddDest(
            v6.key,
            Dest::new(ip4("198.51.100.179"), 80, Forward::Tunnel).weight(1),
        ),
        Op::AddService(fwm4.clone()),
        Op::AddDest(
            fwm4.key,
            Dest::new(ip4("198.51.100.174"), 0, Forward::Route).weight(2),
        ),
        Op::AddService(fwm6.clone()),
        Op::AddDest(
            fwm6.key,
            Dest::new("2001:db8:1::2".parse().unwrap(), 0, Forward::Route),
        ),
        Op::AddService(udp.clone()),
        Op::AddDest(udp.key, Dest::new(ip4("198.51.100.175"), 53, Forward::Masq)),
        Op::AddService(mh.clone()),
        Op::AddService(sip.clone()),
        Op::AddDest(sip.key, gue.clone()),
        Op::AddDest(sip.key, gre.clone()),
    ];
    ipvs.apply(&ops).unwrap();

    let mut services = ipvs.services().unwrap();
    for s in &mut services {
        s.stats = None;
    }
    services.sort_by_key(|s| s.key);
    let mut want = vec![
        persistent.clone(),
        v6.clone(),
        fwm4.clone(),
        fwm6.clone(),
        udp.clone(),
        mh.clone(),
        sip.clone(),
    ];
    want.sort_by_key(|s| s.key);
    assert_eq!(services, want);

    let mut d = ipvs.dests(&persistent.key).unwrap();
    d.sort_by_key(|d| d.addr);
    assert_eq!(
        d.iter().map(|d| d.weight).collect::<Vec<_>>(),
        [0, 65535, 100]
    );
    assert_eq!((d[2].upper_threshold, d[2].lower_threshold), (500, 50));
    let d6 = ipvs.dests(&v6.key).unwrap();
    assert_eq!(d6.len(), 2);
    assert!(
        d6.iter()
            .any(|d| d.addr == ip4("198.51.100.179") && d.forward == Forward::Tunnel)
    );
    // Tunnel encapsulation (GUE port and checksum flag, GRE) reads back as sent.
    let mut tun = ipvs.dests(&sip.key).unwrap();
    tun.sort_by_key(|d| d.addr);
    for d in &mut tun {
        d.stats = None;
    }
    assert_eq!(tun, [gue, gre]);
    assert_matches_ipvsadm(&mut ipvs);

    // A v4 destination behind a v6 service with a method other than tunnelling is refused.
    let err = ipvs
        .apply(&[Op::AddDest(
            v6.key,
            Dest::new(ip4("198.51.100.180"), 80, Forward::Route),
        )])
        .unwrap_err();
    assert_eq!(err.source.errno(), Some(libc::EINVAL), "{err}");
}

#[test]
#[ignore = "needs IPVS: run inside the VM (tests/vm/run.sh)"]
fn edit_and_delete() {
    let (_g, mut ipvs) = setup();
    let key = tcp("198.51.100.221", 80);
    let a = ip4("198.51.100.181");
    let b = ip4("198.51.100.182");
    ipvs.apply(&[
        Op::AddService(Service::new(key, "rr")),
        Op::AddDest(key, Dest::new(a, 80, Forward::Route)),
        Op::AddDest(key, Dest::new(b, 80, Forward::Route)),
    ])
    .unwrap();

    let mut edited = Service::new(key, "wlc").persistent(900);
    edited.netmask = 0xffff_0000;
    let mut ed = Dest::new(a, 80, Forward::Tunnel).weight(42);
    ed.upper_threshold = 10;
    ipvs.apply(&[
        Op::EditService(edited.clone()),
        Op::EditDest(key, ed.clone()),
        Op::DelDest(key, b, 80),
    ])
    .unwrap();
    let mut s = ipvs.services().unwrap();
    assert_eq!(s.len(), 1);
    s[0].stats = None;
    assert_eq!(s[0], edited);
    let d = ipvs.dests(&key).unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(
        (d[0].addr, d[0].forward, d[0].weight, d[0].upper_threshold),
        (a, Forward::Tunnel, 42, 10)
    );
    assert_matches_ipvsadm(&mut ipvs);

    // Persistence off again: the flags mask clears the bit.
    let plain = Service::new(key, "wlc");
    ipvs.apply(&[Op::EditService(plain.clone())]).unwrap();
    let mut s = ipvs.services().unwrap();
    s[0].stats = None;
    assert_eq!(s[0], plain);

    // Errors: each reported at its index, with the kernel's errno; the batch continues in the
    // kernel, so the valid op after the failing one is applied (see ApplyError).
    let c = ip4("198.51.100.183");
    let err = ipvs
        .apply(&[
            Op::AddDest(key, Dest::new(c, 80, Forward::Route)),
            Op::AddService(Service::new(key, "rr")),
            Op::DelDest(key, ip4("198.51.100.189"), 80),
        ])
        .unwrap_err();
    assert_eq!((err.index, err.sent), (1, 3));
    assert!(err.source.is_already_exists(), "{err}");
    assert_eq!(ipvs.dests(&key).unwrap().len(), 2);

    let err = ipvs
        .apply(&[Op::DelDest(key, ip4("198.51.100.189"), 80)])
        .unwrap_err();
    assert!(err.source.is_not_found(), "{err}");
    let missing = tcp("198.51.100.229", 80);
    let err = ipvs.apply(&[Op::DelService(missing)]).unwrap_err();
    assert!(err.source.is_not_found(), "{err}");
    // The kernel's destination dump cannot tell "no such service" from "no destinations".
    assert!(ipvs.dests(&missing).unwrap().is_empty());

    // Invalid ops are refused before anything is sent.
    let err = ipvs
        .apply(&[
            Op::DelService(key),
            Op::AddService(Service::new(key, "no-such-scheduler-name")),
        ])
        .unwrap_err();
    assert_eq!((err.index, err.sent), (1, 0));
    assert_eq!(ipvs.services().unwrap().len(), 1, "nothing was sent");

    ipvs.apply(&[Op::DelService(key)]).unwrap();
    assert!(ipvs.services().unwrap().is_empty());
    assert!(ipvsadm_table().is_empty());
}

#[test]
#[ignore = "needs IPVS: run inside the VM (tests/vm/run.sh)"]
fn batched_apply_of_10000_destinations() {
    let (_g, mut ipvs) = setup();
    // 10,000 distinct destinations fit only in IPv6's documentation range
    // (2001:db8::/32); the IPv4 test ranges hold 512 addresses.
    let key = tcp("2001:db8:40::1", 80);
    let mut ops = vec![Op::AddService(Service::new(key, "rr"))];
    for i in 0..10_000u32 {
        let addr = many_dest(i);
        ops.push(Op::AddDest(key, Dest::new(addr, 80, Forward::Route)));
    }
    let t = Instant::now();
    ipvs.apply(&ops).unwrap();
    let applied = t.elapsed();
    let t = Instant::now();
    let dests = ipvs.dests(&key).unwrap();
    let dumped = t.elapsed();
    assert_eq!(dests.len(), 10_000);
    let mut addrs: Vec<_> = dests.iter().map(|d| d.addr).collect();
    addrs.sort();
    addrs.dedup();
    assert_eq!(addrs.len(), 10_000);

    let t = Instant::now();
    ipvs.apply(&[Op::EditDest(
        key,
        Dest::new(many_dest(0x130f), 80, Forward::Route).weight(9),
    )])
    .unwrap();
    let edit = t.elapsed();
    let edited = ipvs
        .dests(&key)
        .unwrap()
        .into_iter()
        .find(|d| d.addr == many_dest(0x130f))
        .unwrap();
    assert_eq!(edited.weight, 9);

    let listed = sh("ipvsadm -Ln | grep -c -- '->'");
    assert_eq!(
        listed.trim(),
        "10001",
        "ipvsadm sees every destination (+ header)"
    );

    // Worst case for the reply path: a whole datagram of failing messages (every add exists
    // already). All their errors must fit the socket's receive buffer: the first one is
    // reported, not a lost-replies (ENOBUFS) I/O error, and apply stops after that datagram.
    let err = ipvs.apply(&ops[1..]).unwrap_err();
    assert_eq!((err.index, err.sent), (0, MAX_BATCH_MSGS), "{err}");
    assert!(err.source.is_already_exists(), "{err}");
    // The socket is still in step with the kernel afterwards.
    assert_eq!(ipvs.services().unwrap().len(), 1);
    assert_eq!(ipvs.dests(&key).unwrap().len(), 10_000);
    eprintln!(
        "10,000 destinations: apply {applied:?}, dump {dumped:?}, one EditDest {edit:?} (debug build, emulated)"
    );
}

#[test]
#[ignore = "needs IPVS: run inside the VM (tests/vm/run.sh)"]
fn ipvsadm_changes_are_visible() {
    let (_g, mut ipvs) = setup();
    sh("ipvsadm -A -t 198.51.100.241:8080 -s wlc -p 30 -M 255.255.255.0");
    sh("ipvsadm -a -t 198.51.100.241:8080 -r 198.51.100.191:8080 -m -w 7");
    sh("ipvsadm -a -t 198.51.100.241:8080 -r 198.51.100.192:8080 -i -w 3 -x 100 -y 10");
    sh("ipvsadm -A -f 99 -s rr");
    sh("ipvsadm -A -u [2001:db8::50]:53 -s dh");
    let mut s = ipvs.services().unwrap();
    s.sort_by_key(|s| s.key);
    assert_eq!(s.len(), 3);
    let key = tcp("198.51.100.241", 8080);
    let svc = s.iter().find(|s| s.key == key).expect("ipvsadm's service");
    assert_eq!(
        (svc.scheduler.as_str(), svc.timeout, svc.netmask),
        ("wlc", 30, 0xffff_ff00)
    );
    assert!(svc.flags.contains(ServiceFlags::PERSISTENT));
    assert!(s.iter().any(|s| s.key
        == ServiceKey::Fwmark {
            family: Family::V4,
            mark: 99
        }
        && s.scheduler == "rr"));
    assert!(s.iter().any(|s| s.key
        == ServiceKey::Addr {
            protocol: Protocol::Udp,
            addr: "2001:db8::50".parse().unwrap(),
            port: 53
        }
        && s.scheduler == "dh"));
    let mut d = ipvs.dests(&key).unwrap();
    d.sort_by_key(|d| d.addr);
    assert_eq!(
        d.iter()
            .map(|d| (d.forward, d.weight, d.upper_threshold, d.lower_threshold))
            .collect::<Vec<_>>(),
        [(Forward::Masq, 7, 0, 0), (Forward::Tunnel, 3, 100, 10)]
    );

    sh("ipvsadm -e -t 198.51.100.241:8080 -r 198.51.100.191:8080 -g -w 1");
    let d = ipvs.dests(&key).unwrap();
    let one = d.iter().find(|d| d.addr == ip4("198.51.100.191")).unwrap();
    assert_eq!((one.forward, one.weight), (Forward::Route, 1));
    assert_matches_ipvsadm(&mut ipvs);
}

#[test]
#[ignore = "needs IPVS: run inside the VM (tests/vm/run.sh)"]
fn info_and_timeouts() {
    let (_g, mut ipvs) = setup();
    let info = ipvs.info().unwrap();
    assert_eq!(info.version_string(), "1.2.1");
    let head = sh("ipvsadm -Ln | head -n1");
    assert_eq!(
        head.trim(),
        format!(
            "IP Virtual Server version {} (size={})",
            info.version_string(),
            info.conn_tab_size
        )
    );
    let before = ipvs.timeouts().unwrap();
    ipvs.set_timeouts(&Timeouts {
        tcp: 901,
        tcp_fin: 0,
        udp: 301,
    })
    .unwrap();
    let after = ipvs.timeouts().unwrap();
    assert_eq!(
        after,
        Timeouts {
            tcp: 901,
            tcp_fin: before.tcp_fin,
            udp: 301
        }
    );
    let line = sh("ipvsadm -L --timeout");
    assert_eq!(
        line.trim(),
        format!("Timeout (tcp tcpfin udp): 901 {} 301", before.tcp_fin)
    );
    ipvs.set_timeouts(&before).unwrap();
}

#[test]
#[ignore = "needs IPVS: run inside the VM (tests/vm/run.sh)"]
fn stats_are_readable() {
    let (_g, mut ipvs) = setup();
    // Locally generated packets to a VIP on lo are scheduled by IPVS (LOCAL_OUT hook); the
    // real server need not exist for the counters to move.
    sh("ip addr replace 198.51.100.251/32 dev lo");
    let key = ServiceKey::Addr {
        protocol: Protocol::Udp,
        addr: ip4("198.51.100.251"),
        port: 9000,
    };
    ipvs.apply(&[
        Op::AddService(Service::new(key, "rr")),
        Op::AddDest(key, Dest::new(ip4("127.0.0.1"), 9001, Forward::Local)),
    ])
    .unwrap();
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    for _ in 0..10 {
        sock.send_to(b"0123456789", "198.51.100.251:9000").unwrap();
    }
    // Counters are folded in by the kernel's 2-second estimator: poll.
    let deadline = Instant::now() + Duration::from_secs(20);
    let stats = loop {
        let s = ipvs.services().unwrap();
        let st = s[0].stats.expect("stats");
        if st.inpkts >= 10 || Instant::now() > deadline {
            break st;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(stats.conns, 1, "{stats:?}");
    assert_eq!(stats.inpkts, 10, "{stats:?}");
    assert!(stats.inbytes >= 10 * 38, "{stats:?}");
    let d = ipvs.dests(&key).unwrap();
    assert_eq!(d[0].stats.expect("dest stats").inpkts, 10);
    // ipvsadm agrees on every counter (conns, inpkts, outpkts, inbytes, outbytes). With Local
    // forwarding the ICMP port-unreachable answers count as outgoing packets.
    let line = sh("ipvsadm -Ln --stats --exact | grep '^UDP'");
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(2)
        .map(|f| f.parse().unwrap())
        .collect();
    let st = ipvs.services().unwrap()[0].stats.unwrap();
    assert_eq!(
        fields,
        [st.conns, st.inpkts, st.outpkts, st.inbytes, st.outbytes],
        "{line}"
    );
    sh("ip addr del 198.51.100.251/32 dev lo");
}

/// LVS-DR end to end: client → director (the VM's own namespace, programmed by this client) →
/// two real servers in namespaces with the VIP on lo; round robin alternates them, and the
/// replies bypass the director (its outgoing counters stay at 0).
#[test]
#[ignore = "needs IPVS: run inside the VM (tests/vm/run.sh)"]
fn direct_routing_end_to_end() {
    bypass_lab(Forward::Route);
}

/// LVS-TUN end to end: as DR, but the director encapsulates in IP-in-IP and the real servers
/// take the VIP on their tunl0.
#[test]
#[ignore = "needs IPVS: run inside the VM (tests/vm/run.sh)"]
fn tunnel_end_to_end() {
    bypass_lab(Forward::Tunnel);
}

/// The lab of the methods whose replies bypass the director (DR and TUN).
fn bypass_lab(forward: Forward) {
    let (_g, mut ipvs) = setup();
    let bb = "/bin/busybox";
    // TUN: real servers decapsulate on tunl0 (the ipip module gives every namespace one) and
    // must not drop the inner packet for arriving on an interface they would not answer on.
    let tun = if forward == Forward::Tunnel {
        "modprobe ipip
        for i in 1 2; do
            ip -n rs$i link set tunl0 up
            ip -n rs$i addr add 198.51.100.10/32 dev tunl0
            ip netns exec rs$i sysctl -qw net.ipv4.conf.all.rp_filter=0 \
                net.ipv4.conf.tunl0.rp_filter=0 net.ipv4.conf.default.rp_filter=0
        done"
    } else {
        ""
    };
    // Topology: a bridge in "sw"; the director's leg dr0 stays in this namespace.
    sh(&format!(
        "set -e
        ip netns add sw
        ip -n sw link add br0 type bridge stp_state 0 forward_delay 0
        ip -n sw link set br0 up
        ip link add dr0 type veth peer name p-dr netns sw
        ip -n sw link set p-dr master br0 up
        ip addr add 198.51.100.1/24 dev dr0
        ip addr add 198.51.100.10/32 dev dr0
        ip link set dr0 up
        for h in c rs1 rs2; do
            ip netns add $h
            ip -n sw link add p-$h type veth peer name eth0 netns $h
            ip -n sw link set p-$h master br0 up
            ip -n $h link set lo up
            ip -n $h link set eth0 up
        done
        ip -n c addr add 198.51.100.100/24 dev eth0
        for i in 1 2; do
            ip -n rs$i addr add 198.51.100.1$i/24 dev eth0
            ip -n rs$i addr add 198.51.100.10/32 dev lo
            ip netns exec rs$i sysctl -qw net.ipv4.conf.all.arp_ignore=1 \
                net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.lo.arp_ignore=1 \
                net.ipv4.conf.lo.arp_announce=2
            mkdir -p /tmp/www-rs$i
            echo rs$i >/tmp/www-rs$i/index.html
            ip netns exec rs$i {bb} httpd -p 80 -h /tmp/www-rs$i
        done
        {tun}"
    ));
    let key = tcp("198.51.100.10", 80);
    ipvs.apply(&[
        Op::AddService(Service::new(key, "rr")),
        Op::AddDest(key, Dest::new(ip4("198.51.100.11"), 80, forward)),
        Op::AddDest(key, Dest::new(ip4("198.51.100.12"), 80, forward)),
    ])
    .unwrap();

    let mut answers = Vec::new();
    for _ in 0..6 {
        let out = sh(&format!(
            "ip netns exec c {bb} timeout 10 {bb} wget -q -O - http://198.51.100.10/"
        ));
        answers.push(out.trim().to_string());
    }
    // Counters are folded in every 2 s.
    let deadline = Instant::now() + Duration::from_secs(20);
    let stats = loop {
        let st = ipvs.services().unwrap()[0].stats.unwrap();
        if st.conns >= 6 || Instant::now() > deadline {
            break st;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    let dests = ipvs.dests(&key).unwrap();
    sh("for h in rs1 rs2 c sw; do
            for p in $(ip netns pids $h); do kill $p; done
            ip netns del $h
        done");
    ipvs.apply(&[Op::Flush]).unwrap();

    assert!(
        answers.windows(2).all(|w| w[0] != w[1]),
        "round robin alternates: {answers:?}"
    );
    assert!(
        answers.iter().all(|a| a == "rs1" || a == "rs2"),
        "{answers:?}"
    );
    assert_eq!(stats.conns, 6, "{stats:?}");
    assert!(
        stats.inpkts >= 6 * 4,
        "client packets go through: {stats:?}"
    );
    assert_eq!(stats.outpkts, 0, "replies bypass the director: {stats:?}");
    for d in dests {
        assert_eq!(d.stats.unwrap().conns, 3, "{d:?}");
    }
}

/// LVS-NAT end to end: the client sits in another subnet; real servers route back through the
/// director, which rewrites both directions (its outgoing counters now move, unlike DR).
#[test]
#[ignore = "needs IPVS: run inside the VM (tests/vm/run.sh)"]
fn nat_end_to_end() {
    let (_g, mut ipvs) = setup();
    let bb = "/bin/busybox";
    sh(&format!(
        "set -e
        sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0
        ip netns add nsw
        ip -n nsw link add br0 type bridge stp_state 0 forward_delay 0
        ip -n nsw link set br0 up
        ip link add ndr0 type veth peer name p-dr netns nsw
        ip -n nsw link set p-dr master br0 up
        sysctl -qw net.ipv4.conf.ndr0.send_redirects=0
        ip addr add 203.0.113.1/25 dev ndr0
        ip addr add 203.0.113.129/25 dev ndr0
        ip addr add 203.0.113.138/32 dev ndr0
        ip link set ndr0 up
        for h in nc nrs1 nrs2; do
            ip netns add $h
            ip -n nsw link add p-$h type veth peer name eth0 netns $h
            ip -n nsw link set p-$h master br0 up
            ip -n $h link set lo up
            ip -n $h link set eth0 up
        done
        ip -n nc addr add 203.0.113.228/25 dev eth0
        for i in 1 2; do
            ip -n nrs$i addr add 203.0.113.1$i/25 dev eth0
            ip -n nrs$i route add default via 203.0.113.1
            mkdir -p /tmp/www-nrs$i
            echo nrs$i >/tmp/www-nrs$i/index.html
            ip netns exec nrs$i {bb} httpd -p 8080 -h /tmp/www-nrs$i
        done"
    ));
    let key = tcp("203.0.113.138", 80);
    ipvs.apply(&[
        Op::AddService(Service::new(key, "rr")),
        Op::AddDest(key, Dest::new(ip4("203.0.113.11"), 8080, Forward::Masq)),
        Op::AddDest(key, Dest::new(ip4("203.0.113.12"), 8080, Forward::Masq)),
    ])
    .unwrap();

    let mut answers = Vec::new();
    for _ in 0..4 {
        let out = sh(&format!(
            "ip netns exec nc {bb} timeout 10 {bb} wget -q -O - http://203.0.113.138/"
        ));
        answers.push(out.trim().to_string());
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let stats = loop {
        let st = ipvs.services().unwrap()[0].stats.unwrap();
        if (st.conns >= 4 && st.outpkts > 0) || Instant::now() > deadline {
            break st;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    sh("for h in nrs1 nrs2 nc nsw; do
            for p in $(ip netns pids $h); do kill $p; done
            ip netns del $h
        done
        sysctl -qw net.ipv4.ip_forward=0");
    ipvs.apply(&[Op::Flush]).unwrap();

    assert!(
        answers.windows(2).all(|w| w[0] != w[1]),
        "round robin alternates: {answers:?}"
    );
    assert!(
        answers.iter().all(|a| a == "nrs1" || a == "nrs2"),
        "{answers:?}"
    );
    assert_eq!(stats.conns, 4, "{stats:?}");
    assert!(
        stats.outpkts >= 4 * 3,
        "replies come back through the director: {stats:?}"
    );
}
