// Final process set-up inside the container, shared by the init helper (create/start) and exec:
// rlimits, masked/readonly paths, read-only root, cwd, groups/gid/uid, umask, capabilities (all five sets),
// no_new_privs, oom_score_adj, apparmor/selinux exec labels, seccomp (full OCI syntax via libseccomp),
// execve.
#pragma once
#include "base/result.hpp"
#include "plan/plan.hpp"

namespace lxcri::init {

// What runc checks at create rather than at start: the rlimits (set here, as runc sets them before it waits)
// and the executable's lookup.
Status check_process(const plan::InitConfig& cfg);

// Applies cfg and execs cfg.process.args. Returns only on failure.
// Masked/readonly paths and the read-only root are applied only when apply_mounts is true (init, not exec).
Status exec_process(const plan::InitConfig& cfg, bool apply_mounts);

// terminal=true: a pty from /dev/ptmx (the container's devpts); its master goes over console_fd with
// SCM_RIGHTS (payload: the pty name, as runc sends it), the slave becomes the controlling terminal and stdio.
Status setup_console(int console_fd, const std::optional<spec::ConsoleSize>& console_size);

// Builds (and, when load is true, loads) the seccomp filter. Exposed for unit tests of the mapping.
Status apply_seccomp(const spec::Seccomp& sc, bool load);
// OCI names -> libseccomp values; errors for unknown names.
Result<uint32_t> seccomp_action(const std::string& name, std::optional<uint32_t> errno_ret);
Result<int> seccomp_compare_op(const std::string& name);
Result<uint32_t> seccomp_arch(const std::string& name);
Result<int> capability_number(const std::string& name); // "CAP_CHOWN" -> 0

} // namespace lxcri::init
