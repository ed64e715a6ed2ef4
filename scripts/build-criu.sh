#!/usr/bin/env bash
# Provide CRIU >= 4.1 at /usr/local/sbin/criu, built from Debian trixie's source package.
# Debian 12's criu 3.17 fails on kernels >= 6.13 (vdso); checkpoint/restore and its tests need a newer one.
#
#   sudo bash scripts/build-criu.sh [--force]
#
# The source is fetched with a private apt configuration (its own deb-src-only sources file and lists
# directory under the cache), so no trixie entry is ever added to the host's apt sources and no host package
# can be upgraded to trixie. The build is cached in $LXCRI_CRIU_CACHE (default /var/cache/proxmox-lxcri/criu):
# a second run, or a fresh clone on the same machine, only checks the installed binary and returns.
set -euo pipefail

cache=${LXCRI_CRIU_CACHE:-/var/cache/proxmox-lxcri/criu}
dest=${LXCRI_CRIU_BIN:-/usr/local/sbin/criu}
jobs=${LXCRI_CRIU_JOBS:-2}
min_major=4 min_minor=1

say() { echo "build-criu: $*" >&2; }

if [[ $(id -u) != 0 ]]; then
    say "run as root"
    exit 1
fi

version_ok() { # criu binary -> 0 when its version is >= min
    local v
    v=$("$1" --version 2>/dev/null | awk '/^Version:/ {print $2; exit}') || return 1
    [[ $v =~ ^([0-9]+)\.([0-9]+) ]] || return 1
    local ma=${BASH_REMATCH[1]} mi=${BASH_REMATCH[2]}
    ((ma > min_major || (ma == min_major && mi >= min_minor)))
}

if [[ ${1:-} != --force ]] && [[ -x $dest ]] && version_ok "$dest"; then
    say "$("$dest" --version | awk '/^Version:/ {print $2}') present at $dest"
    exit 0
fi

# A binary built before (this machine, another clone): install it again without rebuilding.
if [[ ${1:-} != --force ]] && [[ -x $cache/criu.bin ]] && version_ok "$cache/criu.bin"; then
    install -D -m 0755 "$cache/criu.bin" "$dest"
    say "installed the cached build at $dest"
    exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock -w 3600 9 || { say "another build holds $cache/.lock"; exit 1; }

export DEBIAN_FRONTEND=noninteractive
apt_host=(apt-get -y -q -o Acquire::Retries=3 -o DPkg::Lock::Timeout=600)
build_deps=(build-essential pkg-config dpkg-dev libprotobuf-dev libprotobuf-c-dev protobuf-c-compiler
    protobuf-compiler python3-protobuf libnl-3-dev libnet1-dev libcap-dev libbsd-dev libgnutls28-dev
    libnftables-dev uuid-dev libaio-dev)
missing=()
for p in "${build_deps[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
    say "installing build dependencies: ${missing[*]}"
    "${apt_host[@]}" install --no-install-recommends "${missing[@]}" >&2 ||
        { "${apt_host[@]}" update >&2 && "${apt_host[@]}" install --no-install-recommends "${missing[@]}" >&2; }
fi

# The private apt configuration: trixie deb-src only, from the host's own mirror.
mirror=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}
aptdir=$cache/apt
mkdir -p "$aptdir/lists/partial" "$aptdir/sources.list.d"
cat >"$aptdir/sources.list.d/trixie-src.sources" <<EOF
Types: deb-src
URIs: $mirror
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
apt_src=(apt-get -q -o Acquire::Retries=3 -o Dir::Etc::sourcelist=/dev/null
    -o Dir::Etc::sourceparts="$aptdir/sources.list.d" -o Dir::State::Lists="$aptdir/lists"
    -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= -o APT::Sandbox::User=root)
say "fetching trixie's criu source from $mirror"
"${apt_src[@]}" update >&2

src=$cache/src
rm -rf "$src"
mkdir -p "$src"
(cd "$src" && "${apt_src[@]}" source --only-source criu >&2) || say "apt-get source failed; trying the upstream tarball alone"
tree=$(find "$src" -mindepth 1 -maxdepth 1 -type d -name 'criu-*' | head -n1)
if [[ -z $tree ]]; then
    # Some mirrors serve the .orig tarball but not the .dsc/.debian.tar.xz. Debian's patches only touch the
    # packaging, so build the upstream tarball, checked against the SHA-256 in trixie's Sources index.
    orig=$(find "$src" -maxdepth 1 -name 'criu_*.orig.tar.*' | head -n1)
    [[ -n $orig ]] || { say "apt-get source fetched neither the package nor its .orig tarball"; exit 1; }
    want=$("${apt_src[@]/apt-get/apt-cache}" showsrc --only-source criu |
        awk -v f="$(basename "$orig")" '/^Checksums-Sha256:/ {s = 1; next} /^[^ ]/ {s = 0} s && $3 == f {print $1; exit}')
    have=$(sha256sum "$orig" | awk '{print $1}')
    [[ -n $want && $want == "$have" ]] || { say "$(basename "$orig"): sha256 $have, index says '${want:-none}'"; exit 1; }
    tar -C "$src" -xf "$orig"
    tree=$(find "$src" -mindepth 1 -maxdepth 1 -type d -name 'criu-*' | head -n1)
    [[ -n $tree ]] || { say "$(basename "$orig") holds no criu-* directory"; exit 1; }
fi
say "building $(basename "$tree") (make -j$jobs criu)"
make -C "$tree" -j"$jobs" criu >"$cache/build.log" 2>&1 || {
    tail -n 30 "$cache/build.log" >&2
    say "make failed (full log: $cache/build.log)"
    exit 1
}
bin=$tree/criu/criu
version_ok "$bin" || { say "the built $bin does not report a version >= $min_major.$min_minor"; exit 1; }
install -m 0755 "$bin" "$cache/criu.bin.tmp"
mv -f "$cache/criu.bin.tmp" "$cache/criu.bin"
install -D -m 0755 "$cache/criu.bin" "$dest"
rm -rf "$src"
say "installed $("$dest" --version | awk '/^Version:/ {print $2}') at $dest"
