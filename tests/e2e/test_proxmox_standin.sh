# shellcheck shell=bash
# The Proxmox backend's process plane without PVE (docs/proxmox-stdio.md): a CT started the way PVE starts
# one (`lxc-start -F -n VMID -P LXCPATH`, stdio /dev/null and a log file, lxc.console.path = none,
# lxc.init.cmd = PVE's entrypoint: the init beside $RUNTIME in attach mode at /.lxcri/init), driven by
# proxmox-lxcri-standin-driver (tests/e2e/standin_driver.cpp), which calls spawn_standin/release/process_pid
# as the runtime does. Every CT is stopped and destroyed at the end of its test, also on failure.

# The driver: beside the runtime, else the source tree's build (the init always comes from beside $RUNTIME).
pve_driver() {
    local d
    d=$(dirname "$RUNTIME")/proxmox-lxcri-standin-driver
    [[ -x $d ]] || d=$E2E_DIR/../../build/proxmox-lxcri-standin-driver
    [[ -x $d ]] || fail "no proxmox-lxcri-standin-driver beside $RUNTIME or in build/ (bash scripts/build.sh)"
    echo "$d"
}

pve_require() {
    require_root
    [[ $(basename "$RUNTIME") == proxmox-lxcri* ]] ||
        skip "reference runtime: the attach-mode init and the stand-in are proxmox-lxcri's own"
    command -v lxc-start >/dev/null || fail "lxc-start not installed (lxc package)"
}

# pve_ct_start K [unprivileged]: starts CT "9<shell pid>K" under its own lxcpath in the run's work dir and
# waits until it runs; sets PVE_CT, PVE_LXCPATH, PVE_ROOTFS, PVE_INIT (the init's host pid), PVE_JOB
# (lxc-start's pid) and an EXIT trap that stops and destroys it whatever happens. "unprivileged": as PVE's
# unprivileged=1, container root is host uid/gid 100000 (the rootfs chowned to it).
pve_ct_start() {
    local k=$1 mode=${2:-} tmpl init idmap="" path=$PATH
    PVE_CT="9$$$k"
    PVE_LXCPATH="$E2E_WORK/pve-lxc-${E2E_PREFIX}$k"
    PVE_ROOTFS="$E2E_WORK/pve-rootfs-${E2E_PREFIX}$k"
    init=$(dirname "$RUNTIME")/proxmox-lxcri-init
    [[ -x $init ]] || fail "no proxmox-lxcri-init beside $RUNTIME"
    tmpl=$(busybox_template)
    rm -rf "$PVE_ROOTFS" "$PVE_LXCPATH"
    cp -a "$tmpl" "$PVE_ROOTFS"
    mkdir -p "$PVE_ROOTFS/.lxcri" "$PVE_LXCPATH/$PVE_CT"
    cp "$init" "$PVE_ROOTFS/.lxcri/init"
    if [[ $mode == unprivileged ]]; then
        chown -R 100000:100000 "$PVE_ROOTFS"
        chmod o+x "$E2E_WORK"
        idmap=$'lxc.idmap = u 0 100000 65536\nlxc.idmap = g 0 100000 65536'
        # Root writes the id maps itself; liblxc would use newuidmap from PATH, which refuses ranges
        # /etc/subuid does not grant to root (PVE's nodes have them).
        path=/nonexistent
    fi
    # What pve-container writes for console=0 and an entrypoint (PVE's common.conf: pty.max, autodev,
    # mount.auto, the dropped capabilities).
    cat >"$PVE_LXCPATH/$PVE_CT/config" <<EOF
lxc.uts.name = $PVE_CT
lxc.rootfs.path = dir:$PVE_ROOTFS
lxc.init.cmd = /.lxcri/init --attach /.lxcri/attach.sock
lxc.console.path = none
lxc.tty.max = 0
lxc.pty.max = 1024
lxc.autodev = 1
lxc.mount.auto = proc:mixed sys:mixed cgroup:mixed
lxc.net.0.type = empty
lxc.cap.drop = sys_time sys_module sys_rawio mac_admin mac_override
$idmap
EOF
    trap pve_ct_cleanup EXIT
    PATH=$path "$(command -v lxc-start)" -F -n "$PVE_CT" -P "$PVE_LXCPATH" </dev/null >/dev/null 2>"$PVE_LXCPATH/ct.stderr" &
    PVE_JOB=$!
    local deadline=$((SECONDS + 20))
    PVE_INIT=""
    while ((SECONDS <= deadline)); do
        PVE_INIT=$(lxc-info -n "$PVE_CT" -P "$PVE_LXCPATH" -p -H 2>/dev/null || true)
        [[ -n $PVE_INIT && $PVE_INIT != -1 ]] && break
        pid_alive "$PVE_JOB" || fail "lxc-start exited: $(cat "$PVE_LXCPATH/ct.stderr")"
        sleep 0.05
    done
    [[ -n $PVE_INIT && $PVE_INIT != -1 ]] || fail "CT $PVE_CT did not start: $(cat "$PVE_LXCPATH/ct.stderr")"
}

