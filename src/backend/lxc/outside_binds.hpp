// Bind mounts made from the host side in a user namespace (issue 13, item 8).
//
// liblxc makes its lxc.mount.entry mounts in the container's child after it entered the new user namespace,
// as the mapped root: a bind source it cannot reach (below a host directory with mode 0700 owned by host
// root) fails the whole create. runc 1.1 opens such sources from the runtime's side instead. Here the runtime
// takes those entries out of liblxc's list, and once the container's init is ready (its rootfs pivoted,
// before any hook) clones each source with the host's credentials (open_tree(OPEN_TREE_CLONE)), sets its
// ro/nosuid/ nodev/noexec attributes, enters the container's mount namespace and moves it onto the target
// that resolve_mount_targets already made inside the rootfs.
//
// Limit: such a bind is made after liblxc's mounts, so a later spec mount below its destination ends up under
// it instead of on it.
#pragma once
#include "backend/lxc/lxc_config.hpp"

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace lxcri::lxc {

struct OutsideBind {
    std::string source;
    std::string target; // relative to the rootfs, resolved (no symlinks), already created
    bool recursive = false;
    uint64_t attr_set = 0; // MOUNT_ATTR_* for the top mount ("rro" is the init helper's, as for every mount)
    std::string what;      // "mounts[3] (/data)"
};

// Takes out of cfg (mounts and their lxc.mount.entry keys) the bind entries of the spec whose source the
// host uid/gid UID:GID (the container's root) cannot open, and returns them. Call after
// resolve_mount_targets.
Result<std::vector<OutsideBind>> take_unreachable_binds(Config& cfg, uid_t uid, gid_t gid);

// Mounts BINDS into the mount namespace of INIT_PID (after its pivot_root) from a child with the runtime's
// credentials. Errors name the entry.
Status mount_outside_binds(const std::vector<OutsideBind>& binds, pid_t init_pid);

} // namespace lxcri::lxc
