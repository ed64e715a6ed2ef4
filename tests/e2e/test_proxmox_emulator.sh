# shellcheck shell=bash
# The PVE 9.1 API emulator (tests/pve-emulator/) driven with curl: PVE's error shapes, auth, the root@pam-only
# checks, tasks and locks, a CT that really runs through lxc-start, and faults on demand. These tests check the
# emulator itself (the stand-in for a real PVE that the proxmox backend's tests run against); they do not use
# $RUNTIME. The validator's unit tests run from test_proxmox_emulator_validator_unit.

# shellcheck source=tests/pve-emulator/emulator.sh
source "$E2E_DIR/../pve-emulator/emulator.sh"

# emu_up NAME: a fresh emulator for this test in the run's work dir; stopped (and checked) by emu_down.
# The emulator's tests do not use $RUNTIME: run them once, in the run against proxmox-lxcri.
emu_only_once() {
    [[ $(basename "$RUNTIME") == proxmox-lxcri* ]] ||
        skip "reference runtime: the PVE emulator's own tests do not use the runtime (they run with proxmox-lxcri)"
}

emu_up() {
    emu_only_once
    require_root
    command -v lxc-start >/dev/null || skip "lxc-start not installed (Debian package lxc)"
    command -v openssl >/dev/null || skip "openssl not installed"
    command -v curl >/dev/null || skip "curl not installed"
    EMU_DIR="$E2E_WORK/pve-emu-$1"
    rm -rf "$EMU_DIR"
    # The root of an unprivileged CT (host uid 100000) must traverse the path to its volume, as /var/lib/vz on a
    # PVE node; the run's scratch dir is mktemp's 0700.
    chmod o+x "$E2E_WORK"
    pve_emu_start "$EMU_DIR" "${@:2}"
    trap 'pve_emu_stop "$EMU_DIR" >/dev/null 2>&1 || true; emu_zfs_down' EXIT
    RESP_HEAD="$EMU_DIR/resp.head"
    RESP_BODY="$EMU_DIR/resp.body"
}

# emu_zfs_up NAME: a zfs pool of its own (zfs-fuse on a file vdev, tests/storage/fixture.sh: one daemon for
# the whole machine) for a `zfspool` storage; sets EMU_POOL and EMU_ZFS_STORAGE (tank:zfspool:POOL/pve:...).
# Call it before emu_up; emu_down (or the test's exit) destroys the pool after the emulator stopped.
EMU_FIXTURE="$E2E_DIR/../storage/fixture.sh"
emu_zfs_up() {
    emu_only_once
    command -v zfs-fuse >/dev/null || fail "zfs-fuse is not installed (scripts/install-deps.sh)"
    EMU_POOL="lxcri-e2e-$$-pve$1"
    EMU_POOL_MNT="$E2E_WORK/pve-zpool-$1"
    chmod o+x "$E2E_WORK"
    trap 'emu_zfs_down' EXIT
    bash "$EMU_FIXTURE" zfs-up "$EMU_POOL" "$EMU_POOL_MNT" 256 $$ 2>"$E2E_WORK/fixture-$1.err" ||
        fail "zfs fixture: $(cat "$E2E_WORK/fixture-$1.err")"
    EMU_ZFS_STORAGE="tank:zfspool:$EMU_POOL/pve:rootdir,images"
}

emu_zfs_down() {
    [[ -n ${EMU_POOL:-} ]] || return 0
    bash "$EMU_FIXTURE" zfs-down "$EMU_POOL" $$ || true
    EMU_POOL=
}

# emu_down: stop the emulator; nothing may be left (no CT, no mount under its dir).
emu_down() {
    trap - EXIT
    pve_emu_stop "$EMU_DIR" || { emu_zfs_down; fail "the emulator left something behind"; }
    emu_zfs_down
    pid_alive "$PVE_EMU_PID" && fail "emulator $PVE_EMU_PID still alive after SIGTERM"
    local left
    left=$(find /sys/fs/cgroup -maxdepth 2 -name "pve-emu-$PVE_EMU_PORT*" 2>/dev/null)
    [[ -z $left ]] || fail "cgroups left: $left"
}

# api METHOD PATH [curl args...]: prints the HTTP status; the body is in $RESP_BODY, headers in $RESP_HEAD.
# Authenticated with the token unless AUTH is set (AUTH=none: no credentials; AUTH="-H ..." args).
api() {
    local method=$1 path=$2
    shift 2
    local auth=(-H "Authorization: PVEAPIToken=$PVE_EMU_TOKEN")
    if [[ -n ${AUTH:-} ]]; then
        auth=()
        [[ $AUTH == none ]] || read -ra auth <<<"$AUTH"
    fi
    curl -sS --cacert "$PVE_EMU_CERT" -X "$method" "${auth[@]}" -o "$RESP_BODY" -D "$RESP_HEAD" \
        -w '%{http_code}' "$@" "$PVE_EMU_URL/api2/json$path"
}

body() { cat "$RESP_BODY"; }
reason() { head -1 "$RESP_HEAD" | tr -d '\r' | cut -d' ' -f3-; }

# expect CODE METHOD PATH [curl args...]: the call must answer CODE.
expect() {
    local want=$1 got
    shift
    got=$(api "$@")
    [[ $got == "$want" ]] || fail "$1 $2: HTTP $got, expected $want: $(body)"
}

uri() { jq -rn --arg u "$1" '$u|@uri'; }

# wait_task UPID [TIMEOUT_S]: poll the task's status until stopped; prints its exitstatus.
wait_task() {
    local upid=$1 timeout=${2:-30} deadline st
    deadline=$((SECONDS + timeout))
    while ((SECONDS <= deadline)); do
        expect 200 GET "/nodes/$(cut -d: -f2 <<<"$upid")/tasks/$(uri "$upid")/status"
        st=$(jq -r .data.status "$RESP_BODY")
        if [[ $st == stopped ]]; then
            jq -r .data.exitstatus "$RESP_BODY"
            return 0
        fi
        sleep 0.05
    done
    fail "task $upid still running after ${timeout}s"
}

task_log() {
    expect 200 GET "/nodes/$(cut -d: -f2 <<<"$1")/tasks/$(uri "$1")/log" --get --data limit=500
    jq -r '.data[].t' "$RESP_BODY"
}

# A vztmpl of a busybox rootfs (lib.sh's template) uploaded to local; prints its volid.
upload_busybox() {
    local t tar="$EMU_DIR/busybox.tar.gz" upid
    t=$(busybox_template)
    tar -C "$t" -czf "$tar" .
    expect 200 POST /nodes/pve/storage/local/upload -F content=vztmpl -F filename=busybox.tar.gz \
        -F "checksum-algorithm=sha256" -F "checksum=$(sha256sum "$tar" | cut -d' ' -f1)" -F "file=@$tar"
    upid=$(jq -r .data "$RESP_BODY")
    [[ $upid == UPID:pve:*:imgcopy::root@pam!lxcri: ]] || fail "upload answered $(body)"
    assert_eq OK "$(wait_task "$upid")" "upload task"
    echo local:vztmpl/busybox.tar.gz
}

# create_ct VMID ENTRYPOINT [extra curl args]: create and wait; prints nothing, fails on a task error.
create_ct() {
    local vmid=$1 entry=$2 upid
    shift 2
    expect 200 POST /nodes/pve/lxc --data-urlencode "vmid=$vmid" --data-urlencode "ostemplate=$TMPL" \
        --data-urlencode "entrypoint=$entry" --data-urlencode console=0 --data-urlencode cmode=console \
        --data-urlencode memory=128 --data-urlencode rootfs=local:1 --data-urlencode "hostname=ct$vmid" \
        --data-urlencode ostype=unmanaged "$@"
    upid=$(jq -r .data "$RESP_BODY")
    local st
    st=$(wait_task "$upid")
    [[ $st == OK ]] || fail "create of $vmid: $st; log: $(task_log "$upid")"
}

# ct_task VMID ACTION: POST status/ACTION and wait; prints the exitstatus.
ct_task() {
    expect 200 POST "/nodes/pve/lxc/$1/status/$2"
    wait_task "$(jq -r .data "$RESP_BODY")"
}

# ---------------------------------------------------------------------------------------------- tests

