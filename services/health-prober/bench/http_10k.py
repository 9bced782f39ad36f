#!/usr/bin/env python3
"""health-prober at scale: N HTTP targets at delay_loop 1 (default 10,000).

Starts bench_targets (one process listening on N ports), writes a
keepalived.conf with one real server per port, runs the release
health-prober with --metrics-listen, lets it warm up, then measures over a
window: CPU share of one core (utime+stime from /proc), RSS (VmRSS, VmHWM),
checks/s and failures, and the lateness of attempts against their schedule
(histogram keepalived_prober_check_lateness_seconds, window deltas;
percentiles are reported as the upper bound of their bucket).
"""
import os, re, subprocess, sys, tempfile, time, urllib.request

TARGET = os.environ.get("CARGO_TARGET_DIR", "/work/target-prober")
N = int(os.environ.get("TARGETS", "10000"))
BASE = int(os.environ.get("BASE_PORT", "20000"))
WARMUP = float(os.environ.get("WARMUP", "15"))
WINDOW = float(os.environ.get("WINDOW", "30"))
METRICS = "127.0.0.1:19099"
DELAY_LOOP = os.environ.get("DELAY_LOOP", "1")
TICK = os.sysconf("SC_CLK_TCK")

def cpu_split(pid):
    """(user, system) CPU seconds of pid."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICK, int(fields[12]) / TICK

def cpu_seconds(pid):
    return sum(cpu_split(pid))

def status(pid, key):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024.0
    return 0.0

def metrics():
    text = urllib.request.urlopen(f"http://{METRICS}/metrics", timeout=30).read().decode()
    buckets, durations, values = {}, {}, {}
    for line in text.splitlines():
        m = re.match(r'keepalived_prober_check_(lateness|duration)_seconds_bucket\{le="([^"]+)"\} (\S+)', line)
        if m:
            into = buckets if m.group(1) == "lateness" else durations
            into[float("inf") if m.group(2) == "+Inf" else float(m.group(2))] = float(m.group(3))
            continue
        # Counters by checker kind are summed over the kinds.
        m = re.match(r'(keepalived_prober_\w+?)(?:_total)?(?:\{[^}]*\})? (\S+)$', line)
        if m:
            values[m.group(1)] = values.get(m.group(1), 0.0) + float(m.group(2))
    return buckets, durations, values

def percentile(b0, b1, q):
    edges = sorted(b1)
    total = b1[edges[-1]] - b0.get(edges[-1], 0)
    if total <= 0:
        return float("nan")
    for e in edges:
        if b1[e] - b0.get(e, 0) >= q * total:
            return e
    return float("inf")

def main():
    workdir = tempfile.mkdtemp(prefix="prober-bench-")
    conf = os.path.join(workdir, "keepalived.conf")
    with open(conf, "w") as f:
        f.write(f"virtual_server 127.0.0.10 80 {{\n    protocol TCP\n    delay_loop {DELAY_LOOP}\n")
        for port in range(BASE, BASE + N):
            f.write(f"    real_server 127.0.0.1 {port} {{\n        HTTP_GET {{\n            url {{\n"
                    f"                path /\n                status_code 200\n            }}\n"
                    f"            connect_timeout 2\n            retry 1\n            delay_before_retry 1\n"
                    f"        }}\n    }}\n")
        f.write("}\n")
    server = subprocess.Popen([f"{TARGET}/release/examples/bench_targets", str(BASE), str(N)],
                              stdout=subprocess.PIPE)
    server.stdout.readline()
    threads = ["--checker-threads", os.environ["CHECKER_THREADS"]] if "CHECKER_THREADS" in os.environ else []
    prober = subprocess.Popen([os.environ.get("PROBER_BIN", f"{TARGET}/release/health-prober"), "-f", conf, "-G",
                               *threads, "--listen", f"unix:{workdir}/prober.sock", "--metrics-listen", METRICS],
                              stderr=open(os.path.join(workdir, "prober.log"), "w"))
    try:
        time.sleep(WARMUP)
        b0, d0, v0 = metrics()
        (u0, k0), s0, t0 = cpu_split(prober.pid), cpu_seconds(server.pid), time.monotonic()
        time.sleep(WINDOW)
        b1, d1, v1 = metrics()
        (u1, k1), s1, t1 = cpu_split(prober.pid), cpu_seconds(server.pid), time.monotonic()
        c0, c1 = u0 + k0, u1 + k1
        elapsed = t1 - t0
        attempts = v1.get("keepalived_prober_checks", 0) - v0.get("keepalived_prober_checks", 0)
        failures = v1.get("keepalived_prober_check_failures", 0) - v0.get("keepalived_prober_check_failures", 0)
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (other work on the machine skews every figure)")
        print(f"targets {N} x delay_loop {DELAY_LOOP} s, window {elapsed:.1f} s after {WARMUP:.0f} s warm-up, "
              f"--checker-threads {os.environ.get('CHECKER_THREADS', '1 (default)')}")
        print(f"checks/s            {attempts / elapsed:8.0f}  (expected just under {N}: interval = delay_loop + check time)")
        print(f"failed checks       {failures:8.0f}")
        print(f"CPU, % of one core  {100 * (c1 - c0) / elapsed:8.1f}  (user {100 * (u1 - u0) / elapsed:.1f} + "
              f"system {100 * (k1 - k0) / elapsed:.1f}; on loopback the system share includes the "
              "target's side of every TCP connection)")
        if attempts:
            print(f"CPU per check, us   {1e6 * (c1 - c0) / attempts:8.1f}")
        print(f"target server CPU   {100 * (s1 - s0) / elapsed:8.1f}  (% of one core, for context)")
        print(f"RSS MiB             {status(prober.pid, 'VmRSS'):8.1f}  (peak {status(prober.pid, 'VmHWM'):.1f})")
        for q in (0.5, 0.9, 0.99, 0.999):
            print(f"lateness p{q * 100:g} <= {percentile(b0, b1, q) * 1000:8.1f} ms")
        if d1:
            print(f"check duration p50 <= {percentile(d0, d1, 0.5) * 1000:.1f} ms, "
                  f"p99 <= {percentile(d0, d1, 0.99) * 1000:.1f} ms")
    finally:
        prober.terminate()
        server.terminate()
        prober.wait()
        server.wait()

if __name__ == "__main__":
    sys.exit(main())
