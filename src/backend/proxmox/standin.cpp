#include "backend/proxmox/standin.hpp"

#include "base/parse.hpp"
#include "cgroup/cgroup.hpp"
#include "init/attach.hpp"
#include "init/process.hpp"
#include "init/setup.hpp"
#include "sys/fd.hpp"
#include "sys/fs.hpp"
#include "sys/pidfd.hpp"
#include "sys/socket.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <sstream>
#include <thread>

namespace lxcri::backend::proxmox {
namespace attach = init::attach;
using sys::Fd;

namespace {

constexpr int kMaxPreserveFds = static_cast<int>(attach::kMaxFds) - 3;
// poll(2)'s timeout for a deadline: -1 for none, else the time left (at most INT_MAX ms).
int poll_ms(Deadline d) {
    if (d == kNoDeadline) return -1;
    return static_cast<int>(std::min<long long>(left(d).count(), std::numeric_limits<int>::max()));
}

bool pid_exists(pid_t pid) {
    return ::kill(pid, 0) == 0 || errno == EPERM;
}

// Connects to the init's socket, retrying while the init has not bound it yet (a CT just started).
Result<Fd> connect_init(pid_t init_pid, int pidfd, Deadline deadline) {
    std::string path = attach_socket(init_pid);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) return fail("socket path too long: " + path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    for (;;) {
        Fd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (!sock.valid()) return fail_errno("socket");
        if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
            // The pid still names the init we were given (a pidfd pins it; without one, it still exists).
            if (pidfd >= 0) {
                pollfd p{pidfd, POLLIN, 0};
                if (::poll(&p, 1, 0) > 0) return fail(ErrorKind::Gone, "the CT's init exited");
            }
            return sock;
        }
        int err = errno;
        if (err == EINTR) continue;
        bool gone = pidfd >= 0 ? [&] {
            pollfd p{pidfd, POLLIN, 0};
            return ::poll(&p, 1, 0) > 0;
        }()
                               : !pid_exists(init_pid);
        if (gone)
            return fail(ErrorKind::Gone, "the CT's init (pid " + std::to_string(init_pid) + ") is gone");
        if (err != ENOENT && err != ECONNREFUSED) return std::unexpected(Error("connect to " + path, err));
        if (Clock::now() >= deadline)
            return std::unexpected(Error("timed out connecting to " + path, err, ErrorKind::Busy));
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

// An answer of the init: the expected type, or its Error text as the error.
Result<attach::Message> expect(int sock, attach::Type want, Deadline deadline) {
    auto m = attach::receive(sock, deadline);
    if (!m && m.error().kind() == ErrorKind::Gone)
        return fail(ErrorKind::Gone, "the CT's init closed the connection");
    if (!m) return std::unexpected(std::move(m).error());
    if (m->type == attach::Type::Error) return fail(ErrorKind::Invalid, m->payload);
    if (m->type != want)
        return fail(ErrorKind::Invalid, "the CT's init sent " + std::string(attach::type_name(m->type)) +
                                            ", expected " + std::string(attach::type_name(want)));
    return m;
}

Result<pid_t> ns_pid_of(const attach::Message& m) {
    return TRY_CTX(parse_number<pid_t>(m.payload), "the CT's init sent a bad pid");
}

// ---- the stand-in (child side) ----

[[noreturn]] void die_like(int status) {
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        rlimit no_core{0, 0};
        ::setrlimit(RLIMIT_CORE, &no_core);
        ::signal(sig, SIG_DFL);
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, sig);
        ::sigprocmask(SIG_UNBLOCK, &one, nullptr);
        ::kill(::getpid(), sig);
        ::_exit(128 + sig);
    }
    ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + SIGKILL);
}

int g_devnull = -1;
void null_stdio() {
    if (g_devnull < 0) return;
    for (int fd = 0; fd <= 2; ++fd)
        ::dup2(g_devnull, fd);
}

