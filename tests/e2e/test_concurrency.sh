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
crt() { "$RUNTIME" --root "$E2E_ROOT" "$@"; }
crt create --bundle "$b" "$id" </dev/null >/dev/null 2>"$b.err" || { echo "create $id: $(cat "$b.err")"; exit 1; }
crt start "$id" 2>"$b.err" || { echo "start $id: $(cat "$b.err")"; exit 1; }
for _ in $(seq 200); do
    [[ $(crt state "$id" 2>/dev/null | jq -r .status) == stopped ]] && break
    sleep 0.05
done
crt delete "$id" 2>"$b.err" || { echo "delete $id: $(cat "$b.err")"; exit 1; }
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

# kill_after SECONDS ID ARGS...: the runtime with ARGS, SIGKILLed after SECONDS; then `delete --force` ID must
# clean up whatever it left, and the container must be gone.
kill_after() {
    local delay=$1 id=$2
    shift 2
    rt "$@" </dev/null >/dev/null 2>&1 &
    local cpid=$!
    sleep "$delay"
    kill -9 "$cpid" 2>/dev/null || true
    wait "$cpid" 2>/dev/null || true
    local status
    status=$(rt state "$id" 2>/dev/null | jq -r .status) || status="(none)"
    echo "$1 $id killed after ${delay}s, state: $status"
    rt delete --force "$id" || fail "delete --force $id after a killed $1 failed"
    assert_fails_with "does not exist" rt state "$id"
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
        kill_after "$delay" "$id" create --bundle "$b" "$id"
    done
    assert_host_clean "$E2E_WORK/killcreate" "${ids[@]}"
}

# SIGKILL `run` (foreground and -d) at a random moment within its first 150 ms; `delete --force` then leaves
# nothing: no process, no cgroup (liblxc's monitor cgroup included), no mount, no state.
test_concurrency_kill_during_run() {
    require_root
    local b
    b=$(bundle killrun sleep 100)
    snapshot_host "$E2E_WORK/killrun"
    local try ids=() ms mode
    for try in 1 2 3 4 5 6 7 8; do
        local id
        id=$(new_id "killrun$try")
        ids+=("$id")
        ms=$((RANDOM % 150))
        mode=$([[ $((try % 2)) == 0 ]] && echo -d || echo --keep)
        kill_after "$(printf '0.%03d' "$ms")" "$id" run "$mode" --bundle "$b" "$id"
    done
    assert_host_clean "$E2E_WORK/killrun" "${ids[@]}"
}

# `state` answers while a create holds the container's lock (runc reads its state without one), and a verb
# that must wait for the lock gives up after LXCRI_LOCK_TIMEOUT with a clear error.
test_concurrency_state_during_create() {
    require_root
    local b id t0 secs out
    b=$(bundle slowcreate sleep 100) || fail bundle
    id=$(new_id slowcreate)
    # A createRuntime hook that takes 3 s: the create holds the lock that long.
    spec_edit "$b" '.hooks.createRuntime = [{path: "/bin/sleep", args: ["sleep", "3"]}]'
    rt create --bundle "$b" "$id" </dev/null >/dev/null 2>&1 &
    local cpid=$!
    local tries=0
    while [[ ! -e $E2E_ROOT/$id/state.json ]] && ((tries++ < 200)); do sleep 0.01; done
    sleep 0.3
    local src=0
    t0=$(date +%s%N)
    out=$(rt state "$id" 2>&1) || src=$?
    secs=$((($(date +%s%N) - t0) / 1000000))
    echo "state during create (rc=$src) in ${secs} ms: $out"
    ((secs < 1500)) || fail "state waited ${secs} ms for the create"
    case $(basename "$RUNTIME") in
    runc | crun)
        # runc writes its state at the end of create: until then the container "does not exist".
        ((src == 0)) || assert_contains "$out" "does not exist" "runc's state during create"
        ;;
    *)
        assert_eq creating "$(jq -r .status <<<"$out")" "status during create"
        t0=$SECONDS
        LXCRI_LOCK_TIMEOUT=0.5 assert_fails_with "busy" rt pause "$id"
        ((SECONDS - t0 <= 2)) || fail "the bounded lock wait took $((SECONDS - t0)) s"
        ;;
    esac
    wait "$cpid" || fail "the create failed"
    assert_eq created "$(state_field "$id" status)" "status after create"
    rt delete --force "$id"
}

# `start` with a full state filesystem: either the process does not run and the container stays created, or
# start succeeds and the state says running; never a running process with a "created" state.
test_concurrency_start_with_full_state_fs() {
    require_root
    local root="$E2E_WORK/fullroot" b id rc=0
    mkdir -p "$root"
    mount -t tmpfs -o size=2m tmpfs "$root" || fail "mount tmpfs"
    b=$(bundle fullfs sh -c 'touch /ran; exec sleep 100') || { umount "$root"; fail bundle; }
    spec_edit "$b" '.root.readonly = false'
    id=$(new_id fullfs)
    local frt=("$RUNTIME" --root "$root")
    "${frt[@]}" create --bundle "$b" "$id" </dev/null >/dev/null || { umount "$root"; fail create; }
    dd if=/dev/zero of="$root/fill" bs=4k >/dev/null 2>&1 || true
    "${frt[@]}" start "$id" || rc=$?
    sleep 0.5
    local status
    status=$("${frt[@]}" state "$id" | jq -r .status)
    echo "start rc=$rc, status $status, process ran: $([[ -e $b/rootfs/ran ]] && echo yes || echo no)"
    rm -f "$root/fill"
    if ((rc != 0)); then
        assert_eq created "$status" "status after a failed start"
        [[ ! -e $b/rootfs/ran ]] || fail "start failed but the process ran"
        "${frt[@]}" start "$id" || fail "start once the filesystem has room"
    else
        assert_eq running "$status" "status after a successful start"
    fi
    wait_file "$b/rootfs/ran"
    "${frt[@]}" delete --force "$id" || fail "delete"
    umount "$root"
}
