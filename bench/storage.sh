#!/usr/bin/env bash
# Storage benchmark (issue 14): the four drivers on a real zfs pool (zfs-fuse, a file vdev), a loop btrfs, and
# a plain directory (overlay, dir), beside `lxc-copy -s` on the same backend where lxc-copy supports it.
#
#   sudo bash bench/storage.sh [N]          runs per measurement (default 10)
#   RUNTIME=/abs/path/to/proxmox-lxcri      ours (default: build/proxmox-lxcri)
#
# The image is the two-layer busybox OCI layout of the tests (tests/unit/image/testdata/make_busybox_layout.sh),
# imported into a private image store. Measured with hyperfine:
#   clone        the driver's own operation for one container from the image's top layer: zfs clone of the
#                layer snapshot, btrfs subvolume snapshot, an overlay mount over the shared layers, a reflink/
#                plain copy for dir (what create --image does for the rootfs)
#   clone --base `clone --base TPL ID` to a created container (a base registered from the image)
#   create       `create --image REF ID` to a created container (rootfs, bundle, liblxc start), delete between
#   lxc-copy -s  a snapshot clone of an LXC container of the same rootfs on the same backend (btrfs: subvolume
#                snapshot; overlay: -B overlay over a dir container); zfs: lxc-copy's zfs backend needs kernel
#                ZFS (not measured); dir: lxc-copy -s has no dir snapshot (it is an overlay)
#   disk         per idle created container, over 10 of them: zfs `used` of <pool>/containers, btrfs exclusive
#                bytes (`btrfs filesystem du`), du for overlay and dir
# Prints a markdown table (also to bench/out/storage-<time>.md). Nothing is asserted.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-10}
OURS=${RUNTIME:-$repo/build/proxmox-lxcri}
FIX="$repo/tests/storage/fixture.sh"
die() {
    echo "bench: $*" >&2
    exit 1
}
[[ $(id -u) == 0 ]] || die "needs root"
[[ -x $OURS ]] || die "RUNTIME=$OURS is not executable"
for t in hyperfine zfs-fuse mkfs.btrfs lxc-copy jq; do command -v "$t" >/dev/null || die "$t not installed"; done

W=$(mktemp -d /tmp/lxcri-bench-storage.XXXXXX)
POOL="lxcri-bench-$$"
cleanup() {
    for id in $("$OURS" --root "$W/state" list -q 2>/dev/null); do "$OURS" --root "$W/state" delete --force "$id" || true; done
    for n in $(lxc-ls -P "$W/lxc" 2>/dev/null); do lxc-destroy -P "$W/lxc" -n "$n" >/dev/null 2>&1 || true; done
    bash "$FIX" zfs-down "$POOL" $$ || true
    bash "$FIX" btrfs-down "$W/btrfs" || true
    for n in $(lxc-ls -P "$W/btrfs/lxcpath" 2>/dev/null); do lxc-destroy -P "$W/btrfs/lxcpath" -n "$n" >/dev/null 2>&1 || true; done
    rm -rf --one-file-system "$W"
}
trap cleanup EXIT

sh "$repo/tests/unit/image/testdata/make_busybox_layout.sh" "$W/layout" bb >/dev/null 2>&1
rt() { "$OURS" --root "$W/state" --image-root "$W/images" "$@"; }
rt image import "$W/layout" bench/busybox:1 >/dev/null 2>&1 || rt image import --name bench/busybox:1 "$W/layout" >/dev/null
REF=bench/busybox:1
bash "$FIX" zfs-up "$POOL" "$W/zfs" 512 $$
bash "$FIX" btrfs-up "$W/btrfs" 512
mkdir -p "$W/overlay" "$W/dir"

