#!/bin/sh
# keepalived's checker beside health-prober on the same HTTP targets, inside
# the VM of tests/vm (real IPVS for keepalived; both emulated, so compare the
# rows with each other). Needs root, qemu (tests/vm/README.md) and, for
# keepalived's row, `apt-get install keepalived` on the host (the VM uses the
# host's /usr).
#   TARGETS=1000 DELAY_LOOP=1 WINDOW=30 services/health-prober/bench/vm-compare.sh
set -e
cd "$(dirname "$0")/../../.."
REPO=$(pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-prober}"
cargo build --release -p health-prober --bin health-prober --example bench_targets
tests/vm/build.sh >/dev/null
WORK=$(mktemp -d "$CARGO_TARGET_DIR/vm-compare.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
KRS_VM_MEM=2048 KRS_VM_SMP=2 tests/vm/run.sh python3 "$REPO/services/health-prober/bench/vm_compare.py" \
    --prober "$CARGO_TARGET_DIR/release/health-prober" \
    --targets "$CARGO_TARGET_DIR/release/examples/bench_targets" \
    --workdir "$WORK" -n "${TARGETS:-1000}" --delay-loop "${DELAY_LOOP:-1}" \
    --warmup "${WARMUP:-15}" --window "${WINDOW:-30}"
