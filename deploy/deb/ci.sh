#!/usr/bin/env bash
# CI for the Debian package (scripts/test runs it as root): build the .deb
# (deploy/deb/build.sh), lintian with no errors, then in a clean bookworm root
# (the offline base image of build-offline.sh, exported to a directory):
# dpkg -i, every binary's --version, systemd-analyze verify of the installed
# units, and dpkg --purge leaving no file behind (the keepalived-rs user stays,
# as Debian keeps system users; dpkg's own state and logs are not ours).
# Needs root, cargo-deb, help2man, lintian, docker, debootstrap.
set -euo pipefail
cd "$(dirname "$0")/../.."
log() { printf '== %s\n' "$*" >&2; }

deb=$(deploy/deb/build.sh)
deb=${deb##* }
[ -f "$deb" ] || { echo "deploy/deb/build.sh made no .deb ($deb)" >&2; exit 1; }
log "built $deb"
dpkg-deb --contents "$deb" >&2

log "lintian"
lintian --fail-on error --info "$deb" >&2

deploy/docker/build-offline.sh base
root=$(mktemp -d /tmp/krs-deb-root.XXXXXX)
container=
cleanup() {
    [ -n "$container" ] && docker rm -f "$container" >/dev/null 2>&1 || true
    rm -rf "$root"
}
trap cleanup EXIT
container=$(docker create keepalived-rs/base:bookworm)
docker export "$container" | tar -x -C "$root"
# The base has no systemd; systemd-analyze verify --root needs systemd's own units
# (sysinit.target, network-online.target…): the host's systemd 252, bookworm's, which
# a bookworm root has once systemd is installed. Copied before the "before" listing,
# so the purge check is unaffected.
mkdir -p "$root/usr/lib/systemd/system"
cp -rn /usr/lib/systemd/system/. "$root/usr/lib/systemd/system/"

# Every file of the root, minus what dpkg and the user database keep by design.
files() {
    (cd "$root" && find . -xdev \
        \( -path ./var/lib/dpkg -o -path ./var/log -o -path ./tmp -o -path ./proc -o -path ./dev \
           -o -path ./var/cache/debconf \) -prune -o -print) \
        | grep -v -E '^\./etc/(passwd|group|shadow|gshadow)-$' | sort
}
files > "$root.before"

log "dpkg -i into a clean bookworm root"
cp "$deb" "$root/tmp/keepalived-rs.deb"
chroot "$root" dpkg -i /tmp/keepalived-rs.deb
chroot "$root" getent passwd keepalived-rs >/dev/null

for b in /usr/sbin/vrrp-core /usr/sbin/ipvs-manager /usr/sbin/health-prober /usr/sbin/notifier /usr/bin/kactl; do
    chroot "$root" "$b" --version
done
for page in vrrp-core.8 ipvs-manager.8 health-prober.8 notifier.8; do
    [ -s "$root/usr/share/man/man8/$page.gz" ] || { echo "man page $page missing" >&2; exit 1; }
done
[ -s "$root/usr/share/man/man1/kactl.1.gz" ] || { echo "man page kactl.1 missing" >&2; exit 1; }

log "systemd-analyze verify of the installed units"
units=()
for u in "$root"/usr/lib/systemd/system/keepalived-rs*; do units+=("${u#"$root"}"); done
((${#units[@]} == 5)) || { echo "expected 5 units, found: ${units[*]}" >&2; exit 1; }
# --man=no: the host's man cannot see the root's pages; they are checked above.
out=$(systemd-analyze verify --man=no --root="$root" "${units[@]/#/$root}" 2>&1) || { echo "$out" >&2; exit 1; }
# verify exits 0 on some problems it only prints; any line about our units is one.
if grep -q keepalived-rs <<<"$out"; then echo "$out" >&2; exit 1; fi

log "dpkg --purge leaves nothing behind"
mkdir -p "$root/var/lib/keepalived-rs/notifier" "$root/run/keepalived-rs"   # as the units would
chroot "$root" dpkg --purge keepalived-rs
rm -f "$root/tmp/keepalived-rs.deb"
files > "$root.after"
if ! diff -u "$root.before" "$root.after"; then
    echo "files left behind after purge (above)" >&2
    rm -f "$root.before" "$root.after"
    exit 1
fi
rm -f "$root.before" "$root.after"
log "Debian package OK"
