#!/usr/bin/env bash
# End-to-end suite: RUNTIME=/abs/path/to/runtime bash tests/e2e/run.sh [TEST-NAME-REGEX]
# Runs every test_* function of tests/e2e/test_*.sh (or those matching the regex) against $RUNTIME,
# prints PASS/FAIL/SKIP per test and a closing line "e2e: N passed, N failed, N skipped".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lib.sh
source "$here/lib.sh"
# Every file is sourced into one shell: a helper defined twice silently replaces the other file's.
dups=$(grep -ho '^[A-Za-z_][A-Za-z_0-9]*() *{' "$here"/lib.sh "$here"/services.sh "$here"/test_*.sh | sort | uniq -d)
[[ -z $dups ]] || { echo "e2e: shell functions defined in more than one file: $dups" >&2; exit 2; }
for f in "$here"/test_*.sh; do
    # A file that does not parse would define only the tests before its error, and the rest would not run.
    bash -n "$f" || { echo "e2e: $f does not parse" >&2; exit 2; }
    # shellcheck disable=SC1090
    source "$f"
done

e2e_setup || exit 2
echo "e2e: RUNTIME=$RUNTIME work=$E2E_WORK strict=$E2E_STRICT"
if [[ $(id -u) != 0 ]]; then
    echo "e2e: every test needs root"
fi

filter=${1:-.}
mapfile -t tests < <(declare -F | awk '{print $3}' | grep '^test_' | grep -E -- "$filter")
# Keep file order: lifecycle first, then the client contract, bad input, concurrency, clients.
order=(lifecycle contract bad concurrency podman containerd)
sorted=()
for group in "${order[@]}"; do
    for t in "${tests[@]}"; do [[ $t == test_${group}* ]] && sorted+=("$t"); done
done
for t in "${tests[@]}"; do [[ " ${sorted[*]} " == *" $t "* ]] || sorted+=("$t"); done

for t in "${sorted[@]}"; do run_test "$t"; done

if ((E2E_FAILED == 0)) && [[ ${E2E_KEEP:-0} != 1 ]]; then
    rm -rf --one-file-system "$E2E_WORK"
else
    echo "e2e: logs kept in $E2E_WORK/logs"
fi
e2e_summary
