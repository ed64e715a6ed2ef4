// How an OCI hook is run, for the runtime's hooks (runtime/hooks.cpp) and the init helper's startContainer
// hooks alike: its argv (args, or the path alone), exec'd by path without PATH lookup, its own env, the state
// on stdin, its timeout.
#pragma once
#include "spec/spec.hpp"
#include "sys/proc.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace lxcri::plan {

inline sys::RunOptions hook_run_options(const spec::Hook& h, const std::string& state_json) {
    sys::RunOptions o;
    o.argv = h.args.empty() ? std::vector<std::string>{h.path} : h.args;
    o.path = h.path;
    o.search_path = false;
    o.env = h.env;
    o.input = state_json;
    if (h.timeout && *h.timeout > 0) o.timeout = std::chrono::seconds(*h.timeout);
    return o;
}

} // namespace lxcri::plan
