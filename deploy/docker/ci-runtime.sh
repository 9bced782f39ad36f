#!/usr/bin/env bash
# CI for the registry Dockerfile on a machine without a registry (scripts/test runs it):
#   1. `docker-compose config` shows the build section of the services' image;
#   2. the Dockerfile's runtime stage is built FROM the offline base
#      (build-offline.sh base), with the host's release binaries as PREBUILT, so
#      the stage cannot rot unnoticed; the image's binaries answer --version.
# KRS_PREBUILT_DIR: take the binaries from there instead of building target/release.
# Needs root, docker, docker-compose, debootstrap (for the base).
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${CARGO_TARGET_DIR:-$PWD/target}
base=keepalived-rs/base:bookworm
image=keepalived-rs/services:ci-runtime
log() { printf '== %s\n' "$*" >&2; }

log "docker-compose config: the image has a build section"
config=$(docker-compose config)
grep -q 'dockerfile: deploy/docker/Dockerfile' <<<"$config" \
    || { echo "compose.yaml: no build section naming deploy/docker/Dockerfile" >&2; exit 1; }

deploy/docker/build-offline.sh base
bins=(vrrp-core ipvs-manager health-prober notifier kactl otlp-sink)
prebuilt=${KRS_PREBUILT_DIR:-}
if [ -z "$prebuilt" ]; then
    args=(); for b in "${bins[@]}"; do args+=(-p "$b"); done
    CARGO_TARGET_DIR="$target" cargo build --release "${args[@]}"
    prebuilt=$target/release
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"; docker image rm -f "$image" >/dev/null 2>&1 || true' EXIT
mkdir -p "$stage/prebuilt" "$stage/deploy/docker"
for b in "${bins[@]}"; do cp "$prebuilt/$b" "$stage/prebuilt/"; done
cp deploy/realserver.sh "$stage/deploy/"
cp deploy/docker/smtp-sink.py "$stage/deploy/docker/"
log "docker build --target runtime FROM $base"
docker build --quiet -f deploy/docker/Dockerfile --target runtime \
    --build-arg BUILDER="$base" --build-arg RUNTIME_BASE="$base" --build-arg PREBUILT=prebuilt \
    -t "$image" "$stage" >/dev/null
for b in "${bins[@]}"; do
    docker run --rm "$image" "$b" --version
done
docker run --rm "$image" sh -c 'command -v realserver.sh smtp-sink.py ip nft python3 curl' >/dev/null
log "runtime stage OK"
