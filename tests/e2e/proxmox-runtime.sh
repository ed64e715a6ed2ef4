#!/usr/bin/env bash
# A RUNTIME for the e2e suites that selects the proxmox backend:
#   RUNTIME=$PWD/tests/e2e/proxmox-runtime.sh bash tests/e2e/run.sh lifecycle
# It runs $PROXMOX_LXCRI_RUNTIME (default: build/proxmox-lxcri of this tree) with --backend proxmox. The config
# is $PROXMOX_LXCRI_CONFIG when set; otherwise the first call starts the project's PVE emulator in
# $PVE_WRAPPER_DIR (default /tmp/proxmox-lxcri-pve-wrapper), writes a config for it there, and leaves it running
# for the calls that follow (stop it with: source tests/pve-emulator/emulator.sh; pve_emu_stop DIR).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bin=${PROXMOX_LXCRI_RUNTIME:-$here/../../build/proxmox-lxcri}
if [[ -z ${PROXMOX_LXCRI_CONFIG:-} ]]; then
    dir=${PVE_WRAPPER_DIR:-/tmp/proxmox-lxcri-pve-wrapper}
    mkdir -p "$dir"
    cfg="$dir/lxcri.json"
    exec 9>"$dir/.lock"
    flock 9
    pid=$(cat "$dir/emulator.pid" 2>/dev/null || true)
    if [[ -z $pid ]] || ! kill -0 "$pid" 2>/dev/null || [[ ! -s $cfg ]]; then
        # shellcheck source=tests/pve-emulator/emulator.sh
        source "$here/../pve-emulator/emulator.sh"
        chmod o+x "$dir"
        pve_emu_start "$dir" >/dev/null 9>&-
        jq -n --arg port "$PVE_EMU_PORT" --arg token "$PVE_EMU_TOKEN" --arg fpr "$PVE_EMU_FPR" \
            --arg lxcpath "$PVE_EMU_LXCPATH" \
            '{backend: "proxmox", proxmox: {hosts: ["127.0.0.1"], port: ($port | tonumber), token: $token,
              node: "pve", fingerprint: $fpr, lxcpath: $lxcpath, node_cache_duration: 60}}' >"$cfg.new"
        chmod 600 "$cfg.new"
        mv "$cfg.new" "$cfg"
    fi
    exec 9>&-
    export PROXMOX_LXCRI_CONFIG=$cfg
fi
exec "$bin" --backend proxmox "$@"
