# shellcheck shell=bash
# Concurrency and interruption: parallel lifecycles, and a runtime killed in the middle of create.

CONCURRENCY_CYCLES=${CONCURRENCY_CYCLES:-50}
CONCURRENCY_PARALLEL=${CONCURRENCY_PARALLEL:-8}

# One create -> start -> (stopped) -> delete cycle, as a script xargs can run.
write_cycle_script() {
    cat >"$1" <<'EOF'
#!/usr/bin/env bash
# cycle ID BUNDLE: create, start, wait until stopped, delete; prints "ok ID" or the failing step.
set -u
id=$1 b=$2
rt() { "$RUNTIME" --root "$E2E_ROOT" "$@"; }
rt create --bundle "$b" "$id" </dev/null >/dev/null 2>"$b.err" || { echo "create $id: $(cat "$b.err")"; exit 1; }
rt start "$id" 2>"$b.err" || { echo "start $id: $(cat "$b.err")"; exit 1; }
for _ in $(seq 200); do
    [[ $(rt state "$id" 2>/dev/null | jq -r .status) == stopped ]] && break
    sleep 0.05
done
rt delete "$id" 2>"$b.err" || { echo "delete $id: $(cat "$b.err")"; exit 1; }
echo "ok $id"
EOF
    chmod +x "$1"
}

test_concurrency_parallel_lifecycles() {
    require_root
    local cycle="$E2E_WORK/cycle.sh" list="$E2E_WORK/cycles.txt"
    write_cycle_script "$cycle"
    : >"$list"
    local i ids=()
    for i in $(seq "$CONCURRENCY_CYCLES"); do
        local id
        id=$(new_id "par$i")
        ids+=("$id")
        echo "$id $(bundle "par$i" true)" >>"$list"
    done
    snapshot_host "$E2E_WORK/par"
    local out rc=0
    out=$(xargs -P "$CONCURRENCY_PARALLEL" -L 1 "$cycle" <"$list") || rc=$?
    local oks
    oks=$(grep -c '^ok ' <<<"$out" || true)
    echo "$oks of $CONCURRENCY_CYCLES cycles ok"
    grep -v '^ok ' <<<"$out" || true
    assert_eq 0 "$rc" "xargs exit code"
    assert_eq "$CONCURRENCY_CYCLES" "$oks" "successful cycles"
    assert_eq "" "$(rt list -q)" "containers listed after all cycles"
    assert_host_clean "$E2E_WORK/par" "${ids[@]}"
}

# SIGKILL the runtime a few ms into create; `delete --force` must then clean up whatever it left.
test_concurrency_kill_during_create() {
    require_root
    local b
    b=$(bundle killcreate sleep 100)
    snapshot_host "$E2E_WORK/killcreate"
    local try=0 ids=() delay
    # From "before anything exists" to "almost done" for runtimes that take 10-60 ms to create.
    for delay in 0.003 0.006 0.010 0.015 0.020 0.030 0.045; do
        try=$((try + 1))
        local id
        id=$(new_id "killcreate$try")
        ids+=("$id")
        rt create --bundle "$b" "$id" </dev/null >/dev/null 2>&1 &
        local cpid=$!
        sleep "$delay"
        kill -9 "$cpid" 2>/dev/null || true
        wait "$cpid" 2>/dev/null || true
        local status
        status=$(rt state "$id" 2>/dev/null | jq -r .status) || status="(none)"
        echo "try $try: killed after ${delay}s, state: $status"
        rt delete --force "$id" || fail "delete --force $id after a killed create failed"
        assert_fails_with "does not exist" rt state "$id"
    done
    assert_host_clean "$E2E_WORK/killcreate" "${ids[@]}"
}
