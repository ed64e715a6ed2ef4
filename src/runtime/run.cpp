#include "runtime/common.hpp"
#include "sys/log.hpp"

#include <signal.h>
#include <sys/wait.h>

namespace lxcri::runtime {

namespace {
volatile sig_atomic_t g_forward_pid = 0;
void forward(int sig) {
    if (g_forward_pid > 0) ::kill(g_forward_pid, sig);
}
} // namespace

Result<int> run(const Global& g, const RunOpts& o) {
    TRY(create(g, o.create));
    Store store(g.root);
    auto st = TRY(store.load(o.create.id));
    if (auto r = start(g, o.create.id); !r) {
        (void)remove(g, o.create.id, true);
        return std::unexpected(std::move(r).error());
    }
    if (o.detach) return 0;

    // Foreground: forward signals to the container's init, wait for the monitor (our child), report its status.
    g_forward_pid = st.init_pid;
    struct sigaction sa{};
    sa.sa_handler = forward;
    for (int sig : {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT, SIGTSTP})
        sigaction(sig, &sa, nullptr);
    int status = 0;
    while (waitpid(st.monitor_pid, &status, 0) < 0) {
        if (errno != EINTR) {
            status = 0;
            break;
        }
    }
    g_forward_pid = 0;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (!o.keep) {
        if (auto r = remove(g, o.create.id, true); !r) log::warn(r.error().message());
    }
    return code;
}

} // namespace lxcri::runtime
