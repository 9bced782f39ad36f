#!/bin/sh
# Benchmark of health-prober at scale (not a timed test): prints CPU share,
# RSS, checks/s and lateness of checks against their schedule.
#   TARGETS=10000 WINDOW=30 services/health-prober/bench/run.sh
set -e
cd "$(dirname "$0")/../../.."
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" -ge 20000 ] || { echo "need ulimit -n >= 20000 (hard limit $(ulimit -Hn))" >&2; exit 1; }
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-prober}"
cargo build --release -p health-prober --bin health-prober --example bench_targets
# A fresh network namespace: no firewall or conntrack of the host's on the
# path, and nothing of the host's loopback touched.
exec unshare -n sh -c 'ip link set lo up && exec python3 services/health-prober/bench/http_10k.py'
