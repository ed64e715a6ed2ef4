#!/usr/bin/env bash
# Configure and build with CMake + Ninja.
#   bash scripts/build.sh              -> build/       (RelWithDebInfo)
#   bash scripts/build.sh --sanitize   -> build-asan/  (Debug, ASan + UBSan; the init helper stays unsanitized)
# Extra arguments after the option are passed to ninja (targets).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dir="$repo/build"
opts=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
if [[ ${1:-} == --sanitize ]]; then
    shift
    dir="$repo/build-asan"
    opts=(-DCMAKE_BUILD_TYPE=Debug -DLXCRI_SANITIZE=ON)
fi
# ccache, where installed, makes a rebuild in a second checkout (or a second CI run) cheap.
if command -v ccache >/dev/null; then
    export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(dirname "$repo")} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
    opts+=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S "$repo" -B "$dir" -G Ninja "${opts[@]}" >/dev/null
ninja -C "$dir" "$@"