test_proxmox_emulator_schema_rejects() {
    emu_up schema
    # unknown parameter, bad enum, bad net0 property string: one 400 with every error, as PVE answers
    expect 400 POST /nodes/pve/lxc -d vmid=100 -d ostemplate=local:vztmpl/x.tar.gz -d colour=red -d cmode=serial \
        --data-urlencode net0=name=eth0,bridge=vmbr0,speed=10
    assert_eq "Parameter verification failed." "$(reason)" "HTTP reason"
    assert_eq "Parameter verification failed." "$(jq -r .message "$RESP_BODY" | head -1)" "message"
    assert_eq null "$(jq -r .data "$RESP_BODY")" "data"
    assert_eq "property is not defined in schema and the schema does not allow additional properties" \
        "$(jq -r .errors.colour "$RESP_BODY")" "errors.colour"
    assert_eq "value 'serial' does not have a value in the enumeration 'shell, console, tty'" \
        "$(jq -r .errors.cmode "$RESP_BODY")" "errors.cmode"
    assert_contains "$(jq -r .errors.net0 "$RESP_BODY")" "speed: property is not defined in schema"
    # types and ranges, JSON bodies too
    expect 400 POST /nodes/pve/lxc -H 'Content-Type: application/json' \
        -d '{"vmid":99,"ostemplate":"local:vztmpl/x.tar.gz","memory":"lots","unprivileged":"maybe"}'
    assert_eq "value must have a minimum value of 100" "$(jq -r .errors.vmid "$RESP_BODY")" "errors.vmid"
    assert_eq "type check ('integer') failed - got 'lots'" "$(jq -r .errors.memory "$RESP_BODY")"
    assert_eq "type check ('boolean') failed - got 'maybe'" "$(jq -r .errors.unprivileged "$RESP_BODY")"
    expect 400 GET /cluster/resources --get --data type=lxc
    # a missing required parameter
    expect 400 POST /nodes/pve/lxc -d vmid=100
    assert_eq "property is missing and it is not optional" "$(jq -r .errors.ostemplate "$RESP_BODY")"
    # unknown path and unknown method: 501 as PVE
    expect 501 GET /nodes/pve/lxc/100/nonsense
    assert_eq "Method 'GET /nodes/pve/lxc/100/nonsense' not implemented" "$(reason)" "HTTP reason"
    expect 501 PUT /nodes/pve/lxc
    # another node: pveproxy would proxy to it; an unknown name fails its DNS lookup
    expect 500 GET /nodes/pve2/lxc
    assert_contains "$(reason)" "hostname lookup 'pve2' failed"
    # the happy paths answer the {"data":...} envelope
    expect 200 GET /version
    assert_eq 9.1.3 "$(jq -r .data.version "$RESP_BODY")" "version"
    expect 200 GET /cluster/nextid
    assert_eq 100 "$(jq -r .data "$RESP_BODY")" "nextid"
    grep -q '^GET /api2/json/version 200 [0-9.]*$' "$EMU_DIR/requests.log" || fail "requests.log: $(cat "$EMU_DIR/requests.log")"
    emu_down
}

test_proxmox_emulator_auth() {
    emu_up auth
    AUTH=none expect 401 GET /version
    assert_eq "No ticket" "$(reason)" "no credentials"
    # the ready file's fingerprint and key pin are the certificate's
    assert_eq "$(openssl x509 -in "$PVE_EMU_CERT" -noout -fingerprint -sha256 | cut -d= -f2)" "$PVE_EMU_FPR" "fingerprint"
    [[ $(curl -sS -k --pinnedpubkey "$PVE_EMU_PUBKEY_PIN" -o /dev/null -w '%{http_code}' "$PVE_EMU_URL/api2/json/version") == 401 ]] ||
        fail "pinned public key refused"
    AUTH="-H Authorization:PVEAPIToken=root@pam!lxcri=wrong" expect 401 GET /version
    assert_eq "authentication failure" "$(reason)" "bad token"
    AUTH="-H Authorization:PVEAPIToken=root@pam!other=${PVE_EMU_TOKEN#*=}" expect 401 GET /version
    # a ticket: username/password -> ticket + CSRFPreventionToken
    AUTH=none expect 401 POST /access/ticket --data-urlencode username=root@pam --data-urlencode password=wrong
    AUTH=none expect 200 POST /access/ticket --data-urlencode username=root@pam \
        --data-urlencode "password=$PVE_EMU_PASSWORD"
    local ticket csrf
    ticket=$(jq -r .data.ticket "$RESP_BODY")
    csrf=$(jq -r .data.CSRFPreventionToken "$RESP_BODY")
    [[ $ticket == PVE:root@pam:* && -n $csrf ]] || fail "ticket answer: $(body)"
    grep -qi '^Set-Cookie: PVEAuthCookie=' "$RESP_HEAD" || fail "no PVEAuthCookie cookie: $(cat "$RESP_HEAD")"
    AUTH="-b PVEAuthCookie=$ticket" expect 200 GET /nodes
    # the ticket as password renews it
    AUTH=none expect 200 POST /access/ticket --data-urlencode username=root@pam --data-urlencode "password=$ticket"
    [[ $(jq -r .data.ticket "$RESP_BODY") == PVE:root@pam:* ]] || fail "renewal: $(body)"
    # writes with a ticket need the CSRF header; with a token they do not
    AUTH="-b PVEAuthCookie=$ticket" expect 401 POST /nodes/pve/lxc/100/status/start
    assert_eq "Permission denied - invalid csrf token" "$(reason)" "missing CSRF"
    AUTH="-b PVEAuthCookie=$ticket -H CSRFPreventionToken:$csrf" expect 500 POST /nodes/pve/lxc/100/status/start
    assert_eq "Configuration file 'nodes/pve/lxc/100.conf' does not exist" "$(reason)" "past auth"
    expect 500 POST /nodes/pve/lxc/100/status/start
    # an expired ticket (fault): refused; a new one works
    curl -sS --cacert "$PVE_EMU_CERT" -d '{"expire_tickets":true}' "$PVE_EMU_URL/emulator/fault" >/dev/null
    AUTH="-b PVEAuthCookie=$ticket" expect 401 GET /nodes
    AUTH=none expect 200 POST /access/ticket -d username=root@pam --data-urlencode "password=$PVE_EMU_PASSWORD"
    AUTH="-b PVEAuthCookie=$(jq -r .data.ticket "$RESP_BODY")" expect 200 GET /nodes
    emu_down
}

test_proxmox_emulator_root_only() {
    emu_up rootonly
    TMPL=$(upload_busybox)
    local common=(-d vmid=100 --data-urlencode "ostemplate=$TMPL")
    # a token is not root@pam: host paths, devices, hookscripts, feature flags of privileged CTs are refused
    expect 403 POST /nodes/pve/lxc "${common[@]}" --data-urlencode "rootfs=$EMU_DIR"
    assert_eq "Permission check failed (mount point type bind is only allowed for root@pam)" "$(reason)"
    expect 403 POST /nodes/pve/lxc "${common[@]}" --data-urlencode "mp0=/dev/sda1,mp=/mnt"
    assert_eq "Permission check failed (mount point type device is only allowed for root@pam)" "$(reason)"
    expect 403 POST /nodes/pve/lxc "${common[@]}" --data-urlencode "dev0=/dev/fuse"
    assert_eq "Permission check failed (configuring device passthrough is only allowed for root@pam)" "$(reason)"
    expect 403 POST /nodes/pve/lxc "${common[@]}" --data-urlencode "hookscript=local:snippets/h.pl"
    assert_eq "Permission check failed (changing the hookscript is only allowed for root@pam)" "$(reason)"
    expect 403 POST /nodes/pve/lxc "${common[@]}" --data-urlencode "features=nesting=1"
    assert_eq "Permission check failed (changing feature flags for privileged container is only allowed for root@pam)" "$(reason)"
    expect 403 POST /nodes/pve/lxc "${common[@]}" -d unprivileged=1 --data-urlencode "features=keyctl=1"
    assert_eq "Permission check failed (changing feature flags (except nesting) is only allowed for root@pam)" "$(reason)"
    expect 400 POST /nodes/pve/lxc/100/status/start -d skiplock=1
    # raw lxc.* keys are not API parameters at all (only root's config file edits set them)
    expect 400 POST /nodes/pve/lxc "${common[@]}" --data-urlencode "lxc.apparmor.profile=unconfined"
    assert_contains "$(jq -r '.errors["lxc.apparmor.profile"]' "$RESP_BODY")" "property is not defined in schema"
    # nothing was created by the refused calls
    expect 200 GET /nodes/pve/lxc
    assert_eq 0 "$(jq '.data | length' "$RESP_BODY")" "CTs after refused creates"
    # nesting on an unprivileged CT is allowed for a token; the CT runs in a user namespace (root = host 100000)
    create_ct 101 "/bin/sh -c 'id -u > /tmp/uid; exec sleep 60'" -d unprivileged=1 --data-urlencode "features=nesting=1"
    expect 200 GET /nodes/pve/lxc/101/config
    assert_eq "nesting=1" "$(jq -r .data.features "$RESP_BODY")" "features"
    local vol101="$EMU_DIR/storage/local/images/101/subvol-101-disk-0.subvol"
    [[ $(stat -c %u "$vol101/bin/busybox") == 100000 ]] || fail "unprivileged CT's files are not shifted to uid 100000"
    assert_eq OK "$(ct_task 101 start)" "start of the unprivileged CT"
    grep -qx 'lxc.idmap = u 0 100000 65536' "$PVE_EMU_LXCPATH/101/config" || fail "idmap: $(cat "$PVE_EMU_LXCPATH/101/config")"
    wait_file "$vol101/tmp/uid"
    assert_eq 0 "$(cat "$vol101/tmp/uid")" "uid inside"
    expect 200 GET /nodes/pve/lxc/101/status/current
    assert_eq 100000 "$(awk '/^Uid:/ {print $2}' "/proc/$(jq -r .data.pid "$RESP_BODY")/status")" "host uid of the init"
    assert_eq OK "$(ct_task 101 stop)" "stop 101"
    # root@pam with a ticket passes the same check
    AUTH=none expect 200 POST /access/ticket -d username=root@pam --data-urlencode "password=$PVE_EMU_PASSWORD"
    local t=(-b "PVEAuthCookie=$(jq -r .data.ticket "$RESP_BODY")" -H "CSRFPreventionToken:$(jq -r .data.CSRFPreventionToken "$RESP_BODY")")
    AUTH="${t[*]}" expect 200 POST /nodes/pve/lxc "${common[@]}" --data-urlencode "features=nesting=1" \
        --data-urlencode "rootfs=local:1" -d ostype=unmanaged
    assert_eq OK "$(wait_task "$(jq -r .data "$RESP_BODY")")" "root@pam create"
    local v
    for v in 100 101; do
        expect 200 DELETE "/nodes/pve/lxc/$v" -G -d purge=1
        assert_eq OK "$(wait_task "$(jq -r .data "$RESP_BODY")")" "destroy $v"
    done
    emu_down
}

