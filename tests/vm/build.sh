#!/bin/bash
# Build (or reuse) the guest image that tests/vm/run.sh boots: Debian 12's stock kernel, which
# has IPVS as modules, an uncompressed vmlinux and a small uncompressed initramfs.
#
# Idempotent: every step leaves a file behind and is skipped when that file exists, so a second
# run costs nothing. Everything lives under $KRS_VM_CACHE (default /var/cache/keepalived-rs-vm),
# outside the repository. Delete that directory to rebuild from scratch.
#
# Needs: apt-get (configured Debian 12 sources), xz, GNU grep. Runs as root or any user that may
# write the cache directory (apt-get download needs no privileges).
set -euo pipefail

CACHE=${KRS_VM_CACHE:-/var/cache/keepalived-rs-vm}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$CACHE"
cd "$CACHE"

log() { echo "vm-build: $*" >&2; }

# The metapackage linux-image-amd64 names the versioned image package (linux-image-6.1.0-NN-amd64);
# resolve it so the image follows Debian's current point release.
if [[ ! -s kernel-package ]]; then
    pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
    [[ -n "$pkg" ]] || { log "cannot resolve linux-image-amd64 (apt-get update?)"; exit 1; }
    echo "$pkg" >kernel-package.tmp && mv kernel-package.tmp kernel-package
fi
KPKG=$(cat kernel-package)

# 1. Download. busybox-static runs the init script and loads modules; ipvsadm and its libraries
# are the reference client the tests compare against (shipped in the image so that the guest does
# not depend on the host having ipvsadm installed).
PKGS=("$KPKG" busybox-static ipvsadm libnl-3-200 libnl-genl-3-200 libpopt0)
mkdir -p debs
for p in "${PKGS[@]}"; do
    if ! compgen -G "debs/${p}_*.deb" >/dev/null; then
        log "downloading $p"
        (cd debs && apt-get download -q -o APT::Sandbox::User="$(id -un)" "$p")
    fi
done

# 2. Unpack.
if [[ ! -e root/.unpacked ]]; then
    rm -rf root && mkdir root
    for d in debs/*.deb; do
        log "unpacking $d"
        dpkg -x "$d" root
    done
    touch root/.unpacked
fi
KVER=$(ls root/lib/modules | head -n1)
BB=$CACHE/root/bin/busybox

# 3. The package ships no modules.dep, and the host has no depmod: busybox's depmod builds it.
if [[ ! -s root/lib/modules/$KVER/modules.dep ]]; then
    log "depmod $KVER"
    "$BB" depmod -b "$CACHE/root" "$KVER"
fi

# 4. Boot the uncompressed kernel (the image supports PVH): the compressed bzImage costs ~3 s more
# under emulation. The payload starts at the xz magic.
if [[ ! -s vmlinux ]]; then
    off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "root/boot/vmlinuz-$KVER" | head -n1 | cut -d: -f1)
    [[ -n "$off" ]] || { log "no xz payload in vmlinuz-$KVER"; exit 1; }
    log "extracting vmlinux at offset $off"
    # xz stops at the end of its stream and complains about the trailer that follows: expected.
    tail -c +$((off + 1)) "root/boot/vmlinuz-$KVER" | xz -dcq >vmlinux.tmp 2>/dev/null || true
    [[ $(head -c 4 vmlinux.tmp | od -An -tx1 | tr -d ' ') == 7f454c46 ]] ||
        { log "extracted kernel is not an ELF file"; exit 1; }
    mv vmlinux.tmp vmlinux
fi

# 5. The initramfs. Rebuilt when init or this script changes (cheap: ~1 s).
stamp=$(cat "$HERE/init" "$HERE/build.sh" | sha256sum | cut -c1-16)
if [[ ! -s initramfs.cpio || "$(cat initramfs.stamp 2>/dev/null)" != "$stamp" ]]; then
    log "building initramfs"
    rm -rf initrd && mkdir -p initrd/{bin,sbin,dev,proc,sys,tmp,run,mnt,usr,ctl,opt/ipvsadm/lib,lib/modules}
    cp "$BB" initrd/bin/busybox
    # Only the applets the init script and module loading need: busybox's own `ip`/`sh` must not
    # shadow the host's iproute2 and dash (busybox ip has no netns).
    for a in modprobe insmod; do ln -s ../bin/busybox "initrd/sbin/$a"; done
    # Dynamically linked programs (test binaries, dash, iproute2) come from the host's /usr,
    # mounted read-only over 9p: point the loader paths at it.
    ln -s usr/lib64 initrd/lib64
    ln -s ../usr/lib/x86_64-linux-gnu initrd/lib/x86_64-linux-gnu
    ln -s /usr/bin/dash initrd/bin/sh
    cp root/sbin/ipvsadm initrd/opt/ipvsadm/ipvsadm 2>/dev/null || cp root/usr/sbin/ipvsadm initrd/opt/ipvsadm/ipvsadm
    for l in libnl-3.so.200 libnl-genl-3.so.200 libpopt.so.0; do
        src=$(find root/lib root/usr/lib -name "$l" 2>/dev/null | head -n1)
        cp -L "$src" initrd/opt/ipvsadm/lib/
    done

    # Modules: IPVS with every scheduler and the SIP persistence engine, conntrack (and crc32c,
    # requested by name), veth and bridge for namespace topologies, ipip for tunnel forwarding,
    # 9p over virtio for the shares.
    want=(ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_lblc ip_vs_lblcr ip_vs_dh ip_vs_sh
          ip_vs_sed ip_vs_nq ip_vs_fo ip_vs_ovf ip_vs_mh ip_vs_ftp ip_vs_pe_sip nf_conntrack
          crc32c_generic libcrc32c veth bridge ipip tunnel4 ip_tunnel virtio_pci 9pnet_virtio 9p)
    M=root/lib/modules/$KVER
    declare -A seen=()
    queue=()
    for w in "${want[@]}"; do
        # modules.dep names files; the module name uses '_' where file names may use '-'.
        f=$(grep -E "(^|/)${w//_/[_-]}\.ko:" "$M/modules.dep" | head -n1 | cut -d: -f1 || true)
        [[ -n "$f" ]] || { log "module $w not in $KVER (skipped)"; continue; }
        queue+=("$f")
    done
    while ((${#queue[@]})); do
        f=${queue[0]}; queue=("${queue[@]:1}")
        [[ -n "${seen[$f]:-}" ]] && continue
        seen[$f]=1
        mkdir -p "initrd/lib/modules/$KVER/$(dirname "$f")"
        cp "$M/$f" "initrd/lib/modules/$KVER/$f"
        for d in $(grep -E "^$f:" "$M/modules.dep" | cut -d: -f2-); do queue+=("$d"); done
    done
    cp "$M"/modules.{order,builtin} "initrd/lib/modules/$KVER/" 2>/dev/null || true
    "$BB" depmod -b "$CACHE/initrd" "$KVER"
    cp "$HERE/init" initrd/init && chmod 755 initrd/init
    log "$(find initrd/lib/modules -name '*.ko' | wc -l) modules in the initramfs"
    # Uncompressed: faster to unpack under emulation than gzip.
    (cd initrd && find . | "$BB" cpio -o -H newc 2>/dev/null) >initramfs.cpio.tmp
    mv initramfs.cpio.tmp initramfs.cpio
    echo "$stamp" >initramfs.stamp
fi
log "ready: $CACHE/vmlinux $CACHE/initramfs.cpio (kernel $KVER)"
