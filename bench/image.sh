#!/usr/bin/env bash
# Image benchmark: proxmox-lxcri's image system against skopeo + umoci and podman, on one local registry.
#
#   sudo bash bench/image.sh [N_PULL] [N_RUN]   runs per pull measurement (default 5) / per start (default 20)
#   RUNTIME=/abs/path/to/proxmox-lxcri           ours (default: build/proxmox-lxcri)
#   BENCH_LAYERS=4 BENCH_BIG_MIB=20 BENCH_SMALL=1500 BENCH_SEED=42   the image (bench/make_image.py)
#
# The image (~100 MB, busybox + BENCH_LAYERS layers of seeded random data and small files) is built
# deterministically and pushed with skopeo to Debian's docker-registry on 127.0.0.1:<free port> (filesystem
# storage in the work dir). Every tool keeps its state in the work dir (podman: --root/--runroot and a
# private containers.conf). Measured with hyperfine, each pull run starting from an empty store:
#   pull+unpack  ours `image pull` + `spec --image` (a full rootfs) | `skopeo copy` + `umoci unpack` |
#                `podman pull` (download + unpack into its overlay layers); download alone for ours and skopeo
#   start        cached image to a finished container: `run --image REF ID true` (overlay, shared layers
#                already unpacked) vs `run --bundle` of the same rootfs (the `spec --image` output); also the
#                first container of an image (its layers unpacked by that run)
#   disk         per container: the overlay container's upper dir and whole container dir vs the dir driver's
#                full copy, after the container ran `true`
# Prints a markdown table and the ratios (also to bench/out/image-<time>.md). Nothing is asserted.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/e2e/services.sh
source "$repo/tests/e2e/services.sh"
N_PULL=${1:-5}
N_RUN=${2:-20}
OURS=${RUNTIME:-$repo/build/proxmox-lxcri}

die() {
    echo "bench: $*" >&2
    exit 1
}
[[ $(id -u) == 0 ]] || die "needs root"
[[ -x $OURS ]] || die "RUNTIME=$OURS is not executable"
for t in hyperfine docker-registry skopeo umoci jq python3; do
    command -v "$t" >/dev/null || die "$t not installed (scripts/install-deps.sh)"
done
HAVE_PODMAN=0
command -v podman >/dev/null && HAVE_PODMAN=1

W=$(mktemp -d /tmp/lxcri-bench-image.XXXXXX)
out_dir=${BENCH_OUT:-$repo/bench/out}
mkdir -p "$out_dir"
ROOT="$W/state"
ours() { "$OURS" --root "$ROOT" --image-root "$W/ours-images" "$@"; }

cleanup() {
    local id
    for id in $("$OURS" --root "$ROOT" list -q 2>/dev/null); do
        "$OURS" --root "$ROOT" delete --force "$id" >/dev/null 2>&1 || true
    done
    registry_stop
    # Whatever a tool left mounted under the work dir, deepest first.
    awk -v w="$W/" 'index($5, w) == 1 {print $5}' /proc/self/mountinfo | sort -r | while read -r m; do
        umount -l "$m" 2>/dev/null || true
    done
    rm -rf --one-file-system "$W"
}
trap cleanup EXIT

# ---------------------------------------------------------------------------------------------- image, registry

echo "bench: building the image in $W/layout" >&2
img=$(python3 "$repo/bench/make_image.py" "$W/layout" big --layers "${BENCH_LAYERS:-4}" \
    --big-mib "${BENCH_BIG_MIB:-20}" --small "${BENCH_SMALL:-1500}" --seed "${BENCH_SEED:-42}")
IMG_BYTES=$(jq -r .bytes <<<"$img")
IMG_DIGEST=$(jq -r .digest <<<"$img")
IMG_LAYERS=$(($(jq '.layers | length' "$W/layout/blobs/sha256/${IMG_DIGEST#sha256:}")))

registry_start "$W/registry" "$W/registry.log" || die "docker-registry did not start"
REF=$REGISTRY_ADDR/bench/big:1
skopeo copy --quiet --dest-tls-verify=false "oci:$W/layout:big" "docker://$REF"

# ---------------------------------------------------------------------------------------------- measurements

# script NAME BODY: an executable sh script in the work dir (hyperfine runs it without a shell); prints it.
script() {
    printf '#!/bin/sh\nset -e\n%s\n' "$2" >"$W/$1.sh"
    chmod +x "$W/$1.sh"
    echo "$W/$1.sh"
}

