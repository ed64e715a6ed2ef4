// Helpers shared by the verbs: hooks, pid files, console socket, loading a container.
#pragma once
#include "base/result.hpp"
#include "runtime/hooks.hpp" // run_hooks
#include "runtime/runtime.hpp"
#include "runtime/state.hpp"
#include "runtime/store.hpp"
#include "spec/spec.hpp"

#include <string>
#include <vector>

namespace lxcri::runtime {

Status write_pid_file(const std::string& path, pid_t pid);
Result<int> connect_console_socket(const std::string& path);
std::string absolute_path(const std::string& p);

// A locked, loaded container.
struct Locked {
    sys::FileLock lock;
    State state;
};
Result<Locked> open_container(const Store& store, const std::string& id, bool exclusive = true);

// Kill everything, wait for the monitor, remove cgroups (also the ones of a create killed midway), run
// poststop hooks, remove the state directory.
Status destroy_container(const Store& store, const State& st);

} // namespace lxcri::runtime
