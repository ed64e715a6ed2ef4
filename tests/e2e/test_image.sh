# shellcheck shell=bash
# Images through the built CLI, against a real registry: Debian's docker-registry on 127.0.0.1:<free port>
# (filesystem storage in the run's work dir), filled with `skopeo copy` from a two-layer busybox OCI layout
# (tests/unit/image/testdata/make_busybox_layout.sh: layer 2 whites out /etc/gone and adds /etc/layer2; the
# config runs `echo hello-from-image $FOO; id` as user app in /etc). Only our runtime has these commands.
# Every test starts its own registry on the shared data (and stops it on exit, failure included) and uses a
# private image store (--image-root) and storage root (--storage-root) under the work dir.

IMG_REPO=e2e/busybox:1

# Skips unless the runtime under test is ours and the image tools are installed.
img_require() {
    require_root
    [[ $(basename "$RUNTIME") == proxmox-lxcri ]] ||
        skip "image commands are proxmox-lxcri's own (RUNTIME=$RUNTIME)"
    local t
    for t in docker-registry skopeo umoci python3; do
        command -v "$t" >/dev/null || skip "$t not installed"
    done
    [[ -x /bin/busybox ]] || skip "/bin/busybox missing (busybox-static)"
}

# img_registry_start DATA-DIR LOG: registry_start, failing the test if it does not come up; the registry stops
# when the test's shell exits. Sets IMG_REGISTRY (host:port).
img_registry_start() {
    registry_start "$1" "$2" 2>"$2.err" || fail "$(cat "$2.err")"
    trap registry_stop EXIT
    IMG_REGISTRY=$REGISTRY_ADDR
}

# img_setup NAME: the test's registry (built and pushed once per run), image store and storage root. Sets
# IMG_REF (the pushed image), IMG_ROOT, IMG_STORAGE, IMG_TMP.
img_setup() {
    img_require
    local name=$1 shared="$E2E_WORK/image"
    mkdir -p "$shared"
    if [[ ! -e $shared/layout/index.json ]]; then
        sh "$E2E_DIR/../unit/image/testdata/make_busybox_layout.sh" "$shared/layout" bb >"$shared/layout.log" 2>&1 ||
            fail "building the busybox layout failed: $(cat "$shared/layout.log")"
    fi
    img_registry_start "$shared/registry" "$E2E_WORK/logs/$name.registry.log"
    if [[ ! -e $shared/pushed ]]; then
        skopeo copy --quiet --dest-tls-verify=false "oci:$shared/layout:bb" "docker://$IMG_REGISTRY/$IMG_REPO" ||
            fail "skopeo copy to the registry failed"
        touch "$shared/pushed"
    fi
    IMG_REF=$IMG_REGISTRY/$IMG_REPO
    IMG_TMP="$E2E_WORK/$name"
    IMG_ROOT="$IMG_TMP/images"
    IMG_STORAGE="$IMG_TMP/storage"
    mkdir -p "$IMG_TMP"
}

# The runtime with this run's state root and the test's image store.
irt() { rt --image-root "$IMG_ROOT" "$@"; }

img_pull() { irt image pull -q "$IMG_REF"; }

# The layout's manifest digest (what a pull must record).
img_layout_digest() { jq -r '.manifests[0].digest' "$E2E_WORK/image/layout/index.json"; }

# Lines of /proc/self/mountinfo under DIR (mount points only).
img_mounts_under() { awk -v d="$1" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo; }

# The memory limit (bytes) of the cgroup PID is in: cgroup v1 memory controller, else cgroup2.
img_memory_limit() {
    local pid=$1 path
    path=$(awk -F: '$2 == "memory" {print $3}' "/proc/$pid/cgroup")
    if [[ -n $path ]]; then
        cat "/sys/fs/cgroup/memory$path/memory.limit_in_bytes"
        return
    fi
    path=$(awk -F: '$1 == 0 {print $3}' "/proc/$pid/cgroup")
    local base=/sys/fs/cgroup
    [[ -d /sys/fs/cgroup/unified ]] && base=/sys/fs/cgroup/unified
    cat "$base$path/memory.max"
}

