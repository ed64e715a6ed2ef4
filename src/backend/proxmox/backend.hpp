// The proxmox backend: every OCI container a Proxmox VE CT made through the PVE REST API (proxmox/client),
// whose PID 1 is the project's init in attach mode; the process plane is the stand-in (standin.hpp).
//
// Lifecycle (API calls, token auth; polls are GET .../tasks/{upid}/status until stopped):
//   create  [GET /cluster/resources?type=node, cached node_cache_duration s]
//           [POST /nodes/{n}/storage/{ts}/upload + polls: only for a rootfs not uploaded before]
//           GET /cluster/nextid; POST /nodes/{n}/lxc + polls; POST /nodes/{n}/lxc/{vmid}/status/start +
//           polls; then the stand-in (no API call: the init's host pid from liblxc on the node)
//   start   none (the stand-in's release over the init's socket)
//   state   none on the node (the init's pid and start time); status/current off the node
//   kill    none on the node; TERM/KILL off the node: status/shutdown / status/stop + polls
//   delete  DELETE /nodes/{n}/lxc/{vmid}?force=1&purge=1&destroy-unreferenced-disks=1 + polls
//   pause/resume  POST status/suspend / status/resume + polls; update  PUT /nodes/{n}/lxc/{vmid}/config
// The record (state.json "backendState") names the config file, the VMID before the CT is made, the
// template this create uploaded, the init's and the stand-in's pid and start time.
#pragma once
#include "backend/backend.hpp"

#include <memory>
#include <string>

namespace lxcri::backend::proxmox {

struct Record {
    std::string config; // the config file used at create (later verbs read the same one)
    std::string node;
    uint32_t vmid = 0;         // chosen before POST /lxc: delete --force finds the CT by it
    bool ct_requested = false; // POST /lxc was sent (the CT may exist)
    bool created = false;      // create finished
    std::string uploaded;      // template volid this create uploaded (removed when the create fails)
    std::string tag;           // the OCI id's tag on the CT
    pid_t init_pid = 0;        // the CT's PID 1 on the node
    uint64_t init_start_time = 0;
    pid_t standin_pid = 0;
    uint64_t standin_start_time = 0;
    bool off_node = false; // made with proxmox.on_node false: entrypoint = the OCI process, no stand-in

    static Record from_json(const nlohmann::json& j);
    nlohmann::json to_json() const;
};

// The API path of a CT: /nodes/{node}/lxc/{vmid}.
inline std::string ct_path(const std::string& node, uint32_t vmid) {
    return "/nodes/" + node + "/lxc/" + std::to_string(vmid);
}

std::unique_ptr<backend::Backend> make_backend();

} // namespace lxcri::backend::proxmox
