#include "runtime/hooks.hpp"

#include "plan/hook.hpp"
#include "sys/fd.hpp"
#include "sys/proc.hpp"

#include <fcntl.h>
#include <sys/wait.h>

#include <chrono>

namespace lxcri::runtime {

namespace {

Status run_hook(const spec::Hook& h, size_t index, const std::string& phase, const std::string& state_json,
                int mount_ns_fd, int root_fd, const std::string& cwd) {
    std::string what = "error running " + phase + " hook #" + std::to_string(index) + " (" + h.path + ")";
    sys::RunOptions o = plan::hook_run_options(h, state_json);
    o.out = sys::RunOptions::Output::Null;
    o.mount_ns_fd = mount_ns_fd;
    o.root_fd = root_fd;
    o.cwd = cwd;
    auto r = sys::run(o);
    if (!r) return std::unexpected(std::move(r).error().context(what));
    if (r->timed_out)
        return fail(what + ": hook ran past specified timeout of " + std::to_string(*h.timeout) + ".0s");
    if (WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0) return ok();
    while (!r->err.empty() && r->err.back() == '\n')
        r->err.pop_back();
    return fail(what + ": " + sys::describe_wait_status(r->status) +
                (r->err.empty() ? "" : ", stderr: " + r->err));
}

} // namespace

Status run_hooks(const std::vector<spec::Hook>& hooks, const std::string& phase,
                 const std::string& state_json, pid_t enter_mnt_of, const std::string& cwd) {
    if (hooks.empty()) return ok();
    // In the container's mount namespace, but (as runc runs it, before pivot_root) with the host's root so
    // that the hook, its interpreter and its libraries resolve as in the runtime's namespace.
    sys::Fd ns, host_root;
    if (enter_mnt_of > 0) {
        ns.reset(::open(("/proc/" + std::to_string(enter_mnt_of) + "/ns/mnt").c_str(), O_RDONLY | O_CLOEXEC));
        if (!ns.valid()) return fail_errno(phase + " hooks: open mount namespace");
        host_root.reset(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!host_root.valid()) return fail_errno(phase + " hooks: open /");
    }
    for (size_t i = 0; i < hooks.size(); ++i)
        TRY(run_hook(hooks[i], i, phase, state_json, ns.get(), host_root.get(), cwd));
    return ok();
}

} // namespace lxcri::runtime
