#!/usr/bin/env bash
# Image start benchmark (issue 14 item 5: "image -> running container on a clone <= 1.2x a plain bundle run"):
# `run --image REF ID -- true` of a stored image whose layers the driver has already, against `run --bundle` of
# the same rootfs (the `spec --image` output) running `true`, per storage driver, the runs taking turns in one
# loop (bundle, image, for each runtime given, N rounds), so that the machine's load moves all of them alike.
#
#   sudo bash bench/image-start.sh [N] [DRIVERS]   rounds (default 20); drivers (default "overlay btrfs zfs")
#   RUNTIME=/abs/path/to/proxmox-lxcri             ours (default: build/proxmox-lxcri)
#   BEFORE=/abs/path/to/proxmox-lxcri              a second binary measured in the same loop (optional)
#
# The image is the two-layer busybox OCI layout of the tests (tests/unit/image/testdata/make_busybox_layout.sh),
# imported into a private image store; btrfs is a loop device and zfs a zfs-fuse pool on a file vdev, both made
# and removed by tests/storage/fixture.sh (which shares a running zfs-fuse). State, bundle and the overlay
# storage root are in a work dir under /tmp. Times are wall clock around each command ($EPOCHREALTIME).
# Prints a markdown table (also to bench/out/image-start-<time>.md). Nothing is asserted.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-20}
DRIVERS=${2:-overlay btrfs zfs}
OURS=${RUNTIME:-$repo/build/proxmox-lxcri}
FIX="$repo/tests/storage/fixture.sh"
die() {
    echo "bench: $*" >&2
    exit 1
}
[[ $(id -u) == 0 ]] || die "needs root"
[[ -x $OURS ]] || die "RUNTIME=$OURS is not executable"
declare -A BIN=([ours]=$OURS)
NAMES=(ours)
if [[ -n ${BEFORE:-} ]]; then
    [[ -x $BEFORE ]] || die "BEFORE=$BEFORE is not executable"
    BIN[before]=$BEFORE
    NAMES=(before ours)
fi
for t in jq umoci; do command -v "$t" >/dev/null || die "$t not installed"; done

W=$(mktemp -d /tmp/lxcri-bench-start.XXXXXX)
POOL="lxcri-bstart-$$"
STATE="$W/state"
declare -A root=([overlay]="$W/overlay" [dir]="$W/dir" [btrfs]="$W/btrfs" [zfs]="$W/zfs")
cleanup() {
    local id
    for id in $("$OURS" --root "$STATE" list -q 2>/dev/null); do "$OURS" --root "$STATE" delete --force "$id" >/dev/null 2>&1 || true; done
    [[ $DRIVERS != *zfs* ]] || bash "$FIX" zfs-down "$POOL" $$ || true
    [[ $DRIVERS != *btrfs* ]] || bash "$FIX" btrfs-down "$W/btrfs" || true
    awk -v w="$W/" 'index($5, w) == 1 {print $5}' /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
    rm -rf --one-file-system "$W"
}
trap cleanup EXIT

sh "$repo/tests/unit/image/testdata/make_busybox_layout.sh" "$W/layout" bb >/dev/null 2>&1
REF=bench/busybox:1
rt() { "$OURS" --root "$STATE" --image-root "$W/images" "$@"; }
rt image import "$W/layout" "$REF" >/dev/null
rt spec --image "$REF" --bundle "$W/bundle"
jq '.process.args = ["true"] | .process.terminal = false' "$W/bundle/config.json" >"$W/cfg.json"
mv "$W/cfg.json" "$W/bundle/config.json"
for d in $DRIVERS; do
    case $d in
    zfs) bash "$FIX" zfs-up "$POOL" "$W/zfs" 512 $$ ;;
    btrfs) bash "$FIX" btrfs-up "$W/btrfs" 512 ;;
    *) mkdir -p "${root[$d]}" ;;
    esac
done

# timed KEY CMD...: runs CMD (output discarded), appends its wall time in ms to $W/KEY.
timed() {
    local key=$1 t0 t1
    shift
    t0=$EPOCHREALTIME
    "$@" >/dev/null || die "failed: $*"
    t1=$EPOCHREALTIME
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) * 1000 }' >>"$W/$key"
}

stats() { # file -> "mean median"
    sort -n "$1" | awk '{ v[NR] = $1; s += $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.1f %.1f", s / NR, m }'
}

for d in $DRIVERS; do
    echo "bench: $d ($N rounds)" >&2
    for n in "${NAMES[@]}"; do # the shared layers, and a warm page cache for every binary
        "${BIN[$n]}" --root "$STATE" --image-root "$W/images" run --image "$REF" --storage-root "${root[$d]}" \
            --storage-driver "$d" "warm-$n" -- true >/dev/null
        "${BIN[$n]}" --root "$STATE" run --bundle "$W/bundle" "warm-$n" >/dev/null
    done
    for ((i = 0; i < N; i++)); do
        for n in "${NAMES[@]}"; do
            timed "$d-$n-bundle" "${BIN[$n]}" --root "$STATE" run --bundle "$W/bundle" "b-$n-$i"
            timed "$d-$n-image" "${BIN[$n]}" --root "$STATE" --image-root "$W/images" run --image "$REF" \
                --storage-root "${root[$d]}" --storage-driver "$d" "i-$n-$i" -- true
        done
    done
done

mkdir -p "$repo/bench/out"
out="$repo/bench/out/image-start-$(date -u +%Y%m%dT%H%M%SZ).md"
{
    echo "| driver | binary | run --bundle mean / median ms | run --image mean / median ms | ratio mean / median |"
    echo "|---|---|---:|---:|---:|"
    for d in $DRIVERS; do
        for n in "${NAMES[@]}"; do
            read -r bm bmed <<<"$(stats "$W/$d-$n-bundle")"
            read -r im imed <<<"$(stats "$W/$d-$n-image")"
            ratio=$(awk -v a="$im" -v b="$bm" -v c="$imed" -v e="$bmed" 'BEGIN { printf "%.2f / %.2f", a / b, c / e }')
            echo "| $d | $n | $bm / $bmed | $im / $imed | $ratio |"
        done
    done
} | tee "$out"
echo "(load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); $N rounds)" | tee -a "$out"
