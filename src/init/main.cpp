// proxmox-lxcri-init: PID 1 of every container, started by liblxc as
//   lxc.init.cmd = /dev/.lxcri/init /dev/.lxcri/init.json
// It reads the InitConfig, sets up the pty (terminal=true), checks what runc checks at create (the rlimits,
// the executable), reports ready over ready_fd (then clears liblxc's parent-death signal once the runtime has
// recorded it), waits on the fifo until `start` writes a byte (EOF without a byte: the container is deleted
// before start, exit 1), detaches the helper directory, runs the startContainer hooks and execs the user
// process through exec_process(). Failures print "proxmox-lxcri-init: <error chain>" and exit 127 (126 when
// exec was refused); a failed create-time check goes to the runtime over ready_fd instead.
#include "init/process.hpp"
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
using sys::Fd;

constexpr int exit_failure = 127;
constexpr int exit_not_executable = 126;
constexpr int exit_never_started = 1;

Result<plan::InitConfig> load_config(const std::string& path) {
    std::string text = TRY_CTX(sys::read_file(path), "read init config");
    return TRY_CTX(plan::init_config_from_json(text), "parse " + path);
}

// ---- /dev ----

// runc's default /dev symlinks; existing entries (liblxc's autodev makes some) are kept.
void make_dev_symlinks() {
    static const std::pair<const char*, const char*> links[] = {{"/proc/self/fd", "/dev/fd"},
                                                                {"/proc/self/fd/0", "/dev/stdin"},
                                                                {"/proc/self/fd/1", "/dev/stdout"},
                                                                {"/proc/self/fd/2", "/dev/stderr"},
                                                                {"pts/ptmx", "/dev/ptmx"}};
    for (const auto& [target, path] : links)
        (void)::symlink(target, path);
}

// linux.devices outside a user namespace: mknod like runc (the host need not have the node).
Status make_devices(const std::vector<spec::DeviceNode>& devices) {
    for (const auto& d : devices) {
        mode_t type = d.type == "b" ? S_IFBLK : d.type == "p" ? S_IFIFO : S_IFCHR;
        dev_t rdev =
            d.type == "p" ? 0 : makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor));
        struct stat st {};
        if (::lstat(d.path.c_str(), &st) == 0) {
            if ((st.st_mode & S_IFMT) == type && st.st_rdev == rdev) continue;
            if (::unlink(d.path.c_str()) < 0) return fail_errno("replace " + d.path);
        }
        auto slash = d.path.rfind('/');
        if (slash > 0) TRY(sys::mkdir_p(d.path.substr(0, slash)));
        mode_t perm = d.file_mode ? static_cast<mode_t>(*d.file_mode) : 0666;
        if (::mknod(d.path.c_str(), type | perm, rdev) < 0) return fail_errno("mknod " + d.path);
        if (::chown(d.path.c_str(), d.uid.value_or(0), d.gid.value_or(0)) < 0)
            return fail_errno("chown " + d.path);
        if (::chmod(d.path.c_str(), perm) < 0) return fail_errno("chmod " + d.path);
    }
    return ok();
}

// linux.rootfsPropagation, on / after pivot_root as runc does (liblxc's lxc.rootfs.options acts before it).
Status set_root_propagation(const std::string& p) {
    if (p.empty()) return ok();
    static const std::pair<const char*, unsigned long> flags[] = {{"shared", MS_SHARED},
                                                                  {"slave", MS_SLAVE},
                                                                  {"private", MS_PRIVATE},
                                                                  {"unbindable", MS_UNBINDABLE},
                                                                  {"rshared", MS_SHARED | MS_REC},
                                                                  {"rslave", MS_SLAVE | MS_REC},
                                                                  {"rprivate", MS_PRIVATE | MS_REC},
                                                                  {"runbindable", MS_UNBINDABLE | MS_REC}};
    for (const auto& [name, flag] : flags)
        if (p == name) {
            if (::mount(nullptr, "/", nullptr, flag, nullptr) < 0) return fail_errno("set / " + p);
            return ok();
        }
    return fail("unknown rootfsPropagation \"" + p + "\"");
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

// ---- startContainer hooks ----

// The shared runner (sys::run): state on stdin, stdout and stderr captured for the error, and at the timeout
// the hook is killed with its process group (runc's wording for both).
Status run_hook(const spec::Hook& hook, const std::string& state) {
    auto r = sys::run(plan::hook_run_options(hook, state));
    if (!r && r.error().kind() == ErrorKind::NotExecuted)
        return fail("fork/exec " + hook.path, r.error().code());
    if (!r) return std::unexpected(std::move(r).error());
    if (r->timed_out)
        return fail("hook ran past specified timeout of " + std::to_string(*hook.timeout) + ".0s");
    if (WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0) return ok();
    return fail("error running hook: " + sys::describe_wait_status(r->status) + ", stdout: " + r->out +
                ", stderr: " + r->err);
}

Status run_start_hooks(const std::vector<spec::Hook>& hooks, const std::string& state) {
    for (size_t i = 0; i < hooks.size(); ++i)
        TRY_CTX(run_hook(hooks[i], state), "error running startContainer hook #" + std::to_string(i));
    return ok();
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
    if (argc != 2) die(Error("usage: proxmox-lxcri-init INIT_JSON"));
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
