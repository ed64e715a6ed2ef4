// The caller's terminal for a foreground `run` or `exec` of a terminal process (runc's tty proxy): the pty
// master the container's side sends over a socketpair, our terminal in raw mode while the container owns it,
// stdin -> master and master -> stdout until the container side closes, and signal forwarding (SIGWINCH
// resizes the pty, the others go to the process).
#pragma once
#include "base/result.hpp"
#include "sys/fd.hpp"

#include <sys/types.h>

namespace lxcri::runtime {

// A connected socket pair in place of a --console-socket: `theirs` is the console fd handed to the container
// side (inherited by it), `ours` receives the pty master.
struct ConsolePair {
    sys::Fd ours, theirs;
};
Result<ConsolePair> console_pair();

// The pty master the init helper (or an exec'd process) sends over the console socket (SCM_RIGHTS).
Result<sys::Fd> receive_master(int sock);

// Copies stdin -> master and master -> stdout until every slave fd is closed; our terminal is raw meanwhile.
void proxy_terminal(int master);

// While it lives, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGCONT and SIGTSTP go to pid, and
// SIGWINCH resizes the terminal proxy_terminal copies to (runc's forwarding); the old handlers come back
// after.
class SignalForwarder {
  public:
    explicit SignalForwarder(pid_t pid);
    ~SignalForwarder();
    SignalForwarder(const SignalForwarder&) = delete;
    SignalForwarder& operator=(const SignalForwarder&) = delete;
};

} // namespace lxcri::runtime
