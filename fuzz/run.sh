#!/usr/bin/env bash
# Run the libFuzzer targets: fuzz/run.sh [SECONDS] [TARGET...]   (default 60 seconds, every target; CI runs 30)
# SECONDS is the total: it is split evenly across the targets (at least 1 s each), so the stage takes about
# as long whatever the number of targets. Seeds from fuzz/corpus/<target>/ (read-only); new inputs go to
# build-fuzz/corpus/<target>/, crashes to build-fuzz/artifacts/<target>/, logs to build-fuzz/<target>.log.
# Every target runs with bounded memory (-rss_limit_mb, -malloc_limit_mb: a parser that allocates beyond
# what its input justifies fails) and a per-input timeout.
# Exit status: 0 when no target found a crash/leak/UB/OOM/timeout in the time given, non-zero otherwise.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
shift || true
out=${FUZZ_OUT:-$repo/build-fuzz}
targets=("$@")
if ((${#targets[@]} == 0)); then
    for t in "$repo"/fuzz/*_fuzz.cpp; do targets+=("$(basename "$t" .cpp)"); done
fi
need_build=0
for t in "${targets[@]}"; do [[ -x $out/$t ]] || need_build=1; done
((need_build == 0)) || bash "$repo/fuzz/build.sh" "$out" >/dev/null
per=$((secs / ${#targets[@]}))
((per >= 1)) || per=1
echo "fuzz: ${#targets[@]} targets, ${per}s each, seeds $repo/fuzz/corpus/<target>"
rc=0
for t in "${targets[@]}"; do
    bin="$out/$t"
    mkdir -p "$out/corpus/$t" "$out/artifacts/$t"
    args=(-max_total_time="$per" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 -print_final_stats=1
        -artifact_prefix="$out/artifacts/$t/")
    case $t in
    image_layer_fuzz) args+=(-max_len=32768) ;;
    image_challenge_fuzz | image_reference_fuzz) args+=(-max_len=1024) ;;
    attach_framing_fuzz) args+=(-max_len=65536) ;;
    *) args+=(-max_len=16384 -dict="$repo/fuzz/json.dict") ;;
    esac
    trc=0
    seeds=()
    [[ -d $repo/fuzz/corpus/$t ]] && seeds=("$repo/fuzz/corpus/$t")
    "$bin" "${args[@]}" "$out/corpus/$t" "${seeds[@]}" >"$out/$t.log" 2>&1 || trc=$?
    runs=$(grep -oE '^stat::number_of_executed_units: *[0-9]+' "$out/$t.log" | grep -oE '[0-9]+$' || echo 0)
    rss=$(grep -oE '^stat::peak_rss_mb: *[0-9]+' "$out/$t.log" | grep -oE '[0-9]+$' || echo '?')
    echo "fuzz: $t: $runs runs in ${per}s ($((runs / per))/s), peak rss ${rss} MB, rc=$trc"
    if ((trc != 0)); then
        rc=1
        echo "fuzz: $t FAILED (rc=$trc); the log ends with:"
        tail -n 40 "$out/$t.log"
        ls -1 "$out/artifacts/$t" | sed "s|^|fuzz: artifact $out/artifacts/$t/|"
    fi
done
exit "$rc"
