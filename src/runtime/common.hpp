// Helpers shared by the verbs: hooks, pid files, console socket, loading a container.
#pragma once
#include "backend/backend.hpp"
#include "base/result.hpp"
#include "plan/plan.hpp"
#include "runtime/hooks.hpp" // run_hooks
#include "runtime/runtime.hpp"
#include "runtime/state.hpp"
#include "runtime/store.hpp"
#include "spec/spec.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace lxcri::runtime {

Status write_pid_file(const std::string& path, pid_t pid);
Result<int> connect_console_socket(const std::string& path);
using sys::absolute_path;

// Bounds on backend calls.
inline constexpr std::chrono::seconds kCreateTimeout{30};
inline constexpr std::chrono::seconds kStartTimeout{10};
inline constexpr std::chrono::seconds kDestroyTimeout{30};
inline constexpr std::chrono::seconds kOpTimeout{30};

// A locked, loaded container and the backend that owns it.
struct Container {
    sys::FileLock lock;
    State state;
    std::unique_ptr<backend::Backend> backend;
    std::string dir; // its state directory

    backend::Handle handle() const { return {state.id, dir, state.backend_state}; }
    ContainerStatus status() const {
        return ContainerStatus(state, backend->observe(handle(), backend::after(kOpTimeout)));
    }
    // ok() or the transition table's refusal for this verb.
    Status allows(Verb v) const { return status().allows(v, state.id); }
};
Result<Container> open_container(const Store& store, const std::string& id, bool exclusive = true);
// The same without a lock, for verbs that only read (state, list): state.json is replaced atomically, so a
// read sees one whole version; `state` answers while a create or another verb holds the lock, as runc does.
Result<Container> peek_container(const Store& store, const std::string& id);

// A new container `id` (its state directory made and locked, as Store::create does) whose state says it is
// being created from `bundle` by `backend`; create and restore fill in the rest.
Result<Container> new_container(Store& store, const std::string& id, const std::string& bundle,
                                const plan::Plan& plan, std::unique_ptr<backend::Backend> be,
                                std::string backend_name);

// Undoes what create recorded (the backend's record, then the storage), runs the poststop hooks of the
// config captured at create, removes the state directory.
Status destroy_container(const Store& store, Container& c);

// Seccomp notify (linux.seccomp.listenerPath, runtime/seccomp_agent.cpp). The runtime-spec's
// ContainerProcessState of process pid: {"ociVersion","fds":["seccompFd"],"pid","metadata","state"}, state
// being oci_state (oci_state_json's output) as the runtime-spec's State.
std::string container_process_state(const spec::Seccomp& sc, pid_t pid, const std::string& oci_state);
// Connects to the agent and sends it process_state with notify_fd (SCM_RIGHTS), runc's words on failure.
Status send_to_seccomp_agent(const spec::Seccomp& sc, const std::string& process_state, int notify_fd);
// What the backend calls with a notifying process's fd; empty when the profile has no SCMP_ACT_NOTIFY rule.
// oci_state(pid) is the state the agent gets for that process.
backend::SeccompAgent seccomp_agent(const spec::Spec& sp, const std::function<std::string(pid_t)>& oci_state);

} // namespace lxcri::runtime