test_proxmox_emulator_lifecycle() {
    emu_up lifecycle
    TMPL=$(upload_busybox)
    expect 200 GET /nodes/pve/storage/local/content --get -d content=vztmpl
    assert_eq "$TMPL" "$(jq -r '.data[0].volid' "$RESP_BODY")" "template listed"
    # create: the UPID comes back at once with lock=create set, the task unpacks the template
    curl -sS --cacert "$PVE_EMU_CERT" -d '{"slow_task_ms":3000}' "$PVE_EMU_URL/emulator/fault" >/dev/null
    expect 200 POST /nodes/pve/lxc -d vmid=100 --data-urlencode "ostemplate=$TMPL" \
        --data-urlencode "entrypoint=/bin/sh -c 'echo started-on-stderr >&2; echo \$MARK > /tmp/marker; exec sleep 300'" \
        --data-urlencode "env=MARK=hello-from-ct" -d console=0 -d cmode=console -d memory=128 -d swap=0 \
        -d cpulimit=1 -d cpuunits=512 -d hostname=web1 -d rootfs=local:1 -d tags=lxcri --data-urlencode "description=oci id x"
    local upid
    upid=$(jq -r .data "$RESP_BODY")
    [[ $upid =~ ^UPID:pve:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}:vzcreate:100:root@pam!lxcri:$ ]] || fail "UPID $upid"
    expect 200 GET /nodes/pve/lxc/100/status/current
    assert_eq create "$(jq -r .data.lock "$RESP_BODY")" "lock during create"
    expect 500 PUT /nodes/pve/lxc/100/config -d memory=256
    assert_eq "CT is locked (create)" "$(reason)" "config PUT during create"
    expect 500 POST /nodes/pve/lxc -d vmid=100 --data-urlencode "ostemplate=$TMPL"
    assert_eq "unable to create CT 100 - CT 100 already exists on node 'pve'" "$(reason)"
    expect 400 GET /cluster/nextid --get -d vmid=100
    assert_eq "VM 100 already exists" "$(jq -r .errors.vmid "$RESP_BODY")"
    # no ostype and no /etc/os-release: PVE warns and falls back to 'unmanaged'; a warning ends the task in
    # "TASK WARNINGS: 1", exitstatus "WARNINGS: 1" (clients must take it as success)
    assert_eq "WARNINGS: 1" "$(wait_task "$upid")" "create task"
    curl -sS --cacert "$PVE_EMU_CERT" -d '{"clear":true}' "$PVE_EMU_URL/emulator/fault" >/dev/null
    task_log "$upid" | tail -1 | grep -qx "TASK WARNINGS: 1" || fail "task log: $(task_log "$upid")"
    task_log "$upid" | grep -qx "WARN: /etc/os-release file not found and autodetection failed, falling back to 'unmanaged'" ||
        fail "task log: $(task_log "$upid")"
    expect 200 GET /nodes/pve/lxc/100/config
    assert_eq null "$(jq -r .data.lock "$RESP_BODY")" "lock after create"
    assert_eq "local:100/subvol-100-disk-0.subvol,size=1G" "$(jq -r .data.rootfs "$RESP_BODY")" "rootfs"
    assert_eq unmanaged "$(jq -r .data.ostype "$RESP_BODY")" "ostype"
    assert_eq 128 "$(jq -r .data.memory "$RESP_BODY")" "memory"
    local digest
    digest=$(jq -r .data.digest "$RESP_BODY")
    # PUT config answers null; a stale digest is refused
    expect 200 PUT /nodes/pve/lxc/100/config -d memory=192 -d "digest=$digest"
    assert_eq '{"data":null}' "$(body)" "PUT config"
    expect 500 PUT /nodes/pve/lxc/100/config -d memory=200 -d "digest=$digest"
    assert_eq "detected modified configuration - file changed by other user? Try again." "$(reason)"
    local vol="$EMU_DIR/storage/local/images/100/subvol-100-disk-0.subvol"
    [[ -x $vol/bin/busybox ]] || fail "the template was not unpacked into $vol"
    # start: the CT really runs; status/current gives the host pid of its init
    expect 500 POST /nodes/pve/lxc/100/status/stop
    assert_eq "CT 100 not running" "$(reason)"
    assert_eq OK "$(ct_task 100 start)" "start task"
    local cfg="$PVE_EMU_LXCPATH/100/config"
    grep -qx "lxc.init.cmd = /bin/sh -c 'echo started-on-stderr >&2; echo \$MARK > /tmp/marker; exec sleep 300'" "$cfg" ||
        fail "lxc.init.cmd: $(cat "$cfg")"
    # lxc.environment.runtime needs lxc >= 6.0 (PVE 9.1's lxc-pve); with Debian 12's liblxc 5.0 it is lxc.environment
    grep -Eqx 'lxc.environment(.runtime)? = MARK=hello-from-ct' "$cfg" || fail "env: $(cat "$cfg")"
    grep -qx 'lxc.console.path = none' "$cfg" || fail "console=0: $(cat "$cfg")"
    grep -qx 'lxc.uts.name = web1' "$cfg" || fail "hostname: $(cat "$cfg")"
    grep -qx "lxc.rootfs.path = $vol" "$cfg" || fail "rootfs: $(cat "$cfg")"
    grep -Eqx 'lxc.cgroup2?\.memory\.(limit_in_bytes|max) = 201326592' "$cfg" || fail "memory: $(cat "$cfg")"
    expect 200 GET /nodes/pve/lxc/100/status/current
    assert_eq running "$(jq -r .data.status "$RESP_BODY")" "status"
    local pid
    pid=$(jq -r .data.pid "$RESP_BODY")
    pid_alive "$pid" || fail "status/current pid $pid is not alive"
    assert_eq "$(lxc-info -n 100 -P "$PVE_EMU_LXCPATH" -p -H)" "$pid" "pid vs lxc-info"
    wait_file "$vol/tmp/marker"
    assert_eq hello-from-ct "$(cat "$vol/tmp/marker")" "the CT's own write (env from the API)"
    assert_eq hello-from-ct "$(cat "/proc/$pid/root/tmp/marker")" "the file through the init's /proc root"
    assert_eq web1 "$(nsenter -t "$pid" -u hostname)" "hostname inside"
    grep -q started-on-stderr "$EMU_DIR/ct-100.stderr" || fail "ct-100.stderr: $(cat "$EMU_DIR/ct-100.stderr")"
    expect 500 POST /nodes/pve/lxc/100/status/start
    assert_eq "CT 100 already running" "$(reason)"
    expect 500 DELETE /nodes/pve/lxc/100
    assert_eq "unable to destroy CT 100 - container is running" "$(reason)"
    expect 200 GET /cluster/resources --get -d type=vm
    assert_eq running "$(jq -r '.data[] | select(.vmid == 100) | .status' "$RESP_BODY")" "cluster/resources"
    # suspend/resume freeze the CT
    assert_eq OK "$(ct_task 100 suspend)" "suspend"
    assert_eq OK "$(ct_task 100 resume)" "resume"
    # stop, destroy: nothing left
    assert_eq OK "$(ct_task 100 stop)" "stop task"
    pid_alive "$pid" && fail "init $pid still alive after stop"
    expect 200 GET /nodes/pve/lxc/100/status/current
    assert_eq stopped "$(jq -r .data.status "$RESP_BODY")" "status after stop"
    mkdir "$EMU_DIR/storage/local/images/100/subvol-100-disk-9.subvol"  # an unreferenced volume of this VMID
    expect 200 DELETE /nodes/pve/lxc/100 -G -d purge=1 -d destroy-unreferenced-disks=1
    upid=$(jq -r .data "$RESP_BODY")
    [[ $upid == *:vzdestroy:100:* ]] || fail "destroy UPID $upid"
    assert_eq OK "$(wait_task "$upid")" "destroy task"
    expect 500 GET /nodes/pve/lxc/100/config
    [[ ! -e $vol && ! -e $EMU_DIR/storage/local/images/100 ]] || fail "volume left: $vol"
    [[ ! -e $PVE_EMU_LXCPATH/100 ]] || fail "lxc dir left"
    [[ -z $(lxc-ls -P "$PVE_EMU_LXCPATH" -1) ]] || fail "lxc containers left: $(lxc-ls -P "$PVE_EMU_LXCPATH")"
    ! grep -q "$EMU_DIR" /proc/self/mountinfo || fail "mounts left under $EMU_DIR"
    # the template can go too
    expect 200 DELETE "/nodes/pve/storage/local/content/$(uri "$TMPL")"
    assert_eq OK "$(wait_task "$(jq -r .data "$RESP_BODY")")" "template delete"
    expect 200 GET /nodes/pve/storage/local/content
    assert_eq 0 "$(jq '.data | length' "$RESP_BODY")" "storage content after delete"
    emu_down
}

# with_resp PREFIX CMD...: CMD with its own response files (for calls run in parallel).
with_resp() {
    local RESP_BODY="$1.body" RESP_HEAD="$1.head"
    shift
    "$@"
}

