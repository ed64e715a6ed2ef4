// Signalling a process by identity (pid + start time), without a window for pid reuse: the pidfd pins the
// process, then its start time is compared, then the signal goes through the pidfd.
#pragma once
#include "base/result.hpp"
#include "sys/fd.hpp"

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>

namespace lxcri::sys {

// A pidfd for the process with this identity (ErrorKind::Gone when it has exited or is another process).
Result<Fd> open_process(pid_t pid, uint64_t start_time);

// ErrorKind::Gone when the process no longer exists or is another process now (start time differs);
// start_time 0 (unknown) is refused: a pid is never signalled without its identity.
Status signal_process(pid_t pid, uint64_t start_time, int sig);

// The inode of /proc/<pid>/ns/<type> ("pid", "mnt", ...); 0 when unknown.
uint64_t namespace_inode(pid_t pid, const char* type);

// The namespaces of pid that are not the caller's (user mnt pid net ipc uts cgroup time), as setns(2) flags
// for pid's pidfd.
int namespaces_to_join(pid_t pid);

// For a forked, single-threaded child about to become a process of a container: joins the cgroup
// directories (controller -> directory, as cgroup::Cgroup::paths()), then the namespaces in ns_flags of the
// process behind pidfd (one setns(2)). A pid namespace applies to the children forked afterwards.
Status join_container(const std::map<std::string, std::string>& cgroup_dirs, int pidfd, int ns_flags);

} // namespace lxcri::sys
