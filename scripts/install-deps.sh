#!/usr/bin/env bash
# Install every Debian 12 package the build and all tests need: unit tests (both builds), e2e, the VM stage,
# fuzzing and benchmarks. Idempotent and noninteractive: when everything is installed it only says so.
#   sudo bash scripts/install-deps.sh [--force]   (--force: apt-get update + install even if all present)
set -euo pipefail

packages=(
    # build: compilers, CMake + Ninja, git (the commit id), and the libraries CMakeLists.txt links
    build-essential cmake ninja-build pkg-config git ccache
    lxc lxc-dev nlohmann-json3-dev libcli11-dev libfmt-dev libseccomp-dev libcap-dev
    libcurl4-openssl-dev libarchive-dev libssl-dev libzstd-dev libsystemd-dev
    # unit tests
    libgtest-dev
    #   test_process: unshare, mount, stty, mkfifo, timeout
    util-linux coreutils
    #   test_image / test_runtime: a real registry filled with skopeo, layouts from umoci and python3,
    #   TLS certificates from openssl, gzip and zstd layers, htpasswd hashes from python3's crypt
    docker-registry skopeo umoci openssl python3 zstd gzip tar
    # e2e: bundle rootfs, `runc spec`, jq edits, C helpers (cc), peers and real clients
    busybox-static runc crun podman conmon catatonit containerd jq iproute2 uidmap procps file
    diffutils findutils mawk
    # e2e test_proxmox_emulator: curl as the HTTPS client of the PVE API emulator (tests/pve-emulator)
    curl
    # storage drivers (tests/unit/storage, tests/e2e/test_storage.sh, bench/storage.sh): zfs-fuse gives real
    # zpool/zfs (a pool on a file vdev, the daemon started and stopped by tests/storage/fixture.sh; its package
    # scripts' start is refused by the policy-rc.d below), btrfs-progs makes and manages a loop btrfs
    zfs-fuse btrfs-progs
    # VM stage (tests/vm): debootstrap a Debian image, mkfs.ext4 -d, boot it under QEMU (TCG)
    qemu-system-x86 qemu-utils debootstrap e2fsprogs
    # benchmarks
    hyperfine
    # fuzzing: libFuzzer needs clang >= 16 for libstdc++ 12's <expected> (see fuzz/build.sh)
    clang-16 libclang-rt-16-dev
    # OCI validation suite (local runs: tests/oci-validation/)
    golang-go
)

if [[ $(id -u) != 0 ]]; then
    echo "install-deps: run as root (sudo bash scripts/install-deps.sh)" >&2
    exit 1
fi

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then missing+=("$p"); fi
done
# CRIU >= 4.1 for checkpoint/restore (Debian 12's 3.17 fails on kernels >= 6.13): built once from Debian
# trixie's source and cached (scripts/build-criu.sh); a second run returns at once.
criu() { bash "$(dirname "$0")/build-criu.sh"; }
if ((${#missing[@]} == 0)) && [[ ${1:-} != --force ]]; then
    echo "install-deps: all ${#packages[@]} packages present"
    criu
    exit 0
fi
echo "install-deps: installing ${missing[*]:-(forced)}"

export DEBIAN_FRONTEND=noninteractive
# Package scripts must not start daemons (containerd, docker-registry, lxc-net, zfs-fuse) on this host: the tests start
# their own. policy-rc.d answering 101 makes invoke-rc.d and deb-systemd-invoke skip every start.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    made_policy=1
fi
cleanup() { ((made_policy)) && rm -f "$policy"; return 0; }
trap cleanup EXIT

apt=(apt-get -y -q -o Acquire::Retries=3 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
"${apt[@]}" update
"${apt[@]}" install "${packages[@]}"
criu
echo "install-deps: done"
