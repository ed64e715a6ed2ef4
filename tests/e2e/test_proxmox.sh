# shellcheck shell=bash
# The proxmox backend (--backend proxmox) against the project's PVE API emulator (tests/pve-emulator/): the OCI
# lifecycle of a busybox bundle as a PVE CT with the client's stdio and exit status through the stand-in,
# failover, failures mid-create that leave nothing behind, bad config, a bad token and a wrong TLS pin.

# shellcheck source=tests/pve-emulator/emulator.sh
source "$E2E_DIR/../pve-emulator/emulator.sh"

# pve_up NAME [CONFIG-JQ]: an emulator for this test and a runtime config for it ($PVE_CFG, exported as
# PROXMOX_LXCRI_CONFIG); CONFIG-JQ edits the config's "proxmox" object.
pve_up() {
    [[ $(basename "$RUNTIME") == proxmox-lxcri* ]] ||
        skip "reference runtime: the proxmox backend (--backend proxmox) is proxmox-lxcri's own"
    require_root
    command -v lxc-start >/dev/null || skip "lxc-start not installed (Debian package lxc)"
    PVE_DIR="$E2E_WORK/pve-$1"
    rm -rf "$PVE_DIR"
    chmod o+x "$E2E_WORK" # an unprivileged CT's root traverses the path to its volume
    pve_emu_start "$PVE_DIR" "${PVE_EMU_ARGS[@]}"
    trap 'pve_clean; pve_emu_stop "$PVE_DIR" >/dev/null 2>&1 || true; pve_zfs_down' EXIT
    PVE_CFG="$PVE_DIR/lxcri.json"
    pve_config "${2:-.}"
    export PROXMOX_LXCRI_CONFIG=$PVE_CFG
}

PVE_EMU_ARGS=()
PVE_POOL=

# pve_zfs_up NAME: pve_up NAME with a zfspool storage "tank" (zfs-fuse, a pool of its own made by
# tests/storage/fixture.sh) for the CTs' volumes: PVE snapshots and rollback need it.
pve_zfs_up() {
    [[ $(basename "$RUNTIME") == proxmox-lxcri* ]] ||
        skip "reference runtime: the proxmox backend (--backend proxmox) is proxmox-lxcri's own"
    require_root
    command -v zfs-fuse >/dev/null || fail "zfs-fuse is not installed (scripts/install-deps.sh)"
    PVE_POOL="lxcri-e2e-$$-ck$1"
    chmod o+x "$E2E_WORK"
    bash "$E2E_DIR/../storage/fixture.sh" zfs-up "$PVE_POOL" "$E2E_WORK/pve-zpool-$1" 256 $$ \
        2>"$E2E_WORK/fixture-$1.err" || { PVE_POOL= && fail "zfs fixture: $(cat "$E2E_WORK/fixture-$1.err")"; }
    trap 'pve_zfs_down' EXIT
    PVE_EMU_ARGS=(--storage "tank:zfspool:$PVE_POOL/pve:rootdir,images")
    pve_up "$1" '.storage = "tank"'
}

pve_zfs_down() {
    [[ -n $PVE_POOL ]] || return 0
    bash "$E2E_DIR/../storage/fixture.sh" zfs-down "$PVE_POOL" $$ || true
    PVE_POOL=
}

# pve_config [JQ]: (re)writes $PVE_CFG for the running emulator, mode 0600.
pve_config() {
    jq -n --arg port "$PVE_EMU_PORT" --arg token "$PVE_EMU_TOKEN" --arg fpr "$PVE_EMU_FPR" \
        --arg lxcpath "$PVE_EMU_LXCPATH" \
        '{backend: "proxmox", proxmox: {hosts: ["127.0.0.1"], port: ($port | tonumber), token: $token, node: "pve",
          fingerprint: $fpr, lxcpath: $lxcpath, node_cache_duration: 60}} | .proxmox |= ('"${1:-.}"')' \
        >"$PVE_CFG.new"
    chmod 600 "$PVE_CFG.new"
    mv "$PVE_CFG.new" "$PVE_CFG"
}

# pve_clean: what a failed test left in the state root goes while its emulator still answers.
pve_clean() {
    local id
    for id in $(rt list -q 2>/dev/null); do rt delete --force "$id" >/dev/null 2>&1 || true; done
}

