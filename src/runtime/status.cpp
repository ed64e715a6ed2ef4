#include "runtime/state.hpp"

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

ContainerStatus::ContainerStatus(const State& st, const backend::Observed& seen) {
    if (st.creating) {
        // A create still in progress, or one whose runtime died: the latter is "stopped" once nothing runs.
        s_ = seen.init_alive || seen.setup_alive ? RunState::Creating : RunState::Stopped;
    } else if (!seen.init_alive) {
        s_ = RunState::Stopped;
    } else if (!st.started) {
        s_ = RunState::Created;
    } else {
        s_ = seen.frozen ? RunState::Paused : RunState::Running;
    }
}

Status ContainerStatus::allows(Verb v, const std::string& id) const {
    auto no = [](std::string msg) { return fail(ErrorKind::WrongState, std::move(msg)); };
    switch (v) {
    case Verb::Start:
        if (can_start()) return ok();
        if (s_ == RunState::Stopped) return no("cannot start a container that has stopped");
        return no("cannot start an already running container");
    case Verb::Kill:
        // Wording matters: containerd maps "container not running" / "process already finished" to "gone".
        return can_kill() ? ok() : no("container not running");
    case Verb::Delete:
        if (can_delete()) return ok();
        return no("cannot delete container " + id + " that is not stopped: " + std::string(name()));
    case Verb::Exec:
    case Verb::ExecIgnorePaused:
        if (can_exec(v == Verb::ExecIgnorePaused)) return ok();
        if (s_ == RunState::Paused)
            return no("cannot exec in a paused container (use --ignore-paused to override)");
        return no("cannot exec in a stopped container");
    case Verb::Pause:
        return can_pause() ? ok() : no("container not running");
    case Verb::Resume:
        return can_resume() ? ok() : no("container not paused");
    case Verb::Update:
        return can_update() ? ok() : no("container not running");
    case Verb::Events:
        return can_observe() ? ok() : no("container with id " + id + " is not running");
    case Verb::Ps:
        return ok(); // a stopped container has no processes to list
    case Verb::Checkpoint:
        // runc's words (checkpoint.go); a paused container is refused too (CRIU would wait on its frozen
        // tasks).
        return can_checkpoint() ? ok()
                                : no("Container cannot be checkpointed in " + std::string(name()) + " state");
    }
    return no("unknown operation");
}

std::string state_to_json(const State& s) {
    json j = {
        {"id", s.id},
        {"bundle", s.bundle},
        {"rootfs", s.rootfs},
        {"created", s.created},
        {"owner", s.owner},
        {"annotations", s.annotations},
        {"pid", s.pid},
        {"started", s.started},
        {"creating", s.creating},
        {"backend", s.backend},
        {"backendState", s.backend_state},
    };
    if (s.storage)
        j["storage"] = {{"driver", s.storage->driver}, {"root", s.storage->root}, {"id", s.storage->id}};
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
        s.pid = j.value("pid", 0);
        s.started = j.value("started", false);
        s.creating = j.value("creating", true);
        s.backend = j.value("backend", std::string(backend::kDefault));
        s.backend_state = j.value("backendState", json::object());
        if (auto it = j.find("storage"); it != j.end() && it->is_object())
            s.storage = StorageRef{it->value("driver", ""), it->value("root", ""), it->value("id", "")};
        return s;
    } catch (const std::exception& e) {
        return fail(std::string("corrupt state: ") + e.what());
    }
}

std::string oci_state_json(const State& s, RunState st, int indent) {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    j["ociVersion"] = "1.0.2-dev";
    j["id"] = s.id;
    j["pid"] = (st == RunState::Stopped) ? 0 : s.pid;
    j["status"] = status_name(st);
    j["bundle"] = s.bundle;
    j["rootfs"] = s.rootfs;
    j["created"] = s.created;
    if (!s.annotations.empty()) j["annotations"] = s.annotations;
    j["owner"] = s.owner;
    return indent > 0 ? j.dump(indent) : j.dump();
}

} // namespace lxcri::runtime
