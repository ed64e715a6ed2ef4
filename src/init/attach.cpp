// The init helper's attach mode: PID 1 of a Proxmox VE CT (PVE's `entrypoint`), started by PVE's own start
// path (pve-container@VMID: `lxc-start -F`, stdio /dev/null and a log file, console none). It listens on a
// unix socket in its rootfs, takes the OCI process from the runtime's stand-in (and makes a pty), runs the
// create-time checks, tells the stand-in to become the process on `start`, stays PID 1 (reaps, forwards
// PVE's signals to the process) and exits once the process ended (its pidfd), so that the CT stops.
// Protocol: init/attach.hpp. Design and failure cases: docs/proxmox-stdio.md.
#include "init/attach.hpp"
#include "init/process.hpp"
#include "init/setup.hpp"
#include "plan/plan.hpp"
#include "sys/fs.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

namespace lxcri::init::attach {
namespace {

using sys::Fd;

constexpr int kExitFailure = 127;
constexpr int kExitNeverStarted = 1;
constexpr int kMaxPreserveFds = static_cast<int>(kMaxFds) - 3;
// How long one connection may take to deliver its message (the loop serves one connection at a time).
constexpr auto kPeerTimeout = std::chrono::seconds(10);

// Forwarded to the process once it runs; SIGPWR (lxc-stop's and `pct shutdown`'s default halt signal) goes
// as SIGTERM, what an OCI process expects to stop on.
constexpr int kForwarded[] = {SIGHUP,   SIGINT,  SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM,
                              SIGWINCH, SIGCONT, SIGPWR,  SIGTSTP, SIGTTIN, SIGTTOU};
// Before start there is no process to stop: these end the init as if it had died of them.
constexpr int kTerminating[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGPWR};

struct State {
    std::string socket_path;
    Fd listen, sigfd, session;
    bool attached = false;
    plan::InitConfig cfg;
    Fd process;            // pidfd of the stand-in, which becomes the OCI process at start
    pid_t process_pid = 0; // its pid in this pid namespace
    bool started = false;
};

void log_line(const std::string& msg) {
    std::fprintf(stderr, "proxmox-lxcri-init: %s\n", msg.c_str());
    std::fflush(stderr);
}

// How long the init waits, once it sent the status or the refusal, for the stand-in to take it and exit.
constexpr auto kStandinExitWait = std::chrono::seconds(5);

// The stand-in lives in this pid namespace (it is the container for the client: podman top, nsenter -t), and
// the kernel SIGKILLs every process of the namespace when its init exits (zap_pid_ns_processes): before it
// exits, the init waits until the stand-in closed its connection (it took the last message and exited), at
// most kStandinExitWait.
void wait_for_close(int conn) {
    auto until = Clock::now() + kStandinExitWait;
    char buf[256];
    for (;;) {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
        if (ms <= 0) return;
        pollfd p{conn, POLLIN, 0};
        int r = ::poll(&p, 1, static_cast<int>(ms));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return;
        ssize_t got = ::read(conn, buf, sizeof buf);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return; // EOF: the stand-in is gone
    }
}

// The exit code of a process of this namespace that is not our child, from its zombie's /proc/N/stat
// (field 52, exit_code; best effort: 0 once the caller reaped it).
int exit_status_of(pid_t pid) {
    auto stat = sys::read_file("/proc/" + std::to_string(pid) + "/stat");
    if (!stat) return 0;
    auto paren = stat->rfind(')');
    if (paren == std::string::npos) return 0;
    std::istringstream in(stat->substr(paren + 1));
    std::string field;
    for (int i = 3; i <= 52 && (in >> field); ++i)
        if (i == 52) return std::atoi(field.c_str());
    return 0;
}

// Ends the init: the session (when there is one) gets the status first, so that the stand-in exits the same.
[[noreturn]] void finish(State& st, int status) {
    if (st.session.valid() && send(st.session.get(), Type::Exit, std::to_string(status)))
        wait_for_close(st.session.get());
    (void)::unlink(st.socket_path.c_str());
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::fflush(nullptr);
    ::_exit(code);
}

[[noreturn]] void fatal(State& st, const std::string& msg, int code = kExitFailure) {
    log_line(msg);
    finish(st, W_EXITCODE(code, 0));
}

Result<Fd> listen_on(const std::string& path) {
    auto slash = path.rfind('/');
    if (slash != std::string::npos && slash > 0) TRY(sys::mkdir_p(path.substr(0, slash), 0700));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) return fail(ErrorKind::Invalid, "socket path too long: " + path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    Fd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!sock.valid()) return fail_errno("socket");
    if (::unlink(path.c_str()) < 0 && errno != ENOENT) return fail_errno("remove the stale " + path);
    if (::bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
        return fail_errno("bind " + path);
    if (::chmod(path.c_str(), 0600) < 0) return fail_errno("chmod " + path);
    if (::listen(sock.get(), 8) < 0) return fail_errno("listen on " + path);
    return sock;
}

Result<Fd> block_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    for (int s : kForwarded)
        sigaddset(&set, s);
    if (::sigprocmask(SIG_BLOCK, &set, nullptr) < 0) return fail_errno("block signals");
    Fd fd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!fd.valid()) return fail_errno("signalfd");
    return fd;
}

