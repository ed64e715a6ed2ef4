// The liblxc executor: carries out a Plan as an LXC container whose liblxc monitor is the pid-file process.
//
// create: writes <state_dir>/helper/{init.json,fifo,init}, forks the monitor (which joins path namespaces,
// hands liblxc the keys from lxc_config and calls liblxc start() non-daemonized; <state_dir>/lxc.conf has
// them as text only with LXCRI_LXC_LOGLEVEL set), waits until the
// init helper reports that it blocks on the fifo (it has cleared liblxc's parent-death signal), records the
// init, then ends the monitor: the init is reparented to the caller's subreaper (containerd's shim, conmon,
// `run` itself), as runc's is, and no process stays per container besides the container's own.
#pragma once
#include "backend/lxc/lxc_config.hpp"
#include "plan/plan.hpp"

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

struct lxc_container;

namespace lxcri::lxc {

struct CreateRequest {
    std::string lxcpath;   // the store root: liblxc's lxcpath/<id> is the container's state directory
    std::string state_dir; // lxcpath/<id>
    std::string init_binary;
    int console_fd = -1; // connected --console-socket
    int preserve_fds = 0;
    bool strict = false; // a field the liblxc mapping cannot honour is an error
    std::chrono::milliseconds timeout{30000};
    // systemd cgroup driver: the transient scope's cgroup ("system.slice/x.scope"). liblxc creates the
    // container and monitor cgroups inside it; enter_scope(monitor) creates the scope holding the forked
    // monitor, which waits for it before it starts liblxc. Empty: cgroupfs driver.
    std::string scope_cgroup;
    std::function<Status(pid_t monitor)> enter_scope;
    // Called with the cgroup directories (relative to each hierarchy) liblxc will make, before anything makes
    // them, right before monitor_forked: the caller may record both with one write.
    std::function<Status(const std::vector<std::string>& dirs)> cgroups_planned;
    // Called with the forked monitor's pid before the monitor goes on (it waits until this returns) and
    // before any cgroup directory is made.
    std::function<Status(pid_t monitor)> monitor_forked;
    // Called with the ready init and its cgroups before the monitor is ended (the init then outlives it).
    std::function<Status(pid_t init, const std::map<std::string, std::string>& cgroups)> init_ready;
};

struct Created {
    pid_t monitor_pid = 0; // gone (reaped) by the time create returns
    pid_t init_pid = 0;
    std::map<std::string, std::string> cgroup_paths;
    std::vector<spec::Gap> gaps; // from the liblxc mapping
};

Result<Created> create(const plan::Plan& plan, const CreateRequest& req);

// A liblxc container handle, put on destruction.
struct LxcPut {
    void operator()(::lxc_container* c) const;
};
using LxcPtr = std::unique_ptr<::lxc_container, LxcPut>;
// Releases the init helper: writes the OCI state (non-empty) into the fifo; the init runs the startContainer
// hooks with it and execs the process.
// Seccomp notify: called with a process's pid and its notify fd (closed after the call); see
// backend::SeccompAgent.
using NotifyFdSink = std::function<Status(pid_t pid, int notify_fd)>;

// Writes state_json into the init's fifo (the init then goes on).
Status write_start(const std::string& state_dir, pid_t init_pid, uint64_t init_start_time,
                   const std::string& state_json, std::chrono::steady_clock::time_point deadline);
// With a sink, start first listens on <state_dir>/helper/seccomp.sock (the init connects to it after the
// fifo, plan::InitConfig::seccomp_socket) and returns once the init's notify fd went to the sink, or the init
// ended before it loaded its filter.
Status start(const std::string& state_dir, pid_t init_pid, uint64_t init_start_time,
             const std::string& state_json, std::chrono::steady_clock::time_point deadline,
             const NotifyFdSink& seccomp_agent);

// The runtime's half of the notify fd's hand-over (init/process.cpp has the other): reads the fd's number
// on sock, takes the fd from pidfd (pidfd_getfd), gives it to sink and answers one byte (0: done, 1: failed).
// EOF before a number: the process ended or failed before it loaded its filter (ok, nothing taken).
Status take_notify_fd(int sock, int pidfd, pid_t pid, const NotifyFdSink& sink,
                      std::chrono::steady_clock::time_point deadline);

struct ExecRequest {
    pid_t init_pid = 0;
    uint64_t init_start_time = 0;
    std::map<std::string, std::string> cgroup_paths; // the init's, joined by the process
    plan::InitConfig process; // process, seccomp (the container's), console_fd, preserve_fds
    std::chrono::steady_clock::time_point deadline;
    NotifyFdSink seccomp_agent; // set when the profile notifies
};
// Runs the process in the container (the init's cgroups and namespaces); returns its pid, a child of the
// caller. Its set-up errors come back as the error.
Result<pid_t> exec(const ExecRequest& req);

// A label for an LSM the host does not have is reported as a gap by lxc_config and not applied (as crun
// does).
void strip_unavailable_lsm_labels(spec::Process& p);

// Host path of the static init helper: $LXCRI_INIT, next to this executable, or /usr/libexec/proxmox-lxcri.
Result<std::string> find_init_binary();

// Error lines from the container's liblxc log, for error messages.
std::string log_tail(const std::string& state_dir);

} // namespace lxcri::lxc