// Keeps 0-2, 3..3+n-1 and the given descriptors (moved above them); closes everything else (the caller's
// locks and sockets).
std::vector<int> keep_only(int preserve_fds, std::vector<int> extra) {
    int floor = 3 + preserve_fds;
    std::vector<int> moved;
    for (int fd : extra) {
        int h = fd < 0 ? -1 : ::fcntl(fd, F_DUPFD_CLOEXEC, std::max(floor, 100));
        moved.push_back(h);
    }
    std::vector<int> keep;
    for (int h : moved)
        if (h >= 0) keep.push_back(h);
    std::sort(keep.begin(), keep.end());
    int from = floor;
    for (int k : keep) {
        if (k > from) ::syscall(SYS_close_range, from, k - 1, 0);
        from = k + 1;
    }
    ::syscall(SYS_close_range, from, ~0U, 0);
    return moved;
}

// Rewrites this process's command line (the runtime's, inherited by fork: `create ... ID`) in place, as
// runc's waiting init reads `runc init`: nothing that names the container is left of the runtime's call.
void set_cmdline(const char* name) {
    auto stat = sys::read_file("/proc/self/stat");
    if (!stat) return;
    auto paren = stat->rfind(')');
    if (paren == std::string::npos) return;
    std::istringstream in(stat->substr(paren + 1));
    std::string field;
    unsigned long start = 0, end = 0;
    for (int i = 3; i <= 49 && (in >> field); ++i) {
        if (i == 48) start = std::strtoul(field.c_str(), nullptr, 10);
        if (i == 49) end = std::strtoul(field.c_str(), nullptr, 10);
    }
    if (start == 0 || end <= start) return;
    auto* area = reinterpret_cast<char*>(start);
    size_t size = end - start;
    std::memset(area, 0, size);
    std::strncpy(area, name, size - 1);
}

struct Child {
    const StandinRequest* req;
    std::string json;
    int pidfd, ready_w;
    int sock;    // connected to the init's socket by the runtime (a peer outside the CT's pid namespace)
    int devnull; // opened on the host: the CT's /dev may refuse it (devices cgroup) or lack it
    int runtime_pidfd; // the runtime's: the stand-in goes when it is gone before ready
    bool joined_user;  // the stand-in is in the CT's user namespace: it takes the CT's root as its ids
};

