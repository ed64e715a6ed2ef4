#!/usr/bin/env bash
# Real zfs (zfs-fuse, a pool on a file vdev) and btrfs (a loop device) for the storage tests: the unit tests
# (tests/unit/storage), the e2e tests (tests/e2e/test_storage.sh) and bench/storage.sh start and stop what they
# need through this script.
#   fixture.sh zfs-up POOL MOUNTPOINT SIZE_MB USER_PID   zfs-fuse started if no daemon answers; POOL made
#   fixture.sh zfs-down POOL USER_PID                   POOL destroyed; zfs-fuse stopped once no user is left,
#                                                       and only when this script started it
#   fixture.sh btrfs-up MOUNTPOINT SIZE_MB              a loop device with a new btrfs mounted there
#   fixture.sh btrfs-down MOUNTPOINT                    unmounted, loop device and image removed
# Users are registered by pid in $state/users (a dead pid counts as gone), so concurrent test processes share
# one daemon and the last one out stops it. A zfs-fuse that was running before (no pid file) is never stopped.
set -euo pipefail
state=/run/lxcri-test-storage
images=/var/tmp/lxcri-test-storage
mkdir -p "$state/users" "$images"
exec 9>"$state/lock"
flock -w 60 9

daemon_answers() { zpool list >/dev/null 2>&1; }

prune_users() {
    local f
    for f in "$state"/users/*; do
        [[ -e $f ]] || continue
        kill -0 "${f##*/}" 2>/dev/null || rm -f "$f"
    done
}

stop_ours() {
    [[ -f $state/zfs-fuse.pid ]] || return 0
    local pid
    pid=$(cat "$state/zfs-fuse.pid")
    if [[ $(cat "/proc/$pid/comm" 2>/dev/null) == zfs-fuse ]]; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$state/zfs-fuse.pid"
}

case ${1:-} in
zfs-up)
    pool=$2 mnt=$3 size=$4 user=$5
    command -v zfs-fuse >/dev/null || { echo "fixture: zfs-fuse is not installed (scripts/install-deps.sh)" >&2; exit 1; }
    [[ -e /dev/fuse ]] || { echo "fixture: no /dev/fuse" >&2; exit 1; }
    touch "$state/users/$user"
    if ! daemon_answers; then
        rm -f "$state/zfs-fuse.pid"
        (exec setsid zfs-fuse --no-daemon --no-kstat-mount </dev/null >>"$state/zfs-fuse.log" 2>&1 9>&-) &
        echo $! >"$state/zfs-fuse.pid"
        for _ in $(seq 100); do daemon_answers && break; sleep 0.1; done
        daemon_answers || { echo "fixture: zfs-fuse did not answer in 10 s: $(tail -3 "$state/zfs-fuse.log")" >&2; exit 1; }
    fi
    zpool destroy -f "$pool" >/dev/null 2>&1 || true # left by a killed run
    rm -f "$images/$pool.vdev"
    truncate -s "${size}M" "$images/$pool.vdev"
    mkdir -p "$mnt"
    zpool create -f -m "$mnt" "$pool" "$images/$pool.vdev" 2>&1 | grep -v '^Defaulting to' >&2 || true
    zfs list -H -o name "$pool" >/dev/null
    ;;
zfs-down)
    pool=$2 user=$3
    rc=0
    if daemon_answers && zpool list -H -o name "$pool" >/dev/null 2>&1; then
        for _ in $(seq 50); do zpool destroy -f "$pool" 2>/dev/null && break; sleep 0.1; done
        zpool list -H -o name "$pool" >/dev/null 2>&1 && { echo "fixture: cannot destroy pool $pool" >&2; rc=1; }
    fi
    rm -f "$images/$pool.vdev" "$state/users/$user"
    prune_users
    if [[ -z $(ls -A "$state/users") ]]; then stop_ours; fi
    exit $rc
    ;;
btrfs-up)
    mnt=$2 size=$3
    command -v mkfs.btrfs >/dev/null || { echo "fixture: btrfs-progs is not installed (scripts/install-deps.sh)" >&2; exit 1; }
    img="$images/btrfs-$(echo "$mnt" | md5sum | cut -c1-12).img"
    rm -f "$img"
    truncate -s "${size}M" "$img"
    mkfs.btrfs -q -f "$img" >/dev/null
    dev=$(losetup -f --show "$img")
    mkdir -p "$mnt"
    if ! mount "$dev" "$mnt"; then losetup -d "$dev"; rm -f "$img"; exit 1; fi
    ;;
btrfs-down)
    mnt=$2
    img="$images/btrfs-$(echo "$mnt" | md5sum | cut -c1-12).img"
    dev=$(findmnt -n -o SOURCE --target "$mnt" -t btrfs 2>/dev/null || true)
    if [[ -n $dev ]]; then umount "$mnt" || umount -l "$mnt"; fi
    for d in $(losetup -j "$img" -O NAME -n 2>/dev/null); do losetup -d "$d" || true; done
    rm -f "$img"
    ;;
*)
    echo "usage: fixture.sh zfs-up|zfs-down|btrfs-up|btrfs-down ..." >&2
    exit 2
    ;;
esac
