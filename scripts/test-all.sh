#!/usr/bin/env bash
# The README's second command (and CI's): install, build normal + ASan/UBSan, run the unit tests of both
# builds, the end-to-end suite against build/proxmox-lxcri and a fuzz smoke run; then print one closing line
# "N passed, N failed, N skipped" summing every stage. Exits non-zero on any failure.
#   sudo bash scripts/test-all.sh
#   FUZZ_SECONDS=30       fuzz smoke run length
#   E2E_FILTER=regex      run only matching e2e tests
#   E2E_ALSO_RUNC=1       also run the e2e suite against runc (proves the suite itself)
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo" || exit 1
logs="$repo/build-logs"
mkdir -p "$logs"

passed=0 failed=0 skipped=0
summary=()

stage() { echo; echo "=== $* ==="; }
record() { # record NAME PASSED FAILED SKIPPED
    passed=$((passed + $2)) failed=$((failed + $3)) skipped=$((skipped + $4))
    summary+=("$(printf '%-22s %4d passed %4d failed %4d skipped' "$1" "$2" "$3" "$4")")
}
# A stage that is one check: its exit status decides.
check() { # check NAME CMD...
    local name=$1
    shift
    if "$@"; then record "$name" 1 0 0; else record "$name" 0 1 0; fi
}

# ctest_stage NAME BUILD-DIR: every ctest test counts.
ctest_stage() {
    local name=$1 dir=$2 log="$logs/$1.log"
    if [[ ! -f $dir/CTestTestfile.cmake ]]; then
        echo "$name: $dir was not built"
        record "$name" 0 1 0
        return
    fi
    ctest --test-dir "$dir" --output-on-failure --timeout 300 2>&1 | tee "$log" | grep -vE '^ +(Start|[0-9]+/[0-9]+ Test) ' || true
    local line total=0 nfail=0 nskip
    line=$(grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1)
    if [[ -n $line ]]; then
        nfail=$(sed -E 's/.* ([0-9]+) tests? failed.*/\1/' <<<"$line")
        total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
    elif ! grep -q 'No tests were found' "$log"; then
        echo "$name: ctest did not finish"
        nfail=1
    fi
    # Skipped tests are listed under "The following tests did not run" and counted in "tests passed".
    nskip=$(grep -cE '^\s+[0-9]+ - .* \(Skipped\)$' "$log" || true)
    record "$name" $((total - nfail - nskip)) "$nfail" "$nskip"
}

# e2e_stage NAME RUNTIME: every e2e test counts.
e2e_stage() {
    local name=$1 runtime=$2 log="$logs/$1.log"
    if [[ ! -x $runtime ]]; then
        echo "$name: $runtime was not built"
        record "$name" 0 1 0
        return
    fi
    RUNTIME=$runtime bash tests/e2e/run.sh "${E2E_FILTER:-.}" 2>&1 | tee "$log"
    local line
    line=$(grep -E '^e2e: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$log" | tail -1)
    if [[ -z $line ]]; then
        echo "$name: the e2e runner did not finish"
        record "$name" 0 1 0
        return
    fi
    read -r _ p _ f _ s _ <<<"$line"
    record "$name" "$p" "$f" "$s"
}

stage "install dependencies"
if ! bash scripts/install-deps.sh; then
    echo "install-deps failed"
    echo "0 passed, 1 failed, 0 skipped"
    exit 1
fi

stage "build (build/)"
check build bash scripts/build.sh

stage "build ASan/UBSan (build-asan/)"
check build-asan bash scripts/build.sh --sanitize

stage "unit tests (build/)"
ctest_stage unit build

stage "unit tests ASan/UBSan (build-asan/)"
ctest_stage unit-asan build-asan

stage "end-to-end (build/proxmox-lxcri)"
e2e_stage e2e "$repo/build/proxmox-lxcri"

if [[ ${E2E_ALSO_RUNC:-0} == 1 ]]; then
    stage "end-to-end (runc, the suite's reference)"
    e2e_stage e2e-runc "$(command -v runc)"
fi

stage "fuzz smoke (${FUZZ_SECONDS:-30}s)"
if bash fuzz/build.sh >"$logs/fuzz-build.log" 2>&1; then
    check fuzz bash fuzz/run.sh "${FUZZ_SECONDS:-30}"
else
    tail -n 30 "$logs/fuzz-build.log"
    record fuzz 0 1 0
fi

stage "summary"
printf '%s\n' "${summary[@]}"
echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
