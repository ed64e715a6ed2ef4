#!/usr/bin/env bash
# Install every Debian package the build, unit tests, e2e tests, fuzzing and benchmarks need.
# Idempotent and noninteractive: when everything is already installed it only says so.
#   sudo bash scripts/install-deps.sh [--force]   (--force: apt-get update + install even if all present)
set -euo pipefail

packages=(
    # build
    build-essential cmake ninja-build pkg-config git file
    lxc lxc-dev nlohmann-json3-dev libcli11-dev libfmt-dev libseccomp-dev libcap-dev
    # unit tests
    libgtest-dev
    # e2e: bundle rootfs, peers and real clients
    busybox-static runc crun podman conmon containerd jq iproute2 uidmap util-linux procps tar gzip
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
if ((${#missing[@]} == 0)) && [[ ${1:-} != --force ]]; then
    echo "install-deps: all ${#packages[@]} packages present"
    exit 0
fi
echo "install-deps: installing ${missing[*]:-(forced)}"

export DEBIAN_FRONTEND=noninteractive
# Package scripts must not start daemons (containerd, lxc-net) on this host: the tests start their own.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    made_policy=1
fi
cleanup() { ((made_policy)) && rm -f "$policy"; return 0; }
trap cleanup EXIT

apt-get update -qq
apt-get install -y -qq -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${packages[@]}"
echo "install-deps: done"
