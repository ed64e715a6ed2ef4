#include "runtime/terminal.hpp"

#include "sys/socket.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

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

} // namespace

Result<ConsolePair> console_pair() {
    int sp[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) return fail_errno("socketpair");
    return ConsolePair{sys::Fd(sp[0]), sys::Fd(sp[1])};
}

Result<sys::Fd> receive_master(int sock) {
    auto msg = TRY_CTX(sys::receive(sock, 256), "receive the container's terminal");
    if (!msg.fd.valid()) return fail("the container's init sent no terminal");
    return std::move(msg.fd);
}

namespace {

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

} // namespace

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

namespace {
constexpr int kForwarded[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT, SIGTSTP};
struct sigaction g_saved[sizeof kForwarded / sizeof kForwarded[0]];
} // namespace

SignalForwarder::SignalForwarder(pid_t pid) {
    g_forward_pid = pid;
    struct sigaction sa {};
    sa.sa_handler = forward;
    for (size_t i = 0; i < sizeof kForwarded / sizeof kForwarded[0]; ++i)
        sigaction(kForwarded[i], &sa, &g_saved[i]);
}

SignalForwarder::~SignalForwarder() {
    for (size_t i = 0; i < sizeof kForwarded / sizeof kForwarded[0]; ++i)
        sigaction(kForwarded[i], &g_saved[i], nullptr);
    g_forward_pid = 0;
}

} // namespace lxcri::runtime
