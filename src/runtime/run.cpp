#include "runtime/common.hpp"
#include "runtime/terminal.hpp"
#include "sys/fd.hpp"
#include "sys/log.hpp"

#include <sys/prctl.h>

namespace lxcri::runtime {

namespace {
bool wants_terminal(const CreateOpts& o) {
    auto sp = spec::load(absolute_path(o.bundle));
    return sp && sp->process && sp->process->terminal;
}
} // namespace

Result<int> run(const Global& g, const RunOpts& o) {
    CreateOpts co = o.create;
    co.start_follows = true;
    co.foreground = !o.detach;
    // Foreground: the container's init is reparented to us once create ends liblxc's monitor, so that we can
    // wait for it and report its status (runc sets itself a subreaper the same way).
    if (!o.detach && ::prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) return fail_errno("become a subreaper");
    // Without -d and without a console socket, a terminal container gets ours, as runc does.
    sys::Fd console_ours, console_theirs;
    if (!o.detach && co.console_socket.empty() && co.console_fd < 0 && wants_terminal(co)) {
        auto pair = TRY(console_pair());
        console_ours = std::move(pair.ours);
        console_theirs = std::move(pair.theirs);
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
    if (auto r = start(g, co.id, true); !r) {
        (void)remove(g, co.id, true);
        return std::unexpected(std::move(r).error());
    }
    if (o.detach) return 0;

    // Foreground: forward signals to the container's init, wait for it (our child now), report its status.
    int code;
    {
        SignalForwarder forward(init_pid);
        if (master.valid()) proxy_terminal(master.get());
        code = c.backend->wait(handle, backend::kNoDeadline).value_or(0);
    }
    if (!o.keep) {
        if (auto r = remove(g, co.id, true); !r) log::warn(r.error().message());
    }
    return code;
}

} // namespace lxcri::runtime
