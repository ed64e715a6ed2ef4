// Signalling a process by identity (pid + start time), without a window for pid reuse: the pidfd pins the
// process, then its start time is compared, then the signal goes through the pidfd.
#pragma once
#include "base/result.hpp"
#include "sys/fd.hpp"

#include <sys/types.h>

#include <cstdint>

namespace lxcri::sys {

// A pidfd for the process with this identity (ErrorKind::Gone when it has exited or is another process).
Result<Fd> open_process(pid_t pid, uint64_t start_time);

// ErrorKind::Gone when the process no longer exists or is another process now (start time differs);
// start_time 0 (unknown) is refused: a pid is never signalled without its identity.
Status signal_process(pid_t pid, uint64_t start_time, int sig);

// The inode of /proc/<pid>/ns/<type> ("pid", "mnt", ...); 0 when unknown.
uint64_t namespace_inode(pid_t pid, const char* type);

} // namespace lxcri::sys
