//! Table-apply benchmark (not a timed test): how long ipvs-manager takes to
//! put 10,000 real servers into the kernel, and to apply one change inside a
//! 10,000-server table — our own time (desired state, diff, rendering)
//! separately from the data plane's (`nft -f`, or the IPVS netlink batch).
//!
//! Run through `bench/run.sh` (a fresh network namespace for nft; the VM of
//! tests/vm for IPVS). Arguments: the plane (`nft`, `ipvs`, or `ours`: only
//! our part of the one change, in memory, without root or nft, for `perf
//! record`), the repetitions, and optionally the one case to run (`2.`).
// std::time::Instant: a benchmark measures real time (clippy.toml bans it elsewhere).
#![allow(clippy::disallowed_types)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ipvs_manager::backend::Backend;
use ipvs_manager::backend::nft::{self, NftBackend};
use ipvs_manager::desired::{self, Desired, Overrides};
use ipvs_manager::health::{Policy, VerdictBook};
use ipvs_manager::maglev;
use ipvs_manager::reconcile::{diff, diff_dests, diff_services};
use ipvs_manager::spec::{RsSpec, Spec, VsName, VsSpec};
use ipvs_manager::table::{Change, DestKey, Method, Proto, ServiceKey, ServiceSpec, TableState};
use keepalived_api::v1;
use keepalived_bus::{Update, UpstreamUpdate};

fn plan(services: usize, per_service: usize, method: Method, scheduler: &str) -> Spec {
    let mut p = Spec::default();
    for s in 0..services {
        let vip = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 10));
        let port = 1000 + s as u16;
        let name = VsName::Addr {
            proto: Proto::Tcp,
            ip: vip,
            port,
        };
        // Distinct (address, port) pairs inside 203.0.113.0/24 (the only
        // range for real servers here): 250 addresses × 40 ports for 10,000.
        let real_servers = (0..per_service)
            .map(|i| RsSpec {
                key: DestKey {
                    ip: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 1 + (i % 250) as u8)),
                    port: 10_000 + (i / 250) as u16,
                },
                weight: 1,
                method,
                inhibit: false,
                checked: true,
                alpha: false,
            })
            .collect();
        p.virtual_servers.push(VsSpec {
            name,
            services: vec![ServiceKey::Addr {
                proto: Proto::Tcp,
                ip: vip,
                port,
            }],
            spec: ServiceSpec {
                scheduler: scheduler.into(),
                persistence: None,
                ops: false,
            },
            method,
            real_servers,
            sorry: None,
            quorum: 1,
            hysteresis: 0,
            omega: false,
        });
    }
    p
}

/// The prober's target number `n`: a TCP_CHECK of `rs` in `vs`.
fn target(n: usize, vs: &v1::VirtualServerKey, rs: DestKey, up: bool) -> v1::Target {
    v1::Target {
        id: format!("t{n}"),
        checker: "TCP_CHECK".into(),
        real_server: Some(v1::AddressPort {
            address: rs.ip.to_string(),
            port: u32::from(rs.port),
        }),
        virtual_servers: vec![vs.clone()],
        verdict: if up {
            v1::Verdict::Up
        } else {
            v1::Verdict::Down
        } as i32,
        ..Default::default()
    }
}

fn vs_key(p: &Spec) -> v1::VirtualServerKey {
    let VsName::Addr { ip, port, .. } = p.virtual_servers[0].name else {
        unreachable!("the bench's virtual servers are addresses")
    };
    v1::VirtualServerKey {
        kind: Some(v1::virtual_server_key::Kind::AddressPort(v1::AddressPort {
            address: ip.to_string(),
            port: u32::from(port),
        })),
        protocol: v1::Protocol::Tcp as i32,
    }
}

/// The prober's verdict on the first real server of the first virtual
/// server (target t0) turning down.
fn first_server_down(p: &Spec) -> UpstreamUpdate<v1::HealthEvent> {
    let rs = p.virtual_servers[0].real_servers[0].key;
    UpstreamUpdate {
        upstream: "unix:/run/prober".into(),
        update: Update::Delta(v1::HealthEvent {
            payload: Some(v1::health_event::Payload::TargetChanged(v1::TargetChange {
                target: Some(target(0, &vs_key(p), rs, false)),
                reason: "TCP connection failed".into(),
                ..Default::default()
            })),
            ..Default::default()
        }),
    }
}