declare -A root=([zfs]="$W/zfs" [btrfs]="$W/btrfs" [overlay]="$W/overlay" [dir]="$W/dir")
ms() { jq -r '.results[0] | "\(.mean * 1000 | . * 10 | round / 10) ± \(.stddev * 1000 | . * 10 | round / 10)"' "$1"; }
used_kib() { # filesystem used KiB under $1
    sync
    case $2 in
    zfs) echo $(($(zfs get -H -p -o value used "$POOL/containers") / 1024)) ;;
    btrfs) btrfs filesystem sync "$1" >/dev/null; btrfs filesystem du -s --raw "$1/containers" | awk 'END {print int($2 / 1024)}' ;;
    *) du -sk -x "$1/containers" | cut -f1 ;;
    esac
}

declare -A clone create base lxc disk
for d in zfs btrfs overlay dir; do
    r=${root[$d]}
    # A first container makes the shared layers (zfs datasets, btrfs snapshots, overlay diffs).
    rt create --image "$REF" --storage-root "$r" --storage-driver "$d" warm-$d -- true </dev/null >/dev/null
    top=$(jq -r '.storage.id // empty' "$W/state/warm-$d/state.json" 2>/dev/null || true)
    case $d in
    zfs)
        snap=$(zfs get -H -o value origin "$POOL/containers/warm-$d")
        hyperfine -N -r "$N" --export-json "$W/c.json" --prepare "sh -c 'for i in \$(seq 50); do zfs list $POOL/containers/b >/dev/null 2>&1 || exit 0; zfs destroy -r $POOL/containers/b 2>/dev/null; sleep 0.1; done'" \
            "zfs clone -o mountpoint=$r/containers/bx/rootfs $snap $POOL/containers/b" >/dev/null
        sleep 0.5; zfs destroy -r "$POOL/containers/b" 2>/dev/null || { sleep 1; zfs destroy -r "$POOL/containers/b"; }
        ;;
    btrfs)
        layer=$(find "$r/layers" -mindepth 1 -maxdepth 1 -type d ! -name "*.tmp" | sort | tail -1) # any layer snapshot
        hyperfine -N -r "$N" --export-json "$W/c.json" --prepare "sh -c 'btrfs subvolume delete $W/btrfs/bsnap >/dev/null 2>&1; true'" \
            "btrfs subvolume snapshot $layer $W/btrfs/bsnap" >/dev/null
        btrfs subvolume delete "$W/btrfs/bsnap" >/dev/null
        ;;
    overlay)
        lower=$(cat "$r/containers/warm-$d/mount-options")
        mkdir -p "$W/ovl/u" "$W/ovl/w" "$W/ovl/m"
        hyperfine -N -r "$N" --export-json "$W/c.json" --prepare "sh -c 'umount $W/ovl/m 2>/dev/null; true'" \
            "mount -t overlay overlay -o ${lower%%,upperdir=*},upperdir=$W/ovl/u,workdir=$W/ovl/w $W/ovl/m" >/dev/null
        umount "$W/ovl/m" || true
        ;;
    dir)
        hyperfine -N -r "$N" --export-json "$W/c.json" --prepare "sh -c 'rm -rf $W/dcopy'" \
            "cp -a --reflink=auto $r/containers/warm-$d/rootfs $W/dcopy" >/dev/null
        rm -rf "$W/dcopy"
        ;;
    esac
    clone[$d]=$(ms "$W/c.json")
    hyperfine -N -r "$N" --export-json "$W/k.json" --prepare "sh -c '$OURS --root $W/state delete --force bench-$d 2>/dev/null; true'" \
        "$OURS --root $W/state --image-root $W/images create --image $REF --storage-root $r --storage-driver $d bench-$d -- true" \
        >/dev/null 2>&1 || true
    create[$d]=$(ms "$W/k.json")
    # clone --base: a created container from a template base (the driver's clone, the bundle, liblxc's create).
    rt base register --image "$REF" --storage-root "$r" --storage-driver "$d" "tpl-$d" >/dev/null
    hyperfine -N -r "$N" --export-json "$W/b.json" --prepare "sh -c '$OURS --root $W/state delete --force cl-$d 2>/dev/null; true'" \
        "$OURS --root $W/state --image-root $W/images clone --base tpl-$d --storage-root $r cl-$d" >/dev/null 2>&1 || true
    base[$d]=$(ms "$W/b.json")
    rt delete --force "cl-$d" >/dev/null 2>&1 || true
    rt base rm --force --storage-root "$r" "tpl-$d"
    rt delete --force "bench-$d" >/dev/null 2>&1 || true
    before=$(used_kib "$r" "$d")
    for i in $(seq 10); do
        rt create --image "$REF" --storage-root "$r" --storage-driver "$d" "idle-$d-$i" -- true </dev/null >/dev/null
    done
    after=$(used_kib "$r" "$d")
    disk[$d]=$(((after - before) / 10))
    for i in $(seq 10); do rt delete --force "idle-$d-$i"; done
    rt delete --force "warm-$d"
    : "$top"
