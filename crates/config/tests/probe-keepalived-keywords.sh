#!/usr/bin/env bash
# Regenerates keepalived-2.2.7-keywords.txt: every keyword Debian's keepalived 2.2.7 accepts in
# each block, found by asking it. Each candidate word (the binary's strings, their `_` tails and
# the keywords of keepalived-rs's own tables) is put alone into a tiny config inside one block,
# and `keepalived -t` either calls it an "Unknown keyword" or not. About 80,000 runs, ~15 min
# on 2 cores. Needs keepalived 2.2.7 (apt-get install keepalived); only parses, starts nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
strings "$(command -v keepalived)" | grep -xE '[A-Za-z][A-Za-z0-9_-]{1,40}' >"$work/c"
grep -o '"[A-Za-z_][A-Za-z0-9_-]*"' "$here/../src/keywords.rs" | tr -d '"' >>"$work/c"
python3 - "$work/c" >"$work/cands" <<'PY'
import re, sys
c = set(open(sys.argv[1]).read().split())
c |= {w[m.start() + 1:] for w in c for m in re.finditer('_', w) if len(w) - m.start() > 2}
print('\n'.join(sorted(w for w in c if re.fullmatch(r'[A-Za-z][A-Za-z0-9_-]{1,40}', w))))
PY
cat >"$work/probe" <<'PROBE'
#!/usr/bin/env bash
ctx=$1 kw=$2 f=$(mktemp)
rs='virtual_server 198.51.100.1 80 {
real_server 198.51.100.2 80 {'
case $ctx in
top) printf '%s\n' "$kw" ;;
global_defs | SSL) printf '%s {\n%s\n}\n' "$ctx" "$kw" ;;
vrrp_script | vrrp_instance | vrrp_sync_group | track_file) printf '%s x {\n%s\n}\n' "$ctx" "$kw" ;;
authentication) printf 'vrrp_instance x {\nauthentication {\n%s\n}\n}\n' "$kw" ;;
virtual_server) printf 'virtual_server 198.51.100.1 80 {\n%s\n}\n' "$kw" ;;
real_server) printf '%s\n%s\n}\n}\n' "$rs" "$kw" ;;
url) printf '%s\nHTTP_GET {\nurl {\n%s\n}\n}\n}\n}\n' "$rs" "$kw" ;;
host) printf '%s\nSMTP_CHECK {\nhost {\n%s\n}\n}\n}\n}\n' "$rs" "$kw" ;;
*) printf '%s\n%s {\n%s\n}\n}\n}\n' "$rs" "$ctx" "$kw" ;;
esac >"$f"
timeout 5 keepalived -t -l -f "$f" 2>&1 | grep -qF "Unknown keyword '$kw'" || echo "$ctx $kw"
rm -f "$f"
PROBE
chmod +x "$work/probe"
for ctx in top global_defs vrrp_script vrrp_instance authentication vrrp_sync_group track_file \
    virtual_server real_server HTTP_GET SSL_GET TCP_CHECK MISC_CHECK SMTP_CHECK DNS_CHECK \
    UDP_CHECK PING_CHECK FILE_CHECK url host SSL; do
    sed "s/^/$ctx /" "$work/cands"
done | xargs -P "$(nproc)" -L 1 "$work/probe" | sort -u >"$here/keepalived-2.2.7-keywords.txt"
wc -l "$here/keepalived-2.2.7-keywords.txt"
