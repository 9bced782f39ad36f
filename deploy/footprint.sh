#!/usr/bin/env bash
# Prints keepalived-rs's footprint beside Debian's keepalived 2.2.7 (README, Footprint):
#   - the size of each binary as packaged (profile dist: LTO, one codegen unit, stripped)
#     and of /usr/sbin/keepalived;
#   - the idle RSS of one director: the four services on the seed config
#     (deploy/lab/keepalived.conf.in, MASTER) in a network namespace, and keepalived
#     on the same config in another namespace, after KRS_SETTLE seconds (default 15).
#     keepalived runs parent + VRRP child (-P): its checker child needs IPVS in the
#     kernel and exits without it (this project's CI kernel has none), taking keepalived
#     down; with KRS_KEEPALIVED_CHECKERS=1 it runs whole (parent + both children).
# Root (namespaces). Builds the dist profile unless KRS_FOOTPRINT_NO_BUILD=1.
# Nothing is created in the root namespace; the namespaces and every process started
# here are removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-$PWD/target}
dist=$target/dist
settle=${KRS_SETTLE:-15}
services=(vrrp-core ipvs-manager health-prober notifier)
if [ "${KRS_FOOTPRINT_NO_BUILD:-0}" != 1 ]; then
    cargo build --profile dist -p vrrp-core -p ipvs-manager -p health-prober -p notifier -p kactl >&2
fi

work=$(mktemp -d /tmp/krs-footprint.XXXXXX)
pids=()
namespaces=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    sleep 1
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f MiB", k / 1024}'; }

# A namespace whose eth0 (one end of a veth pair, both ends inside) has the director's
# address, so VRRP and the checkers run as on a director.
director_ns() { # name
    local ns=$1
    ip netns add "$ns"
    namespaces+=("$ns")
    ip -n "$ns" link add eth0 type veth peer name peer0
    ip -n "$ns" link set lo up
    ip -n "$ns" link set peer0 up
    ip -n "$ns" link set eth0 up
    ip -n "$ns" addr add 198.51.100.11/24 dev eth0
}

config() { # dir
    sed -e "s#@ROUTER_ID@#footprint#" -e "s#@STATE@#MASTER#" -e "s#@PRIORITY@#99#" -e "s#@DIR@#$1#" \
        deploy/lab/keepalived.conf.in > "$1/keepalived.conf"
    printf '#!/bin/sh\nexit 0\n' > "$1/chk_down.sh"
    printf '#!/bin/sh\nexit 0\n' > "$1/notify.sh"
    chmod 755 "$1/chk_down.sh" "$1/notify.sh"
}

echo "binary sizes (profile dist: LTO, codegen-units=1, stripped)"
total=0
for b in "${services[@]}" kactl; do
    size=$(stat -c %s "$dist/$b")
    total=$((total + size))
    printf '  %-14s %6.1f MiB\n' "$b" "$(awk -v s="$size" 'BEGIN {print s / 1048576}')"
done
printf '  %-14s %6.1f MiB\n' "all five" "$(awk -v s="$total" 'BEGIN {print s / 1048576}')"
printf '  %-14s %6.1f MiB  (Debian keepalived %s)\n' "keepalived" \
    "$(awk -v s="$(stat -c %s /usr/sbin/keepalived)" 'BEGIN {print s / 1048576}')" \
    "$(dpkg-query -W -f='${Version}' keepalived 2>/dev/null || echo '?')"

# keepalived-rs: the four services, as the units run them.
ns=krs-fp-$$-rs
director_ns "$ns"
d=$work/rs; mkdir -p "$d"; config "$d"
for s in "${services[@]}"; do
    args=(-l -G -f "$d/keepalived.conf" --listen "unix:$d/$s.sock")
    case $s in
        ipvs-manager) args+=(--backend nft --health-prober "unix:$d/health-prober.sock") ;;
        notifier) args+=(--vrrp "unix:$d/vrrp-core.sock" --ipvs "unix:$d/ipvs-manager.sock" --spool-dir "$d/spool") ;;
    esac
    ip netns exec "$ns" "$dist/$s" "${args[@]}" >"$d/$s.log" 2>&1 &
    pids+=($!)
    rs_pids+=("$s=$!")
done

# keepalived 2.2.7 on the same config.
ns=krs-fp-$$-ka
director_ns "$ns"
k=$work/ka; mkdir -p "$k"; config "$k"
ka_mode=-P
[ "${KRS_KEEPALIVED_CHECKERS:-0}" = 1 ] && ka_mode=
TMPDIR=$k ip netns exec "$ns" /usr/sbin/keepalived $ka_mode -n -l -D -f "$k/keepalived.conf" \
    -p "$k/keepalived.pid" -r "$k/vrrp.pid" -c "$k/checkers.pid" >"$k/keepalived.log" 2>&1 &
pids+=($!)
ka_parent=$!

sleep "$settle"
echo "idle RSS after ${settle} s on the seed config (one director, MASTER)"
rs_total=0
for entry in "${rs_pids[@]}"; do
    name=${entry%%=*}; pid=${entry#*=}
    [ -d "/proc/$pid" ] || { echo "$name exited:" >&2; cat "$d/$name.log" >&2; exit 1; }
    r=$(kib "$pid"); rs_total=$((rs_total + r))
    printf '  %-26s %s\n' "$name" "$(mib "$r")"
done
printf '  %-26s %s\n' "keepalived-rs, four" "$(mib "$rs_total")"
ka_total=$(kib "$ka_parent")
[ -d "/proc/$ka_parent" ] || { echo "keepalived exited:" >&2; cat "$k/keepalived.log" >&2; exit 1; }
printf '  %-26s %s\n' "keepalived parent" "$(mib "$ka_total")"
for child in vrrp checkers; do
    if [ -s "$k/$child.pid" ] && pid=$(cat "$k/$child.pid") && [ -d "/proc/$pid" ]; then
        r=$(kib "$pid"); ka_total=$((ka_total + r))
        printf '  %-26s %s\n' "keepalived $child child" "$(mib "$r")"
    else
        printf '  %-26s %s\n' "keepalived $child child" "not running"
    fi
done
printf '  %-26s %s\n' "keepalived, all" "$(mib "$ka_total")"