pve_ct_cleanup() {
    [[ -n ${PVE_CT:-} ]] || return 0
    lxc-stop -k -n "$PVE_CT" -P "$PVE_LXCPATH" >/dev/null 2>&1 || true
    local i
    for ((i = 0; i < 100; i++)); do pid_alive "$PVE_JOB" || break; sleep 0.05; done
    lxc-destroy -n "$PVE_CT" -P "$PVE_LXCPATH" >/dev/null 2>&1 || true
    rm -rf "$PVE_LXCPATH" "$PVE_ROOTFS"
}

# pve_ct_gone: the CT stopped by itself (its init exited with the process) and left nothing: no lxc-start,
# no init, no process in its cgroups, no cgroup dir, no mount.
pve_ct_gone() {
    local i
    for ((i = 0; i < 200; i++)); do pid_alive "$PVE_JOB" || break; sleep 0.05; done
    pid_alive "$PVE_JOB" && fail "CT $PVE_CT still runs (lxc-start $PVE_JOB): $(cat "$PVE_LXCPATH/ct.stderr")"
    pid_alive "$PVE_INIT" && fail "the CT's init $PVE_INIT still runs"
    local state
    state=$(lxc-info -n "$PVE_CT" -P "$PVE_LXCPATH" -s -H 2>&1 || true)
    assert_eq STOPPED "$state" "lxc-info state"
    local left
    left=$(find /sys/fs/cgroup -maxdepth 3 -type d \( -name "lxc.payload.$PVE_CT" -o -name "lxc.monitor.$PVE_CT" \) 2>/dev/null || true)
    [[ -z $left ]] || fail "cgroup dirs left behind: $left"
    left=$(grep -F -e "$PVE_ROOTFS" -e "$PVE_LXCPATH" /proc/self/mountinfo || true)
    [[ -z $left ]] || fail "mounts left behind: $left"
}

# pve_wait_started JOB: the host pid of the OCI process once start released it (JOB: the driver running it).
pve_wait_started() {
    local job=$1 drv pid i
    drv=$(pve_driver)
    for ((i = 0; i < 200; i++)); do
        pid=$("$drv" pid "$PVE_INIT" 2>/dev/null || true)
        [[ -n $pid ]] && pid_alive "$pid" && { echo "$pid"; return 0; }
        pid_alive "$job" || fail "the driver exited before the process started"
        sleep 0.05
    done
    fail "the process in CT $PVE_CT did not start"
}

test_proxmox_standin_stdio_and_exit_code() {
    pve_require
    pve_ct_start 1
    local drv rc=0
    drv=$(pve_driver)
    # shellcheck disable=SC2016 # expanded by the container's shell
    echo "from-stdin" | "$drv" run "$PVE_INIT" --pid-file "$E2E_WORK/standin.pid" -- \
        sh -c 'read x; echo "out:$x"; echo "err:$x" >&2; exit 7' >"$E2E_WORK/out" 2>"$E2E_WORK/err" || rc=$?
    cat "$E2E_WORK/err"
    assert_eq 7 "$rc" "the stand-in's exit code"
    assert_eq "out:from-stdin" "$(cat "$E2E_WORK/out")" "stdout (the caller's own pipe)"
    assert_eq "err:from-stdin" "$(cat "$E2E_WORK/err")" "stderr (separate from stdout)"
    pid_alive "$(cat "$E2E_WORK/standin.pid")" && fail "the stand-in outlived the process"
    pve_ct_gone
}

