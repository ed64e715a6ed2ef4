// The runtime-side OCI hooks (prestart, createRuntime, createContainer, poststart, poststop).
#pragma once
#include "base/result.hpp"
#include "spec/spec.hpp"

#include <sys/types.h>

#include <string>
#include <vector>

namespace lxcri::runtime {

// Runs hooks in order with the OCI state on stdin; with enter_mnt_of > 0 each hook runs in that process's
// mount namespace with the host's root (its path resolves as in ours); with a CWD (the bundle for the create
// hooks, as runc runs them from the bundle it changed into) each hook starts there. Stops at the first
// failure.
// A hook's stdout goes to /dev/null, its stderr (up to 1 MiB) into the error. At its timeout the hook is
// killed with its whole process group and the error says "hook ran past specified timeout of N.0s" (runc's
// wording).
Status run_hooks(const std::vector<spec::Hook>& hooks, const std::string& phase,
                 const std::string& state_json, pid_t enter_mnt_of = 0, const std::string& cwd = "");

} // namespace lxcri::runtime