/// What one health-prober says of every real server of `p`: up, one
/// TCP_CHECK each (the engine computes the desired state with it).
fn verdicts(p: &Spec) -> VerdictBook {
    let mut targets = vec![];
    for vs in &p.virtual_servers {
        let VsName::Addr { ip, port, .. } = vs.name else {
            continue;
        };
        let vs_key = v1::VirtualServerKey {
            kind: Some(v1::virtual_server_key::Kind::AddressPort(v1::AddressPort {
                address: ip.to_string(),
                port: u32::from(port),
            })),
            protocol: v1::Protocol::Tcp as i32,
        };
        for rs in &vs.real_servers {
            targets.push(target(targets.len(), &vs_key, rs.key, true));
        }
    }
    let mut book = VerdictBook::default();
    book.update(&UpstreamUpdate {
        upstream: "unix:/run/prober".into(),
        update: Update::Snapshot(v1::HealthEvent {
            header: Some(v1::EventHeader {
                producer: "health-prober@bench".into(),
                ..Default::default()
            }),
            payload: Some(v1::health_event::Payload::Snapshot(v1::HealthSnapshot {
                targets,
            })),
        }),
    });
    book
}

fn compute(
    p: &Spec,
    book: &VerdictBook,
    overrides: &Overrides,
    quorum: &mut HashMap<VsName, bool>,
) -> Desired {
    desired::compute(p, book, Policy::Majority, overrides, quorum)
}

/// What the engine does for an operator override: recompute the one virtual
/// server (index 0) in place and diff its services only.
fn one_change(
    p: &Spec,
    book: &VerdictBook,
    want: &mut Desired,
    quorum: &mut HashMap<VsName, bool>,
    observed: &TableState,
    scope: &BTreeSet<ServiceKey>,
) -> Vec<Change> {
    let replaced = desired::update_vs(
        want,
        p,
        0,
        book,
        Policy::Majority,
        &one_weight_change(p),
        quorum,
    );
    diff_of(want, observed, scope, &replaced)
}

/// The diff the engine makes after `update_vs`: of the edited destinations
/// when it says which, else of the touched services.
fn diff_of(
    want: &Desired,
    observed: &TableState,
    scope: &BTreeSet<ServiceKey>,
    replaced: &desired::Replaced,
) -> Vec<Change> {
    replaced
        .dests
        .as_ref()
        .and_then(|dests| diff_dests(&want.table, observed, &replaced.touched, dests))
        .unwrap_or_else(|| diff_services(&want.table, observed, scope, &replaced.touched))
}

/// What the engine does for a health verdict (`reconcile_health`): the
/// book takes it, then the virtual servers holding a real server whose
/// verdicts changed are computed again (their other verdicts taken over)
/// and diffed.
fn verdict_change(
    p: &Spec,
    book: &mut VerdictBook,
    want: &mut Desired,
    quorum: &mut HashMap<VsName, bool>,
    observed: &TableState,
    scope: &BTreeSet<ServiceKey>,
) -> Vec<Change> {
    book.update(&first_server_down(p));
    let changed = book.changed_since(want.book_generation).expect("a delta");
    let (mut touched, mut edited) = (BTreeSet::new(), Some(BTreeSet::new()));
    for (index, vs) in p.virtual_servers.iter().enumerate() {
        if changed.iter().any(|(rs, name)| {
            name.as_ref().is_none_or(|n| *n == vs.name)
                && vs.real_servers.iter().any(|r| r.key == *rs)
        }) {
            let replaced = desired::update_vs(
                want,
                p,
                index,
                book,
                Policy::Majority,
                &one_weight_change(p),
                quorum,
            );
            touched.extend(replaced.touched.iter().copied());
            edited = edited.and_then(|mut all: BTreeSet<DestKey>| {
                all.extend(replaced.dests.as_ref()?);
                Some(all)
            });
        }
    }
    want.book_generation = book.generation();
    edited
        .and_then(|dests| diff_dests(&want.table, observed, &touched, &dests))
        .unwrap_or_else(|| diff_services(&want.table, observed, scope, &touched))
}

