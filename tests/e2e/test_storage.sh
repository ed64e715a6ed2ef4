# shellcheck shell=bash
# Storage drivers through the built CLI (issue 14): `create/run --image` on a real zfs pool (zfs-fuse, a file
# vdev) and a real btrfs (a loop device), both made and removed by tests/storage/fixture.sh for the test;
# driver detection under the storage root, --storage-opt quotas, clear refusals, and SIGKILL during
# `create --image` leaving nothing that blocks the next attempt. Uses test_image.sh's registry helpers.

ST_FIXTURE="$E2E_DIR/../storage/fixture.sh"

# st_zfs_up NAME: a pool of its own mounted at $ST_ROOT (ST_POOL), removed when the test's shell exits (with
# the registry).
st_zfs_up() {
    command -v zfs-fuse >/dev/null || fail "zfs-fuse is not installed (scripts/install-deps.sh)"
    ST_POOL="lxcri-e2e-$$-$1"
    ST_ROOT="$IMG_TMP/pool"
    # The test's containers go first: a running container keeps its dataset (and the pool) busy.
    trap 'cleanup_root; bash "$ST_FIXTURE" zfs-down "$ST_POOL" $$ || true; registry_stop' EXIT
    bash "$ST_FIXTURE" zfs-up "$ST_POOL" "$ST_ROOT" 256 $$ 2>"$IMG_TMP/fixture.err" ||
        fail "zfs fixture: $(cat "$IMG_TMP/fixture.err")"
}

st_btrfs_up() {
    ST_ROOT="$IMG_TMP/btrfs"
    trap 'cleanup_root; bash "$ST_FIXTURE" btrfs-down "$ST_ROOT" || true; registry_stop' EXIT
    bash "$ST_FIXTURE" btrfs-up "$ST_ROOT" 300 2>"$IMG_TMP/fixture.err" ||
        fail "btrfs fixture: $(cat "$IMG_TMP/fixture.err")"
}

st_datasets() { zfs list -H -o name -r "$ST_POOL/containers" | grep -v "^$ST_POOL/containers\$" || true; }

# Nothing of the test's containers under the storage root: no container directory, no mount.
st_assert_empty() {
    local left
    left=$(find "$ST_ROOT/containers" -mindepth 1 -maxdepth 1 2>/dev/null || true)
    [[ -z $left ]] || fail "container storage left: $left"
    [[ $(img_mounts_under "$ST_ROOT/containers/") == "" ]] || fail "mounts left: $(img_mounts_under "$ST_ROOT/containers/")"
}