test_proxmox_emulator_races() {
    emu_up races
    TMPL=$(upload_busybox)
    # four creates of one VMID at once (two clients that both asked /cluster/nextid): one wins, the others get
    # PVE's "already exists" at once, without a UPID. (`wait` names its jobs: the emulator is a child too.)
    local i pids=() codes=()
    for i in 1 2 3 4; do
        with_resp "$EMU_DIR/race$i" api POST /nodes/pve/lxc -d vmid=100 --data-urlencode "ostemplate=$TMPL" \
            -d rootfs=local:1 -d ostype=unmanaged --data-urlencode "entrypoint=/bin/sleep 60" >"$EMU_DIR/race$i.code" &
        pids+=($!)
    done
    wait "${pids[@]}"
    for i in 1 2 3 4; do codes+=("$(cat "$EMU_DIR/race$i.code")"); done
    assert_eq "1 3" "$(printf '%s\n' "${codes[@]}" | grep -c '^200$') $(printf '%s\n' "${codes[@]}" | grep -c '^500$')" "codes ${codes[*]}"
    [[ $(grep -h -o "unable to create CT 100 - CT 100 already exists on node 'pve'" "$EMU_DIR"/race*.body | wc -l) == 3 ]] ||
        fail "losers' messages: $(cat "$EMU_DIR"/race*.body)"
    local winner
    winner=$(grep -l '"data":"UPID:' "$EMU_DIR"/race*.body)
    assert_eq OK "$(wait_task "$(jq -r .data "$winner")")" "the winner's create"
    # parallel creates, starts and destroys of distinct CTs
    pids=()
    for i in 101 102 103; do
        (with_resp "$EMU_DIR/p$i" create_ct "$i" "/bin/sh -c 'exec sleep 60'" && echo ok >"$EMU_DIR/p$i.ok") &
        pids+=($!)
    done
    wait "${pids[@]}" || true
    for i in 101 102 103; do [[ -e $EMU_DIR/p$i.ok ]] || fail "parallel create of $i failed"; done
    pids=()
    for i in 100 101 102 103; do
        (with_resp "$EMU_DIR/s$i" ct_task "$i" start >"$EMU_DIR/s$i.out") &
        pids+=($!)
    done
    wait "${pids[@]}" || true
    for i in 100 101 102 103; do assert_eq OK "$(cat "$EMU_DIR/s$i.out")" "parallel start of $i"; done
    expect 200 GET /nodes/pve/lxc
    assert_eq 4 "$(jq '[.data[] | select(.status == "running")] | length' "$RESP_BODY")" "running CTs"
    pids=()
    for i in 100 101 102 103; do
        (with_resp "$EMU_DIR/d$i" destroy_ct "$i" >"$EMU_DIR/d$i.out") &
        pids+=($!)
    done
    wait "${pids[@]}" || true
    # a forced destroy of a running CT warns ("forced to stop CT N before destroying!")
    for i in 100 101 102 103; do assert_eq "WARNINGS: 1" "$(cat "$EMU_DIR/d$i.out")" "parallel destroy of $i"; done
    [[ -z $(lxc-ls -P "$PVE_EMU_LXCPATH" -1) ]] || fail "CTs left: $(lxc-ls -P "$PVE_EMU_LXCPATH")"
    [[ -z $(ls "$EMU_DIR/storage/local/images") ]] || fail "volumes left"
    emu_down
}

# destroy_ct VMID: DELETE with force and purge, wait; prints the exitstatus.
destroy_ct() {
    expect 200 DELETE "/nodes/pve/lxc/$1" -G -d force=1 -d purge=1
    wait_task "$(jq -r .data "$RESP_BODY")"
}

test_proxmox_emulator_init_exit() {
    emu_up initexit
    TMPL=$(upload_busybox)
    # when the CT's init exits by itself the CT is stopped (lxc-start -F returns), and can start again
    # first run: exits after 1 s; later runs stay (sleep as PID 1 ignores the shutdown's SIGPWR)
    create_ct 100 "/bin/sh -c 'echo run >> /tmp/runs; [ \$(wc -l < /tmp/runs) -ge 2 ] && exec sleep 300; sleep 1'"
    assert_eq OK "$(ct_task 100 start)" "start"
    local st=""
    for _ in $(seq 100); do
        expect 200 GET /nodes/pve/lxc/100/status/current
        st=$(jq -r .data.status "$RESP_BODY")
        [[ $st == stopped ]] && break
        sleep 0.1
    done
    assert_eq stopped "$st" "status after the init exited"
    assert_eq OK "$(ct_task 100 start)" "second start"
    # shutdown: lxc-stop --nokill --timeout fails on an init that ignores SIGPWR; forceStop=1 kills it then
    expect 200 POST /nodes/pve/lxc/100/status/shutdown -d timeout=1
    assert_contains "$(wait_task "$(jq -r .data "$RESP_BODY")")" "failed" "shutdown without forceStop"
    expect 200 GET /nodes/pve/lxc/100/status/current
    assert_eq running "$(jq -r .data.status "$RESP_BODY")" "status after a failed shutdown"
    expect 200 POST /nodes/pve/lxc/100/status/shutdown -d timeout=1 -d forceStop=1
    assert_eq OK "$(wait_task "$(jq -r .data "$RESP_BODY")")" "shutdown with forceStop"
    expect 200 GET /nodes/pve/lxc/100/status/current
    assert_eq stopped "$(jq -r .data.status "$RESP_BODY")" "status after shutdown"
    assert_eq 2 "$(wc -l <"$EMU_DIR/storage/local/images/100/subvol-100-disk-0.subvol/tmp/runs")" "runs"
    # SIGTERM to the emulator stops what runs and leaves nothing (emu_down checks)
    assert_eq OK "$(ct_task 100 start)" "third start"
    emu_down
    [[ -z $(lxc-ls -P "$PVE_EMU_LXCPATH" --running -1) ]] || fail "CT still running after the emulator stopped"
}

test_proxmox_emulator_faults() {
    emu_up faults
    TMPL=$(upload_busybox)
    local fault="$PVE_EMU_URL/emulator/fault"
    # a create task that fails mid-way leaves no CT, volume or config
    curl -sS --cacert "$PVE_EMU_CERT" -d '{"task_error":"vzcreate"}' "$fault" >/dev/null
    expect 200 POST /nodes/pve/lxc -d vmid=100 --data-urlencode "ostemplate=$TMPL" -d rootfs=local:1
    local upid st
    upid=$(jq -r .data "$RESP_BODY")
    st=$(wait_task "$upid")
    assert_contains "$st" "emulated fault"
    task_log "$upid" | tail -1 | grep -q "^TASK ERROR: emulated fault" || fail "log: $(task_log "$upid")"
    expect 500 GET /nodes/pve/lxc/100/config
    [[ ! -e $EMU_DIR/storage/local/images/100 ]] || fail "volume left after a failed create"
    [[ ! -e $EMU_DIR/pve/nodes/pve/lxc/100.conf ]] || fail "config left after a failed create"
    # a template with a member outside the tree is refused; nothing is written outside, nothing left
    curl -sS --cacert "$PVE_EMU_CERT" -d '{"clear":true}' "$fault" >/dev/null
    python3 - "$EMU_DIR/storage/local/template/cache/evil.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    for name in ("bin", "../evil-outside"):
        ti = tarfile.TarInfo(name)
        data = b"x"
        if name == "bin":
            ti.type = tarfile.DIRTYPE
            t.addfile(ti)
        else:
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
PY
    expect 200 POST /nodes/pve/lxc -d vmid=100 -d ostemplate=local:vztmpl/evil.tar -d rootfs=local:1
    assert_contains "$(wait_task "$(jq -r .data "$RESP_BODY")")" "refusing to extract '../evil-outside'"
    [[ ! -e $EMU_DIR/storage/local/images/evil-outside && ! -e $EMU_DIR/storage/local/images/100 ]] ||
        fail "evil template left something"
    expect 500 GET /nodes/pve/lxc/100/config
    # a start task that fails: TASK ERROR, the CT stays stopped
    curl -sS --cacert "$PVE_EMU_CERT" -d '{"clear":true}' "$fault" >/dev/null
    create_ct 100 "/bin/sh -c 'sleep 30'"
    curl -sS --cacert "$PVE_EMU_CERT" -d '{"task_error":"vzstart"}' "$fault" >/dev/null
    assert_contains "$(ct_task 100 start)" "emulated fault" "start with the fault"
    expect 200 GET /nodes/pve/lxc/100/status/current
    assert_eq stopped "$(jq -r .data.status "$RESP_BODY")" "status"
    # a netN on a bridge that does not exist fails the start as PVE's read_bridge_mtu does
    curl -sS --cacert "$PVE_EMU_CERT" -d '{"clear":true}' "$fault" >/dev/null
    create_ct 101 "/bin/sh -c 'sleep 30'" --data-urlencode "net0=name=eth0,bridge=nosuchbr0,ip=dhcp"
    assert_eq "bridge 'nosuchbr0' does not exist" "$(ct_task 101 start)" "start with a missing bridge"
    expect 200 DELETE /nodes/pve/lxc/101
    assert_eq OK "$(wait_task "$(jq -r .data "$RESP_BODY")")" "destroy 101"
    # HTTP 500 for a path prefix
    curl -sS --cacert "$PVE_EMU_CERT" -d '{"clear":true,"http500":"/nodes/pve/lxc"}' "$fault" >/dev/null
    expect 500 GET /nodes/pve/lxc/100/status/current
    expect 200 GET /version
    # a slow task stays "running" for a while
    curl -sS --cacert "$PVE_EMU_CERT" -d '{"clear":true,"slow_task_ms":3000}' "$fault" >/dev/null
    expect 200 POST /nodes/pve/lxc/100/status/start
    upid=$(jq -r .data "$RESP_BODY")
    expect 200 GET "/nodes/pve/tasks/$(uri "$upid")/status"
    assert_eq running "$(jq -r .data.status "$RESP_BODY")" "slow task"
    assert_eq null "$(jq -r .data.exitstatus "$RESP_BODY")" "no exitstatus while running"
    assert_eq OK "$(wait_task "$upid")" "slow start"
    # an unknown fault key is refused
    [[ $(curl -sS --cacert "$PVE_EMU_CERT" -o /dev/null -w '%{http_code}' -d '{"nope":1}' "$fault") == 400 ]] ||
        fail "unknown fault accepted"
    curl -sS --cacert "$PVE_EMU_CERT" -d '{"clear":true}' "$fault" >/dev/null
    expect 200 DELETE /nodes/pve/lxc/100 -G -d force=1
    upid=$(jq -r .data "$RESP_BODY")
    assert_eq "WARNINGS: 1" "$(wait_task "$upid")" "destroy --force of a running CT"
    task_log "$upid" | grep -qx "WARN: forced to stop CT 100 before destroying!" || fail "log: $(task_log "$upid")"
    [[ -z $(lxc-ls -P "$PVE_EMU_LXCPATH" -1) ]] || fail "CT left after force destroy"
    emu_down
    # a host that refuses connections is a port with no emulator: curl exits 7 (connection refused)
    local rc=0
    curl -sS --cacert "$PVE_EMU_CERT" -o /dev/null "$PVE_EMU_URL/api2/json/version" 2>/dev/null || rc=$?
    assert_eq 7 "$rc" "curl exit code against the stopped emulator's port"
}