done

# lxc-copy -s: a dir container of the same rootfs (the dir driver's copy) as the source.
mkdir -p "$W/lxc"
src_rootfs() { # $1: where
    rt create --image "$REF" --storage-root "$W/dir" --storage-driver dir lxcsrc -- true </dev/null >/dev/null
    cp -a "$W/dir/containers/lxcsrc/rootfs/." "$1/"
    rt delete --force lxcsrc
}
lxc_src() { # name rootfs-spec
    mkdir -p "$W/lxc/$1"
    printf 'lxc.uts.name = %s\nlxc.rootfs.path = %s\nlxc.net.0.type = empty\n' "$1" "$2" >"$W/lxc/$1/config"
}
# btrfs: the source rootfs a subvolume on the loop btrfs.
mkdir -p "$W/btrfs/lxcpath/bsrc"
btrfs subvolume create "$W/btrfs/lxcpath/bsrc/rootfs" >/dev/null
src_rootfs "$W/btrfs/lxcpath/bsrc/rootfs"
printf 'lxc.uts.name = bsrc\nlxc.rootfs.path = btrfs:%s\nlxc.net.0.type = empty\n' "$W/btrfs/lxcpath/bsrc/rootfs" \
    >"$W/btrfs/lxcpath/bsrc/config"
hyperfine -N -r "$N" --export-json "$W/l.json" --prepare "sh -c 'lxc-destroy -P $W/btrfs/lxcpath -n bcopy >/dev/null 2>&1; true'" \
    "lxc-copy -P $W/btrfs/lxcpath -n bsrc -N bcopy -s" >/dev/null 2>&1 && lxc[btrfs]=$(ms "$W/l.json") || lxc[btrfs]="failed"
lxc-destroy -P "$W/btrfs/lxcpath" -n bcopy >/dev/null 2>&1 || true
lxc-destroy -P "$W/btrfs/lxcpath" -n bsrc >/dev/null 2>&1 || true
# overlay: a dir container and -B overlay snapshots of it.
mkdir -p "$W/lxc/osrc/rootfs"
src_rootfs "$W/lxc/osrc/rootfs"
lxc_src osrc "dir:$W/lxc/osrc/rootfs"
hyperfine -N -r "$N" --export-json "$W/l.json" --prepare "sh -c 'lxc-destroy -P $W/lxc -n ocopy >/dev/null 2>&1; true'" \
    "lxc-copy -P $W/lxc -n osrc -N ocopy -s -B overlay" >/dev/null 2>&1 && lxc[overlay]=$(ms "$W/l.json") || lxc[overlay]="failed"
lxc[zfs]="n/a (needs kernel ZFS)"
lxc[dir]="n/a (-s is an overlay)"

mkdir -p "$repo/bench/out"
out="$repo/bench/out/storage-$(date -u +%Y%m%dT%H%M%SZ).md"
{
    echo "| driver | clone (driver op) ms | clone --base ms | create --image ms | lxc-copy -s ms | disk per idle container KiB |"
    echo "|---|---:|---:|---:|---:|---:|"
    for d in zfs btrfs overlay dir; do
        echo "| $d | ${clone[$d]} | ${base[$d]} | ${create[$d]} | ${lxc[$d]} | ${disk[$d]} |"
    done
} | tee "$out"
