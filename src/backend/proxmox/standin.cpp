#include "backend/proxmox/standin.hpp"

#include "base/parse.hpp"
#include "init/attach.hpp"
#include "sys/fd.hpp"
#include "sys/fs.hpp"
#include "sys/socket.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
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
#include <sstream>
#include <thread>

namespace lxcri::backend::proxmox {
namespace attach = init::attach;
using sys::Fd;

namespace {

constexpr int kMaxPreserveFds = static_cast<int>(attach::kMaxFds) - 3;
// Forwarded by the stand-in to the CT's init, which passes them on to the process (or, before start, ends on
// the terminating ones): the stand-in stands for the process.
constexpr int kForwarded[] = {SIGHUP,   SIGINT,  SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM,
                              SIGWINCH, SIGCONT, SIGPWR,  SIGTSTP, SIGTTIN, SIGTTOU};

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

// A pid of the init's pid namespace as the host sees it: the init's child whose innermost NSpid matches.
Result<pid_t> host_pid_of_child(pid_t init_pid, pid_t ns_pid) {
    std::string base = "/proc/" + std::to_string(init_pid) + "/task/" + std::to_string(init_pid);
    auto children = sys::read_file(base + "/children");
    if (!children) return fail(ErrorKind::Gone, "the CT's init is gone");
    std::istringstream in(*children);
    for (std::string word; in >> word;) {
        auto status = sys::read_file("/proc/" + word + "/status");
        if (!status) continue;
        auto at = status->find("\nNSpid:");
        if (at == std::string::npos) continue;
        auto eol = status->find('\n', at + 1);
        std::string line =
            status->substr(at + 7, eol == std::string::npos ? std::string::npos : eol - at - 7);
        auto last = line.find_last_of(" \t");
        auto inner = parse_number<pid_t>(last == std::string::npos ? line : line.substr(last + 1));
        if (inner && *inner == ns_pid) return TRY(parse_number<pid_t>(word));
    }
    return fail(ErrorKind::Gone, "process already finished");
}

Result<pid_t> ns_pid_of(const attach::Message& m) {
    return TRY_CTX(parse_number<pid_t>(m.payload), "the CT's init sent a bad pid");
}

// ---- the stand-in (child side) ----

int g_pidfd = -1;
void forward_signal(int sig) {
    int saved = errno;
    ::syscall(SYS_pidfd_send_signal, g_pidfd, sig, nullptr, 0);
    errno = saved;
}

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

void null_stdio() {
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0) return;
    for (int fd = 0; fd <= 2; ++fd)
        ::dup2(null, fd);
    if (null > 2) ::close(null);
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

struct Child {
    const StandinRequest* req;
    std::string json, socket;
    int pidfd, ready_w;
    pid_t parent;
};

// Runs in the forked child and never returns. It allocates (strings, the protocol's buffers): glibc's malloc
// is safe after fork even when the runtime has threads (the API client's resolver); the JSON was made before.
[[noreturn]] void standin_main(const Child& c) {
    const StandinRequest& req = *c.req;
    const bool terminal = req.process.process.terminal;
    const int n = req.process.preserve_fds;
    // Until it reports ready the stand-in dies with the runtime (the init then sees the session end before
    // start and exits: nothing is left).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != c.parent) ::_exit(1);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int s = 1; s < NSIG; ++s)
        if (s != SIGKILL && s != SIGSTOP) ::signal(s, SIG_DFL);
    ::signal(SIGPIPE, SIG_IGN);
    ::prctl(PR_SET_NAME, "lxcri-standin");
    auto fds = keep_only(n, {c.ready_w, c.pidfd, terminal ? req.console_fd : -1});
    int ready_w = fds[0], console = fds[2];
    g_pidfd = fds[1];
    // With a terminal nothing of the caller's stdio stays open here (go-runc reads create's output to EOF).
    if (terminal) null_stdio();
    auto report = [&](const std::string& msg) {
        std::string text = msg.empty() ? std::string("the stand-in failed") : msg;
        (void)!::write(ready_w, text.data(), text.size());
        ::_exit(1);
    };

    auto sock = connect_init(req.init_host_pid, g_pidfd, req.deadline);
    if (!sock) report(sock.error().message());
    std::vector<int> send_fds;
    if (!terminal)
        for (int fd = 0; fd <= 2; ++fd)
            send_fds.push_back(fd);
    for (int fd = 3; fd < 3 + n; ++fd)
        send_fds.push_back(fd);
    if (auto r = attach::send(sock->get(), attach::Type::Process, c.json, send_fds); !r)
        report("hand the process to the CT's init: " + r.error().message());
    if (terminal) {
        auto pty = expect(sock->get(), attach::Type::Pty, req.deadline);
        if (!pty) report("receive the terminal from the CT's init: " + pty.error().message());
        if (pty->fds.size() != 1) report("the CT's init sent no terminal");
        if (auto r = sys::send_fd(console, pty->fds[0].get(), pty->payload); !r)
            report("send pty master over console socket: " + r.error().message());
        ::close(console);
    }
    if (auto ready = expect(sock->get(), attach::Type::Ready, req.deadline); !ready)
        report(ready.error().message());
    // The process has its own copies now: the stand-in holds none of the caller's descriptors.
    for (int fd = 3; fd < 3 + n; ++fd)
        ::close(fd);
    if (!terminal) null_stdio();
    struct sigaction sa {};
    sa.sa_handler = forward_signal;
    sa.sa_flags = SA_RESTART;
    for (int s : kForwarded)
        ::sigaction(s, &sa, nullptr);
    // From here the stand-in outlives the runtime; a runtime that died before it read this byte makes the
    // write fail, and the stand-in goes (the init then ends before start).
    ::prctl(PR_SET_PDEATHSIG, 0);
    char byte = 0;
    if (::write(ready_w, &byte, 1) != 1) ::_exit(1);
    ::close(ready_w);

    auto m = attach::receive(sock->get(), attach::Clock::time_point::max());
    if (m && m->type == attach::Type::Exit) {
        if (auto status = parse_number<int>(m->payload)) die_like(*status);
    }
    // The CT ended without a status (stopped by PVE: lxc-stop -k kills its init): as if SIGKILLed.
    die_like(SIGKILL);
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
    c.socket = attach_socket(req.init_host_pid);
    Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, req.init_host_pid, 0)));
    if (!pidfd.valid()) {
        if (errno == ESRCH)
            return fail(ErrorKind::Gone,
                        "the CT's init (pid " + std::to_string(req.init_host_pid) + ") is gone");
        return fail_errno("pidfd_open " + std::to_string(req.init_host_pid));
    }
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return fail_errno("pipe");
    Fd ready_r(p[0]), ready_w(p[1]);
    c.pidfd = pidfd.get();
    c.ready_w = ready_w.get();
    c.parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) return fail_errno("fork the stand-in");
    if (pid == 0) standin_main(c);
    ready_w.reset();
    pidfd.reset();

    auto reap = [&](Error e) -> Result<pid_t> {
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
    // The kernel's translation of the process's pid (valid even when it has ended already); else the init's
    // children, which a process that ended already is no longer among: then 0.
    if (started.creds && started.creds->pid > 0 && started.creds->pid != init_host_pid)
        return started.creds->pid;
    auto pid = host_pid_of_child(init_host_pid, ns_pid);
    if (!pid && pid.error().kind() == ErrorKind::Gone) return 0;
    return pid;
}

Result<pid_t> process_pid(pid_t init_host_pid, Deadline deadline) {
    Fd sock = TRY(connect_init(init_host_pid, -1, deadline));
    TRY(attach::send(sock.get(), attach::Type::QueryPid, ""));
    auto answer = TRY(expect(sock.get(), attach::Type::Pid, deadline));
    pid_t ns_pid = TRY(ns_pid_of(answer));
    if (ns_pid == 0) return fail(ErrorKind::WrongState, "the container's process has not started");
    return host_pid_of_child(init_host_pid, ns_pid);
}

} // namespace lxcri::backend::proxmox