test_proxmox_emulator_mount_points() {
    emu_up mp
    TMPL=$(upload_busybox)
    mkdir -p "$EMU_DIR/hostdir"
    echo from-host >"$EMU_DIR/hostdir/in"
    # a volume mount point with a token; a host path (bind) needs root@pam: a ticket
    expect 403 POST /nodes/pve/lxc -d vmid=100 --data-urlencode "ostemplate=$TMPL" \
        --data-urlencode "mp1=$EMU_DIR/hostdir,mp=/host,ro=1"
    AUTH=none expect 200 POST /access/ticket -d username=root@pam --data-urlencode "password=$PVE_EMU_PASSWORD"
    local t=(-b "PVEAuthCookie=$(jq -r .data.ticket "$RESP_BODY")" -H "CSRFPreventionToken:$(jq -r .data.CSRFPreventionToken "$RESP_BODY")")
    AUTH="${t[*]}" expect 200 POST /nodes/pve/lxc -d vmid=100 --data-urlencode "ostemplate=$TMPL" -d rootfs=local:1 -d ostype=unmanaged \
        --data-urlencode "mp0=local:1,mp=/data,backup=1" --data-urlencode "mp1=$EMU_DIR/hostdir,mp=/host,ro=1" \
        --data-urlencode "entrypoint=/bin/sh -c 'echo in-volume > /data/f; cat /host/in > /data/copy; touch /host/rw 2>/dev/null || echo ro > /data/ro; exec sleep 60'" \
        -d console=0
    assert_eq OK "$(wait_task "$(jq -r .data "$RESP_BODY")")" "create with mount points"
    expect 200 GET /nodes/pve/lxc/100/config
    assert_eq "local:100/subvol-100-disk-1.subvol,mp=/data,backup=1,size=1G" "$(jq -r .data.mp0 "$RESP_BODY")" "mp0"
    assert_eq "$EMU_DIR/hostdir,mp=/host,ro=1" "$(jq -r .data.mp1 "$RESP_BODY")" "mp1"
    assert_eq OK "$(ct_task 100 start)" "start"
    local mpvol="$EMU_DIR/storage/local/images/100/subvol-100-disk-1.subvol"
    wait_file "$mpvol/ro"
    assert_eq in-volume "$(cat "$mpvol/f")" "write into the volume mount point"
    assert_eq from-host "$(cat "$mpvol/copy")" "read through the bind mount point"
    [[ ! -e $EMU_DIR/hostdir/rw ]] || fail "ro=1 bind mount point was writable"
    ! grep -q "$EMU_DIR" /proc/self/mountinfo || fail "the emulator mounted something on the host"
    expect 200 DELETE /nodes/pve/lxc/100 -G -d force=1
    assert_eq "WARNINGS: 1" "$(wait_task "$(jq -r .data "$RESP_BODY")")" "destroy (forced stop)"
    [[ ! -e $EMU_DIR/storage/local/images/100 ]] || fail "mount point volume left"
    assert_eq from-host "$(cat "$EMU_DIR/hostdir/in")" "a bind mount point's host dir is not the CT's to remove"
    emu_down
}

test_proxmox_emulator_template_clone() {
    emu_up clone
    TMPL=$(upload_busybox)
    create_ct 100 "/bin/sh -c 'cat /data; sleep 30'" --data-urlencode "net0=name=eth0,hwaddr=BC:24:11:00:00:01,ip=dhcp"
    echo original >"$EMU_DIR/storage/local/images/100/subvol-100-disk-0.subvol/data"
    # a full clone of a stopped CT: a copy of its volume, a new MAC, the source locked (disk) meanwhile
    expect 200 POST /nodes/pve/lxc/100/clone -d newid=101 -d hostname=copy1
    local upid
    upid=$(jq -r .data "$RESP_BODY")
    [[ $upid == *:vzclone:100:* ]] || fail "clone UPID $upid"
    assert_eq OK "$(wait_task "$upid")" "clone"
    assert_eq original "$(cat "$EMU_DIR/storage/local/images/101/subvol-101-disk-0.subvol/data")" "cloned data"
    expect 200 GET /nodes/pve/lxc/101/config
    assert_eq copy1 "$(jq -r .data.hostname "$RESP_BODY")" "clone hostname"
    assert_eq "local:101/subvol-101-disk-0.subvol,size=1G" "$(jq -r .data.rootfs "$RESP_BODY")" "clone rootfs"
    [[ $(jq -r .data.net0 "$RESP_BODY") != *BC:24:11:00:00:01* ]] || fail "the clone kept the MAC"
    expect 200 GET /nodes/pve/lxc/100/config
    assert_eq null "$(jq -r .data.lock "$RESP_BODY")" "source lock after the clone"
    expect 500 POST /nodes/pve/lxc/100/clone -d newid=101
    assert_eq "unable to create CT 101 - CT 101 already exists on node 'pve'" "$(reason)"
    # a running CT clones only from a snapshot; a dir storage has no snapshots
    assert_eq OK "$(ct_task 101 start)" "start the clone"
    expect 500 POST /nodes/pve/lxc/101/clone -d newid=102
    assert_eq "Full clone of a running container is only possible from a snapshot" "$(reason)"
    expect 200 POST /nodes/pve/lxc/101/snapshot -d snapname=s1
    assert_eq "snapshot feature is not available" "$(wait_task "$(jq -r .data "$RESP_BODY")")" "snapshot on dir"
    expect 500 POST /nodes/pve/lxc/101/template
    assert_eq "you can't convert a CT to template if the CT is running" "$(reason)"
    # template: answers null (PVE drops the vztemplate UPID); the volume becomes a base volume
    expect 200 POST /nodes/pve/lxc/100/template
    assert_eq '{"data":null}' "$(body)" "template answer"
    local tf=""
    for _ in $(seq 100); do
        expect 200 GET /nodes/pve/lxc/100/config
        tf=$(jq -r .data.template "$RESP_BODY")
        [[ $tf == 1 ]] && break
        sleep 0.05
    done
    assert_eq 1 "$tf" "template flag"
    assert_eq "local:100/basevol-100-disk-0.subvol,size=1G" "$(jq -r .data.rootfs "$RESP_BODY")" "template rootfs"
    assert_eq "you can't start a CT if it's a template" "$(ct_task 100 start)" "start a template"
    expect 500 POST /nodes/pve/lxc/100/template
    assert_eq "you can't convert a template to a template" "$(reason)"
    # a linked clone needs storage support (dir subvols have none); a full clone of the template works
    expect 500 POST /nodes/pve/lxc/100/clone -d newid=102
    assert_eq "Linked clone feature for 'local:100/basevol-100-disk-0.subvol' is not available" "$(reason)"
    expect 200 POST /nodes/pve/lxc/100/clone -d newid=102 -d full=1
    assert_eq OK "$(wait_task "$(jq -r .data "$RESP_BODY")")" "full clone of the template"
    # a clone task that fails leaves no target behind
    curl -sS --cacert "$PVE_EMU_CERT" -d '{"task_error":"vzclone"}' "$PVE_EMU_URL/emulator/fault" >/dev/null
    expect 200 POST /nodes/pve/lxc/100/clone -d newid=103 -d full=1
    assert_contains "$(wait_task "$(jq -r .data "$RESP_BODY")")" "emulated fault"
    expect 500 GET /nodes/pve/lxc/103/config
    [[ ! -e $EMU_DIR/storage/local/images/103 ]] || fail "volume of a failed clone left"
    curl -sS --cacert "$PVE_EMU_CERT" -d '{"clear":true}' "$PVE_EMU_URL/emulator/fault" >/dev/null
    local v want
    for v in 100 101 102; do
        expect 200 DELETE "/nodes/pve/lxc/$v" -G -d force=1
        want=OK
        [[ $v == 101 ]] && want="WARNINGS: 1"  # 101 runs: a forced stop warns
        assert_eq "$want" "$(wait_task "$(jq -r .data "$RESP_BODY")")" "destroy $v"
    done
    [[ -z $(ls "$EMU_DIR/storage/local/images") ]] || fail "volumes left: $(ls "$EMU_DIR/storage/local/images")"
    emu_down
}