# ---------------------------------------------------------------------------------------------- tests

test_image_pull_list_inspect() {
    img_setup pull
    local digest want
    want=$(img_layout_digest)
    digest=$(img_pull)
    assert_eq "$want" "$digest" "pull -q output"
    # A second pull finds every blob present and records the same digest.
    assert_eq "$want" "$(img_pull)" "second pull"
    # JSON progress with --log-format json (on stderr), the digest on stdout.
    local out err
    out=$(irt --log-format json image pull "$IMG_REF" 2>"$IMG_TMP/progress.json")
    assert_eq "$want" "$out" "pull stdout"
    err=$(head -n 1 "$IMG_TMP/progress.json")
    jq -e '.level == "info"' <<<"$err" >/dev/null || fail "pull progress is not JSON: $err"

    local table
    table=$(irt image list)
    assert_contains "$(head -n 1 <<<"$table")" "NAME" "list header"
    assert_contains "$table" "$IMG_REF" "image list"
    assert_contains "$table" "${want:7:12}" "image list (short digest)"
    assert_eq "$IMG_REF" "$(irt image ls -q)" "image ls -q"
    local json
    json=$(irt image list --format json)
    assert_eq 1 "$(jq length <<<"$json")" "image list json length"
    assert_eq "$IMG_REF" "$(jq -r '.[0].name' <<<"$json")" "json name"
    assert_eq "$want" "$(jq -r '.[0].digest' <<<"$json")" "json digest"
    jq -e '.[0].size > 1000000' <<<"$json" >/dev/null || fail "json size: $json"

    local insp
    insp=$(irt image inspect "$IMG_REF")
    assert_eq "$want" "$(jq -r '.[0].digest' <<<"$insp")" "inspect digest"
    assert_eq 2 "$(jq '.[0].layers | length' <<<"$insp")" "inspect layers"
    assert_eq FOO=bar "$(jq -r '.[0].config.config.Env[] | select(startswith("FOO="))' <<<"$insp")" "inspect env"
    assert_eq app "$(jq -r '.[0].config.config.User' <<<"$insp")" "inspect user"
    # By digest prefix too.
    assert_eq "$IMG_REF" "$(irt image inspect "${want:7:12}" | jq -r '.[0].name')" "inspect by digest prefix"
    assert_fails_with "requires a minimum of 1" irt image inspect
    assert_fails_with "invalid format" irt image list --format yaml
}

test_image_run() {
    img_setup run
    img_pull >/dev/null
    snapshot_host "$IMG_TMP/host"
    local id out
    id=$(new_id imgrun)
    out=$(irt run --image "$IMG_REF" --storage-root "$IMG_STORAGE" "$id" -- echo hi)
    assert_eq hi "$out" "run --image ... -- echo hi"
    # Without arguments the image's Cmd runs, with its Env, User and WorkingDir.
    out=$(irt run --image "$IMG_REF" --storage-root "$IMG_STORAGE" "$id")
    assert_contains "$out" "hello-from-image bar" "image Cmd + Env"
    assert_contains "$out" "uid=1000(app)" "image User"
    out=$(irt run --image "$IMG_REF" --storage-root "$IMG_STORAGE" "$id" -- sh -c 'pwd; cat /etc/layer2; ls /etc')
    assert_eq /etc "$(head -n 1 <<<"$out")" "WorkingDir"
    assert_contains "$out" two "upper layer file"
    [[ $out != *gone* ]] || fail "whited-out /etc/gone is visible: $out"
    # The dir driver gives a full copy; the exit status is the container's.
    local rc=0
    irt run --image "$IMG_REF" --storage-root "$IMG_STORAGE" --storage-driver dir "$id" -- sh -c 'exit 7' || rc=$?
    assert_eq 7 "$rc" "exit status of run --image (dir driver)"
    [[ -z $(ls -A "$IMG_STORAGE/containers") ]] || fail "container storage left: $(ls -A "$IMG_STORAGE/containers")"
    [[ -z $(img_mounts_under "$IMG_STORAGE") ]] || fail "mounts left: $(img_mounts_under "$IMG_STORAGE")"
    assert_host_clean "$IMG_TMP/host" "$id"
}

