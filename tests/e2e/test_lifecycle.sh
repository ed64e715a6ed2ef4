# shellcheck shell=bash
# Lifecycle: every runc verb a client uses, on a busybox bundle, with a private --root.

# A container init that survives SIGTERM and counts it in /tmp/terms (pid 1 ignores unhandled signals).
TERM_COUNTER='n=0; trap "n=\$((n+1)); echo \$n > /tmp/terms" TERM; while :; do sleep 0.05; done'

# The cgroup v1 memory dir or cgroup2 dir of a process, from /proc/<pid>/cgroup.
memory_cgroup_dir() {
    local pid=$1 line
    line=$(grep -E '^[0-9]+:([^:]*,)?memory(,[^:]*)?:' "/proc/$pid/cgroup" || true)
    if [[ -n $line ]]; then
        echo "/sys/fs/cgroup/memory${line##*:}"
        return
    fi
    line=$(grep '^0::' "/proc/$pid/cgroup")
    echo "/sys/fs/cgroup${line#0::}"
}

memory_limit_of() {
    local dir
    dir=$(memory_cgroup_dir "$1")
    if [[ -f $dir/memory.limit_in_bytes ]]; then
        cat "$dir/memory.limit_in_bytes"
    elif [[ -f $dir/memory.max ]]; then
        cat "$dir/memory.max"
    else
        fail "no memory limit file in $dir (pid $1)"
    fi
}

test_lifecycle_create_start_kill_delete() {
    require_root
    local id b pidfile
    id=$(new_id life)
    b=$(bundle life sh -c "$TERM_COUNTER")
    spec_edit "$b" '.root.readonly = false'
    pidfile="$E2E_WORK/life.pid"

    rt create --bundle "$b" --pid-file "$pidfile" "$id"
    [[ -s $pidfile ]] || fail "pid file $pidfile is empty or missing"
    local filepid
    filepid=$(cat "$pidfile")
    [[ $filepid =~ ^[0-9]+$ ]] || fail "pid file holds '$filepid', not a pid"
    pid_alive "$filepid" || fail "pid-file pid $filepid is not alive"

    local st
    st=$(rt state "$id")
    echo "state after create: $st"
    assert_eq "$id" "$(jq -r .id <<<"$st")" "state.id"
    assert_eq created "$(jq -r .status <<<"$st")" "state.status"
    assert_eq "$b" "$(jq -r .bundle <<<"$st")" "state.bundle"
    [[ $(jq -r .ociVersion <<<"$st") =~ ^1\. ]] || fail "state.ociVersion: $(jq -r .ociVersion <<<"$st")"
    local pid
    pid=$(jq -r .pid <<<"$st")
    [[ $pid =~ ^[1-9][0-9]*$ ]] || fail "state.pid: '$pid'"
    pid_alive "$pid" || fail "state.pid $pid is not alive"
    is_ancestor_or_self "$filepid" "$pid" || fail "pid-file pid $filepid is not an ancestor-or-self of init $pid"

    rt start "$id"
    wait_status "$id" running

    local out
    out=$(rt exec "$id" echo hi)
    assert_eq hi "$out" "exec output"

    local ps
    ps=$(rt ps --format json "$id")
    echo "ps: $ps"
    jq -e 'type == "array"' <<<"$ps" >/dev/null || fail "ps --format json is not an array: $ps"
    jq -e --argjson p "$pid" 'index($p) != null' <<<"$ps" >/dev/null || fail "ps does not list init pid $pid: $ps"

    rt pause "$id"
    assert_eq paused "$(state_field "$id" status)" "status after pause"
    rt resume "$id"
    assert_eq running "$(state_field "$id" status)" "status after resume"

    # Three spellings of the same signal; the init counts them.
    local n=0 sig
    for sig in SIGTERM 15 TERM; do
        rt kill "$id" "$sig"
        n=$((n + 1))
        local deadline=$((SECONDS + 5))
        until [[ $(cat "$b/rootfs/tmp/terms" 2>/dev/null) == "$n" ]]; do
            ((SECONDS < deadline)) || fail "kill $sig: init counted $(cat "$b/rootfs/tmp/terms" 2>/dev/null) TERMs, expected $n"
            sleep 0.05
        done
    done
    rt kill "$id" KILL
    wait_status "$id" stopped
    rt delete "$id"
    assert_fails_with "does not exist" rt state "$id"
}

