#!/bin/bash
# notify.sh master|backup|fault: mails root@localhost about the VRRP transition of this host.
contact='root@localhost'

notify() {
    local state="$1"
    local subject="$(hostname) to be ${state}, vip floating"
    local body="$(date +'%F %T'): vrrp transition, $(hostname) changed to be ${state}"
    echo "$body" | mail -s "$subject" "$contact"
}

case "$1" in
    master|backup|fault)
        notify "$1"
        ;;
    *)
        echo "Usage: $(basename "$0") {master|backup|fault}"
        exit 1
        ;;
esac
