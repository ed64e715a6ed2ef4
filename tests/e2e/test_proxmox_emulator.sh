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
    pve_emu_start "$EMU_DIR"
    trap 'pve_emu_stop "$EMU_DIR" >/dev/null 2>&1 || true' EXIT
    RESP_HEAD="$EMU_DIR/resp.head"
    RESP_BODY="$EMU_DIR/resp.body"
}

# emu_down: stop the emulator; nothing may be left (no CT, no mount under its dir).
emu_down() {
    trap - EXIT
    pve_emu_stop "$EMU_DIR" || fail "the emulator left something behind"
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
        expect 200 GET "/nodes/pve/tasks/$(uri "$upid")/status"
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
    expect 200 GET "/nodes/pve/tasks/$(uri "$1")/log" --get --data limit=500
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
