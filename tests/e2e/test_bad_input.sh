# shellcheck shell=bash
# Bad input: every failure exits non-zero with a clear message and leaves no state dir, mount, cgroup dir
# or process behind.

# bad_create NAME WORDS JQ-EDIT [CREATE-ARGS...]: a create of a bundle edited by JQ-EDIT must fail saying one
# of WORDS, and leave the host as it was.
bad_create() {
    local name=$1 words=$2 edit=$3
    shift 3
    require_root
    local id b
    id=$(new_id "$name")
    b=$(bundle "$name" sleep 100)
    [[ -n $edit ]] && spec_edit "$b" "$edit"
    snapshot_host "$E2E_WORK/$name"
    assert_fails_with "$words" rt create --bundle "$b" "$@" "$id"
    assert_host_clean "$E2E_WORK/$name" "$id"
    assert_fails_with "does not exist" rt state "$id"
}

test_bad_malformed_config() {
    require_root
    local id b
    id=$(new_id malformed)
    b=$(bundle malformed true)
    echo '{ "ociVersion": "1.0.2", not json' >"$b/config.json"
    snapshot_host "$E2E_WORK/malformed"
    assert_fails_with "json|invalid character|parse" rt create --bundle "$b" "$id"
    assert_host_clean "$E2E_WORK/malformed" "$id"
}

test_bad_missing_root() { bad_create noroot "root" 'del(.root)'; }

test_bad_missing_rootfs() { bad_create norootfs "rootfs|no such file" '.root.path = "does-not-exist"'; }

test_bad_no_process_args() { bad_create noargs "args" '.process.args = []'; }

test_bad_console_socket_path() {
    bad_create badsock "console|socket|no such file" '.process.terminal = true' \
        --console-socket "$E2E_WORK/no-such-dir/console.sock"
}

test_bad_unknown_id() {
    local id
    id=$(new_id nosuch)
    snapshot_host "$E2E_WORK/nosuch"
    assert_fails_with "does not exist" rt start "$id"
    assert_fails_with "does not exist" rt delete "$id"
    assert_fails_with "does not exist" rt kill "$id" KILL
    assert_host_clean "$E2E_WORK/nosuch" "$id"
}

test_bad_duplicate_id() {
    require_root
    local id b
    id=$(new_id dup)
    b=$(bundle dup sleep 100)
    snapshot_host "$E2E_WORK/dup"
    rt create --bundle "$b" "$id" </dev/null >/dev/null 2>&1
    local pid
    pid=$(state_field "$id" pid)
    assert_fails_with "already exists|exist" rt create --bundle "$b" "$id"
    # The failed duplicate must not have touched the first container.
    assert_eq created "$(state_field "$id" status)" "first container after the duplicate create"
    assert_eq "$pid" "$(state_field "$id" pid)" "first container's pid after the duplicate create"
    rt start "$id"
    rt delete --force "$id"
    assert_host_clean "$E2E_WORK/dup" "$id"
}

test_bad_start_running_container() {
    require_root
    local id
    id=$(new_id startrun)
    snapshot_host "$E2E_WORK/startrun"
    rt run -d --bundle "$(bundle startrun sleep 100)" "$id" </dev/null >/dev/null 2>&1
    assert_fails_with "running|not in created state|cannot start" rt start "$id"
    assert_eq running "$(state_field "$id" status)" "status after the second start"
    rt delete --force "$id"
    assert_host_clean "$E2E_WORK/startrun" "$id"
}

test_bad_unknown_signal() {
    require_root
    local id
    id=$(new_id badsig)
    snapshot_host "$E2E_WORK/badsig"
    rt run -d --bundle "$(bundle badsig sleep 100)" "$id" </dev/null >/dev/null 2>&1
    assert_fails_with "signal" rt kill "$id" SIGFOO
    assert_fails_with "signal|invalid argument" rt kill "$id" 99
    assert_eq running "$(state_field "$id" status)" "status after a bad kill"
    rt delete --force "$id"
    assert_host_clean "$E2E_WORK/badsig" "$id"
}

test_bad_delete_running_without_force() {
    require_root
    local id
    id=$(new_id delrun)
    snapshot_host "$E2E_WORK/delrun"
    rt run -d --bundle "$(bundle delrun sleep 100)" "$id" </dev/null >/dev/null 2>&1
    assert_fails_with "running|not stopped" rt delete "$id"
    assert_eq running "$(state_field "$id" status)" "status after a refused delete"
    rt delete --force "$id"
    assert_host_clean "$E2E_WORK/delrun" "$id"
}