// As PID 1 of the CT's pid namespace, only peers outside it (the node's root: its pid reads 0 here) are
// served; a process of the CT could otherwise start, query or hijack what the stand-in set up.
bool peer_outside(int conn) {
    if (::getpid() != 1) return true;
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) return false;
    return cred.pid == 0;
}

// The pid in this namespace of the process a pidfd names (its fdinfo's "Pid:", translated by /proc's
// namespace).
Result<pid_t> pidfd_pid(int pidfd) {
    auto info = TRY(sys::read_file("/proc/self/fdinfo/" + std::to_string(pidfd)));
    auto at = info.find("\nPid:");
    if (at == std::string::npos) return fail(ErrorKind::Invalid, "not a pidfd");
    long pid = std::strtol(info.c_str() + at + 5, nullptr, 10);
    if (pid == -1) return fail(ErrorKind::Gone, "the stand-in went away before start");
    if (pid <= 0) return fail(ErrorKind::Invalid, "the stand-in is not in this pid namespace");
    return static_cast<pid_t>(pid);
}

void refuse(int conn, const std::string& why) {
    (void)send(conn, Type::Error, why);
}

// ---- Process: the create-time half ----

// What runc checks at create (the rlimits, the seccomp profile built but not loaded, the executable's
// lookup), in a child: the init itself keeps its own limits (a process's RLIMIT_NOFILE of 3 must not stop
// the init from serving), the child sets them again before it execs.
Status check_in_child(const plan::InitConfig& cfg) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return fail_errno("pipe");
    Fd r(p[0]), w(p[1]);
    pid_t pid = ::fork();
    if (pid < 0) return fail_errno("fork");
    if (pid == 0) {
        r.reset();
        auto checked = init::check_process(cfg);
        if (checked) ::_exit(0);
        std::string msg = checked.error().message();
        (void)!::write(w.get(), msg.data(), msg.size());
        ::_exit(1);
    }
    w.reset();
    std::string msg;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(r.get(), buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        if (msg.size() < 65536) msg.append(buf, static_cast<size_t>(n));
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return ok();
    if (msg.empty()) msg = "the create-time check failed: " + std::to_string(status);
    return fail(ErrorKind::Invalid, msg);
}

Status take_process(State& st, Message& m, int conn) {
    st.cfg = TRY_CTX(plan::init_config_from_json(m.payload), "parse the process");
    plan::InitConfig& cfg = st.cfg;
    if (cfg.preserve_fds < 0 || cfg.preserve_fds > kMaxPreserveFds)
        return fail(ErrorKind::Invalid, "preserve_fds " + std::to_string(cfg.preserve_fds) + " (at most " +
                                            std::to_string(kMaxPreserveFds) + ")");
    if (m.fds.size() != 1)
        return fail(ErrorKind::Invalid, "expected the stand-in's pidfd with the process, got " +
                                            std::to_string(m.fds.size()) + " descriptors");
    st.process_pid = TRY_CTX(pidfd_pid(m.fds[0].get()), "the stand-in's pidfd");
    if (cfg.seccomp && plan::seccomp_notifies(*cfg.seccomp))
        return fail(ErrorKind::Unsupported, "linux.seccomp.listenerPath is not supported in attach mode");
    // The lxc backend's channels do not exist here: the socket is the only one.
    cfg.console_fd = cfg.ready_fd = cfg.seccomp_fd = -1;
    cfg.fifo.clear();
    cfg.cleanup_dir.clear();
    cfg.seccomp_socket.clear();
    make_dev_symlinks();
    TRY_CTX(make_devices(cfg.devices), "create devices");
    TRY_CTX(set_root_propagation(cfg.rootfs_propagation), "rootfsPropagation");
    if (cfg.process.terminal) {
        Pty pty = TRY_CTX(open_pty(cfg.process.console_size), "set up console");
        int ends[2] = {pty.master.get(), pty.slave.get()};
        // The init keeps neither end: the process's end closes the terminal.
        TRY_CTX(send(conn, Type::Pty, pty.name, std::span<const int>(ends, 2)), "send the pty");
    }
    st.process = std::move(m.fds[0]);
    return check_in_child(cfg);
}

// ---- the loop ----

void on_session_readable(State& st) {
    auto m = receive(st.session.get(), Clock::now() + kPeerTimeout);
    if (st.started) { // the stand-in exec'd the process (its end was close-on-exec) or died: its pidfd tells
        st.session.reset();
        return;
    }
    if (m) {
        if (!st.started)
            fatal(st, "unexpected " + std::string(type_name(m->type)) + " message from the stand-in");
        log_line("unexpected " + std::string(type_name(m->type)) + " message from the stand-in: ignored");
        return;
    }
    if (m.error().kind() != ErrorKind::Gone) fatal(st, "the stand-in's connection: " + m.error().message());
    st.session.reset();
    log_line("the stand-in went away before start");
    finish(st, W_EXITCODE(kExitNeverStarted, 0));
}