test_image_create_lifecycle() {
    img_setup create
    img_pull >/dev/null
    local id pid before after
    id=$(new_id imgcreate)
    before=$(awk '{print $5}' /proc/self/mountinfo | sort)
    snapshot_host "$IMG_TMP/host"
    irt create --image "$IMG_REF" --memory 64 --name imghost --storage-root "$IMG_STORAGE" "$id" -- sleep 100 \
        </dev/null >/dev/null
    assert_eq created "$(state_field "$id" status)" "status after create"
    pid=$(state_field "$id" pid)
    assert_eq $((64 * 1024 * 1024)) "$(img_memory_limit "$pid")" "memory limit in the container's cgroup"
    local bundle
    bundle=$(state_field "$id" bundle)
    assert_contains "$bundle" "$IMG_STORAGE/containers/$id" "bundle under the storage root"
    assert_eq "$IMG_REF" "$(state_field "$id" 'annotations["org.opencontainers.image.ref.name"]')" "ref annotation"
    # The default driver is this host's: overlay where the kernel has overlayfs, else dir (a full copy).
    local driver=dir
    grep -qE '(^|\s)overlay$' /proc/filesystems && driver=overlay
    if [[ $driver == overlay ]]; then
        [[ -n $(img_mounts_under "$IMG_STORAGE/containers/$id") ]] || fail "no overlay rootfs mounted"
    else
        [[ -z $(img_mounts_under "$IMG_STORAGE/containers/$id") ]] || fail "dir driver: a rootfs mount"
    fi
    irt start "$id"
    wait_status "$id" running
    assert_eq imghost "$(irt exec "$id" hostname)" "--name sets the hostname"
    assert_eq "sleep 100" "$(irt exec "$id" cat /proc/1/cmdline | tr '\0' ' ' | sed 's/ $//')" "args after --"
    # The container writes into its own upper dir only.
    irt exec "$id" sh -c 'echo written > /tmp/new-file'
    if [[ $driver == overlay ]]; then
        [[ -e $IMG_STORAGE/containers/$id/upper/tmp/new-file ]] || fail "write did not land in the upper dir"
    fi
    irt kill "$id" KILL
    wait_status "$id" stopped
    irt delete "$id"
    assert_fails_with "does not exist" irt state "$id"
    [[ ! -e $IMG_STORAGE/containers/$id ]] || fail "container storage left: $IMG_STORAGE/containers/$id"
    after=$(awk '{print $5}' /proc/self/mountinfo | sort)
    [[ $before == "$after" ]] || fail "mounts differ after delete: $(diff <(echo "$before") <(echo "$after"))"
    assert_host_clean "$IMG_TMP/host" "$id"
    # Shared layers stay for the next container.
    [[ -n $(ls -A "$IMG_STORAGE/layers") ]] || fail "shared layers were removed"
}