/// What the nft backend sends for `changes` from `before`: element updates
/// when the rules stay, else a rewrite. Returns the text and the new table.
fn nft_text(
    memo: &mut nft::SlotMemo,
    before: &TableState,
    changes: &[Change],
) -> (String, TableState) {
    let mut after = before.clone();
    after.apply(changes).unwrap();
    let text = match nft::incremental_memo(memo, before, &after, changes, "lo") {
        Some(text) => text,
        None => nft::render_memo(memo, &after, "lo").unwrap(),
    };
    (text, after)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn stats(v: &mut [f64]) -> String {
    v.sort_by(f64::total_cmp);
    format!(
        "min {:8.1}  median {:8.1}  max {:8.1} ms",
        v[0],
        v[v.len() / 2],
        v[v.len() - 1]
    )
}

fn nft_load(text: &str) -> Duration {
    let t = Instant::now();
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("nft");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "nft refused the ruleset");
    t.elapsed()
}

/// The change of one real server's weight (operator override) in the first service.
fn one_weight_change(p: &Spec) -> Overrides {
    let vs = &p.virtual_servers[0];
    let mut o = Overrides::default();
    o.insert(
        (vs.name.clone(), vs.real_servers[0].key),
        desired::Override {
            weight: Some(2),
            drained: false,
        },
    );
    o
}

struct Row {
    ours: Vec<f64>,
    plane: Vec<f64>,
    changes: usize,
    bytes: usize,
}

fn bench_nft(label: &str, p: &Spec, book: &VerdictBook, reps: usize) {
    let scope = BTreeSet::new();
    let mut full = Row {
        ours: vec![],
        plane: vec![],
        changes: 0,
        bytes: 0,
    };
    // Of "ours" for one change: the desired state of the virtual server and its diff.
    let mut one_split = vec![];
    let mut one = Row {
        ours: vec![],
        plane: vec![],
        changes: 0,
        bytes: 0,
    };
    let (mut verdict_split, mut verdict) = (
        vec![],
        Row {
            ours: vec![],
            plane: vec![],
            changes: 0,
            bytes: 0,
        },
    );
    let mut last = TableState::default();
    for _ in 0..reps {
        // The backend's memo of slot rules, as it is after the full apply.
        let mut memo = nft::SlotMemo::default();
        // Start from an empty kernel table.
        nft_load(&nft::render(&TableState::default(), "lo").unwrap());
        let t = Instant::now();
        let mut quorum = HashMap::new();
        let mut want = compute(p, book, &Overrides::default(), &mut quorum);
        let changes = diff(&want.table, &TableState::default(), &scope);
        let mut next = TableState::default();
        next.apply(&changes).unwrap();
        let text = nft::render_memo(&mut memo, &next, "lo").unwrap();
        full.ours.push(ms(t.elapsed()));
        full.plane.push(ms(nft_load(&text)));
        full.changes = changes.len();
        full.bytes = text.len();

        let t = Instant::now();
        let changes = one_change(p, book, &mut want, &mut quorum, &next, &scope);
        let t_diff = t.elapsed();
        let (text, after) = nft_text(&mut memo, &next, &changes);
        one.ours.push(ms(t.elapsed()));
        one_split.push(ms(t_diff));
        one.plane.push(ms(nft_load(&text)));
        one.changes = changes.len();
        one.bytes = text.len();

        let mut book = book.clone();
        let t = Instant::now();
        let changes = verdict_change(p, &mut book, &mut want, &mut quorum, &after, &scope);
        let t_diff = t.elapsed();
        let (text, after) = nft_text(&mut memo, &after, &changes);
        verdict.ours.push(ms(t.elapsed()));
        verdict_split.push(ms(t_diff));
        verdict.plane.push(ms(nft_load(&text)));
        verdict.changes = changes.len();
        verdict.bytes = text.len();
        last = after;
    }
    // The backend's own read-back of the big table (adoption at start).
    let mut backend = NftBackend::new("nft", "lo");
    let t = Instant::now();
    let observed = backend.observe().expect("observe");
    let observe_ms = ms(t.elapsed());
    assert!(
        observed.table == last,
        "the table read back is not the one applied"
    );
    println!("nft {label}");
    println!(
        "  full apply   ({:>5} changes, {:>8} bytes of nft): ours {}",
        full.changes,
        full.bytes,
        stats(&mut full.ours)
    );
    println!("{:57}nft  {}", "", stats(&mut full.plane));
    println!(
        "  one change   ({:>5} change,  {:>8} bytes of nft): ours {}",
        one.changes,
        one.bytes,
        stats(&mut one.ours)
    );
    println!("{:57}nft  {}", "", stats(&mut one.plane));
    println!(
        "{:38}of ours, desired + diff: {}",
        "",
        stats(&mut one_split)
    );
    println!(
        "  verdict down ({:>5} change,  {:>8} bytes of nft): ours {}",
        verdict.changes,
        verdict.bytes,
        stats(&mut verdict.ours)
    );
    println!("{:57}nft  {}", "", stats(&mut verdict.plane));
    println!(
        "{:38}of ours, desired + diff: {}",
        "",
        stats(&mut verdict_split)
    );
    println!("  observe (nft -j list + parse) of the whole table: {observe_ms:.1} ms");
}