# The stand-in is the pid file's process: reparented to the caller's subreaper once the "runtime" (the
# driver's create) exits, and it exits with the process's code; the process still writes to the caller's
# stdio after the runtime is gone.
test_proxmox_standin_subreaper() {
    pve_require
    pve_ct_start 2
    local drv reaper out
    drv=$(pve_driver)
    reaper=$(helper subreaper)
    out=$("$reaper" "$E2E_WORK/standin.pid" \
        "'$drv' create $PVE_INIT --pid-file '$E2E_WORK/standin.pid' -- sh -c 'sleep 0.2; echo late-output; exit 42' && '$drv' start $PVE_INIT >/dev/null")
    echo "$out"
    assert_contains "$out" "late-output" "the process's stdout after the runtime exited"
    assert_contains "$out" "exited 42" "the stand-in's status as the subreaper sees it"
    local _p pid _q parent _s self
    read -r _p pid _q parent _s self < <(grep '^pid ' <<<"$out")
    assert_eq "$self" "$parent" "the stand-in's ($pid) parent: the subreaper"
    pve_ct_gone
}

test_proxmox_standin_signals() {
    pve_require
    local drv rc pid
    drv=$(pve_driver)
    # SIGKILL to the OCI process: the stand-in dies of SIGKILL too.
    pve_ct_start 3
    rc=0
    "$drv" run "$PVE_INIT" -- sleep 1000 >"$E2E_WORK/out" 2>"$E2E_WORK/err" &
    local job=$!
    pid=$(pve_wait_started "$job")
    assert_eq "sleep" "$(cat "/proc/$pid/comm")" "process_pid names the OCI process"
    kill -KILL "$pid"
    wait "$job" || rc=$?
    assert_eq 137 "$rc" "driver's code after SIGKILL"
    assert_contains "$(cat "$E2E_WORK/err")" "standin: signaled 9" "the stand-in's wait status"
    pve_ct_gone
    pve_ct_cleanup

    # SIGTERM to the process's host pid reaches its handler; its exit code comes back.
    pve_ct_start 4
    rc=0
    "$drv" run "$PVE_INIT" -- sh -c 'trap "echo got-term; exit 3" TERM; while :; do sleep 0.05; done' \
        >"$E2E_WORK/out" 2>"$E2E_WORK/err" &
    job=$!
    pid=$(pve_wait_started "$job")
    kill -TERM "$pid"
    wait "$job" || rc=$?
    assert_eq 3 "$rc" "exit code of the process's TERM handler"
    assert_eq "got-term" "$(cat "$E2E_WORK/out")" "the handler's output"
    pve_ct_gone
    pve_ct_cleanup

    # The pid file names the process itself (the stand-in became it); PVE's shutdown (SIGPWR to the CT's
    # init) reaches it as SIGTERM, and the CT stops once it exited.
    pve_ct_start 5
    rc=0
    "$drv" run "$PVE_INIT" --pid-file "$E2E_WORK/standin.pid" -- \
        sh -c 'trap "echo got-term; exit 4" TERM; while :; do sleep 0.05; done' >"$E2E_WORK/out" 2>"$E2E_WORK/err" &
    job=$!
    pid=$(pve_wait_started "$job")
    assert_eq "$pid" "$(cat "$E2E_WORK/standin.pid")" "the pid file's process is the container's"
    kill -PWR "$PVE_INIT"
    wait "$job" || rc=$?
    assert_eq 4 "$rc" "exit code of the process's TERM handler after SIGPWR to the CT's init"
    assert_eq "got-term" "$(cat "$E2E_WORK/out")" "the handler's output"
    pve_ct_gone
}

