// Process helpers: liveness with pid-reuse protection, signals, waiting on non-children, subprocesses.
#pragma once
#include "base/result.hpp"

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace lxcri::sys {

// Field 22 of /proc/<pid>/stat (start time in clock ticks); nullopt when the process is gone.
std::optional<uint64_t> process_start_time(pid_t pid);
// Alive and still the same process (start time matches); zombies count as dead.
bool process_alive(pid_t pid, uint64_t start_time);
// runc kill's signal: a number as strconv.Atoi reads it ("15", "+15", "015", "-1"; any int, the kernel judges
// its range: 0 checks liveness, 65 is EINVAL), or a name in any case with or without "SIG" ("term",
// "SIGTERM"; also IOT, POLL, CLD, RTMIN, RTMIN+n, RTMAX-n as runc 1.2 takes them). Anything else is an error,
// "unknown signal \"X\"".
Result<int> parse_signal(std::string_view s);
// Waits until pid is gone (it need not be our child); false on timeout.
bool wait_gone(pid_t pid, std::chrono::milliseconds timeout);

// One subprocess runner for the whole project (external commands, hooks, the init helper's hooks).
//
// The child gets its own process group; at the timeout the whole group is SIGKILLed and the runner stops
// waiting on the pipes (a grandchild holding them, or a child that closed or redirected them, cannot make it
// hang). Without a timeout it returns when the child exits: whatever is still buffered in the pipes then is
// read, later output of processes left behind is not waited for. Nothing allocates between fork and exec.
// Input is given on a memfd, so the parent never blocks writing it and never gets SIGPIPE.
struct RunOptions {
    std::vector<std::string> argv;               // argv[0] is also the program unless `path` is set
    std::string path;                            // file to exec (default argv[0])
    bool search_path = true;                     // a program without '/' is looked up in $PATH (as execvp)
    std::optional<std::vector<std::string>> env; // nullopt: the runner's own environment
    std::string input;                           // stdin content (ignored with stdin_fd >= 0)
    int stdin_fd = -1;                           // use this fd as stdin (not owned)
    enum class Output { Capture, Null, Inherit };
    Output out = Output::Capture, err = Output::Capture;
    size_t capture_limit = 1 << 20;      // per stream; further output is read and discarded
    std::chrono::milliseconds timeout{}; // 0: none
    // Pre-exec steps, in this order (fds are not owned): setns(mount_ns_fd, CLONE_NEWNS); fchdir(root_fd)
    // and chroot("."); chdir(cwd). A hook entered into a container's mount namespace with the host's root
    // uses the first two; OCI hooks run in the bundle (runc's cwd) use the last.
    int mount_ns_fd = -1;
    int root_fd = -1;
    std::string cwd; // "": the runner's own
};

struct RunResult {
    int status = 0; // raw wait status
    std::string out, err;
    bool timed_out = false;                            // killed (with its process group) at the timeout
    bool out_truncated = false, err_truncated = false; // more than capture_limit was written
};

// Fails only when the command could not be started: fork or pipe errors, a failed pre-exec step, or exec
// failing ("exec PATH" with its errno). Exit status, signals and timeouts are in the result.
Result<RunResult> run(const RunOptions& opts);

// "exit status N" / "signal: NAME" (runc's wording for a wait status).
std::string describe_wait_status(int status);

// Compatibility form: execvp(argv), env empty: inherited; a timeout is an error ("X timed out after Ns").
Result<RunResult> run(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                      std::string_view input, std::chrono::milliseconds timeout);

} // namespace lxcri::sys