# pve_down: stop the emulator; nothing may be left behind (no CT running, nothing mounted).
pve_down() {
    trap - EXIT
    pve_emu_stop "$PVE_DIR" || { pve_zfs_down; fail "the emulator left something behind"; }
    pve_zfs_down
}

prt() { rt --backend proxmox "$@"; }

# What PVE holds: the CTs (one VMID per line), the volumes of CT disks, the uploaded templates.
pve_cts() { pve_emu_curl GET /nodes/pve/lxc | head -n -1 | jq -r '.data[].vmid' | sort; }
pve_volumes() { find "$PVE_DIR/storage/local/images" -mindepth 1 -maxdepth 1 2>/dev/null | sort; }
pve_templates() { find "$PVE_DIR/storage/local/template/cache" -type f 2>/dev/null | sort; }

assert_pve_empty() {
    assert_eq "" "$(pve_cts)" "CTs left on PVE"
    assert_eq "" "$(pve_volumes)" "CT volumes left"
    assert_eq "" "$(rt list -q)" "containers left in the state root"
}

test_proxmox_lifecycle() {
    pve_up lifecycle
    local b id out err
    b=$(bundle pve-life sh -c 'echo "to stdout"; echo "to stderr" >&2; exit 3')
    id=$(new_id pvelife)
    out="$PVE_DIR/out" err="$PVE_DIR/err"
    local sr
    sr=$(helper subreaper)
    # create + start under a subreaper (as containerd's shim): the pid file names the stand-in, a child that
    # exits with the container's code; stdout and stderr are the caller's own, apart.
    "$sr" "$PVE_DIR/pid" "$RUNTIME --root $E2E_ROOT --backend proxmox create --bundle $b --pid-file $PVE_DIR/pid $id \
        >$out 2>$err && $RUNTIME --root $E2E_ROOT state $id >$PVE_DIR/state1 && \
        $RUNTIME --root $E2E_ROOT start $id" >"$PVE_DIR/reaped"
    assert_eq "exited 3" "$(tail -n 1 "$PVE_DIR/reaped")" "the stand-in's wait status"
    assert_eq "created" "$(jq -r .status "$PVE_DIR/state1")" "state after create"
    assert_eq "to stdout" "$(cat "$out")" "stdout"
    assert_contains "$(cat "$err")" "to stderr"
    wait_status "$id" stopped
    local vmid
    vmid=$(jq -r .backendState.vmid "$E2E_ROOT/$id/state.json")
    assert_eq "$vmid" "$(pve_cts)" "the CT on PVE"
    assert_contains "$(pve_emu_curl GET "/nodes/pve/lxc/$vmid/config" | head -n -1 | jq -r .data.tags)" "proxmox-lxcri"
    prt delete "$id"
    assert_pve_empty
    # libcurl is loaded on the first API call only: the binary itself does not link it (`run` speed).
    if file -L "$RUNTIME" | grep -q ELF; then
        ! ldd "$RUNTIME" | grep -q libcurl || fail "$RUNTIME links libcurl at start-up"
    fi
    # The template stays cached: a second run of the same rootfs uploads nothing.
    local n_up
    n_up=$(grep -c 'POST /api2/json/nodes/pve/storage/local/upload' "$PVE_DIR/requests.log" || true)
    set +e
    prt run "$(new_id pverun)" --bundle "$b" >"$out" 2>"$err" </dev/null
    local rc=$?
    set -e
    assert_eq 3 "$rc" "run's exit code"
    assert_eq "to stdout" "$(cat "$out")" "run's stdout"
    assert_eq "$n_up" "$(grep -c 'POST /api2/json/nodes/pve/storage/local/upload' "$PVE_DIR/requests.log")" \
        "uploads for a cached rootfs"
    assert_pve_empty
    pve_down
}

test_proxmox_kill() {
    pve_up kill
    local b id
    b=$(bundle pve-kill sleep 1000)
    id=$(new_id pvekill)
    prt create --bundle "$b" --pid-file "$PVE_DIR/pid" "$id" </dev/null >/dev/null 2>&1
    prt start "$id"
    wait_status "$id" running
    local pid
    pid=$(state_field "$id" pid)
    pid_alive "$pid" || fail "state's pid $pid is not alive"
    prt kill "$id" KILL
    wait_status "$id" stopped
    prt delete "$id"
    assert_pve_empty
    pve_down
}

