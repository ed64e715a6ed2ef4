// Checkpoint/restore of an lxc container's processes with CRIU, driven as runc drives it: `criu dump` of the
// process tree from the container's init (there is no liblxc monitor after create), `criu restore` with the
// restored init as our child (--restore-sibling), so that it is reparented to the caller's subreaper as a
// created init is.
//
// Mounts: bind mounts from the host are external (--ext-mount-map auto, as lxc's criu.c does); the root is
// the bundle's rootfs (--root). The init's stdio that lives outside the container (pipes, sockets, files on
// the host's mounts) is dumped as external and, at restore, inherited from the restoring process's own
// stdio (0-2), as runc does with its descriptors.json; the list is kept in the images
// (lxcri-descriptors.json).
#pragma once
#include "backend/backend.hpp"

#include <sys/types.h>

#include <map>
#include <string>

namespace lxcri::lxc {

// The CRIU version as "MAJOR.MINOR[.PATCH]", or an error (not found, no version line).
Result<std::string> criu_version(const std::string& criu);
// ok() when `criu` can checkpoint here: it runs and is at least 4.1 on kernels >= 6.13 (Debian 12's 3.17
// fails there on the vdso); otherwise why not.
Status criu_usable(const std::string& criu);

// freezer: the container's freezer cgroup (v1 freezer or its cgroup2 dir): CRIU freezes the tree through it
// (--freeze-cgroup, as runc passes it), which also works when the container is paused already.
Status criu_dump(pid_t init_pid, const std::string& freezer, const backend::CheckpointRequest& req);

struct CriuRestored {
    pid_t init_pid = 0;
};
// Restores the images into cgroup dir `cgroup_rel` (relative to every hierarchy, made by CRIU).
Result<CriuRestored> criu_restore(const backend::RestoreRequest& req, const std::string& cgroup_rel);

} // namespace lxcri::lxc
