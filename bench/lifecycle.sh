#!/usr/bin/env bash
# Lifecycle benchmark: runc, crun (through bench/crun-wrapper.sh) and proxmox-lxcri on a busybox bundle.
#
#   sudo bash bench/lifecycle.sh [N]          N iterations per measurement (default 50)
#   RUNTIME=/abs/path/to/runtime              ours (default: build/proxmox-lxcri)
#   BEFORE=/abs/path/to/proxmox-lxcri         a second build of ours (e.g. the base commit's), measured in the
#                                             same rounds as "before"
#   BENCH_CONTAINERS=10                       containers kept alive for the memory measurement
#   BENCH_RUNTIMES="runc crun ours"           which runtimes to measure
#   BENCH_ROUNDS=5                            the runtimes take turns: this many rounds of N/ROUNDS runs
#
# Measures, per runtime:
#   run        `run` of busybox `true` (the runtime creates, starts, waits and deletes)
#   lifecycle  create -> start -> (poll state until stopped) -> delete of busybox `true`
#   overhead   memory of the processes that stay alive per container besides the container's own processes
#              (Pss from /proc/<pid>/smaps_rollup; runc and crun leave none: 0), in KiB per container
# Prints mean/median ms, the ratios ours/runc and ours/crun, and a markdown table. Nothing is asserted: the
# numbers depend on the machine.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-50}
CONTAINERS=${BENCH_CONTAINERS:-10}
RUNTIMES=${BENCH_RUNTIMES:-runc crun ours}
[[ -n ${BEFORE:-} ]] && RUNTIMES="$RUNTIMES before"
OURS=${RUNTIME:-$repo/build/proxmox-lxcri}

[[ $(id -u) == 0 ]] || { echo "bench: needs root" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "bench: hyperfine not installed (scripts/install-deps.sh)" >&2; exit 1; }

# shellcheck source=tests/e2e/lib.sh
source "$repo/tests/e2e/lib.sh"
E2E_WORK=$(mktemp -d /tmp/lxcri-bench.XXXXXX)
export E2E_WORK
# State roots under /run, where every runtime keeps them in production (/run/runc, /run/containerd/runc,
# /run/proxmox-lxcri). /run is a tmpfs on most hosts; where it is on a disk (the ext4 root on the development
# machine), the runtimes' file writes, fsyncs and discards are part of what is measured.
STATE=$(mktemp -d /run/lxcri-bench-state.XXXXXX)
out_dir=${BENCH_OUT:-$repo/bench/out}
mkdir -p "$out_dir"

runtime_bin() {
    case $1 in
    runc) command -v runc ;;
    crun) command -v crun >/dev/null && echo "$repo/bench/crun-wrapper.sh" ;;
    ours) [[ -x $OURS ]] && echo "$OURS" ;;
    before) [[ -x $BEFORE ]] && echo "$BEFORE" ;;
    esac
}

# ms_stats NAME: "mean median" in ms over every round's hyperfine export of NAME.
ms_stats() {
    jq -s '[.[].results[0].times[]] | sort | {mean: (add / length), median: (if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end)}' \
        "$E2E_WORK"/"$1"-round*.json | jq -r '"\(.mean * 1000) \(.median * 1000)"' | awk '{printf "%.1f %.1f", $1, $2}'
}

# bench_prepare NAME BIN: the bundle and the create -> start -> delete script of one runtime.
bench_prepare() {
    local name=$1 bin=$2 root="$STATE/root-$1" rt
    mkdir -p "$root"
    make_busybox_bundle "$E2E_WORK/bundle-$name" true >/dev/null
    rt=$(printf '%q --root %q' "$bin" "$root")
    cat >"$E2E_WORK/$name-cycle.sh" <<EOF
#!/bin/sh
$rt create --bundle $E2E_WORK/bundle-$name bench-cycle </dev/null >/dev/null || exit 1
$rt start bench-cycle || exit 1
while [ "\$($rt state bench-cycle | jq -r .status)" != stopped ]; do :; done
$rt delete bench-cycle
EOF
    chmod +x "$E2E_WORK/$name-cycle.sh"
}

# bench_round NAME BIN ROUND RUNS: one round of both measurements for one runtime.
bench_round() {
    local name=$1 bin=$2 round=$3 runs=$4 root="$STATE/root-$1"
    hyperfine -N --style basic --warmup 1 --runs "$runs" --export-json "$E2E_WORK/$name-run-round$round.json" \
        "$bin --root $root run --bundle $E2E_WORK/bundle-$name bench-run" >&2
    hyperfine -N --style basic --warmup 1 --runs "$runs" --export-json "$E2E_WORK/$name-cycle-round$round.json" \
        "$E2E_WORK/$name-cycle.sh" >&2
}

