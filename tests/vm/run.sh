#!/usr/bin/env bash
# The VM stage: boots a cached Debian 12 image under QEMU (TCG) twice and runs tests/vm/guest/main.sh inside:
#   (a) systemd as PID 1 on cgroup v2 (the Debian / Proxmox VE default): cgroupfs and --systemd-cgroup drivers,
#       podman with cgroup_manager = "systemd";
#   (b) init=/usr/local/sbin/lxcri-vm-boot cgroup_no_v1=all, no systemd: the cgroupfs driver.
#   sudo tests/vm/run.sh [BUILD_DIR]      (default: build; needs BUILD_DIR/proxmox-lxcri{,-init})
# The image is built once (build-image.sh) under $LXCRI_VM_CACHE (default /var/cache/proxmox-lxcri-vm). The
# binaries and tests go in on a second, read-only virtio disk. Console logs stay in $LXCRI_VM_LOGS (default
# BUILD_DIR/vm-logs). Prints the guest's per-test lines and "VM: N passed, N failed"; exits non-zero on any
# failure. Every wait is bounded (LXCRI_VM_TIMEOUT seconds per boot, default 1500). No timing claims.
# LXCRI_VM_MODES="systemd nosystemd" selects the boots; LXCRI_VM_ONLY=REGEX runs only the guest tests whose
# names match (e.g. LXCRI_VM_ONLY=without-dbus).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$repo/build}" && pwd)
cache=${LXCRI_VM_CACHE:-/var/cache/proxmox-lxcri-vm}
logs=${LXCRI_VM_LOGS:-$build/vm-logs}
boot_timeout=${LXCRI_VM_TIMEOUT:-1500}

for f in proxmox-lxcri proxmox-lxcri-init proxmox-lxcri-image; do
    [[ -x $build/$f ]] || { echo "vm: $build/$f not built" >&2; exit 1; }
done
command -v qemu-system-x86_64 >/dev/null || { echo "vm: qemu-system-x86_64 not installed" >&2; exit 1; }
mkdir -p "$cache" "$logs"

t0=$SECONDS
image=$("$here/build-image.sh" "$cache")
echo "vm: image $image ready after $((SECONDS - t0)) s"

# The payload disk: binaries and guest scripts, made without root or loop devices.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/payload/bin" "$work/payload/guest"
cp "$build/proxmox-lxcri" "$build/proxmox-lxcri-init" "$build/proxmox-lxcri-image" "$work/payload/bin/"
cp "$here"/guest/*.sh "$work/payload/guest/"
[[ -z ${LXCRI_VM_ONLY:-} ]] || echo "$LXCRI_VM_ONLY" >"$work/payload/guest/only"
truncate -s 256M "$work/payload.img"
mkfs.ext4 -q -F -L lxcri-payload -d "$work/payload" "$work/payload.img"

total_pass=0 total_fail=0
boot() { # boot NAME KERNEL-ARGS
    local name=$1 args=$2 log="$logs/console-$1.log" start=$SECONDS rc=0
    echo "vm: booting mode $name ($args)"
    # snapshot=on: the cached image is never written.
    timeout "$boot_timeout" qemu-system-x86_64 -machine q35 -accel tcg -m 2048 -smp 2 -nographic -no-reboot \
        -kernel "$image/vmlinuz" -initrd "$image/initrd.img" \
        -drive "file=$image/rootfs.img,format=raw,if=virtio,snapshot=on" \
        -drive "file=$work/payload.img,format=raw,if=virtio,readonly=on" \
        -append "console=ttyS0 root=/dev/vda rw quiet panic=-1 $args" </dev/null >"$log" 2>&1 || rc=$?
    tr -d '\r' <"$log" >"$log.txt" && mv "$log.txt" "$log"
    grep -E '^VMTEST (PASS|FAIL|SKIP|mode)' "$log" | sed "s/^VMTEST /vm[$name]: /" || true
    local result p f
    result=$(grep -E '^VMTEST RESULT: [0-9]+ passed, [0-9]+ failed' "$log" | tail -1 || true)
    if [[ -z $result ]]; then
        echo "vm[$name]: no result line (qemu exit $rc, timeout ${boot_timeout}s); console log: $log"
        total_fail=$((total_fail + 1))
    else
        p=$(sed -E 's/.* ([0-9]+) passed.*/\1/' <<<"$result")
        f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$result")
        total_pass=$((total_pass + p)) total_fail=$((total_fail + f))
        echo "vm[$name]: $p passed, $f failed"
    fi
    echo "vm[$name]: boot and tests took $((SECONDS - start)) s; console log: $log"
}

for mode in ${LXCRI_VM_MODES:-systemd nosystemd}; do
    case $mode in
    systemd) boot systemd "lxcri.test=1" ;;
    nosystemd) boot nosystemd "init=/usr/local/sbin/lxcri-vm-boot cgroup_no_v1=all" ;;
    *) echo "vm: unknown mode $mode" >&2; exit 1 ;;
    esac
done

echo "VM: $total_pass passed, $total_fail failed"
[[ $total_fail == 0 ]]
