#!/usr/bin/env python3
"""health-prober scale-out: the same targets over 1, 2 and 4 replicas.

For each replica count N (REPLICAS, default "1 2 4"): starts bench_targets
(one process listening on TARGETS ports, default 40,000), N release
health-probers on loopback with `health_prober_owners K` (default 2) and,
for N >= 2, the replica set (`--health-prober` for each), lets them divide
the checks and warm up, then measures over a window, per replica: checks/s,
CPU share of one core, owned targets, lateness p99 (histogram
keepalived_prober_check_lateness_seconds, upper bound of its bucket); and
the total checks/s against the one-replica run. Prints figures, asserts
nothing. On loopback every replica's kernel also does the target's side of
each TCP connection, so total CPU at k = 2 is about twice the one-prober run.
"""
import os, sys, subprocess, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import http_10k as base  # cpu_split, percentile

import re, urllib.request

TARGET = os.environ.get("CARGO_TARGET_DIR", "target")
N_TARGETS = int(os.environ.get("TARGETS", "40000"))
BASE_PORT = int(os.environ.get("BASE_PORT", "20000"))
DELAY_LOOP = os.environ.get("DELAY_LOOP", "4")
K = os.environ.get("OWNERS", "2")
WARMUP = float(os.environ.get("WARMUP", "20"))
WINDOW = float(os.environ.get("WINDOW", "30"))
REPLICAS = [int(n) for n in os.environ.get("REPLICAS", "1 2 4").split()]
PER_SERVER = int(os.environ.get("PER_SERVER", "10000"))


def metrics(port):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30).read().decode()
    buckets, values = {}, {}
    for line in text.splitlines():
        m = re.match(r'keepalived_prober_check_lateness_seconds_bucket\{le="([^"]+)"\} (\S+)', line)
        if m:
            buckets[float("inf") if m.group(1) == "+Inf" else float(m.group(1))] = float(m.group(2))
            continue
        # Counters with labels (checks by checker kind) are summed over their labels.
        m = re.match(r'(keepalived_prober_\w+?)(?:_total)?(?:\{[^}]*\})? (\S+)$', line)
        if m:
            values[m.group(1)] = values.get(m.group(1), 0.0) + float(m.group(2))
    return buckets, values


def targets():
    """(address, port) of every target: PER_SERVER ports on each of 127.0.0.1, .2, …, so
    that no target port is in the ephemeral range the probers connect from and no server
    needs more sockets than one process may open."""
    return [(f"127.0.0.{1 + i // PER_SERVER}", BASE_PORT + i % PER_SERVER) for i in range(N_TARGETS)]


def write_config(path):
    with open(path, "w") as f:
        f.write(f"virtual_server 127.0.0.10 80 {{\n    protocol TCP\n    delay_loop {DELAY_LOOP}\n")
        for addr, port in targets():
            f.write(f"    real_server {addr} {port} {{\n        HTTP_GET {{\n            url {{\n"
                    f"                path /\n                status_code 200\n            }}\n"
                    f"            connect_timeout 2\n            retry 1\n            delay_before_retry 1\n"
                    f"        }}\n    }}\n")
        f.write(f"}}\nkeepalived_rs {{\n    health_prober_owners {K}\n}}\n")


def run(n, conf, workdir):
    grpc = [50300 + i for i in range(n)]
    ports = [19300 + i for i in range(n)]
    peers = []
    if n > 1:
        for g in grpc:
            peers += ["--health-prober", f"tcp://127.0.0.1:{g}"]
    probers = []
    for i in range(n):
        probers.append(subprocess.Popen(
            [f"{TARGET}/release/health-prober", "-f", conf, "-l", "-G", "--replica-id", f"r{i}",
             "--listen", f"tcp://127.0.0.1:{grpc[i]}", "--metrics-listen", f"127.0.0.1:{ports[i]}", *peers],
            stderr=open(os.path.join(workdir, f"r{n}-{i}.log"), "w")))
    try:
        time.sleep(WARMUP)
        before = [(metrics(p), base.cpu_split(pr.pid)) for p, pr in zip(ports, probers)]
        t0 = time.monotonic()
        time.sleep(WINDOW)
        after = [(metrics(p), base.cpu_split(pr.pid)) for p, pr in zip(ports, probers)]
        elapsed = time.monotonic() - t0
        rows, total = [], 0.0
        for i, (((b0, v0), (u0, k0)), ((b1, v1), (u1, k1))) in enumerate(zip(before, after)):
            checks = (v1.get("keepalived_prober_checks", 0) - v0.get("keepalived_prober_checks", 0)) / elapsed
            cpu = 100 * ((u1 + k1) - (u0 + k0)) / elapsed
            owned = v1.get("keepalived_prober_owned_targets", N_TARGETS if n == 1 else float("nan"))
            p99 = base.percentile(b0, b1, 0.99) * 1000
            total += checks
            rows.append((i, owned, checks, cpu, p99))
        return rows, total
    finally:
        for pr in probers:
            pr.terminate()
        for pr in probers:
            pr.wait()


def main():
    workdir = tempfile.mkdtemp(prefix="prober-scaleout-")
    conf = os.path.join(workdir, "keepalived.conf")
    write_config(conf)
    # One target server per address: a process's open-file limit may be below the number
    # of targets (20,000 here, and root may not raise it).
    servers = []
    for first in range(0, N_TARGETS, PER_SERVER):
        count = min(PER_SERVER, N_TARGETS - first)
        addr = f"127.0.0.{1 + first // PER_SERVER}"
        servers.append(subprocess.Popen([f"{TARGET}/release/examples/bench_targets", str(BASE_PORT), str(count), addr],
                                        stdout=subprocess.PIPE))
    for server in servers:
        if not server.stdout.readline():
            raise SystemExit("a target server did not start (see its error above)")
    print(f"{N_TARGETS} HTTP targets x delay_loop {DELAY_LOOP} s, health_prober_owners {K}, "
          f"window {WINDOW:.0f} s after {WARMUP:.0f} s; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    print("replicas | replica | owned targets | checks/s | CPU % of one core | lateness p99 ms")
    one = None
    try:
        for n in REPLICAS:
            rows, total = run(n, conf, workdir)
            for i, owned, checks, cpu, p99 in rows:
                print(f"{n:8} | r{i:<6} | {owned:13.0f} | {checks:8.0f} | {cpu:17.1f} | {p99:8.1f}")
            if one is None and n == 1:
                one = total
            ratio = f", {total / one:.2f} x the one-replica run" if one else ""
            print(f"{n:8} | total   |               | {total:8.0f} |{'':19}|{ratio}")
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait()


if __name__ == "__main__":
    sys.exit(main())