pss_kib() { awk '/^Pss:/ {print $2; exit}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }

# Processes kept alive for one container, outside it: init's ancestors below pid 1 and this script, plus
# anything whose command line names the runtime root (liblxc monitors), minus processes in the container's
# pid namespace.
overhead_pids() {
    local init=$1 root=$2 host_ns
    host_ns=$(readlink /proc/self/ns/pid)
    {
        local p
        p=$(ppid_of "$init")
        while [[ -n $p && $p != 0 && $p != 1 && $p != "$$" ]]; do
            echo "$p"
            p=$(ppid_of "$p")
        done
        for p in /proc/[0-9]*; do
            tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF -- "$root" && echo "${p#/proc/}"
        done
    } | sort -un | while read -r p; do
        [[ $(readlink "/proc/$p/ns/pid" 2>/dev/null) == "$host_ns" ]] || continue
        [[ $p == "$$" || $p == "$BASHPID" ]] && continue
        echo "$p"
    done
}

bench_memory() {
    local name=$1 bin=$2 root="$STATE/memroot-$1" i b
    mkdir -p "$root"
    local ids=()
    for i in $(seq "$CONTAINERS"); do
        b="$E2E_WORK/membundle-$name-$i"
        make_busybox_bundle "$b" sleep 1000 >/dev/null
        "$bin" --root "$root" run -d --bundle "$b" "mem$i" </dev/null >/dev/null 2>&1
        ids+=("mem$i")
    done
    sleep 0.5
    local total=0 procs=0 id init p
    declare -A seen=()
    for id in "${ids[@]}"; do
        init=$("$bin" --root "$root" state "$id" | jq -r .pid)
        for p in $(overhead_pids "$init" "$root"); do
            [[ -n ${seen[$p]:-} ]] && continue
            seen[$p]=1
            procs=$((procs + 1))
            total=$((total + $(pss_kib "$p")))
        done
    done
    for id in "${ids[@]}"; do "$bin" --root "$root" delete --force "$id" >/dev/null 2>&1 || true; done
    echo "$((total / CONTAINERS)) $procs"
}

declare -A RES=() BIN=()
ACTIVE=()
for r in $RUNTIMES; do
    bin=$(runtime_bin "$r") || bin=""
    if [[ -z $bin ]]; then
        echo "bench: $r not available, skipped" >&2
        continue
    fi
    BIN[$r]=$bin
    ACTIVE+=("$r")
    bench_prepare "$r" "$bin"
done
# The runtimes take turns, ROUNDS rounds of N/ROUNDS runs each, so that a change in the machine's load (other
# users of its CPUs) falls on all of them alike instead of on whichever ran at that moment.
ROUNDS=${BENCH_ROUNDS:-5}
per_round=$(((N + ROUNDS - 1) / ROUNDS))
for round in $(seq "$ROUNDS"); do
    for r in "${ACTIVE[@]}"; do
        echo "bench: round $round/$ROUNDS: $r (${BIN[$r]}), $per_round runs" >&2
        bench_round "$r" "${BIN[$r]}" "$round" "$per_round"
    done
done
for r in "${ACTIVE[@]}"; do
    read -r run_mean run_med <<<"$(ms_stats "$r-run")"
    read -r cyc_mean cyc_med <<<"$(ms_stats "$r-cycle")"
    read -r kib procs <<<"$(bench_memory "$r" "${BIN[$r]}")"
    RES[$r]="$run_mean $run_med $cyc_mean $cyc_med $kib $procs"
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

{
    echo
    echo "Lifecycle benchmark, $((per_round * ROUNDS)) iterations in $ROUNDS interleaved rounds, busybox \`true\`; memory with $CONTAINERS containers of \`sleep 1000\`"
    echo "($(uname -r), $(nproc) cpus, $(date -u +%Y-%m-%dT%H:%MZ))"
    echo
    echo "| runtime | run mean ms | run median ms | create+start+delete mean ms | median ms | overhead KiB/container | overhead processes |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    for r in $RUNTIMES; do
        [[ -n ${RES[$r]:-} ]] || continue
        read -r a b c d e f <<<"${RES[$r]}"
        echo "| $r | $a | $b | $c | $d | $e | $f |"
    done
    if [[ -n ${RES[ours]:-} ]]; then
        read -r oa ob oc od _ <<<"${RES[ours]}"
        for peer in runc crun before; do
            [[ -n ${RES[$peer]:-} ]] || continue
            read -r pa pb pc pd _ <<<"${RES[$peer]}"
            echo
            echo "ours/$peer: run mean $(ratio "$oa" "$pa"), run median $(ratio "$ob" "$pb"), lifecycle mean $(ratio "$oc" "$pc"), lifecycle median $(ratio "$od" "$pd")"
        done
    fi
} | tee "$out_dir/lifecycle-$(date -u +%Y%m%dT%H%M%S).md"

rm -rf --one-file-system "$E2E_WORK" "$STATE"
