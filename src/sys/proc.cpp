#include "sys/proc.hpp"

#include "sys/fd.hpp"
#include "sys/fs.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
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
        {"ABRT", SIGABRT}, {"ALRM", SIGALRM},     {"BUS", SIGBUS},       {"CHLD", SIGCHLD},
        {"CONT", SIGCONT}, {"FPE", SIGFPE},       {"HUP", SIGHUP},       {"ILL", SIGILL},
        {"INT", SIGINT},   {"IO", SIGIO},         {"IOT", SIGIOT},       {"KILL", SIGKILL},
        {"PIPE", SIGPIPE}, {"POLL", SIGPOLL},     {"PROF", SIGPROF},     {"PWR", SIGPWR},
        {"QUIT", SIGQUIT}, {"SEGV", SIGSEGV},     {"STKFLT", SIGSTKFLT}, {"STOP", SIGSTOP},
        {"SYS", SIGSYS},   {"TERM", SIGTERM},     {"TRAP", SIGTRAP},     {"TSTP", SIGTSTP},
        {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},       {"USR1", SIGUSR1},
        {"USR2", SIGUSR2}, {"VTALRM", SIGVTALRM}, {"WINCH", SIGWINCH},   {"XCPU", SIGXCPU},
        {"XFSZ", SIGXFSZ},
    };
    if (s.empty()) return fail("unknown signal \"\"");
    if (s.find_first_not_of("0123456789") == std::string_view::npos) {
        if (s.size() > 3) return fail("unknown signal \"" + std::string(s) + "\"");
        int n = std::stoi(std::string(s));
        if (n <= 0 || n > SIGRTMAX) return fail("unknown signal \"" + std::string(s) + "\"");
        return n;
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
        if (off.size() >= 2 && (off[0] == '+' || off[0] == '-') &&
            off.substr(1).find_first_not_of("0123456789") == std::string_view::npos && off.size() <= 3) {
            int n = std::stoi(std::string(off.substr(1)));
            int sig = off[0] == '+' ? base + n : base - n;
            if (sig >= SIGRTMIN && sig <= SIGRTMAX) return sig;
        }
    }
    return fail("unknown signal \"" + std::string(s) + "\"");
}

bool wait_gone(pid_t pid, std::chrono::milliseconds timeout) {
    Fd pfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!pfd.valid()) return errno == ESRCH;
    pollfd p{pfd.get(), POLLIN, 0};
    for (;;) {
        int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
        if (r < 0 && errno == EINTR) continue;
        if (r > 0) return true;
        // pidfd readiness means exit; a zombie that nobody reaps also counts as gone.
        return !process_start_time(pid).has_value();
    }
}

Result<RunResult> run(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                      std::string_view input, std::chrono::milliseconds timeout) {
    if (argv.empty()) return fail("run: empty command");
    int in[2], out[2], err[2];
    if (::pipe2(in, O_CLOEXEC) < 0) return fail_errno("pipe");
    Fd in_r(in[0]), in_w(in[1]);
    if (::pipe2(out, O_CLOEXEC) < 0) return fail_errno("pipe");
    Fd out_r(out[0]), out_w(out[1]);
    if (::pipe2(err, O_CLOEXEC) < 0) return fail_errno("pipe");
    Fd err_r(err[0]), err_w(err[1]);

    std::vector<char*> args, envp;
    for (auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    for (auto& e : env)
        envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);

    pid_t pid = ::fork();
    if (pid < 0) return fail_errno("fork " + argv[0]);
    if (pid == 0) {
        ::dup2(in_r.get(), 0);
        ::dup2(out_w.get(), 1);
        ::dup2(err_w.get(), 2);
        ::signal(SIGPIPE, SIG_DFL);
        if (env.empty())
            ::execvp(args[0], args.data());
        else
            ::execvpe(args[0], args.data(), envp.data());
        ::dprintf(2, "exec %s: %s", args[0], std::strerror(errno));
        ::_exit(127);
    }
    in_r.reset();
    out_w.reset();
    err_w.reset();
    ::fcntl(in_w.get(), F_SETFL, O_NONBLOCK);

    RunResult res;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    bool killed = false;
    while (out_r.valid() || err_r.valid()) {
        pollfd fds[3];
        int n = 0;
        int idx_out = -1, idx_err = -1, idx_in = -1;
        if (out_r.valid()) idx_out = n, fds[n++] = {out_r.get(), POLLIN, 0};
        if (err_r.valid()) idx_err = n, fds[n++] = {err_r.get(), POLLIN, 0};
        if (in_w.valid()) idx_in = n, fds[n++] = {in_w.get(), POLLOUT, 0};
        int wait_ms = -1;
        if (timeout.count() > 0) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            wait_ms = left.count() > 0 ? static_cast<int>(left.count()) : 0;
        }
        int r = ::poll(fds, static_cast<nfds_t>(n), wait_ms);
        if (r < 0 && errno == EINTR) continue;
        if (r == 0 && !killed) {
            ::kill(pid, SIGKILL);
            killed = true;
            continue;
        }
        auto drain = [&](int idx, Fd& fd, std::string& dst) {
            if (idx < 0 || !(fds[idx].revents & (POLLIN | POLLHUP | POLLERR))) return;
            char buf[4096];
            ssize_t k = ::read(fd.get(), buf, sizeof buf);
            if (k <= 0)
                fd.reset();
            else
                dst.append(buf, static_cast<size_t>(k));
        };
        drain(idx_out, out_r, res.out);
        drain(idx_err, err_r, res.err);
        if (idx_in >= 0 && (fds[idx_in].revents & (POLLOUT | POLLERR | POLLHUP))) {
            if (input.empty()) {
                in_w.reset();
            } else {
                ssize_t k = ::write(in_w.get(), input.data(), input.size());
                if (k < 0)
                    in_w.reset();
                else
                    input.remove_prefix(static_cast<size_t>(k));
                if (input.empty()) in_w.reset();
            }
        }
    }
    in_w.reset();
    while (::waitpid(pid, &res.status, 0) < 0) {
        if (errno != EINTR) return fail_errno("wait " + argv[0]);
    }
    if (killed) return fail(argv[0] + " timed out after " + std::to_string(timeout.count() / 1000) + "s");
    return res;
}

} // namespace lxcri::sys
