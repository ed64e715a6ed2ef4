# shellcheck shell=bash
# The client contract (DESIGN.md): what containerd's runc shim and podman's conmon rely on.

# The last error line of a runc-style JSON log.
last_error_msg() { jq -r 'select(.level == "error") | .msg' "$1" | tail -1; }

test_contract_log_json_on_failure() {
    require_root
    local log="$E2E_WORK/contract-log.json"
    echo '{"level":"info","msg":"earlier line","time":"2000-01-01T00:00:00Z"}' >"$log"
    local id
    id=$(new_id logjson)
    assert_fails_with "does not exist" rt --log "$log" --log-format json kill "$id" 9
    cat "$log"
    jq -e . "$log" >/dev/null || fail "log is not JSON lines: $(cat "$log")"
    assert_eq "earlier line" "$(head -1 "$log" | jq -r .msg)" "first log line (the log must be appended to)"
    local msg
    msg=$(last_error_msg "$log")
    [[ -n $msg ]] || fail "no error line with a msg after a failed kill"
    assert_contains "$msg" "does not exist" "error msg"
    jq -e 'select(.level == "error") | .time | length > 0' "$log" >/dev/null || fail "error line without time"

    # A create that fails (no rootfs) also reports through the log.
    local b
    b=$(bundle logjson-create true)
    rm -rf "$b/rootfs"
    : >"$log"
    if rt --log "$log" --log-format json create --bundle "$b" "$id" </dev/null >/dev/null 2>&1; then
        fail "create without a rootfs succeeded"
    fi
    cat "$log"
    msg=$(last_error_msg "$log")
    [[ -n $msg ]] || fail "no error line with a msg after a failed create"
    force_delete "$id"
}

test_contract_kill_stopped_container() {
    require_root
    local id
    id=$(new_id killstopped)
    rt run -d --bundle "$(bundle killstopped true)" "$id" </dev/null >/dev/null 2>&1
    wait_status "$id" stopped
    assert_fails_with "container not running|no such process|process already finished" rt kill "$id" 9
    assert_fails_with "container not running|no such process|process already finished" rt kill "$id" TERM
    rt delete "$id"
}

test_contract_unknown_id() {
    local id
    id=$(new_id unknown)
    assert_fails_with "does not exist" rt state "$id"
    assert_fails_with "does not exist" rt start "$id"
    assert_fails_with "does not exist" rt kill "$id" 9
    assert_fails_with "does not exist" rt delete "$id"
    assert_fails_with "does not exist" rt pause "$id"
    assert_fails_with "does not exist" rt resume "$id"
    assert_fails_with "does not exist" rt ps --format json "$id"
    assert_fails_with "does not exist" rt exec "$id" true
    assert_fails_with "does not exist" rt events --stats "$id"
    assert_fails_with "does not exist" bash -c "echo '{}' | '$RUNTIME' --root '$E2E_ROOT' update --resources - '$id'"
}

# processes_naming ID: host pids whose command line names ID (a runtime process: create, start, a monitor).
processes_naming() {
    local f
    for f in /proc/[0-9]*/cmdline; do
        tr '\0' ' ' <"$f" 2>/dev/null | grep -qF -- "$1" && basename "$(dirname "$f")"
    done
    return 0
}

