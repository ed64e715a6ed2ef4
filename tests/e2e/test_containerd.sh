# shellcheck shell=bash
# containerd 1.6 + containerd-shim-runc-v2 driving the runtime through `ctr run --runc-binary`.

# write_oci_archive OUT NAME: the busybox rootfs as an OCI image layout (one gzip layer) written by hand and
# tarred to OUT; the image is called NAME (io.containerd.image.name) with ref name "latest".
write_oci_archive() {
    local out=$1 name=$2
    local d
    d=$(mktemp -d "$E2E_WORK/oci.XXXXXX")
    mkdir -p "$d/blobs/sha256"
    busybox_rootfs_tar >"$d/layer.tar"
    local diff_id
    diff_id=$(sha256sum "$d/layer.tar" | cut -d' ' -f1)
    gzip -n -c "$d/layer.tar" >"$d/layer.tar.gz"
    local layer_digest layer_size
    layer_digest=$(sha256sum "$d/layer.tar.gz" | cut -d' ' -f1)
    layer_size=$(stat -c %s "$d/layer.tar.gz")
    mv "$d/layer.tar.gz" "$d/blobs/sha256/$layer_digest"
    rm "$d/layer.tar"

    jq -cn --arg diff "sha256:$diff_id" '{
        architecture: "amd64", os: "linux",
        config: {Env: ["PATH=/bin"], Cmd: ["sh"], WorkingDir: "/"},
        rootfs: {type: "layers", diff_ids: [$diff]},
        history: [{created_by: "tests/e2e write_oci_archive"}]}' >"$d/config.json"
    local config_digest config_size
    config_digest=$(sha256sum "$d/config.json" | cut -d' ' -f1)
    config_size=$(stat -c %s "$d/config.json")
    mv "$d/config.json" "$d/blobs/sha256/$config_digest"

    jq -cn --arg cd "sha256:$config_digest" --argjson cs "$config_size" \
        --arg ld "sha256:$layer_digest" --argjson ls "$layer_size" '{
        schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $cd, size: $cs},
        layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $ld, size: $ls}]}' \
        >"$d/manifest.json"
    local manifest_digest manifest_size
    manifest_digest=$(sha256sum "$d/manifest.json" | cut -d' ' -f1)
    manifest_size=$(stat -c %s "$d/manifest.json")
    mv "$d/manifest.json" "$d/blobs/sha256/$manifest_digest"

    jq -cn --arg md "sha256:$manifest_digest" --argjson ms "$manifest_size" --arg name "$name" '{
        schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $md, size: $ms,
                     platform: {architecture: "amd64", os: "linux"},
                     annotations: {"io.containerd.image.name": $name, "org.opencontainers.image.ref.name": "latest"}}]}' \
        >"$d/index.json"
    echo '{"imageLayoutVersion":"1.0.0"}' >"$d/oci-layout"
    tar -C "$d" -cf "$out" oci-layout index.json blobs
    rm -rf "$d"
}

# Start a private containerd (own root, state, sockets; CRI disabled) and wait for its socket.
start_containerd() {
    local d=$1
    mkdir -p "$d/root" "$d/state" "$d/opt"
    cat >"$d/config.toml" <<EOF
version = 2
root = "$d/root"
state = "$d/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "$d/c.sock"

[ttrpc]
  address = "$d/c.sock.ttrpc"

[debug]
  address = "$d/debug.sock"

[plugins."io.containerd.internal.v1.opt"]
  path = "$d/opt"
EOF
    containerd --config "$d/config.toml" >"$d/containerd.log" 2>&1 &
    echo $! >"$d/containerd.pid"
    local deadline=$((SECONDS + 30))
    until ctr -a "$d/c.sock" version >/dev/null 2>&1; do
        pid_alive "$(cat "$d/containerd.pid")" || fail "containerd died: $(tail -20 "$d/containerd.log")"
        ((SECONDS < deadline)) || fail "containerd socket not ready after 30s: $(tail -20 "$d/containerd.log")"
        sleep 0.1
    done
}