test_proxmox_emulator_validator_unit() {
    emu_only_once
    command -v python3 >/dev/null || skip "python3 not installed"
    local out rc=0
    out=$(python3 -m unittest discover -s "$E2E_DIR/../pve-emulator" -p 'test_*.py' -v 2>&1) || rc=$?
    echo "$out" | tail -n 40
    ((rc == 0)) || fail "the validator's unit tests failed (rc=$rc)"
    [[ $out == *"OK"* ]] || fail "no unittest result line"
}

# ---------------------------------------------------------------------------------------------- issue 16: zfspool,
# snapshots, templates and linked clones, locks, two nodes, migration, HA, mid-task failures

# fault JSON: sets emulator faults (POST /emulator/fault).
fault() {
    curl -sS --cacert "$PVE_EMU_CERT" -d "$1" "$PVE_EMU_URL/emulator/fault" >/dev/null || fail "fault $1"
}

# task_of METHOD PATH [curl args]: a call that must answer a UPID; waits for it and prints its exitstatus.
task_of() {
    expect 200 "$@"
    local upid
    upid=$(jq -r .data "$RESP_BODY")
    [[ $upid == UPID:* ]] || fail "$1 $2 answered $(body)"
    wait_task "$upid" 60
}

# emu_wait_status NODE VMID STATUS: polls status/current until it shows STATUS (30 s).
emu_wait_status() {
    local n
    for n in $(seq 300); do
        if [[ $(api GET "/nodes/$1/lxc/$2/status/current") == 200 && $(jq -r .data.status "$RESP_BODY") == "$3" ]]; then
            return 0
        fi
        sleep 0.1
    done
    fail "CT $2 on $1 not $3 after 30 s: $(body)"
}

# conf_of NODE VMID KEY: a key of the CT's config (null when unset).
conf_of() {
    expect 200 GET "/nodes/$1/lxc/$2/config"
    jq -r ".data[\"$3\"]" "$RESP_BODY"
}

zmnt() { zfs get -H -o value mountpoint "$1"; }

test_proxmox_emulator_zfs_snapshot_rollback() {
    emu_zfs_up snap
    emu_up zsnap --storage "$EMU_ZFS_STORAGE"
    TMPL=$(upload_busybox)
    # a CT volume on a zfspool storage is a dataset subvol-VMID-disk-0 with the size as refquota
    create_ct 100 "/bin/sh -c 'exec sleep 300'" --data-urlencode rootfs=tank:1
    assert_eq "tank:subvol-100-disk-0,size=1G" "$(conf_of pve 100 rootfs)" "rootfs on zfspool"
    local ds="$EMU_POOL/pve/subvol-100-disk-0" mnt
    assert_eq 1G "$(zfs get -H -o value refquota "$ds")" "refquota"
    mnt=$(zmnt "$ds")
    [[ -x $mnt/bin/busybox ]] || fail "template not unpacked into the dataset at $mnt"
    assert_eq OK "$(ct_task 100 start)" "start on zfspool"
    grep -qx "lxc.rootfs.path = $mnt" "$PVE_EMU_LXCPATH/100/config" || fail "lxc.rootfs.path: $(grep rootfs "$PVE_EMU_LXCPATH/100/config")"
    echo before >"$mnt/root/file"
    # snapshot: a zfs snapshot of every volume, the config's section, parent
    expect 500 POST /nodes/pve/lxc/100/snapshot -d snapname=current
    assert_eq "unable to use snapshot name 'current' (reserved name)" "$(reason)"
    assert_eq OK "$(task_of POST /nodes/pve/lxc/100/snapshot -d snapname=s1 -d description=first)" "snapshot s1"
    zfs list -H -o name "$ds@s1" >/dev/null || fail "no zfs snapshot $ds@s1"
    expect 200 GET /nodes/pve/lxc/100/snapshot
    assert_eq "s1 first" "$(jq -r '.data[] | select(.name=="s1") | "\(.name) \(.description)"' "$RESP_BODY")" "listed"
    assert_eq "s1 1" "$(jq -r '.data[] | select(.name=="current") | "\(.parent) \(.running)"' "$RESP_BODY")" "current"
    assert_eq null "$(conf_of pve 100 lock)" "no lock after the snapshot"
    assert_eq "snapshot name 's1' already used" "$(task_of POST /nodes/pve/lxc/100/snapshot -d snapname=s1)"
    echo after >"$mnt/root/file"
    assert_eq OK "$(task_of POST /nodes/pve/lxc/100/snapshot -d snapname=s2)" "snapshot s2"
    # only the most recent snapshot can be rolled back to (ZFSPoolPlugin volume_rollback_is_possible)
    assert_eq "can't rollback, 's1' is not most recent snapshot on 'tank:subvol-100-disk-0'" \
        "$(task_of POST /nodes/pve/lxc/100/snapshot/s1/rollback)"
    assert_eq "snapshot 'nope' does not exist" "$(task_of POST /nodes/pve/lxc/100/snapshot/nope/rollback)"
    assert_eq OK "$(task_of DELETE /nodes/pve/lxc/100/snapshot/s2)" "delete s2"
    zfs list -H -o name "$ds@s2" >/dev/null 2>&1 && fail "zfs snapshot s2 left after its delete"
    # rollback of a running CT: stopped, rolled back, started again with start=1; the file is as it was
    local pid1 pid2
    expect 200 GET /nodes/pve/lxc/100/status/current
    pid1=$(jq -r .data.pid "$RESP_BODY")
    assert_eq OK "$(task_of POST /nodes/pve/lxc/100/snapshot/s1/rollback -d start=1)" "rollback"
    assert_eq before "$(cat "$(zmnt "$ds")/root/file")" "file after the rollback"
    emu_wait_status pve 100 running
    pid2=$(jq -r .data.pid "$RESP_BODY")
    [[ $pid2 != "$pid1" ]] || fail "the CT was not restarted by the rollback"
    pid_alive "$pid1" && fail "the old init $pid1 still runs"
    assert_eq "s1" "$(conf_of pve 100 parent)" "parent after the rollback"
    # a running CT is full-cloned only from a snapshot (zfs send|recv of it)
    expect 500 POST /nodes/pve/lxc/100/clone -d newid=101
    assert_eq "Full clone of a running container is only possible from a snapshot" "$(reason)"
    echo changed >"$(zmnt "$ds")/root/file"
    assert_eq OK "$(task_of POST /nodes/pve/lxc/100/clone -d newid=101 -d snapname=s1)" "full clone from s1"
    assert_eq before "$(cat "$(zmnt "$EMU_POOL/pve/subvol-101-disk-0")/root/file")" "clone from the snapshot"
    assert_eq "" "$(zfs list -H -t snapshot -o name -r "$EMU_POOL/pve/subvol-101-disk-0")" "snapshots on the clone"
    assert_eq OK "$(task_of DELETE /nodes/pve/lxc/101)" "destroy the clone"
    # without start=1 the CT stays stopped
    assert_eq OK "$(task_of POST /nodes/pve/lxc/100/snapshot/s1/rollback)" "rollback without start"
    emu_wait_status pve 100 stopped
    assert_eq OK "$(task_of DELETE /nodes/pve/lxc/100/snapshot/s1)" "delete s1"
    assert_eq OK "$(task_of DELETE /nodes/pve/lxc/100)" "destroy"
    zfs list -H -o name "$ds" >/dev/null 2>&1 && fail "dataset $ds left after destroy"
    emu_down
}