# The pid file names the container's own init, as runc's does: the same pid as `state`, in the container's pid
# namespace, the process that becomes the container's command at start; and nothing of the runtime stays.
test_contract_pidfile_is_init() {
    require_root
    local id pidfile filepid pid
    id=$(new_id pidinit)
    pidfile="$E2E_WORK/pidinit.pid"
    rt create --bundle "$(bundle pidinit sleep 100)" --pid-file "$pidfile" "$id" </dev/null >/dev/null 2>&1
    filepid=$(cat "$pidfile")
    pid=$(state_field "$id" pid)
    assert_eq "$pid" "$filepid" "pid file and state pid after create"
    [[ $(readlink "/proc/$filepid/ns/pid") != "$(readlink /proc/self/ns/pid)" ]] ||
        fail "pid-file process $filepid is in the host's pid namespace"
    local left
    left=$(processes_naming "$id")
    [[ -z $left ]] || fail "processes left after create: $(for p in $left; do tr '\0' ' ' <"/proc/$p/cmdline"; echo; done)"
    rt start "$id"
    assert_eq "$filepid" "$(state_field "$id" pid)" "state pid after start"
    local deadline=$((SECONDS + 10))
    until [[ $(tr '\0' ' ' <"/proc/$filepid/cmdline" 2>/dev/null) == "sleep 100 " ]]; do
        ((SECONDS < deadline)) || fail "pid $filepid is not the container's command: $(tr '\0' ' ' <"/proc/$filepid/cmdline")"
        sleep 0.05
    done
    # What `podman top` and `nsenter -t PID` rely on: that pid's pid namespace holds the container's processes.
    local inside
    inside=$(nsenter -t "$filepid" -p -m ps -o pid,args | tail -n +2 | awk '{$1=$1; print}')
    echo "inside: $inside"
    assert_eq "1 sleep 100" "$(grep -v 'ps -o' <<<"$inside")" "processes in the pid file's namespaces"
    force_delete "$id"
}

# Nothing the runtime leaves running holds the caller's stdout/stderr after a detached terminal start: a caller
# that reads them to EOF (go-runc's cmdOutput, a shell's $(...)) returns at once, not when the container exits.
test_contract_console_socket_releases_caller_pipes() {
    require_root
    local id b recv sock
    id=$(new_id conpipe)
    b=$(bundle conpipe sleep 100)
    spec_edit "$b" '.process.terminal = true'
    recv=$(helper recvtty)
    sock="$E2E_WORK/conpipe.sock"
    RECVTTY_TIMEOUT=60 "$recv" "$sock" >/dev/null 2>&1 &
    local rpid=$!
    wait_file "$sock"
    local t0=$SECONDS out rc=0
    # $(...) reads the runtime's stdout and stderr to EOF: it must not wait for the container.
    out=$(timeout 20 "$RUNTIME" --root "$E2E_ROOT" run -d --bundle "$b" --console-socket "$sock" "$id" 2>&1 </dev/null) || rc=$?
    assert_eq 0 "$rc" "run -d --console-socket (124: the caller's pipe was held until the timeout) $out"
    ((SECONDS - t0 < 10)) || fail "run -d --console-socket took $((SECONDS - t0)) s to release the caller's pipes"
    assert_eq running "$(state_field "$id" status)" "container after run -d"
    # create --console-socket, then start, the same way.
    local id2=${id}2 b2 sock2="$E2E_WORK/conpipe2.sock"
    b2=$(bundle conpipe2 sleep 100)
    spec_edit "$b2" '.process.terminal = true'
    RECVTTY_TIMEOUT=60 "$recv" "$sock2" >/dev/null 2>&1 &
    local rpid2=$!
    wait_file "$sock2"
    rc=0
    out=$(timeout 20 "$RUNTIME" --root "$E2E_ROOT" create --bundle "$b2" --console-socket "$sock2" "$id2" 2>&1 </dev/null) || rc=$?
    assert_eq 0 "$rc" "create --console-socket $out"
    rc=0
    out=$(timeout 20 "$RUNTIME" --root "$E2E_ROOT" start "$id2" 2>&1 </dev/null) || rc=$?
    assert_eq 0 "$rc" "start of a terminal container $out"
    force_delete "$id"
    force_delete "$id2"
    kill "$rpid" "$rpid2" 2>/dev/null || true
    wait "$rpid" "$rpid2" 2>/dev/null || true
}

