#include "runtime/common.hpp"

#include "runtime/image.hpp"
#include "sys/fd.hpp"
#include "sys/fs.hpp"
#include "sys/log.hpp"
#include "sys/proc.hpp"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <sstream>

namespace lxcri::runtime {

static Status run_hook(const spec::Hook& h, const std::string& phase, const std::string& state_json,
                       pid_t enter_mnt_of) {
    std::string what = phase + " hook " + h.path;
    sys::Fd bin(open(h.path.c_str(), O_PATH | O_CLOEXEC));
    if (!bin.valid()) return fail_errno(what);
    sys::Fd ns, host_root;
    if (enter_mnt_of > 0) {
        ns.reset(open(("/proc/" + std::to_string(enter_mnt_of) + "/ns/mnt").c_str(), O_RDONLY | O_CLOEXEC));
        if (!ns.valid()) return fail_errno(what + ": open mount namespace");
        host_root.reset(open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!host_root.valid()) return fail_errno(what + ": open /");
    }
    int in[2], err[2];
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) return fail_errno(what + ": pipe");
    sys::Fd in_r(in[0]), in_w(in[1]), err_r(err[0]), err_w(err[1]);
    std::vector<std::string> args = h.args.empty() ? std::vector<std::string>{h.path} : h.args;
    std::vector<char*> argv, envp;
    for (auto& a : args)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (auto& e : h.env)
        envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    pid_t pid = fork();
    if (pid < 0) return fail_errno(what + ": fork");
    if (pid == 0) {
        dup2(in_r.get(), 0);
        dup2(err_w.get(), 2);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) dup2(devnull, 1);
        // In the container's mount namespace, but (as runc runs it, before pivot_root) with the host's root
        // so that the hook, its interpreter and its libraries resolve as in the runtime's namespace.
        if (ns.valid() &&
            (setns(ns.get(), CLONE_NEWNS) < 0 || fchdir(host_root.get()) < 0 || chroot(".") < 0))
            _exit(126);
        fexecve(bin.get(), argv.data(), envp.data());
        _exit(127);
    }
    in_r.reset();
    err_w.reset();
    ssize_t wn = write(in_w.get(), state_json.data(), state_json.size());
    (void)wn;
    in_w.reset();
    std::string errtext;
    int timeout_ms = h.timeout ? *h.timeout * 1000 : -1;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    bool timed_out = false;
    for (;;) {
        pollfd p{err_r.get(), POLLIN, 0};
        int left = -1;
        if (timeout_ms >= 0) {
            auto l = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                           std::chrono::steady_clock::now());
            left = l.count() > 0 ? static_cast<int>(l.count()) : 0;
        }
        int r = poll(&p, 1, left);
        if (r < 0 && errno == EINTR) continue;
        if (r == 0) {
            timed_out = true;
            ::kill(pid, SIGKILL);
            break;
        }
        char buf[1024];
        ssize_t k = read(err_r.get(), buf, sizeof buf);
        if (k <= 0) break;
        errtext.append(buf, static_cast<size_t>(k));
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (timed_out) return fail(what + ": timeout after " + std::to_string(*h.timeout) + "s");
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return ok();
    while (!errtext.empty() && errtext.back() == '\n')
        errtext.pop_back();
    std::string how = WIFEXITED(st) ? "exit status " + std::to_string(WEXITSTATUS(st))
                                    : "signal " + std::to_string(WTERMSIG(st));
    return fail(what + ": " + how + (errtext.empty() ? "" : ", stderr: " + errtext));
}

Status run_hooks(const std::vector<spec::Hook>& hooks, const std::string& phase,
                 const std::string& state_json, pid_t enter_mnt_of) {
    for (auto& h : hooks)
        TRY(run_hook(h, phase, state_json, enter_mnt_of));
    return ok();
}

Status write_pid_file(const std::string& path, pid_t pid) {
    if (path.empty()) return ok();
    return sys::write_file_atomic(absolute_path(path), std::to_string(pid), 0644);
}

Result<int> connect_console_socket(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) return fail("console socket path too long: " + path);
    std::memcpy(addr.sun_path, path.c_str(), path.size());
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail_errno("console socket");
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
        int e = errno;
        close(fd);
        return fail("connect to console socket " + path, e);
    }
    return fd;
}

Result<Container> open_container(const Store& store, const std::string& id, bool exclusive) {
    auto lock = TRY(const_cast<Store&>(store).lock(id, exclusive));
    auto st = TRY(store.load(id));
    auto be = TRY_CTX(backend::open(st.backend), "container " + id);
    return Container{std::move(lock), std::move(st), std::move(be), store.dir(id)};
}

Status destroy_container(const Store& store, Container& c) {
    const State& st = c.state;
    TRY(c.backend->destroy(c.handle(), backend::after(kDestroyTimeout)));
    // poststop hooks: failures are logged, not fatal (runtime-spec).
    if (auto spec = store.load_spec(st.id); spec && !spec->hooks.poststop.empty()) {
        if (auto r = run_hooks(spec->hooks.poststop, "poststop", oci_state_json(st, RunState::Stopped, 0));
            !r)
            log::warn(r.error().message());
    }
    // A container made from an image (runtime/create_image.cpp): its rootfs goes with it.
    if (st.storage) TRY_CTX(release_storage(*st.storage), "release rootfs of " + st.id);
    return store.remove(st.id);
}

} // namespace lxcri::runtime