test_proxmox_emulator_zfs_template_linked_clone() {
    emu_zfs_up tmpl
    emu_up ztmpl --storage "$EMU_ZFS_STORAGE"
    TMPL=$(upload_busybox)
    create_ct 100 "/bin/sh -c 'cat /data; exec sleep 300'" --data-urlencode rootfs=tank:1 \
        --data-urlencode "net0=name=eth0,hwaddr=BC:24:11:00:00:01,ip=dhcp"
    local pool="$EMU_POOL/pve"
    echo base >"$(zmnt "$pool/subvol-100-disk-0")/data"
    # template rules: no snapshots, stopped, not already a template
    assert_eq OK "$(task_of POST /nodes/pve/lxc/100/snapshot -d snapname=s1)" "snapshot"
    expect 500 POST /nodes/pve/lxc/100/template
    assert_eq "unable to create template, because CT contains snapshots" "$(reason)"
    assert_eq OK "$(task_of DELETE /nodes/pve/lxc/100/snapshot/s1)" "delete s1"
    # a linked clone needs a template: a zfs subvol that is not a base cannot be linked-cloned
    expect 500 POST /nodes/pve/lxc/100/clone -d newid=109 -d full=0
    assert_eq "Linked clone feature for 'tank:subvol-100-disk-0' is not available" "$(reason)"
    assert_eq null "$(conf_of pve 100 lock)" "source unlocked after the refused clone"
    expect 500 GET /nodes/pve/lxc/109/config
    assert_eq OK "$(ct_task 100 start)" "start"
    expect 500 POST /nodes/pve/lxc/100/template
    assert_eq "you can't convert a CT to template if the CT is running" "$(reason)"
    assert_eq OK "$(ct_task 100 stop)" "stop"
    # template: rename to basevol-100-disk-0 + snapshot __base__ (ZFSPoolPlugin create_base); answers null
    expect 200 POST /nodes/pve/lxc/100/template
    assert_eq '{"data":null}' "$(body)" "template answer"
    local n
    for n in $(seq 100); do [[ $(conf_of pve 100 template) == 1 ]] && break; sleep 0.1; done
    assert_eq "tank:basevol-100-disk-0,size=1G" "$(conf_of pve 100 rootfs)" "template rootfs"
    zfs list -H -o name "$pool/basevol-100-disk-0@__base__" >/dev/null || fail "no $pool/basevol-100-disk-0@__base__"
    zfs list -H -o name "$pool/subvol-100-disk-0" >/dev/null 2>&1 && fail "subvol-100-disk-0 still there"
    expect 500 POST /nodes/pve/lxc/100/template
    assert_eq "you can't convert a template to a template" "$(reason)"
    assert_eq "you can't take a snapshot if it's a template" "$(task_of POST /nodes/pve/lxc/100/snapshot -d snapname=s2)"
    # linked clone (full defaults to 0 for a template): a zfs clone of basevol@__base__; storage is refused
    expect 500 POST /nodes/pve/lxc/100/clone -d newid=101 -d storage=tank
    assert_eq "parameter 'storage' not allowed for linked clones" "$(reason)"
    assert_eq OK "$(task_of POST /nodes/pve/lxc/100/clone -d newid=101 -d hostname=linked1)" "linked clone"
    assert_eq "tank:basevol-100-disk-0/subvol-101-disk-0,size=1G" "$(conf_of pve 101 rootfs)" "clone rootfs"
    assert_eq "$pool/basevol-100-disk-0@__base__" "$(zfs get -H -o value origin "$pool/subvol-101-disk-0")" "origin"
    [[ $(conf_of pve 101 net0) != *BC:24:11:00:00:01* ]] || fail "the linked clone kept the MAC"
    assert_eq null "$(conf_of pve 100 lock)" "template unlocked after the clone"
    assert_eq OK "$(ct_task 101 start)" "start the linked clone"
    assert_eq base "$(cat "$(zmnt "$pool/subvol-101-disk-0")/data")" "the clone's data"
    # a full clone of the template: its own dataset, no origin
    assert_eq OK "$(task_of POST /nodes/pve/lxc/100/clone -d newid=102 -d full=1)" "full clone"
    assert_eq "-" "$(zfs get -H -o value origin "$pool/subvol-102-disk-0")" "full clone origin"
    assert_eq base "$(cat "$(zmnt "$pool/subvol-102-disk-0")/data")" "full clone data"
    # a base with linked clones cannot be destroyed (pve-storage vdisk_free); nothing is removed
    assert_eq "base volume 'basevol-100-disk-0' is still in use by linked clones" "$(task_of DELETE /nodes/pve/lxc/100)"
    assert_eq 1 "$(conf_of pve 100 template)" "template config kept"
    zfs list -H -o name "$pool/basevol-100-disk-0" >/dev/null || fail "base dataset destroyed"
    assert_eq "WARNINGS: 1" "$(task_of DELETE /nodes/pve/lxc/101 -G -d force=1)" "destroy the running linked clone"
    assert_eq OK "$(task_of DELETE /nodes/pve/lxc/100)" "destroy the template"
    assert_eq OK "$(task_of DELETE /nodes/pve/lxc/102)" "destroy the full clone"
    assert_eq "" "$(zfs list -H -o name -r "$pool" | grep -v "^$pool\$" || true)" "datasets left"
    # beside it, a template on the dir storage: linked clones refused (DirPlugin has no clone feature for subvols)
    create_ct 110 "/bin/sh -c 'exec sleep 300'"
    expect 200 POST /nodes/pve/lxc/110/template
    for n in $(seq 100); do [[ $(conf_of pve 110 template) == 1 ]] && break; sleep 0.1; done
    expect 500 POST /nodes/pve/lxc/110/clone -d newid=111
    assert_eq "Linked clone feature for 'local:110/basevol-110-disk-0.subvol' is not available" "$(reason)"
    assert_eq null "$(conf_of pve 110 lock)" "dir template unlocked after the refusal"
    expect 500 GET /nodes/pve/lxc/111/config
    assert_eq OK "$(task_of DELETE /nodes/pve/lxc/110)" "destroy the dir template"
    emu_down
}

test_proxmox_emulator_locks() {
    emu_zfs_up lock
    emu_up lock --storage "$EMU_ZFS_STORAGE"
    TMPL=$(upload_busybox)
    create_ct 100 "/bin/sh -c 'exec sleep 300'" --data-urlencode rootfs=tank:1
    # clone: `disk` on the source and `create` on the target while the task runs
    fault '{"mid_task_ms":3000}'
    expect 200 POST /nodes/pve/lxc/100/clone -d newid=101
    local upid
    upid=$(jq -r .data "$RESP_BODY")
    assert_eq disk "$(conf_of pve 100 lock)" "source lock"
    assert_eq create "$(conf_of pve 101 lock)" "target lock"
    expect 500 PUT /nodes/pve/lxc/100/config -d memory=256
    assert_eq "CT is locked (disk)" "$(reason)" "config"
    expect 500 POST /nodes/pve/lxc/100/template
    assert_eq "CT is locked (disk)" "$(reason)" "template"
    expect 500 DELETE /nodes/pve/lxc/100
    assert_eq "CT is locked (disk)" "$(reason)" "destroy"
    expect 500 POST /nodes/pve/lxc/100/clone -d newid=102
    assert_eq "CT is locked (disk)" "$(reason)" "second clone"
    assert_eq "CT is locked (disk)" "$(task_of POST /nodes/pve/lxc/100/status/start)" "start"
    assert_eq "CT is locked (disk)" "$(task_of POST /nodes/pve/lxc/100/snapshot -d snapname=sx)" "snapshot"
    assert_eq "CT is locked (create)" "$(task_of POST /nodes/pve/lxc/101/status/start)" "start of the target"
    assert_eq OK "$(wait_task "$upid" 60)" "clone"
    assert_eq null "$(conf_of pve 100 lock)" "source unlocked"
    assert_eq null "$(conf_of pve 101 lock)" "target unlocked"
    # snapshot, rollback and snapshot-delete hold their own locks
    expect 200 POST /nodes/pve/lxc/100/snapshot -d snapname=s1
    upid=$(jq -r .data "$RESP_BODY")
    for _ in $(seq 50); do [[ $(conf_of pve 100 lock) == snapshot ]] && break; sleep 0.05; done
    assert_eq snapshot "$(conf_of pve 100 lock)" "snapshot lock"
    assert_eq "CT is locked (snapshot)" "$(task_of POST /nodes/pve/lxc/100/status/start)" "start during snapshot"
    assert_eq OK "$(wait_task "$upid" 60)" "snapshot"
    expect 200 POST /nodes/pve/lxc/100/snapshot/s1/rollback
    upid=$(jq -r .data "$RESP_BODY")
    for _ in $(seq 50); do [[ $(conf_of pve 100 lock) == rollback ]] && break; sleep 0.05; done
    assert_eq rollback "$(conf_of pve 100 lock)" "rollback lock"
    assert_eq "CT is locked (rollback)" "$(task_of DELETE /nodes/pve/lxc/100/snapshot/s1)" "delete during rollback"
    expect 500 POST /nodes/pve/lxc/100/template
    assert_eq "CT is locked (rollback)" "$(reason)" "template during rollback"
    assert_eq OK "$(wait_task "$upid" 60)" "rollback"
    fault '{"clear":true}'
    assert_eq OK "$(task_of DELETE /nodes/pve/lxc/100/snapshot/s1)" "delete s1"
    assert_eq OK "$(task_of DELETE /nodes/pve/lxc/101)" "destroy 101"
    assert_eq OK "$(task_of DELETE /nodes/pve/lxc/100)" "destroy 100"
    emu_down
}

# An init that ends on SIGPWR (lxc-stop's clean shutdown, PVE's shutdown) as a real init does: a bare sleep as
# PID 1 ignores it, and a clean stop would wait for its whole timeout.
EMU_INIT="/bin/sh -c 'trap \"exit 0\" PWR TERM; sleep 300 & wait'"

