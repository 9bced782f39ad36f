#!/usr/bin/env bash
# The compose lab in CI: build the images (incremental), bring the lab up with
# four probers, replay the seed against it, check that the probers divide the
# checks (each target owned by exactly 2 of them) and that killing a prober
# changes nothing in the tables, and tear it down. Prints each step's time.
#
#   sudo deploy/compose/ci.sh          (from .ci/run; needs docker, docker-compose, root)
#
# Env: KRS_COMPOSE_CMD (docker-compose), KRS_COMPOSE_PROJECT (kalab-ci),
# CARGO_TARGET_DIR for the test build. Only one lab can run at a time (fixed subnet).
# (the image build uses the repository's target/).
set -euo pipefail
cd "$(dirname "$0")/../.."
export KRS_COMPOSE_PROJECT=${KRS_COMPOSE_PROJECT:-kalab-ci}
dc=(${KRS_COMPOSE_CMD:-docker-compose} -p "$KRS_COMPOSE_PROJECT" -f compose.yaml)
t() { local s=$SECONDS; "$@"; echo "== $(( SECONDS - s )) s: $*" >&2; }
down() { "${dc[@]}" down -v --remove-orphans >/dev/null 2>&1 || true; }
trap down EXIT

t env -u CARGO_TARGET_DIR deploy/docker/build-offline.sh
down
t "${dc[@]}" up -d --scale health-prober=4
t env KRS_COMPOSE=1 cargo test -p keepalived-tests --test seed_replay -- --ignored seed_replay_in_compose

# The four probers divide the checks: every target is owned by exactly 2.
probers() { docker ps -q --filter "label=com.docker.compose.project=$KRS_COMPOSE_PROJECT" --filter "label=com.docker.compose.service=health-prober"; }
owners() { for p in $(probers); do docker exec "$p" kactl --director "p=127.0.0.1" -o json targets; done \
    | python3 -c '
import json, sys, collections
owned = collections.Counter(); text = sys.stdin.read(); dec = json.JSONDecoder(); i = 0
while i < len(text):
    if text[i].isspace(): i += 1; continue
    doc, i = dec.raw_decode(text, i)
    for t in doc["targets"]:
        if t["ownership"]["role"] == "owner": owned[t["id"]] += 1
print(sorted(owned.items()))
sys.exit(0 if owned and all(n == 2 for n in owned.values()) else 1)'; }
for _ in $(seq 1 20); do owners >/dev/null && break; sleep 1; done
owners || { echo "FAIL: the probers do not divide the checks 2 per target" >&2; exit 1; }

# Killing one of four probers changes nothing in either director's table,
# and the three left divide the checks again.
# (kactl exits 1 here because the probers are not in the director's namespace.)
tables() { for n in 1 2; do { "${dc[@]}" exec -T "dr$n-ipvs-manager" kactl -o json status || true; } \
    | python3 -c 'import json,sys; d=json.load(sys.stdin)[0]["tables"]; print([(r["address"], r["weight"], r["in_table"]) for v in d["virtual_servers"] for r in v["real_servers"]])'; done; }
before=$(tables)
victim=$(docker ps -q --filter "label=com.docker.compose.project=$KRS_COMPOSE_PROJECT" --filter "label=com.docker.compose.service=health-prober" | head -n1)
docker kill "$victim" >/dev/null
sleep 15
after=$(tables)
echo "tables before: $before"; echo "tables after killing one prober: $after"
[ "$before" = "$after" ] || { echo "FAIL: the tables changed when one prober died" >&2; exit 1; }
owners || { echo "FAIL: the three probers left do not divide the checks 2 per target" >&2; exit 1; }
echo "compose lab: OK"
