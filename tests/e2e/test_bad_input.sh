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

# ---------------------------------------------------------------------------------------------- bounded input

# rt_logged LOG ARGS...: the runtime with a JSON --log file, as containerd's shim calls it.
rt_logged() {
    local log=$1
    shift
    "$RUNTIME" --root "$E2E_ROOT" --log "$log" --log-format json "$@"
}

# assert_log_error LOG WORDS: every line of LOG is JSON and the last "error" line's msg says one of WORDS
# ("a|b"): what the shim reports after a failed call.
assert_log_error() {
    local log=$1 words=$2 msg w alts
    [[ -s $log ]] || fail "no --log line written"
    jq -e . "$log" >/dev/null || fail "--log holds lines that are not JSON: $(cat -v "$log")"
    msg=$(jq -rs 'map(select(.level == "error")) | last | .msg // ""' "$log")
    [[ -n $msg ]] || fail "no error line in --log: $(cat "$log")"
    IFS='|' read -ra alts <<<"$words"
    for w in "${alts[@]}"; do [[ ${msg,,} == *"${w,,}"* ]] && return 0; done
    fail "--log error line does not say '$words': $msg"
}

# Checks of behaviour runc does not share (it is laxer): skipped with a listed reason against the reference.
proxmox_only() {
    [[ $(basename "$RUNTIME") == proxmox-lxcri* ]] || skip "reference runtime: $*"
}

# A config.json that never ends must be an error, not an allocation failure (std::bad_alloc, rc 134).
test_bad_config_dev_zero() {
    require_root
    local id b rc=0 out
    id=$(new_id devzero)
    b=$(bundle devzero true)
    ln -sf /dev/zero "$b/config.json"
    snapshot_host "$E2E_WORK/devzero"
    out=$(rt_logged "$b/log.json" create --bundle "$b" "$id" 2>&1) || rc=$?
    assert_eq 1 "$rc" "exit status of create with config.json -> /dev/zero ($out)"
    assert_log_error "$b/log.json" "larger than|invalid character"
    assert_host_clean "$E2E_WORK/devzero" "$id"
}

# Nesting beyond Go's limit (10000) is refused with a clear error, and far deeper nesting does not crash.
test_bad_config_deep_nesting() {
    require_root
    local id b rc=0 out
    id=$(new_id deep)
    b=$(bundle deep true)
    python3 -c 'import sys; n = 2000000; sys.stdout.write("{\"ociVersion\":\"1.0.2\",\"x\":" + "[" * n + "]" * n + "}")' \
        >"$b/config.json"
    snapshot_host "$E2E_WORK/deep"
    out=$(rt_logged "$b/log.json" create --bundle "$b" "$id" 2>&1) || rc=$?
    assert_eq 1 "$rc" "exit status of create with 2000000 nested arrays ($out)"
    assert_log_error "$b/log.json" "max depth"
    # Just past the limit is an error too.
    python3 -c 'import sys; n = 10001; sys.stdout.write("{\"ociVersion\":\"1.0.2\",\"x\":" + "[" * n + "]" * n + "}")' \
        >"$b/config.json"
    assert_fails_with "max depth" rt create --bundle "$b" "$id"
    assert_host_clean "$E2E_WORK/deep" "$id"
}

# exec --process and update --resources read bounded input too, from a file or standard input ("-").
test_bad_exec_update_bounded_input() {
    require_root
    local id b
    id=$(new_id bounded)
    b=$(bundle bounded sleep 100)
    snapshot_host "$E2E_WORK/bounded"
    rt run -d --bundle "$b" "$id" </dev/null >/dev/null 2>&1
    assert_fails_with "larger than|invalid character" rt exec --process /dev/zero "$id"
    assert_fails_with "larger than|invalid character" rt update --resources /dev/zero "$id"
    local deep
    deep=$(python3 -c 'n = 20000; print("{\"args\":" + "[" * n + "]" * n + "}")')
    # runc opens "--process -" as a file named "-"; this runtime reads standard input, as update does.
    local words="max depth"
    [[ $(basename "$RUNTIME") == proxmox-lxcri* ]] || words="max depth|no such file"
    assert_fails_with "$words" rt exec --process - "$id" <<<"$deep"
    assert_fails_with "max depth" rt update --resources - "$id" <<<"$deep"
    assert_eq running "$(state_field "$id" status)" "status after refused exec/update"
    rt delete --force "$id"
    assert_host_clean "$E2E_WORK/bounded" "$id"
}