test_proxmox_emulator_migrate() {
    emu_zfs_up mig
    emu_up mig --node pve --node pve2 --storage "$EMU_ZFS_STORAGE"
    local lxc2
    lxc2=$(jq -r .nodes.pve2.lxcpath "$EMU_DIR/ready.json")
    [[ -n $lxc2 && $lxc2 != null && $lxc2 != "$PVE_EMU_LXCPATH" ]] || fail "pve2's lxcpath: $lxc2"
    expect 200 GET /nodes
    assert_eq "pve pve2" "$(jq -r '[.data[].node] | sort | join(" ")' "$RESP_BODY")" "nodes"
    TMPL=$(upload_busybox)
    create_ct 100 "$EMU_INIT"
    echo moved >"$EMU_DIR/storage/local/images/100/subvol-100-disk-0.subvol/data"
    assert_eq OK "$(ct_task 100 start)" "start on pve"
    expect 500 POST /nodes/pve/lxc/100/migrate -d target=pve2
    assert_eq "can't migrate running container without --online or --restart" "$(reason)"
    expect 400 POST /nodes/pve/lxc/100/migrate -d target=pve
    assert_eq "target is local node." "$(jq -r .errors.target "$RESP_BODY")" "local target"
    expect 500 POST /nodes/pve/lxc/100/migrate -d target=pve9 -d restart=1
    assert_eq "no such cluster node 'pve9'" "$(reason)"
    assert_eq "lxc live migration is currently not implemented" \
        "$(task_of POST /nodes/pve/lxc/100/migrate -d target=pve2 -d online=1)" "online"
    # restart mode: stopped on pve, config and volume moved (a copy: dir storages are not shared), started on pve2
    local upid
    expect 200 POST /nodes/pve/lxc/100/migrate -d target=pve2 -d restart=1
    upid=$(jq -r .data "$RESP_BODY")
    [[ $upid == UPID:pve:*:vzmigrate:100:* ]] || fail "migrate UPID $upid"
    assert_eq OK "$(wait_task "$upid" 60)" "migrate"
    task_log "$upid" | grep -q "migration finished successfully" || fail "log: $(task_log "$upid")"
    emu_wait_status pve2 100 running
    lxc-info -n 100 -P "$lxc2" -s | grep -q RUNNING || fail "CT 100 does not run under pve2's lxcpath $lxc2"
    lxc-info -n 100 -P "$PVE_EMU_LXCPATH" -s 2>/dev/null | grep -q RUNNING && fail "CT 100 still runs under pve's lxcpath"
    expect 500 GET /nodes/pve/lxc/100/status/current
    assert_eq "Configuration file 'nodes/pve/lxc/100.conf' does not exist" "$(reason)" "the CT on the wrong node"
    [[ -e $EMU_DIR/storage/local/images/100 ]] && fail "the source volume was left on pve"
    assert_eq moved "$(cat "$EMU_DIR/storage/local-pve2/images/100/subvol-100-disk-0.subvol/data")" "data on pve2"
    expect 200 GET /cluster/resources
    assert_eq pve2 "$(jq -r '.data[] | select(.id=="lxc/100") | .node' "$RESP_BODY")" "cluster resources"
    # zfspool: send/recv with the snapshots; a linked clone cannot leave its base's node
    create_ct 101 "$EMU_INIT" --data-urlencode rootfs=tank:1
    assert_eq OK "$(task_of POST /nodes/pve/lxc/101/snapshot -d snapname=s1)" "snapshot"
    assert_eq OK "$(task_of POST /nodes/pve/lxc/101/migrate -d target=pve2)" "migrate a stopped CT"
    assert_eq "tank:subvol-101-disk-0,size=1G" "$(conf_of pve2 101 rootfs)" "rootfs on pve2"
    zfs list -H -o name "$EMU_POOL/pve-pve2/subvol-101-disk-0@s1" >/dev/null || fail "dataset or snapshot not on pve2"
    zfs list -H -o name "$EMU_POOL/pve/subvol-101-disk-0" >/dev/null 2>&1 && fail "dataset left on pve"
    assert_eq OK "$(ct_task_on pve2 101 start)" "start on pve2"
    grep -q "lxc.rootfs.path = $(zmnt "$EMU_POOL/pve-pve2/subvol-101-disk-0")" "$lxc2/101/config" || fail "rootfs on pve2"
    # and back, stopped
    assert_eq OK "$(task_of POST /nodes/pve2/lxc/100/migrate -d target=pve -d restart=1)" "migrate back"
    emu_wait_status pve 100 running
    assert_eq "WARNINGS: 1" "$(task_of DELETE /nodes/pve/lxc/100 -G -d force=1)" "destroy 100"
    assert_eq "WARNINGS: 1" "$(task_of DELETE /nodes/pve2/lxc/101 -G -d force=1)" "destroy 101"
    emu_down
}

ct_task_on() {
    expect 200 POST "/nodes/$1/lxc/$2/status/$3"
    wait_task "$(jq -r .data "$RESP_BODY")"
}

test_proxmox_emulator_ha() {
    emu_up ha --node pve --node pve2
    local lxc2
    lxc2=$(jq -r .nodes.pve2.lxcpath "$EMU_DIR/ready.json")
    TMPL=$(upload_busybox)
    create_ct 100 "$EMU_INIT"
    expect 500 POST /cluster/ha/resources -d sid=ct:999
    expect 200 POST /cluster/ha/resources -d sid=ct:100 -d state=started
    assert_eq null "$(jq -r .data "$RESP_BODY")" "create answers null"
    # HA starts it
    emu_wait_status pve 100 running
    assert_eq "1 started" "$(jq -r '"\(.data.ha.managed) \(.data.ha.state)"' "$RESP_BODY")" "ha in status/current"
    expect 500 POST /cluster/ha/resources -d sid=100
    assert_eq "resource ID 'ct:100' already defined" "$(reason)"
    expect 200 GET /cluster/ha/resources
    assert_eq "ct:100 started" "$(jq -r '.data[] | "\(.sid) \(.state)"' "$RESP_BODY")" "ha list"
    # stop/start of an HA-managed CT only ask HA (hastop/hastart)
    expect 200 POST /nodes/pve/lxc/100/status/stop
    [[ $(jq -r .data "$RESP_BODY") == *:hastop:100:* ]] || fail "stop of an HA CT: $(body)"
    emu_wait_status pve 100 stopped
    expect 200 GET /cluster/ha/resources/ct:100
    assert_eq stopped "$(jq -r .data.state "$RESP_BODY")" "state after stop"
    expect 200 PUT /cluster/ha/resources/ct:100 -d state=started
    emu_wait_status pve 100 running
    # HA moves the CT to the other node (its node failed): the init is killed, the CT runs on pve2
    local pid1
    pid1=$(jq -r .data.pid "$RESP_BODY")
    fault '{"ha_move":100}'
    emu_wait_status pve2 100 running
    pid_alive "$pid1" && fail "the old init $pid1 survived the HA move"
    lxc-info -n 100 -P "$lxc2" -s | grep -q RUNNING || fail "CT 100 not running under $lxc2"
    expect 500 DELETE /nodes/pve2/lxc/100 -G -d force=1
    assert_eq "unable to remove CT 100 - used in HA resources and purge parameter not set." "$(reason)"
    expect 200 DELETE /cluster/ha/resources/ct:100
    expect 500 GET /cluster/ha/resources/ct:100
    assert_eq "no such resource 'ct:100'" "$(reason)"
    expect 500 DELETE /cluster/ha/resources/ct:100
    assert_eq "cannot delete service 'ct:100', not HA managed!" "$(reason)"
    assert_eq "WARNINGS: 1" "$(task_of DELETE /nodes/pve2/lxc/100 -G -d force=1)" "destroy"
    emu_down
}

test_proxmox_emulator_mid_task_failures() {
    emu_zfs_up fail
    emu_up fail --node pve --node pve2 --storage "$EMU_ZFS_STORAGE"
    TMPL=$(upload_busybox)
    local pool="$EMU_POOL/pve"
    create_ct 100 "$EMU_INIT" --data-urlencode rootfs=tank:1
    # mid-snapshot: the volume snapshot is made, then the task fails: the snapshot and its section are removed
    fault '{"task_error":"vzsnapshot"}'
    assert_eq "emulated fault: task vzsnapshot failed" "$(task_of POST /nodes/pve/lxc/100/snapshot -d snapname=s1)"
    assert_eq "" "$(zfs list -H -t snapshot -o name -r "$pool")" "zfs snapshots left"
    expect 200 GET /nodes/pve/lxc/100/snapshot
    assert_eq current "$(jq -r '[.data[].name] | join(" ")' "$RESP_BODY")" "snapshots listed"
    assert_eq null "$(conf_of pve 100 lock)" "lock after the failed snapshot"
    fault '{"clear":true}'
    # mid-clone: linked clone of a template fails after the zfs clone: no CT 101, no dataset
    expect 200 POST /nodes/pve/lxc/100/template
    for _ in $(seq 100); do [[ $(conf_of pve 100 template) == 1 ]] && break; sleep 0.1; done
    fault '{"task_error":"vzclone"}'
    local st
    st=$(task_of POST /nodes/pve/lxc/100/clone -d newid=101)
    assert_eq "clone failed: emulated fault: task vzclone failed" "$st" "clone"
    expect 500 GET /nodes/pve/lxc/101/config
    [[ -e $EMU_DIR/pve/nodes/pve/lxc/101.conf ]] && fail "101.conf left"
    zfs list -H -o name "$pool/subvol-101-disk-0" >/dev/null 2>&1 && fail "dataset of the failed clone left"
    assert_eq null "$(conf_of pve 100 lock)" "template lock after the failed clone"
    fault '{"clear":true}'
    # mid-migrate: the volume was copied to pve2, then the task fails: the copy is removed, the CT is back
    # and running on pve, unlocked
    create_ct 102 "$EMU_INIT" --data-urlencode rootfs=tank:1
    assert_eq OK "$(ct_task 102 start)" "start 102"
    fault '{"task_error":"vzmigrate"}'
    assert_eq "migration aborted" "$(task_of POST /nodes/pve/lxc/102/migrate -d target=pve2 -d restart=1)" "migrate"
    emu_wait_status pve 102 running
    assert_eq null "$(conf_of pve 102 lock)" "lock after the failed migration"
    zfs list -H -o name "$EMU_POOL/pve-pve2/subvol-102-disk-0" >/dev/null 2>&1 && fail "copy left on pve2"
    zfs list -H -o name "$pool/subvol-102-disk-0" >/dev/null || fail "source dataset gone"
    [[ -e $EMU_DIR/pve/nodes/pve2/lxc/102.conf ]] && fail "config on pve2"
    fault '{"clear":true}'
    assert_eq "WARNINGS: 1" "$(task_of DELETE /nodes/pve/lxc/102 -G -d force=1)" "destroy 102"
    assert_eq OK "$(task_of DELETE /nodes/pve/lxc/100)" "destroy 100"
    emu_down
}