/// Only our own part of bench_nft's one change, in memory (no nft, no root):
/// many repetitions, for `perf record` and quick comparisons.
fn bench_ours(label: &str, p: &Spec, book: &VerdictBook, reps: usize) {
    let scope = BTreeSet::new();
    let mut memo = nft::SlotMemo::default();
    let mut quorum = HashMap::new();
    let want = compute(p, book, &Overrides::default(), &mut quorum);
    let changes = diff(&want.table, &TableState::default(), &scope);
    let mut next = TableState::default();
    next.apply(&changes).unwrap();
    nft::render_memo(&mut memo, &next, "lo").unwrap();
    let (mut ours, mut split) = (vec![], vec![]);
    let (mut verdict, mut verdict_split) = (vec![], vec![]);
    let (mut bytes, mut verdict_bytes) = (0, 0);
    for _ in 0..reps {
        // Each repetition starts from the state after the full apply.
        let (mut want, mut quorum, mut memo) = (want.clone(), quorum.clone(), memo.clone());
        let t = Instant::now();
        let changes = one_change(p, book, &mut want, &mut quorum, &next, &scope);
        let t_diff = t.elapsed();
        let (text, after) = nft_text(&mut memo, &next, &changes);
        ours.push(ms(t.elapsed()));
        split.push(ms(t_diff));
        bytes = text.len();

        let mut book = book.clone();
        let t = Instant::now();
        let changes = verdict_change(p, &mut book, &mut want, &mut quorum, &after, &scope);
        let t_diff = t.elapsed();
        let (text, _) = nft_text(&mut memo, &after, &changes);
        verdict.push(ms(t.elapsed()));
        verdict_split.push(ms(t_diff));
        verdict_bytes = text.len();
    }
    println!("ours {label}");
    println!(
        "  one change   ({bytes:>8} bytes of nft): ours {}",
        stats(&mut ours)
    );
    println!("{:29}desired + diff: {}", "", stats(&mut split));
    println!(
        "  verdict down ({verdict_bytes:>8} bytes of nft): ours {}",
        stats(&mut verdict)
    );
    println!("{:29}desired + diff: {}", "", stats(&mut verdict_split));
}

/// The Maglev fill alone, 10,000 backends in 65,521 slots: from scratch,
/// and with the permutations kept from an earlier build (as the backend's
/// memo does), equal weights and one weight 2.
fn bench_maglev(reps: usize) {
    let size = maglev::SIZES[2];
    let mut backends: Vec<maglev::Server> = (0..10_000)
        .map(|i| maglev::Server {
            ip: IpAddr::V4(Ipv4Addr::new(203, 0, 113, 1 + (i % 250) as u8)),
            port: 10_000 + (i / 250) as u16,
            weight: 1,
        })
        .collect();
    backends.sort();
    let perms: Vec<maglev::Permutation> = backends
        .iter()
        .map(|b| maglev::Permutation::of(b.ip, b.port, size))
        .collect();
    println!("Maglev fill, 10,000 backends, {size} slots");
    for weighted in [false, true] {
        backends[0].weight = if weighted { 2 } else { 1 };
        let (mut scratch, mut kept) = (vec![], vec![]);
        for _ in 0..reps {
            let t = Instant::now();
            std::hint::black_box(maglev::build(&backends, size));
            scratch.push(ms(t.elapsed()));
            let t = Instant::now();
            std::hint::black_box(maglev::build_with(&backends, |i| perms[i], size));
            kept.push(ms(t.elapsed()));
        }
        let what = if weighted {
            "one weight 2"
        } else {
            "equal weights"
        };
        println!("  {what:13}  from scratch {}", stats(&mut scratch));
        println!("  {:13}  permutations kept {}", "", stats(&mut kept));
    }
}

