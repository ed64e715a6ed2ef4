// proxmox-lxcri-init: PID 1 of every container, started by liblxc as
//   lxc.init.cmd = /dev/.lxcri/init /dev/.lxcri/init.json
// It reads the InitConfig, sets up the pty (terminal=true), checks what runc checks at create (the rlimits,
// the executable), reports ready over ready_fd (then clears liblxc's parent-death signal once the runtime has
// recorded it), waits on the fifo until `start` writes a byte (EOF without a byte: the container is deleted
// before start, exit 1), detaches the helper directory, runs the startContainer hooks and execs the user
// process through exec_process(). Failures print "proxmox-lxcri-init: <error chain>" and exit 127 (126 when
// exec was refused); a failed create-time check goes to the runtime over ready_fd instead.
// `proxmox-lxcri-init --attach SOCKET` is the Proxmox backend's mode (init/attach.cpp,
// docs/proxmox-stdio.md).
#include "init/attach.hpp"
#include "init/process.hpp"
#include "init/setup.hpp"
#include "plan/hook.hpp"
#include "plan/plan.hpp"
#include "sys/fd.hpp"
#include "sys/fs.hpp"
#include "sys/proc.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

namespace {

using namespace lxcri;
using init::make_dev_symlinks;
using init::make_devices;
using init::run_start_hooks;
using init::set_root_propagation;
using sys::Fd;

constexpr int exit_failure = 127;
constexpr int exit_not_executable = 126;
constexpr int exit_never_started = 1;

Result<plan::InitConfig> load_config(const std::string& path) {
    std::string text = TRY_CTX(sys::read_file(path), "read init config");
    return TRY_CTX(plan::init_config_from_json(text), "parse " + path);
}

// ---- start signal ----

// One byte on the runtime's socket (the kernel adds init's pid as SCM_CREDENTIALS), sent right before init
// blocks on the fifo. The runtime answers once it has recorded this init; only then is liblxc's parent-death
// signal cleared (the runtime then ends the monitor and this init is reparented to the caller's subreaper, as
// runc's is), and that is acknowledged. An init the runtime never recorded dies with the monitor.
Status signal_ready(int fd) {
    char byte = 0;
    auto send_byte = [&]() -> Status {
        while (::send(fd, &byte, 1, MSG_NOSIGNAL) < 0)
            if (errno != EINTR) return fail_errno("send ready message");
        return ok();
    };
    TRY(send_byte());
    ssize_t n;
    while ((n = ::recv(fd, &byte, 1, 0)) < 0)
        if (errno != EINTR) return fail_errno("wait for the runtime");
    if (n == 0) return fail("the runtime went away before it recorded the container");
    if (::prctl(PR_SET_PDEATHSIG, 0) < 0) return fail_errno("clear the parent-death signal");
    TRY(send_byte());
    ::close(fd);
    return ok();
}

// `start` writes the container's OCI state (for the startContainer hooks) and closes the fifo; an empty read
// means the writer closed it without starting (delete before start).
Result<std::string> wait_for_start(const std::string& fifo) {
    Fd fd(::open(fifo.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return fail_errno("open " + fifo);
    std::string state;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n == 0) return state;
        if (n > 0)
            state.append(buf, static_cast<size_t>(n));
        else if (errno != EINTR)
            return fail_errno("read " + fifo);
    }
}

// ---- seccomp notify ----

Result<Fd> connect_runtime(const std::string& path) {
    Fd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!sock.valid()) return fail_errno("socket");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) return fail("seccomp socket path too long: " + path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    while (::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
        if (errno != EINTR) return fail_errno("connect to the runtime's seccomp socket " + path);
    return sock;
}

// ---- helper directory ----

Status detach_helper(const std::string& dir) {
    if (dir.empty()) return ok();
    if (::umount2(dir.c_str(), MNT_DETACH) < 0) return fail_errno("umount " + dir);
    if (::rmdir(dir.c_str()) < 0 && errno != EBUSY) return fail_errno("rmdir " + dir);
    return ok();
}

// ---- main ----

[[noreturn]] void die(const Error& e) {
    std::string msg = e.message();
    std::fprintf(stderr, "proxmox-lxcri-init: %s\n", msg.c_str());
    bool refused = (e.code() == EACCES || e.code() == ENOEXEC) && e.kind() == ErrorKind::NotExecuted;
    std::exit(refused ? exit_not_executable : exit_failure);
}

void check(Status s, const char* context = nullptr) {
    if (!s && context) s.error().context(context);
    if (!s) die(s.error());
}

} // namespace

int main(int argc, char** argv) {
    // Proxmox VE: PID 1 of a CT started by PVE, the process handed over on a socket (init/attach.hpp).
    if (argc == 3 && std::strcmp(argv[1], "--attach") == 0) return init::attach::run_attach_mode(argv[2]);
    if (argc != 2) die(Error("usage: proxmox-lxcri-init INIT_JSON | proxmox-lxcri-init --attach SOCKET"));
    auto cfg = load_config(argv[1]);
    if (!cfg) die(cfg.error());
    make_dev_symlinks();
    check(make_devices(cfg->devices), "create devices");
    check(set_root_propagation(cfg->rootfs_propagation), "rootfsPropagation");
    if (cfg->process.terminal && cfg->console_fd >= 0)
        check(init::setup_console(cfg->console_fd, cfg->process.console_size), "set up console");
    // Errors runc reports at create: they go to the runtime over the ready socket instead of the ready byte.
    if (auto pre = init::check_process(*cfg); !pre) {
        std::string msg = pre.error().message();
        if (cfg->ready_fd < 0 || ::send(cfg->ready_fd, msg.data(), msg.size(), MSG_NOSIGNAL) < 0)
            die(pre.error());
        return exit_failure;
    }
    if (cfg->ready_fd >= 0) check(signal_ready(cfg->ready_fd));
    auto start = wait_for_start(cfg->fifo);
    if (!start) die(start.error());
    if (start->empty()) return exit_never_started;
    // Seccomp notify: `start` listens on the helper's socket until it has the filter's notify fd.
    if (cfg->seccomp && plan::seccomp_notifies(*cfg->seccomp) && !cfg->seccomp_socket.empty()) {
        auto sock = connect_runtime(cfg->seccomp_socket);
        if (!sock) die(sock.error());
        cfg->seccomp_fd = sock->release();
    }
    // Detached first: the hooks run in the container's namespaces and see its view, without the helper.
    check(detach_helper(cfg->cleanup_dir));
    // The startContainer hooks run last, after seccomp and right before execve, as runc runs them.
    const std::string& state = *start;
    check(init::exec_process(*cfg, true, [&] { return run_start_hooks(cfg->start_container_hooks, state); }));
    return exit_failure;
}
