#!/bin/sh
# vrrp_script chk_down (the seed's): fails while /etc/keepalived/down exists,
# which demotes this director by 15 (weight -15) after two failures (fall 2).
# `docker compose exec dr1-vrrp-core touch /etc/keepalived/down`
[ -f /etc/keepalived/down ] && exit 1 || exit 0