stop_containerd() {
    local d=$1 pid
    pid=$(cat "$d/containerd.pid" 2>/dev/null) || return 0
    kill "$pid" 2>/dev/null || true
    local _
    for _ in $(seq 100); do
        pid_alive "$pid" || break
        sleep 0.1
    done
    pid_alive "$pid" && kill -9 "$pid" 2>/dev/null
    # The snapshotter's mounts of a crashed run, if any.
    grep -F " $d/" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
}

# ctr_remove_everything: in a test's cleanup, every task of the namespace "${c[@]}" (the test's ctr command)
# killed and deleted and every container removed, whatever state they are in.
ctr_remove_everything() {
    local t
    for t in $("${c[@]}" task ls -q 2>/dev/null); do "${c[@]}" task kill -s KILL "$t" >/dev/null 2>&1 || true; done
    sleep 0.2
    for t in $("${c[@]}" task ls -q 2>/dev/null); do "${c[@]}" task delete -f "$t" >/dev/null 2>&1 || true; done
    for t in $("${c[@]}" c ls -q 2>/dev/null); do "${c[@]}" c rm "$t" >/dev/null 2>&1 || true; done
}

# ctr_kill_and_remove TASK (with c=(ctr ...) set): SIGKILL, wait for STOPPED, delete the task and container.
ctr_kill_and_remove() {
    local t=$1 deadline=$((SECONDS + 10))
    "${c[@]}" task kill -s SIGKILL "$t"
    until "${c[@]}" task ls | grep -Eq "^$t +[0-9]+ +STOPPED"; do
        ((SECONDS < deadline)) || fail "task $t not STOPPED after kill: $("${c[@]}" task ls)"
        sleep 0.1
    done
    "${c[@]}" task delete "$t" >/dev/null
    "${c[@]}" c rm "$t"
}

