// Mount destinations resolved inside the container's rootfs before liblxc runs (issue 12, item 3).
//
// liblxc creates a missing target (create=dir / create=file) with a plain mkdir_p/open of rootfs + target,
// which follows symlinks onto the host; it refuses a symlinked target only afterwards. So each entry's target
// is resolved here as runc does (securejoin: a symlink read as if the rootfs were "/", ".." stopping at its
// root), its missing components are created inside the rootfs (sys::create_in_root), and liblxc is handed the
// resolved, symlink-free path without create= (it then creates nothing, and its safe_mount still refuses a
// symlink swapped in later).
#pragma once
#include "backend/lxc/lxc_config.hpp"

#include <string>

namespace lxcri::lxc {

// Rewrites cfg.mounts (and their lxc.mount.entry keys) for the rootfs at ROOTFS. An entry whose target lies
// on what an earlier entry mounts (below its target, "dev/null" after "dev"; or reached through a symlink: a
// tmpfs at /run, then /var/run/x with var/run -> /run) is on a filesystem that does not exist yet: only its
// part up to that mount point is rewritten to the earlier entry's resolved target, and liblxc creates the
// rest (with create=) on the new filesystem. lxc.autodev = 1 counts as an entry mounting /dev first. A bind
// mount's missing target is made a directory or a file as its source is (stat), as runc does; without a
// readable source the entry's create= option decides. A spec tmpfs on a directory that exists (through any
// symlinks, resolved inside) gets that directory's mode (a "mode=" option after the spec's: runc's chmod).
// Errors name the entry ("mounts[2] (/etc/hosts): ...").
Status resolve_mount_targets(Config& cfg, const std::string& rootfs);

} // namespace lxcri::lxc
