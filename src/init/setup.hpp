// The init helper's container set-up before the process, shared by its two modes (the lxc backend's fifo
// mode and the Proxmox attach mode): /dev, the root's propagation, the startContainer hooks.
#pragma once
#include "base/result.hpp"
#include "spec/spec.hpp"

#include <string>
#include <vector>

namespace lxcri::init {

// runc's default /dev symlinks; existing entries (liblxc's autodev makes some) are kept.
void make_dev_symlinks();
// linux.devices outside a user namespace: mknod like runc (the host need not have the node).
Status make_devices(const std::vector<spec::DeviceNode>& devices);
// linux.rootfsPropagation, on / after pivot_root as runc does (liblxc's lxc.rootfs.options acts before it).
Status set_root_propagation(const std::string& p);
// The startContainer hooks through the shared runner, each with the state on stdin (runc's wording on
// failure and timeout).
Status run_start_hooks(const std::vector<spec::Hook>& hooks, const std::string& state);

} // namespace lxcri::init