test_lifecycle_run_output_and_exit_code() {
    require_root
    local out rc=0
    out=$(rt run --bundle "$(bundle run-echo echo hello)" "$(new_id runecho)" </dev/null)
    assert_eq hello "$out" "run output"
    rt run --bundle "$(bundle run-exit sh -c 'exit 3')" "$(new_id runexit)" </dev/null || rc=$?
    assert_eq 3 "$rc" "run exit code"
    assert_fails_with "does not exist" rt state "$(new_id runexit)"
}

test_lifecycle_run_detached() {
    require_root
    local id b
    id=$(new_id rund)
    b=$(bundle rund sleep 100)
    rt run -d --bundle "$b" "$id" </dev/null >/dev/null 2>&1
    assert_eq running "$(state_field "$id" status)" "status after run -d"
    pid_alive "$(state_field "$id" pid)" || fail "detached container's init is not alive"
    rt kill "$id" KILL
    wait_status "$id" stopped
    rt delete "$id"
}

test_lifecycle_list() {
    require_root
    local a b
    a=$(new_id lista)
    b=$(new_id listb)
    rt create --bundle "$(bundle lista sleep 100)" "$a" </dev/null >/dev/null 2>&1
    rt create --bundle "$(bundle listb sleep 100)" "$b" </dev/null >/dev/null 2>&1
    rt start "$b"

    local table
    table=$(rt list)
    echo "$table"
    local header
    header=$(head -1 <<<"$table")
    for col in ID PID STATUS BUNDLE CREATED; do assert_contains "$header" "$col" "list header"; done
    grep -Eq "^$a +[0-9]+ +created " <<<"$table" || fail "list does not show $a as created"
    grep -Eq "^$b +[0-9]+ +running " <<<"$table" || fail "list does not show $b as running"

    local json
    json=$(rt list --format json)
    assert_eq created "$(jq -r --arg id "$a" '.[] | select(.id == $id) | .status' <<<"$json")" "list json $a"
    assert_eq running "$(jq -r --arg id "$b" '.[] | select(.id == $id) | .status' <<<"$json")" "list json $b"

    assert_eq "$(printf '%s\n' "$a" "$b" | sort)" "$(rt list -q | sort)" "list -q"

    force_delete "$a"
    force_delete "$b"
    assert_eq "" "$(rt list -q)" "list -q after delete"
    assert_eq 0 "$(rt list --format json | jq 'length')" "list --format json after delete"
}

test_lifecycle_features() {
    local f
    f=$(rt features)
    echo "$f"
    [[ $(jq -r .ociVersionMin <<<"$f") =~ ^1\.[0-9]+\.[0-9]+ ]] || fail "features.ociVersionMin"
    [[ $(jq -r .ociVersionMax <<<"$f") =~ ^1\.[0-9]+\.[0-9]+ ]] || fail "features.ociVersionMax"
}

