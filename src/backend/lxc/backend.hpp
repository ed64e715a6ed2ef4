// The lxc backend (backend::Backend on local liblxc) and its per-container record.
#pragma once
#include "backend/backend.hpp"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace lxcri::lxc {

// What state.json's "backendState" holds for an lxc container. Every field is written before the thing it
// names exists, so a runtime killed at any moment leaves a record that destroy() can act on.
struct Record {
    std::string lxcpath;
    pid_t init_pid = 0;
    uint64_t init_start_time = 0;
    pid_t monitor_pid = 0; // liblxc's monitor: runs only while create sets the container up
    uint64_t monitor_start_time = 0;
    std::map<std::string, std::string> cgroup_paths; // the init's cgroups, once confirmed
    int cgroup_mode = 0;                             // cgroup::Mode
    std::vector<std::string> cgroup_dirs;            // relative dirs liblxc was asked to make
    std::vector<std::string> preexisting; // absolute dirs among them that existed before: never ours
    bool cgroups_confirmed = false;       // cgroup_paths read from the running init
    std::string systemd_scope; // the scope this create started ("system.slice/x.scope"); empty: none
    // A restore asked CRIU for cgroup_dirs and has not confirmed its init yet: whatever runs in those
    // (non-preexisting) dirs is what that CRIU restored (it goes on when the runtime is killed), and destroy
    // kills it.
    bool restore_pending = false;
    // create removed the monitor's cgroup directories (the planned ones that are not the container's) after
    // it ended the monitor: destroy does not look for them again.
    bool monitor_cgroups_removed = false;

    static Record from_json(const nlohmann::json& j);
    nlohmann::json to_json() const;
};

std::unique_ptr<backend::Backend> make_backend();

} // namespace lxcri::lxc
