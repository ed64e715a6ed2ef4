#!/usr/bin/env bash
# Run the spec/plan fuzzer: fuzz/run.sh [SECONDS]   (default 60; CI runs 30)
# Seeds from fuzz/corpus/ (read-only); new inputs go to build-fuzz/corpus/, crashes to build-fuzz/artifacts/.
# Exit status: 0 when no crash/leak/UB was found in the time given, non-zero otherwise.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
out=${FUZZ_OUT:-$repo/build-fuzz}
bin="$out/spec_fuzz"
[[ -x $bin ]] || bash "$repo/fuzz/build.sh" "$out" >/dev/null
mkdir -p "$out/corpus" "$out/artifacts"
echo "fuzz: $bin for ${secs}s, seeds $repo/fuzz/corpus"
rc=0
"$bin" -max_total_time="$secs" -max_len=16384 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -dict="$repo/fuzz/json.dict" -artifact_prefix="$out/artifacts/" \
    "$out/corpus" "$repo/fuzz/corpus" >"$out/fuzz.log" 2>&1 || rc=$?
grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$out/fuzz.log" || true
if ((rc != 0)); then
    echo "fuzz: FAILED (rc=$rc); the log ends with:"
    tail -n 40 "$out/fuzz.log"
    ls -1 "$out/artifacts" | sed 's/^/fuzz: artifact /'
fi
exit "$rc"
