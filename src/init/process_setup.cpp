// The init helper's set-up shared by its two modes (init/setup.hpp), moved here from main.cpp unchanged.
#include "init/setup.hpp"
#include "plan/hook.hpp"
#include "sys/fs.hpp"
#include "sys/proc.hpp"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

namespace lxcri::init {

void make_dev_symlinks() {
    static const std::pair<const char*, const char*> links[] = {{"/proc/self/fd", "/dev/fd"},
                                                                {"/proc/self/fd/0", "/dev/stdin"},
                                                                {"/proc/self/fd/1", "/dev/stdout"},
                                                                {"/proc/self/fd/2", "/dev/stderr"},
                                                                {"pts/ptmx", "/dev/ptmx"}};
    for (const auto& [target, path] : links)
        (void)::symlink(target, path);
}

Status make_devices(const std::vector<spec::DeviceNode>& devices) {
    for (const auto& d : devices) {
        mode_t type = d.type == "b" ? S_IFBLK : d.type == "p" ? S_IFIFO : S_IFCHR;
        dev_t rdev =
            d.type == "p" ? 0 : makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor));
        struct stat st {};
        if (::lstat(d.path.c_str(), &st) == 0) {
            if ((st.st_mode & S_IFMT) == type && st.st_rdev == rdev) continue;
            if (::unlink(d.path.c_str()) < 0) return fail_errno("replace " + d.path);
        }
        auto slash = d.path.rfind('/');
        if (slash > 0) TRY(sys::mkdir_p(d.path.substr(0, slash)));
        mode_t perm = d.file_mode ? static_cast<mode_t>(*d.file_mode) : 0666;
        if (::mknod(d.path.c_str(), type | perm, rdev) < 0) return fail_errno("mknod " + d.path);
        if (::chown(d.path.c_str(), d.uid.value_or(0), d.gid.value_or(0)) < 0)
            return fail_errno("chown " + d.path);
        if (::chmod(d.path.c_str(), perm) < 0) return fail_errno("chmod " + d.path);
    }
    return ok();
}

Status set_root_propagation(const std::string& p) {
    if (p.empty()) return ok();
    static const std::pair<const char*, unsigned long> flags[] = {{"shared", MS_SHARED},
                                                                  {"slave", MS_SLAVE},
                                                                  {"private", MS_PRIVATE},
                                                                  {"unbindable", MS_UNBINDABLE},
                                                                  {"rshared", MS_SHARED | MS_REC},
                                                                  {"rslave", MS_SLAVE | MS_REC},
                                                                  {"rprivate", MS_PRIVATE | MS_REC},
                                                                  {"runbindable", MS_UNBINDABLE | MS_REC}};
    for (const auto& [name, flag] : flags)
        if (p == name) {
            if (::mount(nullptr, "/", nullptr, flag, nullptr) < 0) return fail_errno("set / " + p);
            return ok();
        }
    return fail("unknown rootfsPropagation \"" + p + "\"");
}

// The shared runner (sys::run): state on stdin, stdout and stderr captured for the error, and at the timeout
// the hook is killed with its process group (runc's wording for both).
namespace {

Status run_hook(const spec::Hook& hook, const std::string& state) {
    auto r = sys::run(plan::hook_run_options(hook, state));
    if (!r && r.error().kind() == ErrorKind::NotExecuted)
        return fail("fork/exec " + hook.path, r.error().code());
    if (!r) return std::unexpected(std::move(r).error());
    if (r->timed_out)
        return fail("hook ran past specified timeout of " + std::to_string(*hook.timeout) + ".0s");
    if (WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0) return ok();
    return fail("error running hook: " + sys::describe_wait_status(r->status) + ", stdout: " + r->out +
                ", stderr: " + r->err);
}

} // namespace

Status run_start_hooks(const std::vector<spec::Hook>& hooks, const std::string& state) {
    for (size_t i = 0; i < hooks.size(); ++i)
        TRY_CTX(run_hook(hooks[i], state), "error running startContainer hook #" + std::to_string(i));
    return ok();
}

} // namespace lxcri::init
