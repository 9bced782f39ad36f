#!/bin/bash
# Table-apply benchmark of ipvs-manager: 10,000 real servers, and one change
# inside a 10,000-server table. Prints figures; not a timed test.
#
#   services/ipvs-manager/bench/run.sh [REPS]          # nft, in a fresh network namespace (root)
#   services/ipvs-manager/bench/run.sh --ipvs [REPS]   # real IPVS inside the VM of tests/vm (qemu TCG:
#                                                      # compare only with programs measured the same way)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$REPO/target}
PLANE=nft
if [[ "${1:-}" == "--ipvs" ]]; then PLANE=ipvs; shift; fi
REPS=${1:-5}
cd "$REPO"
BIN=$(cargo bench -p ipvs-manager --bench apply --no-run --message-format=json 2>/dev/null |
    grep '"kind":\["bench"\]' | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
[[ -x "$BIN" ]] || { echo "bench binary not built" >&2; exit 1; }
echo "ipvs-manager table-apply benchmark ($PLANE, $(nproc) CPUs, $(uname -r))"
if [[ $PLANE == ipvs ]]; then
    exec "$REPO/tests/vm/run.sh" "$BIN" ipvs "$REPS"
else
    command -v nft >/dev/null || { echo "nft missing (apt-get install nftables)" >&2; exit 1; }
    nft --version
    exec unshare -n sh -c 'ip link set lo up && exec "$0" nft "$1"' "$BIN" "$REPS"
fi
