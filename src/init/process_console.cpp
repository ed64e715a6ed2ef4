// The container's terminal: a pty from the container's devpts, its master sent over the console socket.
#include "init/process.hpp"
#include "sys/fd.hpp"
#include "sys/socket.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

namespace lxcri::init {
namespace {

using sys::Fd;

Result<Fd> open_ptmx() {
    Fd master(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!master.valid() && errno == ENOENT)
        master.reset(::open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!master.valid()) return fail_errno("open /dev/ptmx");
    if (::unlockpt(master.get()) < 0) return fail_errno("unlockpt");
    return master;
}

// The slave of this master's devpts instance, whatever path the master was opened through.
Result<Fd> open_slave(int master, const std::string& name) {
    Fd slave(::ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!slave.valid()) slave.reset(::open(name.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!slave.valid()) return fail_errno("open " + name);
    return slave;
}

} // namespace

Result<Pty> open_pty(const std::optional<spec::ConsoleSize>& console_size) {
    Pty pty;
    pty.master = TRY(open_ptmx());
    int n = 0;
    if (::ioctl(pty.master.get(), TIOCGPTN, &n) < 0) return fail_errno("TIOCGPTN");
    pty.name = "/dev/pts/" + std::to_string(n);
    pty.slave = TRY(open_slave(pty.master.get(), pty.name));
    if (const auto& size = console_size) {
        winsize ws{static_cast<unsigned short>(size->height), static_cast<unsigned short>(size->width), 0, 0};
        if (::ioctl(pty.slave.get(), TIOCSWINSZ, &ws) < 0) return fail_errno("set console size");
    }
    return pty;
}

Status become_controlling_terminal(int slave) {
    if (::setsid() < 0 && ::getsid(0) != ::getpid()) return fail_errno("setsid");
    if (::ioctl(slave, TIOCSCTTY, 0) < 0) return fail_errno("TIOCSCTTY");
    for (int fd = 0; fd <= 2; ++fd)
        if (::dup2(slave, fd) < 0) return fail_errno("dup2 pty slave");
    return ok();
}

Status setup_console(int console_fd, const std::optional<spec::ConsoleSize>& console_size) {
    Pty pty = TRY(open_pty(console_size));
    TRY_CTX(sys::send_fd(console_fd, pty.master.get(), pty.name), "send pty master over console socket");
    TRY(become_controlling_terminal(pty.slave.get()));
    ::close(console_fd);
    return ok();
}

} // namespace lxcri::init
