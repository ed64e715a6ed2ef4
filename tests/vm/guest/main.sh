#!/bin/bash
# Runs inside the VM (from the payload disk, mounted read-only at /mnt/payload): the lifecycle, memory limit,
# OOM, ps, leak and podman tests against the runtime in payload/bin. One line per test on the console:
#   VMTEST PASS <name>  |  VMTEST FAIL <name>: <reason>  |  VMTEST SKIP <name>: <reason>
# and last "VMTEST RESULT: N passed, N failed". MODE: systemd (systemd PID 1, cgroup v2) or nosystemd
# (init=, cgroup_no_v1=all).
set -uo pipefail
mode=${1:?usage: main.sh systemd|nosystemd}
payload=$(cd "$(dirname "$0")/.." && pwd)
RT="$payload/bin/proxmox-lxcri"
ROOT=/run/lxcri-vm
WORK=/var/tmp/lxcri-vm
T=120 # bound on every runtime call (TCG is slow)
passed=0 failed=0
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

say() { echo "VMTEST $*"; }
rt() { timeout "$T" "$RT" --root "$ROOT" "$@"; }
rt_sd() { timeout "$T" "$RT" --root "$ROOT" --systemd-cgroup "$@"; }

# Each test runs in a subshell; "fail MSG" ends it.
fail() {
    echo "$*" >"$WORK/reason"
    exit 1
}
# payload/guest/only (LXCRI_VM_ONLY of run.sh): an extended regex; only the tests whose names match run.
only=$(cat "$payload/guest/only" 2>/dev/null || true)
run_test() { # run_test NAME FUNC ARGS...
    local name=$1
    shift
    [[ -z $only ]] || grep -qE -- "$only" <<<"$name" || return 0
    rm -f "$WORK/reason"
    echo "--- $name"
    if ("$@") >"$WORK/$name.log" 2>&1; then
        say "PASS $name"
        passed=$((passed + 1))
    else
        say "FAIL $name: $(cat "$WORK/reason" 2>/dev/null || echo "exit status $?")"
        sed 's/^/    | /' "$WORK/$name.log" | tail -40
        failed=$((failed + 1))
    fi
}

wait_for() { # wait_for SECONDS CMD...: poll until CMD succeeds
    local end=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS < end)) || return 1
        sleep 0.5
    done
}

status_of() { rt state "$1" 2>/dev/null | jq -r .status; }
init_pid() { rt state "$1" | jq -r .pid; }
# The cgroup2 directory of a pid.
cg_dir() { echo "/sys/fs/cgroup$(sed -n 's/^0:://p' "/proc/$1/cgroup")"; }

# The busybox rootfs, built once.
template() {
    local t=$WORK/rootfs
    [[ -x $t/bin/busybox ]] && return
    mkdir -p "$t"/{bin,dev,proc,sys,tmp,etc,root}
    cp /bin/busybox "$t/bin/busybox"
    local a
    for a in $(/bin/busybox --list); do [[ -e $t/bin/$a ]] || ln -s busybox "$t/bin/$a"; done
    echo "root:x:0:0:root:/root:/bin/sh" >"$t/etc/passwd"
    echo "root:x:0:" >"$t/etc/group"
}

# bundle ID ARGS-JSON [JQ-FILTER]: a bundle whose process runs ARGS.
bundle() {
    local id=$1 args=$2 filter=${3:-.}
    local b=$WORK/bundles/$id
    rm -rf "$b"
    mkdir -p "$b"
    template
    cp -a "$WORK/rootfs" "$b/rootfs"
    (cd "$b" && runc spec)
    jq --argjson args "$args" '.process.terminal = false | .process.args = $args' "$b/config.json" |
        jq "$filter" >"$b/config.new"
    mv "$b/config.new" "$b/config.json"
    echo "$b"
}

# Nothing of container ID is left: no state, no cgroup directory, no systemd unit.
assert_no_leak() {
    local id=$1 dirs units
    [[ ! -e $ROOT/$id ]] || fail "state directory $ROOT/$id left"
    dirs=$(find /sys/fs/cgroup -type d -name "*$id*" 2>/dev/null)
    [[ -z $dirs ]] || fail "cgroup directories left: $dirs"
    if [[ $mode == systemd ]]; then
        units=$(systemctl list-units --all --plain --no-legend 2>/dev/null | grep -F "$id" || true)
        [[ -z $units ]] || fail "systemd units left: $units"
    fi
}