# subreaper_run NAME ARGS...: run create+start of a busybox bundle (ARGS) under tests/e2e/subreaper.c with
# EXTRA_SCRIPT appended; prints the subreaper's report ("exited N" / "signaled N").
subreaper_run() {
    local name=$1
    shift
    local sr b id pidfile
    sr=$(helper subreaper)
    b=$(bundle "$name" "$@")
    id=$(new_id "$name")
    pidfile="$E2E_WORK/$name.pid"
    local rtq
    rtq=$(printf '%q --root %q' "$RUNTIME" "$E2E_ROOT")
    local script="$rtq create --bundle $b --pid-file $pidfile $id </dev/null >/dev/null 2>>$E2E_WORK/$name.err && $rtq start $id ${EXTRA_SCRIPT:+&& ${EXTRA_SCRIPT//@ID@/$id}}"
    echo "script: $script" >&2
    "$sr" "$pidfile" "$script" || fail "subreaper failed (rc=$?): $(cat "$E2E_WORK/$name.err" 2>/dev/null)"
}

test_contract_subreaper_gets_exit_status() {
    require_root
    local out
    out=$(subreaper_run srexit sh -c 'exit 7')
    echo "$out"
    assert_eq "exited 7" "$(tail -1 <<<"$out")" "status seen by the subreaper"
    local self parent
    read -r _ _ _ parent _ self <<<"$(head -1 <<<"$out")"
    assert_eq "$self" "$parent" "parent of the pid-file pid once the runtime has exited"
    wait_status "$(new_id srexit)" stopped
    rt delete "$(new_id srexit)"
}

test_contract_subreaper_gets_kill_signal() {
    require_root
    local out rtq
    rtq=$(printf '%q --root %q' "$RUNTIME" "$E2E_ROOT")
    out=$(EXTRA_SCRIPT="$rtq kill @ID@ 9" subreaper_run srkill sleep 100)
    echo "$out"
    assert_eq "signaled 9" "$(tail -1 <<<"$out")" "status seen by the subreaper"
    wait_status "$(new_id srkill)" stopped
    rt delete "$(new_id srkill)"
}

# exec --detach --pid-file (with --process, as containerd calls it): the pid is the exec'd process (or exits with
# its status) and is reparented to the subreaper.
test_contract_exec_pidfile_subreaper() {
    require_root
    local id sr proc pidfile out
    id=$(new_id execsr)
    rt run -d --bundle "$(bundle execsr sleep 100)" "$id" </dev/null >/dev/null 2>&1
    sr=$(helper subreaper)
    proc="$E2E_WORK/execsr-process.json"
    jq '.process | .args = ["sh", "-c", "exit 9"]' "$E2E_WORK/bundles/execsr/config.json" >"$proc"
    pidfile="$E2E_WORK/execsr-exec.pid"
    local script
    script=$(printf '%q --root %q exec --process %q --detach --pid-file %q %q </dev/null >/dev/null' \
        "$RUNTIME" "$E2E_ROOT" "$proc" "$pidfile" "$id")
    out=$("$sr" "$pidfile" "$script") || fail "subreaper failed: $out"
    echo "$out"
    assert_eq "exited 9" "$(tail -1 <<<"$out")" "exec status seen by the subreaper"
    assert_eq running "$(state_field "$id" status)" "container after the exec exited"
    force_delete "$id"
}

# Without a terminal, the container's init gets the runtime's stdin/stdout/stderr (create+start).
test_contract_stdio_create_start() {
    require_root
    local id b
    id=$(new_id stdio)
    b=$(bundle stdio sh -c 'read line; echo "out:$line"; echo "err:$line" >&2')
    local d="$E2E_WORK/stdio"
    mkdir -p "$d"
    mkfifo "$d/out" "$d/err"
    echo "from-stdin" >"$d/in"
    timeout 20 cat "$d/out" >"$d/out.txt" &
    local cat_out=$!
    timeout 20 cat "$d/err" >"$d/err.txt" &
    local cat_err=$!
    rt create --bundle "$b" "$id" <"$d/in" >"$d/out" 2>"$d/err"
    rt start "$id"
    # Both readers see EOF only once every writer (the container, and anything holding its stdio) is gone.
    wait "$cat_out" || fail "stdout reader did not see EOF (rc=$?)"
    wait "$cat_err" || fail "stderr reader did not see EOF (rc=$?)"
    assert_eq "out:from-stdin" "$(cat "$d/out.txt")" "container stdout"
    assert_eq "err:from-stdin" "$(cat "$d/err.txt")" "container stderr"
    wait_status "$id" stopped
    rt delete "$id"
}

