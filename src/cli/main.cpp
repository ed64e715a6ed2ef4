// proxmox-lxcri: a runc-compatible command line. A thin table of verbs; all work happens in runtime/.
#include "cli/args.hpp"
#include "runtime/runtime.hpp"
#include "sys/log.hpp"

#include <unistd.h>

#include <cstdio>
#include <functional>

using namespace lxcri;

namespace {

struct Command {
    const char* name;
    const char* usage;
    std::vector<cli::FlagSpec> flags;
    size_t min_args, max_args; // positional arguments (SIZE_MAX: unlimited)
    std::function<Result<int>(const runtime::Global&, const cli::Parsed&)> run;
};

Result<int> done(Status s) {
    if (!s) return std::unexpected(std::move(s).error());
    return 0;
}

Result<int> parse_int(const std::string& s, const char* what) {
    try {
        size_t used = 0;
        long long v = std::stoll(s, &used);
        if (used != s.size()) throw std::invalid_argument(s);
        return static_cast<int>(v);
    } catch (const std::exception&) {
        return fail(std::string("invalid value \"") + s + "\" for flag -" + what);
    }
}

template <class T> Result<std::optional<T>> opt_num(const cli::Parsed& p, const std::string& name) {
    if (!p.has(name)) return std::optional<T>{};
    try {
        return std::optional<T>(static_cast<T>(std::stoll(p.get(name))));
    } catch (const std::exception&) {
        return fail("invalid value \"" + p.get(name) + "\" for flag -" + name);
    }
}

Result<runtime::CreateOpts> create_opts(const cli::Parsed& p) {
    runtime::CreateOpts o;
    o.id = p.positional.at(0);
    o.bundle = p.get("bundle", ".");
    o.pid_file = p.get("pid-file");
    o.console_socket = p.get("console-socket");
    o.no_pivot = p.flag("no-pivot");
    o.no_new_keyring = p.flag("no-new-keyring");
    o.preserve_fds = TRY(parse_int(p.get("preserve-fds", "0"), "preserve-fds"));
    if (o.preserve_fds < 0) return fail("invalid value for --preserve-fds");
    return o;
}

const std::vector<cli::FlagSpec> kCreateFlags = {
    {{"bundle", "b"}, true},   {{"pid-file"}, true},   {{"console-socket"}, true}, {{"no-pivot"}, false},
    {{"no-new-keyring"}, false}, {{"preserve-fds"}, true}, {{"strict"}, false},
};

std::vector<cli::FlagSpec> with(std::vector<cli::FlagSpec> a, const std::vector<cli::FlagSpec>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

std::vector<Command> commands() {
    return {
        {"create", "create [command options] <container-id>", kCreateFlags, 1, 1,
         [](auto& g, auto& p) -> Result<int> { return done(runtime::create(g, TRY(create_opts(p)))); }},
        {"start", "start <container-id>", {}, 1, 1,
         [](auto& g, auto& p) { return done(runtime::start(g, p.positional[0])); }},
        {"run", "run [command options] <container-id>",
         with(kCreateFlags, {{{"detach", "d"}, false}, {{"keep"}, false}, {{"no-subreaper"}, false}}), 1, 1,
         [](auto& g, auto& p) -> Result<int> {
             runtime::RunOpts o{TRY(create_opts(p)), p.flag("detach"), p.flag("keep")};
             return runtime::run(g, o);
         }},
        {"state", "state <container-id>", {}, 1, 1,
         [](auto& g, auto& p) { return done(runtime::state(g, p.positional[0])); }},
        {"kill", "kill [command options] <container-id> [signal]", {{{"all", "a"}, false}}, 1, 2,
         [](auto& g, auto& p) {
             std::string sig = p.positional.size() > 1 ? p.positional[1] : "SIGTERM";
             return done(runtime::kill(g, p.positional[0], sig, p.flag("all")));
         }},
        {"delete", "delete [command options] <container-id>", {{{"force", "f"}, false}}, 1, 1,
         [](auto& g, auto& p) { return done(runtime::remove(g, p.positional[0], p.flag("force"))); }},
        {"list", "list [command options]", {{{"format", "f"}, true}, {{"quiet", "q"}, false}}, 0, 0,
         [](auto& g, auto& p) { return done(runtime::list(g, p.get("format", "table"), p.flag("quiet"))); }},
        {"ps", "ps [command options] <container-id> [ps options]", {{{"format", "f"}, true}}, 1, SIZE_MAX,
         [](auto& g, auto& p) {
             std::vector<std::string> rest(p.positional.begin() + 1, p.positional.end());
             return done(runtime::ps(g, p.positional[0], p.get("format", "table"), rest));
         }},
        {"exec", "exec [command options] <container-id> <command> [command options]",
         {{{"process", "p"}, true},
          {{"detach", "d"}, false},
          {{"pid-file"}, true},
          {{"console-socket"}, true},
          {{"tty", "t"}, false},
          {{"env", "e"}, true},
          {{"cwd"}, true},
          {{"user", "u"}, true},
          {{"additional-gids", "g"}, true},
          {{"cap", "c"}, true},
          {{"no-new-privs"}, false},
          {{"apparmor"}, true},
          {{"process-label"}, true},
          {{"preserve-fds"}, true},
          {{"cgroup"}, true},
          {{"ignore-paused"}, false}},
         1, SIZE_MAX,
         [](auto& g, auto& p) -> Result<int> {
             runtime::ExecOpts o;
             o.id = p.positional[0];
             o.args.assign(p.positional.begin() + 1, p.positional.end());
             if (!o.args.empty() && o.args[0] == "--") o.args.erase(o.args.begin());
             o.process_file = p.get("process");
             o.detach = p.flag("detach");
             o.pid_file = p.get("pid-file");
             o.console_socket = p.get("console-socket");
             o.tty = p.flag("tty");
             o.env = p.all("env");
             o.cwd = p.get("cwd");
             o.user = p.get("user");
             o.additional_gids = p.all("additional-gids");
             o.caps = p.all("cap");
             o.no_new_privs = p.flag("no-new-privs");
             o.apparmor = p.get("apparmor");
             o.process_label = p.get("process-label");
             o.preserve_fds = TRY(parse_int(p.get("preserve-fds", "0"), "preserve-fds"));
             return runtime::exec(g, o);
         }},
        {"pause", "pause <container-id>", {}, 1, 1,
         [](auto& g, auto& p) { return done(runtime::pause(g, p.positional[0])); }},
        {"resume", "resume <container-id>", {}, 1, 1,
         [](auto& g, auto& p) { return done(runtime::resume(g, p.positional[0])); }},
        {"update", "update [command options] <container-id>",
         {{{"resources", "r"}, true},
          {{"memory"}, true},
          {{"memory-reservation"}, true},
          {{"memory-swap"}, true},
          {{"kernel-memory"}, true},
          {{"kernel-memory-tcp"}, true},
          {{"pids-limit"}, true},
          {{"cpu-quota"}, true},
          {{"cpu-period"}, true},
          {{"cpu-share"}, true},
          {{"cpu-rt-period"}, true},
          {{"cpu-rt-runtime"}, true},
          {{"cpuset-cpus"}, true},
          {{"cpuset-mems"}, true},
          {{"blkio-weight"}, true},
          {{"l3-cache-schema"}, true},
          {{"mem-bw-schema"}, true}},
         1, 1,
         [](auto& g, auto& p) -> Result<int> {
             runtime::UpdateOpts o;
             o.id = p.positional[0];
             o.resources_file = p.get("resources");
             o.memory = TRY(opt_num<int64_t>(p, "memory"));
             o.memory_reservation = TRY(opt_num<int64_t>(p, "memory-reservation"));
             o.memory_swap = TRY(opt_num<int64_t>(p, "memory-swap"));
             o.pids_limit = TRY(opt_num<int64_t>(p, "pids-limit"));
             o.cpu_quota = TRY(opt_num<int64_t>(p, "cpu-quota"));
             o.cpu_period = TRY(opt_num<uint64_t>(p, "cpu-period"));
             o.cpu_shares = TRY(opt_num<uint64_t>(p, "cpu-share"));
             o.blkio_weight = TRY(opt_num<uint64_t>(p, "blkio-weight"));
             o.cpuset_cpus = p.get("cpuset-cpus");
             o.cpuset_mems = p.get("cpuset-mems");
             for (const char* unsupported : {"kernel-memory", "kernel-memory-tcp", "l3-cache-schema", "mem-bw-schema",
                                             "cpu-rt-period", "cpu-rt-runtime"})
                 if (p.has(unsupported)) return fail(std::string("--") + unsupported + " is not supported");
             return done(runtime::update(g, o));
         }},
        {"events", "events [command options] <container-id>", {{{"stats"}, false}, {{"interval"}, true}}, 1, 1,
         [](auto& g, auto& p) -> Result<int> {
             std::string iv = p.get("interval", "5s");
             int secs = TRY(parse_int(iv.ends_with("s") ? iv.substr(0, iv.size() - 1) : iv, "interval"));
             if (secs <= 0) return fail("duration interval must be greater than 0");
             return done(runtime::events(g, p.positional[0], p.flag("stats"), std::chrono::seconds(secs)));
         }},
        {"spec", "spec [command options]", {{{"bundle", "b"}, true}, {{"rootless"}, false}}, 0, 0,
         [](auto&, auto& p) { return done(runtime::spec(p.get("bundle", "."), p.flag("rootless"))); }},
        {"features", "features", {}, 0, 0, [](auto&, auto&) { return done(runtime::features()); }},
        {"info", "info", {}, 0, 0, [](auto& g, auto&) { return done(runtime::info(g)); }},
    };
}

void usage(const std::vector<Command>& cmds) {
    std::printf("proxmox-lxcri: an OCI runtime (runc-compatible) running containers as LXC containers\n\n"
                "USAGE:\n   proxmox-lxcri [global options] command [command options] [arguments...]\n\n"
                "COMMANDS:\n");
    for (auto& c : cmds) std::printf("   %s\n", c.usage);
    std::printf("\nGLOBAL OPTIONS:\n   --root value        state directory (default: \"/run/proxmox-lxcri\")\n"
                "   --log value         log file (default: stderr)\n   --log-format value  text or json\n"
                "   --debug             debug logging\n   --systemd-cgroup    use the systemd cgroup driver\n"
                "   --strict            unsupported spec fields are errors\n   --version, -v       print the version\n");
}

int fail_exit(const std::string& msg, bool to_stderr_too) {
    log::error(msg);
    if (to_stderr_too) std::fprintf(stderr, "proxmox-lxcri: %s\n", msg.c_str());
    return 1;
}

} // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv, argv + argc);
    static const std::vector<cli::FlagSpec> global_flags = {
        {{"root"}, true},   {{"log"}, true},       {{"log-format"}, true}, {{"debug"}, false},
        {{"systemd-cgroup"}, false}, {{"criu"}, true}, {{"rootless"}, true}, {{"strict"}, false},
        {{"help", "h"}, false},      {{"version", "v"}, false},
    };
    size_t stop = 0;
    auto g = cli::parse(args, 1, global_flags, &stop);
    if (!g) return fail_exit(g.error().message(), false);
    log::Config lc{g->get("log"), g->get("log-format", "text") == "json", g->flag("debug")};
    if (auto f = g->get("log-format", "text"); f != "text" && f != "json")
        return fail_exit("invalid log-format: " + f, false);
    log::configure(lc);
    bool log_to_file = !lc.file.empty();

