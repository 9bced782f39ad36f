#!/usr/bin/env bash
# Builds the keepalived-rs Debian package (README, Install):
#   1. the four services and kactl with the dist profile (LTO, one codegen unit,
#      stripped; Cargo.toml), unless KRS_DEB_NO_BUILD=1 (already built);
#   2. a man page per binary, help2man's rendering of its --help and --version;
#   3. cargo deb --no-build from [package.metadata.deb] in services/vrrp-core/Cargo.toml,
#      then the control file's summary set to the package's (cargo-deb takes vrrp-core's
#      crate description, which is about vrrp-core alone).
# Prints the .deb's path on stdout. Needs cargo-deb (cargo install cargo-deb --locked)
# and help2man (scripts/install-test-deps.sh installs both).
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${CARGO_TARGET_DIR:-$PWD/target}
dist=$target/dist
if [ "${KRS_DEB_NO_BUILD:-0}" != 1 ]; then
    cargo build --profile dist -p vrrp-core -p ipvs-manager -p health-prober -p notifier -p kactl >&2
fi
mkdir -p "$dist/man"
man() { # binary section name
    help2man --no-info --section="$2" --name="$3" --source="keepalived-rs" \
        --version-string="$("$dist/$1" --version | awk '{print $2}')" "$dist/$1" \
        | gzip -9n > "$dist/man/$1.$2.gz"
}
man vrrp-core 8 "keepalived-rs VRRP: election, virtual IPs, gratuitous ARP"
man ipvs-manager 8 "keepalived-rs load-balancer tables: IPVS or nftables"
man health-prober 8 "keepalived-rs health checks of real servers"
man notifier 8 "keepalived-rs notifications: mail, webhooks, notify scripts"
man kactl 1 "the keepalived-rs command line"
mkdir -p "$target/debian"
deb=$(CARGO_TARGET_DIR="$target" cargo deb -p vrrp-core --profile dist --no-build --no-strip -o "$target/debian" \
    | tail -n 1)
summary="Rust keepalived: VRRP, LVS tables, health checks and notifications"
unpacked=$(mktemp -d)
trap 'rm -rf "$unpacked"' EXIT
dpkg-deb -R "$deb" "$unpacked"
sed -i "s/^Description: .*/Description: $summary/" "$unpacked/DEBIAN/control"
dpkg-deb --root-owner-group -Zxz -b "$unpacked" "$deb" >/dev/null
echo "$deb"
