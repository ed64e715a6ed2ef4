# shellcheck shell=bash
# The OCI spec honoured end to end: each test runs a container whose config.json uses one part of the spec and
# checks what the process sees. They pass on runc too (RUNTIME=/usr/bin/runc), which keeps them honest.

# spec_run NAME JQ-FILTER ARGS...: a bundle NAME running ARGS with the filter applied; prints the output.
spec_run() {
    local name=$1 filter=$2
    shift 2
    local b
    b=$(bundle "$name" "$@") || fail "bundle $name"
    spec_edit "$b" "$filter"
    rt run --bundle "$b" "$(new_id "$name")" </dev/null 2>&1
}

test_spec_process_user_env_cwd_rlimits() {
    require_root
    local out
    out=$(spec_run proc '.process.user = {uid: 1000, gid: 1000, additionalGids: [2000], umask: 23}
        | .process.env += ["FOO=bar baz"] | .process.cwd = "/tmp"
        | .process.rlimits = [{type: "RLIMIT_NOFILE", hard: 512, soft: 256}]' \
        sh -c 'echo "$(id -u) $(id -g) $(id -G) $(umask) $FOO $(pwd) $(ulimit -n) $(ulimit -Hn)"')
    assert_eq "1000 1000 1000 2000 0027 bar baz /tmp 256 512" "$out" "process settings"
}

test_spec_capabilities_and_no_new_privs() {
    require_root
    local out
    out=$(spec_run caps '.process.capabilities = {bounding: ["CAP_KILL","CAP_CHOWN"], effective: ["CAP_KILL"],
        permitted: ["CAP_KILL"], inheritable: []} | .process.noNewPrivileges = true' \
        sh -c 'grep -E "^(CapEff|CapBnd|NoNewPrivs)" /proc/self/status | tr -s "\t" " "')
    assert_contains "$out" "CapEff: 0000000000000020" "effective = CAP_KILL"
    assert_contains "$out" "CapBnd: 0000000000000021" "bounding = CAP_CHOWN|CAP_KILL"
    assert_contains "$out" "NoNewPrivs: 1" "no_new_privs"
}

test_spec_hostname_readonly_root_masked_paths() {
    require_root
    local out
    out=$(spec_run ro '.hostname = "spec-host" | .root.readonly = true | .linux.maskedPaths = ["/proc/keys", "/sys/firmware"]
        | .linux.readonlyPaths = ["/proc/sys"]' \
        sh -c 'hostname; touch /x 2>/dev/null && echo root-writable || echo root-ro;
               echo 1 > /proc/sys/kernel/domainname 2>/dev/null && echo procsys-writable || echo procsys-ro;
               echo keys=$(wc -c < /proc/keys); echo firmware=$(ls /sys/firmware | wc -l)')
    assert_contains "$out" "spec-host" "hostname"
    assert_contains "$out" "root-ro" "readonly root"
    assert_contains "$out" "procsys-ro" "readonlyPaths"
    assert_contains "$out" "keys=0" "masked file reads empty"
    assert_contains "$out" "firmware=0" "masked dir is empty"
}

test_spec_mounts_tmpfs_and_bind() {
    require_root
    local src="$E2E_WORK/bind-src"
    mkdir -p "$src" && echo from-host >"$src/file"
    local out
    out=$(spec_run mnt ".mounts += [{destination: \"/data\", type: \"bind\", source: \"$src\", options: [\"rbind\",\"ro\"]},
        {destination: \"/scratch\", type: \"tmpfs\", source: \"tmpfs\", options: [\"size=1m\",\"mode=700\"]}]" \
        sh -c 'cat /data/file; touch /data/x 2>/dev/null && echo bind-rw || echo bind-ro;
               stat -c %a /scratch; grep " /scratch " /proc/mounts | cut -d" " -f3')
    assert_eq "from-host
bind-ro
700
tmpfs" "$out" "bind and tmpfs mounts"
    [[ ! -e $src/x ]] || fail "the read-only bind mount was written"
}

test_spec_user_namespace_id_mappings() {
    require_root
    # The mapped root must be able to reach the rootfs (liblxc checks every parent directory for x access).
    chmod o+x "$E2E_WORK" "$E2E_WORK/bundles" "$E2E_ROOT" 2>/dev/null
    local out
    out=$(spec_run userns '.linux.namespaces += [{type: "user"}]
        | .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
        | .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]' \
        sh -c 'id -u; tr -s " " < /proc/self/uid_map')
    assert_eq "0
 0 100000 65536" "$out" "uid map"
}

test_spec_seccomp_errno_and_args() {
    require_root
    local out
    out=$(spec_run seccomp '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64"],
        syscalls: [{names: ["mkdir","mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1}]}' \
        sh -c 'mkdir /tmp/d 2>&1; echo rc=$?')
    assert_contains "$out" "Operation not permitted" "mkdir refused by seccomp"
    assert_contains "$out" "rc=1" "mkdir failed"
}

test_spec_sysctl_and_memory_limit() {
    require_root
    local out
    out=$(spec_run sysctl '.linux.sysctl = {"net.ipv4.ip_forward": "1"} | .linux.resources.memory = {limit: 67108864}
        | .linux.resources.pids = {limit: 64}' \
        sh -c 'cat /proc/sys/net/ipv4/ip_forward; cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null ||
               cat /sys/fs/cgroup/memory.max; cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max')
    assert_eq "1
67108864
64" "$out" "sysctl, memory and pids limits"
}

test_spec_join_network_namespace_by_path() {
    require_root
    command -v ip >/dev/null || skip "iproute2 not installed"
    local ns="${E2E_PREFIX}netns"
    ip netns add "$ns" || fail "ip netns add"
    if ! ip -n "$ns" link add e2edummy0 type veth peer name e2edummy1; then
        ip netns del "$ns"
        fail "add a veth pair in the namespace"
    fi
    local out
    out=$(spec_run netns "(.linux.namespaces[] | select(.type == \"network\")) .path = \"/run/netns/$ns\"" \
        sh -c 'ls /sys/class/net | tr "\n" " "')
    ip netns del "$ns"
    assert_contains "$out" "e2edummy0" "the joined namespace's interface"
}

test_spec_hooks_every_phase_with_state() {
    require_root
    local log="$E2E_WORK/hooks.log"
    : >"$log"
    # Each host-side hook appends "<phase> <status from the state on stdin>" to $log. createContainer runs in the
    # container's mount namespace but, as with runc (before pivot_root), sees the host's paths.
    local h
    h() { jq -n --arg p "$1" --arg log "$log" '{path: "/bin/sh", args: ["sh", "-c", ("read s; echo " + $p + " $(echo \"$s\" | grep -o \"\\\"status\\\":\\\"[a-z]*\\\"\" | cut -d\\\" -f4) >> " + $log)]}'; }
    local b id
    b=$(bundle hooks sh -c 'echo process >> /hooklog') || fail bundle
    id=$(new_id hooks)
    spec_edit "$b" "(.hooks = {prestart: [$(h prestart)], createRuntime: [$(h createRuntime)],
        createContainer: [$(h createContainer)],
        startContainer: [{path: \"/bin/sh\", args: [\"sh\", \"-c\", \"echo startContainer >> /hooklog\"]}],
        poststart: [$(h poststart)], poststop: [$(h poststop)]}) | .root.readonly = false"
    rt run --bundle "$b" "$id" </dev/null || fail "run with hooks"
    # runc 1.1 passes "creating" to the create-phase hooks (this runtime too, test_hooks.sh checks it) and
    # "created" to poststart, where this runtime passes "running".
    assert_eq "prestart CREATE
createRuntime CREATE
createContainer CREATE
poststart STARTED
poststop stopped" "$(sed -E 's/^(prestart|createRuntime|createContainer) (creating|created)$/\1 CREATE/;
        s/^poststart (created|running)$/poststart STARTED/' "$log")" "host-side hooks in order with the state"
    assert_eq "startContainer
process" "$(cat "$b/rootfs/hooklog")" "startContainer runs in the container before the process"
}

test_spec_failing_prestart_hook_leaves_nothing() {
    require_root
    snapshot_host "$E2E_WORK/hookfail-host"
    local b id
    b=$(bundle hookfail true) || fail bundle
    id=$(new_id hookfail)
    spec_edit "$b" '.hooks.prestart = [{path: "/bin/false"}]'
    assert_fails_with "hook" rt create --bundle "$b" "$id"
    assert_fails_with "does not exist" rt state "$id"
    assert_host_clean "$E2E_WORK/hookfail-host"
}

# linux.resources.devices is enforced exactly as written: a node the spec creates (linux.devices) is not allowed
# for that alone, so a deny rule for it holds (runc's way); an allow rule opens it; "rwa" is taken as runc does.
test_spec_device_rules_as_written() {
    require_root
    local b out
    b=$(bundle devrules sh -c 'echo lxcri-device-rule-test >/dev/kmsg && echo WRITE-OK || echo WRITE-DENIED')
    spec_edit "$b" '.linux.devices = [{"path":"/dev/kmsg","type":"c","major":1,"minor":11,"fileMode":420,"uid":0,"gid":0}] |
        .linux.resources.devices = [{"allow":false,"access":"rwm"},{"allow":false,"type":"c","major":1,"minor":11,"access":"rwm"}]'
    out=$(rt run --bundle "$b" "$(new_id devrules1)" 2>/dev/null)
    assert_eq WRITE-DENIED "$out" "write to a denied node from linux.devices"
    spec_edit "$b" '.linux.resources.devices = [{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"minor":11,"access":"rwa"}]'
    out=$(rt run --bundle "$b" "$(new_id devrules2)" 2>/dev/null)
    assert_eq WRITE-OK "$out" "write to a node allowed with \"rwa\""
}

# refused_with WORDS VERB NAME [JQ]: VERB (create or run) of a bundle NAME (busybox `true`, edited with JQ) fails
# saying WORDS, and no container is left.
refused_with() {
    local words=$1 verb=$2 name=$3 b id
    b=$(bundle "$name" true)
    [[ -z ${4:-} ]] || spec_edit "$b" "$4"
    id=$(new_id "$name")
    assert_fails_with "$words" rt "$verb" --bundle "$b" "$id"
    assert_fails_with "does not exist" rt state "$id"
}

# What runc refuses at create is refused at create, not after start with exit 127: a missing executable (in
# $PATH, or a relative path) and an rlimit the host does not allow; nothing is left.
test_spec_create_time_errors() {
    require_root
    refused_with 'executable file not found in $PATH' create cterr1 '.process.args = ["nonexistent-cmd"]'
    refused_with "stat ./rel/x" create cterr2 '.process.args = ["./rel/x"]'
    refused_with "rlimit" create cterr3 \
        '.process.rlimits = [{"type":"RLIMIT_NOFILE","hard":999999999,"soft":999999999}]'
}

# linux.resources.unified needs cgroup v2: on a v1 or hybrid host runc refuses it at create, and so does this
# runtime (it used to write the keys into the hybrid cgroup2 mount, which holds none of the v1 controllers).
test_spec_unified_resources_need_cgroup2() {
    require_root
    [[ -d /sys/fs/cgroup/unified || -d /sys/fs/cgroup/memory ]] || skip "no v1 hierarchies on this host"
    refused_with "cannot use unified on cgroup v1" run unified '.linux.resources.unified = {"pids.max": "10"}'
}

# blockIO.weight lands in blkio.bfq.weight where the kernel has only that file (as on this host), as runc does.
test_spec_blkio_weight() {
    require_root
    [[ -f /sys/fs/cgroup/blkio/cgroup.procs ]] || skip "no v1 hierarchies on this host"
    local b f out
    f=blkio.weight
    [[ -f /sys/fs/cgroup/blkio/blkio.weight ]] || f=blkio.bfq.weight
    [[ -f /sys/fs/cgroup/blkio/$f ]] || skip "no blkio weight file in this kernel (neither CFQ nor BFQ)"
    b=$(bundle blkiow cat "/sys/fs/cgroup/blkio/$f")
    spec_edit "$b" '.linux.resources.blockIO = {"weight": 500} |
        .mounts += [{"destination":"/sys/fs/cgroup","type":"cgroup","source":"cgroup","options":["ro"]}]'
    out=$(rt run --bundle "$b" "$(new_id blkiow)")
    assert_eq 500 "$(awk '{print $NF}' <<<"$out" | head -1)" "$f in the container's cgroup"
}