test_proxmox_failover() {
    pve_up failover '.hosts = ["127.0.0.2", "127.0.0.1"]'
    local b out
    b=$(bundle pve-fo sh -c 'echo failover-ok')
    out=$(prt run "$(new_id pvefo)" --bundle "$b" </dev/null)
    assert_eq "failover-ok" "$out" "output through the second host"
    assert_pve_empty
    pve_down
}

test_proxmox_task_error_mid_create() {
    pve_up taskerr
    local b id
    b=$(bundle pve-te true)
    id=$(new_id pvete)
    curl -sk -X POST --data '{"task_error":"vzstart"}' "$PVE_EMU_URL/emulator/fault" >/dev/null
    assert_fails_with "task vzstart" prt create --bundle "$b" "$id"
    assert_pve_empty
    assert_eq "" "$(pve_templates)" "templates left by the failed create"
    pve_down
}

test_proxmox_killed_mid_create() {
    pve_up killed
    local b id
    b=$(bundle pve-kc true)
    id=$(new_id pvekc)
    curl -sk -X POST --data '{"slow_task_ms":1500}' "$PVE_EMU_URL/emulator/fault" >/dev/null
    "$RUNTIME" --root "$E2E_ROOT" --backend proxmox create --bundle "$b" "$id" </dev/null >/dev/null 2>&1 &
    local rpid=$! n=0
    # Killed once the record names the VMID (the CT is being made).
    until [[ $(jq -r '.backendState.ctRequested // false' "$E2E_ROOT/$id/state.json" 2>/dev/null) == true ]]; do
        ((++n < 400)) || fail "the create never requested a CT"
        sleep 0.025
    done
    kill -KILL "$rpid"
    wait "$rpid" 2>/dev/null || true
    [[ $(jq -r .backendState.created "$E2E_ROOT/$id/state.json") == false ]] || fail "the create finished before the kill"
    curl -sk -X POST --data '{"clear":true}' "$PVE_EMU_URL/emulator/fault" >/dev/null
    prt delete --force "$id"
    assert_pve_empty
    assert_eq "" "$(pve_templates)" "the template of the killed create"
    pve_down
}

test_proxmox_bad_config() {
    pve_up badcfg
    local b
    b=$(bundle pve-bc true)
    pve_config 'del(.node)'
    assert_fails_with "proxmox.node: required" prt create --bundle "$b" "$(new_id pvebc1)"
    pve_config '.port = "8006"'
    assert_fails_with "proxmox.port" prt create --bundle "$b" "$(new_id pvebc2)"
    pve_config '.fingerprint = "AA:BB"'
    assert_fails_with "proxmox.fingerprint" prt create --bundle "$b" "$(new_id pvebc3)"
    pve_config '.hosts = []'
    assert_fails_with "proxmox.hosts" prt create --bundle "$b" "$(new_id pvebc4)"
    pve_config '.tokn = "x"'
    assert_fails_with "proxmox.tokn: unknown field" prt create --bundle "$b" "$(new_id pvebc5)"
    # The secret never shows, even in a malformed token's error.
    pve_config ".token = \"root@pam=${PVE_EMU_TOKEN#*=}\""
    local msg
    msg=$(prt create --bundle "$b" "$(new_id pvebc6)" 2>&1) && fail "a malformed token was taken"
    assert_contains "$msg" "proxmox.token"
    [[ $msg != *"${PVE_EMU_TOKEN#*=}"* ]] || fail "the token's secret is in the error: $msg"
    # A config readable by others is warned about.
    pve_config '.'
    chmod 644 "$PVE_CFG"
    msg=$(prt --debug run "$(new_id pvebc7)" --bundle "$b" 2>&1 </dev/null)
    assert_contains "$msg" "readable by group or others"
    [[ $msg != *"${PVE_EMU_TOKEN#*=}"* ]] || fail "the token's secret is in the --debug output"
    assert_pve_empty
    pve_down
}

