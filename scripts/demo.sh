#!/usr/bin/env bash
# The README's first command: install dependencies, build, make a busybox bundle from Debian's
# busybox-static and run it with proxmox-lxcri, printing what the container prints.
#   sudo bash scripts/demo.sh [COMMAND...]     (default: a short tour inside the container)
#   RUNTIME=/abs/path  use another runtime binary (e.g. /usr/sbin/runc) instead of build/proxmox-lxcri
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

bash "$repo/scripts/install-deps.sh"
if [[ -z ${RUNTIME:-} ]]; then
    bash "$repo/scripts/build.sh" >/dev/null
    RUNTIME="$repo/build/proxmox-lxcri"
fi

# shellcheck source=tests/e2e/lib.sh
source "$repo/tests/e2e/lib.sh"
E2E_WORK=$(mktemp -d /tmp/lxcri-demo.XXXXXX)
export E2E_WORK
trap 'rm -rf --one-file-system "$E2E_WORK"' EXIT

bundle="$E2E_WORK/bundle"
if (($# > 0)); then
    make_busybox_bundle "$bundle" "$@"
else
    make_busybox_bundle "$bundle" sh -c 'echo "hello from $(hostname), a busybox container run by an OCI runtime"
echo "I am pid $$ as $(id)"; echo "kernel $(uname -r)"; echo "processes:"; ps'
fi
spec_edit "$bundle" '.hostname = "demo"'

echo "+ $RUNTIME run --bundle $bundle demo"
"$RUNTIME" delete --force demo >/dev/null 2>&1 || true
rc=0
"$RUNTIME" run --bundle "$bundle" demo </dev/null || rc=$?
echo "+ exit code $rc"
exit "$rc"
