# shellcheck shell=bash
# End-to-end test library: bundle builder, runtime wrapper, assertions, host-leak snapshots and a tiny runner.
#
# Environment:
#   RUNTIME      absolute path of the OCI runtime under test (required; e.g. /usr/bin/runc)
#   E2E_WORK     scratch directory (default: a fresh mktemp -d under /tmp)
#   E2E_STRICT   1: host-leak checks compare every new mount/cgroup dir, not only those naming this run
#                (default 1 when CI=true, else 0 so that other users of a shared machine do not cause failures)
#   E2E_VERBOSE  1: print the full log of passing tests too

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/e2e/services.sh
source "$E2E_DIR/services.sh"

# ---------------------------------------------------------------------------------------------- setup

e2e_setup() {
    if [[ -z ${RUNTIME:-} ]]; then
        echo "e2e: RUNTIME must name the runtime binary (absolute path)" >&2
        return 2
    fi
    if [[ $RUNTIME != /* || ! -x $RUNTIME ]]; then
        echo "e2e: RUNTIME=$RUNTIME is not an absolute path to an executable" >&2
        return 2
    fi
    E2E_WORK=${E2E_WORK:-$(mktemp -d /tmp/lxcri-e2e.XXXXXX)}
    mkdir -p "$E2E_WORK"
    # Private state root for the whole run: nothing here touches /run/runc or /run/proxmox-lxcri.
    E2E_ROOT=$(mktemp -d "$E2E_WORK/root.XXXXXX")
    # Every container id of this run starts with this prefix; leak checks look for it.
    E2E_PREFIX="e2e$$x"
    E2E_STRICT=${E2E_STRICT:-$([[ ${CI:-} == true ]] && echo 1 || echo 0)}
    E2E_BIN="$E2E_WORK/bin"
    mkdir -p "$E2E_BIN"
    export RUNTIME E2E_WORK E2E_ROOT E2E_PREFIX E2E_STRICT E2E_BIN
}

# The runtime under test with this run's private state root.
rt() { "$RUNTIME" --root "$E2E_ROOT" "$@"; }

# A fresh container id for this run: e2e<shellpid>x<name>.
new_id() { echo "${E2E_PREFIX}$1"; }

# ---------------------------------------------------------------------------------------------- bundles

BUSYBOX_APPLETS=(sh ash echo true false sleep cat id ls ps hostname env test "[" mkdir rm touch grep awk sed
    head tail wc printf pwd uname readlink stat tty kill mount umount date cut tr dd seq yes nproc)

# The rootfs template (busybox + applet symlinks + minimal /etc), built once per run and copied per bundle.
busybox_template() {
    local t="$E2E_WORK/busybox-rootfs"
    if [[ ! -x $t/bin/busybox ]]; then
        local bb
        bb=$(command -v busybox) || { echo "busybox not found (install busybox-static)" >&2; return 1; }
        if ! file -L "$bb" 2>/dev/null | grep -q 'statically linked'; then
            [[ -x /bin/busybox ]] && bb=/bin/busybox
        fi
        mkdir -p "$t"/{bin,etc,proc,sys,dev,tmp,root,run}
        chmod 1777 "$t/tmp"
        cp "$bb" "$t/bin/busybox"
        local a
        for a in "${BUSYBOX_APPLETS[@]}"; do ln -sf busybox "$t/bin/$a"; done
        printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$t/etc/passwd"
        printf 'root:x:0:\nnogroup:x:65534:\n' >"$t/etc/group"
        echo busybox >"$t/etc/hostname"
    fi
    echo "$t"
}

# make_busybox_bundle DIR [ARGS...]: DIR/rootfs from Debian's busybox-static and DIR/config.json from
# `runc spec`, with terminal=false and process.args=ARGS (default: sh).
make_busybox_bundle() {
    local dir=$1
    shift
    local tmpl a
    tmpl=$(busybox_template) || return 1
    mkdir -p "$dir"
    rm -rf "$dir/rootfs"
    cp -a "$tmpl" "$dir/rootfs"
    rm -f "$dir/config.json"
    (cd "$dir" && runc spec) || return 1
    local args='["sh"]'
    if (($# > 0)); then
        # One jq call per argument: arguments may hold newlines and look like jq options ("-c").
        args=$(for a in "$@"; do jq -n --arg a "$a" '$a'; done | jq -cs .)
    fi
    spec_edit "$dir" ".process.terminal = false | .process.args = $args"
}

# spec_edit DIR JQ-FILTER: rewrite DIR/config.json through jq.
spec_edit() {
    local dir=$1 filter=$2
    jq "$filter" "$dir/config.json" >"$dir/config.json.new" && mv "$dir/config.json.new" "$dir/config.json"
}

# A bundle for one test in the run's work dir; prints its path.
bundle() {
    local name=$1
    shift
    local dir="$E2E_WORK/bundles/$name"
    make_busybox_bundle "$dir" "$@" >/dev/null || return 1
    echo "$dir"
}

# Compile a tiny C helper from tests/e2e/NAME.c into the run's bin dir; prints its path.
helper() {
    local name=$1 out="$E2E_BIN/$1"
    if [[ ! -x $out ]]; then
        cc -O1 -Wall -Werror -o "$out" "$E2E_DIR/$name.c" || return 1
    fi
    echo "$out"
}

# ---------------------------------------------------------------------------------------------- assertions

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

skip() {
    echo "skipped: $*"
    exit 77
}

assert_eq() {
    local want=$1 got=$2 what=${3:-value}
    [[ $want == "$got" ]] || fail "$what: expected '$want', got '$got'"
}

assert_contains() {
    local haystack=$1 needle=$2 what=${3:-output}
    [[ $haystack == *"$needle"* ]] || fail "$what: expected to contain '$needle', got '$haystack'"
}

# assert_fails_with WORDS CMD...: CMD must exit non-zero and print (stdout+stderr) text containing WORDS.
# One of several accepted wordings may be given as "a|b|c".
assert_fails_with() {
    local words=$1
    shift
    local out rc=0 w alts
    out=$("$@" 2>&1) || rc=$?
    ((rc != 0)) || fail "'$*' succeeded, expected a failure ($words); output: $out"
    IFS='|' read -ra alts <<<"$words"
    for w in "${alts[@]}"; do
        [[ ${out,,} == *"${w,,}"* ]] && return 0
    done
    fail "'$*' failed (rc=$rc) without saying '$words': $out"
}

# state_field ID FIELD: one field of `state ID`.
state_field() { rt state "$1" | jq -r ".$2"; }

# wait_status ID STATUS [TIMEOUT_S]: poll `state` until the status matches.
wait_status() {
    local id=$1 want=$2 timeout=${3:-10} got=""
    local deadline=$((SECONDS + timeout))
    while ((SECONDS <= deadline)); do
        got=$(state_field "$id" status 2>/dev/null) || got="(state failed)"
        [[ $got == "$want" ]] && return 0
        sleep 0.05
    done
    fail "container $id: status '$got' after ${timeout}s, expected '$want'"
}

# wait_file PATH [TIMEOUT_S]: wait until PATH exists (sockets, pid files).
wait_file() {
    local path=$1 timeout=${2:-10}
    local deadline=$((SECONDS + timeout))
    while ((SECONDS <= deadline)); do
        [[ -e $path ]] && return 0
        sleep 0.02
    done
    fail "$path did not appear within ${timeout}s"
}

pid_alive() { [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; }

ppid_of() { awk '/^PPid:/ {print $2}' "/proc/$1/status" 2>/dev/null; }

# is_ancestor_or_self A B: A is B or one of B's ancestors.
is_ancestor_or_self() {
    local a=$1 p=$2
    while [[ -n $p && $p != 0 ]]; do
        [[ $p == "$a" ]] && return 0
        [[ $p == 1 ]] && return 1
        p=$(ppid_of "$p")
    done
    return 1
}

# Remove a container whatever its state (used by cleanups; never fails).
force_delete() {
    rt kill "$1" KILL >/dev/null 2>&1 || true
    rt delete --force "$1" >/dev/null 2>&1 || true
}

# ---------------------------------------------------------------------------------------------- host leaks

# Cgroup dirs next to our own (siblings of this shell's cgroup) belong to whatever else runs on the machine
# (a sandboxing supervisor, other sessions); a leak check drops them from a list of dirs read on stdin.
drop_sibling_cgroups() {
    local -a parents=() owns=()
    local ctrl path base
    while IFS=: read -r _ ctrl path; do
        [[ $path == / || $path != */* ]] && continue
        ctrl=${ctrl#name=}
        base=/sys/fs/cgroup/${ctrl:-unified}
        [[ -d $base ]] || continue
        parents+=("$base${path%/*}/")
        owns+=("$base$path")
    done </proc/self/cgroup
    local dir i keep
    while read -r dir; do
        keep=1
        for i in "${!parents[@]}"; do
            if [[ $dir == "${parents[i]}"* && $dir != "${owns[i]}" && $dir != "${owns[i]}"/* ]]; then keep=0; fi
        done
        ((keep)) && echo "$dir"
    done
    return 0
}

# A snapshot of everything a container could leak on the host: mounts, cgroup dirs, processes, state dirs.
# snapshot_host FILE-PREFIX writes PREFIX.mounts and PREFIX.cgroups.
snapshot_host() {
    local out=$1
    awk '{print $5, $9, $10}' /proc/self/mountinfo | sort >"$out.mounts"
    find /sys/fs/cgroup -mindepth 1 -type d 2>/dev/null | sort >"$out.cgroups"
}

# Processes naming this run (in their command line or cgroup): the container's, liblxc monitors', stray runtimes'.
run_processes() {
    local p self=$BASHPID
    for p in /proc/[0-9]*; do
        local pid=${p#/proc/}
        [[ $pid == "$$" || $pid == "$self" ]] && continue
        # Our own shells (this test's subshells) run scripts, not containers.
        if tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -q -e "$E2E_PREFIX" -e "$E2E_ROOT" ||
            grep -q "$E2E_PREFIX" "$p/cgroup" 2>/dev/null; then
            local comm
            comm=$(cat "$p/comm" 2>/dev/null) || continue
            [[ $comm == bash ]] && continue
            echo "$pid $comm $(tr '\0' ' ' 2>/dev/null <"$p/cmdline")"
        fi
    done
}

# assert_host_clean PREFIX [ID...]: compared with snapshot PREFIX, no new mounts or cgroup dirs (all of them in
# strict mode, only those naming this run otherwise), no processes of this run, no state dir for the IDs.
assert_host_clean() {
    local before=$1
    shift
    local after="$before.after"
    local id
    for id in "$@"; do
        [[ ! -e $E2E_ROOT/$id ]] || fail "state dir $E2E_ROOT/$id left behind: $(ls -A "$E2E_ROOT/$id")"
    done
    # Give reparented processes a moment to be reaped before looking for leaks.
    local tries=0 procs
    while procs=$(run_processes) && [[ -n $procs ]] && ((tries++ < 50)); do sleep 0.1; done
    [[ -z $procs ]] || fail "processes left behind: $procs"
    snapshot_host "$after"
    local new_mounts new_cgroups
    new_mounts=$(comm -13 "$before.mounts" "$after.mounts")
    new_cgroups=$(comm -13 "$before.cgroups" "$after.cgroups" | drop_sibling_cgroups)
    if [[ $E2E_STRICT != 1 ]]; then
        new_mounts=$(grep -e "$E2E_PREFIX" -e "$E2E_WORK" <<<"$new_mounts" || true)
        new_cgroups=$(grep -e "$E2E_PREFIX" <<<"$new_cgroups" || true)
    fi
    [[ -z $new_mounts ]] || fail "mounts left behind: $new_mounts"
    [[ -z $new_cgroups ]] || fail "cgroup dirs left behind: $new_cgroups"
}

# ---------------------------------------------------------------------------------------------- runner

E2E_PASSED=0
E2E_FAILED=0
E2E_SKIPPED=0
E2E_FAILED_NAMES=()

# Each test runs in a subshell with errexit; exit 0 = pass, 77 = skip, anything else = fail.
# The subshell is started as a background job and waited for: bash ignores `set -e` in every command run on the
# left of `||` or `&&` (subshells included), so `( set -e; test ) || rc=$?` would let failing steps pass.
# inherit_errexit makes steps inside $(...) count too. Whatever containers the test left in the private root are
# force-deleted afterwards.
run_test() {
    local name=$1 log="$E2E_WORK/logs/$1.log"
    mkdir -p "$E2E_WORK/logs"
    local start=$SECONDS rc=0 pid
    (
        set -eEuo pipefail
        shopt -s inherit_errexit
        # A failing step names itself in the log (errexit alone exits silently).
        trap 'echo "FAIL: line $LINENO: \"$BASH_COMMAND\" exited $?" >&2' ERR
        cd "$E2E_WORK"
        "$name"
    ) >"$log" 2>&1 </dev/null &
    pid=$!
    wait "$pid" || rc=$?
    cleanup_root
    local secs=$((SECONDS - start))
    case $rc in
    0)
        E2E_PASSED=$((E2E_PASSED + 1))
        echo "PASS  $name (${secs}s)"
        [[ ${E2E_VERBOSE:-0} == 1 ]] && sed 's/^/      /' "$log"
        ;;
    77)
        E2E_SKIPPED=$((E2E_SKIPPED + 1))
        echo "SKIP  $name: $(grep '^skipped:' "$log" | tail -1 | sed 's/^skipped: //')"
        ;;
    *)
        E2E_FAILED=$((E2E_FAILED + 1))
        E2E_FAILED_NAMES+=("$name")
        echo "FAIL  $name (rc=$rc, ${secs}s)"
        tail -n 25 "$log" | sed 's/^/      /'
        ;;
    esac
    return 0
}

cleanup_root() {
    local id
    for id in $(rt list -q 2>/dev/null); do force_delete "$id"; done
    # A state dir the runtime no longer lists (a broken create) is still ours to report, not to hide.
}

e2e_summary() {
    echo "e2e: $E2E_PASSED passed, $E2E_FAILED failed, $E2E_SKIPPED skipped"
    ((E2E_FAILED == 0))
}

require_root() { [[ $(id -u) == 0 ]] || skip "not root"; }
