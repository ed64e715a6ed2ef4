// Seccomp notify, the backend's half: the notify fd of the container's init (after `start`) or of an exec'd
// process reaches the runtime, which hands it to the seccomp agent (runtime/seccomp_agent.cpp). The process
// writes the fd's number (init/process.cpp: hand_over_notify_fd) and waits for one byte; the fd is taken with
// pidfd_getfd, as runc 1.1 takes it (recvSeccompFd).
#include "backend/lxc/container.hpp"
#include "base/parse.hpp"
#include "sys/fd.hpp"
#include "sys/pidfd.hpp"
#include "sys/proc.hpp"
#include "sys/socket.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

namespace lxcri::lxc {

namespace {

using Clock = std::chrono::steady_clock;

std::chrono::milliseconds left(Clock::time_point deadline) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return ms.count() < 0 ? std::chrono::milliseconds(0) : ms;
}

Status answer(int sock, char byte) {
    while (::send(sock, &byte, 1, MSG_NOSIGNAL) < 0)
        if (errno != EINTR) return fail_errno("answer the process");
    return ok();
}

} // namespace

Status take_notify_fd(int sock, int pidfd, pid_t pid, const NotifyFdSink& sink, Clock::time_point deadline) {
    // One write of a few digits, read whole (a unix stream socket delivers it as one unit); the process
    // writes nothing else before it has the answer.
    char buf[16];
    ssize_t n;
    do {
        if (!sys::wait_readable(sock, left(deadline)))
            return fail(ErrorKind::Busy, "timed out waiting for the process's seccomp notify fd");
        n = ::recv(sock, buf, sizeof buf, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return fail_errno("read the seccomp notify fd's number");
    if (n == 0) return ok(); // ended before it loaded its filter
    auto fd_no = parse_number<int>(std::string_view(buf, static_cast<size_t>(n)));
    if (!fd_no || *fd_no < 0) {
        (void)answer(sock, 1);
        return fail("bad seccomp notify fd number from the process");
    }
    sys::Fd notify(static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd, *fd_no, 0)));
    if (!notify.valid()) {
        Error e("failed to get seccomp fd", errno);
        (void)answer(sock, 1);
        return std::unexpected(std::move(e));
    }
    if (auto r = sink(pid, notify.get()); !r) {
        (void)answer(sock, 1);
        return r;
    }
    notify.reset();
    return answer(sock, 0);
}

Status start(const std::string& state_dir, pid_t init_pid, uint64_t init_start_time,
             const std::string& state_json, Clock::time_point deadline, const NotifyFdSink& seccomp_agent) {
    if (!seccomp_agent) return write_start(state_dir, init_pid, init_start_time, state_json, deadline);
    // The helper directory through its fd: the state directory's path may be longer than sun_path.
    std::string helper = state_dir + "/helper";
    sys::Fd dir(::open(helper.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir.valid()) return fail_errno("open " + helper);
    std::string path = "/proc/self/fd/" + std::to_string(dir.get()) + "/seccomp.sock";
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    sys::Fd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!listener.valid()) return fail_errno("socket");
    (void)::unlinkat(dir.get(), "seccomp.sock", 0);
    if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
        return fail_errno("bind " + helper + "/seccomp.sock");
    struct Unlink {
        int dir;
        ~Unlink() { (void)::unlinkat(dir, "seccomp.sock", 0); }
    } unlink_later{dir.get()};
    // Only the init may connect: the owner of its config (container root, mapped in a user namespace).
    struct stat owner {};
    if (::fstatat(dir.get(), "init.json", &owner, 0) < 0) return fail_errno("stat " + helper + "/init.json");
    if (::fchownat(dir.get(), "seccomp.sock", owner.st_uid, owner.st_gid, 0) < 0 ||
        ::fchmodat(dir.get(), "seccomp.sock", 0600, 0) < 0)
        return fail_errno("chown " + helper + "/seccomp.sock");
    if (::listen(listener.get(), 1) < 0) return fail_errno("listen");
    auto pidfd = TRY_CTX(sys::open_process(init_pid, init_start_time), "container init");
    TRY(write_start(state_dir, init_pid, init_start_time, state_json, deadline));
    for (;;) {
        if (sys::wait_readable(listener.get(), std::chrono::milliseconds(10))) break;
        // An init that failed before it connected has nothing to hand over; its exit tells the rest.
        if (!sys::process_alive(init_pid, init_start_time)) return ok();
        if (Clock::now() >= deadline)
            return fail(ErrorKind::Busy,
                        "timed out waiting for the container's init to load its seccomp filter");
    }
    sys::Fd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn.valid()) return fail_errno("accept the init's seccomp connection");
    auto r = take_notify_fd(conn.get(), pidfd.get(), init_pid, seccomp_agent, deadline);
    if (!r) (void)sys::signal_process(init_pid, init_start_time, SIGKILL);
    return r;
}

} // namespace lxcri::lxc