# bench NAME RUNS PREPARE CMD: hyperfine; prints "mean median" in ms.
bench() {
    local name=$1 runs=$2 prepare=$3 cmd=$4
    local args=(-N --style basic --runs "$runs" --export-json "$W/$name.json")
    [[ -n $prepare ]] && args+=(--prepare "$prepare")
    [[ -z $prepare ]] && args+=(--warmup 3)
    hyperfine "${args[@]}" "$cmd" >&2
    jq -r '.results[0] | "\(.mean * 1000) \(.median * 1000)"' "$W/$name.json" | awk '{printf "%.1f %.1f", $1, $2}'
}

q() { printf '%q' "$1"; }

# clear_script NAME DIR...: a prepare script that moves DIRs into the trash rather than deleting them. This
# machine's root ext4 has no journal, and there ext4 skips inodes freed in the last ~30 s when allocating new
# ones, one inode table lookup each: creating thousands of files right after deleting thousands is several
# times slower. Moving keeps every run's unpack off that path; the trash goes at the end.
clear_script() {
    local name=$1 body="" d
    shift
    for d in "$@"; do
        body+="[ ! -e $(q "$d") ] || mv $(q "$d") $(q "$W/trash")/\$(date +%s%N)
"
    done
    mkdir -p "$W/trash"
    # The previous run's dirty pages are written back before, not during, the next timed run.
    script "$name" "${body}sync"
}
O="$(q "$OURS") --root $(q "$ROOT") --image-root $(q "$W/ours-images")"