// Runs in the forked child and never returns. It allocates (strings, the protocol's buffers): glibc's malloc
// is safe after fork even when the runtime has threads (the API client's resolver); the JSON was made before.
[[noreturn]] void standin_main(const Child& c) {
    const StandinRequest& req = *c.req;
    const bool terminal = req.process.process.terminal;
    const int n = req.process.preserve_fds;
    // In the CT's user namespace (unprivileged CT), the CT's root rather than an unmapped host root (before
    // the death signal: a change of ids clears it).
    if (c.joined_user) {
        (void)::setresgid(0, 0, 0);
        (void)::setgroups(0, nullptr);
        (void)::setresuid(0, 0, 0);
    }
    // Until it reports ready the stand-in dies with the runtime (the init then sees the session end before
    // start and exits: nothing is left). Its parent is outside its pid namespace (getppid() reads 0): the
    // runtime's pidfd tells whether it died before the death signal was set.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    {
        pollfd p{c.runtime_pidfd, POLLIN, 0};
        if (::poll(&p, 1, 0) != 0) ::_exit(1);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int s = 1; s < NSIG; ++s)
        if (s != SIGKILL && s != SIGSTOP) ::signal(s, SIG_DFL);
    ::signal(SIGPIPE, SIG_IGN);
    ::prctl(PR_SET_NAME, "lxcri-standin");
    set_cmdline("lxcri-standin");
    auto fds = keep_only(n, {c.ready_w, terminal ? req.console_fd : -1, c.sock, c.devnull});
    int ready_w = fds[0], console = fds[1];
    Fd sock(fds[2]);
    g_devnull = fds[3];
    // With a terminal nothing of the caller's stdio stays open here (go-runc reads create's output to EOF).
    if (terminal) null_stdio();
    // The init watches this pidfd: the stand-in becomes the process, whose exit ends the CT.
    Fd self(static_cast<int>(::syscall(SYS_pidfd_open, ::getpid(), 0)));
    auto report = [&](const std::string& msg) {
        std::string text = msg.empty() ? std::string("the stand-in failed") : msg;
        (void)!::write(ready_w, text.data(), text.size());
        ::_exit(1);
    };

    if (!sock.valid()) report("no connection to the CT's init");
    if (!self.valid()) report(std::string("pidfd_open of the stand-in: ") + std::strerror(errno));
    int self_fd = self.get();
    if (auto r = attach::send(sock.get(), attach::Type::Process, c.json, std::span<const int>(&self_fd, 1));
        !r)
        report("hand the process to the CT's init: " + r.error().message());
    self.reset();
    Fd slave;
    if (terminal) {
        auto pty = expect(sock.get(), attach::Type::Pty, req.deadline);
        if (!pty) report("receive the terminal from the CT's init: " + pty.error().message());
        if (pty->fds.size() != 2) report("the CT's init sent no terminal");
        if (auto r = sys::send_fd(console, pty->fds[0].get(), pty->payload); !r)
            report("send pty master over console socket: " + r.error().message());
        ::close(console);
        slave = std::move(pty->fds[1]);
    }
    if (auto ready = expect(sock.get(), attach::Type::Ready, req.deadline); !ready)
        report(ready.error().message());
    // From here the stand-in outlives the runtime; a runtime that died before it read this byte makes the
    // write fail, and the stand-in goes (the init then ends before start).
    ::prctl(PR_SET_PDEATHSIG, 0);
    char byte = 0;
    if (::write(ready_w, &byte, 1) != 1) ::_exit(1);
    ::close(ready_w);

    // Waits for `start` (as the lxc backend's init waits on its fifo), then becomes the OCI process.
    auto m = attach::receive(sock.get(), attach::Clock::time_point::max());
    if (m && m->type == attach::Type::Exit) {
        if (auto status = parse_number<int>(m->payload)) die_like(*status);
    }
    // The CT ended before start (stopped by PVE: lxc-stop -k kills its init): as if SIGKILLed.
    if (!m || m->type != attach::Type::Start) die_like(SIGKILL);
    ::signal(SIGPIPE, SIG_DFL);
    ::close(g_devnull);
    plan::InitConfig cfg = req.process;
    cfg.console_fd = cfg.ready_fd = cfg.seccomp_fd = -1;
    cfg.fifo.clear();
    cfg.cleanup_dir.clear();
    cfg.seccomp_socket.clear();
    Status s = terminal ? init::become_controlling_terminal(slave.get()) : ok();
    if (s && !terminal && ::setsid() < 0) s = fail_errno("setsid");
    const std::string& state_json = m->payload;
    // The socket is close-on-exec: the init sees it close when the process runs (or this fails).
    if (s)
        s = init::exec_process(cfg, true,
                               [&] { return init::run_start_hooks(cfg.start_container_hooks, state_json); });
    const Error& e = s.error();
    std::string line = "proxmox-lxcri-init: " + e.message() + "\n";
    (void)!::write(2, line.data(), line.size());
    bool refused = (e.code() == EACCES || e.code() == ENOEXEC) && e.kind() == ErrorKind::NotExecuted;
    ::_exit(refused ? 126 : 127);
}

// In the CT's namespaces (a child of the runtime): makes a pid namespace for its child, the stand-in, which
// is its PID 1 (as runc's init is the container's), in a mount namespace of its own with a /proc of that pid
// namespace: `podman top`, `nsenter -t PID -p -m ps` list the container's process, not the CT's init. Sends
// the stand-in's pid as credentials (the runtime gets its host pid) and exits.
[[noreturn]] void mid_main(const Child& c, int report_fd, int cred_fd) {
    auto report = [&](const std::string& what) {
        std::string m = what + ": " + std::strerror(errno);
        (void)!::write(report_fd, m.data(), m.size());
        ::_exit(1);
    };
    if (c.joined_user) {
        (void)::setresgid(0, 0, 0);
        (void)::setgroups(0, nullptr);
        (void)::setresuid(0, 0, 0);
    }
    if (::unshare(CLONE_NEWPID) < 0) report("unshare the container's pid namespace");
    pid_t standin =
        static_cast<pid_t>(::syscall(SYS_clone, CLONE_PARENT | CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0));
    if (standin < 0) report("clone the stand-in");
    if (standin == 0) {
        ::close(cred_fd);
        // Nothing of this mount namespace goes back to the CT's; its /proc shows this pid namespace (best
        // effort: an unprivileged CT's locked /proc overmounts may refuse a new proc).
        (void)::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr);
        (void)::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
        standin_main(c);
    }
    ucred cr{standin, 0, 0};
    (void)attach::send(cred_fd, attach::Type::Pid, std::to_string(standin), {}, &cr);
    ::_exit(0);
}

} // namespace