test_image_spec() {
    img_setup spec
    img_pull >/dev/null
    local b="$IMG_TMP/bundle"
    irt spec --image "$IMG_REF" --bundle "$b" --name spechost
    [[ -x $b/rootfs/bin/busybox ]] || fail "rootfs has no busybox"
    [[ -e $b/rootfs/etc/layer2 && ! -e $b/rootfs/etc/gone ]] || fail "layers not applied: $(ls "$b/rootfs/etc")"
    local c="$b/config.json"
    # shellcheck disable=SC2016 # the image's Cmd, literally
    assert_eq '["/bin/sh","-c","echo hello-from-image $FOO; id"]' "$(jq -c .process.args "$c")" "args"
    assert_eq 1000 "$(jq .process.user.uid "$c")" "uid"
    assert_eq /etc "$(jq -r .process.cwd "$c")" "cwd"
    assert_eq spechost "$(jq -r .hostname "$c")" "hostname"
    assert_eq FOO=bar "$(jq -r '.process.env[] | select(startswith("FOO="))' "$c")" "env"
    assert_eq yes "$(jq -r '.annotations["org.example"]' "$c")" "label as annotation"
    assert_eq "$(realpath "$b/rootfs")" "$(realpath "$(cd "$b" && realpath "$(jq -r .root.path "$c")")")" "root.path"
    # The bundle is runnable as it is.
    local id out
    id=$(new_id imgspec)
    spec_edit "$b" '.process.terminal = false'
    out=$(rt run --bundle "$b" "$id")
    assert_contains "$out" "hello-from-image bar" "run of the written bundle"
    assert_fails_with "exists" irt spec --image "$IMG_REF" --bundle "$b"
    assert_fails_with "only valid with --image" irt spec --name x --bundle "$IMG_TMP/other"
    assert_fails_with "cannot be used with spec --image" irt spec --image "$IMG_REF" --rootless --bundle "$IMG_TMP/o2"
}

test_image_export_import() {
    img_setup export
    local digest id
    digest=$(img_pull)
    id=$(new_id imgexp)
    irt image export "$IMG_REF" "$IMG_TMP/bb.tar"
    # (grep without -q: an early exit would kill tar with SIGPIPE, a failure under pipefail)
    tar -tf "$IMG_TMP/bb.tar" | grep -x 'index.json' >/dev/null || fail "export is not an oci-archive: $(tar -tf "$IMG_TMP/bb.tar")"
    assert_contains "$(irt image rm "$IMG_REF")" "Untagged: $IMG_REF" "image rm"
    assert_eq "" "$(irt image ls -q)" "list after rm"
    [[ -z $(find "$IMG_ROOT/blobs" -type f) ]] || fail "blobs left after rm: $(find "$IMG_ROOT/blobs" -type f)"
    assert_fails_with "not in the store" irt run --image "$IMG_REF" --storage-root "$IMG_STORAGE" "$id" -- true
    assert_contains "$(irt image import "$IMG_TMP/bb.tar")" "$IMG_REF $digest" "import of the export"
    assert_eq "$IMG_REF" "$(irt image ls -q)" "list after import"
    assert_eq hi "$(irt run --image "$IMG_REF" --storage-root "$IMG_STORAGE" "$id" -- echo hi)" "run after import"
    # An OCI layout directory under a new name; rmi by that name leaves the other image's blobs.
    assert_contains "$(irt image import "$E2E_WORK/image/layout" local/bb:2)" "$digest" "import of a layout"
    assert_eq 2 "$(irt image list --format json | jq length)" "two names"
    irt image rmi local/bb:2 >/dev/null
    assert_eq "$IMG_REF" "$(irt image ls -q)" "list after rmi"
    assert_eq hi "$(irt run --image "${digest:7:12}" --storage-root "$IMG_STORAGE" "$id" -- echo hi)" "run by digest"
    assert_contains "$(irt image gc)" "removed 0 blobs" "gc keeps referenced blobs"
}