declare -A MEAN MED
record() {
    local key=$1 stats=$2
    MEAN[$key]=${stats% *}
    MED[$key]=${stats#* }
}

echo "bench: pull + unpack ($N_PULL runs each)" >&2
clear_ours=$(clear_script clear-ours "$W/ours-images" "$W/ours-bundle")
record ours_pull "$(bench ours-pull "$N_PULL" "$clear_ours" "$(script ours-pull "$O image pull -q $REF >/dev/null")")"
record ours_pull_unpack "$(bench ours-pull-unpack "$N_PULL" "$clear_ours" "$(script ours-pull-unpack \
    "$O image pull -q $REF >/dev/null
$O spec --image $REF --bundle $(q "$W/ours-bundle")")")"

clear_sk=$(clear_script clear-skopeo "$W/sk-layout" "$W/sk-bundle")
sk_copy="skopeo copy --quiet --src-tls-verify=false docker://$REF oci:$(q "$W/sk-layout"):big"
record skopeo_copy "$(bench skopeo-copy "$N_PULL" "$clear_sk" "$(script skopeo-copy "$sk_copy")")"
record skopeo_umoci "$(bench skopeo-umoci "$N_PULL" "$clear_sk" "$(script skopeo-umoci "$sk_copy
umoci unpack --image $(q "$W/sk-layout"):big $(q "$W/sk-bundle") >/dev/null")")"

if ((HAVE_PODMAN)); then
    write_containers_conf "$W/containers.conf"
    P="env CONTAINERS_CONF=$(q "$W/containers.conf") podman --root $(q "$W/podman/root") --runroot $(q "$W/podman/run") --storage-driver overlay"
    clear_podman=$(clear_script clear-podman "$W/podman")
    record podman_pull "$(bench podman-pull "$N_PULL" "$clear_podman" \
        "$(script podman-pull "$P pull -q --tls-verify=false $REF >/dev/null")")"
    "$W/clear-podman.sh"
fi

echo "bench: start from a cached image ($N_RUN runs each)" >&2
# The rootfs of the bundle run is the `spec --image` output of the same image, running `true`.
"$W/clear-ours.sh"
ours image pull -q "$REF" >/dev/null
ours spec --image "$REF" --bundle "$W/ours-bundle"
jq '.process.args = ["true"] | .process.terminal = false' "$W/ours-bundle/config.json" >"$W/cfg.json"
mv "$W/cfg.json" "$W/ours-bundle/config.json"
S="--storage-root $(q "$W/storage")"
record run_bundle "$(bench run-bundle "$N_RUN" "" "$(script run-bundle \
    "$O run --bundle $(q "$W/ours-bundle") bench-bundle")")"
record run_image "$(bench run-image "$N_RUN" "" "$(script run-image "$O run --image $REF $S bench-image -- true")")"
clear_layers=$(clear_script clear-layers "$W/storage")
record run_image_first "$(bench run-image-first "$N_PULL" "$clear_layers" \
    "$(script run-image-first "$O run --image $REF $S bench-first -- true")")"

echo "bench: disk per container" >&2
ours create --image "$REF" --storage-root "$W/storage" bench-ov -- true </dev/null >/dev/null
ours start bench-ov
ours create --image "$REF" --storage-root "$W/storage-dir" --storage-driver dir bench-dir -- true \
    </dev/null >/dev/null
ours start bench-dir
for id in bench-ov bench-dir; do
    for ((i = 0; i < 200; i++)); do
        [[ $(ours state "$id" | jq -r .status) == stopped ]] && break
        sleep 0.05
    done
done
# Apparent sizes, not crossing mounts (the overlay rootfs is one).
du_b() { du -sbx "$1" | awk '{print $1}'; }
DISK_UPPER=$(du_b "$W/storage/containers/bench-ov/upper")
DISK_OV_DIR=$(du_b "$W/storage/containers/bench-ov")
ours delete bench-ov
DISK_LAYERS=$(du_b "$W/storage/layers")
DISK_COPY=$(du_b "$W/storage-dir/containers/bench-dir")
ours delete bench-dir

# ---------------------------------------------------------------------------------------------- report

ratio() { awk -v a="$1" -v b="$2" -v p="${3:-2}" 'BEGIN { if (b > 0) printf "%.*f", p, a / b; else printf "n/a" }'; }
kib() { awk -v b="$1" 'BEGIN { printf "%.1f KiB", b / 1024 }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
row() { printf '| %s | %s | %s |\n' "$1" "${MEAN[$2]:-n/a}" "${MED[$2]:-n/a}"; }

report="$out_dir/image-$(date -u +%Y%m%dT%H%M%S).md"
{
    echo "## Image benchmark ($(date -u +%F), $(nproc) cores, $(uname -r))"
    echo
    echo "Image: $IMG_LAYERS layers, $(mib "$IMG_BYTES") compressed (config + layers), seed ${BENCH_SEED:-42}, $REF."
    echo "$($OURS --version | head -n 1); $(skopeo --version); umoci $(umoci --version | awk '{print $3}');" \
        "$( ((HAVE_PODMAN)) && podman --version || echo 'podman: not installed')."
    echo
    echo "| measurement (ms) | mean | median |"
    echo "|---|---:|---:|"
    row "ours: image pull (download + verify)" ours_pull
    row "skopeo copy to an OCI layout (download)" skopeo_copy
    row "ours: image pull + spec --image (full rootfs)" ours_pull_unpack
    row "skopeo copy + umoci unpack (full rootfs)" skopeo_umoci
    row "podman pull (download + unpack into overlay layers)" podman_pull
    row "ours: run --bundle of the image's rootfs (true)" run_bundle
    row "ours: run --image, cached image and layers (true)" run_image
    row "ours: run --image, first container (unpacks the layers)" run_image_first
    echo
    echo "| disk per container | bytes |"
    echo "|---|---:|"
    echo "| overlay: upper dir | $DISK_UPPER ($(kib "$DISK_UPPER")) |"
    echo "| overlay: container dir without the mounted rootfs (upper, work, bundle) | $DISK_OV_DIR ($(kib "$DISK_OV_DIR")) |"
    echo "| dir driver: container dir (full rootfs copy + bundle) | $DISK_COPY ($(mib "$DISK_COPY")) |"
    echo "| overlay: shared layers (once per image, not per container) | $DISK_LAYERS ($(mib "$DISK_LAYERS")) |"
    echo
    echo "Ratios (means; < 1: ours is faster / smaller):"
    echo "- pull+unpack, ours / (skopeo copy + umoci unpack): $(ratio "${MEAN[ours_pull_unpack]}" "${MEAN[skopeo_umoci]}")"
    echo "- download, ours image pull / skopeo copy: $(ratio "${MEAN[ours_pull]}" "${MEAN[skopeo_copy]}")"
    echo "- pull+unpack, ours / podman pull: $(ratio "${MEAN[ours_pull_unpack]}" "${MEAN[podman_pull]:-0}")"
    echo "- start, run --image (cached) / run --bundle: $(ratio "${MEAN[run_image]}" "${MEAN[run_bundle]}")"
    echo "- start, run --image (first container) / run --bundle: $(ratio "${MEAN[run_image_first]}" "${MEAN[run_bundle]}")"
    echo "- disk per container, overlay container dir / full copy: $(ratio "$DISK_OV_DIR" "$DISK_COPY" 5)"
} | tee "$report"
echo "bench: report written to $report" >&2