fn bench_ipvs(label: &str, p: &Spec, book: &VerdictBook, reps: usize) {
    let mut b = ipvs_manager::backend::ipvs::IpvsBackend::open().expect("IPVS");
    let scope: BTreeSet<ServiceKey> = p.service_keys();
    let (mut ours_full, mut plane_full, mut ours_one, mut plane_one) =
        (vec![], vec![], vec![], vec![]);
    let mut n = (0, 0);
    for _ in 0..reps {
        let keys: Vec<_> = b.observe().unwrap().table.services.into_keys().collect();
        b.remove_services(&keys).unwrap();
        let t = Instant::now();
        let mut quorum = HashMap::new();
        let mut want = compute(p, book, &Overrides::default(), &mut quorum);
        let changes = diff(&want.table, &TableState::default(), &scope);
        ours_full.push(ms(t.elapsed()));
        let t = Instant::now();
        b.apply(&TableState::default(), &changes).unwrap();
        plane_full.push(ms(t.elapsed()));
        n.0 = changes.len();

        let observed = want.table.clone();
        let t = Instant::now();
        let changes = one_change(p, book, &mut want, &mut quorum, &observed, &scope);
        ours_one.push(ms(t.elapsed()));
        let t = Instant::now();
        b.apply(&observed, &changes).unwrap();
        plane_one.push(ms(t.elapsed()));
        n.1 = changes.len();
    }
    let t = Instant::now();
    let observed = b.observe().unwrap();
    let observe_ms = ms(t.elapsed());
    let keys: Vec<_> = observed.table.services.into_keys().collect();
    b.remove_services(&keys).unwrap();
    println!("ipvs {label}");
    println!(
        "  full apply ({:>5} changes): ours {}   netlink {}",
        n.0,
        stats(&mut ours_full),
        stats(&mut plane_full)
    );
    println!(
        "  one change ({:>5} change):  ours {}   netlink {}",
        n.1,
        stats(&mut ours_one),
        stats(&mut plane_one)
    );
    println!("  observe (dump services and destinations): {observe_ms:.1} ms");
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    // No default plane: nft run outside a fresh namespace would replace the
    // host's own keepalived_rs tables.
    let Some(plane) = args.first().map(String::as_str) else {
        eprintln!("usage: apply nft|ipvs|ours [REPS] (through bench/run.sh for nft and ipvs)");
        return;
    };
    if !matches!(plane, "nft" | "ipvs" | "ours") {
        eprintln!("unknown plane {plane:?}: nft, ipvs or ours");
        std::process::exit(2);
    }
    let reps: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(5);
    // Optionally only the case whose label starts with this (`2.`).
    let only = args.get(2).map(String::as_str).unwrap_or("");
    let cases: BTreeMap<&str, Spec> = BTreeMap::from([
        (
            "1. NAT rr, 1 VS x 10,000 RS (nft: numgen over 10,000 slots)",
            plan(1, 10_000, Method::Nat, "rr"),
        ),
        // wrr: under rr a weight change leaves the Maglev table as it is
        // (rr ignores weights), and this case is there to measure a refill.
        (
            "2. DR wrr, 1 VS x 10,000 RS (nft: Maglev, 65,521 slots)",
            plan(1, 10_000, Method::Dr, "wrr"),
        ),
        (
            "3. NAT rr, 1,000 VS x 10 RS",
            plan(1000, 10, Method::Nat, "rr"),
        ),
    ]);
    println!(
        "{reps} repetitions each; 'ours' = desired state + diff (+ nft text), the rest = the data plane"
    );
    if plane == "ours" && only.is_empty() {
        bench_maglev(reps);
    }
    for (label, p) in cases.iter().filter(|(label, _)| label.starts_with(only)) {
        let book = verdicts(p);
        match plane {
            "ipvs" => bench_ipvs(label, p, &book, reps),
            "ours" => bench_ours(label, p, &book, reps),
            _ => bench_nft(label, p, &book, reps),
        }
    }
}
