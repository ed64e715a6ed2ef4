#!/usr/bin/env bash
# Build the libFuzzer targets standalone: fuzz/build.sh [OUT-DIR]   (default build-fuzz/)
# Compiles src/base src/sys src/spec src/plan src/image and fuzz/*_fuzz.cpp once each (in parallel) with clang
# and -fsanitize=fuzzer-no-link,address,undefined, then links one binary per target:
#   spec_fuzz                 config.json -> spec::parse -> plan::make_plan    (base sys spec plan)
#   proxmox_response_fuzz     PVE API answers -> the proxmox client's parsers  (base sys spec proxmox/parse)
#   image_<what>_fuzz         the image side's untrusted parsers                (base sys spec image +
#                             libarchive, libcurl, libgcrypt from pkg-config)
#   attach_framing_fuzz       the Proxmox attach protocol's framing over a socketpair (base sys +
#                             src/init/process_attach.cpp)
# Needs clang-16 + libclang-rt-16-dev (scripts/install-deps.sh).
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
read -r -a image_libs <<<"$(pkg-config --libs libarchive libcurl libgcrypt)"
jobs=${FUZZ_JOBS:-2}

# obj SOURCE -> its object path
obj() { local rel=${1#"$repo"/}; echo "$out/obj/${rel//\//_}.o"; }

core=("$repo"/src/base/*.cpp "$repo"/src/sys/*.cpp "$repo"/src/spec/*.cpp)
plan=("$repo"/src/plan/*.cpp)
image=("$repo"/src/image/*.cpp)
attach=("$repo"/src/init/process_attach.cpp)
proxmox=("$repo"/src/proxmox/parse.cpp)
targets=("$repo"/fuzz/*_fuzz.cpp)

# Compile what is out of date, at most $jobs at a time.
newest_hdr=$(find "$repo/src" "$repo/fuzz" -name '*.hpp' -printf '%T@ %p\n' | sort -n | tail -n 1 | cut -d' ' -f2)
pids=()
rc=0
for s in "${core[@]}" "${plan[@]}" "${image[@]}" "${attach[@]}" "${proxmox[@]}" "${targets[@]}"; do
    [[ -f $s ]] || continue
    o=$(obj "$s")
    if [[ ! -f $o || $s -nt $o || $0 -nt $o || $newest_hdr -nt $o ]]; then
        "$CXX" "${flags[@]}" -c "$s" -o "$o" &
        pids+=($!)
        if ((${#pids[@]} >= jobs)); then
            wait "${pids[0]}" || rc=1
            pids=("${pids[@]:1}")
        fi
    fi
done
for p in "${pids[@]}"; do wait "$p" || rc=1; done
((rc == 0)) || { echo "fuzz/build.sh: compile failed" >&2; exit 1; }

objs_of() { for s in "$@"; do [[ -f $s ]] && obj "$s"; done; }
mapfile -t core_objs < <(objs_of "${core[@]}")
mapfile -t plan_objs < <(objs_of "${plan[@]}")
mapfile -t image_objs < <(objs_of "${image[@]}")
mapfile -t attach_objs < <(objs_of "${attach[@]}")
mapfile -t proxmox_objs < <(objs_of "${proxmox[@]}")
pids=()
for t in "${targets[@]}"; do
    name=$(basename "$t" .cpp)
    if [[ $name == image_* ]]; then
        "$CXX" -fsanitize=fuzzer,address,undefined "$(obj "$t")" "${image_objs[@]}" "${core_objs[@]}" \
            "${image_libs[@]}" -o "$out/$name" &
    elif [[ $name == attach_* ]]; then
        "$CXX" -fsanitize=fuzzer,address,undefined "$(obj "$t")" "${attach_objs[@]}" "${core_objs[@]}" \
            -o "$out/$name" &
    elif [[ $name == proxmox_* ]]; then
        "$CXX" -fsanitize=fuzzer,address,undefined "$(obj "$t")" "${proxmox_objs[@]}" "${core_objs[@]}" \
            -o "$out/$name" &
    else
        "$CXX" -fsanitize=fuzzer,address,undefined "$(obj "$t")" "${plan_objs[@]}" "${core_objs[@]}" \
            -o "$out/$name" &
    fi
    pids+=($!)
    if ((${#pids[@]} >= jobs)); then
        wait "${pids[0]}" || rc=1
        pids=("${pids[@]:1}")
    fi
done
for p in "${pids[@]}"; do wait "$p" || rc=1; done
((rc == 0)) || { echo "fuzz/build.sh: link failed" >&2; exit 1; }
for t in "${targets[@]}"; do echo "$out/$(basename "$t" .cpp)"; done
