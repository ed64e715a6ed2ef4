# shellcheck shell=bash
# Hook timeouts and stdin (issue 12 items 5 and 9): a hook past its timeout is killed with its whole process
# group and the verb fails with runc's wording within about the timeout, whatever the hook did with its
# stdout/stderr; a hook that does not read a big state does not kill the runtime.
#
# Where runc 1.1.5 differs (measured on this machine), the test says so and skips only the part runc fails:
# runc waits for the hook's pipes after killing it, so a child holding them makes it hang (for good with
# `sleep 4242`), and it kills only the hook itself, leaving its children running.

is_runc() { "$RUNTIME" --version 2>/dev/null | head -1 | grep -q '^runc version'; }

now_ms() { date +%s%3N; }

# hook_json SCRIPT [TIMEOUT]: a hook running `sh -c SCRIPT`.
hook_json() {
    if [[ -n ${2:-} ]]; then
        jq -cn --arg s "$1" --argjson t "$2" '{path: "/bin/sh", args: ["sh", "-c", $s], timeout: $t}'
    else
        jq -cn --arg s "$1" '{path: "/bin/sh", args: ["sh", "-c", $s]}'
    fi
}

# Pids of processes whose command line contains TAG (this test's unique sleep arguments).
tagged_pids() { pgrep -f -- "$1" || true; }

# kill_tagged TAG: remove what runc left behind (by pid).
kill_tagged() {
    local p
    for p in $(tagged_pids "$1"); do kill -KILL "$p" 2>/dev/null || true; done
}

# create_timed ID BUNDLE BOUND_S: create, bounded; sets CREATE_RC, CREATE_OUT, CREATE_MS. The output goes to a
# file: a created container keeps create's stdio open.
create_timed() {
    local id=$1 b=$2 bound=$3 t0 out="$E2E_WORK/create-$1.out"
    t0=$(now_ms)
    CREATE_RC=0
    timeout -k 1 "$bound" "$RUNTIME" --root "$E2E_ROOT" create --bundle "$b" "$id" >"$out" 2>&1 </dev/null ||
        CREATE_RC=$?
    CREATE_MS=$(($(now_ms) - t0))
    CREATE_OUT=$(cat "$out")
    echo "create rc=$CREATE_RC in ${CREATE_MS} ms: $CREATE_OUT"
}
# The bounded create above had to be killed (TERM: 124, then KILL: 137).
create_hung() { ((CREATE_RC == 124 || CREATE_RC == 137)); }

test_hooks_timeout_with_redirected_stderr_fails_in_time() {
    require_root
    snapshot_host "$E2E_WORK/hookto1-host"
    local b id
    b=$(bundle hookto1 true) || fail bundle
    id=$(new_id hookto1)
    spec_edit "$b" ".hooks.prestart = [$(hook_json 'exec 2>/dev/null; sleep 6' 2)]"
    create_timed "$id" "$b" 20
    ((CREATE_RC != 0)) || fail "create succeeded with a hook past its timeout"
    ! create_hung || fail "create still running after 20s"
    assert_contains "$CREATE_OUT" "hook ran past specified timeout of 2.0s" "create's error"
    if is_runc; then
        # runc kills the shell, then waits for the sleep that still holds the hook's stdout pipe (~6.3 s here).
        ((CREATE_MS < 9000)) || fail "runc took ${CREATE_MS} ms"
    else
        ((CREATE_MS < 3500)) || fail "create failed after ${CREATE_MS} ms, the hook's timeout is 2 s"
    fi
    assert_fails_with "does not exist" rt state "$id"
    assert_host_clean "$E2E_WORK/hookto1-host"
}