# --console-socket: the init makes the pty in the CT's devpts, the master reaches the console socket, input
# written there reaches the process, `tty` shows /dev/pts/N; a terminal create holds none of the caller's
# stdout (go-runc reads create's output to EOF).
test_proxmox_standin_terminal() {
    pve_require
    pve_ct_start 6
    local drv recv rc=0 out
    drv=$(pve_driver)
    recv=$(helper recvtty)
    rm -f "$E2E_WORK/console.sock" "$E2E_WORK/console-unpriv.sock"
    RECVTTY_INPUT=$'typed-in\n' RECVTTY_TIMEOUT=30 "$recv" "$E2E_WORK/console.sock" >"$E2E_WORK/tty.out" 2>"$E2E_WORK/tty.err" &
    local recv_job=$!
    wait_file "$E2E_WORK/console.sock"
    # create's output read to EOF returns while the stand-in waits for start (holding, as runc's waiting init,
    # the pty's slave only: neither the caller's pipes nor the master).
    # shellcheck disable=SC2016 # expanded by the container's shell
    out=$(timeout 20 "$drv" create "$PVE_INIT" --tty --console-socket "$E2E_WORK/console.sock" \
        --pid-file "$E2E_WORK/standin.pid" -- sh -c 'read x; echo "got:$x"; tty; exit 5')
    local standin
    standin=$(cat "$E2E_WORK/standin.pid")
    pid_alive "$standin" || fail "the stand-in is gone after create"
    assert_eq "" "$out" "create's output"
    local fd target
    for fd in "/proc/$standin/fd/"*; do
        target=$(readlink "$fd" || true)
        [[ $target == pipe:* || $target == *ptmx ]] && fail "the stand-in holds $fd -> $target"
    done
    "$drv" start "$PVE_INIT" >/dev/null
    local i
    for ((i = 0; i < 200; i++)); do pid_alive "$standin" || break; sleep 0.05; done
    pid_alive "$standin" && fail "the stand-in did not end with the process"
    wait "$recv_job" || rc=$?
    cat "$E2E_WORK/tty.err"
    assert_eq 0 "$rc" "recvtty's exit code"
    out=$(tr -d '\r' <"$E2E_WORK/tty.out")
    echo "$out"
    assert_contains "$out" "got:typed-in" "the process read the console's input"
    grep -qx '/dev/pts/[0-9]*' <<<"$out" || fail "tty inside shows no /dev/pts path: $out"
    pve_ct_gone
}

# The stand-in's status when the CT dies without one (stopped by PVE: lxc-stop -k): it dies of SIGKILL.
# And a killed stand-in takes the process and the CT with it (after start), or the waiting init (before).
test_proxmox_standin_ct_stopped() {
    pve_require
    local drv rc
    drv=$(pve_driver)
    pve_ct_start 7
    rc=0
    "$drv" run "$PVE_INIT" -- sleep 1000 >"$E2E_WORK/out" 2>"$E2E_WORK/err" &
    local job=$!
    pve_wait_started "$job" >/dev/null
    lxc-stop -k -n "$PVE_CT" -P "$PVE_LXCPATH"
    wait "$job" || rc=$?
    assert_eq 137 "$rc" "driver's code after lxc-stop -k"
    assert_contains "$(cat "$E2E_WORK/err")" "standin: signaled 9" "the stand-in's wait status"
    pve_ct_gone
    pve_ct_cleanup

    # (create and start as two runtime calls: start names the process's host pid, as process_pid does)
    pve_ct_start 8
    "$drv" create "$PVE_INIT" --pid-file "$E2E_WORK/standin.pid" -- sleep 1000 >"$E2E_WORK/out" 2>"$E2E_WORK/err"
    local pid started
    started=$("$drv" start "$PVE_INIT")
    pid=$("$drv" pid "$PVE_INIT")
    assert_eq "$pid" "$started" "the host pid start returned"
    assert_eq "sleep" "$(cat "/proc/$pid/comm")" "the process"
    # The stand-in became the process: the pid file names it, and its death stops the CT.
    assert_eq "$pid" "$(cat "$E2E_WORK/standin.pid")" "the pid file's process"
    kill -KILL "$pid"
    pve_ct_gone
    pve_ct_cleanup

    # Killed before start: the init ends without running anything (the CT stops).
    pve_ct_start 0
    "$drv" create "$PVE_INIT" --pid-file "$E2E_WORK/standin.pid" -- sh -c 'echo ran >/ran' >"$E2E_WORK/out" 2>"$E2E_WORK/err"
    kill -KILL "$(cat "$E2E_WORK/standin.pid")"
    pve_ct_gone
    assert_contains "$(cat "$PVE_LXCPATH/ct.stderr")" "the stand-in went away before start" "the init's log"
    [[ ! -e $PVE_ROOTFS/ran ]] || fail "the process ran without start"
}

