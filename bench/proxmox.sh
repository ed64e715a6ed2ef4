#!/usr/bin/env bash
# The proxmox backend's cost per container: create -> start -> (state until stopped) -> delete of busybox `true`
# through --backend proxmox against the project's PVE emulator, beside the lxc backend in the same run (the two
# take turns). Not a test: nothing is asserted.
#
#   sudo bash bench/proxmox.sh [N]      N lifecycles per backend (default 20)
#   RUNTIME=/abs/path/to/runtime        default: build/proxmox-lxcri
#
# Prints per backend: wall time mean/median ms per lifecycle; for proxmox also the API requests per lifecycle
# (from the emulator's requests.log, polls included), the emulator's own handling time of those requests
# (the log's per-request ms, summed), so that wall - emulator is the runtime's own share, and the minimum
# number of requests a lifecycle needs.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-20}
BIN=${RUNTIME:-$repo/build/proxmox-lxcri}
[[ $(id -u) == 0 ]] || { echo "bench: needs root" >&2; exit 1; }

# shellcheck source=tests/e2e/lib.sh
source "$repo/tests/e2e/lib.sh"
# shellcheck source=tests/pve-emulator/emulator.sh
source "$repo/tests/pve-emulator/emulator.sh"
E2E_WORK=$(mktemp -d /tmp/lxcri-bench-pve.XXXXXX)
export E2E_WORK
chmod o+x "$E2E_WORK"
STATE=$(mktemp -d /run/lxcri-bench-pve.XXXXXX)
emu="$E2E_WORK/emu"
pve_emu_start "$emu" >/dev/null
cleanup() {
    local id
    for id in $("$BIN" --root "$STATE/proxmox" list -q 2>/dev/null); do "$BIN" --root "$STATE/proxmox" delete --force "$id" || true; done
    pve_emu_stop "$emu" || true
    rm -rf "$STATE" "$E2E_WORK"
}
trap cleanup EXIT
cfg="$emu/lxcri.json"
jq -n --arg port "$PVE_EMU_PORT" --arg token "$PVE_EMU_TOKEN" --arg fpr "$PVE_EMU_FPR" --arg lxcpath "$PVE_EMU_LXCPATH" \
    '{proxmox: {hosts: ["127.0.0.1"], port: ($port | tonumber), token: $token, node: "pve", fingerprint: $fpr,
      lxcpath: $lxcpath, node_cache_duration: 60}}' >"$cfg"
chmod 600 "$cfg"
export PROXMOX_LXCRI_CONFIG=$cfg
make_busybox_bundle "$E2E_WORK/bundle" true >/dev/null

now_ns() { date +%s%N; }
# cycle BACKEND: one create -> start -> state until stopped -> delete; prints its wall time in ns.
cycle() {
    local be=$1 root="$STATE/$1" id="bench-$1" t0 n=0
    mkdir -p "$root"
    t0=$(now_ns)
    "$BIN" --root "$root" --backend "$be" create --bundle "$E2E_WORK/bundle" "$id" </dev/null >/dev/null
    "$BIN" --root "$root" start "$id"
    until [[ $("$BIN" --root "$root" state "$id" | jq -r .status) == stopped ]]; do
        ((++n < 2000)) || { echo "bench: $be container never stopped" >&2; exit 1; }
    done
    "$BIN" --root "$root" delete "$id"
    echo $(($(now_ns) - t0))
}

# Warm-up: the first proxmox create uploads the template (cached afterwards), the first lxc one warms caches.
cycle proxmox >/dev/null
cycle lxc >/dev/null
log="$emu/requests.log"
declare -a t_pve t_lxc calls emu_ms
for ((i = 0; i < N; i++)); do
    before=$(wc -l <"$log")
    t_pve+=("$(cycle proxmox)")
    calls+=("$(($(wc -l <"$log") - before))")
    emu_ms+=("$(tail -n +"$((before + 1))" "$log" | awk '{s += $NF} END {printf "%.3f", s}')")
    t_lxc+=("$(cycle lxc)")
done

stats() { # mean and median of the numbers on stdin
    sort -n | awk '{a[NR] = $1; s += $1} END {m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.1f %.1f\n", s / NR, m}'
}
read -r pm pmed < <(printf '%s\n' "${t_pve[@]}" | awk '{print $1 / 1e6}' | stats)
read -r lm lmed < <(printf '%s\n' "${t_lxc[@]}" | awk '{print $1 / 1e6}' | stats)
read -r cm cmed < <(printf '%s\n' "${calls[@]}" | stats)
read -r em emed < <(printf '%s\n' "${emu_ms[@]}" | stats)
cmin=$(printf '%s\n' "${calls[@]}" | sort -n | head -1)
echo "bench/proxmox.sh: $N lifecycles per backend (create -> start -> state until stopped -> delete, busybox true)"
echo "| backend | wall mean / median ms | API requests per lifecycle mean / median (min) | emulator handling ms mean / median |"
echo "|---|---:|---:|---:|"
echo "| lxc | $lm / $lmed | - | - |"
echo "| proxmox | $pm / $pmed | $cm / $cmed ($cmin) | $em / $emed |"
echo "minimum requests a lifecycle needs: 7 (GET /cluster/nextid, POST /nodes/{n}/lxc, POST .../status/start," \
    "DELETE /nodes/{n}/lxc/{vmid}, and at least one task-status poll for each of the 3 tasks);" \
    "the node check (GET /cluster/resources) is cached node_cache_duration s and the template upload happens once per rootfs"
echo "requests per lifecycle here: min $cmin, mean $cm (the extra ones are task polls while the emulator's tasks run)"
