# shellcheck shell=bash
# Ownership: create records what it makes; a failed create, delete and delete --force undo exactly that.
# And the config is the one captured at create: editing the bundle afterwards changes nothing.

# runc and crun kill every process of the container's cgroup at delete, also when that cgroup was shared or
# existed before (by design); this runtime kills and removes only what its own create made.
owner_only_ours() {
    case $(basename "$RUNTIME") in
    runc | crun) skip "$(basename "$RUNTIME") signals every process of a shared cgroup by design" ;;
    esac
}

# owner_host_cgroup NAME: a cgroup NAME in every hierarchy (v1 controllers, named, cgroup2) with one host
# process in it; prints the process's pid. owner_host_cgroup_dirs NAME lists the directories.
owner_host_cgroup_dirs() {
    local name=$1 h
    for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
        [[ -f $h/cgroup.procs ]] || continue
        [[ $h == /sys/fs/cgroup/ && -d /sys/fs/cgroup/unified ]] && continue # hybrid: cgroup2 is unified/
        echo "${h%/}/$name"
    done
}
owner_host_cgroup() {
    local name=$1 d f
    sleep 1000 </dev/null >/dev/null 2>&1 &
    local pid=$!
    for d in $(owner_host_cgroup_dirs "$name"); do
        mkdir -p "$d"
        # A v1 cpuset takes no task before it has cpus and mems.
        if [[ -f $d/cpuset.cpus ]]; then
            for f in cpuset.cpus cpuset.mems; do cat "${d%/*}/$f" >"$d/$f"; done
        fi
        if ! echo "$pid" >"$d/cgroup.procs"; then
            owner_remove_host_cgroup "$name" "$pid"
            fail "move $pid into $d"
        fi
    done
    echo "$pid"
}
owner_assert_host_cgroup_intact() { # NAME PID
    local name=$1 pid=$2 d
    pid_alive "$pid" || fail "the host process $pid in the pre-existing cgroup was killed"
    for d in $(owner_host_cgroup_dirs "$name"); do
        [[ -d $d ]] || fail "the pre-existing cgroup $d was removed"
        grep -qx "$pid" "$d/cgroup.procs" || fail "the host process left $d"
    done
}
owner_remove_host_cgroup() { # NAME PID
    local name=$1 pid=$2 d
    kill "$pid" 2>/dev/null || true
    while pid_alive "$pid"; do sleep 0.02; done
    for d in $(owner_host_cgroup_dirs "$name"); do rmdir "$d" 2>/dev/null || true; done
}

