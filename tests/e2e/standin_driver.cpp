// Test driver of the Proxmox stand-in (backend/proxmox/standin.hpp) for tests/e2e/test_proxmox_standin.sh:
// it plays the runtime's part against a CT whose PID 1 is the init in attach mode. Not part of the product.
//
//   standin-driver create INIT_PID [--tty --console-socket PATH] [--pid-file F] [--bundle DIR] -- ARGS...
//       spawn_standin (the caller's stdio goes to the process), writes the stand-in's pid, exits 0; with
//       --bundle the process is the bundle's (config.json through plan::make_init_config, as create makes
//       it), else ARGS with a PATH, cwd / and root
//   standin-driver start INIT_PID            release; prints the process's host pid
//   standin-driver pid INIT_PID              process_pid; prints it
//   standin-driver run INIT_PID [--tty --console-socket PATH] [--pid-file F] -- ARGS...
//       create + start, then waits for the stand-in (its child) and exits as it did: its code, or 128+sig
//       after printing "standin: signaled N" to stderr
// Errors: "standin-driver: <error>" on stderr, exit 125.
#include "backend/proxmox/standin.hpp"
#include "base/parse.hpp"
#include "plan/plan.hpp"
#include "spec/spec.hpp"
#include "sys/fs.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace lxcri;
namespace pve = lxcri::backend::proxmox;

namespace {

constexpr auto kTimeout = std::chrono::seconds(20);

[[noreturn]] void die(const std::string& msg) {
    std::fprintf(stderr, "standin-driver: %s\n", msg.c_str());
    std::exit(125);
}

template <class T> T check(Result<T> r, const char* what) {
    if (!r) die(std::string(what) + ": " + r.error().message());
    if constexpr (!std::is_void_v<T>) return std::move(*r);
}

int connect_console(const std::string& path) {
    int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (s < 0 || path.size() >= sizeof addr.sun_path) die("console socket " + path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    // The listener may have bound its path and not yet called listen(): retry briefly.
    for (int tries = 0; ::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0; ++tries) {
        if (errno != ECONNREFUSED || tries == 200) die("connect " + path + ": " + std::strerror(errno));
        ::usleep(10000);
    }
    return s;
}

struct Create {
    pid_t init = 0;
    bool tty = false;
    std::string console, pid_file, bundle;
    std::vector<std::string> args;
};

Create parse(int argc, char** argv) {
    Create c;
    c.init = check(parse_number<pid_t>(argv[2]), "INIT_PID");
    int i = 3;
    for (; i < argc && std::strcmp(argv[i], "--") != 0; ++i) {
        std::string a = argv[i];
        if (a == "--tty")
            c.tty = true;
        else if (a == "--console-socket" && i + 1 < argc)
            c.console = argv[++i];
        else if (a == "--pid-file" && i + 1 < argc)
            c.pid_file = argv[++i];
        else if (a == "--bundle" && i + 1 < argc)
            c.bundle = argv[++i];
        else
            die("unknown option " + a);
    }
    for (++i; i < argc; ++i)
        c.args.emplace_back(argv[i]);
    return c;
}

pid_t create(const Create& c) {
    pve::StandinRequest req;
    req.init_host_pid = c.init;
    if (!c.bundle.empty()) {
        auto spec = check(spec::load(c.bundle), "load the bundle");
        auto plan = check(plan::make_plan(spec, {"standin-driver", c.bundle, false}), "plan");
        req.process = plan::make_init_config(plan);
    } else {
        req.process.process.args = c.args;
        req.process.process.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"};
        req.process.process.cwd = "/";
        req.process.process.terminal = c.tty;
    }
    req.deadline = backend::after(kTimeout);
    int console = c.console.empty() ? -1 : connect_console(c.console);
    req.console_fd = console;
    pid_t pid = check(pve::spawn_standin(req), "spawn_standin");
    if (console >= 0) ::close(console);
    if (!c.pid_file.empty()) check(sys::write_file_atomic(c.pid_file, std::to_string(pid)), "pid file");
    return pid;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 3) die("usage: standin-driver create|start|pid|run INIT_PID ...");
    std::string verb = argv[1];
    if (verb == "start") {
        pid_t pid = check(
            pve::release(check(parse_number<pid_t>(argv[2]), "INIT_PID"), "{}", backend::after(kTimeout)),
            "release");
        std::printf("%d\n", pid);
        return 0;
    }
    if (verb == "pid") {
        pid_t pid =
            check(pve::process_pid(check(parse_number<pid_t>(argv[2]), "INIT_PID"), backend::after(kTimeout)),
                  "process_pid");
        std::printf("%d\n", pid);
        return 0;
    }
    if (verb != "create" && verb != "run") die("unknown verb " + verb);
    Create c = parse(argc, argv);
    pid_t standin = create(c);
    if (verb == "create") return 0;
    check(pve::release(c.init, "{}", backend::after(kTimeout)), "release");
    int status = 0;
    while (::waitpid(standin, &status, 0) < 0)
        if (errno != EINTR) die("waitpid");
    if (WIFSIGNALED(status)) {
        std::fprintf(stderr, "standin: signaled %d\n", WTERMSIG(status));
        return 128 + WTERMSIG(status);
    }
    return WEXITSTATUS(status);
}
