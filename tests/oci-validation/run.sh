#!/usr/bin/env bash
# Run the OCI runtime-tools validation programs against a runtime (local runs only; see build.sh).
#
#   sudo bash tests/oci-validation/run.sh RUNTIME [BUILD-DIR]
#     RUNTIME    absolute path of the runtime (e.g. /usr/sbin/runc, bench/crun-wrapper.sh, build/proxmox-lxcri)
#     BUILD-DIR  where build.sh put the programs (default /work/runtime-tools-build)
#   VALIDATION_TIMEOUT=120 seconds per program; VALIDATION_FILTER=regex to pick programs.
#
# A program passes when it exits 0, prints no "not ok" TAP line (other than # TODO / # SKIP) and no YAML
# diagnostic with an "error" key outside a test point: several programs (hooks, prestart, poststart, ...)
# report their failure only that way, followed by "1..0".
# Per-program TAP output goes to BUILD-DIR/results/<runtime-name>/<program>.tap.
# Closing line: "oci-validation: N passed, N failed" (programs), then the subtest totals.
set -uo pipefail
runtime=${1:?usage: run.sh RUNTIME [BUILD-DIR]}
dir=${2:-/work/runtime-tools-build}
timeout_s=${VALIDATION_TIMEOUT:-120}
filter=${VALIDATION_FILTER:-.}
[[ $runtime == /* && -x $runtime ]] || { echo "run.sh: RUNTIME must be an absolute path to an executable" >&2; exit 2; }
[[ -x $dir/runtimetest ]] || { echo "run.sh: $dir/runtimetest missing: run tests/oci-validation/build.sh first" >&2; exit 2; }

# YAML diagnostics with an "error" key that do not follow an "ok"/"not ok" line.
loose_errors() {
    awk '
        /^(not )?ok / { attached = 1; inblock = 0; next }
        /^  ---/ { inblock = 1; next }
        /^  \.\.\./ { inblock = 0; attached = 0; next }
        inblock && /^ *"error":/ && !attached { n++ }
        END { print n + 0 }' "$1"
}

results="$dir/results/$(basename "$runtime")"
rm -rf "$results"
mkdir -p "$results"
cd "$dir" || exit 2
pass=0 fail=0 sub_ok=0 sub_notok=0
failed=()
for t in validation/*/*.t; do
    name=$(basename "$t" .t)
    [[ $name =~ $filter ]] || continue
    tap="$results/$name.tap"
    rc=0
    RUNTIME=$runtime timeout -k 5 "$timeout_s" "./$t" >"$tap" 2>&1 || rc=$?
    ok=$(grep -c '^ok ' "$tap")
    notok=$(grep '^not ok ' "$tap" | grep -vcE '# *(TODO|SKIP)')
    loose=$(loose_errors "$tap")
    notok=$((notok + loose))
    sub_ok=$((sub_ok + ok))
    sub_notok=$((sub_notok + notok))
    if ((rc == 0 && notok == 0)); then
        pass=$((pass + 1))
        printf 'PASS  %-40s %3d ok\n' "$name" "$ok"
    else
        fail=$((fail + 1))
        failed+=("$name")
        why=$(grep -m1 '^not ok ' "$tap" || true)
        ((loose > 0)) && [[ -z $why ]] && why="diagnostic: $(grep -m1 '^ *"error":' "$tap" | sed 's/^ *"error": *//')"
        ((rc == 124)) && why="timed out after ${timeout_s}s"
        [[ -z $why ]] && why="exit $rc: $(grep -v '^#' "$tap" | tail -1)"
        printf 'FAIL  %-40s %3d ok %3d not ok  %s\n' "$name" "$ok" "$notok" "${why:0:120}"
    fi
done
echo "subtests: $sub_ok ok, $sub_notok not ok; TAP output in $results"
echo "oci-validation: $pass passed, $fail failed"
((fail == 0))
