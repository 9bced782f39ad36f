#!/bin/sh
# LVS-DR real server set-up (docs/scenario.md, "Real servers"):
#
#   realserver.sh up VIP [DEV]     VIP/32 on DEV (default lo, label lo:0) and ARP
#                                  suppressed for it (arp_ignore=1, arp_announce=2
#                                  on DEV and all)
#   realserver.sh down VIP [DEV]   remove the VIP and restore the kernel defaults (0)
#
# Idempotent. Needs CAP_NET_ADMIN. In a container /proc/sys is read-only: set the
# sysctls with the runtime (compose.yaml `sysctls:`); this script then checks them.
set -eu
usage() { echo "usage: $0 up|down VIP [DEV]" >&2; exit 2; }
[ $# -ge 2 ] || usage
action=$1 vip=$2 dev=${3:-lo}
label=$dev
[ "$dev" = lo ] && label=lo:0

set_sysctls() { # ignore announce
    for iface in "$dev" all; do
        for pair in "arp_ignore=$1" "arp_announce=$2"; do
            key=net.ipv4.conf.$iface.${pair%%=*} want=${pair#*=}
            if ! sysctl -qw "$key=$want" 2>/dev/null; then
                have=$(sysctl -n "$key")
                [ "$have" = "$want" ] || { echo "$0: cannot set $key=$want (it is $have)" >&2; exit 1; }
            fi
        done
    done
}

case "$action" in
    up)
        set_sysctls 1 2
        if ! ip -4 addr show dev "$dev" | grep -q " $vip/32 "; then
            ip addr add "$vip/32" dev "$dev" label "$label"
        fi
        echo "real server: $vip on $dev, ARP suppressed"
        ;;
    down)
        if ip -4 addr show dev "$dev" | grep -q " $vip/32 "; then
            ip addr del "$vip/32" dev "$dev"
        fi
        set_sysctls 0 0
        echo "real server: $vip removed from $dev, ARP defaults restored"
        ;;
    *) usage ;;
esac
