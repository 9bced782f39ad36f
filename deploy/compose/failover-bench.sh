#!/usr/bin/env bash
# Failover under load in the compose lab: a continuous HTTP client through the
# VIP (one request at a time from the client container, 0.5 s timeout each)
# while DR1 stops; prints the failed requests and the gap (last success
# before → first success after). A benchmark, not a test: it prints figures.
#
#   deploy/compose/failover-bench.sh [stop|kill|host] [SECONDS]
#
#   stop  SIGTERM to dr1's vrrp-core, ipvs-manager and notifier (graceful:
#         VRRP priority 0, VIP removed) — `docker-compose stop`
#   kill  SIGKILL to dr1's vrrp-core only (the VIP stays on dr1's interface
#         and its nft table keeps forwarding; dr2 takes over after
#         Master_Down_Interval)
#   host  SIGKILL to all of dr1 including dr1-net, whose network namespace
#         holds the interface: the director vanishes as if powered off
#
# Needs the lab up with DR1 master (docker-compose -p kalab up -d). Restores
# DR1 afterwards. Env: KRS_COMPOSE_CMD (docker-compose), KRS_COMPOSE_PROJECT (kalab).
set -euo pipefail
cd "$(dirname "$0")/../.."
mode=${1:-stop}
secs=${2:-20}
dc=(${KRS_COMPOSE_CMD:-docker-compose} -p "${KRS_COMPOSE_PROJECT:-kalab}" -f compose.yaml)

"${dc[@]}" exec -T dr1-net ip -4 -o addr show dev eth0 | grep -q ' 198.51.100.10/' \
    || { echo "DR1 does not hold the VIP; start the lab and wait for it" >&2; exit 1; }

client=$(cat <<'PY'
import sys, time, urllib.request
secs = float(sys.argv[1])
end = time.monotonic() + secs
t0 = time.monotonic()
while time.monotonic() < end:
    t = time.monotonic()
    try:
        body = urllib.request.urlopen("http://198.51.100.10/", timeout=0.5).read().decode().strip()
        ok = 1
    except Exception as e:
        body = type(e).__name__
        ok = 0
    print("%.3f %d %s" % (t - t0, ok, body), flush=True)
    if not ok:
        time.sleep(max(0, 0.05 - (time.monotonic() - t)))
PY
)
out=$(mktemp)
"${dc[@]}" exec -T client python3 -c "$client" "$secs" >"$out" &
loader=$!
sleep 5
echo "t=5s: DR1 $mode"
if [ "$mode" = kill ]; then
    "${dc[@]}" kill -s KILL dr1-vrrp-core >/dev/null 2>&1
elif [ "$mode" = host ]; then
    "${dc[@]}" kill -s KILL dr1-net dr1-vrrp-core dr1-ipvs-manager dr1-notifier >/dev/null 2>&1
else
    "${dc[@]}" stop -t 10 dr1-notifier dr1-ipvs-manager dr1-vrrp-core >/dev/null 2>&1
fi
wait "$loader"
awk -v mode="$mode" '
    NR > 1 { d = $1 - prev; if (d > maxint) maxint = d } { prev = $1 }
    { n++; if ($2 == 1) { ok++; if (failing) { gap = $1 - last_ok; failing = 0; if (gap > maxgap) maxgap = gap } last_ok = $1; srv[$3]++ }
      else { fail++; failing = 1 } }
    END { printf "mode=%s requests=%d ok=%d failed=%d longest_gap=%.3fs longest_interval=%.3fs\n", mode, n, ok, fail, maxgap, maxint;
          for (s in srv) printf "  %s: %d\n", s, srv[s] }' "$out"
echo "(raw samples: $out)"
if [ "$mode" = host ]; then
    "${dc[@]}" up -d --force-recreate dr1-net dr1-vrrp-core dr1-ipvs-manager dr1-notifier >/dev/null 2>&1
else
    "${dc[@]}" up -d dr1-vrrp-core dr1-ipvs-manager dr1-notifier >/dev/null 2>&1
fi
echo "DR1 restarted"
