# shellcheck shell=bash
# Shell helper for the PVE API emulator (source it):
#   pve_emu_start DIR [extra emulator args...]   starts it on a free port with DIR as its data dir and sets
#       PVE_EMU_URL (https://127.0.0.1:PORT), PVE_EMU_FPR (SHA-256 fingerprint, colon hex), PVE_EMU_PORT,
#       PVE_EMU_PUBKEY_PIN (curl's --pinnedpubkey sha256//BASE64), PVE_EMU_CERT (the self-signed cert, a CA for curl),
#       PVE_EMU_LXCPATH, PVE_EMU_TOKEN (root@pam!lxcri=SECRET), PVE_EMU_PID, PVE_EMU_NODE (pve),
#       PVE_EMU_USER/PVE_EMU_PASSWORD (root@pam, for /access/ticket), PVE_EMU_STORAGE (local, at DIR/storage/local)
#       The emulator is a background job of the calling shell (so that pve_emu_stop can reap it: PID 1 here does
#       not reap orphans): a bare `wait` in the caller waits for it too; name the jobs to wait for.
#   pve_emu_stop DIR    SIGTERM, waits, and checks that nothing is left: no CT running under its lxcpath,
#       nothing mounted under DIR, no process of it. Returns non-zero (with a message) if something is.
#   pve_emu_curl METHOD PATH [curl args...]   curl against the API with the token, pinned to the emulator's cert
#       (prints the body, then a last line with the HTTP status).

PVE_EMU_DIR=${PVE_EMU_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}

pve_emu_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

pve_emu_start() {
    local dir=$1
    shift
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    local port secret ready="$dir/ready.json"
    secret=${PVE_EMU_SECRET:-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')}
    PVE_EMU_PASSWORD=${PVE_EMU_PASSWORD:-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')}
    rm -f "$ready"
    for _ in 1 2 3; do
        port=$(pve_emu_free_port)
        python3 "$PVE_EMU_DIR/pve_emulator.py" --listen "127.0.0.1:$port" --node pve \
            --token "root@pam!lxcri=$secret" --user "root@pam:$PVE_EMU_PASSWORD" --data-dir "$dir" \
            --storage "local:dir:$dir/storage/local:vztmpl,rootdir,images,iso" \
            --cgroup-prefix "pve-emu-$port" --ready-file "$ready" "$@" \
            >>"$dir/emulator.log" 2>&1 </dev/null &
        PVE_EMU_PID=$!
        local n=0
        while [[ ! -s $ready ]] && kill -0 "$PVE_EMU_PID" 2>/dev/null && ((n < 200)); do
            sleep 0.05
            n=$((n + 1))
        done
        [[ -s $ready ]] && break
        kill "$PVE_EMU_PID" 2>/dev/null
        wait "$PVE_EMU_PID" 2>/dev/null
    done
    if [[ ! -s $ready ]]; then
        echo "pve_emu_start: the emulator did not come up; its log:" >&2
        tail -n 20 "$dir/emulator.log" >&2
        return 1
    fi
    PVE_EMU_URL=$(jq -r .url "$ready")
    PVE_EMU_FPR=$(jq -r .fingerprint "$ready")
    PVE_EMU_PUBKEY_PIN=$(jq -r .pinnedpubkey "$ready")
    PVE_EMU_PORT=$(jq -r .port "$ready")
    PVE_EMU_LXCPATH=$(jq -r .lxcpath "$ready")
    PVE_EMU_TOKEN="root@pam!lxcri=$secret"
    PVE_EMU_NODE=pve
    PVE_EMU_USER=root@pam
    PVE_EMU_STORAGE=local
    PVE_EMU_CERT="$dir/pve-ssl.pem"
    echo "$PVE_EMU_PID" >"$dir/emulator.pid"
    export PVE_EMU_URL PVE_EMU_FPR PVE_EMU_PUBKEY_PIN PVE_EMU_PORT PVE_EMU_LXCPATH PVE_EMU_TOKEN PVE_EMU_PID PVE_EMU_NODE \
        PVE_EMU_USER PVE_EMU_PASSWORD PVE_EMU_STORAGE PVE_EMU_CERT
}

pve_emu_stop() {
    local dir=$1 pid rc=0 n=0
    dir=$(cd "$dir" 2>/dev/null && pwd) || return 0
    pid=$(cat "$dir/emulator.pid" 2>/dev/null) || return 0
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        while kill -0 "$pid" 2>/dev/null && ((n < 600)); do
            sleep 0.05
            n=$((n + 1))
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "pve_emu_stop: emulator $pid still alive after 30 s; killing it" >&2
            kill -KILL "$pid" 2>/dev/null
            rc=1
        fi
    fi
    wait "$pid" 2>/dev/null
    rm -f "$dir/emulator.pid"
    local lxcpath
    lxcpath=$(jq -r .lxcpath "$dir/ready.json" 2>/dev/null)
    if [[ -n $lxcpath && -d $lxcpath ]]; then
        local c
        for c in $(lxc-ls -P "$lxcpath" --running 2>/dev/null); do
            echo "pve_emu_stop: CT $c still running under $lxcpath" >&2
            lxc-stop -k -n "$c" -P "$lxcpath" >/dev/null 2>&1
            rc=1
        done
    fi
    if awk -v d="$dir/" 'index($5 "/", d) == 1 {found=1} END {exit !found}' /proc/self/mountinfo; then
        echo "pve_emu_stop: mounts left under $dir:" >&2
        awk -v d="$dir/" 'index($5 "/", d) == 1 {print "  " $5}' /proc/self/mountinfo >&2
        rc=1
    fi
    return $rc
}

pve_emu_curl() {
    local method=$1 path=$2
    shift 2
    curl -sS --cacert "$PVE_EMU_CERT" -X "$method" -H "Authorization: PVEAPIToken=$PVE_EMU_TOKEN" \
        -w '\n%{http_code}\n' "$@" "$PVE_EMU_URL/api2/json$path"
}
