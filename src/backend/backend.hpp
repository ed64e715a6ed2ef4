// The Backend seam: what the runtime verbs ask of whatever runs the container (local liblxc, a Proxmox VE
// node). runtime/ holds the OCI contract (lock, state, transitions, hooks, pid files); a backend holds
// everything about processes, cgroups and the container manager. A verb never reads /proc, a cgroup file or a
// liblxc config itself.
//
// Each container's backend keeps an opaque record (JSON) in state.json under "backendState". The backend
// fills it during create and hands every change to `persist` before it takes the next step, so that what
// create made is on disk before it exists; destroy() undoes exactly what the record lists and nothing else.
#pragma once
#include "base/result.hpp"
#include "cgroup/cgroup.hpp"
#include "plan/plan.hpp"

#include <nlohmann/json.hpp>

#include <sys/types.h>
#include <sys/wait.h>

#include <cerrno>
#include <thread>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace lxcri::backend {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;
inline Deadline after(std::chrono::milliseconds d) {
    return Clock::now() + d;
}
inline constexpr Deadline kNoDeadline = Deadline::max();
// Time left until the deadline (0 when passed).
inline std::chrono::milliseconds left(Deadline d) {
    auto l = std::chrono::duration_cast<std::chrono::milliseconds>(d - Clock::now());
    return l.count() > 0 ? l : std::chrono::milliseconds(0);
}