test_proxmox_bad_token_and_fingerprint() {
    pve_up auth
    local b msg
    b=$(bundle pve-auth true)
    pve_config '.token = "root@pam!lxcri=wrong-secret-value"'
    msg=$(prt create --bundle "$b" "$(new_id pveauth1)" 2>&1) && fail "a bad token was taken"
    assert_contains "$msg" "401"
    assert_contains "$msg" "root@pam!lxcri"
    [[ $msg != *wrong-secret-value* ]] || fail "the secret is in the error: $msg"
    local before
    before=$(wc -l <"$PVE_DIR/requests.log")
    pve_config '.fingerprint = "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF"'
    msg=$(prt create --bundle "$b" "$(new_id pveauth2)" 2>&1) && fail "a wrong fingerprint was taken"
    assert_contains "$msg" "TLS certificate fingerprint mismatch: expected 00:11:22"
    assert_contains "$msg" "got $PVE_EMU_FPR"
    # The request never reached the server (the token stayed here).
    assert_eq "$before" "$(wc -l <"$PVE_DIR/requests.log")" "requests that reached the unpinned server"
    assert_pve_empty
    pve_down
}

test_proxmox_exec_pause_ps() {
    pve_up exec
    local b id out
    b=$(bundle pve-exec sleep 1000)
    id=$(new_id pveexec)
    prt create --bundle "$b" "$id" </dev/null >/dev/null 2>&1
    prt start "$id"
    wait_status "$id" running
    # exec joins the container's namespaces and cgroups on the node, with its own stdio and exit code: as with
    # runc, PID 1 there is the container's process (the pid file's, PID 1 of its own pid namespace in the CT).
    out=$(prt exec "$id" sh -c 'echo in-ct; cat /proc/1/cmdline | tr "\0" " "; exit 7' </dev/null) && fail "exec's exit code was 0"
    assert_contains "$out" "in-ct"
    assert_contains "$out" "sleep 1000"
    set +e
    prt exec "$id" sh -c 'exit 7' </dev/null
    local rc=$?
    set -e
    assert_eq 7 "$rc" "exec's exit code"
    assert_contains "$(prt ps "$id")" "sleep"
    prt pause "$id"
    wait_status "$id" paused
    prt resume "$id"
    wait_status "$id" running
    prt kill "$id" KILL
    wait_status "$id" stopped
    prt delete "$id"
    assert_pve_empty
    pve_down
}

# ------------------------------------------------------------------ issue 16 item 1: checkpoints as PVE snapshots

# pve_running NAME: a running busybox CT (sleep) on the zfspool storage; sets CK_ID, CK_VMID, CK_ROOT (its
# volume's mount point on the node).
pve_running() {
    local b
    b=$(bundle "pve-$1" sleep 1000)
    CK_ID=$(new_id "pve$1")
    prt create --bundle "$b" "$CK_ID" </dev/null >/dev/null 2>&1
    prt start "$CK_ID"
    wait_status "$CK_ID" running
    CK_VMID=$(jq -r .backendState.vmid "$E2E_ROOT/$CK_ID/state.json")
    CK_ROOT=$(zfs get -H -o value mountpoint "$PVE_POOL/pve/subvol-$CK_VMID-disk-0")
    [[ -d $CK_ROOT/bin ]] || fail "CT $CK_VMID's volume is not at $CK_ROOT"
}

test_proxmox_checkpoint_restore() {
    pve_zfs_up ckrestore
    pve_running ckr
    # (the bundle's root is read-only inside: the files go into the CT's volume from the node)
    echo kept >"$CK_ROOT/kept"
    local ck err="$PVE_DIR/err"
    ck=$(prt checkpoint --leave-running "$CK_ID" 2>"$err")
    [[ $ck =~ ^checkpoint-[0-9]+$ ]] || fail "checkpoint printed '$ck'"
    assert_contains "$(cat "$err")" "process state (CRIU) is not available"
    assert_eq "$ck" "$(pve_emu_curl GET "/nodes/pve/lxc/$CK_VMID/snapshot" | head -n -1 |
        jq -r '.data[] | select(.name != "current") | .name')" "the PVE snapshot"
    wait_status "$CK_ID" running
    echo gone >"$CK_ROOT/gone"
    # restore rolls back to the latest; PVE stops the running CT for it, and the container stays stopped.
    prt restore "$CK_ID" 2>"$err"
    assert_contains "$(cat "$err")" "the container is stopped (it was running)"
    wait_status "$CK_ID" stopped
    [[ ! -e $CK_ROOT/gone ]] || fail "the file written after the checkpoint is still there after restore"
    assert_eq kept "$(cat "$CK_ROOT/kept")" "the file written before the checkpoint"
    prt delete "$CK_ID"
    assert_pve_empty
    pve_down
}