test_hooks_timeout_with_closed_stderr_leaves_no_process() {
    require_root
    snapshot_host "$E2E_WORK/hookto2-host"
    local b id tag="4242.$$"
    b=$(bundle hookto2 true) || fail bundle
    id=$(new_id hookto2)
    # A createContainer hook: it runs in the container's mount namespace with the host's root.
    spec_edit "$b" ".hooks.createContainer = [$(hook_json "exec 2>&-; sleep $tag" 2)]"
    create_timed "$id" "$b" 10
    if is_runc && create_hung; then
        # runc kills the shell and waits for ever on the stdout pipe its `sleep` child still holds.
        force_delete "$id"
        kill_tagged "sleep $tag"
        skip "runc 1.1.5 hangs past the hook's timeout (its child holds the hook's stdout pipe)"
    fi
    ! create_hung || { kill_tagged "sleep $tag"; fail "create hangs with a hook that closed its stderr (timeout 2 s)"; }
    ((CREATE_RC != 0)) || fail "create succeeded with a hook past its timeout"
    assert_contains "$CREATE_OUT" "hook ran past specified timeout of 2.0s" "create's error"
    ((CREATE_MS < 3500)) || fail "create failed after ${CREATE_MS} ms, the hook's timeout is 2 s"
    local left
    left=$(tagged_pids "sleep $tag")
    [[ -z $left ]] || { kill_tagged "sleep $tag"; fail "the hook's sleep survived: $left"; }
    # The container's lock is free: state and delete --force answer at once.
    local out rc=0
    out=$(timeout 5 "$RUNTIME" --root "$E2E_ROOT" state "$id" 2>&1) || rc=$?
    ((rc != 124)) || fail "state hangs"
    assert_contains "$out" "does not exist" "state after the failed create"
    rc=0
    timeout 5 "$RUNTIME" --root "$E2E_ROOT" delete --force "$id" >/dev/null 2>&1 || rc=$?
    ((rc != 124)) || fail "delete --force hangs"
    assert_host_clean "$E2E_WORK/hookto2-host"
}

test_hooks_timeout_kills_the_hooks_children() {
    require_root
    snapshot_host "$E2E_WORK/hookto3-host"
    local b id tag1="4243.$$" tag2="4244.$$"
    b=$(bundle hookto3 true) || fail bundle
    id=$(new_id hookto3)
    # The children do not hold the hook's pipes: only killing the hook's process group reaches them.
    spec_edit "$b" ".hooks.createRuntime = [$(hook_json "exec >/dev/null 2>&1; sleep $tag1 & sleep $tag2" 2)]"
    create_timed "$id" "$b" 10
    ! create_hung || { kill_tagged "sleep 424[34]\.$$"; fail "create hangs"; }
    ((CREATE_RC != 0)) || fail "create succeeded with a hook past its timeout"
    assert_contains "$CREATE_OUT" "hook ran past specified timeout of 2.0s" "create's error"
    ((CREATE_MS < 3500)) || fail "create failed after ${CREATE_MS} ms, the hook's timeout is 2 s"
    sleep 0.2
    local left
    left=$(tagged_pids "sleep 424[34]\.$$")
    if [[ -n $left ]]; then
        kill_tagged "sleep 424[34]\.$$"
        is_runc && skip "runc 1.1.5 kills only the hook, its children stay (pids ${left//$'\n'/ })"
        fail "the hook's children survived its timeout: $left"
    fi
    assert_fails_with "does not exist" rt state "$id"
    assert_host_clean "$E2E_WORK/hookto3-host"
}

