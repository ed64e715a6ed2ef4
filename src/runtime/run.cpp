#include "runtime/common.hpp"
#include "sys/fd.hpp"
#include "sys/log.hpp"
#include "sys/socket.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

namespace lxcri::runtime {

namespace {
volatile sig_atomic_t g_forward_pid = 0;
volatile sig_atomic_t g_winch = 0;
// Like runc: SIGWINCH resizes the container's terminal; the other signals go to the container's init.
void forward(int sig) {
    if (sig == SIGWINCH)
        g_winch = 1;
    else if (g_forward_pid > 0)
        ::kill(g_forward_pid, sig);
}

// The pty master the init helper sends over the console socket (SCM_RIGHTS).
Result<sys::Fd> receive_master(int sock) {
    auto msg = TRY_CTX(sys::receive(sock, 256), "receive the container's terminal");
    if (!msg.fd.valid()) return fail("the container's init sent no terminal");
    return std::move(msg.fd);
}

// Our terminal in raw mode while the container owns it; restored on destruction.
class RawTerminal {
  public:
    RawTerminal() {
        if (isatty(0) && tcgetattr(0, &saved_) == 0) {
            termios raw = saved_;
            cfmakeraw(&raw);
            active_ = tcsetattr(0, TCSANOW, &raw) == 0;
        }
    }
    ~RawTerminal() {
        if (active_) tcsetattr(0, TCSANOW, &saved_);
    }
    RawTerminal(const RawTerminal&) = delete;
    RawTerminal& operator=(const RawTerminal&) = delete;

  private:
    termios saved_{};
    bool active_ = false;
};

void copy_window_size(int master) {
    winsize ws{};
    if (ioctl(0, TIOCGWINSZ, &ws) == 0) ioctl(master, TIOCSWINSZ, &ws);
}

// Copies stdin -> pty master and master -> stdout until the container side closes.
void proxy_terminal(int master) {
    RawTerminal raw;
    copy_window_size(master);
    bool in_open = true;
    char buf[4096];
    for (;;) {
        if (g_winch) {
            g_winch = 0;
            copy_window_size(master);
        }
        pollfd fds[2] = {{master, POLLIN, 0}, {0, static_cast<short>(in_open ? POLLIN : 0), 0}};
        int r = poll(fds, in_open ? 2 : 1, -1);
        if (r < 0) {
            if (errno == EINTR) continue;
            return;
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(master, buf, sizeof buf);
            if (n <= 0) return; // EIO: every slave fd is closed
            if (write(1, buf, static_cast<size_t>(n)) < 0) return;
        }
        if (in_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t n = read(0, buf, sizeof buf);
            if (n <= 0 || write(master, buf, static_cast<size_t>(n)) < 0) in_open = false;
        }
    }
}

bool wants_terminal(const CreateOpts& o) {
    auto sp = spec::load(absolute_path(o.bundle));
    return sp && sp->process && sp->process->terminal;
}
} // namespace

Result<int> run(const Global& g, const RunOpts& o) {
    CreateOpts co = o.create;
    // Foreground: the container's init is reparented to us once create ends liblxc's monitor, so that we can
    // wait for it and report its status (runc sets itself a subreaper the same way).
    if (!o.detach && ::prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) return fail_errno("become a subreaper");
    // Without -d and without a console socket, a terminal container gets ours, as runc does.
    sys::Fd console_ours, console_theirs;
    if (!o.detach && co.console_socket.empty() && co.console_fd < 0 && wants_terminal(co)) {
        int sp[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) return fail_errno("socketpair");
        console_ours.reset(sp[0]);
        console_theirs.reset(sp[1]);
        co.console_fd = console_theirs.get();
    }
    TRY(create(g, co));
    console_theirs.reset();
    Store store(g.root);
    auto c = TRY(open_container(store, co.id, false));
    auto handle = c.handle();
    pid_t init_pid = c.state.pid;
    c.lock = sys::FileLock();
    sys::Fd master;
    if (console_ours.valid()) {
        auto m = receive_master(console_ours.get());
        if (!m) {
            (void)remove(g, co.id, true);
            return std::unexpected(std::move(m).error());
        }
        master = std::move(*m);
    }
    if (auto r = start(g, co.id); !r) {
        (void)remove(g, co.id, true);
        return std::unexpected(std::move(r).error());
    }
    if (o.detach) return 0;

    // Foreground: forward signals to the container's init, wait for it (our child now), report its status.
    g_forward_pid = init_pid;
    struct sigaction sa {};
    sa.sa_handler = forward;
    for (int sig : {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT, SIGTSTP})
        sigaction(sig, &sa, nullptr);
    if (master.valid()) proxy_terminal(master.get());
    int code = c.backend->wait(handle, backend::kNoDeadline).value_or(0);
    g_forward_pid = 0;
    if (!o.keep) {
        if (auto r = remove(g, co.id, true); !r) log::warn(r.error().message());
    }
    return code;
}

} // namespace lxcri::runtime
