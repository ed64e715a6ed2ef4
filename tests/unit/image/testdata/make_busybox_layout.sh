#!/bin/sh
# Builds a runnable two-layer busybox image as an OCI layout with umoci: layer 1 has busybox and /etc,
# layer 2 deletes /etc/gone (a whiteout) and adds /etc/layer2. Usage: make_busybox_layout.sh LAYOUT TAG
set -eu
L=$1
T=${2:-latest}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
umoci init --layout "$L"
umoci new --image "$L:$T"
umoci unpack --image "$L:$T" "$W/b" >/dev/null
R="$W/b/rootfs"
mkdir -p "$R/bin" "$R/etc" "$R/tmp" "$R/proc" "$R/sys" "$R/dev"
chmod 1777 "$R/tmp"
cp /bin/busybox "$R/bin/busybox"
for c in sh echo cat ls id hostname sleep true df; do ln -s busybox "$R/bin/$c"; done
printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n' >"$R/etc/passwd"
printf 'root:x:0:\napp:x:1000:\nstaff:x:50:app\n' >"$R/etc/group"
echo gone >"$R/etc/gone"
umoci repack --image "$L:$T" "$W/b"
rm -rf "$W/b"
umoci unpack --image "$L:$T" "$W/b" >/dev/null
rm "$R/etc/gone"
echo two >"$R/etc/layer2"
umoci repack --image "$L:$T" "$W/b"
umoci config --image "$L:$T" --config.cmd /bin/sh --config.cmd -c --config.cmd 'echo hello-from-image $FOO; id' \
    --config.env FOO=bar --config.workingdir /etc --config.user app --config.label org.example=yes \
    --config.exposedports 8080/tcp --config.stopsignal SIGINT
