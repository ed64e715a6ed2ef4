#include "sys/proc.hpp"

#include "sys/fd.hpp"
#include "sys/fs.hpp"
#include "sys/socket.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>

namespace lxcri::sys {

std::optional<uint64_t> process_start_time(pid_t pid) {
    auto text = read_file("/proc/" + std::to_string(pid) + "/stat");
    if (!text) return std::nullopt;
    // comm may contain spaces and parentheses: fields start after the last ')'.
    auto rp = text->rfind(')');
    if (rp == std::string::npos || rp + 2 >= text->size()) return std::nullopt;
    std::string rest = text->substr(rp + 2);
    if (!rest.empty() && (rest[0] == 'Z' || rest[0] == 'X')) return std::nullopt; // zombie or dead
    // rest starts at field 3 (state); start time is field 22.
    size_t pos = 0;
    for (int field = 3; field < 22; ++field) {
        pos = rest.find(' ', pos);
        if (pos == std::string::npos) return std::nullopt;
        ++pos;
    }
    return std::strtoull(rest.c_str() + pos, nullptr, 10);
}

bool process_alive(pid_t pid, uint64_t start_time) {
    if (pid <= 0) return false;
    auto st = process_start_time(pid);
    return st && (start_time == 0 || *st == start_time);
}

Result<int> parse_signal(std::string_view s) {
    static const std::map<std::string, int, std::less<>> names = {
        {"ABRT", SIGABRT}, {"ALRM", SIGALRM}, {"BUS", SIGBUS},       {"CHLD", SIGCHLD},
        {"CLD", SIGCHLD},  {"CONT", SIGCONT}, {"FPE", SIGFPE},       {"HUP", SIGHUP},
        {"ILL", SIGILL},   {"INT", SIGINT},   {"IO", SIGIO},         {"IOT", SIGIOT},
        {"KILL", SIGKILL}, {"PIPE", SIGPIPE}, {"POLL", SIGPOLL},     {"PROF", SIGPROF},
        {"PWR", SIGPWR},   {"QUIT", SIGQUIT}, {"SEGV", SIGSEGV},     {"STKFLT", SIGSTKFLT},
        {"STOP", SIGSTOP}, {"SYS", SIGSYS},   {"TERM", SIGTERM},     {"TRAP", SIGTRAP},
        {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},
        {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"VTALRM", SIGVTALRM}, {"WINCH", SIGWINCH},
        {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},
    };
    auto unknown = [&] { return fail(ErrorKind::Invalid, "unknown signal \"" + std::string(s) + "\""); };
    // strconv.Atoi: an optional sign, then decimal digits only.
    std::string_view digits = s;
    bool negative = false;
    if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) {
        negative = digits[0] == '-';
        digits.remove_prefix(1);
    }
    if (!digits.empty() && digits.find_first_not_of("0123456789") == std::string_view::npos) {
        int64_t n = 0;
        for (char c : digits) {
            n = n * 10 + (c - '0');
            if (n > int64_t{std::numeric_limits<int>::max()} + 1) return unknown();
        }
        if (negative) n = -n;
        if (n > std::numeric_limits<int>::max() || n < std::numeric_limits<int>::min()) return unknown();
        return static_cast<int>(n);
    }
    std::string up;
    for (char c : s)
        up += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    std::string_view name = up;
    if (name.starts_with("SIG")) name.remove_prefix(3);
    if (auto it = names.find(name); it != names.end()) return it->second;
    if (name.starts_with("RTMIN") || name.starts_with("RTMAX")) {
        bool min = name.starts_with("RTMIN");
        std::string_view off = name.substr(5);
        int base = min ? SIGRTMIN : SIGRTMAX;
        if (off.empty()) return base;
        if (off.size() >= 2 && off.size() <= 3 && off[0] == (min ? '+' : '-') &&
            off.substr(1).find_first_not_of("0123456789") == std::string_view::npos) {
            int n = std::stoi(std::string(off.substr(1)));
            int sig = min ? base + n : base - n;
            if (sig >= SIGRTMIN && sig <= SIGRTMAX) return sig;
        }
    }
    return unknown();
}

