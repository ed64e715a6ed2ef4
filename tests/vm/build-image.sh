#!/usr/bin/env bash
# Builds the Debian 12 VM image once: debootstrap minbase + packages.txt, a boot hook, mkfs.ext4 -d.
#   build-image.sh CACHE_DIR    -> prints the image directory (CACHE_DIR/<key>) holding vmlinuz, initrd.img,
#                                  rootfs.img; reuses it when it exists. The key hashes this script and
#                                  packages.txt, so editing either builds a new image.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${1:?usage: build-image.sh CACHE_DIR}
key=$(cat "$here/build-image.sh" "$here/packages.txt" | sha256sum | cut -c1-16)
out="$cache/$key"
if [[ -f $out/rootfs.img && -f $out/vmlinuz && -f $out/initrd.img ]]; then
    echo "$out"
    exit 0
fi
[[ $(id -u) == 0 ]] || { echo "build-image.sh: needs root (debootstrap, chroot)" >&2; exit 1; }
for tool in debootstrap mkfs.ext4; do
    command -v "$tool" >/dev/null || { echo "build-image.sh: $tool not installed" >&2; exit 1; }
done

# The host's Debian mirror (deb822 sources), else deb.debian.org.
mirror=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}
packages=$(grep -vE '^\s*(#|$)' "$here/packages.txt" | tr '\n' ' ')

work=$(mktemp -d "$cache/build.XXXXXX")
root="$work/rootfs"
cleanup() {
    for m in dev/pts dev proc sys; do umount -l "$root/$m" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

echo "build-image: debootstrap bookworm from $mirror" >&2
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; exit 1; }
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
mount -t proc proc "$root/proc"
mount -t sysfs sys "$root/sys"
# No daemons start inside the chroot.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"
cat >"$root/etc/apt/sources.list" <<SRC
deb $mirror bookworm main
deb $mirror bookworm-updates main
SRC
echo "build-image: apt-get install $packages" >&2
chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive LC_ALL=C bash -c \
    "apt-get update -q && apt-get install -y -q --no-install-recommends $packages && apt-get clean" \
    >"$work/apt.log" 2>&1 || { tail -30 "$work/apt.log" >&2; exit 1; }
rm -f "$root/usr/sbin/policy-rc.d"

# System configuration: root fs, hostname, no login prompt on the serial console.
echo "/dev/vda / ext4 rw,errors=remount-ro 0 1" >"$root/etc/fstab"
echo lxcri-vm >"$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 lxcri-vm\n' >"$root/etc/hosts"
chroot "$root" systemctl mask serial-getty@ttyS0.service getty@tty1.service >/dev/null 2>&1
chroot "$root" passwd -d root >/dev/null

# The boot hook. Mode a (systemd): lxcri-vm-test.service runs it with "systemd". Mode b: the kernel runs it as
# init= with no argument; it mounts what systemd would have. Either way it mounts the payload disk (/dev/vdb)
# and runs its guest/main.sh MODE, then powers off.
cat >"$root/usr/local/sbin/lxcri-vm-boot" <<'HOOK'
#!/bin/bash
mode=${1:-nosystemd}
if [[ $mode == nosystemd ]]; then
    mount -t proc proc /proc
    mount -t sysfs sysfs /sys
    mount -t devtmpfs devtmpfs /dev 2>/dev/null
    mkdir -p /dev/pts /dev/shm
    mount -t devpts devpts /dev/pts
    mount -t tmpfs tmpfs /dev/shm
    mount -t tmpfs tmpfs /run
    mount -t tmpfs tmpfs /tmp
    mount -t cgroup2 cgroup2 /sys/fs/cgroup
    mount -o remount,rw /
    hostname lxcri-vm
    exec </dev/ttyS0 >/dev/ttyS0 2>&1
fi
mkdir -p /mnt/payload
if mount -o ro /dev/vdb /mnt/payload && [[ -x /mnt/payload/guest/main.sh ]]; then
    /mnt/payload/guest/main.sh "$mode"
else
    echo "VMTEST RESULT: 0 passed, 1 failed (no payload disk)"
fi
sync
if [[ $mode == nosystemd ]]; then
    echo o >/proc/sysrq-trigger
    sleep 30
else
    systemctl poweroff --no-block
fi
HOOK
chmod 755 "$root/usr/local/sbin/lxcri-vm-boot"
cat >"$root/etc/systemd/system/lxcri-vm-test.service" <<'UNIT'
[Unit]
Description=proxmox-lxcri VM tests
After=multi-user.target dbus.service
ConditionKernelCommandLine=lxcri.test

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/lxcri-vm-boot systemd
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
TimeoutStartSec=infinity

[Install]
WantedBy=multi-user.target
UNIT
chroot "$root" systemctl enable lxcri-vm-test.service >/dev/null 2>&1

kernel=$(ls "$root"/boot/vmlinuz-* | sort -V | tail -1)
initrd=$(ls "$root"/boot/initrd.img-* | sort -V | tail -1)
for m in dev/pts dev proc sys; do umount -l "$root/$m"; done
mkdir -p "$work/out"
cp "$kernel" "$work/out/vmlinuz"
cp "$initrd" "$work/out/initrd.img"
truncate -s 4G "$work/out/rootfs.img"
mkfs.ext4 -q -F -L lxcri-root -d "$root" "$work/out/rootfs.img"
rm -rf "$out"
mv "$work/out" "$out"
echo "$out"
