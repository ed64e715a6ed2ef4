// The Proxmox backend's process plane on the node: the stand-in, the pid-file process of a CT whose PID 1 is
// the init helper in attach mode (init/attach.hpp), and the `start` release. Independent of the PVE API:
// the caller gives the CT init's host pid (liblxc's init_pid() or status/current's pid).
// Design, what each side holds and every failure case: docs/proxmox-stdio.md.
#pragma once
#include "backend/backend.hpp"
#include "base/result.hpp"
#include "plan/plan.hpp"

#include <sys/types.h>

#include <string>

namespace lxcri::backend::proxmox {

// Paths of the init's socket inside the CT rootfs, and the init's argv for PVE's `entrypoint`.
inline constexpr const char* kAttachDir = "/.lxcri"; // holds init + attach.sock
std::string entrypoint();                            // "/.lxcri/init --attach /.lxcri/attach.sock"
// Where the node's root reaches the init's socket: /proc/<pid>/root/.lxcri/attach.sock.
std::string attach_socket(pid_t init_host_pid);

struct StandinRequest {
    // The OCI process as the lxc backend's init gets it (plan::make_init_config). process.terminal selects
    // the pty; preserve_fds the caller's fds 3..3+n-1 that go along (at most 64). The fd fields of the lxc
    // backend (console_fd, ready_fd, seccomp_fd, fifo, cleanup_dir, seccomp_socket) are ignored.
    plan::InitConfig process;
    pid_t init_host_pid = 0;
    int console_fd = -1; // --console-socket, connected (not owned): the pty master goes there (terminal)
    Deadline deadline = kNoDeadline;
};

// Forks the stand-in (a child of the caller, so that it is reparented to the caller's subreaper when the
// runtime exits) inside the CT: in the CT init's cgroups and namespaces, so that what clients do with the
// pid-file pid (podman top, nsenter -t, cgroup metrics) reaches the container; it is
// PID 1 of its own pid namespace (a child of the CT's) with its own mount namespace and /proc. It hands the
// process to the init (for the create-time checks; with a terminal it forwards the pty master the init made
// to console_fd and holds none of the caller's stdio), and this returns once the init ran the checks and
// waits for start. Returns the stand-in's pid: the pid file's process. At start it becomes the OCI process
// (exec_process with the caller's stdio, or the pty slave); the CT gone before start makes it die of
// SIGKILL. On error the stand-in is gone (killed and reaped) and the init exits (the CT stops).
Result<pid_t> spawn_standin(const StandinRequest& req);

// `start`: the init runs the process; state_json is what its startContainer hooks get on stdin. Returns the
// process's host pid (0 when it could not be learnt because the process ended already).
Result<pid_t> release(pid_t init_host_pid, const std::string& state_json, Deadline deadline);

// The host pid of the OCI process (the stand-in, the pid file's) once started: ErrorKind::WrongState before
// start, ErrorKind::Gone when the CT's init is gone.
Result<pid_t> process_pid(pid_t init_host_pid, Deadline deadline);

} // namespace lxcri::backend::proxmox