std::string entrypoint() {
    return std::string(attach::kInitPath) + " --attach " + attach::kSocketPath;
}

std::string attach_socket(pid_t init_host_pid) {
    return "/proc/" + std::to_string(init_host_pid) + "/root" + attach::kSocketPath;
}

Result<pid_t> spawn_standin(const StandinRequest& req) {
    if (req.init_host_pid <= 0) return fail(ErrorKind::Invalid, "no pid for the CT's init");
    const bool terminal = req.process.process.terminal;
    if (terminal && req.console_fd < 0)
        return fail(ErrorKind::Invalid, "a terminal process needs a console socket (--console-socket)");
    if (req.process.preserve_fds < 0 || req.process.preserve_fds > kMaxPreserveFds)
        return fail(ErrorKind::Invalid, "--preserve-fds " + std::to_string(req.process.preserve_fds) +
                                            ": at most " + std::to_string(kMaxPreserveFds) + " in a CT");
    Child c;
    c.req = &req;
    c.json = plan::init_config_to_json(req.process);
    if (c.json.size() > attach::kMaxPayload) return fail(ErrorKind::Invalid, "the process is too large");
    Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, req.init_host_pid, 0)));
    if (!pidfd.valid()) {
        if (errno == ESRCH)
            return fail(ErrorKind::Gone,
                        "the CT's init (pid " + std::to_string(req.init_host_pid) + ") is gone");
        return fail_errno("pidfd_open " + std::to_string(req.init_host_pid));
    }
    // The pid-file process is the container for the client (podman top, nsenter -t, containerd's metrics):
    // the stand-in lives in the CT's cgroups and namespaces, pid namespace included, as the lxc backend's
    // init does. The CT init's cgroups, as the host sees them (hierarchies mounted here only).
    auto cg = cgroup::Cgroup::of_pid(req.init_host_pid);
    if (!cg) return std::unexpected(std::move(cg).error().context("the CT's cgroups"));
    std::map<std::string, std::string> cgroups;
    for (const auto& [ctrl, dir] : cg->paths())
        if (::access((dir + "/cgroup.procs").c_str(), W_OK) == 0) cgroups[ctrl] = dir;
    const int ns_flags = sys::namespaces_to_join(req.init_host_pid);
    // The runtime connects (the init serves only peers outside its pid namespace; SO_PEERCRED names the
    // connecting process), the stand-in inherits the connection.
    Fd sock = TRY_CTX(connect_init(req.init_host_pid, pidfd.get(), req.deadline), "the CT's stand-in");
    Fd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!devnull.valid()) return fail_errno("open /dev/null");
    Fd self(static_cast<int>(::syscall(SYS_pidfd_open, ::getpid(), 0)));
    if (!self.valid()) return fail_errno("pidfd_open of the runtime");
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return fail_errno("pipe");
    Fd ready_r(p[0]), ready_w(p[1]);
    if (::pipe2(p, O_CLOEXEC) < 0) return fail_errno("pipe");
    Fd pid_r(p[0]), pid_w(p[1]);
    int sp[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) return fail_errno("socketpair");
    Fd cred_r(sp[0]), cred_w(sp[1]);
    int one = 1;
    if (::setsockopt(cred_r.get(), SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0)
        return fail_errno("SO_PASSCRED");
    c.pidfd = pidfd.get();
    c.ready_w = ready_w.get();
    c.sock = sock.get();
    c.devnull = devnull.get();
    c.runtime_pidfd = self.get();
    c.joined_user = (ns_flags & CLONE_NEWUSER) != 0;
    // A joining child enters the cgroups and namespaces and clones the stand-in as the runtime's child
    // (CLONE_PARENT), as the lxc backend's exec does: a pid namespace applies to the joiner's children only.
    pid_t joiner = ::fork();
    if (joiner < 0) return fail_errno("fork the stand-in");
    if (joiner == 0) {
        ready_r.reset();
        pid_r.reset();
        if (auto j = sys::join_container(cgroups, pidfd.get(), ns_flags); !j) {
            std::string m = j.error().message();
            (void)!::write(ready_w.get(), m.data(), m.size());
            ::_exit(1);
        }
        pid_t mid = static_cast<pid_t>(::syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0));
        if (mid == 0) {
            ::close(pid_w.get());
            mid_main(c, ready_w.get(), cred_w.get());
        }
        if (mid < 0) {
            std::string m = std::string("clone the stand-in: ") + std::strerror(errno);
            (void)!::write(ready_w.get(), m.data(), m.size());
            ::_exit(1);
        }
        (void)!::write(pid_w.get(), &mid, sizeof mid);
        ::_exit(0);
    }
    cred_w.reset();
    ready_w.reset();
    pid_w.reset();
    pidfd.reset();
    sock.reset();
    devnull.reset();
    int jst = 0;
    while (::waitpid(joiner, &jst, 0) < 0)
        if (errno != EINTR) return fail_errno("wait for the stand-in's joiner");
    pid_t mid = 0;
    if (::read(pid_r.get(), &mid, sizeof mid) != static_cast<ssize_t>(sizeof mid)) mid = 0;
    pid_t pid = 0;
    if (mid > 0) {
        // The stand-in's host pid: the kernel translates the pid the middle child names in its credentials.
        auto m = attach::receive(cred_r.get(), req.deadline);
        if (m && m->creds && m->creds->pid > 0 && m->creds->pid != mid) pid = m->creds->pid;
        int mst;
        while (::waitpid(mid, &mst, 0) < 0 && errno == EINTR) {
        }
    }

    auto reap = [&](Error e) -> Result<pid_t> {
        if (pid <= 0) return std::unexpected(std::move(e).with_context("the CT's stand-in"));
        ::kill(pid, SIGKILL);
        int st;
        while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
        }
        return std::unexpected(std::move(e).with_context("the CT's stand-in"));
    };
    std::string got;
    char buf[4096];
    for (;;) {
        pollfd pfd{ready_r.get(), POLLIN, 0};
        int pr = ::poll(&pfd, 1, poll_ms(req.deadline));
        if (pr < 0 && errno == EINTR) continue;
        if (pr < 0) return reap(Error("poll", errno));
        if (pr == 0) return reap(Error("timed out waiting for the CT's init", 0, ErrorKind::Busy));
        ssize_t r = ::read(ready_r.get(), buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return reap(Error("read the stand-in's report", errno));
        if (r == 0) break;
        if (got.empty() && buf[0] == '\0') return pid; // ready
        got.append(buf, static_cast<size_t>(r));
        if (got.size() > 65536) break;
    }
    if (got.empty()) got = "exited before the CT's init was ready";
    return reap(Error(got, 0, ErrorKind::Invalid));
}

