# shellcheck shell=bash
# runc parity (issue 13): what runc 1.1 accepts and prints where clients and people notice a difference —
# kill's signal spellings, flags after the container id, realtime cgroup updates, exec's exit codes and
# refusals, exec --cgroup, help pages and --debug log lines. Every test passes against runc itself.

# The runtime's program name as its help pages print it.
parity_prog() { basename "$RUNTIME"; }

# parity_cgroup_dir PID CONTROLLER: the host directory of PID's cgroup v1 CONTROLLER ("" for its cgroup2 dir);
# empty when that hierarchy is not mounted.
parity_cgroup_dir() {
    local pid=$1 ctrl=$2 line rel
    if [[ -z $ctrl ]]; then
        line=$(grep '^0::' "/proc/$pid/cgroup" || true)
        [[ -n $line ]] || return 0
        rel=${line#0::}
        if [[ -d /sys/fs/cgroup/unified ]]; then echo "/sys/fs/cgroup/unified$rel"; else echo "/sys/fs/cgroup$rel"; fi
        return 0
    fi
    line=$(grep -E "^[0-9]+:([^:]*,)?$ctrl(,[^:]*)?:" "/proc/$pid/cgroup" || true)
    [[ -n $line ]] || return 0
    local mount
    mount=$(cut -d: -f2 <<<"$line")
    mount=${mount#name=}
    echo "/sys/fs/cgroup/$mount${line##*:}"
}

# parity_container NAME STATUS ARGS...: a detached busybox container running ARGS, once it is in STATUS;
# prints its id. parity_running: one whose init (`sleep`, pid 1 of its pid namespace) ignores every signal but
# KILL and STOP; parity_stopped: one that has exited.
parity_container() {
    local name=$1 status=$2 id
    shift 2
    id=$(new_id "$name")
    rt run -d --bundle "$(bundle "$name" "$@")" "$id" </dev/null >/dev/null 2>&1
    wait_status "$id" "$status"
    echo "$id"
}
parity_running() { parity_container "$1" running sleep 1000; }
parity_stopped() { parity_container "$1" stopped true; }

# rc_of CMD...: CMD's exit status (its output goes to the test log).
rc_of() {
    local rc=0
    "$@" >&2 || rc=$?
    echo "$rc"
}

# ---------------------------------------------------------------------------------------------- kill

# Signal 0 checks liveness: 0 for a live container, runc's refusal for a stopped one.
test_parity_kill_signal_zero() {
    require_root
    local id stopped
    id=$(parity_running killzero)
    rt kill "$id" 0 || fail "kill ID 0 of a running container failed"
    assert_eq running "$(state_field "$id" status)" "status after kill 0"
    rt kill --all "$id" 0 || fail "kill --all ID 0 of a running container failed"
    rt create --bundle "$(bundle killzero-created sleep 1000)" "$(new_id killzeroc)" </dev/null >/dev/null 2>&1
    rt kill "$(new_id killzeroc)" 0 || fail "kill ID 0 of a created container failed"
    rt pause "$id"
    rt kill "$id" 0 || fail "kill ID 0 of a paused container failed"
    rt resume "$id"
    stopped=$(parity_stopped killzero-stopped)
    assert_fails_with "container not running" rt kill "$stopped" 0
    force_delete "$id"
    force_delete "$(new_id killzeroc)"
    rt delete "$stopped"
}

# Every spelling runc 1.1 takes: names with and without SIG in any case, numbers 1..64 (strconv.Atoi: a sign
# and leading zeros too), an empty signal meaning SIGTERM; and its refusals.
test_parity_kill_signal_spellings() {
    require_root
    local id sig n
    id=$(parity_running killnames)
    for sig in TERM SIGTERM sigterm Term sIgTeRm usr1 SIGUSR2 hup SIGWINCH winch STKFLT sigpwr SIGSYS chld cont \
        SIGURG io '' +10 010; do
        rt kill "$id" "$sig" || fail "kill ID '$sig' failed"
    done
    # 9 and 19 (KILL, STOP) are the two a pid namespace's init cannot ignore.
    for ((n = 1; n <= 64; n++)); do
        ((n == 9 || n == 19)) && continue
        rt kill "$id" "$n" || fail "kill ID $n failed"
    done
    assert_eq running "$(state_field "$id" status)" "status after the ignored signals"
    for sig in NOPE sigterm0 SIG SIGSIGTERM 99999999999999999999 ' 10' 'TERM '; do
        assert_fails_with "unknown signal" rt kill "$id" "$sig"
    done
    # A number outside the kernel's range is refused by kill(2): runc says "unable to signal init: invalid
    # argument".
    for sig in 65 999 -1; do
        assert_fails_with "invalid argument" rt kill "$id" -- "$sig"
    done
    assert_eq running "$(state_field "$id" status)" "status after the refused signals"
    rt kill "$id" 9
    wait_status "$id" stopped
    rt delete "$id"
}

# ---------------------------------------------------------------------------------------------- flags after the id

# urfave/cli (runc's parser) moves the command's own flags before its arguments: `update ID --cpu-period N`,
# `kill ID 0 --all`, `delete ID --force`; exec and ps take everything after the id as their command.
test_parity_flags_after_id() {
    require_root
    local id pid dir
    id=$(parity_running flagsafter)
    pid=$(state_field "$id" pid)
    dir=$(parity_cgroup_dir "$pid" cpu)
    [[ -n $dir && -f $dir/cpu.cfs_period_us ]] || skip "no v1 hierarchies on this host"
    rt update "$id" --cpu-period 100001
    assert_eq 100001 "$(cat "$dir/cpu.cfs_period_us")" "cpu.cfs_period_us after update ID --cpu-period"
    rt update "$id" --cpu-period=100002
    assert_eq 100002 "$(cat "$dir/cpu.cfs_period_us")" "cpu.cfs_period_us after update ID --cpu-period="
    rt update --cpu-period 100003 "$id"
    assert_eq 100003 "$(cat "$dir/cpu.cfs_period_us")" "cpu.cfs_period_us after update --cpu-period ID"
    rt kill "$id" 0 --all
    rt kill "$id" -- 0
    # exec: "--env" after the id belongs to the command.
    assert_eq "--env X=1" "$(rt exec "$id" echo --env X=1)" "exec ID echo --env X=1"
    # An unknown flag after the id is an argument, not a flag (runc: too many arguments).
    assert_fails_with "argument" rt state "$id" --bogus
    rt kill "$id" 9
    wait_status "$id" stopped
    rt delete "$id" --force
    assert_fails_with "does not exist" rt state "$id"
}

# --cpu-rt-period / --cpu-rt-runtime land in cpu.rt_period_us / cpu.rt_runtime_us (cgroup v1). The kernel
# refuses a runtime that the parent cgroup's own realtime budget cannot cover (EINVAL): runc reports the write
# error, and so must we.
test_parity_update_realtime() {
    require_root
    local id pid dir
    id=$(parity_running updrt)
    pid=$(state_field "$id" pid)
    dir=$(parity_cgroup_dir "$pid" cpu)
    [[ -n $dir && -f $dir/cpu.rt_period_us ]] || skip "no v1 hierarchies on this host"
    echo "cpu cgroup: $dir (parent rt_runtime_us $(cat "$dir/../cpu.rt_runtime_us"))"
    rt update "$id" --cpu-rt-period 900000
    assert_eq 900000 "$(cat "$dir/cpu.rt_period_us")" "cpu.rt_period_us after --cpu-rt-period"
    local parent_budget
    parent_budget=$(cat "$dir/../cpu.rt_runtime_us")
    if ((parent_budget >= 1000 || parent_budget == -1)); then
        rt update "$id" --cpu-rt-runtime 1000 --cpu-rt-period 800000
        assert_eq 1000 "$(cat "$dir/cpu.rt_runtime_us")" "cpu.rt_runtime_us after --cpu-rt-runtime"
        assert_eq 800000 "$(cat "$dir/cpu.rt_period_us")" "cpu.rt_period_us after both flags"
    else
        assert_fails_with "invalid argument" rt update "$id" --cpu-rt-runtime 1000 --cpu-rt-period 800000
        assert_eq 800000 "$(cat "$dir/cpu.rt_period_us")" "cpu.rt_period_us after both flags (runtime refused)"
        assert_eq 0 "$(cat "$dir/cpu.rt_runtime_us")" "cpu.rt_runtime_us after a refused runtime"
    fi
    assert_fails_with "invalid" rt update "$id" --cpu-rt-runtime abc
    assert_fails_with "invalid" rt update "$id" --cpu-rt-period -5
    force_delete "$id"
}

# ---------------------------------------------------------------------------------------------- exec

# runc's exec exits 255 when it fails itself ("exec failed: ..."), and with the process's status otherwise.
test_parity_exec_exit_codes() {
    require_root
    local id stopped out
    id=$(parity_running execrc)
    assert_eq 255 "$(rc_of rt exec "$(new_id execnone)" true)" "exec into a container that does not exist"
    assert_fails_with "exec failed: container" rt exec "$(new_id execnone)" true
    assert_eq 255 "$(rc_of rt exec "$id" /nonexistent)" "exec of a missing binary"
    assert_fails_with "no such file or directory" rt exec "$id" /nonexistent
    assert_eq 255 "$(rc_of rt exec "$id")" "exec without a command"
    assert_fails_with "process args cannot be empty" rt exec "$id"
    assert_eq 7 "$(rc_of rt exec "$id" sh -c 'exit 7')" "exec's own exit status"
    assert_eq 0 "$(rc_of rt exec "$id" true)" "exec true"
    stopped=$(parity_stopped execrc-stopped)
    assert_eq 255 "$(rc_of rt exec "$stopped" true)" "exec into a stopped container"
    assert_fails_with "cannot exec in a stopped container" rt exec "$stopped" true
    # Usage errors come before the action: runc exits 1 for them.
    out=$(rc_of rt exec --bogus "$id" true)
    assert_eq 1 "$out" "exec with an unknown flag"
    force_delete "$id"
    rt delete "$stopped"
}

# A paused container refuses exec unless --ignore-paused; with it, the process runs once the container resumes.
test_parity_exec_paused() {
    require_root
    local id out rc
    id=$(parity_running execpaused)
    rt pause "$id"
    assert_eq 255 "$(rc_of rt exec "$id" true)" "exec into a paused container"
    assert_fails_with "cannot exec in a paused container (use --ignore-paused to override)" rt exec "$id" true
    out="$E2E_WORK/execpaused.out"
    rt exec --ignore-paused "$id" echo resumed >"$out" 2>&1 &
    local bg=$!
    sleep 1
    pid_alive "$bg" || fail "exec --ignore-paused finished while the container was paused: $(cat "$out")"
    rt resume "$id"
    rc=0
    wait "$bg" || rc=$?
    assert_eq 0 "$rc" "exec --ignore-paused after resume (output: $(cat "$out"))"
    assert_eq resumed "$(cat "$out")" "exec --ignore-paused output"
    force_delete "$id"
}

# exec --cgroup SUB / CONTROLLER:SUB: the process runs in the existing sub-cgroup SUB of the container's cgroup.
test_parity_exec_cgroup() {
    require_root
    local id pid cpudir
    id=$(parity_running execcg)
    pid=$(state_field "$id" pid)
    cpudir=$(parity_cgroup_dir "$pid" cpu)
    [[ -n $cpudir && -d $cpudir ]] || skip "no v1 hierarchies on this host"
    local -a dirs=()
    local ctrl d
    while IFS=: read -r _ ctrl _; do
        ctrl=${ctrl%%,*}
        d=$(parity_cgroup_dir "$pid" "$ctrl")
        [[ -n $d && -d $d ]] && dirs+=("$d")
    done <"/proc/$pid/cgroup"
    # A sub-cgroup that does not exist yet is an error.
    assert_eq 255 "$(rc_of rt exec --cgroup cpu:sub "$id" true)" "exec --cgroup into a missing sub-cgroup"
    assert_fails_with "no such file or directory" rt exec --cgroup cpu:sub "$id" true
    mkdir "$cpudir/sub"
    local pidfile="$E2E_WORK/execcg.pid" xpid
    rt exec -d --pid-file "$pidfile" --cgroup cpu:sub "$id" sleep 100
    xpid=$(cat "$pidfile")
    assert_eq "${cpudir#/sys/fs/cgroup/*/}/sub" "$(awk -F: '$2 ~ /(^|,)cpu(,|$)/ {print substr($3, 2)}' "/proc/$xpid/cgroup")" \
        "cpu cgroup of exec --cgroup cpu:sub"
    grep -q "^$xpid\$" "$cpudir/sub/cgroup.procs" || fail "$xpid is not in $cpudir/sub"
    # The memory cgroup is the container's own.
    local memdir
    memdir=$(parity_cgroup_dir "$pid" memory)
    [[ -z $memdir ]] || assert_eq "$memdir" "$(parity_cgroup_dir "$xpid" memory)" "memory cgroup of exec --cgroup cpu:sub"
    kill -9 "$xpid"
    # Without a controller: every hierarchy's SUB.
    for d in "${dirs[@]}"; do
        [[ -d $d/sub ]] || mkdir "$d/sub"
        # A v1 cpuset child starts with no cpus and mems: nothing can join it before they are set.
        if [[ -f $d/cpuset.cpus ]]; then
            cat "$d/cpuset.cpus" >"$d/sub/cpuset.cpus"
            cat "$d/cpuset.mems" >"$d/sub/cpuset.mems"
        fi
    done
    rt exec -d --pid-file "$pidfile" --cgroup sub "$id" sleep 100
    xpid=$(cat "$pidfile")
    for d in "${dirs[@]}"; do
        grep -q "^$xpid\$" "$d/sub/cgroup.procs" || fail "$xpid is not in $d/sub"
    done
    kill -9 "$xpid"
    assert_fails_with "unknown controller" rt exec --cgroup nosuchctrl:sub "$id" true
    assert_fails_with "invalid --cgroup argument" rt exec --cgroup a:b:c "$id" true
    assert_fails_with "missing <controller>: prefix" rt exec --cgroup sub --cgroup other "$id" true
    assert_fails_with "not a sub cgroup path" rt exec --cgroup ../x "$id" true
    local tries=0
    for d in "${dirs[@]}"; do
        while ! rmdir "$d/sub" 2>/dev/null && ((tries++ < 50)); do sleep 0.1; done
    done
    force_delete "$id"
}

# exec with a stdin that is not a terminal: a pipe in, the output out, EOF passed on.
test_parity_exec_stdin_pipe() {
    require_root
    local id
    id=$(parity_running execpipe)
    assert_eq "$(printf 'a\nb\ndone')" "$(printf 'a\nb\n' | rt exec "$id" sh -c 'cat; echo done')" "exec with piped stdin"
    assert_eq 20000 "$(seq 1 20000 | rt exec "$id" wc -l | tr -d ' ')" "lines through exec's stdin"
    # shellcheck disable=SC2016 # $x is the container shell's
    assert_eq "got[]" "$(rt exec "$id" sh -c 'read x; echo "got[$x]"' </dev/null)" "exec with stdin at EOF"
    force_delete "$id"
}

# ---------------------------------------------------------------------------------------------- help, debug

# urfave/cli's help layout: NAME, USAGE, VERSION, COMMANDS, GLOBAL OPTIONS; one page per command, the same
# from `help CMD`, `CMD --help` and `CMD -h`.
test_parity_help_layout() {
    local prog out rc
    prog=$(parity_prog)
    out=$("$RUNTIME" --help)
    assert_eq "$out" "$("$RUNTIME" -h)" "-h and --help"
    assert_eq "$out" "$("$RUNTIME" help)" "help and --help"
    assert_eq "$out" "$("$RUNTIME")" "no arguments and --help"
    local -a heads
    mapfile -t heads < <(grep -E '^[A-Z][A-Z ]+:$' <<<"$out")
    assert_eq "NAME: USAGE: VERSION: COMMANDS: GLOBAL OPTIONS:" "${heads[*]}" "sections of --help"
    assert_eq "   $prog - Open Container Initiative runtime" "$(sed -n 2p <<<"$out")" "NAME line"
    assert_contains "$out" "USAGE:
   $prog [global options] command [command options] [arguments...]" "USAGE of --help"
    # The command list is one aligned column: every description starts at the same place.
    local cols
    cols=$(sed -n '/^COMMANDS:$/,/^$/p' <<<"$out" | sed '1d;$d' | awk '{ match($0, /^   [^ ]+( [^ ]+)*  +/); print RLENGTH }' | sort -u)
    assert_eq 1 "$(wc -l <<<"$cols")" "COMMANDS alignment (description columns: $cols)"
    for c in create start run state kill delete list ps exec pause resume update events spec features "help, h"; do
        grep -qE "^   $c  +[^ ]" <<<"$out" || fail "COMMANDS has no line for '$c'"
    done
    for f in "--debug" "--log value" "--log-format value" "--root value" "--systemd-cgroup" "--help, -h" \
        "--version, -v"; do
        grep -qE -- "^   $f  +[^ ]" <<<"$out" || fail "GLOBAL OPTIONS has no line for '$f'"
    done
    rc=$(rc_of "$RUNTIME" --help)
    assert_eq 0 "$rc" "exit status of --help"

    local page
    page=$("$RUNTIME" help create)
    assert_eq "$page" "$("$RUNTIME" create --help)" "help create and create --help"
    assert_eq "$page" "$("$RUNTIME" create -h)" "help create and create -h"
    mapfile -t heads < <(grep -E '^[A-Z][A-Z ]+:$' <<<"$page")
    assert_eq "NAME: USAGE: DESCRIPTION: OPTIONS:" "${heads[*]}" "sections of help create"
    assert_eq "   $prog create - create a container" "$(sed -n 2p <<<"$page")" "NAME of help create"
    assert_eq "   $prog create [command options] <container-id>" "$(sed -n 5p <<<"$page")" "USAGE of help create"
    grep -qE -- '^   --bundle value, -b value  +path to the root of the bundle directory' <<<"$page" ||
        fail "help create: no --bundle line: $page"
    grep -qE -- '^   --pid-file value  +specify the file to write the process id to' <<<"$page" ||
        fail "help create: no --pid-file line: $page"
    page=$("$RUNTIME" help kill)
    assert_eq "$page" "$("$RUNTIME" kill somecontainer --help)" "kill ID --help (flags after the id)"
    grep -qE -- '^   --all, -a  +send the specified signal to all processes inside the container$' <<<"$page" ||
        fail "help kill: no --all line: $page"
    page=$("$RUNTIME" help pause)
    mapfile -t heads < <(grep -E '^[A-Z][A-Z ]+:$' <<<"$page")
    assert_eq "NAME: USAGE: DESCRIPTION:" "${heads[*]}" "sections of help pause (no options)"
    assert_eq "   $prog pause <container-id>" "$(sed -n 5p <<<"$page")" "USAGE of help pause"
    assert_fails_with "No help topic for 'nosuchcommand'" "$RUNTIME" help nosuchcommand
    assert_fails_with "No help topic for 'nosuchcommand'" "$RUNTIME" nosuchcommand
}

# --debug writes debug records to the --log file (JSON lines in --log-format json), at least for run and exec,
# as runc does; without --debug there are none.
test_parity_debug_log() {
    require_root
    local id log="$E2E_WORK/parity-debug.json" text="$E2E_WORK/parity-debug.log" b
    id=$(new_id debuglog)
    b=$(bundle debuglog sleep 1000)
    rt --debug --log "$log" --log-format json run -d --bundle "$b" "$id" </dev/null >/dev/null 2>&1
    jq -e . "$log" >/dev/null || fail "log is not JSON lines: $(cat "$log")"
    local n
    n=$(jq -r 'select(.level == "debug") | .msg' "$log" | wc -l)
    ((n > 0)) || fail "run --debug wrote no debug line: $(cat "$log")"
    jq -e 'select(.level == "debug") | (.msg | type == "string" and length > 0) and (.time | type == "string")' \
        "$log" >/dev/null || fail "a debug line without msg or time: $(cat "$log")"
    : >"$log"
    rt --debug --log "$log" --log-format json exec "$id" true
    n=$(jq -r 'select(.level == "debug") | .msg' "$log" | wc -l)
    ((n > 0)) || fail "exec --debug wrote no debug line: $(cat "$log")"
    rt --debug --log "$text" exec "$id" true
    grep -qE '^time="[^"]+" level=debug msg=' "$text" || fail "no text debug line: $(cat "$text")"
    : >"$log"
    rt --log "$log" --log-format json exec "$id" true
    rt --log "$log" --log-format json kill "$id" 0
    [[ -z $(jq -r 'select(.level == "debug") | .msg' "$log") ]] || fail "debug lines without --debug: $(cat "$log")"
    force_delete "$id"
}

# usage_of CMD...: "RC", then CMD's stdout, then the msg of its --log error line (a newline in it as \n), separated
# by lines "--".
usage_of() {
    local log="$E2E_WORK/usage.$RANDOM.log" out rc=0
    out=$("$RUNTIME" --root "$E2E_ROOT" --log "$log" --log-format json "$@" 2>/dev/null) || rc=$?
    local msg=""
    [[ ! -s $log ]] || msg=$(jq -r 'select(.level == "error") | .msg | gsub("\n"; "\\n")' "$log")
    printf '%s\n--\n%s\n--\n%s' "$rc" "$out" "$msg"
    rm -f "$log"
}

# runc's own words where tools read them: a wrong argument count, an unknown flag (a command's or a global one)
# and an unknown command print urfave/cli's "Incorrect Usage" and the help page on stdout, exit 1 (3 for an
# unknown command), and log runc's message (argument-count errors begin with argv[0], as runc's os.Args[0]).
test_parity_incorrect_usage() {
    local prog=$RUNTIME out help
    for c in state start delete pause resume events update create run; do
        out=$(usage_of "$c")
        help=$("$RUNTIME" "$c" --help)
        assert_eq "1
--
Incorrect Usage.

$help
--
$prog: \"$c\" requires exactly 1 argument(s)" "$out" "$c without its argument"
    done
    out=$(usage_of kill)
    help=$("$RUNTIME" kill --help)
    assert_eq "1
--
Incorrect Usage.

$help
--
$prog: \"kill\" requires a minimum of 1 argument(s)" "$out" "kill without arguments"
    out=$(usage_of kill a KILL extra)
    assert_eq "$prog: \"kill\" requires a maximum of 2 argument(s)" "${out##*$'\n'--$'\n'}" "kill with 3 arguments"
    out=$(usage_of ps)
    assert_eq "$prog: \"ps\" requires a minimum of 1 argument(s)" "${out##*$'\n'--$'\n'}" "ps without arguments"
    out=$(usage_of exec)
    assert_eq "1" "${out%%$'\n'*}" "exit status of exec without arguments (1, not exec's 255)"
    assert_eq "$prog: \"exec\" requires a minimum of 1 argument(s)" "${out##*$'\n'--$'\n'}" "exec without arguments"
    for c in list spec features; do
        out=$(usage_of "$c" extra)
        help=$("$RUNTIME" "$c" --help)
        assert_eq "1
--
Incorrect Usage.

$help
--
$prog: \"$c\" requires exactly 0 argument(s)" "$out" "$c with an argument"
    done
    out=$(usage_of create --bogus x)
    help=$("$RUNTIME" create --help)
    assert_eq "1
--
Incorrect Usage: flag provided but not defined: -bogus

$help
--
flag provided but not defined: -bogus" "$out" "create --bogus"
    out=$(usage_of --bogus list)
    help=$("$RUNTIME" --help)
    assert_eq "1
--
Incorrect Usage. flag provided but not defined: -bogus

$help
--" "$out" "a global --bogus (the log is not set up yet: the message goes to stderr only)"
    assert_fails_with "flag provided but not defined: -bogus" "$RUNTIME" --bogus list
    # An unknown command: nothing on stdout, exit 3, the message with urfave's newline.
    out=$(usage_of bogus)
    assert_eq "3
--

--
No help topic for 'bogus'\\n" "$out" "an unknown command"
}

# ---------------------------------------------------------------------------------------------- pod cgroups

# pod_cgroup NAME CTRL...: makes /NAME in each v1 hierarchy CTRL (as kubelet makes a pod's cgroup before its
# containers); prints nothing. pod_cgroup_remove (below) removes the pod everywhere.
pod_cgroup() {
    local name=$1 ctrl
    shift
    for ctrl in "$@"; do
        [[ -f /sys/fs/cgroup/$ctrl/cgroup.procs ]] || skip "no cgroup v1 $ctrl hierarchy here"
        mkdir "/sys/fs/cgroup/$ctrl/$name"
    done
}
# pod_cgroup_remove NAME: the pod's directory in every hierarchy (liblxc makes the parents of a cgroupsPath in
# the hierarchies the test did not make it in, and delete leaves parents as runc does).
pod_cgroup_remove() {
    local name=$1 d
    for d in /sys/fs/cgroup/*/"$name" /sys/fs/cgroup/"$name"; do
        [[ -d $d ]] || continue
        find "$d" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null || true
        rmdir "$d" 2>/dev/null || true
    done
}

# A container whose cgroupsPath is below a pod cgroup with its own memory and cpu limits (kubelet's layout):
# the container's own limits are set in its own directories, `update` changes those and never the pod's.
test_parity_update_in_pod_cgroup() {
    require_root
    local pod="${E2E_PREFIX}-limitpod" id b pid mem cpu
    id=$(new_id limitpod)
    pod_cgroup "$pod" memory cpu
    trap "force_delete $id; pod_cgroup_remove $pod" EXIT
    echo $((256 << 20)) >"/sys/fs/cgroup/memory/$pod/memory.limit_in_bytes"
    echo 50000 >"/sys/fs/cgroup/cpu/$pod/cpu.cfs_quota_us"
    b=$(bundle limitpod sleep 100) || fail bundle
    spec_edit "$b" ".linux.cgroupsPath = \"/$pod/ctr\" | .linux.resources.memory = {limit: 134217728} |
        .linux.resources.cpu = {quota: 40000, period: 100000}"
    rt run -d --bundle "$b" "$id" </dev/null >/dev/null || fail "run below the pod cgroup /$pod"
    pid=$(state_field "$id" pid)
    mem=$(parity_cgroup_dir "$pid" memory)
    cpu=$(parity_cgroup_dir "$pid" cpu)
    [[ $mem == "/sys/fs/cgroup/memory/$pod/"* ]] || fail "the container's memory cgroup $mem is not below /$pod"
    [[ $cpu == "/sys/fs/cgroup/cpu/$pod/"* ]] || fail "the container's cpu cgroup $cpu is not below /$pod"
    assert_eq 134217728 "$(cat "$mem/memory.limit_in_bytes")" "the container's memory limit at create"
    assert_eq 40000 "$(cat "$cpu/cpu.cfs_quota_us")" "the container's cpu quota at create"
    rt update --memory 64M --cpu-quota 20000 "$id" || fail "update --memory --cpu-quota"
    assert_eq 67108864 "$(cat "$mem/memory.limit_in_bytes")" "the container's memory limit after update"
    assert_eq 20000 "$(cat "$cpu/cpu.cfs_quota_us")" "the container's cpu quota after update"
    echo '{"memory": {"limit": 100663296}, "cpu": {"quota": 30000, "period": 100000}}' |
        rt update --resources - "$id" || fail "update --resources -"
    assert_eq 100663296 "$(cat "$mem/memory.limit_in_bytes")" "the container's memory limit after update -r"
    assert_eq 30000 "$(cat "$cpu/cpu.cfs_quota_us")" "the container's cpu quota after update -r"
    assert_eq $((256 << 20)) "$(cat "/sys/fs/cgroup/memory/$pod/memory.limit_in_bytes")" "the pod's memory limit"
    assert_eq 50000 "$(cat "/sys/fs/cgroup/cpu/$pod/cpu.cfs_quota_us")" "the pod's cpu quota"
    # Above the pod's limit: the kernel refuses a child's quota above its parent's (runc fails the same way).
    assert_fails_with "update|invalid argument" rt update --cpu-quota 90000 "$id"
    assert_eq 30000 "$(cat "$cpu/cpu.cfs_quota_us")" "the container's cpu quota after a refused update"
    assert_eq running "$(state_field "$id" status)" "status after the updates"
    rt delete --force "$id" || fail "delete --force"
}

# A pod cgroup made beforehand with an empty v1 cpuset (a new cpuset directory has no cpus and no mems, and no
# task can join it): the container's cgroup below it gets its cpus and mems filled from the parents, as runc's
# cpuset manager fills every empty directory of the path from its parent, the pod's included.
test_parity_cpuset_pod_cgroup_filled() {
    require_root
    local pod="${E2E_PREFIX}-cpusetpod" id b pid d
    id=$(new_id cpusetpod)
    pod_cgroup "$pod" cpuset
    trap "force_delete $id; pod_cgroup_remove $pod" EXIT
    [[ -z $(tr -d ' \n' <"/sys/fs/cgroup/cpuset/$pod/cpuset.cpus") ]] || fail "a new cpuset directory has cpus"
    b=$(bundle cpusetpod sleep 100) || fail bundle
    spec_edit "$b" ".linux.cgroupsPath = \"/$pod/ctr\""
    rt run -d --bundle "$b" "$id" </dev/null >/dev/null || fail "run below the pod cgroup /$pod with an empty cpuset"
    pid=$(state_field "$id" pid)
    d=$(parity_cgroup_dir "$pid" cpuset)
    [[ $d == "/sys/fs/cgroup/cpuset/$pod/"* ]] || fail "the container's cpuset cgroup $d is not below /$pod"
    for f in cpuset.cpus cpuset.mems; do
        assert_eq "$(cat "/sys/fs/cgroup/cpuset/$f")" "$(cat "$d/$f")" "the container's $f"
        assert_eq "$(cat "/sys/fs/cgroup/cpuset/$f")" "$(cat "/sys/fs/cgroup/cpuset/$pod/$f")" "the pod's $f"
    done
    rt exec "$id" true || fail "exec in the container"
    rt delete --force "$id" || fail "delete --force"
}

# ---------------------------------------------------------------------------------------------- update

# update's device rules are runc 1.1.5's: `update --resources` decodes linux.resources.devices but sets
# SkipDevices ("runc update is unable to change device configuration"), so the rules written at create stay:
# a device the config allows stays usable after an update that denies it, one it denies stays denied.
test_parity_update_devices_unchanged() {
    require_root
    local id b
    id=$(new_id updatedev)
    b=$(bundle updatedev sleep 100) || fail bundle
    # runc spec's rules: everything denied, then the standard nodes (/dev/null among them) allowed; c 1:11
    # (/dev/kmsg) is not among them.
    rt run -d --bundle "$b" "$id" </dev/null >/dev/null || fail run
    rt exec "$id" sh -c 'echo x >/dev/null' || fail "/dev/null before the update"
    echo '{"devices": [{"allow": false, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
                       {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "rwm"}]}' |
        rt update --resources - "$id" || fail "update --resources with devices"
    rt exec "$id" sh -c 'echo x >/dev/null' || fail "/dev/null denied after an update (runc keeps the create's rules)"
    assert_eq running "$(state_field "$id" status)" "status after the update"
    local pid d
    pid=$(state_field "$id" pid)
    d=$(parity_cgroup_dir "$pid" devices)
    if [[ -n $d ]]; then
        grep -qx 'c 1:3 rwm' "$d/devices.list" || fail "c 1:3 is no longer allowed: $(cat "$d/devices.list")"
        ! grep -qx 'c 1:11 rwm' "$d/devices.list" || fail "c 1:11 became allowed: $(cat "$d/devices.list")"
    fi
    rt delete --force "$id" || fail "delete --force"
}

# With --resources, runc 1.1.5 reads the file and nothing else: the resource flags given with it are ignored.
test_parity_update_file_ignores_flags() {
    require_root
    local id b pid mem pids
    id=$(new_id updatefile)
    b=$(bundle updatefile sleep 100) || fail bundle
    rt run -d --bundle "$b" "$id" </dev/null >/dev/null || fail run
    pid=$(state_field "$id" pid)
    mem=$(parity_cgroup_dir "$pid" memory)
    pids=$(parity_cgroup_dir "$pid" pids)
    [[ -n $mem && -n $pids ]] || skip "no v1 memory and pids cgroups for the container"
    echo '{"memory": {"limit": 209715200}}' | rt update --resources - --memory 100M --pids-limit 50 "$id" ||
        fail "update --resources - with flags"
    assert_eq 209715200 "$(cat "$mem/memory.limit_in_bytes")" "memory limit (the file's, not --memory's)"
    assert_eq max "$(cat "$pids/pids.max")" "pids.max (--pids-limit is not read with --resources)"
    rt update --memory 100M --pids-limit 50 "$id" || fail "update with flags"
    assert_eq 104857600 "$(cat "$mem/memory.limit_in_bytes")" "memory limit from --memory"
    assert_eq 50 "$(cat "$pids/pids.max")" "pids.max from --pids-limit"
    rt delete --force "$id" || fail "delete --force"
}
