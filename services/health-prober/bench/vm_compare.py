#!/usr/bin/env python3
"""Runs inside the VM of tests/vm (see vm-compare.sh): keepalived's checker and
health-prober, one after the other, on the same N HTTP targets, measured the
same way — CPU share of one vCPU and RSS of the checker's processes, and the
checks/s counted at the target server. Emulated (TCG): compare the two rows
with each other, not with figures from the host.

Two namespaces joined by a veth pair: the targets (bench_targets, N ports of
203.0.113.2) and the checker (203.0.113.1). One virtual server, N real
servers, HTTP_GET { url { path / status_code 200 } connect_timeout 2 retry 1
delay_before_retry 1 } at delay_loop D.
"""
import argparse, os, shutil, subprocess, sys, time

TICK = os.sysconf("SC_CLK_TCK")
RS_NS, DIR_NS = "kb-rs", "kb-dir"


def sh(*cmd):
    subprocess.run(cmd, check=True)


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return 0.0


def family(root):
    """root and its descendants (keepalived forks a checker child)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def served(path):
    try:
        return int(open(path).read())
    except (OSError, ValueError):
        return 0


def config(n, base, delay_loop):
    lines = [f"virtual_server 198.51.100.10 80 {{", f"    delay_loop {delay_loop}",
             "    lb_algo rr", "    lb_kind DR", "    protocol TCP"]
    for port in range(base, base + n):
        lines.append(f"    real_server 203.0.113.2 {port} {{ HTTP_GET {{ url {{ path / \n"
                     "        status_code 200 }\n"
                     "        connect_timeout 2\n        retry 1\n        delay_before_retry 1\n    } }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def measure(name, argv, count_file, warmup, window, workdir):
    log = open(os.path.join(workdir, f"{name}.log"), "w")
    proc = subprocess.Popen(["ip", "netns", "exec", DIR_NS, *argv], stdout=log, stderr=log)
    try:
        time.sleep(warmup)
        if proc.poll() is not None:
            log.flush()
            tail = open(log.name).read()[-2000:]
            raise SystemExit(f"{name} exited with {proc.returncode} during the warm-up:\n{tail}")
        pids = family(proc.pid)
        c0 = sum(cpu_seconds(p) for p in pids)
        s0, t0 = served(count_file), time.monotonic()
        time.sleep(window)
        pids = family(proc.pid)
        c1 = sum(cpu_seconds(p) for p in pids)
        s1, t1 = served(count_file), time.monotonic()
        rss = sum(rss_mib(p) for p in pids)
        elapsed = t1 - t0
        return (s1 - s0) / elapsed, 100 * (c1 - c0) / elapsed, rss, len(pids)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--prober", required=True)
    ap.add_argument("--targets", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--delay-loop", type=int, default=1)
    ap.add_argument("--warmup", type=float, default=15)
    ap.add_argument("--window", type=float, default=30)
    ap.add_argument("--base-port", type=int, default=20000)
    args = ap.parse_args()
    import resource
    resource.setrlimit(resource.RLIMIT_NOFILE, (65536, 65536))
    work = args.workdir
    conf = os.path.join(work, "keepalived.conf")
    open(conf, "w").write(config(args.n, args.base_port, args.delay_loop))
    count_file = os.path.join(work, "served")
    for ns in (RS_NS, DIR_NS):
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
    sh("ip", "link", "add", "kb-d", "netns", DIR_NS, "type", "veth", "peer", "kb-r", "netns", RS_NS)
    sh("ip", "-n", DIR_NS, "addr", "add", "203.0.113.1/24", "dev", "kb-d")
    sh("ip", "-n", RS_NS, "addr", "add", "203.0.113.2/24", "dev", "kb-r")
    sh("ip", "-n", DIR_NS, "link", "set", "kb-d", "up")
    sh("ip", "-n", RS_NS, "link", "set", "kb-r", "up")
    server = subprocess.Popen(["ip", "netns", "exec", RS_NS, args.targets, str(args.base_port),
                               str(args.n), "203.0.113.2", count_file], stdout=subprocess.PIPE)
    server.stdout.readline()
    rows = []
    try:
        if shutil.which("keepalived"):
            rows.append(("keepalived " + subprocess.run(["keepalived", "--version"], capture_output=True,
                                                       text=True).stderr.split()[1],
                         measure("keepalived", ["keepalived", "--check", "-n", "-l", "-f", conf,
                                                "-p", f"{work}/k.pid", "-c", f"{work}/kc.pid"],
                                 count_file, args.warmup, args.window, work)))
        else:
            print("keepalived is not installed on the host (apt-get install keepalived): its row is missing",
                  file=sys.stderr)
        rows.append(("health-prober", measure("health-prober",
                                              [args.prober, "-f", conf, "-G", "--listen",
                                               "unix:/tmp/prober.sock"],
                                              count_file, args.warmup, args.window, work)))
    finally:
        server.terminate()
        server.wait()
        for ns in (RS_NS, DIR_NS):
            subprocess.run(["ip", "netns", "del", ns])
    print(f"{args.n} HTTP targets x delay_loop {args.delay_loop} s, {args.window:.0f} s window after "
          f"{args.warmup:.0f} s warm-up, inside the VM (TCG, {os.cpu_count()} vCPUs)")
    print(f"{'checker':24} {'checks/s':>9} {'CPU % of one vCPU':>18} {'RSS MiB':>8} {'processes':>9}")
    for name, (rate, cpu, rss, procs) in rows:
        print(f"{name:24} {rate:9.0f} {cpu:18.1f} {rss:8.1f} {procs:9d}")
    print(f"(expected just under {args.n / args.delay_loop:.0f} checks/s)")


if __name__ == "__main__":
    main()
