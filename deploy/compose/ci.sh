#!/usr/bin/env bash
# The compose lab in CI: build the images (incremental), bring the lab up with
# three probers, replay the seed against it, check that killing a prober
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
t "${dc[@]}" up -d --scale health-prober=3
t env KRS_COMPOSE=1 cargo test -p keepalived-tests --test seed_replay -- --ignored seed_replay_in_compose

# Killing one of three probers changes nothing in either director's table.
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
echo "compose lab: OK"