# A cgroupsPath naming an existing cgroup with a host process: a create that fails (here: a failing hook
# after the container exists) and delete --force kill nothing of it and remove nothing of it.
test_owner_existing_cgroup_is_not_killed_or_removed() {
    require_root
    owner_only_ours
    local name="${E2E_PREFIX}-hostcg" b id pid
    pid=$(owner_host_cgroup "$name")
    b=$(bundle ownercg sleep 100) || fail bundle
    id=$(new_id ownercg)
    spec_edit "$b" ".linux.cgroupsPath = \"/$name\" | .hooks.createRuntime = [{path: \"/bin/false\"}]"
    rt create --bundle "$b" "$id" && fail "create with a failing createRuntime hook succeeded"
    owner_assert_host_cgroup_intact "$name" "$pid"
    # runc joins an existing cgroup: so does this runtime, in every hierarchy (liblxc must make the container's
    # directory itself, so the container is in a new child of it, inside its limits).
    spec_edit "$b" 'del(.hooks)'
    rt create --bundle "$b" "$id" </dev/null >/dev/null || fail "create in the existing cgroup /$name"
    local init line n=0
    init=$(state_field "$id" pid)
    while IFS=: read -r _ ctrl path; do
        [[ $path == "/$name" || $path == "/$name/"* ]] || fail "init's cgroup ($ctrl) is $path, not in /$name"
        n=$((n + 1))
    done <"/proc/$init/cgroup"
    ((n > 0)) || fail "no cgroups read for $init"
    rt delete --force "$id" || fail "delete --force"
    owner_assert_host_cgroup_intact "$name" "$pid"
    local left
    left=$(find /sys/fs/cgroup/*/"$name" /sys/fs/cgroup/"$name" -mindepth 1 -type d 2>/dev/null || true)
    [[ -z $left ]] || fail "cgroups the container made are left in /$name: $left"
    owner_remove_host_cgroup "$name" "$pid"
}

# A frozen existing cgroup is refused (runc: "cannot create a container in a frozen cgroup"), and nothing of it
# is touched.
test_owner_frozen_existing_cgroup_is_refused() {
    require_root
    owner_only_ours
    local name="${E2E_PREFIX}-icecg" b id pid d
    pid=$(owner_host_cgroup "$name")
    d=$(owner_host_cgroup_dirs "$name" | grep -E '/freezer/|/unified/' | head -1)
    if [[ $d == */freezer/* ]]; then echo FROZEN >"$d/freezer.state"; else echo 1 >"$d/cgroup.freeze"; fi
    b=$(bundle frozencg sleep 100) || fail bundle
    id=$(new_id frozencg)
    spec_edit "$b" ".linux.cgroupsPath = \"/$name\""
    assert_fails_with "is frozen" rt create --bundle "$b" "$id"
    assert_fails_with "does not exist" rt state "$id"
    if [[ $d == */freezer/* ]]; then echo THAWED >"$d/freezer.state"; else echo 0 >"$d/cgroup.freeze"; fi
    owner_assert_host_cgroup_intact "$name" "$pid"
    owner_remove_host_cgroup "$name" "$pid"
}

# The same id under two state roots: two containers, two cgroups (the default cgroup path depends on the
# root); deleting one leaves the other running.
test_owner_same_id_two_roots() {
    require_root
    case $(basename "$RUNTIME") in
    runc | crun) skip "reference runtime: $(basename "$RUNTIME")'s default cgroup is the id alone, shared by every root" ;;
    esac
    local b1 b2 id root2 pid1 pid2
    b1=$(bundle tworoot1 sleep 100) || fail bundle
    b2=$(bundle tworoot2 sleep 100) || fail bundle
    id=$(new_id tworoots)
    root2="$E2E_WORK/root2"
    mkdir -p "$root2"
    rt run -d --bundle "$b1" "$id" </dev/null >/dev/null || fail "run under the first root"
    "$RUNTIME" --root "$root2" run -d --bundle "$b2" "$id" </dev/null >/dev/null || fail "run under the second root"
    pid1=$(state_field "$id" pid)
    pid2=$("$RUNTIME" --root "$root2" state "$id" | jq -r .pid)
    [[ $(grep memory "/proc/$pid1/cgroup") != "$(grep memory "/proc/$pid2/cgroup")" ]] ||
        fail "both containers share the cgroup $(grep memory "/proc/$pid1/cgroup")"
    "$RUNTIME" --root "$root2" delete --force "$id" || fail "delete under the second root"
    assert_eq running "$(state_field "$id" status)" "the first root's container after the second's delete"
    pid_alive "$pid1" || fail "the first root's init $pid1 was killed"
    rt delete --force "$id" || fail "delete under the first root"
}

# Two containers given the same cgroupsPath: whatever happens to the second, the first keeps running.
test_owner_shared_cgroups_path_keeps_first_container() {
    require_root
    owner_only_ours
    local b1 b2 a bb path="/${E2E_PREFIX}-shared" pid
    b1=$(bundle shared1 sleep 100) || fail bundle
    b2=$(bundle shared2 sleep 100) || fail bundle
    spec_edit "$b1" ".linux.cgroupsPath = \"$path\""
    spec_edit "$b2" ".linux.cgroupsPath = \"$path\""
    a=$(new_id shared1)
    bb=$(new_id shared2)
    rt run -d --bundle "$b1" "$a" </dev/null >/dev/null || fail "run the first container"
    wait_status "$a" running
    pid=$(state_field "$a" pid)
    rt create --bundle "$b2" "$bb" </dev/null >/dev/null 2>&1 || echo "second create refused"
    rt delete --force "$bb" || fail "delete --force of the second container"
    assert_eq running "$(state_field "$a" status)" "first container after the second's delete --force"
    pid_alive "$pid" || fail "the first container's init $pid was killed"
    rt delete --force "$a" || fail "delete the first container"
}

# start, exec and the poststop hooks use the config as it was at create (runc keeps it in its state).
test_owner_config_captured_at_create() {
    require_root
    local b id mark="$E2E_WORK/captured-poststop"
    b=$(bundle captured sh -c 'echo "$MSG" >/out; exec sleep 100') || fail bundle
    id=$(new_id captured)
    rm -f "$mark"
    spec_edit "$b" ".root.readonly = false | .process.env += [\"MSG=original\"] |
        .hooks.poststop = [{path: \"/bin/sh\", args: [\"sh\", \"-c\", \"echo ran >$mark\"]}]"
    rt create --bundle "$b" "$id" </dev/null >/dev/null || fail create
    # Rewrite the bundle's config after create: other args, env and hooks.
    spec_edit "$b" '.process.args = ["sh", "-c", "echo edited >/out; exec sleep 100"] |
        .process.env = [.process.env[] | sub("MSG=original"; "MSG=changed")] | del(.hooks)'
    rt start "$id" || fail start
    wait_file "$b/rootfs/out"
    local tries=0
    while [[ ! -s $b/rootfs/out ]] && ((tries++ < 100)); do sleep 0.02; done
    assert_eq original "$(cat "$b/rootfs/out")" "the process started from the captured config"
    # runc 1.1 builds exec's process from the bundle's current config.json (exec.go loadSpec), so it sees the
    # edit; this runtime keeps to the config captured at create, as it does for start.
    local want=original
    [[ $(basename "$RUNTIME") == runc ]] && want=changed
    assert_eq "$want" "$(rt exec "$id" sh -c 'echo "$MSG"')" "exec's environment"
    rt kill "$id" KILL || fail kill
    wait_status "$id" stopped
    rt delete "$id" || fail delete
    assert_eq ran "$(cat "$mark" 2>/dev/null)" "poststop hook from the captured config"
}