# What the init refuses: a second stand-in, a process whose executable is missing (a create-time check),
# a bad message, an oversized one.
test_proxmox_standin_refusals() {
    pve_require
    local drv reaper out
    drv=$(pve_driver)
    reaper=$(helper subreaper)

    # A missing executable fails the create with runc's words; the init exits and the CT stops.
    pve_ct_start 1
    assert_fails_with "executable file not found" "$drv" create "$PVE_INIT" -- no-such-program
    pve_ct_gone
    pve_ct_cleanup

    # A second stand-in is refused; the first one is unharmed and gets the exit code.
    pve_ct_start 2
    out=$("$reaper" "$E2E_WORK/standin.pid" \
        "'$drv' create $PVE_INIT --pid-file '$E2E_WORK/standin.pid' -- sh -c 'exit 9' &&
         ! '$drv' create $PVE_INIT -- true 2>'$E2E_WORK/second.err' && '$drv' start $PVE_INIT >/dev/null")
    echo "$out"
    assert_contains "$(cat "$E2E_WORK/second.err")" "a stand-in is attached to this container already" "second create"
    assert_contains "$out" "exited 9" "the first stand-in's status"
    pve_ct_gone
    pve_ct_cleanup

    # Garbage on the socket before any stand-in: a clear error and the init exits (the CT stops).
    pve_ct_start 3
    python3 - "/proc/$PVE_INIT/root/.lxcri/attach.sock" <<'EOF'
import socket, sys, time
for _ in range(200):
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect(sys.argv[1]); break
    except OSError:
        time.sleep(0.05)
s.sendall(b"GET / HTTP/1.0\r\n\r\n")
time.sleep(0.5)
EOF
    pve_ct_gone
    assert_contains "$(cat "$PVE_LXCPATH/ct.stderr")" "not an attach protocol message (bad magic)" "the init's log"
    pve_ct_cleanup

    # An oversized message while a stand-in waits: the stand-in gets the init's exit code 127.
    pve_ct_start 4
    out=$("$reaper" "$E2E_WORK/standin.pid" \
        "'$drv' create $PVE_INIT --pid-file '$E2E_WORK/standin.pid' -- true &&
         python3 -c 'import socket,struct,sys,time; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(struct.pack(\"=IHHI\", 0x5441584c, 2, 5, 1<<30)); time.sleep(0.5)' /proc/$PVE_INIT/root/.lxcri/attach.sock")
    echo "$out"
    assert_contains "$out" "exited 127" "the stand-in's status after the init failed"
    pve_ct_gone
    assert_contains "$(cat "$PVE_LXCPATH/ct.stderr")" "message of 1073741824 bytes (at most 16777216)" "the init's log"
}

# The process as create hands it over (a bundle's config.json through plan::make_init_config): user and
# groups, a cwd the init creates, env, rlimits, capabilities, no_new_privs and seccomp are all applied in the
# CT by the same exec_process() as for the lxc backend.
test_proxmox_standin_process_setup() {
    pve_require
    pve_ct_start 9
    local drv b rc=0 out
    drv=$(pve_driver)
    b=$(bundle pve-process)
    # shellcheck disable=SC2016 # expanded by the container's shell
    spec_edit "$b" '.process.user = {uid: 1000, gid: 1000, additionalGids: [10]} | .process.cwd = "/tmp/work"
        | .process.env += ["FOO=bar"] | .process.rlimits = [{type: "RLIMIT_NOFILE", hard: 123, soft: 100}]
        | .process.noNewPrivileges = true
        | .linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO"}]}
        | .process.args = ["sh", "-c", "id; pwd; echo FOO=$FOO; ulimit -n; ulimit -Hn; grep -E \"^(CapBnd|CapEff|NoNewPrivs):\" /proc/self/status; mkdir /tmp/x 2>/dev/null || echo mkdir-refused; exit 4"]'
    out=$("$drv" run "$PVE_INIT" --bundle "$b") || rc=$?
    echo "$out"
    assert_eq 4 "$rc" "exit code"
    assert_contains "$out" "uid=1000 gid=1000 groups=10" "user and groups"
    assert_contains "$out" $'/tmp/work\nFOO=bar\n100\n123' "cwd, env, rlimits"
    assert_contains "$out" $'CapEff:\t0000000000000000' "effective capabilities of a non-root user"
    # runc spec's bounding set: CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE.
    assert_contains "$out" $'CapBnd:\t0000000020000420' "bounding set"
    assert_contains "$out" $'NoNewPrivs:\t1' "no_new_privs"
    assert_contains "$out" "mkdir-refused" "the seccomp profile"
    pve_ct_gone
}

# PVE's default CT is unprivileged (a user namespace, root mapped to 100000): the same hand-over, the pty in
# the CT's devpts, the host pid from start.
test_proxmox_standin_unprivileged() {
    pve_require
    pve_ct_start 1 unprivileged
    local drv rc=0 out
    drv=$(pve_driver)
    # shellcheck disable=SC2016 # expanded by the container's shell
    echo "from-stdin" | "$drv" run "$PVE_INIT" -- \
        sh -c 'read x; echo "out:$x"; echo "err:$x" >&2; id -u; cat /proc/self/uid_map; exit 6' \
        >"$E2E_WORK/out" 2>"$E2E_WORK/err" || rc=$?
    cat "$E2E_WORK/err"
    assert_eq 6 "$rc" "the stand-in's exit code"
    out=$(cat "$E2E_WORK/out")
    assert_eq "out:from-stdin" "$(head -1 <<<"$out")" "stdout"
    assert_eq "0" "$(sed -n 2p <<<"$out")" "the process's uid"
    assert_eq "0 100000 65536" "$(sed -n 3p <<<"$out" | tr -s ' ' | sed 's/^ //')" "the CT's uid map"
    assert_eq "err:from-stdin" "$(cat "$E2E_WORK/err")" "stderr"
    pve_ct_gone
    pve_ct_cleanup

    pve_ct_start 2 unprivileged
    local recv
    recv=$(helper recvtty)
    rm -f "$E2E_WORK/console.sock" "$E2E_WORK/console-unpriv.sock"
    RECVTTY_INPUT=$'typed-in\n' RECVTTY_TIMEOUT=30 "$recv" "$E2E_WORK/console-unpriv.sock" >"$E2E_WORK/tty.out" 2>"$E2E_WORK/tty.err" &
    local recv_job=$!
    wait_file "$E2E_WORK/console-unpriv.sock"
    # shellcheck disable=SC2016 # expanded by the container's shell
    "$drv" create "$PVE_INIT" --tty --console-socket "$E2E_WORK/console-unpriv.sock" -- sh -c 'read x; echo "got:$x"; tty; sleep 1000'
    local started pid
    started=$("$drv" start "$PVE_INIT")
    pid=$("$drv" pid "$PVE_INIT")
    assert_eq "$pid" "$started" "the host pid start returned"
    local i
    for ((i = 0; i < 200; i++)); do grep -q '^/dev/pts/' "$E2E_WORK/tty.out" && break; sleep 0.05; done
    out=$(tr -d '\r' <"$E2E_WORK/tty.out")
    assert_contains "$out" "got:typed-in" "the process read the console's input"
    grep -qx '/dev/pts/[0-9]*' <<<"$out" || fail "tty inside shows no /dev/pts path: $out"
    kill -KILL "$pid"
    local recv_rc=0
    wait "$recv_job" || recv_rc=$?
    assert_eq 0 "$recv_rc" "recvtty's exit code"
    pve_ct_gone
}

# pve_in_ct PID WHAT: PID is in every namespace of the CT's init and in its cgroups (every hierarchy).
pve_in_ct() {
    local pid=$1 what=$2 ns ctpid
    for ns in uts ipc net cgroup; do
        assert_eq "$(readlink "/proc/$PVE_INIT/ns/$ns")" "$(readlink "/proc/$pid/ns/$ns")" "$what: $ns namespace"
    done
    # Its own pid namespace, a child of the CT's, whose PID 1 it is (as runc's init): the CT's /proc (that
    # of the CT's pid namespace) shows it under its pid at the CT's level; its mount namespace is a copy of
    # the CT's (the same root) with a /proc of its own.
    read -r -a ctpid < <(awk '/^NSpid:/ {print $3, $4}' "/proc/$pid/status")
    assert_eq 1 "${ctpid[1]:-}" "$what: its pid in its own pid namespace"
    assert_eq "$(readlink "/proc/$pid/ns/pid")" "$(readlink "/proc/$PVE_INIT/root/proc/${ctpid[0]}/ns/pid" || true)" \
        "$what: listed in the CT's pid namespace as ${ctpid[0]}"
    assert_eq "$(stat -L -c %d:%i "/proc/$PVE_INIT/root/.lxcri")" "$(stat -L -c %d:%i "/proc/$pid/root/.lxcri")" \
        "$what: the CT's root"
    assert_eq "$(cat "/proc/$PVE_INIT/cgroup")" "$(cat "/proc/$pid/cgroup")" "$what: cgroups"
}

# The pid file names the container for the client, as with the lxc backend: the stand-in is in the CT's pid
# namespace (and its other namespaces), so `nsenter -t PID -p -m` (podman top's way) lands in the CT and
# lists its processes only, and it is in the CT's cgroups (containerd's metrics and OOM events read those).
test_proxmox_standin_in_ct_namespaces() {
    pve_require
    pve_ct_start 1
    local drv standin pid out
    drv=$(pve_driver)
    "$drv" create "$PVE_INIT" --pid-file "$E2E_WORK/standin.pid" -- sleep 1000 >"$E2E_WORK/out" 2>"$E2E_WORK/err"
    standin=$(cat "$E2E_WORK/standin.pid")
    pve_in_ct "$standin" "the pid-file process"
    # Its pid inside the CT (the innermost NSpid) differs from the host's: it is a process of the CT.
    local nspid
    nspid=$(awk '/^NSpid:/ {print NF - 1}' "/proc/$standin/status")
    assert_eq 3 "$nspid" "pid namespace levels of the stand-in (host, CT, its own)"
    # The CT's own cgroup2 directory lists it (what memory/pids accounting reads).
    local rel
    rel=$(sed -n 's/^0:://p' "/proc/$PVE_INIT/cgroup")
    if [[ -n $rel && -e /sys/fs/cgroup/unified$rel/cgroup.procs ]]; then
        grep -qx "$standin" "/sys/fs/cgroup/unified$rel/cgroup.procs" ||
            fail "the stand-in $standin is not in the CT's cgroup /sys/fs/cgroup/unified$rel"
    elif [[ -n $rel && -e /sys/fs/cgroup$rel/cgroup.procs ]]; then
        grep -qx "$standin" "/sys/fs/cgroup$rel/cgroup.procs" ||
            fail "the stand-in $standin is not in the CT's cgroup /sys/fs/cgroup$rel"
    fi
    pid=$("$drv" start "$PVE_INIT")
    assert_eq "$standin" "$pid" "the pid file's process is the container's after start"
    # nsenter -t PID as podman top and users do: the container's process only, as PID 1 (as with runc), not
    # the CT's init nor the host's processes (lxc-start, this shell).
    out=$(nsenter -t "$standin" -p -m -- ps -o pid,comm)
    echo "$out"
    assert_eq "1 sleep" "$(grep -v ' ps$' <<<"$out" | tail -n +2 | awk '{$1=$1; print}')" "nsenter -t the pid-file process: ps"
    # The uts namespace too: the CT's hostname.
    assert_eq "$PVE_CT" "$(nsenter -t "$standin" -u -- hostname)" "hostname through the pid-file process"
    kill -KILL "$pid"
    local i
    for ((i = 0; i < 200; i++)); do pid_alive "$standin" || break; sleep 0.05; done
    pve_ct_gone
    pve_ct_cleanup

    # Unprivileged (PVE's default): the CT's user namespace too, as the CT's root (host uid 100000).
    pve_ct_start 5 unprivileged
    rm -f "$E2E_WORK/standin.pid"
    "$drv" create "$PVE_INIT" --pid-file "$E2E_WORK/standin.pid" -- sleep 1000 >"$E2E_WORK/out" 2>"$E2E_WORK/err"
    standin=$(cat "$E2E_WORK/standin.pid")
    pve_in_ct "$standin" "the pid-file process (unprivileged)"
    assert_eq "$(readlink "/proc/$PVE_INIT/ns/user")" "$(readlink "/proc/$standin/ns/user")" "user namespace"
    assert_eq "100000" "$(awk '/^Uid:/ {print $2}' "/proc/$standin/status")" "the stand-in's host uid"
    out=$(nsenter -t "$standin" -p -m -- ps -o pid,comm)
    echo "$out"
    grep -q 'lxc-start' <<<"$out" && fail "nsenter -t the pid-file process lists the host's processes"
    pid=$("$drv" start "$PVE_INIT")
    kill -KILL "$pid"
    for ((i = 0; i < 200; i++)); do pid_alive "$standin" || break; sleep 0.05; done
    pve_ct_gone
}

# Reparenting: when the runtime exits, the stand-in (a process of the CT's pid namespace whose parent was
# the runtime, outside it) goes to the caller's subreaper (the kernel's find_new_reaper walks the exiting
# parent's ancestors in the parent's namespace), which gets the process's exit code and its signal death
# exactly; the init waits for the stand-in to take the status before it exits (its exit would SIGKILL it).
test_proxmox_standin_ct_subreaper_status() {
    pve_require
    local drv reaper out _p pid _q parent _s self
    drv=$(pve_driver)
    reaper=$(helper subreaper)
    local k code want after
    for k in 2 3; do
        # (the process is PID 1 of its pid namespace, as runc's: it cannot SIGKILL itself; the host does)
        after=true
        # shellcheck disable=SC2016 # $p is expanded by the subreaper's shell
        if [[ $k == 2 ]]; then code='exit 7' want="exited 7"; else code='sleep 1000' want="signaled 9" after='kill -KILL $p'; fi
        pve_ct_start "$k"
        local initns
        initns=$(readlink "/proc/$PVE_INIT/ns/pid")
        rm -f "$E2E_WORK/standin.pid" "$E2E_WORK/standin.ns"
        # The process waits for /go, so that the stand-in is looked at while it runs.
        out=$("$reaper" "$E2E_WORK/standin.pid" \
            "'$drv' create $PVE_INIT --pid-file '$E2E_WORK/standin.pid' -- sh -c 'while [ ! -e /go ]; do sleep 0.05; done; $code' &&
             '$drv' start $PVE_INIT >/dev/null &&
             p=\$(cat '$E2E_WORK/standin.pid') && ct=\$(awk '/^NSpid:/ {print \$3}' /proc/\$p/status) &&
             readlink /proc/\$p/ns/pid >'$E2E_WORK/standin.ns' && readlink /proc/$PVE_INIT/root/proc/\$ct/ns/pid >'$E2E_WORK/standin.ctns' && touch '$PVE_ROOTFS/go' && $after")
        echo "$out"
        assert_contains "$out" "$want" "the stand-in's status as the subreaper sees it"
        read -r _p pid _q parent _s self < <(grep '^pid ' <<<"$out")
        assert_eq "$self" "$parent" "the stand-in's ($pid) parent: the subreaper"
        pve_ct_gone
        # Recorded while it ran: the stand-in was in the CT's pid namespace.
        [[ -s $E2E_WORK/standin.ns ]] || fail "the stand-in's pid namespace was not recorded"
        assert_eq "$(cat "$E2E_WORK/standin.ctns")" "$(cat "$E2E_WORK/standin.ns")" "the stand-in, seen in the CT's pid namespace"
        [[ $initns != "$(cat "$E2E_WORK/standin.ns")" ]] || fail "the stand-in is not PID 1 of its own pid namespace"
        pve_ct_cleanup
    done
}

# The runtime killed between the stand-in's fork and the init's Ready (the init held up by SIGSTOP): the
# stand-in, already a process of the CT, dies with the runtime (its parent-death signal until ready), the
# init then finds the session gone before start and exits, and the CT stops with nothing run or left.
test_proxmox_standin_runtime_killed_before_ready() {
    pve_require
    pve_ct_start 4
    local drv job standin="" i c kids
    drv=$(pve_driver)
    rm -f "$E2E_WORK/standin.pid"
    kill -STOP "$PVE_INIT"
    "$drv" create "$PVE_INIT" --pid-file "$E2E_WORK/standin.pid" -- sh -c 'echo ran >/ran' \
        >"$E2E_WORK/out" 2>"$E2E_WORK/err" &
    job=$!
    for ((i = 0; i < 400; i++)); do
        read -r -a kids <<<"$(cat /proc/"$job"/task/*/children 2>/dev/null | tr '\n' ' ')"
        for c in "${kids[@]}"; do
            [[ $(cat "/proc/$c/comm" 2>/dev/null) == lxcri-standin ]] && standin=$c
        done
        [[ -n $standin ]] && break
        pid_alive "$job" || break
        sleep 0.05
    done
    if [[ -z $standin ]]; then
        kill -CONT "$PVE_INIT"
        fail "no stand-in under the runtime while the init is stopped: $(cat "$E2E_WORK/err")"
    fi
    pve_in_ct "$standin" "the stand-in waiting for ready"
    kill -KILL "$job"
    wait "$job" 2>/dev/null || true
    for ((i = 0; i < 200; i++)); do pid_alive "$standin" || break; sleep 0.05; done
    if pid_alive "$standin"; then
        kill -CONT "$PVE_INIT"
        fail "the stand-in $standin outlived the runtime before ready"
    fi
    [[ -e $E2E_WORK/standin.pid ]] && fail "a pid file was written without ready"
    kill -CONT "$PVE_INIT"
    pve_ct_gone
    cat "$PVE_LXCPATH/ct.stderr"
    # The init learns it at its Ready (the session's peers are gone) or, had it sent it, at the session's end.
    grep -qE "send Ready message: Broken pipe|the stand-in went away before start" "$PVE_LXCPATH/ct.stderr" ||
        fail "the init's log does not say the stand-in went away"
    [[ ! -e $PVE_ROOTFS/ran ]] || fail "the process ran without start"
}