# A bundle path that is not UTF-8 (it would go into state.json) is a clear error with a JSON log line.
test_bad_bundle_not_utf8() {
    require_root
    local id b rc=0 out
    id=$(new_id badutf)
    b="$E2E_WORK/bundles/bad"$'\xff'"utf"
    make_busybox_bundle "$b" true >/dev/null
    snapshot_host "$E2E_WORK/badutf"
    rt_logged "$E2E_WORK/badutf.log" create --bundle "$b" "$id" </dev/null >"$E2E_WORK/badutf.out" 2>&1 || rc=$?
    out=$(cat "$E2E_WORK/badutf.out")
    ((rc <= 1)) || fail "create with a non-UTF-8 bundle path aborted (rc=$rc): $out"
    if [[ $(basename "$RUNTIME") == proxmox-lxcri* ]]; then
        assert_eq 1 "$rc" "exit status of create with a non-UTF-8 bundle path"
        assert_log_error "$E2E_WORK/badutf.log" "UTF-8"
        # From a working directory that is not UTF-8 (the default bundle is ".") too.
        assert_fails_with "UTF-8" bash -c 'cd "$1" && shift && "$@"' _ "$b" "$RUNTIME" --root "$E2E_ROOT" \
            create "$id"
    else
        force_delete "$id"
    fi
    assert_host_clean "$E2E_WORK/badutf" "$id"
}

# exec arguments that are not UTF-8 (env, args) end up in JSON: a clear error and a JSON log line.
test_bad_exec_env_not_utf8() {
    require_root
    proxmox_only "runc replaces bytes that are not UTF-8 silently"
    local id rc=0
    id=$(new_id envutf)
    snapshot_host "$E2E_WORK/envutf"
    rt run -d --bundle "$(bundle envutf sleep 100)" "$id" </dev/null >/dev/null 2>&1
    rt_logged "$E2E_WORK/envutf.log" exec --env "A=x"$'\xfe' "$id" true >/dev/null 2>&1 || rc=$?
    assert_eq 1 "$rc" "exit status of exec --env with a non-UTF-8 value"
    assert_log_error "$E2E_WORK/envutf.log" "UTF-8"
    assert_fails_with "UTF-8" rt exec "$id" echo $'\xff'
    rt delete --force "$id"
    assert_host_clean "$E2E_WORK/envutf" "$id"
}

# --user 4294967296 wrapped to uid 0 (root); every uid/gid must be a number in 0..2^32-1.
test_bad_exec_user_out_of_range() {
    require_root
    proxmox_only "runc wraps --user 4294967296 to uid 0"
    local id
    id=$(new_id usr)
    snapshot_host "$E2E_WORK/usr"
    rt run -d --bundle "$(bundle usr sleep 100)" "$id" </dev/null >/dev/null 2>&1
    assert_eq 4294967294 "$(rt exec --user 4294967294 "$id" id -u)" "uid 2^32-2"
    assert_fails_with "out of range" rt exec --user 4294967296 "$id" id -u
    assert_fails_with "out of range" rt exec --user 99999999999999999999999999 "$id" id -u
    assert_fails_with "out of range" rt exec --user 0:4294967296 "$id" id -u
    assert_fails_with "invalid user|trailing" rt exec --user 12abc "$id" id -u
    assert_fails_with "negative|invalid" rt exec --additional-gids -1 "$id" id -u
    assert_fails_with "out of range|invalid value" rt exec --preserve-fds 99999999999 "$id" true
    rt delete --force "$id"
    assert_host_clean "$E2E_WORK/usr" "$id"
}

# Ids: runc's rule ([\w+-\.]+, the range taking in ','), minus what liblxc cannot take, refused up front.
test_bad_id_rules() {
    require_root
    local b id
    b=$(bundle ids true)
    snapshot_host "$E2E_WORK/ids"
    id=$(new_id "a,b")
    rt run --bundle "$b" "$id" </dev/null >/dev/null
    assert_fails_with "does not exist" rt state "$id"
    assert_fails_with "invalid container id|invalid container ID format" rt run --bundle "$b" "a b"
    if [[ $(basename "$RUNTIME") == proxmox-lxcri* ]]; then
        local long
        long=$(printf 'x%.0s' {1..255})
        assert_fails_with "must not contain" rt run --bundle "$b" "$(new_id a..b)"
        assert_fails_with "must not contain" rt run --bundle "$b" "..."
        assert_fails_with "longer than 254" rt run --bundle "$b" "$long"
        id=$(new_id "$(printf 'y%.0s' {1..200})")
        rt run --bundle "$b" "${id:0:254}" </dev/null >/dev/null
    fi
    assert_host_clean "$E2E_WORK/ids"
}

