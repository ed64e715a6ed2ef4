// exec without liblxc's attach (it needs the monitor's command socket, and the monitor is gone once create
// returns): the process joins the container's own cgroups on every hierarchy, then the init's namespaces
// through its pidfd, and is cloned into them as a child of the caller (CLONE_PARENT), as runc's exec is.
#include "backend/lxc/container.hpp"
#include "init/process.hpp"
#include "sys/fd.hpp"
#include "sys/fs.hpp"
#include "sys/pidfd.hpp"

#include <lxc/lxccontainer.h>

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

namespace lxcri::lxc {
namespace {

// In a child: sends the error over fd (the caller reports it) and exits.
[[noreturn]] void report(int fd, const Error& e) {
    std::string m = e.message();
    if (m.empty()) m = "exec failed";
    (void)!::write(fd, m.data(), m.size());
    ::_exit(127);
}

// The process itself, in the container's namespaces: terminal, then exec_process (runc's order).
[[noreturn]] void exec_child(const plan::InitConfig& cfg, int err_fd) {
    Status r = ok();
    if (cfg.process.terminal && cfg.console_fd >= 0)
        r = init::setup_console(cfg.console_fd, cfg.process.console_size);
    if (r) r = init::exec_process(cfg, false);
    report(err_fd, r ? Error("exec returned") : r.error());
}

// The intermediate child: cgroups, namespaces, then the process as a sibling (a child of the runtime).
[[noreturn]] void join_child(const ExecRequest& req, const plan::InitConfig& cfg, int pidfd, int flags,
                             int pid_fd, int err_fd) {
    if (auto j = sys::join_container(req.cgroup_paths, pidfd, flags); !j) report(err_fd, j.error());
    pid_t pid = static_cast<pid_t>(::syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0));
    if (pid < 0) report(err_fd, Error("clone the exec process", errno));
    if (pid == 0) {
        ::close(pid_fd);
        exec_child(cfg, err_fd);
    }
    (void)!::write(pid_fd, &pid, sizeof pid);
    ::_exit(0);
}

// Reads what the children report until every write end is closed (the process exec'd or failed).
Result<std::string> read_report(int fd, std::chrono::steady_clock::time_point deadline) {
    std::string out;
    char buf[1024];
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                          std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return fail(ErrorKind::Busy, "timed out waiting for the exec process to start");
        pollfd p{fd, POLLIN, 0};
        int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail_errno("poll");
        if (n == 0) continue;
        ssize_t got = ::read(fd, buf, sizeof buf);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return fail_errno("read the exec process's report");
        if (got == 0) return out;
        if (out.size() < 4096) out.append(buf, static_cast<size_t>(got));
    }
}

} // namespace

void LxcPut::operator()(::lxc_container* c) const {
    if (c) lxc_container_put(c);
}

Result<pid_t> exec(const ExecRequest& req) {
    auto pidfd = TRY_CTX(sys::open_process(req.init_pid, req.init_start_time), "container init");
    int flags = sys::namespaces_to_join(req.init_pid);
    plan::InitConfig cfg = req.process;
    strip_unavailable_lsm_labels(cfg.process);
    int errp[2], pidp[2];
    if (::pipe2(errp, O_CLOEXEC) < 0) return fail_errno("pipe");
    sys::Fd err_r(errp[0]), err_w(errp[1]);
    if (::pipe2(pidp, O_CLOEXEC) < 0) return fail_errno("pipe");
    sys::Fd pid_r(pidp[0]), pid_w(pidp[1]);

    // Seccomp notify: the process hands its notify fd over this socket (plan::InitConfig::seccomp_fd).
    sys::Fd seccomp_ours, seccomp_theirs;
    if (req.seccomp_agent && cfg.seccomp && plan::seccomp_notifies(*cfg.seccomp)) {
        int sp[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) return fail_errno("socketpair");
        seccomp_ours.reset(sp[0]);
        seccomp_theirs.reset(sp[1]);
        cfg.seccomp_fd = seccomp_theirs.get();
    }

    pid_t joiner = ::fork();
    if (joiner < 0) return fail_errno("fork");
    if (joiner == 0) {
        err_r.reset();
        pid_r.reset();
        seccomp_ours.reset();
        join_child(req, cfg, pidfd.get(), flags, pid_w.get(), err_w.get());
    }
    err_w.reset();
    pid_w.reset();
    seccomp_theirs.reset();
    int st = 0;
    while (::waitpid(joiner, &st, 0) < 0)
        if (errno != EINTR) return fail_errno("wait for the exec helper");
    pid_t pid = 0;
    if (::read(pid_r.get(), &pid, sizeof pid) != static_cast<ssize_t>(sizeof pid)) pid = 0;
    Status handed = ok();
    if (seccomp_ours.valid() && pid > 0) {
        // Our child, not yet reaped: the pid cannot be reused meanwhile.
        sys::Fd process(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
        if (!process.valid())
            handed = fail_errno("pidfd_open the exec process");
        else
            handed = take_notify_fd(seccomp_ours.get(), process.get(), pid, req.seccomp_agent, req.deadline);
    }
    auto report = handed ? read_report(err_r.get(), req.deadline) : Result<std::string>(std::string());
    if (handed && report && report->empty() && pid > 0) return pid;
    if (pid > 0) {
        ::kill(pid, SIGKILL);
        while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
        }
    }
    if (!handed) return std::unexpected(std::move(handed).error());
    if (!report) return std::unexpected(std::move(report).error());
    return fail(report->empty() ? std::string("the exec process exited before it started") : *report);
}

} // namespace lxcri::lxc
