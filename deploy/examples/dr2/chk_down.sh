#!/bin/bash
# vrrp_script chk_down: fails while /etc/keepalived/down exists, which demotes this director
# by 15 (weight -15) after two consecutive failures (fall 2).
[[ -f /etc/keepalived/down ]] && exit 1 || exit 0
