#!/usr/bin/env bash
# Builds the lab's container images on a machine whose Docker engine reaches
# no image registry (docs/sandbox.md, "Tools"; the steps are in docs/lab.md,
# "Build the images"):
#
#   1. base      debootstrap a minimal Debian bookworm rootfs from apt's own
#                mirror (cached as a tarball) and `docker import` it as
#                keepalived-rs/base:bookworm
#   2. binaries  cargo build --release of the four services, kactl and
#                otlp-sink (incremental; target dir: $CARGO_TARGET_DIR, by
#                default the repository's target/)
#   3. images    keepalived-rs/services:dev FROM the base with the binaries
#                COPYed in (deploy/docker/Dockerfile.offline). The same image
#                serves the real servers, the client, the SMTP sink and the
#                OTLP sink of compose.yaml.
#
#   deploy/docker/build-offline.sh            all three steps, each skipped
#                                             when its output is up to date
#   deploy/docker/build-offline.sh base|binaries|images
#
# Environment: KRS_CACHE (rootfs cache, default /var/cache/keepalived-rs),
# MIRROR (Debian mirror; default: the first deb.debian.org-style URI of apt's
# sources), CARGO_TARGET_DIR, KRS_REBUILD_BASE=1 to rebuild the base.
# Needs root (debootstrap), docker, cargo.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
step=${1:-all}
cache=${KRS_CACHE:-/var/cache/keepalived-rs}
target=${CARGO_TARGET_DIR:-$repo/target}
base_image=keepalived-rs/base:bookworm
services_image=keepalived-rs/services:dev
# Packages of the base image: the data plane and VIP tools, TLS roots, and
# what the lab's real servers (python3 http.server), client (curl) and SMTP
# sink (python3-aiosmtpd, from Debian: no PyPI access needed) run.
packages=iproute2,nftables,ca-certificates,python3,curl,python3-aiosmtpd,procps

log() { printf '== %s\n' "$*" >&2; }

# The Debian mirror apt already uses (deb822 .sources or one-line .list).
mirror() {
    if [ -n "${MIRROR:-}" ]; then echo "$MIRROR"; return; fi
    local uri
    uri=$( { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}'
             grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print $2}'; } \
           | grep -v -e security -e '^$' | grep '/debian/\?$' | head -n1)
    echo "${uri:-http://deb.debian.org/debian}"
}

build_base() {
    if [ "${KRS_REBUILD_BASE:-0}" != 1 ] && docker image inspect "$base_image" >/dev/null 2>&1; then
        log "base: $base_image exists (KRS_REBUILD_BASE=1 rebuilds it)"
        return
    fi
    command -v debootstrap >/dev/null || { echo "debootstrap missing: apt-get install debootstrap" >&2; exit 1; }
    mkdir -p "$cache"
    local tarball="$cache/rootfs-bookworm-$(echo "$packages" | md5sum | cut -c1-8).tar"
    if [ ! -s "$tarball" ] || [ "${KRS_REBUILD_BASE:-0}" = 1 ]; then
        local rootfs
        rootfs=$(mktemp -d "$cache/rootfs.XXXXXX")
        local m; m=$(mirror)
        log "base: debootstrap bookworm from $m into $rootfs"
        debootstrap --variant=minbase --include="$packages" bookworm "$rootfs" "$m" >"$cache/debootstrap.log" 2>&1 \
            || { tail -n 20 "$cache/debootstrap.log" >&2; rm -rf "$rootfs"; exit 1; }
        # Keep the image small: no apt lists or package cache.
        rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
        tar -C "$rootfs" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
        rm -rf "$rootfs"
    else
        log "base: cached rootfs $tarball"
    fi
    log "base: docker import -> $base_image"
    docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["/bin/bash"]' "$tarball" "$base_image" >/dev/null
}

bins=(vrrp-core ipvs-manager health-prober notifier kactl otlp-sink)

build_binaries() {
    log "binaries: cargo build --release into $target/release"
    local args=()
    for b in "${bins[@]}"; do args+=(-p "$b"); done
    CARGO_TARGET_DIR="$target" cargo build --release "${args[@]}"
}

build_images() {
    local stage
    stage=$(mktemp -d)
    trap 'rm -rf "$stage"' RETURN
    mkdir -p "$stage/bin"
    for b in "${bins[@]}"; do
        [ -x "$target/release/$b" ] || { echo "$target/release/$b missing: run '$0 binaries'" >&2; exit 1; }
        cp "$target/release/$b" "$stage/bin/"
    done
    cp deploy/docker/Dockerfile.offline "$stage/Dockerfile"
    cp deploy/realserver.sh deploy/docker/smtp-sink.py "$stage/bin/"
    log "images: docker build -> $services_image"
    docker build --quiet --build-arg BASE="$base_image" -t "$services_image" "$stage" >/dev/null
}

case "$step" in
    base) build_base ;;
    binaries) build_binaries ;;
    images) build_images ;;
    all) build_base; build_binaries; build_images ;;
    *) echo "usage: $0 [all|base|binaries|images]" >&2; exit 2 ;;
esac
log "done: $step"