bool wait_gone(pid_t pid, std::chrono::milliseconds timeout) {
    Fd pfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!pfd.valid()) return errno == ESRCH;
    // pidfd readiness means exit; a zombie that nobody reaps also counts as gone.
    return wait_readable(pfd.get(), timeout) || !process_start_time(pid).has_value();
}

namespace {

// What the child reports on the CLOEXEC error pipe when it does not reach exec.
enum class Stage : int { Setns = 1, Chroot = 2, Exec = 3, Chdir = 4 };
struct ChildError {
    Stage stage;
    int err;
};

[[noreturn]] void child_fail(int pipe_fd, Stage stage, int err) {
    ChildError ce{stage, err};
    (void)!::write(pipe_fd, &ce, sizeof ce);
    ::_exit(127);
}

// Moves fd above the standard streams (the child dup2()s onto 0-2), keeping it close-on-exec.
Status lift(Fd& fd) {
    if (!fd.valid() || fd.get() > 2) return ok();
    int n = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, 3);
    if (n < 0) return fail_errno("fcntl F_DUPFD_CLOEXEC");
    fd.reset(n);
    return ok();
}

// The files execvp would try, in order: PATH lookup is done here, before fork.
std::vector<std::string> exec_candidates(const std::string& program, bool search_path) {
    if (!search_path || program.find('/') != std::string::npos) return {program};
    const char* env_path = ::getenv("PATH");
    std::string_view path = env_path && *env_path ? env_path : "/usr/local/bin:/usr/bin:/bin";
    std::vector<std::string> out;
    for (;;) {
        auto colon = path.find(':');
        std::string_view dir = path.substr(0, colon);
        out.push_back((dir.empty() ? std::string(".") : std::string(dir)) + "/" + program);
        if (colon == std::string_view::npos) break;
        path.remove_prefix(colon + 1);
    }
    return out;
}

std::vector<char*> c_array(const std::vector<std::string>& v) {
    std::vector<char*> out;
    out.reserve(v.size() + 1);
    for (const auto& s : v)
        out.push_back(const_cast<char*>(s.c_str()));
    out.push_back(nullptr);
    return out;
}

Result<Fd> input_memfd(std::string_view input) {
    Fd fd(::memfd_create("lxcri-stdin", MFD_CLOEXEC));
    if (!fd.valid()) return fail_errno("memfd_create");
    while (!input.empty()) {
        ssize_t k = ::write(fd.get(), input.data(), input.size());
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return fail_errno("write stdin memfd");
        input.remove_prefix(static_cast<size_t>(k));
    }
    if (::lseek(fd.get(), 0, SEEK_SET) < 0) return fail_errno("lseek stdin memfd");
    return fd;
}

// One captured stream: the pipe's read end, what was kept, whether more was discarded.
struct Capture {
    Fd fd;
    std::string* dst = nullptr;
    bool* truncated = nullptr;
    size_t limit = 0;

    // One read: the bytes read, 0 at EOF or error (the pipe is closed then) and when nothing is available.
    size_t read_once() {
        char buf[16384];
        ssize_t k = ::read(fd.get(), buf, sizeof buf);
        if (k < 0 && (errno == EINTR || errno == EAGAIN)) return 0;
        if (k <= 0) {
            fd.reset();
            return 0;
        }
        size_t n = static_cast<size_t>(k);
        size_t keep = dst->size() < limit ? std::min(n, limit - dst->size()) : 0;
        dst->append(buf, keep);
        if (keep < n) *truncated = true;
        return n;
    }
    // What is buffered now, at most one pipe's capacity: the writer may be a process left behind that
    // keeps writing.
    void drain_buffered() {
        if (!fd.valid()) return;
        int cap = ::fcntl(fd.get(), F_GETPIPE_SZ);
        size_t budget = cap > 0 ? static_cast<size_t>(cap) : 65536, total = 0;
        while (fd.valid() && total < budget) {
            size_t n = read_once();
            if (n == 0) break;
            total += n;
        }
        fd.reset();
    }
};

} // namespace

