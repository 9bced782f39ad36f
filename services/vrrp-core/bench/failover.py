#!/usr/bin/env python3
"""Failover benchmark of vrrp-core against Debian's keepalived (root; not a test).

Topology: switch namespace with a bridge, DR1 (priority 99), DR2 (priority 90), a client.
VRRPv3, advert_int 0.1, same keepalived.conf for both implementations. For each trial DR1
(the master) is stopped with SIGKILL or SIGTERM; tcpdump in the client namespace gives
the time of DR1's last advert (for SIGTERM: its priority-0 advert) and of DR2's first
gratuitous ARP; `ip -ts monitor address` in DR2 gives the time the VIP appears there.
Then DR1 is restarted and preempts back. Also: CPU and RSS of one process running 200
instances at advert_int 0.1 for 20 s.

kill -9 of keepalived: its parent is stopped (SIGSTOP, so it can neither respawn the VRRP
child nor, by dying, make the child send priority 0 on its way out), then the VRRP child
(pid from the -r file) is killed, then the parent. The kill time is the child's.

Usage: bench/failover.py [VRRP_CORE_BINARY] [TRIALS] [--only failover|cpu] [--impls ours,keepalived]
"""
import os, re, signal, statistics, subprocess, sys, time, datetime

def option(name, default):
    if name in sys.argv:
        i = sys.argv.index(name)
        value = sys.argv[i + 1]
        del sys.argv[i:i + 2]
        return value
    return default

ONLY = option("--only", None)
IMPLS = option("--impls", "ours,keepalived").split(",")
BIN = sys.argv[1] if len(sys.argv) > 1 else "/work/target-vrrpcore/release/vrrp-core"
N = int(sys.argv[2]) if len(sys.argv) > 2 else 10
P = "vcb%d" % os.getpid()
DIR = "/tmp/" + P
VIP = "198.51.100.10"
os.makedirs(DIR, exist_ok=True)

def sh(*a, check=True):
    return subprocess.run(a, check=check, capture_output=True, text=True)

def conf(rid, prio, n=1):
    out = "global_defs {\n router_id %s\n vrrp_mcast_group4 224.0.0.33\n}\n" % rid
    for i in range(1, n + 1):
        vip = VIP if n == 1 else "203.0.113.%d" % i if i < 255 else "198.51.100.%d" % (i - 200)
        out += ("vrrp_instance VI_%d {\n interface eth0\n virtual_router_id %d\n priority %d\n"
                " advert_int 0.1\n version 3\n virtual_ipaddress {\n  %s/24\n }\n}\n" % (i, i, prio, vip))
    return out

def lab():
    sh("ip", "netns", "add", P + "-sw")
    sh("ip", "-n", P + "-sw", "link", "add", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0")
    sh("ip", "-n", P + "-sw", "link", "set", "br0", "up")
    for name, last in (("dr1", 11), ("dr2", 12), ("cl", 20)):
        ns = P + "-" + name
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", P + "-sw", "link", "add", "p-" + name, "type", "veth", "peer", "name", "eth0", "netns", ns)
        sh("ip", "-n", P + "-sw", "link", "set", "p-" + name, "master", "br0", "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", ns, "link", "set", "eth0", "address", "02:00:00:00:00:%02d" % last, "up")
        sh("ip", "-n", ns, "addr", "add", "198.51.100.%d/24" % last, "dev", "eth0")

def teardown():
    for name in ("dr1", "dr2", "cl", "sw"):
        sh("ip", "netns", "del", P + "-" + name, check=False)

def start(impl, name, prio, n=1):
    path = "%s/%s.conf" % (DIR, name)
    open(path, "w").write(conf(name, prio, n))
    ns = P + "-" + name
    log = open("%s/%s-%s.log" % (DIR, name, impl), "a")
    if impl == "ours":
        argv = [BIN, "-f", path, "-G", "--listen", "unix:%s/%s.sock" % (DIR, name)]
    else:
        # A killed keepalived leaves its pid files behind, and the killed child may still
        # be an unreaped zombie: keepalived would then refuse to start ("daemon is
        # already running"). Remove them, as a service manager would.
        for f in "prcb":
            try:
                os.unlink("%s/%s-%s.pid" % (DIR, name, f))
            except OSError:
                pass
        argv = ["keepalived", "--vrrp", "-n", "-l", "-G", "-f", path] + sum(
            (["-" + f, "%s/%s-%s.pid" % (DIR, name, f)] for f in "prcb"), [])
    return subprocess.Popen(["ip", "netns", "exec", ns] + argv, stdout=log, stderr=log)

def stop(impl, name, proc, sig):
    """Stops `proc`; returns the time the VRRP process got the signal."""
    if impl == "keepalived" and sig == signal.SIGKILL:
        # Freeze the parent first: it must not respawn the child, and its death must not
        # reach the child (which would then send priority 0) while the child lives.
        proc.send_signal(signal.SIGSTOP)
        child = int(open("%s/%s-r.pid" % (DIR, name)).read())
        at = time.time()
        try:
            os.kill(child, signal.SIGKILL)
        except ProcessLookupError:
            pass
        while os.path.exists("/proc/%d" % child):
            try:
                if open("/proc/%d/stat" % child).read().rsplit(")", 1)[1].split()[0] == "Z":
                    break
            except OSError:
                break
            time.sleep(0.001)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        return at
    at = time.time()
    proc.send_signal(sig)
    proc.wait(10)
    return at

def has_vip(name):
    return (" %s/" % VIP) in sh("ip", "-n", P + "-" + name, "-4", "-o", "addr", "show", "dev", "eth0").stdout

def wait(cond, timeout):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.005)
    return False