// The process (the stand-in after start) ended: the CT's PID 1 only kept the CT alive for it.
[[noreturn]] void on_process_exit(State& st) {
    if (!st.started) {
        st.session.reset();
        log_line("the stand-in went away before start");
        finish(st, W_EXITCODE(kExitNeverStarted, 0));
    }
    int code = exit_status_of(st.process_pid);
    st.session.reset();
    finish(st, code);
}

void on_signals(State& st) {
    signalfd_siginfo si;
    while (::read(st.sigfd.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        int sig = static_cast<int>(si.ssi_signo);
        if (sig == SIGCHLD) {
            int status = 0;
            while (::waitpid(-1, &status, WNOHANG) > 0) {
            }
            continue;
        }
        if (st.started) {
            ::syscall(SYS_pidfd_send_signal, st.process.get(), sig == SIGPWR ? SIGTERM : sig, nullptr, 0);
            continue;
        }
        for (int t : kTerminating)
            if (sig == t) {
                log_line(std::string("stopped by signal ") + ::strsignal(sig) + " before start");
                finish(st, sig); // a wait status of death by sig
            }
    }
}

// A pid of this namespace, with SCM_CREDENTIALS naming it when the init may (the receiver gets its host pid).
void send_pid(int conn, Type type, pid_t pid) {
    ucred cr{pid, ::getuid(), ::getgid()};
    if (pid <= 0 || !send(conn, type, std::to_string(pid), {}, &cr))
        (void)send(conn, type, std::to_string(pid));
}

void serve(State& st) {
    Fd conn(::accept4(st.listen.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn.valid()) return;
    if (!peer_outside(conn.get()))
        return refuse(conn.get(), "connections from inside the container are refused");
    auto m = receive(conn.get(), Clock::now() + kPeerTimeout);
    if (!m) {
        // A connection closed without a word (a probe) is no harm; garbage before start fails the create.
        if (m.error().kind() == ErrorKind::Invalid && !st.started)
            fatal(st, "bad message on " + st.socket_path + ": " + m.error().message());
        return;
    }
    switch (m->type) {
    case Type::Process: {
        if (st.attached) return refuse(conn.get(), "a stand-in is attached to this container already");
        if (auto r = take_process(st, *m, conn.get()); !r) {
            if (r.error().kind() == ErrorKind::Gone) { // killed right after it sent the process
                log_line(r.error().message());
                finish(st, W_EXITCODE(kExitNeverStarted, 0));
            }
            refuse(conn.get(), r.error().message());
            wait_for_close(conn.get());
            fatal(st, r.error().message());
        }
        st.attached = true;
        st.session = std::move(conn);
        if (auto r = send(st.session.get(), Type::Ready, ""); !r) fatal(st, r.error().message());
        return;
    }
    case Type::Start: {
        if (!st.attached) return refuse(conn.get(), "no process was handed over yet");
        if (st.started) return refuse(conn.get(), "the process was started already");
        // The stand-in, waiting in the CT, runs the process itself (exec_process): it is the pid file's.
        if (auto r = send(st.session.get(), Type::Start, m->payload); !r) {
            refuse(conn.get(), r.error().message());
            fatal(st, "start: " + r.error().message());
        }
        st.started = true;
        send_pid(conn.get(), Type::Started, st.process_pid);
        return;
    }
    case Type::QueryPid:
        send_pid(conn.get(), Type::Pid, st.started ? st.process_pid : 0);
        return;
    default:
        refuse(conn.get(), "unexpected " + std::string(type_name(m->type)) + " message");
        if (!st.started)
            fatal(st, "unexpected " + std::string(type_name(m->type)) + " message on " + st.socket_path);
        return;
    }
}

} // namespace

int run_attach_mode(const std::string& socket_path) {
    State st;
    st.socket_path = socket_path;
    auto sigfd = block_signals();
    if (!sigfd) fatal(st, sigfd.error().message());
    st.sigfd = std::move(*sigfd);
    auto listen = listen_on(socket_path);
    if (!listen) fatal(st, "attach socket: " + listen.error().message());
    st.listen = std::move(*listen);
    for (;;) {
        pollfd p[4] = {{st.listen.get(), POLLIN, 0},
                       {st.sigfd.get(), POLLIN, 0},
                       {st.session.get(), POLLIN, 0},
                       {st.process.get(), POLLIN, 0}};
        int r = ::poll(p, 4, -1);
        if (r < 0) {
            if (errno == EINTR) continue;
            fatal(st, std::string("poll: ") + std::strerror(errno));
        }
        if (p[1].revents) on_signals(st);
        if (p[2].revents && st.session.valid()) on_session_readable(st);
        if (p[3].revents && st.process.valid()) on_process_exit(st);
        if (p[0].revents) serve(st);
    }
}

} // namespace lxcri::init::attach
