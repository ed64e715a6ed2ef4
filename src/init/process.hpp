// Final process set-up inside the container, shared by the init helper (create/start) and exec:
// rlimits, masked/readonly paths, read-only root, cwd, groups/gid/uid, umask, capabilities (all five sets),
// no_new_privs, oom_score_adj, apparmor/selinux exec labels, seccomp (full OCI syntax via libseccomp),
// execve.
#pragma once
#include "base/result.hpp"
#include "plan/plan.hpp"
#include "sys/fd.hpp"

#include <linux/filter.h>

#include <functional>

namespace lxcri::init {

// What runc checks at create rather than at start: the rlimits (set here, as runc sets them before it waits),
// the seccomp profile (built, not loaded) and the executable's lookup.
Status check_process(const plan::InitConfig& cfg);

// Applies cfg and execs cfg.process.args. Returns only on failure.
// Masked/readonly paths and the read-only root are applied only when apply_mounts is true (init, not exec).
// before_exec runs last, after seccomp, right before execve (the init's startContainer hooks, as runc runs
// them).
Status exec_process(const plan::InitConfig& cfg, bool apply_mounts,
                    const std::function<Status()>& before_exec = {});

// terminal=true: a pty from /dev/ptmx (the container's devpts); its master goes over console_fd with
// SCM_RIGHTS (payload: the pty name, as runc sends it), the slave becomes the controlling terminal and stdio.
Status setup_console(int console_fd, const std::optional<spec::ConsoleSize>& console_size);
// Its parts: a pty from the container's devpts (console_size applied), and making the slave the calling
// process's controlling terminal (a new session) and stdio.
struct Pty {
    sys::Fd master, slave;
    std::string name; // "/dev/pts/N", as runc sends it with the master
};
Result<Pty> open_pty(const std::optional<spec::ConsoleSize>& console_size);
Status become_controlling_terminal(int slave);

// Builds (and, when load is true, loads) the seccomp filter, behind runc's -ENOSYS stub. Returns the notify
// fd when the profile has SCMP_ACT_NOTIFY rules and the filter was loaded, -1 otherwise.
Result<int> apply_seccomp(const spec::Seccomp& sc, bool load);
// runc's -ENOSYS stub (patchbpf): for each listed architecture, a syscall numbered above every syscall the
// profile names returns -ENOSYS; anything else falls through to the filter that follows it. Empty when the
// default action is SCMP_ACT_ALLOW/LOG/TRACE or ERRNO(ENOSYS), or no listed architecture names a syscall.
Result<std::vector<sock_filter>> seccomp_enosys_stub(const spec::Seccomp& sc);
// OCI names -> libseccomp values; errors for unknown names.
Result<uint32_t> seccomp_action(const std::string& name, std::optional<uint32_t> errno_ret);
Result<int> seccomp_compare_op(const std::string& name);
Result<uint32_t> seccomp_arch(const std::string& name);
Result<int> capability_number(const std::string& name); // "CAP_CHOWN" -> 0

} // namespace lxcri::init