test_hooks_big_state_not_read_does_not_kill_the_runtime() {
    require_root
    snapshot_host "$E2E_WORK/hookbig-host"
    local b id big
    b=$(bundle hookbig true) || fail bundle
    id=$(new_id hookbig)
    # A 100 KiB annotation makes the state on the hook's stdin larger than a pipe's buffer (64 KiB).
    big=$(head -c 102400 /dev/zero | tr '\0' a)
    jq --arg big "$big" --argjson h "$(hook_json 'exit 0')" '.annotations = {"e2e.big": $big} |
        .hooks.prestart = [$h] | .hooks.createRuntime = [$h]' "$b/config.json" >"$b/config.json.new"
    mv "$b/config.json.new" "$b/config.json"
    create_timed "$id" "$b" 10
    ((CREATE_RC == 0)) || fail "create with a hook that does not read its stdin: rc=$CREATE_RC $CREATE_OUT"
    assert_eq created "$(state_field "$id" status)" "status"
    rt delete "$id" || fail "delete"

    # Not reading and not exiting: the hook's timeout still applies.
    local id2 tag="4245.$$"
    id2=$(new_id hookbig2)
    jq --argjson h "$(hook_json "exec sleep $tag" 1)" '.hooks.prestart = [$h] | .hooks.createRuntime = []' \
        "$b/config.json" >"$b/config.json.new"
    mv "$b/config.json.new" "$b/config.json"
    create_timed "$id2" "$b" 10
    ! create_hung || { kill_tagged "sleep $tag"; fail "create hangs writing the state to a hook"; }
    ((CREATE_RC != 0)) || fail "create succeeded with a hook past its timeout"
    assert_contains "$CREATE_OUT" "hook ran past specified timeout of 1.0s" "create's error"
    ((CREATE_MS < 2500)) || fail "create failed after ${CREATE_MS} ms, the hook's timeout is 1 s"
    assert_fails_with "does not exist" rt state "$id2"
    assert_host_clean "$E2E_WORK/hookbig-host"
}

# Issue 13 item 9: the create-phase hooks run in the runtime-spec's order, prestart and createRuntime in the
# runtime's mount namespace, createContainer in the container's, each with the state on stdin as runc 1.1.5
# passes it (status "creating", pid the container's init: 1 for createContainer, which runc's init runs in the
# new pid namespace) and the bundle as the working directory of prestart and createRuntime (runc changes into the
# bundle; createContainer starts in the rootfs): a createRuntime hook reads a bundle file by a relative path
# while `create` itself runs from another directory.
test_hooks_create_phase_order_state_and_bundle_cwd() {
    require_root
    local b id log="$E2E_WORK/hookorder.log" mnt
    b=$(bundle hookorder true) || fail bundle
    id=$(new_id hookorder)
    : >"$log"
    echo "bundle-file-$$" >"$b/hook-input"
    mnt=$(readlink /proc/self/ns/mnt)
    # Each hook appends: PHASE STATUS PID-ALIVE SAME-MNT-NS-AS-THE-RUNTIME'S-CALLER CWD-FILE
    # shellcheck disable=SC2016 # expanded by the hook
    local script='s=$(cat); pid=$(printf %s "$s" | jq -r .pid)
        alive=$([ -d "/proc/$pid" ] && echo alive || echo gone)
        ns=$([ "$(readlink /proc/self/ns/mnt)" = "$MNT" ] && echo runtime-ns || echo container-ns)
        echo "$PHASE $(printf %s "$s" | jq -r .status) $pid $alive $ns $(cat hook-input 2>/dev/null || echo "no-file-in-$(pwd)")" >>"$LOG"'
    h() { jq -cn --arg s "$script" --arg p "$1" --arg log "$log" --arg mnt "$mnt" \
        '{path: "/bin/sh", args: ["sh", "-c", $s], env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", ("PHASE=" + $p), ("LOG=" + $log), ("MNT=" + $mnt)]}'; }
    spec_edit "$b" ".hooks = {prestart: [$(h prestart)], createRuntime: [$(h createRuntime)],
        createContainer: [$(h createContainer)]}"
    (cd / && rt create --bundle "$b" "$id" </dev/null >/dev/null 2>&1) || fail "create with the hooks"
    local pid
    pid=$(state_field "$id" pid)
    rt delete --force "$id" >/dev/null 2>&1 || true
    echo "hooks saw:"
    cat "$log"
    assert_eq "prestart creating $pid alive runtime-ns bundle-file-$$
createRuntime creating $pid alive runtime-ns bundle-file-$$
createContainer creating 1 alive container-ns no-file-in-$b/rootfs" "$(cat "$log")" \
        "create-phase hooks: order, status, the init's pid, namespace, the bundle (the rootfs) as cwd"
}