# recvtty_start NAME: a console-socket client on $E2E_WORK/NAME.sock (RECVTTY_SOCK, pid RECVTTY_PID) that
# accepts one terminal and copies it to $E2E_WORK/NAME.out (its errors to NAME.err).
recvtty_start() {
    RECVTTY_SOCK="$E2E_WORK/$1.sock"
    RECVTTY_TIMEOUT=20 "$(helper recvtty)" "$RECVTTY_SOCK" >"$E2E_WORK/$1.out" 2>"$E2E_WORK/$1.err" &
    RECVTTY_PID=$!
    wait_file "$RECVTTY_SOCK"
}

test_contract_console_socket() {
    require_root
    local id b
    id=$(new_id console)
    b=$(bundle console sh -c 'test -t 0 && test -t 1 && echo TTY-OK; echo done')
    spec_edit "$b" '.process.terminal = true'
    recvtty_start console
    local rpid=$RECVTTY_PID sock=$RECVTTY_SOCK
    rt create --bundle "$b" --console-socket "$sock" "$id" </dev/null >/dev/null
    rt start "$id"
    local rc=0
    wait "$rpid" || rc=$?
    cat "$E2E_WORK/console.err"
    local out
    out=$(tr -d '\r' <"$E2E_WORK/console.out")
    echo "console: $out"
    assert_eq 0 "$rc" "recvtty exit code"
    assert_eq "TTY-OK"$'\n'"done" "$out" "output read from the pty master"
    wait_status "$id" stopped
    rt delete "$id"
}

# exec -t in the foreground without --console-socket: the process gets a pty, proxied to the caller's terminal
# (runc's way); its output and exit code come back.
test_contract_exec_tty_without_console_socket() {
    require_root
    local id out rc=0
    id=$(new_id exectty)
    rt run -d --bundle "$(bundle exectty sleep 100)" "$id" </dev/null >/dev/null 2>&1
    # A pty of the container's own devpts, not the caller's terminal passed through.
    local check='test -t 0 && test "$(stat -L -c %d /proc/self/fd/0)" = "$(stat -c %d /dev/pts/ptmx)" && echo tty-ok; exit 3'
    out=$(timeout 30 script -qec "$(printf '%q ' "$RUNTIME" --root "$E2E_ROOT" exec -t "$id" sh -c "$check")" /dev/null) || rc=$?
    echo "exec -t: rc=$rc: $out"
    assert_contains "$(tr -d '\r' <<<"$out")" tty-ok "exec -t output"
    assert_eq 3 "$rc" "exec -t exit code"
    force_delete "$id"
}

# The container's pty belongs to process.user (runc's fixStdioPermissions), so the process controls its terminal.
test_contract_pty_owned_by_process_user() {
    require_root
    local id b out
    id=$(new_id ptyown)
    b=$(bundle ptyown sh -c 'stat -c %u "$(readlink /proc/self/fd/0)"')
    spec_edit "$b" '.process.terminal = true | .process.user = {"uid": 1234, "gid": 1234}'
    recvtty_start ptyown
    local rpid=$RECVTTY_PID sock=$RECVTTY_SOCK
    rt run -d --bundle "$b" --console-socket "$sock" "$id" </dev/null >/dev/null
    wait "$rpid" || true
    out=$(tr -d '\r' <"$E2E_WORK/ptyown.out")
    assert_eq 1234 "$out" "owner of the container's pty"
    wait_status "$id" stopped
    rt delete "$id"
}