test_proxmox_checkpoint_list_snapshot_rm() {
    pve_zfs_up cklist
    pve_running ckl
    local c1 c2
    c1=$(prt checkpoint --leave-running "$CK_ID" 2>/dev/null)
    echo 2 >"$CK_ROOT/second"
    sleep 1.1 # the names are checkpoint-<unix-time>
    c2=$(prt checkpoint --leave-running "$CK_ID" 2>/dev/null)
    assert_eq "$c1"$'\n'"$c2" "$(prt checkpoint --list "$CK_ID")" "the list, oldest first"
    # PVE's zfspool rolls back only to the most recent snapshot: its error comes through.
    assert_fails_with "is not most recent snapshot" prt restore --snapshot "$c1" "$CK_ID"
    assert_fails_with "has no checkpoint" prt restore --snapshot checkpoint-1 "$CK_ID"
    assert_fails_with "does not exist" prt checkpoint --rm checkpoint-1 "$CK_ID"
    assert_fails_with "invalid snapshot name" prt checkpoint --rm '../x' "$CK_ID"
    prt checkpoint --rm "$c2" "$CK_ID"
    assert_eq "$c1" "$(prt checkpoint --list "$CK_ID")" "the list after --rm"
    echo 3 >"$CK_ROOT/third"
    prt restore --snapshot "$c1" "$CK_ID" 2>/dev/null
    wait_status "$CK_ID" stopped
    [[ ! -e $CK_ROOT/second && ! -e $CK_ROOT/third ]] || fail "files after $c1 are still there after restore"
    prt delete "$CK_ID"
    assert_pve_empty
    pve_down
}

test_proxmox_checkpoint_criu_refused() {
    pve_up ckcriu
    local b id
    b=$(bundle pve-ckcriu sleep 1000)
    id=$(new_id pveckcriu)
    prt create --bundle "$b" "$id" </dev/null >/dev/null 2>&1
    prt start "$id"
    wait_status "$id" running
    # runc's CRIU form and CRIU flags: PVE has no process checkpoint; nothing is made, the container runs on.
    assert_fails_with "PVE has no CRIU" prt checkpoint --image-path "$PVE_DIR/img" "$id"
    [[ ! -e $PVE_DIR/img ]] || fail "the refused checkpoint left its image directory"
    assert_fails_with "--tcp-established is a CRIU flag" prt checkpoint --tcp-established "$id"
    assert_fails_with "--work-path is a CRIU flag" prt restore --work-path "$PVE_DIR" "$id"
    wait_status "$id" running
    mkdir -p "$PVE_DIR/img2"
    local rid
    rid=$(new_id pveckr)
    assert_fails_with "PVE has no CRIU" prt restore --image-path "$PVE_DIR/img2" --bundle "$b" -d "$rid"
    [[ $(rt list -q) != *"$rid"* ]] || fail "the refused restore left container $rid"
    prt kill "$id" KILL
    wait_status "$id" stopped
    prt delete "$id"
    assert_pve_empty
    pve_down
}