# A relative --root is taken (runc does): resolved against the working directory.
test_bad_relative_root() {
    require_root
    local id b rel
    id=$(new_id relroot)
    b=$(bundle relroot sleep 100)
    rel=$(realpath --relative-to="$PWD" "$E2E_ROOT")
    [[ $rel != /* ]] || fail "no relative path to the root: $rel"
    snapshot_host "$E2E_WORK/relroot"
    "$RUNTIME" --root "$rel" run -d --bundle "$b" "$id" </dev/null >/dev/null 2>&1
    assert_eq running "$(state_field "$id" status)" "status through the absolute root"
    "$RUNTIME" --root "$rel" delete --force "$id"
    assert_host_clean "$E2E_WORK/relroot" "$id"
}

# The runner itself: a step that fails in the middle of a test (or inside $(...)) fails the test, although
# run_test runs it on the left of `||`-like bookkeeping (where bash ignores errexit).
test_bad_runner_counts_failing_steps() {
    local out
    out=$(E2E_WORK="$E2E_WORK/runner-selftest" bash -c '
        source "$1/lib.sh"
        e2e_setup >/dev/null
        step_fails() { false; echo "reached the end"; }
        subst_fails() { local x; x=$(false; echo y); echo "reached the end: $x"; }
        passes() { true; }
        run_test step_fails; run_test subst_fails; run_test passes
        echo "passed=$E2E_PASSED failed=$E2E_FAILED"' _ "$E2E_DIR")
    echo "$out"
    assert_contains "$out" "passed=1 failed=2" "runner counts"
    assert_contains "$out" "FAIL  step_fails" "a failing step"
    assert_contains "$out" "FAIL  subst_fails" "a failing step inside \$(...)"
}

# An annotation (or env entry) in config.json that is not UTF-8: this runtime's parser refuses it with a
# clear error and a JSON --log line (runc's decoder replaces the bytes and goes on).
test_bad_config_annotation_not_utf8() {
    require_root
    local id b rc=0 out
    id=$(new_id annutf)
    b=$(bundle annutf true)
    spec_edit "$b" '.annotations = {"a": "XX"} | .process.env += ["B=YY"]'
    sed -i 's/XX/x\xff/; s/YY/y\xfe/' "$b/config.json"
    snapshot_host "$E2E_WORK/annutf"
    # Not captured with $(...): a create that succeeds (runc) leaves an init holding the output pipe.
    rt_logged "$b/log.json" create --bundle "$b" "$id" </dev/null >"$E2E_WORK/annutf.out" 2>&1 || rc=$?
    out=$(cat "$E2E_WORK/annutf.out")
    ((rc <= 1)) || fail "create with a non-UTF-8 annotation aborted (rc=$rc): $out"
    if [[ $(basename "$RUNTIME") == proxmox-lxcri* ]]; then
        assert_eq 1 "$rc" "exit status of create with a non-UTF-8 annotation"
        assert_log_error "$b/log.json" "UTF-8"
    else
        force_delete "$id"
    fi
    assert_host_clean "$E2E_WORK/annutf" "$id"
}

# update's byte flags take runc's units (64m) and -1; junk and overflow are errors, not a truncated number
# (std::stoll read "64m" as 64 bytes).
test_bad_update_memory_flag_units() {
    require_root
    local id pid
    id=$(new_id updunits)
    rt run -d --bundle "$(bundle updunits sleep 100)" "$id" </dev/null >/dev/null 2>&1
    pid=$(state_field "$id" pid)
    rt update --memory 96m --memory-swap 192m "$id"
    assert_eq $((96 << 20)) "$(memory_limit_of "$pid")" "memory limit after update --memory 96m"
    rt update --memory 64MiB --memory-swap 128MiB "$id"
    assert_eq $((64 << 20)) "$(memory_limit_of "$pid")" "memory limit after update --memory 64MiB"
    assert_fails_with "invalid value|invalid argument" rt update --memory 12abc "$id"
    assert_fails_with "invalid value|out of range|invalid argument" rt update --memory 99999999999999999999 "$id"
    assert_fails_with "invalid value|out of range|invalid argument" rt update --pids-limit 9999999999999999999 "$id"
    assert_eq $((64 << 20)) "$(memory_limit_of "$pid")" "memory limit after refused updates"
    force_delete "$id"
}
