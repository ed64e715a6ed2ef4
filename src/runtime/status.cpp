#include "runtime/state.hpp"

#include "cgroup/cgroup.hpp"
#include "sys/proc.hpp"

#include <nlohmann/json.hpp>

namespace lxcri::runtime {

using nlohmann::json;

std::string_view status_name(RunState s) {
    switch (s) {
    case RunState::Creating:
        return "creating";
    case RunState::Created:
        return "created";
    case RunState::Running:
        return "running";
    case RunState::Paused:
        return "paused";
    case RunState::Stopped:
        return "stopped";
    }
    return "unknown";
}

bool State::init_alive() const {
    return sys::process_alive(init_pid, init_start_time);
}

RunState State::status() const {
    if (creating) {
        // A create still in progress, or one whose runtime died: the latter is "stopped" once nothing runs.
        if (init_pid > 0 && init_alive()) return RunState::Creating;
        if (monitor_pid > 0 && sys::process_alive(monitor_pid, monitor_start_time)) return RunState::Creating;
        return RunState::Stopped;
    }
    if (!init_alive()) return RunState::Stopped;
    if (!started) return RunState::Created;
    cgroup::Cgroup cg(cgroup_paths, static_cast<cgroup::Mode>(cgroup_mode));
    if (auto f = cg.frozen(); f && *f) return RunState::Paused;
    return RunState::Running;
}

bool State::can_kill() const {
    RunState s = status();
    return s == RunState::Created || s == RunState::Running || s == RunState::Paused;
}

std::string state_to_json(const State& s) {
    json j = {
        {"id", s.id},
        {"bundle", s.bundle},
        {"rootfs", s.rootfs},
        {"created", s.created},
        {"owner", s.owner},
        {"annotations", s.annotations},
        {"initPid", s.init_pid},
        {"initStartTime", s.init_start_time},
        {"monitorPid", s.monitor_pid},
        {"monitorStartTime", s.monitor_start_time},
        {"started", s.started},
        {"creating", s.creating},
        {"cgroupPaths", s.cgroup_paths},
        {"cgroupsPath", s.cgroups_path},
        {"cgroupMode", s.cgroup_mode},
        {"systemdCgroup", s.systemd_cgroup},
        {"systemdScope", s.systemd_scope},
    };
    return j.dump(2) + "\n";
}

Result<State> state_from_json(std::string_view text) {
    try {
        json j = json::parse(text);
        State s;
        s.id = j.at("id").get<std::string>();
        s.bundle = j.at("bundle").get<std::string>();
        s.rootfs = j.value("rootfs", "");
        s.created = j.value("created", "");
        s.owner = j.value("owner", "");
        s.annotations = j.value("annotations", std::map<std::string, std::string>{});
        s.init_pid = j.value("initPid", 0);
        s.init_start_time = j.value("initStartTime", uint64_t{0});
        s.monitor_pid = j.value("monitorPid", 0);
        s.monitor_start_time = j.value("monitorStartTime", uint64_t{0});
        s.started = j.value("started", false);
        s.creating = j.value("creating", true);
        s.cgroup_paths = j.value("cgroupPaths", std::map<std::string, std::string>{});
        s.cgroups_path = j.value("cgroupsPath", "");
        s.cgroup_mode = j.value("cgroupMode", 0);
        s.systemd_cgroup = j.value("systemdCgroup", false);
        s.systemd_scope = j.value("systemdScope", "");
        return s;
    } catch (const std::exception& e) {
        return fail(std::string("corrupt state: ") + e.what());
    }
}

std::string oci_state_json(const State& s, int indent, std::optional<RunState> as) {
    RunState st = as.value_or(s.status());
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    j["ociVersion"] = "1.0.2-dev";
    j["id"] = s.id;
    j["pid"] = (st == RunState::Stopped) ? 0 : s.init_pid;
    j["status"] = status_name(st);
    j["bundle"] = s.bundle;
    j["rootfs"] = s.rootfs;
    j["created"] = s.created;
    if (!s.annotations.empty()) j["annotations"] = s.annotations;
    j["owner"] = s.owner;
    return indent > 0 ? j.dump(indent) : j.dump();
}

} // namespace lxcri::runtime
