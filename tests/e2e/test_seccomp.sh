# shellcheck shell=bash
# Seccomp user notification (linux.seccomp.listenerPath, the runtime-spec's seccomp agent protocol): the notify fd
# of the container's init (run, create/start) and of an exec'd process goes to a small agent
# (tests/e2e/seccompagent.c) with the ContainerProcessState, and the agent's answers are what the process sees.

# The profile: mkdir and mkdirat notify the agent on $1, everything else is allowed.
notify_profile() {
    echo ".root.readonly = false | .linux.seccomp = {defaultAction: \"SCMP_ACT_ALLOW\",
        architectures: [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\"],
        listenerPath: \"$1\", listenerMetadata: \"meta-$2\",
        syscalls: [{names: [\"mkdir\", \"mkdirat\"], action: \"SCMP_ACT_NOTIFY\"}]}"
}

# What the container runs: the agent makes agent-ok "succeed" without making it, agent-errno fail with EXDEV,
# and lets the kernel make anything else.
NOTIFY_SCRIPT='mkdir /tmp/agent-ok; echo ok=$?; test -d /tmp/agent-ok || echo ok-not-made
mkdir /tmp/agent-errno 2>&1; echo errno=$?
mkdir /tmp/plain; test -d /tmp/plain && echo plain-made'

# agent_start NAME COUNT: the agent on $E2E_WORK/NAME.agent (AGENT_SOCK, pid AGENT_PID) for COUNT processes;
# its output in $E2E_WORK/NAME.agent.out.
agent_start() {
    AGENT_SOCK="$E2E_WORK/$1.agent"
    SECCOMPAGENT_TIMEOUT=30 "$(helper seccompagent)" "$AGENT_SOCK" "$2" >"$E2E_WORK/$1.agent.out" \
        2>"$E2E_WORK/$1.agent.err" &
    AGENT_PID=$!
    wait_file "$AGENT_SOCK"
}

# agent_wait NAME: the agent's exit code must be 0 (not in a subshell: the agent is this shell's child); its
# output is in AGENT_OUT.
agent_wait() {
    local rc=0
    wait "$AGENT_PID" || rc=$?
    cat "$E2E_WORK/$1.agent.err" >&2
    assert_eq 0 "$rc" "seccomp agent exit code"
    AGENT_OUT=$(cat "$E2E_WORK/$1.agent.out")
    echo "$AGENT_OUT"
}

# served OUT: the container's output shows the agent's answer, or the agent (never connected) is stopped and
# the test fails at once.
served() {
    [[ $1 == *ok=0* ]] && return 0
    kill "$AGENT_PID" 2>/dev/null
    wait "$AGENT_PID" 2>/dev/null || true
    fail "the agent did not answer: $1"
}

# check_state LINE ID STATUS PID STATE_PID META: the ContainerProcessState the agent got.
check_state() {
    local json=${1#state } id=$2 status=$3 pid=$4 state_pid=$5 meta=$6
    assert_eq '["seccompFd"]' "$(jq -c .fds <<<"$json")" "fds"
    assert_eq "$meta" "$(jq -r .metadata <<<"$json")" "metadata"
    assert_eq "$id" "$(jq -r .state.id <<<"$json")" "state.id"
    assert_eq "$status" "$(jq -r .state.status <<<"$json")" "state.status"
    [[ $(jq -r .ociVersion <<<"$json") == 1.* ]] || fail "ociVersion: $json"
    [[ $(jq -r .state.bundle <<<"$json") == /* ]] || fail "state.bundle: $json"
    if [[ $pid == any ]]; then
        (($(jq -r .pid <<<"$json") > 0)) || fail "pid: $json"
    else
        assert_eq "$pid" "$(jq -r .pid <<<"$json")" "pid"
    fi
    assert_eq "$state_pid" "$(jq -r .state.pid <<<"$json")" "state.pid"
}

check_answers() {
    local out=$1 agent=$2
    assert_contains "$out" "ok=0" "mkdir answered with success"
    assert_contains "$out" "ok-not-made" "the agent made nothing"
    assert_contains "$out" "Invalid cross-device link" "mkdir answered with EXDEV"
    assert_contains "$out" "errno=1" "mkdir failed"
    assert_contains "$out" "plain-made" "mkdir carried out by the kernel"
    assert_contains "$agent" "/tmp/agent-ok ok" "agent saw agent-ok"
    assert_contains "$agent" "/tmp/agent-errno errno" "agent saw agent-errno"
    assert_contains "$agent" "/tmp/plain continue" "agent saw plain"
}

# run in the foreground, noNewPrivileges true (runc spec's default): the init's fd and state ("creating").
test_seccomp_notify_run() {
    require_root
    local id b out agent
    id=$(new_id scnrun)
    b=$(bundle scnrun sh -c "$NOTIFY_SCRIPT")
    agent_start scnrun 1
    spec_edit "$b" "$(notify_profile "$AGENT_SOCK" run)"
    out=$(rt run --bundle "$b" "$id" </dev/null 2>&1) || { kill "$AGENT_PID"; fail "run: $out"; }
    echo "$out"
    served "$out"
    agent_wait scnrun
    agent=$AGENT_OUT
    check_answers "$out" "$agent"
    local state
    state=$(grep '^state ' <<<"$agent")
    assert_eq 1 "$(grep -c . <<<"$state")" "one state message"
    check_state "$state" "$id" creating any "$(jq -r .pid <<<"${state#state }")" meta-run
}

# create/start, noNewPrivileges false (the filter is loaded while the init still has CAP_SYS_ADMIN): the pid
# is the container's init, the one `state` reports; a startContainer hook runs under the filter.
test_seccomp_notify_create_start_privileged() {
    require_root
    local id b out agent pid
    id=$(new_id scnpriv)
    b=$(bundle scnpriv sh -c "$NOTIFY_SCRIPT")
    agent_start scnpriv 1
    spec_edit "$b" "$(notify_profile "$AGENT_SOCK" priv) | .process.noNewPrivileges = false
        | .hooks.startContainer = [{path: \"/bin/mkdir\", args: [\"mkdir\", \"/tmp/hook/agent-ok\"]}]"
    rt create --bundle "$b" "$id" </dev/null >"$E2E_WORK/scnpriv.out" 2>&1 || fail "create: $(cat "$E2E_WORK/scnpriv.out")"
    pid=$(state_field "$id" pid)
    rt start "$id"
    wait_status "$id" stopped
    out=$(cat "$E2E_WORK/scnpriv.out")
    echo "$out"
    rt delete "$id"
    served "$out"
    agent_wait scnpriv
    agent=$AGENT_OUT
    check_answers "$out" "$agent"
    # The hook's mkdir went to the agent too: the filter was loaded before the startContainer hooks ran.
    assert_contains "$agent" "/tmp/hook/agent-ok ok" "startContainer hook under the filter"
    check_state "$(grep '^state ' <<<"$agent")" "$id" creating "$pid" "$pid" meta-priv
}

# exec_notify NAME NNP: an exec'd process with the container's profile; the agent serves the init (which makes
# no directory) and the exec'd process, whose state is "running" with the init's pid.
exec_notify() {
    local name=$1 nnp=$2 id b out agent pid
    id=$(new_id "$name")
    b=$(bundle "$name" sleep 100)
    agent_start "$name" 2
    spec_edit "$b" "$(notify_profile "$AGENT_SOCK" "$name") | .process.noNewPrivileges = $nnp"
    rt run -d --bundle "$b" "$id" </dev/null >/dev/null 2>&1 || { kill "$AGENT_PID"; fail "run -d"; }
    pid=$(state_field "$id" pid)
    out=$(rt exec "$id" sh -c "$NOTIFY_SCRIPT" 2>&1) || { kill "$AGENT_PID"; fail "exec: $out"; }
    echo "$out"
    rt kill "$id" KILL
    wait_status "$id" stopped
    rt delete "$id"
    served "$out"
    agent_wait "$name"
    agent=$AGENT_OUT
    check_answers "$out" "$agent"
    local states
    states=$(grep '^state ' <<<"$agent")
    assert_eq 2 "$(grep -c . <<<"$states")" "two state messages (init, exec)"
    check_state "$(head -1 <<<"$states")" "$id" creating "$pid" "$pid" "meta-$name"
    local exec_state
    exec_state=$(tail -1 <<<"$states")
    check_state "$exec_state" "$id" running any "$pid" "meta-$name"
    [[ $(jq -r .pid <<<"${exec_state#state }") != "$pid" ]] || fail "exec's pid is the init's: $exec_state"
}

test_seccomp_notify_exec() {
    require_root
    exec_notify scnexec true
}

test_seccomp_notify_exec_privileged() {
    require_root
    exec_notify scnexecp false
}

# A notify profile whose agent is not listening: the process does not run unfiltered.
test_seccomp_notify_no_agent() {
    require_root
    local id b
    id=$(new_id scnnone)
    b=$(bundle scnnone echo SHOULD-NOT-RUN)
    spec_edit "$b" "$(notify_profile "$E2E_WORK/no-such-agent.sock" none)"
    local out rc=0
    out=$(rt run --bundle "$b" "$id" </dev/null 2>&1) || rc=$?
    echo "$out"
    ((rc != 0)) || fail "run succeeded without an agent"
    [[ $out != *SHOULD-NOT-RUN* ]] || fail "the process ran without its agent"
    assert_contains "$out" "seccomp agent" "the error names the agent"
    force_delete "$id"
}

# refused_at_create WORDS NAME FILTER: create must fail saying WORDS and leave nothing. Its output goes to a file:
# a created init would hold a captured pipe open.
refused_at_create() {
    local words=$1 name=$2 filter=$3 b id rc=0
    b=$(bundle "$name" true)
    spec_edit "$b" "$filter"
    id=$(new_id "$name")
    rt create --bundle "$b" "$id" </dev/null >"$E2E_WORK/$name.out" 2>&1 || rc=$?
    local out
    out=$(cat "$E2E_WORK/$name.out")
    if ((rc == 0)); then
        force_delete "$id"
        fail "create succeeded, expected a failure ($words): $out"
    fi
    assert_contains "$out" "$words" "create's error"
    assert_fails_with "does not exist" rt state "$id"
}

# What runc's init refuses while it builds the filter at create is refused at create, with runc's words, and
# nothing is left: write cannot notify (the fd's number is handed over with write), notify needs listenerPath.
test_seccomp_notify_refused_at_create() {
    require_root
    refused_at_create "SCMP_ACT_NOTIFY cannot be used for the write syscall" scnwrite \
        "$(notify_profile /run/agent.sock write) | .linux.seccomp.syscalls[0].names += [\"write\"]"
    refused_at_create "listenerPath is not set" scnnopath \
        "$(notify_profile /run/agent.sock nopath) | del(.linux.seccomp.listenerPath)"
    refused_at_create "SCMP_ACT_NOTIFY cannot be used as default action" scndefault \
        "$(notify_profile /run/agent.sock default) | .linux.seccomp.defaultAction = \"SCMP_ACT_NOTIFY\""
}