    auto cmds = commands();
    if (g->flag("version")) {
        std::fputs(runtime::version_text().c_str(), stdout);
        return 0;
    }
    if (g->flag("help") || stop >= args.size()) {
        usage(cmds);
        return g->flag("help") ? 0 : 1;
    }
    runtime::Global glob;
    glob.root = g->get("root", "/run/proxmox-lxcri");
    glob.systemd_cgroup = g->flag("systemd-cgroup");
    glob.strict = g->flag("strict");

    const std::string& name = args[stop];
    for (auto& c : cmds) {
        if (name != c.name) continue;
        auto p = cli::parse(args, stop + 1, c.flags, nullptr);
        if (!p) return fail_exit(p.error().message(), log_to_file);
        if (p->flag("strict")) glob.strict = true;
        size_t n = p->positional.size();
        if (n < c.min_args || n > c.max_args) {
            std::string want = c.min_args == c.max_args ? "exactly " + std::to_string(c.min_args)
                                                        : "at least " + std::to_string(c.min_args);
            return fail_exit("\"" + name + "\" requires " + want + " argument(s)", log_to_file);
        }
        auto r = c.run(glob, *p);
        if (!r) return fail_exit(r.error().message(), log_to_file);
        std::fflush(stdout);
        return *r;
    }
    return fail_exit("No help topic for '" + name + "'", log_to_file);
}