Result<pid_t> release(pid_t init_host_pid, const std::string& state_json, Deadline deadline) {
    Fd sock = TRY_CTX(connect_init(init_host_pid, -1, deadline), "start");
    int one = 1;
    if (::setsockopt(sock.get(), SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0)
        return fail_errno("SO_PASSCRED");
    TRY_CTX(attach::send(sock.get(), attach::Type::Start, state_json), "start");
    auto started = TRY_CTX(expect(sock.get(), attach::Type::Started, deadline), "start");
    pid_t ns_pid = TRY(ns_pid_of(started));
    // The kernel's translation of the process's pid (the stand-in's, which became the process); 0 when the
    // init could not send it.
    (void)ns_pid;
    if (started.creds && started.creds->pid > 0 && started.creds->pid != init_host_pid)
        return started.creds->pid;
    return 0;
}

Result<pid_t> process_pid(pid_t init_host_pid, Deadline deadline) {
    Fd sock = TRY(connect_init(init_host_pid, -1, deadline));
    int one = 1;
    if (::setsockopt(sock.get(), SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0)
        return fail_errno("SO_PASSCRED");
    TRY(attach::send(sock.get(), attach::Type::QueryPid, ""));
    auto answer = TRY(expect(sock.get(), attach::Type::Pid, deadline));
    pid_t ns_pid = TRY(ns_pid_of(answer));
    if (ns_pid == 0) return fail(ErrorKind::WrongState, "the container's process has not started");
    if (answer.creds && answer.creds->pid > 0 && answer.creds->pid != init_host_pid) return answer.creds->pid;
    return fail(ErrorKind::Gone, "the CT's init could not name the process's host pid");
}

} // namespace lxcri::backend::proxmox
