#!/usr/bin/env bash
# Checkpoint/restore benchmark (issue 14): proxmox-lxcri beside runc 1.1.5, both with the project's CRIU
# (/usr/local/sbin/criu, >= 4.1, scripts/build-criu.sh), on the same busybox bundle, taking turns.
#
#   sudo bash bench/checkpoint.sh [N]         cycles per runtime (default 10)
#   RUNTIME=/abs/path/to/proxmox-lxcri        ours (default: build/proxmox-lxcri)
#   BEFORE=/abs/path/to/proxmox-lxcri         also an earlier binary of ours, in the same turns
#
# One cycle: `run -d` of a shell counter loop (a small process with memory state), then timed:
#   checkpoint   `checkpoint --image-path P --work-path W ID` (runc's form: the container is gone afterwards)
#   restore      `restore --detach --image-path P --work-path W --bundle B ID` until it returns (running)
# then `delete --force`. Prints mean/median ms per runtime and the ratios ours/runc. Nothing is asserted.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-10}
OURS=${RUNTIME:-$repo/build/proxmox-lxcri}
CRIU=/usr/local/sbin/criu

[[ $(id -u) == 0 ]] || { echo "bench: needs root" >&2; exit 1; }
[[ -x $CRIU ]] || { echo "bench: $CRIU missing (bash scripts/build-criu.sh)" >&2; exit 1; }
command -v runc >/dev/null || { echo "bench: runc not installed" >&2; exit 1; }

# shellcheck source=tests/e2e/lib.sh
source "$repo/tests/e2e/lib.sh"
E2E_WORK=$(mktemp -d /tmp/lxcri-bench-ckpt.XXXXXX)
export E2E_WORK
STATE=$(mktemp -d /run/lxcri-bench-ckpt.XXXXXX)
declare -A bin=([runc]=$(command -v runc) [ours]=$OURS)
runtimes=(runc ours)
if [[ -n ${BEFORE:-} ]]; then
    bin[before]=$BEFORE
    runtimes+=(before)
fi
cleanup() {
    local r
    for r in "${runtimes[@]}"; do "${bin[$r]}" --root "$STATE/$r" delete --force bench-ckpt >/dev/null 2>&1 || true; done
    rm -rf --one-file-system "$E2E_WORK" "$STATE"
}
trap cleanup EXIT

now_ms() { date +%s%N | awk '{printf "%.3f", $1 / 1e6}'; }
for r in "${runtimes[@]}"; do
    make_busybox_bundle "$E2E_WORK/bundle-$r" sh -c 'i=0; while :; do i=$((i+1)); echo $i >/tmp/count; sleep 0.05; done' \
        >/dev/null
    spec_edit "$E2E_WORK/bundle-$r" '.root.readonly = false'
    : >"$E2E_WORK/$r.ckpt"
    : >"$E2E_WORK/$r.rest"
done

cycle() { # cycle RUNTIME: one timed checkpoint and restore; appends ms to RUNTIME.ckpt / RUNTIME.rest
    local r=$1 b="$E2E_WORK/bundle-$1" img="$E2E_WORK/img-$1" work="$E2E_WORK/work-$1" t0 t1 t2
    local rt=("${bin[$r]}" --root "$STATE/$r" --criu "$CRIU")
    rm -rf "$img" "$work"
    "${rt[@]}" run -d --bundle "$b" bench-ckpt </dev/null >/dev/null 2>&1
    sleep 0.3
    t0=$(now_ms)
    "${rt[@]}" checkpoint --image-path "$img" --work-path "$work" bench-ckpt >/dev/null
    t1=$(now_ms)
    "${rt[@]}" restore --detach --image-path "$img" --work-path "$work" --bundle "$b" bench-ckpt \
        </dev/null >/dev/null 2>&1
    t2=$(now_ms)
    [[ $("${rt[@]}" state bench-ckpt | jq -r .status) == running ]] || { echo "bench: $r: not running after restore" >&2; exit 1; }
    "${rt[@]}" delete --force bench-ckpt >/dev/null
    awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f\n", b - a}' >>"$E2E_WORK/$r.ckpt"
    awk -v a="$t1" -v b="$t2" 'BEGIN {printf "%.1f\n", b - a}' >>"$E2E_WORK/$r.rest"
}

for ((i = 0; i < N; i++)); do
    for r in "${runtimes[@]}"; do cycle "$r"; done
done

stats() { sort -n "$1" | awk '{v[NR] = $1; s += $1} END {m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.1f %.1f\n", s / NR, m}'; }
read -r rc_mean rc_med < <(stats "$E2E_WORK/runc.ckpt")
read -r rr_mean rr_med < <(stats "$E2E_WORK/runc.rest")
read -r oc_mean oc_med < <(stats "$E2E_WORK/ours.ckpt")
read -r or_mean or_med < <(stats "$E2E_WORK/ours.rest")
echo
echo "checkpoint/restore, $N cycles each, CRIU $($CRIU --version | awk '/^Version:/ {print $2}'), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "| runtime | checkpoint mean / median ms | restore --detach mean / median ms |"
echo "|---|---:|---:|"
echo "| runc $(runc --version | awk 'NR == 1 {print $3}') | $rc_mean / $rc_med | $rr_mean / $rr_med |"
echo "| **proxmox-lxcri** | **$oc_mean / $oc_med** | **$or_mean / $or_med** |"
if [[ -n ${BEFORE:-} ]]; then
    read -r bc_mean bc_med < <(stats "$E2E_WORK/before.ckpt")
    read -r br_mean br_med < <(stats "$E2E_WORK/before.rest")
    echo "| before ($BEFORE) | $bc_mean / $bc_med | $br_mean / $br_med |"
fi
echo
awk -v a="$oc_mean" -v b="$rc_mean" -v c="$or_mean" -v d="$rr_mean" \
    'BEGIN {printf "Ratios (means): checkpoint %.2fx runc, restore %.2fx runc\n", a / b, c / d}'
awk -v a="$oc_med" -v b="$rc_med" -v c="$or_med" -v d="$rr_med" \
    'BEGIN {printf "Ratios (medians): checkpoint %.2fx runc, restore %.2fx runc\n", a / b, c / d}'
