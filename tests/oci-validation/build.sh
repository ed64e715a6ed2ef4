#!/usr/bin/env bash
# Build opencontainers/runtime-tools' validation programs outside the repository (local runs only: the
# sources are not vendored here and CI has no way to fetch them).
#
#   bash tests/oci-validation/build.sh SRC [OUT]
#     SRC  a git directory or clone of github.com/opencontainers/runtime-tools
#     OUT  build directory (default /work/runtime-tools-build); never inside this repository
#
# Builds commit 260e151 (the last one whose go.mod says go 1.19, Debian 12's golang-go) offline from its
# vendor/ directory: GOFLAGS=-mod=vendor GOPROXY=off. Produces OUT/runtimetest and OUT/validation/*/*.t.
set -euo pipefail
src=${1:?usage: build.sh RUNTIME-TOOLS-GIT-DIR [OUT]}
out=${2:-/work/runtime-tools-build}
rev=${RUNTIME_TOOLS_REV:-260e151}
repo=$(cd "$(dirname "$0")/../.." && pwd)
case $(realpath -m "$out")/ in "$repo"/*) echo "build.sh: OUT must be outside the repository" >&2; exit 1 ;; esac
command -v go >/dev/null || { echo "build.sh: golang-go not installed" >&2; exit 1; }

mkdir -p "$out"
git -C "$src" archive "$rev" | tar -x -C "$out"
cd "$out"
export GOFLAGS=-mod=vendor GOPROXY=off GOCACHE="$out/.gocache"
go build -tags "netgo osusergo" -ldflags "-extldflags -static" -o runtimetest ./cmd/runtimetest
n=0
for d in validation/*/; do
    name=$(basename "$d")
    [[ $name == util ]] && continue
    go build -o "validation/$name/$name.t" "./validation/$name"
    n=$((n + 1))
done
echo "built runtimetest and $n validation programs in $out"