test_containerd_ctr_run_and_task() {
    require_root
    command -v containerd >/dev/null || skip "containerd not installed"
    command -v containerd-shim-runc-v2 >/dev/null || skip "containerd-shim-runc-v2 not installed"
    local d="$E2E_WORK/ctrd"
    mkdir -p "$d"
    local ns="${E2E_PREFIX}ns"
    local img="localhost/busybox:latest"
    local c=(ctr -a "$d/c.sock" -n "$ns")
    snapshot_host "$E2E_WORK/ctrd-host"
    containerd_cleanup() {
        ctr_remove_everything
        "${c[@]}" images rm "$img" >/dev/null 2>&1 || true
        stop_containerd "$d"
        rmdir_new_cgroup_parents "$E2E_WORK/ctrd-host" "$ns"
    }
    trap containerd_cleanup EXIT
    start_containerd "$d"

    write_oci_archive "$d/busybox-oci.tar" "$img"
    "${c[@]}" images import "$d/busybox-oci.tar" >/dev/null
    "${c[@]}" images ls -q | grep -qxF "$img" || fail "image $img not imported: $("${c[@]}" images ls)"

    local out rc=0
    out=$("${c[@]}" run --rm --runc-binary "$RUNTIME" "$img" "${E2E_PREFIX}echo" echo hi)
    assert_eq hi "$(tr -d '\r' <<<"$out")" "ctr run output"

    "${c[@]}" run --rm --runc-binary "$RUNTIME" "$img" "${E2E_PREFIX}exit" sh -c 'exit 4' || rc=$?
    assert_eq 4 "$rc" "ctr run exit code"

    local t="${E2E_PREFIX}det"
    # The task holds ~20 MiB in a shell variable so that its memory usage is unmistakably the container's.
    "${c[@]}" run -d --runc-binary "$RUNTIME" "$img" "$t" \
        sh -c 'x=$(head -c 20000000 /dev/zero | tr "\0" a); sleep 100; echo "${#x}"' >/dev/null
    local tasks
    tasks=$("${c[@]}" task ls)
    echo "$tasks"
    grep -Eq "^$t +[0-9]+ +RUNNING" <<<"$tasks" || fail "task $t not RUNNING: $tasks"
    # The task pid (the shim reads it from the pid file) is the container's init, in its pid namespace.
    local tpid
    tpid=$(awk -v t="$t" '$1 == t {print $2}' <<<"$tasks")
    [[ $(readlink "/proc/$tpid/ns/pid") != "$(readlink /proc/self/ns/pid)" ]] ||
        fail "task pid $tpid is in the host's pid namespace"
    # The init execs the process just after `start` returned (runc's too, after its exec fifo handshake):
    # wait for it, bounded.
    local deadline=$((SECONDS + 10))
    while [[ $(tr '\0' ' ' <"/proc/$tpid/cmdline") != *"sh -c"* ]] && ((SECONDS <= deadline)); do sleep 0.02; done
    assert_contains "$(tr '\0' ' ' <"/proc/$tpid/cmdline")" "sh -c" "command of the task pid"

    # containerd loads the cgroup of the pid-file pid for metrics: it must be the container's cgroup.
    local metrics usage=0 deadline=$((SECONDS + 15))
    while ((SECONDS < deadline)); do
        metrics=$("${c[@]}" task metrics --format json "$t")
        usage=$(jq -r '(.memory.usage.usage // .memory.usage // 0)' <<<"$metrics")
        ((usage > 16000000)) && break
        sleep 0.2
    done
    jq -c '{pids, memory: {usage: .memory.usage}}' <<<"$metrics"
    ((usage > 16000000)) || fail "task metrics: memory usage $usage, the task holds 20 MB"

    out=$("${c[@]}" task exec --exec-id e1 "$t" echo from-exec)
    assert_eq from-exec "$(tr -d '\r' <<<"$out")" "ctr task exec output"

    ctr_kill_and_remove "$t"

    # OOM: the shim watches the memory cgroup of the pid-file pid and publishes /tasks/oom.
    "${c[@]}" events >"$d/events.txt" 2>&1 &
    local events=$!
    rc=0
    "${c[@]}" run --rm --memory-limit 33554432 --runc-binary "$RUNTIME" "$img" "${E2E_PREFIX}oom" \
        sh -c 'x=$(head -c 100000000 /dev/zero | tr "\0" a); echo "${#x}"' || rc=$?
    assert_eq 137 "$rc" "ctr run exit code of an OOM-killed task"
    deadline=$((SECONDS + 10))
    until grep -q '/tasks/oom' "$d/events.txt"; do
        ((SECONDS < deadline)) || fail "no /tasks/oom event: $(cat "$d/events.txt")"
        sleep 0.1
    done
    kill "$events" 2>/dev/null || true
    wait "$events" 2>/dev/null || true

    # ctr run -t: go-runc reads a terminal create's output to EOF; a held pipe would hang it.
    rc=0
    out=$(timeout 60 script -qec "$(printf '%q ' "${c[@]}") run -t --rm --runc-binary $(printf '%q' "$RUNTIME") $img ${E2E_PREFIX}tty sh -c 'test -t 1 && echo tty-hi'" /dev/null) || rc=$?
    assert_eq 0 "$rc" "ctr run -t (124: hung)"
    assert_contains "$(tr -d '\r' <<<"$out")" tty-hi "ctr run -t output"
    # ctr run -t -d of a long-lived task: the shim reads the terminal create's output to EOF, so it returns only
    # once nothing holds the runtime's stdout (it hung for the container's lifetime while liblxc's monitor did).
    local tt="${E2E_PREFIX}ttyd" t0=$SECONDS
    rc=0
    timeout 30 script -qec "$(printf '%q ' "${c[@]}") run -t -d --runc-binary $(printf '%q' "$RUNTIME") $img $tt sleep 100" /dev/null >/dev/null || rc=$?
    assert_eq 0 "$rc" "ctr run -t -d of a long-lived task (124: hung on the runtime's held pipe)"
    ((SECONDS - t0 < 20)) || fail "ctr run -t -d took $((SECONDS - t0)) s"
    ctr_kill_and_remove "$tt"
    assert_eq "" "$("${c[@]}" c ls -q)" "containers after ctr c rm"

    containerd_cleanup
    trap - EXIT
    assert_host_clean "$E2E_WORK/ctrd-host"
    local leftover
    leftover=$(grep -F "$d" /proc/self/mountinfo || true)
    [[ -z $leftover ]] || fail "containerd mounts left: $leftover"
}
