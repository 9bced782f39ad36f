#!/bin/sh
# Benchmark of the checks divided among replicas (not a timed test): the same
# targets over 1, 2 and 4 replicas; prints per-replica checks/s, CPU, owned
# targets and lateness.
#   TARGETS=40000 DELAY_LOOP=4 REPLICAS="1 2 4" services/health-prober/bench/scaleout.sh
set -e
cd "$(dirname "$0")/../../.."
# Each target server holds PER_SERVER (10,000) listening sockets; raise the soft limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release -p health-prober --bin health-prober --example bench_targets
exec unshare -n sh -c 'ip link set lo up && exec python3 services/health-prober/bench/scaleout.py'
