#!/bin/bash
# Run one command inside a throw-away VM booting Debian 12's stock kernel (which has IPVS), and
# return its exit status, stdout and stderr as if it had run here.
#
#   tests/vm/run.sh CMD [ARGS…]
#
# Usable as a cargo target runner:
#   CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER=$PWD/tests/vm/run.sh \
#       cargo test -p keepalived-ipvs --test vm -- --ignored
#
# The command runs as root in the guest, in the current directory, with RUST_*, CARGO_* and KRS_*
# variables carried over. The host's /usr is mounted read-only (so dynamically linked binaries
# and dash/iproute2 work) and the repository, $CARGO_TARGET_DIR, the command's directory and the
# current directory are mounted read-write at the same absolute paths (override with
# KRS_VM_SHARE=dir1:dir2). Exit status 125 means the VM itself failed (console log printed).
#
# Environment: KRS_VM_CACHE (image dir, default /var/cache/keepalived-rs-vm), KRS_VM_MEM (MiB,
# default 1024), KRS_VM_SMP (vCPUs, default 1), KRS_VM_TIMEOUT (seconds, default 1800),
# KRS_VM_VERBOSE=1 (boot/run timing).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${KRS_VM_CACHE:-/var/cache/keepalived-rs-vm}
(($# > 0)) || { echo "usage: $0 CMD [ARGS…]" >&2; exit 2; }

if [[ ! -s "$CACHE/vmlinux" || ! -s "$CACHE/initramfs.cpio" ]]; then
    "$HERE/build.sh" >&2
fi
command -v qemu-system-x86_64 >/dev/null ||
    { echo "run.sh: qemu-system-x86_64 missing (apt-get install --no-install-recommends qemu-system-x86)" >&2; exit 125; }

CTL=$(mktemp -d "${TMPDIR:-/tmp}/krs-vm.XXXXXX")
QPID=
cleanup() {
    [[ -n "$QPID" ]] && kill "$QPID" 2>/dev/null
    rm -rf "$CTL"
}
trap cleanup EXIT

# POSIX single quoting, understood by dash in the guest.
q() { local s=${1//\'/\'\\\'\'}; printf "'%s'" "$s"; }

{
    echo "cd $(q "$PWD") || exit 125"
    while IFS= read -r -d '' kv; do
        name=${kv%%=*}
        [[ "$name" =~ ^(RUST_|CARGO_|KRS_)[A-Za-z0-9_]*$ ]] && echo "export $(q "$kv")"
    done < <(env -0)
    printf 'exec'
    for a in "$@"; do printf ' %s' "$(q "$a")"; done
    echo
} >"$CTL/cmd.sh"

# Directories to share, outermost only (a nested share would be hidden by its parent anyway).
if [[ -n "${KRS_VM_SHARE:-}" ]]; then
    IFS=: read -r -a cand <<<"$KRS_VM_SHARE"
else
    cand=("$REPO" "$PWD")
    [[ -n "${CARGO_TARGET_DIR:-}" ]] && cand+=("$(realpath -m "$CARGO_TARGET_DIR")")
    [[ "$1" == /* ]] && cand+=("$(dirname "$1")")
fi
shares=()
for c in "${cand[@]}"; do
    c=$(realpath -m "$c")
    [[ -d "$c" && "$c" != / && "$c" != /usr && "$c" != /usr/* ]] || continue
    keep=1
    for o in "${cand[@]}"; do
        o=$(realpath -m "$o")
        [[ "$o" != "$c" && "$c" == "$o"/* && -d "$o" && "$o" != / ]] && keep=0
    done
    ((keep)) || continue
    for s in "${shares[@]}"; do [[ "$s" == "$c" ]] && keep=0; done
    ((keep)) && shares+=("$c")
done
args=()
: >"$CTL/mounts"
i=0
for s in "${shares[@]}"; do
    args+=(-fsdev "local,id=s$i,path=$s,security_model=none" -device "virtio-9p-pci,fsdev=s$i,mount_tag=s$i")
    echo "s$i $s" >>"$CTL/mounts"
    i=$((i + 1))
done

# stdout/stderr: qemu "pipe" chardevs write to NAME.out (and read NAME.in, which stays silent).
for p in out err; do mkfifo "$CTL/$p.in" "$CTL/$p.out"; done
cat "$CTL/out.out" &
cat_out=$!
cat "$CTL/err.out" >&2 &
cat_err=$!

t0=$(date +%s.%N)
timeout -k 5 "${KRS_VM_TIMEOUT:-1800}" qemu-system-x86_64 \
    -accel tcg -M pc -cpu max -m "${KRS_VM_MEM:-1024}" -smp "${KRS_VM_SMP:-1}" \
    -nodefaults -no-user-config -display none -no-reboot -nic none \
    -kernel "$CACHE/vmlinux" -initrd "$CACHE/initramfs.cpio" \
    -append "console=ttyS0 quiet loglevel=3 panic=-1 mitigations=off rodata=off init_on_alloc=0 audit=0 lsm=capability cryptomgr.notests tsc=reliable" \
    -chardev "file,id=con,path=$CTL/console.log" -device isa-serial,chardev=con \
    -chardev "pipe,id=out,path=$CTL/out" -device isa-serial,chardev=out \
    -chardev "pipe,id=err,path=$CTL/err" -device isa-serial,chardev=err,iobase=0x3e8,irq=5 \
    -fsdev "local,id=ctl,path=$CTL,security_model=none" -device virtio-9p-pci,fsdev=ctl,mount_tag=ctl \
    -fsdev "local,id=usr,path=/usr,security_model=none,readonly=on" -device virtio-9p-pci,fsdev=usr,mount_tag=usr \
    "${args[@]}" </dev/null &
QPID=$!
qrc=0
wait "$QPID" || qrc=$?
QPID=
# If qemu never opened the FIFOs (it failed to start), the readers still wait in open():
# a momentary writer releases them, and they see end-of-file.
for p in out err; do exec 3<>"$CTL/$p.out"; exec 3>&-; done
wait "$cat_out" "$cat_err" 2>/dev/null || true
t1=$(date +%s.%N)
if [[ "${KRS_VM_VERBOSE:-}" == 1 ]]; then
    # `times` line 2: user and system CPU of this shell's waited-for children (qemu, mostly).
    # On a busy host the ratio CPU/wall shows how much of a core the emulation actually got.
    # (Not inside $(…): a subshell has children times of its own.)
    times >"$CTL/times"
    cpu=$(awk 'NR == 2 { gsub(/[ms]/, " "); print $1 * 60 + $2 + $3 * 60 + $4 }' "$CTL/times")
    awk -v a="$t0" -v b="$t1" -v c="$cpu" \
        'BEGIN { printf "run.sh: VM wall time %.2f s, qemu CPU time %.2f s\n", b - a, c }' >&2
fi
if [[ ! -s "$CTL/rc" ]]; then
    echo "run.sh: the VM ended without an exit status (qemu status $qrc); console:" >&2
    cat "$CTL/console.log" >&2 || true
    exit 125
fi
exit "$(cat "$CTL/rc")"