# Off the node ("on_node": false): the runtime is not on the PVE node, so the CT's init is no process of this
# host. The CT runs the OCI process itself (PVE 9.1's entrypoint/env); only the detached verbs work.
test_proxmox_offnode_lifecycle() {
    pve_up offlife '.on_node = false'
    local b id vmid conf
    # PID 1 of the CT ends on shutdown's signal (lxc's halt signal, or TERM).
    # shellcheck disable=SC2016 # expanded by the CT's shell
    b=$(bundle pve-offlife sh -c 'trap "exit 0" TERM PWR; echo "$OFFNODE_VAR" >/offnode-ran; while :; do sleep 0.1; done')
    spec_edit "$b" '.process.env += ["OFFNODE_VAR=a b"]'
    id=$(new_id pveoff)
    prt create --bundle "$b" "$id" </dev/null >/dev/null
    assert_eq "created" "$(state_field "$id" status)" "state after create"
    assert_eq "0" "$(state_field "$id" pid)" "state's pid off the node (no process of this host)"
    vmid=$(jq -r .backendState.vmid "$E2E_ROOT/$id/state.json")
    assert_eq "$vmid" "$(pve_cts)" "the CT on PVE"
    conf=$(pve_emu_curl GET "/nodes/pve/lxc/$vmid/config" | head -n -1)
    # The OCI args as PVE's entrypoint, quoted as lxc_string_split_quoted splits them; env NUL-separated.
    assert_eq "sh -c 'trap \"exit 0\" TERM PWR; echo \"\$OFFNODE_VAR\" >/offnode-ran; while :; do sleep 0.1; done'" \
        "$(jq -r .data.entrypoint <<<"$conf")" "the CT's entrypoint"
    assert_contains "$(jq -r .data.env <<<"$conf" | tr '\0' '\n')" "OFFNODE_VAR=a b"
    assert_eq "stopped" "$(pve_emu_curl GET "/nodes/pve/lxc/$vmid/status/current" | head -n -1 | jq -r .data.status)" \
        "the CT before start"
    prt start "$id"
    wait_status "$id" running
    assert_eq "running" "$(pve_emu_curl GET "/nodes/pve/lxc/$vmid/status/current" | head -n -1 | jq -r .data.status)" \
        "the CT after start"
    assert_eq "0" "$(state_field "$id" pid)" "state's pid while running"
    local n=0
    until [[ $(cat "$PVE_DIR"/storage/local/images/*/*/offnode-ran 2>/dev/null) == "a b" ]]; do
        ((++n < 200)) || fail "the CT's process did not run with its env"
        sleep 0.05
    done
    prt kill "$id" TERM
    wait_status "$id" stopped 20
    grep -q "POST /api2/json/nodes/pve/lxc/$vmid/status/shutdown" "$PVE_DIR/requests.log" ||
        fail "kill TERM did not shut the CT down through PVE"
    prt delete "$id"
    assert_pve_empty
    pve_down
}

test_proxmox_offnode_attached_refused() {
    pve_up offatt '.on_node = false'
    local b id posts
    b=$(bundle pve-offatt sleep 1000)
    posts=$(grep -c 'POST /api2/json/nodes/pve/lxc ' "$PVE_DIR/requests.log" || true)
    assert_fails_with "--pid-file cannot name a process on this host: the runtime is not on PVE node pve" \
        prt create --bundle "$b" --pid-file "$PVE_DIR/pid" "$(new_id pveoffa1)"
    [[ ! -e $PVE_DIR/pid ]] || fail "a pid file was written off the node"
    spec_edit "$b" '.process.terminal = true'
    assert_fails_with "a terminal (--console-socket) cannot be handed to this host" \
        prt create --bundle "$b" --console-socket "$PVE_DIR/console.sock" "$(new_id pveoffa2)"
    spec_edit "$b" '.process.terminal = false'
    assert_fails_with "run without -d cannot wait for the container here" \
        prt run --bundle "$b" "$(new_id pveoffa3)"
    assert_eq "$posts" "$(grep -c 'POST /api2/json/nodes/pve/lxc ' "$PVE_DIR/requests.log" || true)" \
        "CTs requested by refused creates"
    assert_pve_empty
    # Detached: made and started; exec, ps, events and signals PVE cannot send are refused, saying why.
    id=$(new_id pveoffa4)
    prt create --bundle "$b" "$id" </dev/null >/dev/null
    prt start "$id"
    wait_status "$id" running
    assert_fails_with "exec needs the CT's processes on this host" prt exec "$id" true
    assert_fails_with "ps needs the CT's processes on this host" prt ps "$id"
    assert_fails_with "events and stats needs the CT's processes on this host" prt events --stats "$id"
    assert_fails_with "only SIGTERM (shutdown) and SIGKILL (stop)" prt kill "$id" HUP
    assert_eq "running" "$(state_field "$id" status)" "state after the refused verbs"
    prt kill "$id" KILL
    wait_status "$id" stopped
    prt delete "$id"
    # run -d is detached too: made, started, then stopped and deleted by API.
    id=$(new_id pveoffa5)
    prt run -d --bundle "$b" "$id" </dev/null >/dev/null
    wait_status "$id" running
    prt kill "$id" KILL
    wait_status "$id" stopped
    prt delete "$id"
    assert_pve_empty
    pve_down
}
