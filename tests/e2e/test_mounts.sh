# shellcheck shell=bash
# Mount destinations are resolved inside the container's rootfs (issue 12, item 3): a symlink in the image is
# read as if the rootfs were /, `..` stops at the rootfs root, the missing parts of a destination are created
# there, and nothing is ever created or mounted on the host through such a symlink. runc's behaviour
# (securejoin) is the reference: the same tests run against it.

# mounts_bundle NAME [TMPFS-DEST [HOSTS-DEST]]: a bundle with a tmpfs at TMPFS-DEST (/etc/newdir/sub) and a bind
# of a host file at HOSTS-DEST (/etc/hosts); its process prints the bound file and the in-container mount point
# and type of the tmpfs. The test then replaces rootfs/etc. Sets B (the bundle), H (an empty host directory
# for rootfs/etc to point at) and SRC (the bound host file).
mounts_bundle() {
    local name=$1 tmpfs_dest=${2:-/etc/newdir/sub} hosts_dest=${3:-/etc/hosts}
    H="$E2E_WORK/hostdir-$name"
    SRC="$E2E_WORK/hosts-$name"
    mkdir -p "$H"
    echo "hello-$name" >"$SRC"
    # shellcheck disable=SC2016 # $5/$9 are awk's
    B=$(bundle "$name" sh -c 'cat /etc/hosts; awk '\''$5 ~ /newdir\/sub$/ {print $5, $9}'\'' /proc/self/mountinfo')
    spec_edit "$B" ".mounts += [{\"destination\": \"$tmpfs_dest\", \"type\": \"tmpfs\", \"source\": \"tmpfs\",
                                 \"options\": [\"nosuid\", \"nodev\"]},
                                {\"destination\": \"$hosts_dest\", \"type\": \"bind\", \"source\": \"$SRC\",
                                 \"options\": [\"rbind\", \"ro\"]}]"
    rm -rf "$B/rootfs/etc"
}

# host_dir_empty: nothing was created in H (the host directory rootfs/etc points at).
host_dir_empty() {
    local left
    left=$(find "$H" -mindepth 1 2>/dev/null | head -5)
    [[ -z $left ]] || fail "created on the host through the rootfs symlink: $left"
}

# run_symlinked_etc NAME: runs the bundle of mounts_bundle NAME (rootfs/etc already replaced by the test): the
# host directory stays empty, the container runs with both mounts inside its own rootfs (at rootfs$H, where
# the symlink leads when read inside the rootfs) and sees them through /etc.
run_symlinked_etc() {
    local name=$1 id out rc=0
    id=$(new_id "$name")
    snapshot_host "$E2E_WORK/$name"
    out=$(rt run --bundle "$B" "$id" </dev/null 2>&1) || rc=$?
    host_dir_empty
    ((rc == 0)) || fail "run failed (rc=$rc): $out"
    assert_contains "$out" "hello-$name" "the file bound at /etc/hosts, read through the symlink"
    assert_contains "$out" "$H/newdir/sub tmpfs" "the tmpfs mounted at /etc/newdir/sub, inside the rootfs"
    [[ -d $B/rootfs$H/newdir/sub ]] || fail "tmpfs mount point not created inside the rootfs at $H/newdir/sub"
    [[ -f $B/rootfs$H/hosts ]] || fail "bind mount point not created inside the rootfs at $H/hosts"
    rt delete --force "$id" >/dev/null 2>&1 || true
    assert_host_clean "$E2E_WORK/$name" "$id"
    host_dir_empty
}

test_mounts_symlinked_etc_absolute() {
    require_root
    mounts_bundle symabs
    ln -s "$H" "$B/rootfs/etc"
    run_symlinked_etc symabs
}

test_mounts_symlinked_etc_relative() {
    require_root
    mounts_bundle symrel
    # More ../ than the rootfs is deep: on the host this reaches /, inside the rootfs it stops at its root.
    ln -s "../../../../../../../../../../../..$H" "$B/rootfs/etc"
    run_symlinked_etc symrel
}

# A chain of two relative symlinks with ../ components, and destinations that hold .. themselves.
test_mounts_symlinked_etc_dotdot_chain() {
    require_root
    mounts_bundle symchain /tmp/../etc/newdir/sub /bin/../etc/./hosts
    mkdir -p "$B/rootfs/x"
    ln -s "x/../../../../../../../../../../../..$H" "$B/rootfs/lnk"
    ln -s lnk "$B/rootfs/etc"
    run_symlinked_etc symchain
}

# rootfs/etc is exchanged (renameat2 RENAME_EXCHANGE) with a symlink to the host directory, as fast as the
# machine allows, while containers are created with mounts under /etc: whichever of the two a create sees,
# nothing is ever created on the host; each run either works or fails and leaves nothing behind.
test_mounts_swapped_symlink() {
    require_root
    local swapper id i rc ran=0 failed=0 out
    swapper=$(helper swapper)
    mounts_bundle symswap
    mkdir -p "$B/rootfs/etc"
    ln -s "$H" "$B/rootfs/etc.swap"
    snapshot_host "$E2E_WORK/symswap"
    "$swapper" "$B/rootfs/etc" "$B/rootfs/etc.swap" 8 >"$E2E_WORK/symswap.count" &
    local spid=$!
    for i in $(seq 1 12); do
        id=$(new_id "symswap$i")
        rc=0
        out=$(rt run --bundle "$B" "$id" </dev/null 2>&1) || rc=$?
        if ((rc == 0)); then ran=$((ran + 1)); else failed=$((failed + 1)); fi
        echo "run $i: rc=$rc: ${out:0:300}"
        force_delete "$id"
        [[ ! -e $E2E_ROOT/$id ]] || fail "state dir left behind by run $i (rc=$rc): $out"
        if [[ -n $(find "$H" -mindepth 1 2>/dev/null | head -1) ]]; then
            kill "$spid" 2>/dev/null || true
            wait "$spid" || true
            proxmox_only "runc 1.1.5 creates mount points by path after resolving them (a swapped" \
                "symlink leads it onto the host)"
            host_dir_empty
        fi
    done
    wait "$spid" || fail "swapper failed"
    echo "runs: $ran ran, $failed failed; exchanges: $(cat "$E2E_WORK/symswap.count")"
    host_dir_empty
    assert_host_clean "$E2E_WORK/symswap"
}

# mounts_bad_create NAME WORDS: a create of bundle B must fail saying one of WORDS (and, with this runtime,
# naming the mount), create nothing in H, and leave the host as it was.
mounts_bad_create() {
    local name=$1 words=$2 id out rc=0
    id=$(new_id "$name")
    snapshot_host "$E2E_WORK/$name"
    out=$(rt create --bundle "$B" "$id" </dev/null 2>&1) || rc=$?
    ((rc != 0)) || fail "create succeeded, expected a failure ($words)"
    local w ok=0 alts
    IFS='|' read -ra alts <<<"$words"
    for w in "${alts[@]}"; do [[ ${out,,} == *"${w,,}"* ]] && ok=1; done
    ((ok)) || fail "create failed (rc=$rc) without saying '$words': $out"
    if [[ $(basename "$RUNTIME") == proxmox-lxcri* ]]; then
        assert_contains "$out" "mounts[" "the error names the mount"
    fi
    host_dir_empty
    assert_host_clean "$E2E_WORK/$name" "$id"
    assert_fails_with "does not exist" rt state "$id"
}

test_mounts_symlink_loop() {
    require_root
    mounts_bundle symloop
    ln -s etc2 "$B/rootfs/etc"
    ln -s etc "$B/rootfs/etc2"
    mounts_bad_create symloop "too many levels of symbolic links"
}

# A regular file where the destination needs a directory.
test_mounts_file_as_directory() {
    require_root
    mounts_bundle notdir /etc/passwd/newdir/sub
    mkdir -p "$B/rootfs/etc"
    echo "root:x:0:0::/:/bin/sh" >"$B/rootfs/etc/passwd"
    mounts_bad_create notdir "not a directory"
}

# The rootfs on a read-only filesystem: a mount point that does not exist cannot be made there.
test_mounts_readonly_filesystem() {
    require_root
    mounts_bundle rofs
    mkdir -p "$B/rootfs/etc"
    mount --bind "$B/rootfs" "$B/rootfs"
    trap 'umount "$B/rootfs"' EXIT
    mount -o remount,bind,ro "$B/rootfs"
    mounts_bad_create rofs "read-only file system"
}

# root.readonly is applied after the mounts: their missing mount points are still created (runc's order).
test_mounts_readonly_root_creates_targets() {
    require_root
    local id out
    id=$(new_id roroot)
    mounts_bundle roroot
    spec_edit "$B" '.root.readonly = true'
    mkdir -p "$B/rootfs/etc"
    out=$(rt run --bundle "$B" "$id" </dev/null 2>&1) || fail "run failed: $out"
    assert_contains "$out" "hello-roroot" "the file bound at /etc/hosts"
    assert_contains "$out" "/etc/newdir/sub tmpfs" "the tmpfs at /etc/newdir/sub"
    [[ -d $B/rootfs/etc/newdir/sub && -f $B/rootfs/etc/hosts ]] || fail "mount points not created in the rootfs"
    host_dir_empty
}

# Issue 13 item 8: a /dev tmpfs with "ro" is read-only once its nodes exist, as runc remounts it at the end: the
# standard nodes are there and usable, nothing new can be created in /dev, its submounts stay writable.
test_mounts_readonly_dev() {
    require_root
    local b out
    # shellcheck disable=SC2016 # $5/$6 are awk's
    b=$(bundle rodev sh -c 'awk '\''$5 == "/dev" {split($6, o, ","); print "dev", o[1]}'\'' /proc/self/mountinfo
        for n in null zero full random urandom tty ptmx; do [ -e /dev/$n ] || echo "missing /dev/$n"; done
        echo x >/dev/null && echo write-null-ok
        head -c 4 /dev/zero | wc -c
        touch /dev/newfile 2>/dev/null && echo create-ok || echo create-refused
        touch /dev/shm/x && echo shm-writable')
    spec_edit "$b" '(.mounts[] | select(.destination == "/dev")).options += ["ro"]'
    out=$(rt run --bundle "$b" "$(new_id rodev)" </dev/null 2>&1) || fail "run with a read-only /dev: $out"
    assert_eq "dev ro
write-null-ok
4
create-refused
shm-writable" "$out" "read-only /dev with its nodes"
}

# Issue 13 item 8: a tmpfs whose destination goes through an absolute symlink inside the rootfs is mounted where
# the symlink leads inside the rootfs (runc: "dest might be an absolute symlink, so it needs to be resolved under
# rootfs"), never on the host, and takes the mode of the directory it covers (runc's chmod after the mount).
test_mounts_tmpfs_through_absolute_symlink() {
    require_root
    local b id out target="/e2e-symtmpfs-$$"
    [[ ! -e $target ]] || skip "$target exists on the host"
    # shellcheck disable=SC2016 # $5/$9 are awk's
    b=$(bundle symtmpfs sh -c 'awk '\''$5 ~ /^\/e2e-symtmpfs/ {print $5, $9}'\'' /proc/self/mountinfo
        stat -c "%a" /a/b; touch /a/b/x && ls /a/b')
    mkdir -p "$b/rootfs$target/b"
    chmod 0750 "$b/rootfs$target/b"
    ln -s "$target" "$b/rootfs/a"
    spec_edit "$b" '.mounts += [{destination: "/a/b", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev"]}]'
    id=$(new_id symtmpfs)
    out=$(rt run --bundle "$b" "$id" </dev/null 2>&1)
    local rc=$?
    [[ ! -e $target ]] || { rm -rf "$target"; fail "created on the host at $target"; }
    ((rc == 0)) || fail "run failed (rc=$rc): $out"
    assert_eq "$target/b tmpfs
750
x" "$out" "the tmpfs at the symlink's target inside the rootfs, with the covered directory's mode"
    [[ -z $(ls -A "$b/rootfs$target/b") ]] || fail "the tmpfs was not mounted over rootfs$target/b"
}

# Issue 13 item 8: "rro" makes a mount and every mount below it read-only (runc 1.2: mount_setattr with
# MOUNT_ATTR_RDONLY and AT_RECURSIVE); a plain "ro" rbind leaves the submount writable.
test_mounts_recursive_readonly() {
    require_root
    local src="$E2E_WORK/rro-src" b out
    mkdir -p "$src/sub"
    mount -t tmpfs -o size=1m e2e-rro "$src/sub" || fail "mount a tmpfs in the source"
    # shellcheck disable=SC2064 # expanded now: $src is local
    trap "umount '$src/sub'" EXIT
    # shellcheck disable=SC2016 # expanded in the container
    b=$(bundle rro sh -c 'for d in /rro /rro/sub /ro /ro/sub; do touch $d/x 2>/dev/null && echo "$d rw" || echo "$d ro"; done')
    spec_edit "$b" ".mounts += [{destination: \"/rro\", type: \"bind\", source: \"$src\", options: [\"rbind\", \"rro\"]},
                                {destination: \"/ro\", type: \"bind\", source: \"$src\", options: [\"rbind\", \"ro\"]}]"
    out=$(rt run --bundle "$b" "$(new_id rro)" </dev/null 2>&1)
    local rc=$?
    if [[ $("$RUNTIME" --version 2>/dev/null | head -1) == "runc version 1.1."* ]]; then
        skip "reference runtime: runc 1.1 does not know \"rro\" (runc 1.2 does; rc=$rc: $(echo "$out" | tail -1))"
    fi
    ((rc == 0)) || fail "run with rro: $out"
    assert_eq "/rro ro
/rro/sub ro
/ro ro
/ro/sub rw" "$out" "rro is recursive, ro is not"
}

# Issue 13 item 8: in a user namespace, a bind of a host directory the container's root cannot reach (below a
# 0700 directory of host root) is made from the host side, as runc 1.1 opens such sources: the container sees
# it (read-only as asked), and nothing is left on the host after delete.
test_mounts_userns_bind_of_unreachable_host_dir() {
    require_root
    local secret="$E2E_WORK/userns-secret" b id out
    mkdir -p "$secret/sub"
    echo "host-only-$$" >"$secret/sub/file"
    chmod 0755 "$secret/sub"
    chmod 0700 "$secret"
    b=$(bundle usernsbind sh -c 'id -u; cat /data/file; touch /data/x 2>/dev/null && echo data-rw || echo data-ro')
    # The mapped root must be able to reach the rootfs (liblxc checks every parent directory for x access).
    chmod o+x "$E2E_WORK" "$E2E_WORK/bundles" "$E2E_ROOT" || fail "chmod o+x"
    mkdir "$b/rootfs/data" # runc makes a missing mount point as the mapped root, in a rootfs owned by host root
    spec_edit "$b" ".linux.namespaces += [{type: \"user\"}]
        | .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
        | .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
        | .mounts += [{destination: \"/data\", type: \"bind\", source: \"$secret/sub\", options: [\"rbind\", \"ro\"]}]"
    id=$(new_id usernsbind)
    snapshot_host "$E2E_WORK/usernsbind-host"
    out=$(rt run --bundle "$b" "$id" </dev/null 2>&1) || fail "run failed: $out"
    assert_eq "0
host-only-$$
data-ro" "$out" "the unreachable host directory bound read-only in the user namespace"
    [[ ! -e $secret/sub/x ]] || fail "the read-only bind was written"
    rt delete --force "$id" >/dev/null 2>&1 || true
    assert_host_clean "$E2E_WORK/usernsbind-host" "$id"
}
