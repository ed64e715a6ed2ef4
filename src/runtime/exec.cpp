#include "base/parse.hpp"
#include "plan/plan.hpp"
#include "runtime/common.hpp"
#include "runtime/terminal.hpp"
#include "spec/input.hpp"
#include "sys/fs.hpp"
#include "sys/log.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace lxcri::runtime {

namespace {

// A uid or gid of --user/--additional-gids: a decimal number in 0..2^32-1 (runc wraps larger ones).
Result<uint32_t> parse_id(const std::string& s, const char* what) {
    auto n = parse_number<uint32_t>(s);
    if (!n) return fail(std::string("invalid ") + what + " \"" + s + "\": " + n.error().message());
    return *n;
}

// The process to run: --process FILE as is, or the container's process with runc's command-line overrides.
Result<spec::Process> exec_process_spec(const ExecOpts& o, const spec::Process& base) {
    if (!o.process_file.empty()) return spec::load_process(o.process_file);
    if (o.args.empty()) return fail(ErrorKind::Invalid, "process args cannot be empty");
    spec::Process p = base;
    p.args = o.args;
    p.terminal = o.tty;
    p.env.insert(p.env.end(), o.env.begin(), o.env.end());
    if (!o.cwd.empty()) p.cwd = o.cwd;
    if (!o.user.empty()) {
        auto colon = o.user.find(':');
        p.user.uid = TRY(parse_id(o.user.substr(0, colon), "user"));
        if (colon != std::string::npos) p.user.gid = TRY(parse_id(o.user.substr(colon + 1), "group"));
    }
    for (auto& g : o.additional_gids)
        p.user.additional_gids.push_back(TRY(parse_id(g, "additional gid")));
    if (o.no_new_privs) p.no_new_privileges = true;
    if (!o.apparmor.empty()) p.apparmor_profile = o.apparmor;
    if (!o.process_label.empty()) p.selinux_label = o.process_label;
    if (!o.caps.empty()) {
        if (!p.capabilities) p.capabilities = spec::Capabilities{};
        for (auto* set : {&p.capabilities->bounding, &p.capabilities->effective, &p.capabilities->permitted,
                          &p.capabilities->ambient, &p.capabilities->inheritable}) {
            if (!*set) *set = std::vector<std::string>{};
            (*set)->insert((*set)->end(), o.caps.begin(), o.caps.end());
        }
    }
    return p;
}

} // namespace

Result<std::map<std::string, std::string>> parse_sub_cgroups(const std::vector<std::string>& args) {
    std::map<std::string, std::string> out;
    for (const auto& a : args) {
        auto colon = a.find(':');
        if (colon != std::string::npos && a.find(':', colon + 1) != std::string::npos)
            return fail(ErrorKind::Invalid, "invalid --cgroup argument: " + a);
        if (colon == std::string::npos) {
            if (args.size() != 1)
                return fail(ErrorKind::Invalid,
                            "invalid --cgroup argument: " + a + " (missing <controller>: prefix)");
            out[""] = a;
            continue;
        }
        std::string_view ctrls = std::string_view(a).substr(0, colon);
        for (;;) {
            auto comma = ctrls.find(',');
            out[std::string(ctrls.substr(0, comma))] = a.substr(colon + 1);
            if (comma == std::string_view::npos) break;
            ctrls.remove_prefix(comma + 1);
        }
    }
    return out;
}

Result<int> exec(const Global& g, const ExecOpts& o) {
    Store store(g.root);
    // Not held while the process runs (exec -t may last for hours); the backend handle is a copy.
    auto c = TRY(open_container(store, o.id, false));
    TRY(c.allows(o.ignore_paused ? Verb::ExecIgnorePaused : Verb::Exec));
    // The config as it was at create, not the bundle's current file.
    auto sp = TRY(store.load_spec(o.id));
    auto plan = TRY(plan::make_plan(sp, plan::Options{.id = o.id, .bundle = c.state.bundle}));
    plan::InitConfig ic = plan::make_init_config(plan);
    ic.process = TRY(exec_process_spec(o, plan.process));
    auto sub_cgroups = TRY(parse_sub_cgroups(o.cgroups));
    if (ic.process.terminal && o.console_socket.empty() && o.detach)
        return fail(ErrorKind::Invalid,
                    "cannot allocate tty if runc will detach without setting console socket");
    sys::Fd console, console_ours;
    if (!o.console_socket.empty()) {
        console.reset(TRY(connect_console_socket(o.console_socket)));
        ic.console_fd = console.get();
        fcntl(console.get(), F_SETFD, 0);
    } else if (ic.process.terminal) {
        // Foreground exec -t without a console socket: the pty comes to us and we proxy our terminal to it,
        // as runc does.
        auto pair = TRY(console_pair());
        console_ours = std::move(pair.ours);
        console = std::move(pair.theirs);
        ic.console_fd = console.get();
        fcntl(console.get(), F_SETFD, 0);
    }
    ic.preserve_fds = o.preserve_fds;
    ic.fifo.clear();
    ic.cleanup_dir.clear();

    auto handle = c.handle();
    c.lock = sys::FileLock();
    std::string what = ic.process.args.empty() ? std::string("(no args)") : ic.process.args.front();
    log::debug("exec: starting " + what + " in " + o.id);
    // Seccomp notify: the agent gets the process's pid and the container's state (runc's: "running", the
    // init's pid).
    const State& st = c.state;
    auto agent = seccomp_agent(sp, [&st](pid_t) { return oci_state_json(st, RunState::Running, 0); });
    pid_t pid = TRY(c.backend->exec(handle, backend::ExecRequest{.process = ic,
                                                                 .deadline = backend::after(kOpTimeout),
                                                                 .seccomp_agent = agent,
                                                                 .sub_cgroups = std::move(sub_cgroups)}));
    log::debug("exec: " + what + " runs in " + o.id + " as pid " + std::to_string(pid));
    console.reset();
    TRY(write_pid_file(o.pid_file, pid));
    if (o.detach) return 0;
    int status = 0;
    {
        SignalForwarder forward(pid);
        if (console_ours.valid()) {
            auto master = receive_master(console_ours.get());
            if (!master) {
                ::kill(pid, SIGKILL);
                while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
                }
                return std::unexpected(std::move(master).error());
            }
            proxy_terminal(master->get());
        }
        while (waitpid(pid, &status, 0) < 0) {
            if (errno != EINTR) return fail_errno("wait for exec process");
        }
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

} // namespace lxcri::runtime