test_image_bad_input() {
    img_setup bad
    local id out
    id=$(new_id imgbad)
    snapshot_host "$IMG_TMP/host"
    assert_fails_with "manifest unknown" irt image pull "$IMG_REGISTRY/e2e/no-such-image:1"
    assert_fails_with "manifest unknown" irt image pull "$IMG_REGISTRY/$IMG_REPO-no-such-tag"
    assert_fails_with "invalid reference" irt image pull 'Not A Ref!'
    assert_fails_with "image not known" irt image inspect no-such-image
    assert_fails_with "image not known" irt image rm no-such-image
    assert_fails_with "not in the store" irt run --image no-such-image --storage-root "$IMG_STORAGE" "$id" -- true
    assert_fails_with "not in the store" irt create --image no-such-image --storage-root "$IMG_STORAGE" "$id"
    img_pull >/dev/null
    assert_fails_with "unknown storage driver" irt run --image "$IMG_REF" --storage-root "$IMG_STORAGE" \
        --storage-driver zfs9 "$id" -- true
    assert_fails_with "cannot be used together" irt create --image "$IMG_REF" --bundle /tmp "$id"
    assert_fails_with "only valid with --image" irt create --memory 64 --bundle /tmp "$id"
    assert_fails_with "positive integer" irt create --image "$IMG_REF" --memory lots "$id"
    assert_fails_with "requires exactly 1" irt create --bundle /tmp "$id" extra
    assert_fails_with "invalid boolean" irt image pull --tls-verify=perhaps "$IMG_REF"
    assert_fails_with "No help topic" irt image frobnicate
    assert_fails_with "does not exist" irt state "$id"
    [[ ! -e $IMG_STORAGE/containers/$id ]] || fail "storage left for $id"
    # Registry down: a clear error, nothing recorded, no partial download kept.
    registry_stop
    out=$(irt image ls -q)
    assert_fails_with "connect" irt image pull "$IMG_REGISTRY/e2e/other:1"
    assert_eq "$out" "$(irt image ls -q)" "list after a failed pull"
    [[ -z $(find "$IMG_ROOT/ingest" -mindepth 1 ! -name '*.lock') ]] || fail "ingest left: $(ls -A "$IMG_ROOT/ingest")"
    assert_host_clean "$IMG_TMP/host" "$id"
}

# Issue 12 item 10: an image `umoci insert` made (its layer has a "/" entry) unpacks and runs; `image gc`
# removes the unpacked layers under the storage root that no image or container uses, and only those.
test_image_umoci_root_entry_and_layer_gc() {
    img_setup layers
    img_pull >/dev/null
    local id lay="$IMG_TMP/umoci-layout" layers_of
    id=$(new_id imglayers)
    cp -a "$E2E_WORK/image/layout" "$lay"
    mkdir -p "$IMG_TMP/extra"
    echo inserted >"$IMG_TMP/extra/umoci-was-here"
    umoci insert --image "$lay:bb" "$IMG_TMP/extra" / >"$IMG_TMP/umoci.log" 2>&1 || fail "umoci insert: $(cat "$IMG_TMP/umoci.log")"
    local blob
    blob=$(jq -r '.layers[-1].digest' "$lay/blobs/sha256/$(jq -r '.manifests[0].digest' "$lay/index.json" | cut -c8-)")
    # (GNU tar lists it, then complains about the missing end-of-archive blocks umoci leaves out.)
    { tar -tvzf "$lay/blobs/sha256/${blob:7}" 2>/dev/null || true; } | awk '$NF == "/"' | grep -q . ||
        fail "umoci's layer has no \"/\" entry"
    irt image import "$lay" local/umoci:1 >/dev/null
    assert_eq inserted "$(irt run --image local/umoci:1 --storage-root "$IMG_STORAGE" "$id" -- cat /umoci-was-here)" \
        "run of an image with a \"/\" layer entry"

    layers_of() { find "$IMG_STORAGE/layers" -mindepth 1 -maxdepth 1 -type d ! -name '*.tmp' | wc -l; }
    assert_eq 3 "$(layers_of)" "unpacked layers (busybox 2 + umoci 1)"
    # A created container keeps its layers even once no image names them.
    irt create --image local/umoci:1 --storage-root "$IMG_STORAGE" "$id" -- sleep 100 </dev/null >/dev/null
    irt image rm local/umoci:1 "$IMG_REF" >/dev/null
    local out
    out=$(LXCRI_STORAGE_ROOT=$IMG_STORAGE irt image gc)
    [[ $out != *"unpacked layers"* ]] || fail "gc while a container uses the layers: $out"
    assert_eq 3 "$(layers_of)" "layers after gc with a container"
    irt delete --force "$id"
    out=$(LXCRI_STORAGE_ROOT=$IMG_STORAGE irt image gc)
    assert_contains "$out" "removed 3 unpacked layers" "gc after the container is gone"
    assert_eq 0 "$(layers_of)" "layers after gc"
    # Pulled again, the image unpacks afresh.
    img_pull >/dev/null
    assert_eq hi "$(irt run --image "$IMG_REF" --storage-root "$IMG_STORAGE" "$id" -- echo hi)" "run after layer gc"
}

