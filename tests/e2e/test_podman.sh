# shellcheck shell=bash
# podman (with conmon) driving the runtime: private containers.conf and storage, image imported from busybox.

# The busybox rootfs as a tar stream (the image podman and containerd import).
busybox_rootfs_tar() {
    local t
    t=$(busybox_template) || return 1
    tar --numeric-owner -C "$t" -cf - .
}

# rmdir_new_cgroup_parents SNAPSHOT NAME: remove empty cgroup dirs called NAME that a client created as a
# parent of its containers (podman's libpod_parent, a containerd namespace) and that SNAPSHOT did not have.
rmdir_new_cgroup_parents() {
    local snap=$1 name=$2 d
    while read -r d; do
        grep -qxF "$d" "$snap.cgroups" && continue
        # A client's last processes may take a moment to leave it; then it must go (a leak fails the test).
        local tries=0
        until rmdir "$d" 2>/dev/null; do
            ((tries++ < 50)) ||
                fail "cgroup $d left behind, not removable: $(tr '\n' ' ' 2>/dev/null <"$d/cgroup.procs")"
            sleep 0.1
        done
    done < <(find /sys/fs/cgroup/*/"$name" -depth -type d 2>/dev/null)
}

test_podman_run_exec_stop() {
    require_root
    local d="$E2E_WORK/podman" pm
    podman_private "$d"
    snapshot_host "$E2E_WORK/podman"
    podman_cleanup() {
        "${pm[@]}" rm -af -t 0 >/dev/null 2>&1 || true
        "${pm[@]}" rmi -af >/dev/null 2>&1 || true
        rmdir_new_cgroup_parents "$E2E_WORK/podman" libpod_parent
    }
    trap podman_cleanup EXIT

    busybox_rootfs_tar | "${pm[@]}" import - localhost/busybox >/dev/null
    local out rc=0
    out=$("${pm[@]}" run --rm localhost/busybox echo hi)
    assert_eq hi "$out" "podman run output"

    "${pm[@]}" run --rm localhost/busybox sh -c 'exit 5' || rc=$?
    assert_eq 5 "$rc" "podman run exit code"

    local name
    name=$(new_id podman)
    "${pm[@]}" run -d --name "$name" localhost/busybox sleep 100 >/dev/null
    assert_eq running "$("${pm[@]}" inspect -f '{{.State.Status}}' "$name")" "podman inspect status"
    out=$("${pm[@]}" exec "$name" echo from-exec)
    assert_eq from-exec "$out" "podman exec output"
    rc=0
    "${pm[@]}" exec "$name" sh -c 'exit 6' || rc=$?
    assert_eq 6 "$rc" "podman exec exit code"
    # State.Pid is the container's init (conmon reads it from the pid file): podman top lists the
    # container's processes through it, and nsenter -t enters the container.
    local pid
    pid=$("${pm[@]}" inspect -f '{{.State.Pid}}' "$name")
    [[ $(readlink "/proc/$pid/ns/pid") != "$(readlink /proc/self/ns/pid)" ]] ||
        fail "podman's State.Pid $pid is in the host's pid namespace"
    out=$("${pm[@]}" top "$name" args)
    echo "podman top: $out"
    assert_eq "COMMAND"$'\n'"sleep 100" "$(sed 's/ *$//' <<<"$out")" "podman top of the container"
    out=$(nsenter -t "$pid" -m -u hostname)
    assert_eq "$("${pm[@]}" inspect -f '{{.Config.Hostname}}' "$name")" "$out" "hostname through nsenter -t State.Pid"
    # sleep is PID 1 and ignores SIGTERM: stop ends it with SIGKILL after the timeout (exit code 137).
    "${pm[@]}" stop -t 1 "$name" >/dev/null
    assert_eq exited "$("${pm[@]}" inspect -f '{{.State.Status}}' "$name")" "status after podman stop"
    assert_eq 137 "$("${pm[@]}" inspect -f '{{.State.ExitCode}}' "$name")" "exit code after podman stop"
    "${pm[@]}" rm "$name" >/dev/null

    # OOM: a 100 MB shell variable under a 32 MiB limit is killed (137). podman 4.3's State.OOMKilled stays
    # false on this hybrid-cgroup host with runc too (conmon's v1 OOM watch); containerd's test checks the
    # OOM event that its shim reads from the pid file's memory cgroup.
    rc=0
    "${pm[@]}" run --rm --memory 32m --memory-swap 32m localhost/busybox \
        sh -c 'x=$(head -c 100000000 /dev/zero | tr "\0" a); echo "${#x}"' || rc=$?
    assert_eq 137 "$rc" "podman run exit code of an OOM-killed container"

    # run -t: conmon passes a console socket; nothing may hold conmon's pipes to the runtime afterwards.
    rc=0
    out=$(timeout 60 script -qec "$(printf '%q ' "${pm[@]}") run -t --rm localhost/busybox sh -c 'test -t 1 && echo tty-hi'" /dev/null) || rc=$?
    assert_eq 0 "$rc" "podman run -t (124: hung)"
    assert_contains "$(tr -d '\r' <<<"$out")" tty-hi "podman run -t output"
    assert_eq "" "$("${pm[@]}" ps -aq)" "podman ps -aq after rm"

    podman_cleanup
    trap - EXIT
    assert_host_clean "$E2E_WORK/podman"
    local leftover
    leftover=$(grep -F "$d" /proc/self/mountinfo || true)
    [[ -z $leftover ]] || fail "podman mounts left: $leftover"
}
