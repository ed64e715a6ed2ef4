// Container state: what is persisted in <root>/<id>/state.json, and the status rules (one transition table).
#pragma once
#include "base/result.hpp"

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>

namespace lxcri::runtime {

enum class RunState { Creating, Created, Running, Paused, Stopped };
std::string_view status_name(RunState s);

struct State {
    std::string id;
    std::string bundle;
    std::string rootfs;
    std::string created; // RFC3339
    std::string owner;
    std::map<std::string, std::string> annotations;
    pid_t init_pid = 0;           // the container's init (host pid), what `state` reports
    uint64_t init_start_time = 0; // guards against pid reuse
    pid_t monitor_pid = 0;        // the liblxc monitor = the pid-file pid
    uint64_t monitor_start_time = 0;
    bool started = false; // `start` released the init
    bool creating = true; // create has not finished (a runtime killed mid-create leaves this set)
    std::map<std::string, std::string> cgroup_paths;
    std::string cgroups_path; // as given in the spec
    int cgroup_mode = 0;      // cgroup::Mode
    bool systemd_cgroup = false;
    std::string systemd_scope; // --systemd-cgroup: the transient scope's cgroup, "system.slice/x.scope"

    // Current status, derived from the saved flags and the live processes.
    RunState status() const;
    bool init_alive() const;

    // Transition rules (youki-style: the state type owns them).
    bool can_start() const { return status() == RunState::Created; }
    bool can_kill() const;
    bool can_pause() const { return status() == RunState::Running; }
    bool can_resume() const { return status() == RunState::Paused; }
    bool can_exec() const { return status() == RunState::Running || status() == RunState::Created; }
    bool can_delete() const { return status() == RunState::Stopped || status() == RunState::Created; }
};

std::string state_to_json(const State& s);            // internal, persisted
Result<State> state_from_json(std::string_view text); // internal, persisted
// The OCI / runc `state` object (indent 2 like runc's state; 0 for list --format json).
// `as`: report this status instead of the live one (hooks get the status of their phase).
std::string oci_state_json(const State& s, int indent, std::optional<RunState> as = std::nullopt);

} // namespace lxcri::runtime