# zfs: a container from an image is a clone of its top layer's snapshot (no unpack into it, no overlay), found
# by the filesystem under the storage root without --storage-driver; --storage-opt size sets its refquota;
# delete removes the dataset; snapshots of the layers stay for the next container.
test_storage_zfs_image_is_a_clone() {
    img_setup stzfs
    st_zfs_up zc
    img_pull >/dev/null
    local id out origin
    id=$(new_id stzfs)
    out=$(irt run --image "$IMG_REF" --storage-root "$ST_ROOT" --storage-driver zfs "$id" -- cat /etc/layer2)
    assert_eq "two" "$out" "run --image on zfs: the top layer's file"
    [[ -z $(st_datasets) ]] || fail "datasets left after run: $(st_datasets)"
    irt create --image "$IMG_REF" --storage-root "$ST_ROOT" --storage-opt size=64m "$id" -- sleep 100 \
        </dev/null >/dev/null
    origin=$(zfs get -H -o value origin "$ST_POOL/containers/$id")
    [[ $origin == "$ST_POOL"/layers/*@layer ]] || fail "rootfs of $id is not a clone of a layer snapshot: origin $origin"
    assert_eq 64M "$(zfs get -H -o value refquota "$ST_POOL/containers/$id")" "refquota from --storage-opt size=64m"
    assert_eq "$ST_ROOT/containers/$id/rootfs" "$(zfs get -H -o value mountpoint "$ST_POOL/containers/$id")" \
        "mountpoint of the container's dataset"
    rt start "$id"
    rt kill "$id" KILL
    wait_status "$id" stopped
    rt delete "$id"
    [[ -z $(st_datasets) ]] || fail "datasets left after delete: $(st_datasets)"
    st_assert_empty
    zfs list -H -o name -t snapshot | grep -q "^$ST_POOL/layers/.*@layer\$" || fail "layer snapshots went with the container"
}

# btrfs: detected under the storage root; the rootfs is a subvolume snapshot; a size is a qgroup limit and a
# reservation is refused clearly (btrfs has none), leaving nothing.
test_storage_btrfs_image_and_quota() {
    img_setup stbtrfs
    command -v mkfs.btrfs >/dev/null || fail "btrfs-progs is not installed (scripts/install-deps.sh)"
    st_btrfs_up
    img_pull >/dev/null
    local id
    id=$(new_id stbtrfs)
    irt create --image "$IMG_REF" --storage-root "$ST_ROOT" --storage-opt size=32m "$id" -- sleep 100 \
        </dev/null >/dev/null
    btrfs subvolume show "$ST_ROOT/containers/$id/rootfs" >/dev/null || fail "rootfs of $id is not a subvolume"
    btrfs qgroup show -re "$ST_ROOT" | grep -q 32.00MiB || fail "no 32 MiB qgroup limit: $(btrfs qgroup show -re "$ST_ROOT")"
    rt delete --force "$id"
    st_assert_empty
    assert_fails_with "btrfs cannot reserve space" irt create --image "$IMG_REF" --storage-root "$ST_ROOT" \
        --storage-opt reservation=1g "$id"
    assert_fails_with "does not exist" rt state "$id"
    st_assert_empty
}

# Refusals: a storage root that is no zfs dataset given to the zfs driver, a quota on a driver without quotas,
# bad sizes and options. Each names the problem and leaves no state and no storage.
test_storage_refusals() {
    img_setup strefuse
    img_pull >/dev/null
    local id plain="$IMG_TMP/plain"
    id=$(new_id strefuse)
    mkdir -p "$plain"
    assert_fails_with "is not the mountpoint of a zfs dataset" irt create --image "$IMG_REF" \
        --storage-root "$plain" --storage-driver zfs "$id"
    assert_fails_with "is not on btrfs" irt create --image "$IMG_REF" --storage-root "$plain" \
        --storage-driver btrfs "$id"
    assert_fails_with "storage driver overlay cannot set a quota" irt create --image "$IMG_REF" \
        --storage-root "$plain" --storage-driver overlay --storage-opt size=1g "$id"
    assert_fails_with "invalid size" irt create --image "$IMG_REF" --storage-root "$plain" \
        --storage-driver dir --storage-opt size=lots "$id"
    assert_fails_with "unknown option" irt create --image "$IMG_REF" --storage-root "$plain" \
        --storage-opt compression=on "$id"
    assert_fails_with "does not exist" rt state "$id"
    [[ -z $(find "$plain/containers" "$plain/locks" -mindepth 1 2>/dev/null) ]] ||
        fail "left under $plain: $(find "$plain/containers" "$plain/locks" -mindepth 1)"
    [[ -z $(img_mounts_under "$plain") ]] || fail "mounts left: $(img_mounts_under "$plain")"
}

# SIGKILL at several moments of `create --image` on zfs: whatever it left (a half-made clone, a rootfs without
# a container) blocks neither `delete --force` nor the next create of the same id, and that container's
# delete leaves no dataset and no mount.
test_storage_kill_during_create_image_zfs() {
    img_setup stkill
    st_zfs_up zk
    img_pull >/dev/null
    local id delay
    id=$(new_id stkill)
    for delay in 0.02 0.05 0.1 0.2 0.4; do
        # The binary itself, not the irt function: $! must be the runtime's pid.
        "$RUNTIME" --root "$E2E_ROOT" --image-root "$IMG_ROOT" create --image "$IMG_REF" --storage-root "$ST_ROOT" \
            "$id" -- sleep 100 </dev/null >/dev/null 2>&1 &
        local cpid=$!
        sleep "$delay"
        kill -9 "$cpid" 2>/dev/null || true
        wait "$cpid" 2>/dev/null || true
        rt delete --force "$id" >/dev/null 2>&1 || true
        irt create --image "$IMG_REF" --storage-root "$ST_ROOT" "$id" -- sleep 100 </dev/null >/dev/null ||
            fail "create --image after a create killed at ${delay}s failed"
        rt delete --force "$id"
        [[ -z $(st_datasets) ]] || fail "datasets left after a kill at ${delay}s: $(st_datasets)"
        st_assert_empty
    done
}

# clone_out ARGS...: `irt clone ARGS` with its output through a file (the created container holds the
# runtime's stdout, so $(...) would wait for it).
clone_out() {
    irt clone "$@" </dev/null >"$IMG_TMP/clone.out"
    cat "$IMG_TMP/clone.out"
}

# Template bases and clones (issue 14 item 3) on zfs: `base register --image` and `--from`, `base list`,
# `clone --base` and `clone SRC` are linked clones (the output says so; the dataset's origin is the base's
# snapshot); `base rm` is refused while clones exist and names them; `--force` removes the base and the clones
# keep working; deleting the container a base was registered from works (its snapshot moves to the base).
test_storage_bases_and_clones_zfs() {
    img_setup stbase
    st_zfs_up zb
    img_pull >/dev/null
    local c1 c2 src out
    c1=$(new_id stc1)
    c2=$(new_id stc2)
    src=$(new_id stsrc)
    out=$(irt base register --image "$IMG_REF" --storage-root "$ST_ROOT" tpl)
    assert_contains "$out" "registered" "base register --image"
    assert_fails_with "exists" irt base register --image "$IMG_REF" --storage-root "$ST_ROOT" tpl
    out=$(clone_out --base tpl --storage-root "$ST_ROOT" "$c1")
    assert_contains "$out" "linked clone of base tpl" "clone --base output"
    assert_eq created "$(state_field "$c1" status)" "status of the clone"
    assert_eq "$ST_POOL/containers/base.tpl@base" "$(zfs get -H -o value origin "$ST_POOL/containers/$c1")" \
        "origin of the clone's dataset"
    out=$(clone_out "$c1" "$c2")
    assert_contains "$out" "linked clone of container $c1" "clone SRC output"
    out=$(irt base list --format json --storage-root "$ST_ROOT")
    assert_eq '["'"$c1"'"]' "$(jq -c '.[] | select(.name == "tpl") | .clones' <<<"$out")" "clones in base list"
    assert_eq zfs "$(jq -r '.[0].driver' <<<"$out")" "driver in base list"
    assert_fails_with "has clones: $c1" irt base rm --storage-root "$ST_ROOT" tpl
    irt base rm --force --storage-root "$ST_ROOT" tpl
    assert_eq "[]" "$(irt base list --format json --storage-root "$ST_ROOT")" "base list after rm --force"
    rt start "$c1"
    wait_status "$c1" stopped
    rt delete "$c1"
    rt delete --force "$c2"
    # --from: a base from a container; the container can go before the base.
    irt create --image "$IMG_REF" --storage-root "$ST_ROOT" "$src" -- true </dev/null >/dev/null
    out=$(irt base register --from "$src" tpl2)
    assert_contains "$out" "from container $src" "base register --from"
    rt delete --force "$src"
    out=$(clone_out --base tpl2 --storage-root "$ST_ROOT" "$c1")
    assert_contains "$out" "linked clone of base tpl2" "clone of a base from a container"
    rt delete --force "$c1"
    irt base rm --storage-root "$ST_ROOT" tpl2
    [[ -z $(st_datasets) ]] || fail "datasets left: $(st_datasets)"
    st_assert_empty
}

# On overlay a clone is a full copy (of the upper dir), and says so, in its output and with --log-format json in
# an info line of the log with the clone time.
test_storage_clone_full_copy_overlay() {
    img_setup stovl
    img_pull >/dev/null
    local c1 out
    c1=$(new_id stovl)
    ST_ROOT="$IMG_TMP/ovl"
    irt base register --image "$IMG_REF" --storage-root "$ST_ROOT" --storage-driver overlay tpl >/dev/null
    out=$(clone_out --base tpl --storage-root "$ST_ROOT" "$c1")
    assert_contains "$out" "full copy of base tpl (overlay" "clone --base output on overlay"
    rt delete --force "$c1"
    # With --log-format json the clone time is in one info line of the log (clone_ms, linked).
    local log="$IMG_TMP/clone.log" line
    irt --log "$log" --log-format json clone --base tpl --storage-root "$ST_ROOT" "$c1" </dev/null >/dev/null
    line=$(jq -c 'select(.level == "info" and has("clone_ms"))' "$log")
    [[ -n $line && $(wc -l <<<"$line") == 1 ]] ||
        fail "no one info line with clone_ms in the --log-format json log: $(cat "$log")"
    jq -e '(.clone_ms | type == "number" and . > 0) and .linked == false' <<<"$line" >/dev/null ||
        fail "clone_ms/linked of the clone log line: $line"
    assert_contains "$(jq -r .msg <<<"$line")" "$c1: full copy of base tpl (overlay" "msg of the clone log line"
    rt delete --force "$c1"
    irt base rm --storage-root "$ST_ROOT" tpl
    st_assert_empty
    assert_fails_with "does not exist" irt base rm --storage-root "$ST_ROOT" tpl
}

# clone's bundle options (issue 14 item 3: `clone --base NAME [--bundle-opts…] ID`): --name, --memory,
# --cores, --env and a command after "--" change the clone's config as create --image sets them; bad values are
# refused before anything is made.
test_storage_clone_bundle_options() {
    img_setup stbo
    img_pull >/dev/null
    local c1 c2 out pid
    c1=$(new_id stbo1)
    c2=$(new_id stbo2)
    ST_ROOT="$IMG_TMP/ovl"
    irt base register --image "$IMG_REF" --storage-root "$ST_ROOT" --storage-driver overlay tpl >/dev/null
    # shellcheck disable=SC2016 # expanded by the clone's shell
    out=$(clone_out --base tpl --storage-root "$ST_ROOT" --name clonehost --memory 48 --cores 1 \
        --env GREETING=hello -e GREETING=hi "$c1" -- sh -c 'echo "env=$GREETING host=$(hostname)"; sleep 100')
    assert_contains "$out" "full copy of base tpl" "clone --base with bundle options"
    rt start "$c1"
    pid=$(state_field "$c1" pid)
    local deadline=$((SECONDS + 10))
    until grep -q "env=" "$IMG_TMP/clone.out"; do
        ((SECONDS < deadline)) || fail "the clone's command printed nothing: $(cat "$IMG_TMP/clone.out")"
        sleep 0.05
    done
    assert_contains "$(cat "$IMG_TMP/clone.out")" "env=hi host=clonehost" "the clone's command, env and hostname"
    assert_eq $((48 * 1024 * 1024)) "$(memory_limit_of "$pid")" "memory limit of the clone"
    rt delete --force "$c1"
    # A clone of that clone's source container keeps the source's config where no option is given.
    irt create --image "$IMG_REF" --storage-root "$ST_ROOT" --storage-driver overlay "$c1" -- true </dev/null >/dev/null
    clone_out "$c1" "$c2" --memory 32 >/dev/null
    assert_eq $((32 * 1024 * 1024)) "$(jq -r '.linux.resources.memory.limit' "$E2E_ROOT/$c2/config.json")" \
        "memory limit in the config of clone SRC --memory"
    assert_eq '["true"]' "$(jq -c '.process.args' "$E2E_ROOT/$c2/config.json")" "args kept from the source"
    rt delete --force "$c2"
    # Bad values: a clear error, nothing made.
    assert_fails_with "want a positive integer" irt clone --base tpl --storage-root "$ST_ROOT" --memory 0 "$c2"
    assert_fails_with "want KEY=VALUE" irt clone --base tpl --storage-root "$ST_ROOT" --env NOVALUE "$c2"
    [[ ! -e $E2E_ROOT/$c2 && ! -e $ST_ROOT/containers/$c2 ]] || fail "a refused clone left $c2 behind"
    rt delete --force "$c1"
    irt base rm --storage-root "$ST_ROOT" tpl
    st_assert_empty
}

# A base NAME is the driver's rootfs base.NAME, beside the containers' rootfs (named by their ids): a container
# id base.NAME is refused for every verb that makes a driver's rootfs (create/run --image, clone), so that it can
# never take or remove a base's rootfs, and the base keeps working.
# st_refused_id ID CMD...: CMD must fail with "is reserved" (its stdio away from the test's pipes: a runtime
# that accepts leaves a created container holding them); what an accepting runtime made goes again.
st_refused_id() {
    local id=$1 out="$IMG_TMP/refused.out"
    shift
    if "$@" </dev/null >"$out" 2>&1; then
        rt delete --force "$id" >/dev/null 2>&1 || true
        fail "'$*' succeeded, expected a refusal (is reserved): $(cat "$out")"
    fi
    assert_contains "$(cat "$out")" "is reserved" "refusal of the container id $id"
}

test_storage_base_names_and_container_ids() {
    img_setup stbn
    img_pull >/dev/null
    local c1 out
    c1=$(new_id stbn)
    ST_ROOT="$IMG_TMP/ovl"
    irt base register --image "$IMG_REF" --storage-root "$ST_ROOT" --storage-driver overlay tpl >/dev/null
    st_refused_id base.tpl irt create --image "$IMG_REF" --storage-root "$ST_ROOT" --storage-driver overlay \
        base.tpl -- true
    st_refused_id base.tpl irt run --image "$IMG_REF" --storage-root "$ST_ROOT" --storage-driver overlay \
        base.tpl -- true
    st_refused_id base.tpl irt clone --base tpl --storage-root "$ST_ROOT" base.tpl
    st_refused_id base.other irt create --image "$IMG_REF" --storage-root "$ST_ROOT" --storage-driver overlay \
        base.other -- true
    [[ ! -e $E2E_ROOT/base.tpl && ! -e $E2E_ROOT/base.other ]] || fail "a refused id left its state directory"
    # The base is whole: it lists without clones and clones.
    out=$(irt base list --format json --storage-root "$ST_ROOT")
    assert_eq '[]' "$(jq -c '.[] | select(.name == "tpl") | .clones' <<<"$out")" "clones of tpl after the refusals"
    out=$(clone_out --base tpl --storage-root "$ST_ROOT" "$c1")
    assert_contains "$out" "full copy of base tpl" "clone of the base after the refusals"
    rt delete --force "$c1"
    irt base rm --storage-root "$ST_ROOT" tpl
    st_assert_empty
}

# SIGKILL at several moments of `base register` and `clone` on zfs: the next register of the name and the next
# clone of the id work (a base whose record was written before the kill is whole and is kept), and at the end
# nothing is left.
test_storage_kill_during_base_and_clone_zfs() {
    img_setup stkb
    st_zfs_up zkb
    img_pull >/dev/null
    local id delay cpid
    id=$(new_id stkb)
    for delay in 0.02 0.05 0.1 0.2; do
        "$RUNTIME" --root "$E2E_ROOT" --image-root "$IMG_ROOT" base register --image "$IMG_REF" \
            --storage-root "$ST_ROOT" tplk </dev/null >/dev/null 2>&1 &
        cpid=$!
        sleep "$delay"
        kill -9 "$cpid" 2>/dev/null || true
        wait "$cpid" 2>/dev/null || true
        if ! irt base register --image "$IMG_REF" --storage-root "$ST_ROOT" tplk >"$IMG_TMP/reg.out" 2>&1; then
            grep -q 'exists' "$IMG_TMP/reg.out" || fail "base register after a kill at ${delay}s: $(cat "$IMG_TMP/reg.out")"
        fi
        "$RUNTIME" --root "$E2E_ROOT" --image-root "$IMG_ROOT" clone --base tplk --storage-root "$ST_ROOT" "$id" \
            </dev/null >/dev/null 2>&1 &
        cpid=$!
        sleep "$delay"
        kill -9 "$cpid" 2>/dev/null || true
        wait "$cpid" 2>/dev/null || true
        rt delete --force "$id" >/dev/null 2>&1 || true
        irt clone --base tplk --storage-root "$ST_ROOT" "$id" </dev/null >/dev/null ||
            fail "clone after a clone killed at ${delay}s failed"
        rt delete --force "$id"
        irt base rm --storage-root "$ST_ROOT" tplk
        [[ -z $(st_datasets) ]] || fail "datasets left after a kill at ${delay}s: $(st_datasets)"
        st_assert_empty
    done
}

# `image gc` on zfs: the layer datasets go once no stored image, container or base needs them (zfs refuses a layer
# whose snapshot a clone needs: kept); a chain of unused layers goes in one gc.
test_storage_image_gc_layers_zfs() {
    img_setup stgcz
    st_zfs_up gcz
    img_pull >/dev/null
    local c1 out n
    c1=$(new_id stgcz)
    st_layers() { zfs list -H -o name -r -t filesystem "$ST_POOL/layers" | grep -v "^$ST_POOL/layers\$" || true; }
    irt create --image "$IMG_REF" --storage-root "$ST_ROOT" "$c1" -- sleep 100 </dev/null >/dev/null
    irt base register --image "$IMG_REF" --storage-root "$ST_ROOT" tpl >/dev/null
    n=$(st_layers | wc -l)
    ((n > 0)) || fail "no layer datasets after create --image"
    irt image rm "$IMG_REF" >/dev/null
    LXCRI_STORAGE_ROOT=$ST_ROOT irt image gc >/dev/null
    assert_eq "$n" "$(st_layers | wc -l)" "layer datasets after gc while a container and a base use them"
    rt delete --force "$c1"
    LXCRI_STORAGE_ROOT=$ST_ROOT irt image gc >/dev/null
    assert_eq "$n" "$(st_layers | wc -l)" "layer datasets after gc while a base uses them"
    irt base rm --storage-root "$ST_ROOT" tpl
    out=$(LXCRI_STORAGE_ROOT=$ST_ROOT irt image gc)
    assert_contains "$out" "removed $n unpacked layers" "gc once nothing uses the layers"
    [[ -z $(st_layers) ]] || fail "layer datasets left after gc: $(st_layers)"
    # Pulled again, the image makes its layers afresh.
    img_pull >/dev/null
    assert_eq two "$(irt run --image "$IMG_REF" --storage-root "$ST_ROOT" "$c1" -- cat /etc/layer2)" "run after layer gc"
    [[ -z $(st_datasets) ]] || fail "datasets left: $(st_datasets)"
}

# `image gc` on btrfs: layers are read-only snapshots a container's rootfs (a snapshot of its own) does not need:
# they go once no stored image names them, and the container keeps working.
test_storage_image_gc_layers_btrfs() {
    img_setup stgcb
    st_btrfs_up
    img_pull >/dev/null
    local c1 out n
    c1=$(new_id stgcb)
    st_layers() { find "$ST_ROOT/layers" -mindepth 1 -maxdepth 1 -type d ! -name '*.tmp' 2>/dev/null || true; }
    irt create --image "$IMG_REF" --storage-root "$ST_ROOT" "$c1" -- sleep 100 </dev/null >/dev/null
    n=$(st_layers | wc -l)
    ((n > 0)) || fail "no layer snapshots after create --image"
    LXCRI_STORAGE_ROOT=$ST_ROOT irt image gc >/dev/null
    assert_eq "$n" "$(st_layers | wc -l)" "layers after gc while the image is stored"
    irt image rm "$IMG_REF" >/dev/null
    out=$(LXCRI_STORAGE_ROOT=$ST_ROOT irt image gc)
    assert_contains "$out" "removed $n unpacked layers" "gc once no image names the layers"
    [[ -z $(st_layers) ]] || fail "layers left after gc: $(st_layers)"
    rt start "$c1"
    assert_eq two "$(rt exec "$c1" cat /etc/layer2)" "the container's rootfs after layer gc"
    rt delete --force "$c1"
    st_assert_empty
}
