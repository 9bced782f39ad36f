#!/bin/bash
# Benchmark: applying one service + 10,000 DR destinations to the real IPVS inside the VM,
# keepalived-ipvs (batched and op-by-op) vs `ipvsadm -R`, plus a single EditDest. Prints figures.
#   tests/vm/bench-ipvs.sh [SCHEDULER…]      (default: rr)
# Emulated (TCG): absolute times are 13-19x a native machine's; compare them as ratios.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$REPO/target}
cd "$REPO"
cargo build -q --release -p keepalived-ipvs --example ipvs_bench
BIN=$CARGO_TARGET_DIR/release/examples/ipvs_bench
(($#)) || set -- rr
for sched in "$@"; do
    echo "host load average before the run: $(cut -d" " -f1-3 /proc/loadavg)"
    KRS_VM_VERBOSE=1 "$HERE/run.sh" "$BIN" "$sched"
done
