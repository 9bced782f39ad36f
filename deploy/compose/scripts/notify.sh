#!/bin/sh
# notify.sh master|backup|fault (the seed's): mails root@localhost
# "<hostname> to be <state>, vip floating" — through the lab's SMTP sink with
# curl's SMTP client, since the image has no mail(1). Run by the notifier.
state="$1"
case "$state" in master|backup|fault) ;; *) echo "Usage: $0 {master|backup|fault}" >&2; exit 1 ;; esac
host=${LAB_HOSTNAME:-$(hostname)}
smtp=${LAB_SMTP:-198.51.100.25:25}
printf 'From: keepalived@localhost\r\nTo: root@localhost\r\nSubject: %s to be %s, vip floating\r\n\r\n%s: vrrp transition, %s changed to be %s\r\n' \
    "$host" "$state" "$(date '+%F %T')" "$host" "$state" |
    curl -sS --max-time 20 "smtp://$smtp" --mail-from keepalived@localhost --mail-rcpt root@localhost -T -
