# shellcheck shell=bash
# Local services shared by the e2e tests and the benchmarks (sourced by lib.sh and bench/image.sh).

# registry_start DATA-DIR LOG: Debian's docker-registry on a free 127.0.0.1 port serving DATA-DIR. Sets
# REGISTRY_ADDR (host:port) and REGISTRY_PID; on failure prints why on stderr and returns 1. Stopping it is the
# caller's (registry_stop).
registry_start() {
    local data=$1 log=$2 port i
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    mkdir -p "$data"
    printf '%s\n' "version: 0.1" "log:" "  level: error" "  accesslog:" "    disabled: true" "storage:" \
        "  filesystem:" "    rootdirectory: $data" "  delete:" "    enabled: true" "http:" \
        "  addr: 127.0.0.1:$port" >"$data.yml"
    docker-registry serve "$data.yml" >"$log" 2>&1 &
    REGISTRY_PID=$!
    for ((i = 0; i < 500; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        kill -0 "$REGISTRY_PID" 2>/dev/null || { echo "docker-registry exited: $(cat "$log")" >&2; return 1; }
        sleep 0.02
    done
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "docker-registry did not listen on 127.0.0.1:$port: $(cat "$log")" >&2
        return 1
    fi
    # shellcheck disable=SC2034 # read by the callers
    REGISTRY_ADDR=127.0.0.1:$port
}

registry_stop() {
    [[ -n ${REGISTRY_PID:-} ]] || return 0
    kill "$REGISTRY_PID" 2>/dev/null || true
    wait "$REGISTRY_PID" 2>/dev/null || true
    REGISTRY_PID=
}

# write_containers_conf FILE: podman's settings for this machine (DESIGN.md): the ulimits this machine allows,
# no network namespace, the cgroupfs manager, events to a file.
write_containers_conf() {
    printf '%s\n' "[containers]" 'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]' 'netns = "none"' "" \
        "[engine]" 'cgroup_manager = "cgroupfs"' 'events_logger = "file"' >"$1"
}

# podman_private DIR: a podman of the test's own under DIR (storage, run root, tmp, containers.conf) driving
# $RUNTIME; sets the caller's `pm` array to its command line. Skips where podman or conmon is missing.
podman_private() {
    local d=$1
    command -v podman >/dev/null || skip "podman not installed"
    command -v conmon >/dev/null || skip "conmon not installed"
    mkdir -p "$d/tmp"
    write_containers_conf "$d/containers.conf"
    export CONTAINERS_CONF="$d/containers.conf"
    # shellcheck disable=SC2034 # the caller's array
    pm=(podman --root "$d/root" --runroot "$d/runroot" --storage-driver vfs --tmpdir "$d/tmp" --runtime "$RUNTIME")
}
