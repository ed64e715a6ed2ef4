// Checkpoints of a proxmox-backend container as PVE CT snapshots (the CT's volumes, no process state: PVE has
// no CRIU for CTs). API calls (token auth; each task also polls GET /nodes/{n}/tasks/{upid}/status):
//   list      GET /nodes/{n}/lxc/{vmid}/snapshot (the pseudo-snapshot "current" and half-made ones left out)
//   snapshot  POST /nodes/{n}/lxc/{vmid}/snapshot (snapname) + polls
//   rollback  POST /nodes/{n}/lxc/{vmid}/snapshot/{name}/rollback + polls (PVE stops a running CT first)
//   remove    DELETE /nodes/{n}/lxc/{vmid}/snapshot/{name} + polls
#pragma once
#include "backend/backend.hpp"

#include <string>
#include <vector>

namespace lxcri::backend::proxmox {

// Oldest first (by PVE's snaptime, then name).
Result<std::vector<std::string>> list_snapshots(const Handle& h, Deadline d);
Status make_snapshot(const Handle& h, const std::string& name, Deadline d);
Status rollback_snapshot(const Handle& h, const std::string& name, Deadline d);
Status remove_snapshot(const Handle& h, const std::string& name, Deadline d);

} // namespace lxcri::backend::proxmox
