//! Table-apply benchmark against a real IPVS (run inside the VM: `tests/vm/bench-ipvs.sh`).
//!
//! One service (scheduler from argv[1], default rr) + 10,000 DR destinations:
//! - batched `Ipvs::apply` vs the same ops one `apply` call (one datagram, one ACK) each, vs
//!   `ipvsadm -R` of the equivalent rules;
//! - one `EditDest` inside the 10,000-destination table, vs `ipvsadm -e`;
//! - the dump of the 10,000 destinations, vs `ipvsadm -Ln`.
//!
//! Prints figures; asserts nothing beyond each step succeeding. It flushes the IPVS table of
//! the current network namespace: do not run it on a director in service.
// std::time::Instant: a benchmark measures real time (clippy.toml bans it elsewhere).
#![allow(clippy::disallowed_types)]

use std::io::Write;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use keepalived_ipvs::{Dest, Forward, Ipvs, Op, Protocol, Service, ServiceKey};

const N: u32 = 10_000;
const RUNS: usize = 3;

/// The `i`th destination, 2001:db8:64::i: 10,000 distinct destinations fit
/// only in IPv6's documentation range (the IPv4 test ranges hold 512).
fn dest_addr(i: u32) -> IpAddr {
    IpAddr::V6(Ipv6Addr::from(
        0x2001_0db8_0064_0000_0000_0000_0000_0000_u128 + u128::from(i),
    ))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn fmt(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

fn ipvsadm(args: &[&str], stdin: Option<&[u8]>) -> Duration {
    let t = Instant::now();
    let mut child = Command::new("ipvsadm")
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn ipvsadm");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("feed ipvsadm");
    }
    let status = child.wait().expect("wait ipvsadm");
    assert!(status.success(), "ipvsadm {args:?} failed");
    t.elapsed()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sched = std::env::args().nth(1).unwrap_or_else(|| "rr".into());
    let vip: IpAddr = "2001:db8:40::1".parse()?;
    let key = ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: vip,
        port: 80,
    };
    let mut ops = vec![Op::AddService(Service::new(key, sched.as_str()))];
    ops.extend((0..N).map(|i| Op::AddDest(key, Dest::new(dest_addr(i), 80, Forward::Route))));

    // The same table through ipvsadm (libipvs over the same generic netlink, one ACK per
    // message), including its process start-up as an operator or keepalived would pay it.
    let service = SocketAddr::new(vip, 80);
    let mut rules = format!("-A -t {service} -s {sched}\n");
    for i in 0..N {
        rules.push_str(&format!(
            "-a -t {service} -r {} -g -w 1\n",
            SocketAddr::new(dest_addr(i), 80)
        ));
    }

    // Runs alternate between the contenders so that a busy host slows them alike.
    let mut ipvs = Ipvs::open()?;
    let mut batched = Vec::new();
    let mut restore = Vec::new();
    let mut flush = Vec::new();
    for _ in 0..RUNS {
        ipvs.apply(&[Op::Flush])?;
        let t = Instant::now();
        ipvs.apply(&ops)?;
        batched.push(t.elapsed());
        let t = Instant::now();
        ipvs.apply(&[Op::Flush])?;
        flush.push(t.elapsed());
        restore.push(ipvsadm(&["-R"], Some(rules.as_bytes())));
        ipvsadm(&["-C"], None);
    }

    let t = Instant::now();
    for op in &ops {
        ipvs.apply(std::slice::from_ref(op))?;
    }
    let one_by_one = t.elapsed();

    let mut dump = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let n = ipvs.dests(&key)?.len();
        dump.push(t.elapsed());
        assert_eq!(n, N as usize);
    }

    let mut edit = Vec::new();
    for i in 0..20u32 {
        let d = Dest::new(dest_addr(i * 499), 80, Forward::Route).weight(2 + i);
        let t = Instant::now();
        ipvs.apply(&[Op::EditDest(key, d)])?;
        edit.push(t.elapsed());
    }

    let mut ipvsadm_edit = Vec::new();
    for i in 0..5u32 {
        let r = SocketAddr::new(dest_addr(i * 1999), 80).to_string();
        let w = (3 + i).to_string();
        ipvsadm_edit.push(ipvsadm(
            &[
                "-e",
                "-t",
                &SocketAddr::new(vip, 80).to_string(),
                "-r",
                &r,
                "-g",
                "-w",
                &w,
            ],
            None,
        ));
    }
    let list = ipvsadm(&["-Ln"], None);
    let ipvsadm_true = ipvsadm(&["--version"], None);
    ipvs.apply(&[Op::Flush])?;

    println!("IPVS apply benchmark: 1 {sched} service + {N} DR destinations (median of {RUNS})");
    println!(
        "  keepalived-ipvs apply, batched        {}",
        fmt(median(batched.clone()))
    );
    println!("    all runs: {batched:?}");
    println!(
        "  keepalived-ipvs apply, one op a call  {}",
        fmt(one_by_one)
    );
    println!(
        "  ipvsadm -R                            {}",
        fmt(median(restore.clone()))
    );
    println!("    all runs: {restore:?}");
    println!(
        "  one EditDest in the full table        {:?} (median of 20)",
        median(edit)
    );
    println!(
        "  ipvsadm -e, same change               {:?} (median of 5)",
        median(ipvsadm_edit)
    );
    println!("  ipvsadm --version (exec cost alone)   {ipvsadm_true:?}");
    println!("  dump of {N} dests (dests())        {:?}", median(dump));
    println!("  ipvsadm -Ln                           {list:?}");
    println!("  Flush op with {N} dests             {:?}", median(flush));
    Ok(())
}
