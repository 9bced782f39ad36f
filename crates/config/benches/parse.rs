//! Parse + validate time for a large generated configuration:
//! 1,000 vrrp_instances and 2,000 virtual servers × 20 real servers (40,000 checkers).
//! Run with `cargo bench -p keepalived-config`; prints wall-clock figures (std::time).
// std::time::Instant: a benchmark measures real time (clippy.toml bans it elsewhere).
#![allow(clippy::disallowed_types)]

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use keepalived_config::{LoadOptions, load_str};

fn generate() -> String {
    let mut s = String::with_capacity(32 << 20);
    s.push_str("global_defs {\n    router_id bench\n}\n");
    s.push_str("vrrp_script chk {\n    script \"/bin/true\"\n    interval 2\n    weight -10\n}\n");
    for i in 0..1000u32 {
        let _ = write!(
            s,
            "vrrp_instance VI_{i} {{\n    state BACKUP\n    interface eth{}\n    virtual_router_id {}\n    priority 100\n    advert_int 1\n    authentication {{\n        auth_type PASS\n        auth_pass secret\n    }}\n    virtual_ipaddress {{\n        10.{}.{}.1/24 dev eth0\n    }}\n    track_script {{\n        chk\n    }}\n}}\n",
            i / 255,
            i % 255 + 1,
            i / 250,
            i % 250
        );
    }
    for v in 0..2000u32 {
        let _ = write!(
            s,
            "virtual_server 10.200.{}.{} 80 {{\n    delay_loop 5\n    lb_algo rr\n    lb_kind DR\n    protocol TCP\n",
            v / 250,
            v % 250 + 1
        );
        for r in 0..20u32 {
            let _ = write!(
                s,
                "    real_server 10.100.{}.{} 80 {{\n        weight 1\n        HTTP_GET {{\n            url {{\n                path /health\n                status_code 200\n            }}\n            connect_timeout 2\n            retry 3\n            delay_before_retry 1\n        }}\n    }}\n",
                v % 250,
                r + 1
            );
        }
        s.push_str("}\n");
    }
    s
}

/// This process's user+system CPU time, from /proc/self/stat (clock ticks of 10 ms): on a
/// shared machine wall time includes waiting for a CPU, CPU time does not.
fn cpu_time() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn main() {
    let text = generate();
    let lines = text.lines().count();
    let opts = LoadOptions::default();
    let mut times = Vec::new();
    let mut cpu = Vec::new();
    for _ in 0..5 {
        let c0 = cpu_time();
        let t = Instant::now();
        let loaded = load_str(&text, Path::new("/bench/keepalived.conf"), &opts)
            .expect("generated config parses");
        let dt = t.elapsed();
        if let (Some(a), Some(b)) = (c0, cpu_time()) {
            cpu.push(b - a);
        }
        let checkers: usize = loaded
            .config
            .virtual_servers
            .iter()
            .flat_map(|v| &v.real_servers)
            .map(|r| r.checkers.len())
            .sum();
        assert_eq!(loaded.config.vrrp_instances.len(), 1000);
        assert_eq!(checkers, 40_000);
        times.push(dt);
    }
    times.sort();
    println!(
        "parse+validate: {} bytes, {lines} lines, 1000 vrrp_instances, 2000 virtual_servers, 40000 checkers",
        text.len()
    );
    println!(
        "  min {:.3} s, median {:.3} s, max {:.3} s over {} runs (goal < 0.25 s)",
        times[0].as_secs_f64(),
        times[times.len() / 2].as_secs_f64(),
        times[times.len() - 1].as_secs_f64(),
        times.len()
    );
    if !cpu.is_empty() {
        cpu.sort_by(f64::total_cmp);
        println!(
            "  CPU time (user+sys): min {:.2} s, median {:.2} s (10 ms resolution)",
            cpu[0],
            cpu[cpu.len() / 2]
        );
    }
}
