#!/usr/bin/env bash
# Build the libFuzzer target standalone: fuzz/build.sh [OUT-DIR]   (default build-fuzz/)
# Compiles src/base src/sys src/spec src/plan and fuzz/spec_fuzz.cpp with clang and
# -fsanitize=fuzzer,address,undefined. Needs clang-16 + libclang-rt-16-dev (scripts/install-deps.sh).
#
# libstdc++ 12 only declares std::expected when __cpp_concepts >= 202002L; clang 16 still reports
# 201907L although it implements what <expected> needs (P0848 conditionally trivial special members),
# so the macro is raised on the command line. Clang 14 does not compile <expected> at all.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$repo/build-fuzz}
CXX=${FUZZ_CXX:-}
if [[ -z $CXX ]]; then
    for c in clang++-16 clang++-17 clang++-18 clang++-19; do
        if command -v "$c" >/dev/null; then CXX=$c; break; fi
    done
fi
[[ -n $CXX ]] || { echo "fuzz/build.sh: no clang++ >= 16 found (apt-get install clang-16 libclang-rt-16-dev)" >&2; exit 1; }
mkdir -p "$out/obj"
flags=(-std=c++2b -g -O1 -fno-omit-frame-pointer -I"$repo/src"
    -Wno-builtin-macro-redefined -U__cpp_concepts -D__cpp_concepts=202002L
    -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined)
srcs=("$repo"/src/base/*.cpp "$repo"/src/sys/*.cpp "$repo"/src/spec/*.cpp "$repo"/src/plan/*.cpp)
objs=()
pids=()
for s in "${srcs[@]}" "$repo/fuzz/spec_fuzz.cpp"; do
    [[ -f $s ]] || continue
    rel=${s#"$repo"/}
    o="$out/obj/${rel//\//_}.o"
    objs+=("$o")
    if [[ ! -f $o || $s -nt $o || $0 -nt $o ]] || [[ -n $(find "$repo/src" -name '*.hpp' -newer "$o" -print -quit) ]]; then
        "$CXX" "${flags[@]}" -c "$s" -o "$o" &
        pids+=($!)
    fi
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
((rc == 0)) || { echo "fuzz/build.sh: compile failed" >&2; exit 1; }
"$CXX" -fsanitize=fuzzer,address,undefined "${objs[@]}" -o "$out/spec_fuzz"
echo "$out/spec_fuzz"
