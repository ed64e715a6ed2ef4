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
    command -v podman >/dev/null || skip "podman not installed"
    command -v conmon >/dev/null || skip "conmon not installed"
    local d="$E2E_WORK/podman"
    mkdir -p "$d/tmp"
    write_containers_conf "$d/containers.conf"
    export CONTAINERS_CONF="$d/containers.conf"
    local pm=(podman --root "$d/root" --runroot "$d/runroot" --storage-driver vfs --tmpdir "$d/tmp"
        --runtime "$RUNTIME")
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
    "${pm[@]}" stop -t 1 "$name" >/dev/null
    assert_eq exited "$("${pm[@]}" inspect -f '{{.State.Status}}' "$name")" "status after podman stop"
    "${pm[@]}" rm "$name" >/dev/null
    assert_eq "" "$("${pm[@]}" ps -aq)" "podman ps -aq after rm"

    podman_cleanup
    trap - EXIT
    assert_host_clean "$E2E_WORK/podman"
    local leftover
    leftover=$(grep -F "$d" /proc/self/mountinfo || true)
    [[ -z $leftover ]] || fail "podman mounts left: $leftover"
}