# go-runc parses "NAME version X", "commit: C", "spec: S" from the first three lines.
test_lifecycle_version() {
    local v
    v=$("$RUNTIME" --version)
    echo "$v"
    local -a lines
    mapfile -t lines <<<"$v"
    [[ ${lines[0]} =~ ^[a-z0-9-]+\ version\ [^\ ]+$ ]] || fail "line 1: '${lines[0]}'"
    [[ ${lines[1]} =~ ^commit:\ [^\ ]+$ ]] || fail "line 2: '${lines[1]}'"
    [[ ${lines[2]} =~ ^spec:\ 1\.[0-9]+\.[0-9]+ ]] || fail "line 3: '${lines[2]}'"
    # go-runc reads these three lines; further lines must be "key: value" as runc's own (go:, libseccomp:).
    local i
    ((${#lines[@]} >= 3)) || fail "--version printed ${#lines[@]} lines, the contract names 3"
    for ((i = 3; i < ${#lines[@]}; i++)); do
        [[ ${lines[i]} =~ ^[a-z0-9-]+:\ [^\ ]+$ ]] || fail "line $((i + 1)): '${lines[i]}'"
    done
}

test_lifecycle_spec() {
    local d="$E2E_WORK/specdir"
    mkdir -p "$d"
    (cd "$d" && rt spec)
    jq -e '.ociVersion and .process.args and .root.path' "$d/config.json" >/dev/null ||
        fail "spec wrote an incomplete config.json: $(cat "$d/config.json")"
    assert_fails_with "exist" bash -c "cd '$d' && '$RUNTIME' spec"
}

test_lifecycle_update_memory() {
    require_root
    local id pid before after
    id=$(new_id upd)
    rt run -d --bundle "$(bundle upd sleep 100)" "$id" </dev/null >/dev/null 2>&1
    pid=$(state_field "$id" pid)
    before=$(memory_limit_of "$pid")
    echo '{"memory": {"limit": 67108864, "swap": 134217728}}' | rt update --resources - "$id"
    after=$(memory_limit_of "$pid")
    echo "memory limit: $before -> $after ($(memory_cgroup_dir "$pid"))"
    assert_eq 67108864 "$after" "memory limit after update"
    force_delete "$id"
}

test_lifecycle_events_stats() {
    require_root
    local id out
    id=$(new_id evt)
    rt run -d --bundle "$(bundle evt sleep 100)" "$id" </dev/null >/dev/null 2>&1
    out=$(timeout 20 "$RUNTIME" --root "$E2E_ROOT" events --stats "$id")
    echo "$out"
    assert_eq 1 "$(wc -l <<<"$out")" "events --stats line count"
    assert_eq stats "$(jq -r .type <<<"$out")" "events type"
    assert_eq "$id" "$(jq -r .id <<<"$out")" "events id"
    jq -e '.data.memory.usage.usage > 0' <<<"$out" >/dev/null || fail "events --stats: no memory usage"
    force_delete "$id"
}

# events streams a stats event every --interval (a Go duration, as runc takes it) and an "oom" event without
# data (runc's types.Event) when the container's OOM count rises, until the container stops.
test_lifecycle_events_stream() {
    require_root
    local id b out
    assert_fails_with "for flag -interval" rt events --interval 5x nosuchid
    id=$(new_id evstream)
    b=$(bundle evstream sh -c 'sleep 1.5; (x=$(head -c 100000000 /dev/zero | tr "\0" a); echo "${#x}"); sleep 1.5')
    spec_edit "$b" '.linux.resources.memory = {"limit": 33554432, "swap": 33554432}'
    rt run -d --bundle "$b" "$id" </dev/null >/dev/null 2>&1
    assert_fails_with "duration interval must be greater than 0" rt events --interval 0s "$id"
    # The container's init (sh) survives the OOM kill of its subshell and exits about 3 s after the start: the
    # stream ends with it (runc's goes on until it is killed: 124).
    local rc=0
    out=$(timeout 8 "$RUNTIME" --root "$E2E_ROOT" events --interval 250ms "$id") || rc=$?
    [[ $rc == 0 || ($rc == 124 && $(basename "$RUNTIME") == runc) ]] || fail "events: rc=$rc"
    echo "$out"
    local nstats
    nstats=$(jq -r 'select(.type == "stats") | .id' <<<"$out" | grep -cxF "$id" || true)
    ((nstats >= 4 && nstats <= 40)) || fail "events --interval 250ms over 3-8 s: $nstats stats events"
    jq -e 'select(.type == "stats") | .data.memory.usage.usage > 0' <<<"$out" >/dev/null ||
        fail "stats events without memory usage"
    assert_eq "{\"type\":\"oom\",\"id\":\"$id\"}" "$(jq -c 'select(.type == "oom")' <<<"$out" | head -1)" "oom event"
    wait_status "$id" stopped
    rt delete "$id"
}