def ts(line):
    m = re.match(r"^(\d+\.\d+)", line)
    return float(m.group(1)) if m else None

def trial(impl, sig, dr1):
    cap = subprocess.Popen(["ip", "netns", "exec", P + "-cl", "tcpdump", "-i", "eth0", "-n", "-tt", "-l", "-e",
                            "ip proto 112 or arp"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    mon = subprocess.Popen(["ip", "-n", P + "-dr2", "-ts", "monitor", "address"], stdout=subprocess.PIPE, text=True)
    # tcpdump needs about a second before it captures.
    while "listening on" not in cap.stderr.readline():
        pass
    time.sleep(0.3)
    kill_at = stop(impl, "dr1", dr1, sig)
    ok = wait(lambda: has_vip("dr2"), 10)
    time.sleep(0.3)
    cap.terminate(); mon.terminate()
    packets = cap.communicate()[0].splitlines()
    events = mon.communicate()[0].splitlines()
    if not ok:
        return None
    last_advert = max((ts(l) for l in packets if "198.51.100.11 > " in l and ts(l) and ts(l) <= kill_at + 0.2
                       and (sig == signal.SIGKILL or "prio 0" in l)), default=None)
    if sig == signal.SIGKILL:
        last_advert = max((ts(l) for l in packets if "198.51.100.11 > " in l and ts(l) <= kill_at), default=None)
    garp = min((ts(l) for l in packets if l.find("02:00:00:00:00:12") >= 0 and "ARP" in l and ts(l) > kill_at - 0.5
                and VIP in l), default=None)
    vip = None
    for l in events:
        m = re.match(r"^\[(\S+)\]", l)
        if m and VIP in l and not l.startswith("[") is False and "Deleted" not in l:
            vip = datetime.datetime.fromisoformat(m.group(1)).timestamp()
            break
    if last_advert is None:
        return None
    return (vip - last_advert if vip else None, garp - last_advert if garp else None)

def summary(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return "no data"
    ms = lambda x: x * 1000.0
    return "n=%d min %.1f median %.1f p90 %.1f max %.1f ms" % (
        len(xs), ms(xs[0]), ms(statistics.median(xs)), ms(xs[min(len(xs) - 1, int(0.9 * len(xs)))]), ms(xs[-1]))

def failover(impl):
    dr2 = start(impl, "dr2", 90)
    dr1 = start(impl, "dr1", 99)
    wait(lambda: has_vip("dr1") and not has_vip("dr2"), 10)
    for sig in (signal.SIGKILL, signal.SIGTERM):
        vips, garps = [], []
        for _ in range(N):
            time.sleep(0.5)
            r = trial(impl, sig, dr1)
            if r:
                vips.append(r[0]); garps.append(r[1])
            sh("ip", "-n", P + "-dr1", "addr", "del", VIP + "/24", "dev", "eth0", check=False)
            dr1 = start(impl, "dr1", 99)
            wait(lambda: has_vip("dr1") and not has_vip("dr2"), 10)
        name = "SIGKILL" if sig == signal.SIGKILL else "SIGTERM"
        print("%-10s %-8s last advert -> VIP on new master: %s" % (impl, name, summary(vips)))
        print("%-10s %-8s last advert -> first GARP at client: %s" % (impl, name, summary(garps)))
        sys.stdout.flush()
    stop(impl, "dr1", dr1, signal.SIGTERM)
    stop(impl, "dr2", dr2, signal.SIGTERM)

def cpu_rss(impl, n=200, secs=20):
    proc = start(impl, "dr1", 100, n)
    time.sleep(5)
    pids = [proc.pid] + [int(p) for p in sh("ip", "netns", "pids", P + "-dr1").stdout.split()]
    def ticks():
        t = 0
        for pid in set(pids):
            try:
                f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
                t += int(f[11]) + int(f[12])
            except OSError:
                pass
        return t
    def rss():
        r = 0
        for pid in set(pids):
            try:
                for l in open("/proc/%d/status" % pid):
                    if l.startswith("VmRSS"):
                        r += int(l.split()[1])
            except OSError:
                pass
        return r
    t0 = ticks(); time.sleep(secs); t1 = ticks()
    hz = os.sysconf("SC_CLK_TCK")
    print("%-10s %d instances at advert_int 0.1: CPU %.1f%% of one core, RSS %.1f MiB (all its processes)" % (
        impl, n, 100.0 * (t1 - t0) / hz / secs, rss() / 1024.0))
    stop(impl, "dr1", proc, signal.SIGTERM)

if __name__ == "__main__":
    teardown(); lab()
    try:
        if ONLY in (None, "failover"):
            for impl in IMPLS:
                failover(impl)
        if ONLY in (None, "cpu"):
            for impl in IMPLS:
                cpu_rss(impl)
    finally:
        teardown()
        if not os.environ.get("KEEP_BENCH_DIR"):
            import shutil
            shutil.rmtree(DIR, ignore_errors=True)
