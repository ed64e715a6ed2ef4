// Container state: what is persisted in <root>/<id>/state.json, and the status rules (one transition table).
#pragma once
#include "backend/backend.hpp"
#include "base/result.hpp"
#include "runtime/runtime.hpp"

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
    pid_t pid = 0;        // the container's init as `state` reports it
    bool started = false; // `start` released the init
    bool creating = true; // create has not finished (a runtime killed mid-create leaves this set)
    std::string backend = std::string(backend::kDefault);
    backend::Record backend_state = backend::Record::object(); // opaque, the backend's own
    std::optional<StorageRef> storage;
};

// The verbs the transition table knows.
// ExecIgnorePaused: exec --ignore-paused (the process joins a frozen cgroup and runs once it is thawed).
enum class Verb {
    Start,
    Kill,
    Delete,
    Exec,
    ExecIgnorePaused,
    Pause,
    Resume,
    Update,
    Events,
    Ps,
    Checkpoint
};

// The status type: the saved flags plus what the backend observes. It owns every transition rule; the verbs
// ask it and use the error it gives (runc's words, which clients match).
class ContainerStatus {
  public:
    ContainerStatus(const State& st, const backend::Observed& seen);
    explicit ContainerStatus(RunState s) : s_(s) {}
    RunState value() const { return s_; }
    std::string_view name() const { return status_name(s_); }

    bool can_start() const { return s_ == RunState::Created; }
    bool can_kill() const {
        return s_ == RunState::Created || s_ == RunState::Running || s_ == RunState::Paused;
    }
    // runc: a created container may be deleted without --force (containerd relies on it).
    bool can_delete() const { return s_ == RunState::Stopped || s_ == RunState::Created; }
    bool can_exec(bool ignore_paused = false) const {
        return s_ == RunState::Running || s_ == RunState::Created ||
               (ignore_paused && s_ == RunState::Paused);
    }
    bool can_pause() const { return s_ == RunState::Running; }
    bool can_resume() const { return s_ == RunState::Paused; }
    bool can_update() const { return s_ != RunState::Stopped; }
    bool can_observe() const { return s_ != RunState::Stopped; } // events, ps
    // runc checkpoints a paused container too (containerd pauses the task before it checkpoints it).
    bool can_checkpoint() const { return s_ == RunState::Running || s_ == RunState::Paused; }

    // ok(), or ErrorKind::WrongState with runc's message for this verb.
    Status allows(Verb v, const std::string& id) const;

  private:
    RunState s_;
};

std::string state_to_json(const State& s);            // internal, persisted
Result<State> state_from_json(std::string_view text); // internal, persisted
// The OCI / runc `state` object (indent 2 like runc's state; 0 for list --format json).
std::string oci_state_json(const State& s, RunState status, int indent);

} // namespace lxcri::runtime