// Waits for a child of the caller until the deadline (Deadline::max(): as long as it runs); its exit code,
// 128+sig after a signal. `what` names the child in errors.
inline Result<int> wait_child(pid_t pid, Deadline d, std::string_view what) {
    int status = 0;
    for (;;) {
        pid_t got = ::waitpid(pid, &status, d == kNoDeadline ? 0 : WNOHANG);
        if (got == pid) break;
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return fail_errno("wait for " + std::string(what));
        if (Clock::now() >= d) return fail(ErrorKind::Busy, "the container is still running");
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The per-backend record: opaque to runtime/, persisted as is.
using Record = nlohmann::json;

// One container as a backend sees it.
struct Handle {
    std::string id;
    std::string state_dir; // <root>/<id>: the backend may keep files here (removed with the state)
    Record record;
};

// Persists the handle's record (atomically, durably) before the backend goes on.
using Persist = std::function<Status(const Record&)>;

// What the backend observes of a container's processes.
struct Observed {
    bool init_alive = false;  // the container's init runs (pid and start time match)
    bool setup_alive = false; // the process setting the container up still runs (a create in progress)
    bool frozen = false;
};

struct CreateRequest {
    const plan::Plan* plan = nullptr;
    std::string root; // the state root (--root)
    int console_fd = -1;
    int preserve_fds = 0;
    bool strict = false;         // a field the backend cannot honour is an error
    bool systemd_cgroup = false; // --systemd-cgroup
    bool pid_file = false;       // --pid-file was given: the caller wants a local process to wait on
    bool foreground = false;     // run without -d: the caller waits for the container with its stdio
    Deadline deadline;
};

struct Created {
    pid_t init_pid = 0;     // what `state` reports
    pid_t pid_file_pid = 0; // what the pid file names
    std::vector<spec::Gap> gaps;
};

// Seccomp notify (linux.seccomp.listenerPath): called with the pid of a process whose filter has
// SCMP_ACT_NOTIFY rules and its notify fd (the caller's copy, closed after the call), after the filter is
// loaded and before the process execs; the runtime hands them to the seccomp agent. A failure fails the
// process. Empty: the profile does not notify.
using SeccompAgent = std::function<Status(pid_t pid, int notify_fd)>;

struct ExecRequest {
    plan::InitConfig process;
    Deadline deadline;
    SeccompAgent seccomp_agent;
    // exec --cgroup: controller -> existing sub-cgroup (relative to the container's cgroup) the process joins
    // instead of the container's own; key "" is every hierarchy. Empty: the container's cgroups.
    std::map<std::string, std::string> sub_cgroups;
};

// What checkpoint and restore share (runc's flags).
struct CriuOptions {
    std::string criu;       // the CRIU binary
    std::string image_path; // the images (exists)
    std::string work_path;  // CRIU's logs; empty: image_path
    bool tcp_established = false;
    bool ext_unix_sk = false;
    bool shell_job = false;
    bool file_locks = false;
    std::string manage_cgroups_mode; // soft, full, strict, ignore; empty: soft
};

struct CheckpointRequest {
    CriuOptions criu;
    std::string rootfs; // the container's root on the host
    bool leave_running = false;
    Deadline deadline;
};

struct RestoreRequest {
    CriuOptions criu;
    const plan::Plan* plan = nullptr; // the bundle's config: the rootfs and the cgroups
    std::string root;                 // the state root (--root)
    int console_fd = -1;              // --console-socket, connected (not owned): a terminal's new pty master
    Deadline deadline;
};

struct Restored {
    pid_t init_pid = 0; // what `state` and the pid file name
};

class Backend {
  public:
    virtual ~Backend() = default;
    virtual std::string_view name() const = 0;

    // Checks what can be checked without side effects (drivers present, options valid), before anything
    // exists: bad input leaves nothing behind.
    virtual Status check(const CreateRequest& req) = 0;
    // A create is about to begin (before the config is read): work that can run meanwhile starts here.
    // Nothing that a failed create would have to undo.
    virtual void begin_create() {}
    // Makes the container and leaves its init waiting for start(). Everything it makes is in h.record (and
    // persisted) before it is made; on error the caller runs destroy(h) on that record.
    virtual Result<Created> create(const CreateRequest& req, Handle& h, const Persist& persist) = 0;
    // Releases the waiting init; state_json is what its startContainer hooks get. With a seccomp agent,
    // returns once the init's notify fd went to it (or the init ended before it loaded its filter).
    virtual Status start(const Handle& h, const std::string& state_json, Deadline d,
                         const SeccompAgent& seccomp_agent) = 0;
    virtual Observed observe(const Handle& h, Deadline d) const = 0;
    // Signals the init (ErrorKind::Gone: it already finished).
    virtual Status signal(const Handle& h, int sig, Deadline d) = 0;
    // Signals every process of the container.
    virtual Status signal_all(const Handle& h, int sig, Deadline d) = 0;
    virtual Status pause(const Handle& h, Deadline d) = 0;
    virtual Status resume(const Handle& h, Deadline d) = 0;
    // Starts a process in the container; returns its pid, a child of the caller.
    virtual Result<pid_t> exec(const Handle& h, const ExecRequest& req) = 0;
    virtual Status update(const Handle& h, const spec::Resources& res, Deadline d) = 0;
    virtual Result<cgroup::Stats> stats(const Handle& h, Deadline d) const = 0;
    // Host pids of the container's processes.
    virtual Result<std::vector<pid_t>> pids(const Handle& h, Deadline d) const = 0;
    // Waits for the pid-file process, a child of the caller (run in the foreground); its exit code, 128+sig.
    // The deadline may be Deadline::max(): a foreground run lasts as long as its container.
    virtual Result<int> wait(const Handle& h, Deadline d) = 0;
    // Stops whatever still runs and removes exactly what the record says create made.
    virtual Status destroy(const Handle& h, Deadline d) = 0;

    // What `info` shows of this backend's host (JSON object); no container involved, no deadline.
    virtual nlohmann::json host_info() const = 0;

    // Checkpoint/restore of the container's processes (CRIU on lxc). checkpoint() writes the images into
    // req.image_path (which exists); unless req.leave_running the processes are gone afterwards. restore()
    // makes a new container from such images in req.plan's rootfs, recording what it makes in h.record
    // (through persist) before it makes it, as create() does; on error the caller runs destroy(h).
    virtual Status checkpoint(const Handle&, const CheckpointRequest&) { return unsupported("checkpoint"); }
    virtual Result<Restored> restore(const RestoreRequest&, Handle&, const Persist&) {
        return unsupported("restore");
    }
    // Named checkpoints the container manager keeps itself (PVE's CT snapshots: the volumes, no process
    // state), oldest first. rollback() leaves the container stopped. ErrorKind::Unsupported (the default):
    // the runtime keeps them (CRIU images and a storage driver's snapshot in the state directory).
    virtual Result<std::vector<std::string>> list_snapshots(const Handle&, Deadline) {
        return unsupported("snapshots of its own");
    }
    virtual Status snapshot(const Handle&, const std::string&, Deadline) { return unsupported("snapshot"); }
    virtual Status rollback(const Handle&, const std::string&, Deadline) { return unsupported("rollback"); }
    virtual Status remove_snapshot(const Handle&, const std::string&, Deadline) {
        return unsupported("removing a snapshot");
    }
    virtual Status clone(const Handle&, const std::string& /*new_id*/, Deadline) {
        return unsupported("clone");
    }

  protected:
    std::unexpected<Error> unsupported(std::string_view what) const {
        return fail(ErrorKind::Unsupported,
                    "the " + std::string(name()) + " backend does not support " + std::string(what) + " yet");
    }
};

// The registry: "lxc" (the embedded default). An unknown name is ErrorKind::Invalid.
Result<std::unique_ptr<Backend>> open(std::string_view name);
std::vector<std::string> names();
inline constexpr std::string_view kDefault = "lxc";
// The backend a new container gets: `flag` (the --backend flag), else the annotation
// proxmox-lxcri.io/backend, else the config file's "backend" (proxmox/config.hpp's lookup), else kDefault.
inline constexpr const char* kBackendAnnotation = "proxmox-lxcri.io/backend";
Result<std::string> choose(const std::string& flag, const std::map<std::string, std::string>& annotations);

} // namespace lxcri::backend