std::string describe_wait_status(int status) {
    if (WIFSIGNALED(status)) return std::string("signal: ") + ::strsignal(WTERMSIG(status));
    if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
    return "wait status " + std::to_string(status);
}

Result<RunResult> run(const RunOptions& o) {
    if (o.argv.empty()) return fail("run: empty command");
    const std::string program = o.path.empty() ? o.argv[0] : o.path;

    // Everything the child needs is prepared here: it only makes async-signal-safe calls.
    const std::vector<std::string> candidates = exec_candidates(program, o.search_path);
    const std::vector<char*> cand = c_array(candidates);
    const std::vector<char*> argv = c_array(o.argv);
    std::vector<char*> envp_own;
    char** envp = environ;
    if (o.env) {
        envp_own = c_array(*o.env);
        envp = envp_own.data();
    }
    sigset_t no_signals;
    sigemptyset(&no_signals);

    Fd in_own;
    int in_fd = o.stdin_fd;
    if (in_fd < 0) {
        in_own = TRY(input_memfd(o.input));
    } else if (in_fd <= 2) {
        in_own.reset(::fcntl(in_fd, F_DUPFD_CLOEXEC, 3));
        if (!in_own.valid()) return fail_errno("dup stdin");
    }
    TRY(lift(in_own));
    if (in_own.valid()) in_fd = in_own.get();

    RunResult res;
    Capture cap[2];
    Fd child_side[2]; // write ends of the capture pipes, or /dev/null
    const RunOptions::Output modes[2] = {o.out, o.err};
    for (int i = 0; i < 2; ++i) {
        cap[i].dst = i == 0 ? &res.out : &res.err;
        cap[i].truncated = i == 0 ? &res.out_truncated : &res.err_truncated;
        cap[i].limit = o.capture_limit;
        if (modes[i] == RunOptions::Output::Capture) {
            int p[2];
            if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) return fail_errno("pipe");
            cap[i].fd.reset(p[0]);
            child_side[i].reset(p[1]);
            // The child's end blocks as usual.
            if (::fcntl(p[1], F_SETFL, 0) < 0) return fail_errno("fcntl");
        } else if (modes[i] == RunOptions::Output::Null) {
            child_side[i].reset(::open("/dev/null", O_WRONLY | O_CLOEXEC));
            if (!child_side[i].valid()) return fail_errno("open /dev/null");
        }
        TRY(lift(child_side[i]));
    }
    int ep[2];
    if (::pipe2(ep, O_CLOEXEC) < 0) return fail_errno("pipe");
    Fd err_r(ep[0]), err_w(ep[1]);
    TRY(lift(err_w));
    const int fds[3] = {in_fd, child_side[0].get(), child_side[1].get()};
    const int ew = err_w.get();
    const int mount_ns = o.mount_ns_fd, root = o.root_fd;
    const char* cwd = o.cwd.empty() ? nullptr : o.cwd.c_str();

    pid_t pid = ::fork();
    if (pid < 0) return fail_errno("fork " + program);
    if (pid == 0) {
        ::setpgid(0, 0);
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        ::sigaction(SIGPIPE, &dfl, nullptr);
        ::sigprocmask(SIG_SETMASK, &no_signals, nullptr);
        if (mount_ns >= 0 && ::setns(mount_ns, CLONE_NEWNS) < 0) child_fail(ew, Stage::Setns, errno);
        if (root >= 0 && (::fchdir(root) < 0 || ::chroot(".") < 0)) child_fail(ew, Stage::Chroot, errno);
        if (cwd && ::chdir(cwd) < 0) child_fail(ew, Stage::Chdir, errno);
        for (int i = 0; i < 3; ++i)
            if (fds[i] >= 0 && ::dup2(fds[i], i) < 0) child_fail(ew, Stage::Exec, errno);
        // Nothing else leaks into the command (locks, the caller's pipes); the error pipe stays open until
        // exec.
        ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
        // execvp's rules: go on after "not here", remember EACCES, stop at any other error.
        int e = ENOENT;
        bool eacces = false;
        for (char* const* c = cand.data(); *c; ++c) {
            ::execve(*c, argv.data(), envp);
            e = errno;
            if (e == EACCES)
                eacces = true;
            else if (e != ENOENT && e != ENOTDIR && e != ESTALE && e != ENODEV && e != ETIMEDOUT)
                child_fail(ew, Stage::Exec, e);
        }
        child_fail(ew, Stage::Exec, eacces ? EACCES : e);
    }
    ::setpgid(pid, pid); // both sides set it: no race with a kill right after fork
    err_w.reset();
    in_own.reset();
    child_side[0].reset();
    child_side[1].reset();

    auto reap = [pid](int& status) {
        while (::waitpid(pid, &status, 0) < 0)
            if (errno != EINTR) return;
    };
    ChildError ce{};
    ssize_t got;
    while ((got = ::read(err_r.get(), &ce, sizeof ce)) < 0 && errno == EINTR) {
    }
    if (got == static_cast<ssize_t>(sizeof ce)) {
        reap(res.status);
        switch (ce.stage) {
        case Stage::Setns:
            return fail("setns into mount namespace for " + program, ce.err);
        case Stage::Chroot:
            return fail("chroot to host root for " + program, ce.err);
        case Stage::Chdir:
            return fail("chdir to " + o.cwd + " for " + program, ce.err);
        case Stage::Exec:
            break;
        }
        return std::unexpected(Error("exec " + program, ce.err, ErrorKind::NotExecuted));
    }
    err_r.reset();

    Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    bool reaped = false, exited = false;
    const bool has_deadline = o.timeout.count() > 0;
    const auto deadline = std::chrono::steady_clock::now() + o.timeout;
    while (!exited) {
        pollfd p[3];
        int n = 0, idx[2] = {-1, -1}, idx_pid = -1;
        for (int i = 0; i < 2; ++i)
            if (cap[i].fd.valid()) idx[i] = n, p[n++] = {cap[i].fd.get(), POLLIN, 0};
        if (pidfd.valid()) idx_pid = n, p[n++] = {pidfd.get(), POLLIN, 0};
        int wait_ms = -1;
        if (has_deadline) {
            auto left =
                std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            wait_ms = left.count() > 0 ? static_cast<int>(left.count()) : 0;
        }
        // Without a pidfd (old kernels), look at the child now and then.
        if (!pidfd.valid() && (wait_ms < 0 || wait_ms > 20)) wait_ms = 20;
        int r = ::poll(p, static_cast<nfds_t>(n), wait_ms);
        if (r < 0 && errno != EINTR) {
            int e = errno;
            ::kill(-pid, SIGKILL);
            reap(res.status);
            return fail("poll", e);
        }
        if (r > 0) {
            for (int i = 0; i < 2; ++i)
                if (idx[i] >= 0 && p[idx[i]].revents) cap[i].read_once();
            if (idx_pid >= 0 && p[idx_pid].revents) exited = true;
        }
        if (!pidfd.valid()) {
            pid_t w = ::waitpid(pid, &res.status, WNOHANG);
            if (w == pid) reaped = exited = true;
        }
        if (!exited && has_deadline && std::chrono::steady_clock::now() >= deadline) {
            // Not reaped yet, so the group id is still ours: the child, its children and anything else
            // that stayed in the group go.
            ::kill(-pid, SIGKILL);
            res.timed_out = true;
            break;
        }
    }
    cap[0].drain_buffered();
    cap[1].drain_buffered();
    if (!reaped) reap(res.status);
    return res;
}

Result<RunResult> run(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                      std::string_view input, std::chrono::milliseconds timeout) {
    RunOptions o;
    o.argv = argv;
    if (!env.empty()) o.env = env;
    o.input = std::string(input);
    o.timeout = timeout;
    auto r = TRY(run(o));
    if (r.timed_out)
        return fail((argv.empty() ? std::string("command") : argv[0]) + " timed out after " +
                    std::to_string(timeout.count() / 1000) + "s");
    return r;
}

} // namespace lxcri::sys