# driver flag: "" (cgroupfs) or "--systemd-cgroup"; cgroupsPath filter for the bundle.
cg_filter() { # cg_filter DRIVER ID
    if [[ $1 == systemd ]]; then
        echo ".linux.cgroupsPath = \"system.slice:lxcri:$2\""
    else
        echo ".linux.cgroupsPath = \"/lxcri-vm/$2\""
    fi
}
rtd() { # rtd DRIVER ARGS...
    local d=$1
    shift
    if [[ $d == systemd ]]; then rt_sd "$@"; else rt "$@"; fi
}

test_lifecycle() {
    local d=$1 id=life-$1 b out pid cg
    b=$(bundle "$id" '["sleep","1000"]' "$(cg_filter "$d" "$id")") || fail "bundle"
    rtd "$d" create --bundle "$b" --pid-file "$WORK/$id.pid" "$id" || fail "create"
    [[ $(status_of "$id") == created ]] || fail "status after create: $(status_of "$id")"
    rtd "$d" start "$id" || fail "start"
    [[ $(status_of "$id") == running ]] || fail "status after start: $(status_of "$id")"
    pid=$(init_pid "$id")
    cg=$(cg_dir "$pid")
    [[ $(cg_dir "$(cat "$WORK/$id.pid")") == "$cg" ]] || fail "pid-file process not in the container's cgroup $cg"
    if [[ $d == systemd ]]; then
        [[ $cg == /sys/fs/cgroup/system.slice/lxcri-$id.scope/* ]] || fail "cgroup $cg not in the scope"
        systemctl is-active -q "lxcri-$id.scope" || fail "scope lxcri-$id.scope not active"
        [[ $(systemctl show -P Delegate "lxcri-$id.scope") == yes ]] || fail "scope not delegated"
    fi
    out=$(rtd "$d" exec "$id" echo from-exec) || fail "exec"
    [[ $out == from-exec ]] || fail "exec output: $out"
    rtd "$d" pause "$id" || fail "pause"
    [[ $(status_of "$id") == paused ]] || fail "status after pause: $(status_of "$id")"
    [[ $(cat "$cg/cgroup.freeze") == 1 ]] || fail "cgroup.freeze is not 1 after pause"
    rtd "$d" resume "$id" || fail "resume"
    [[ $(status_of "$id") == running ]] || fail "status after resume: $(status_of "$id")"
    rtd "$d" update --memory 100663296 --pids-limit 50 "$id" || fail "update"
    [[ $(cat "$cg/memory.max") == 100663296 ]] || fail "memory.max after update: $(cat "$cg/memory.max")"
    [[ $(cat "$cg/pids.max") == 50 ]] || fail "pids.max after update: $(cat "$cg/pids.max")"
    if [[ $d == systemd ]]; then
        [[ $(systemctl show -P MemoryMax "lxcri-$id.scope") == 100663296 ]] ||
            fail "scope MemoryMax after update: $(systemctl show -P MemoryMax "lxcri-$id.scope")"
        [[ $(systemctl show -P TasksMax "lxcri-$id.scope") == 50 ]] ||
            fail "scope TasksMax after update: $(systemctl show -P TasksMax "lxcri-$id.scope")"
    fi
    out=$(rtd "$d" events --stats "$id") || fail "events --stats"
    jq -e '.type == "stats" and .data.memory.usage.usage > 0 and .data.pids.current >= 1' <<<"$out" >/dev/null ||
        fail "events --stats: $out"
    rtd "$d" kill "$id" KILL || fail "kill"
    wait_for 30 test "$(status_of "$id")" == stopped || fail "not stopped after kill: $(status_of "$id")"
    rtd "$d" delete "$id" || fail "delete"
    assert_no_leak "$id"
}

test_memory_limit() {
    local d=$1 id=mem-$1 b pid cg
    b=$(bundle "$id" '["sleep","1000"]' "$(cg_filter "$d" "$id") | .linux.resources.memory.limit = 67108864") ||
        fail "bundle"
    rtd "$d" create --bundle "$b" "$id" || fail "create"
    rtd "$d" start "$id" || fail "start"
    pid=$(init_pid "$id")
    cg=$(cg_dir "$pid")
    [[ $(cat "$cg/memory.max") == 67108864 ]] || fail "memory.max is $(cat "$cg/memory.max"), want 67108864"
    if [[ $d == systemd ]]; then
        local scope=/sys/fs/cgroup/system.slice/lxcri-$id.scope
        [[ $(cat "$scope/memory.max") == 67108864 ]] || fail "scope memory.max is $(cat "$scope/memory.max")"
        [[ $(systemctl show -P MemoryMax "lxcri-$id.scope") == 67108864 ]] || fail "unit MemoryMax"
    fi
    rtd "$d" delete --force "$id" || fail "delete --force"
    assert_no_leak "$id"
}

test_oom() {
    local d=$1 id=oom-$1 b ev evpid
    b=$(bundle "$id" '["sh","-c","sleep 5; dd if=/dev/zero of=/dev/null bs=64M count=1; sleep 1000"]' \
        "$(cg_filter "$d" "$id") | .linux.resources.memory.limit = 33554432 | .linux.resources.memory.swap = 33554432") ||
        fail "bundle"
    rtd "$d" create --bundle "$b" "$id" || fail "create"
    ev=$WORK/$id.events
    rtd "$d" events --interval 1s "$id" >"$ev" 2>&1 &
    evpid=$!
    rtd "$d" start "$id" || fail "start"
    wait_for 90 grep -q '"type":"oom"' "$ev" || { kill $evpid; fail "no oom event: $(tail -c 300 "$ev")"; }
    kill $evpid 2>/dev/null
    local cg
    cg=$(cg_dir "$(init_pid "$id")")
    grep -qE '^oom_kill [1-9]' "$cg/memory.events" || fail "memory.events: $(tr '\n' ' ' <"$cg/memory.events")"
    [[ $(status_of "$id") == running ]] || fail "container not running after the OOM kill of dd"
    rtd "$d" delete --force "$id" || fail "delete --force"
    assert_no_leak "$id"
}

test_ps() {
    local d=$1 id=ps-$1 b out
    b=$(bundle "$id" '["sh","-c","sleep 1000 & exec sleep 1001"]' "$(cg_filter "$d" "$id")") || fail "bundle"
    rtd "$d" create --bundle "$b" "$id" && rtd "$d" start "$id" || fail "create/start"
    wait_for 20 sh -c "[ \$(\"$RT\" --root $ROOT ps --format json $id | jq length) -ge 2 ]" ||
        fail "ps --format json: $(rt ps --format json "$id")"
    out=$(rtd "$d" ps "$id") || fail "ps"
    grep -q 'sleep 1000' <<<"$out" || fail "ps table lacks 'sleep 1000': $out"
    rtd "$d" delete --force "$id" || fail "delete --force"
    assert_no_leak "$id"
}

# delete --force of a created container that was killed, and of a create whose runtime was killed.
test_force_delete() {
    local d=$1 id=fd-$1 b cpid
    b=$(bundle "$id" '["sleep","1000"]' "$(cg_filter "$d" "$id")") || fail "bundle"
    rtd "$d" create --bundle "$b" "$id" || fail "create"
    rtd "$d" kill "$id" KILL || fail "kill"
    rtd "$d" delete --force "$id" || fail "delete --force of a killed created container"
    assert_no_leak "$id"
    local id2=fdk-$1
    b=$(bundle "$id2" '["sleep","1000"]' "$(cg_filter "$d" "$id2")") || fail "bundle"
    rtd "$d" create --bundle "$b" "$id2" &
    cpid=$!
    wait_for 60 jq -e '.backendState.monitorPid > 0' "$ROOT/$id2/state.json" >/dev/null 2>&1 ||
        fail "create never recorded its monitor"
    sleep 1
    kill -KILL "$cpid" 2>/dev/null
    wait "$cpid" 2>/dev/null
    rtd "$d" delete --force "$id2" || fail "delete --force after the runtime was killed mid-create"
    assert_no_leak "$id2"
}

# A cgroupsPath naming a cgroup that exists, with a host process in it: whatever create does with it, neither
# a failed create nor delete --force kills that process or removes that cgroup.
test_cgroup_clash() {
    local cg=/sys/fs/cgroup/lxcri-vm-clash b spid
    mkdir -p "$cg"
    sleep 1000 &
    spid=$!
    echo "$spid" >"$cg/cgroup.procs" || fail "move the host process into $cg"
    b=$(bundle cgclash '["sleep","1000"]' '.linux.cgroupsPath = "/lxcri-vm-clash"') || fail "bundle"
    rt create --bundle "$b" cgclash || echo "create refused the existing cgroup (fine)"
    rt delete --force cgclash || fail "delete --force"
    kill -0 "$spid" 2>/dev/null || fail "the host process in the pre-existing cgroup was killed"
    [[ -d $cg ]] || fail "the pre-existing cgroup $cg was removed"
    grep -qx "$spid" "$cg/cgroup.procs" || fail "the host process left $cg"
    kill "$spid"
    wait "$spid" 2>/dev/null
    rmdir "$cg"
    assert_no_leak cgclash
}

# A systemd unit of the name the container's scope would get, made by someone else: create fails, and that
# unit and its process stay.
test_systemd_unit_clash() {
    local b spid
    systemd-run --quiet --scope --unit=lxcri-uclash.scope sleep 1000 &
    spid=$!
    wait_for 60 systemctl is-active -q lxcri-uclash.scope || fail "the other scope did not start"
    b=$(bundle uc1 '["sleep","1000"]' '.linux.cgroupsPath = "system.slice:lxcri:uclash"') || fail "bundle"
    rt_sd create --bundle "$b" uc1 && fail "create succeeded with a unit name that is taken"
    rt_sd delete --force uc1 >/dev/null 2>&1
    systemctl is-active -q lxcri-uclash.scope || fail "the other scope was stopped"
    kill -0 "$spid" 2>/dev/null || fail "the other scope's process was killed"
    systemctl stop lxcri-uclash.scope
    wait "$spid" 2>/dev/null
    assert_no_leak uc1
}

test_systemd_errors() {
    local b out
    b=$(bundle sderr '["true"]' '.linux.cgroupsPath = "/not/a/unit"') || fail "bundle"
    out=$(rt_sd create --bundle "$b" sderr 2>&1) && fail "create with a cgroupfs path succeeded"
    grep -q 'slice:prefix:name' <<<"$out" || fail "unclear error: $out"
    assert_no_leak sderr
}

test_no_systemd_refused() {
    local b out
    b=$(bundle nosd '["true"]' '.linux.cgroupsPath = "system.slice:lxcri:nosd"') || fail "bundle"
    out=$(rt_sd create --bundle "$b" nosd 2>&1) && fail "--systemd-cgroup succeeded without systemd"
    grep -q '/run/systemd/system' <<<"$out" || fail "unclear error: $out"
    assert_no_leak nosd
}

# No D-Bus daemon (a minimal Debian install, a VM image without dbus): as root, runc's go-systemd falls back to
# systemd's private socket /run/systemd/private, and so does this runtime. dbus.socket and dbus.service are
# stopped and masked for the test and restored after it. RUNTIME: ours or runc (the reference, for parity).
dbus_restore() {
    systemctl unmask --runtime dbus.socket dbus.service >/dev/null 2>&1
    systemctl start dbus.socket dbus.service
}
test_systemd_without_dbus() {
    local which=$1 id=nodbus-$1 b pid cg scope unit
    unit=lxcri-$id.scope scope=/sys/fs/cgroup/system.slice/lxcri-$id.scope
    trap dbus_restore EXIT
    systemctl mask --runtime dbus.socket dbus.service >/dev/null 2>&1 || fail "mask dbus"
    systemctl stop dbus.socket dbus.service || fail "stop dbus"
    ! busctl --system list >/dev/null 2>&1 || fail "the D-Bus system bus still answers with dbus stopped"
    b=$(bundle "$id" '["sleep","1000"]' \
        ".linux.cgroupsPath = \"system.slice:lxcri:$id\" | .linux.resources.memory.limit = 67108864") ||
        fail "bundle"
    local sd=("$RT" --root "$ROOT" --systemd-cgroup)
    [[ $which == runc ]] && sd=(runc --root "$ROOT-runc" --systemd-cgroup)
    timeout "$T" "${sd[@]}" run -d --bundle "$b" "$id" </dev/null >/dev/null 2>"$WORK/$id.err" ||
        fail "run --systemd-cgroup without D-Bus: $(cat "$WORK/$id.err")"
    pid=$(timeout "$T" "${sd[@]}" state "$id" | jq -r .pid)
    systemctl is-active -q "$unit" || fail "scope $unit not active"
    cg=$(cg_dir "$pid")
    [[ $cg == "$scope" || $cg == "$scope"/* ]] || fail "cgroup $cg not in the scope"
    [[ $(cat "$cg/memory.max") == 67108864 ]] || fail "memory.max is $(cat "$cg/memory.max"), want 67108864"
    [[ $(systemctl show -P MemoryMax "$unit") == 67108864 ]] || fail "unit MemoryMax: $(systemctl show -P MemoryMax "$unit")"
    timeout "$T" "${sd[@]}" update --memory 100663296 "$id" || fail "update without D-Bus"
    [[ $(cat "$cg/memory.max") == 100663296 ]] || fail "memory.max after update: $(cat "$cg/memory.max")"
    [[ $(systemctl show -P MemoryMax "$unit") == 100663296 ]] ||
        fail "unit MemoryMax after update: $(systemctl show -P MemoryMax "$unit")"
    timeout "$T" "${sd[@]}" delete --force "$id" || fail "delete --force without D-Bus"
    wait_for 30 sh -c "! systemctl is-active -q $unit" || fail "scope $unit still active after delete"
    [[ $which == runc ]] || assert_no_leak "$id"
    trap - EXIT
    dbus_restore || fail "restore dbus"
    wait_for 30 busctl --system list >/dev/null 2>&1 || fail "the D-Bus system bus did not come back"
}

test_podman() {
    command -v podman >/dev/null || fail "podman not installed"
    local d=$WORK/podman name=pm-vm out rc=0 cid
    mkdir -p "$d/tmp"
    cat >"$d/containers.conf" <<'EOF'
[containers]
netns = "none"

[engine]
cgroup_manager = "systemd"
events_logger = "file"
EOF
    export CONTAINERS_CONF="$d/containers.conf"
    local pm=(timeout "$T" podman --root "$d/root" --runroot "$d/runroot" --storage-driver vfs --tmpdir "$d/tmp"
        --runtime "$RT")
    template
    tar --numeric-owner -C "$WORK/rootfs" -cf - . | "${pm[@]}" import - localhost/busybox >/dev/null ||
        fail "podman import"
    out=$("${pm[@]}" run --rm localhost/busybox echo hi) || fail "podman run: $out"
    [[ $out == hi ]] || fail "podman run output: $out"
    "${pm[@]}" run --rm localhost/busybox sh -c 'exit 5' || rc=$?
    [[ $rc == 5 ]] || fail "podman run exit code $rc, want 5"
    cid=$("${pm[@]}" run -d --name "$name" --memory 64m localhost/busybox sleep 1000) || fail "podman run -d"
    [[ $("${pm[@]}" inspect -f '{{.State.Status}}' "$name") == running ]] || fail "podman inspect: not running"
    systemctl is-active -q "libpod-$cid.scope" || fail "scope libpod-$cid.scope not active"
    local cg
    cg=$(cg_dir "$("${pm[@]}" inspect -f '{{.State.Pid}}' "$name")")
    [[ $cg == /sys/fs/cgroup/machine.slice/libpod-$cid.scope/* ]] || fail "container cgroup $cg"
    [[ $(cat "$cg/memory.max") == 67108864 ]] || fail "podman --memory: memory.max $(cat "$cg/memory.max")"
    out=$("${pm[@]}" exec "$name" echo from-exec) || fail "podman exec"
    [[ $out == from-exec ]] || fail "podman exec output: $out"
    "${pm[@]}" stop -t 1 "$name" >/dev/null || fail "podman stop"
    "${pm[@]}" rm "$name" >/dev/null || fail "podman rm"
    [[ -z $("${pm[@]}" ps -aq) ]] || fail "podman ps -aq not empty after rm"
    wait_for 30 sh -c "! systemctl list-units --all --plain --no-legend | grep -q $cid" ||
        fail "units left: $(systemctl list-units --all --plain --no-legend | grep "$cid")"
    [[ -z $(find /sys/fs/cgroup -type d -name "*$cid*") ]] || fail "cgroups left: $(find /sys/fs/cgroup -name "*$cid*")"
}

main() {
    rm -rf "$WORK" "$ROOT"
    mkdir -p "$WORK" "$ROOT"
    echo "VMTEST mode $mode: kernel $(uname -r), $(stat -fc %T /sys/fs/cgroup) at /sys/fs/cgroup, pid 1 $(cat /proc/1/comm)"
    [[ $(stat -fc %T /sys/fs/cgroup) == cgroup2fs ]] || { say "FAIL setup: /sys/fs/cgroup is not cgroup2"; failed=1; }
    local drivers=(cgroupfs)
    if [[ $mode == systemd ]]; then
        drivers+=(systemd)
    fi
    local d
    for d in "${drivers[@]}"; do
        run_test "lifecycle-$d" test_lifecycle "$d"
        run_test "memory-limit-$d" test_memory_limit "$d"
        run_test "oom-event-$d" test_oom "$d"
        run_test "ps-$d" test_ps "$d"
        run_test "force-delete-$d" test_force_delete "$d"
    done
    run_test cgroup-clash test_cgroup_clash
    if [[ $mode == systemd ]]; then
        run_test systemd-bad-path test_systemd_errors
        run_test systemd-unit-clash test_systemd_unit_clash
        run_test systemd-without-dbus test_systemd_without_dbus ours
        run_test systemd-without-dbus-runc test_systemd_without_dbus runc
        run_test podman-systemd test_podman
    else
        run_test systemd-refused-without-systemd test_no_systemd_refused
    fi
    echo "VMTEST RESULT: $passed passed, $failed failed"
}

main
