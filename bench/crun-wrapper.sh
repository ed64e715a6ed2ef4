#!/bin/sh
# crun 1.8 refuses this machine's hybrid cgroup layout (v1 controllers + cgroup2 at /sys/fs/cgroup/unified).
# Hide the cgroup2 mount in a private mount namespace so that it sees plain cgroup v1, then run crun.
# Usage: bench/crun-wrapper.sh CRUN-ARGS...   (CRUN=/path/to/crun to override)
exec unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$0" "$@"' \
    "${CRUN:-crun}" "$@"