# Issue 14 item 5: a container from a stored image whose layers the storage driver has already is made by the
# core binary itself, without proxmox-lxcri-image (libcurl, libarchive); only an unpack is handed over to it.
# Proven by making the image binary unavailable ($LXCRI_IMAGE_BINARY names a file that does not exist).
test_image_cached_run_without_image_binary() {
    img_setup cached
    img_pull >/dev/null
    snapshot_host "$IMG_TMP/host"
    local id none="$IMG_TMP/no-such-image-binary" out
    id=$(new_id imgcached)
    # The first container of the image unpacks its layers: that needs the image binary, and says so.
    assert_fails_with "$none" env LXCRI_IMAGE_BINARY="$none" "$RUNTIME" --root "$E2E_ROOT" --image-root "$IMG_ROOT" \
        run --image "$IMG_REF" --storage-root "$IMG_STORAGE" "$id" -- echo hi
    [[ -z $(ls -A "$IMG_STORAGE/containers") ]] || fail "storage left by the handed-over run: $(ls -A "$IMG_STORAGE/containers")"
    assert_fails_with "does not exist" irt state "$id"
    assert_eq hi "$(irt run --image "$IMG_REF" --storage-root "$IMG_STORAGE" "$id" -- echo hi)" "first run (unpacks)"
    # From now on the image binary is not needed: run, create/start/delete, and the release of the rootfs.
    export LXCRI_IMAGE_BINARY=$none
    out=$(irt run --image "$IMG_REF" --storage-root "$IMG_STORAGE" "$id" -- sh -c 'cat /etc/layer2; id -u')
    assert_eq "two
1000" "$out" "run --image of a stored image without the image binary"
    irt create --image "$IMG_REF" --storage-root "$IMG_STORAGE" "$id" -- sleep 100 </dev/null >/dev/null
    assert_eq created "$(state_field "$id" status)" "status after create --image without the image binary"
    irt start "$id"
    wait_status "$id" running
    irt kill "$id" KILL
    wait_status "$id" stopped
    irt delete "$id"
    [[ ! -e $IMG_STORAGE/containers/$id ]] || fail "container storage left: $IMG_STORAGE/containers/$id"
    # A missing image is the same error as ever, from the core binary.
    assert_fails_with "not in the store" irt run --image no-such-image --storage-root "$IMG_STORAGE" "$id" -- true
    # The dir driver unpacks every rootfs: handed over.
    assert_fails_with "$none" irt run --image "$IMG_REF" --storage-root "$IMG_STORAGE" --storage-driver dir "$id" -- true
    [[ -z $(ls -A "$IMG_STORAGE/containers") ]] || fail "storage left: $(ls -A "$IMG_STORAGE/containers")"
    [[ -z $(img_mounts_under "$IMG_STORAGE") ]] || fail "mounts left: $(img_mounts_under "$IMG_STORAGE")"
    unset LXCRI_IMAGE_BINARY
    assert_eq 3 "$(irt run --image "$IMG_REF" --storage-root "$IMG_STORAGE" --storage-driver dir "$id" -- sh -c 'exit 3' || echo $?)" \
        "dir driver through the image binary"
    assert_host_clean "$IMG_TMP/host" "$id"
}
