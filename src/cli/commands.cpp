// proxmox-lxcri: a runc-compatible command line. A thin table of verbs; all work happens in runtime/.
#include "cli/commands.hpp"
#include "base/parse.hpp"
#include "base/utf8.hpp"
#include "cli/args.hpp"
#include "runtime/image.hpp"
#include "runtime/runtime.hpp"
#include "sys/log.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <limits>

using namespace lxcri;

namespace {

// The image verbs of this binary: the real ones (proxmox-lxcri-image) or the forwarders (proxmox-lxcri).
const cli::ImageVerbs* g_image = nullptr;

// What every verb gets: the global options (a runtime::Global, so verbs take it as one) and the image store.
struct Ctx : runtime::Global {
    runtime::ImageContext image;
};

struct Command {
    const char* name;
    const char* usage;
    std::vector<cli::FlagSpec> flags;
    size_t min_args, max_args; // positional arguments (SIZE_MAX: unlimited)
    std::function<Result<int>(const Ctx&, const cli::Parsed&)> run;
    const char* alias = nullptr;
    std::vector<Command> sub = {}; // a command group (`image pull`): run is unused
    size_t max_args_image = 0;     // with --image (create/run: ID -- ARGS...); 0: max_args
};

Result<int> done(Status s) {
    if (!s) return std::unexpected(std::move(s).error());
    return 0;
}

// A flag's number: the whole value, in T's range ("invalid value \"X\" for flag -NAME: REASON").
template <class T> Result<T> flag_number(const std::string& value, const std::string& name) {
    auto n = parse_number<T>(value);
    if (!n) return fail("invalid value \"" + value + "\" for flag -" + name + ": " + n.error().message());
    return *n;
}

Result<int> parse_int(const std::string& s, const char* what) {
    return flag_number<int>(s, what);
}

template <class T> Result<std::optional<T>> opt_num(const cli::Parsed& p, const std::string& name) {
    if (!p.has(name)) return std::optional<T>{};
    return std::optional<T>(TRY(flag_number<T>(p.get(name), name)));
}

// A byte count as runc's update takes it (docker's RAMInBytes): N with an optional binary unit k, m, g, t, p
// (optionally followed by "b"/"ib", any case), or -1 (unlimited). No fractions; overflow is an error.
Result<std::optional<int64_t>> opt_bytes(const cli::Parsed& p, const std::string& name) {
    if (!p.has(name)) return std::optional<int64_t>{};
    const std::string v = p.get(name);
    if (v == "-1") return std::optional<int64_t>(-1);
    size_t digits = 0;
    while (digits < v.size() && v[digits] >= '0' && v[digits] <= '9')
        ++digits;
    if (digits == 0) return fail("invalid value \"" + v + "\" for flag -" + name + ": not a number");
    std::string unit = v.substr(digits);
    for (auto& c : unit)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (unit.ends_with("ib"))
        unit.resize(unit.size() - 2);
    else if (unit.size() == 2 && unit.ends_with('b'))
        unit.resize(1);
    int shift = -1;
    if (unit.empty() || unit == "b")
        shift = 0;
    else if (unit.size() == 1 && std::string_view("kmgtp").find(unit[0]) != std::string_view::npos)
        shift = 10 * (1 + static_cast<int>(std::string_view("kmgtp").find(unit[0])));
    if (shift < 0) return fail("invalid value \"" + v + "\" for flag -" + name + ": unknown unit");
    int64_t n = TRY(flag_number<int64_t>(v.substr(0, digits), name));
    if (n > (std::numeric_limits<int64_t>::max() >> shift))
        return fail("invalid value \"" + v + "\" for flag -" + name + ": out of range");
    return std::optional<int64_t>(n << shift);
}

// --preserve-fds N: runc's uint, bounded by int (the file descriptors are ints).
Result<int> preserve_fds(const cli::Parsed& p) {
    auto n = TRY(flag_number<uint32_t>(p.get("preserve-fds", "0"), "preserve-fds"));
    if (n > static_cast<uint32_t>(std::numeric_limits<int>::max()))
        return fail("invalid value \"" + p.get("preserve-fds") + "\" for flag -preserve-fds: out of range");
    return static_cast<int>(n);
}

// path made absolute against the working directory, normalized, without a trailing slash.
Result<std::string> absolute_path(const std::string& path, const std::string& what) {
    std::error_code ec;
    auto abs = std::filesystem::absolute(path, ec);
    if (ec) return fail(what + " " + utf8_escaped(path) + ": " + ec.message());
    std::string out = abs.lexically_normal().string();
    while (out.size() > 1 && out.back() == '/')
        out.pop_back();
    return out;
}

Result<runtime::CreateOpts> create_opts(const cli::Parsed& p) {
    runtime::CreateOpts o;
    o.id = p.positional[0];
    // The bundle path goes into state.json: a working directory that is not UTF-8 is refused here too.
    o.bundle = TRY(absolute_path(p.get("bundle", "."), "bundle"));
    if (!is_utf8(o.bundle))
        return fail("invalid bundle path \"" + utf8_escaped(o.bundle) + "\": not valid UTF-8");
    o.pid_file = p.get("pid-file");
    o.console_socket = p.get("console-socket");
    o.no_pivot = p.flag("no-pivot");
    o.no_new_keyring = p.flag("no-new-keyring");
    o.preserve_fds = TRY(preserve_fds(p));
    return o;
}

const std::vector<cli::FlagSpec> kCreateFlags = {
    {{"bundle", "b"}, true},     {{"pid-file"}, true},     {{"console-socket"}, true}, {{"no-pivot"}, false},
    {{"no-new-keyring"}, false}, {{"preserve-fds"}, true}, {{"strict"}, false},
};

std::vector<cli::FlagSpec> with(std::vector<cli::FlagSpec> a, const std::vector<cli::FlagSpec>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

std::string arity_message(const std::string& name, size_t min_args, size_t max_args) {
    std::string want =
        min_args == max_args ? "exactly " + std::to_string(min_args) : "at least " + std::to_string(min_args);
    return "\"" + name + "\" requires " + want + " argument(s)";
}

std::string absolute(const std::string& path) {
    if (path.empty()) return path;
    std::error_code ec;
    auto abs = std::filesystem::absolute(path, ec);
    return ec ? path : abs.lexically_normal().string();
}

// A boolean flag given a value (--tls-verify=false): strconv.ParseBool's spellings only.
Result<bool> bool_value(const cli::Parsed& p, const std::string& name, bool def) {
    if (!p.has(name)) return def;
    static const std::vector<std::string> yes = {"1", "t", "T", "TRUE", "true", "True"};
    static const std::vector<std::string> no = {"0", "f", "F", "FALSE", "false", "False"};
    const std::string v = p.get(name);
    if (std::ranges::find(yes, v) != yes.end()) return true;
    if (std::ranges::find(no, v) != no.end()) return false;
    return fail("invalid boolean value \"" + v + "\" for -" + name);
}

template <class T> Result<std::optional<T>> opt_positive(const cli::Parsed& p, const std::string& name) {
    const std::string v = p.get(name);
    if (!p.has(name)) return std::optional<T>{};
    auto n = parse_number<T>(v);
    if (!n || *n == 0)
        return fail("invalid value \"" + v + "\" for flag -" + name + ": want a positive integer");
    return std::optional<T>(*n);
}

// Flags of `create`/`run`/`spec` that only mean something with --image.
const std::vector<cli::FlagSpec> kImageFlags = {
    {{"image"}, true}, {{"name"}, true},         {{"memory"}, true},
    {{"cores"}, true}, {{"storage-root"}, true}, {{"storage-driver"}, true},
};

// Without --image none of the image flags may be given (the command then behaves as it always did).
Status no_image_flags(const cli::Parsed& p) {
    for (auto& f : kImageFlags)
        if (p.has(f.names.front())) return fail("--" + f.names.front() + " is only valid with --image");
    return ok();
}

// The --image options of create/run; positional[0] is the container id, the rest (after an optional "--")
// replaces the image's Cmd.
Result<runtime::ImageCreateOpts> image_create_opts(const cli::Parsed& p) {
    if (p.has("bundle")) return fail("--bundle and --image cannot be used together");
    runtime::ImageCreateOpts io;
    io.ref = p.get("image");
    if (io.ref.empty()) return fail("--image needs an image reference");
    io.name = p.get("name");
    io.memory_mib = TRY(opt_positive<uint64_t>(p, "memory"));
    io.cores = TRY(opt_positive<uint32_t>(p, "cores"));
    io.storage_root = absolute(p.get("storage-root"));
    io.driver = p.get("storage-driver");
    auto first = p.positional.begin() + 1;
    if (first != p.positional.end() && *first == "--") ++first;
    io.args.assign(first, p.positional.end());
    return io;
}

Result<int> run_cmd(const Ctx& g, const cli::Parsed& p) {
    if (!p.has("image")) TRY(no_image_flags(p));
    runtime::RunOpts o{TRY(create_opts(p)), p.flag("detach"), p.flag("keep")};
    if (!p.has("image")) return runtime::run(g, o);
    return g_image->run(g, g.image, TRY(image_create_opts(p)), o);
}

Result<int> create_cmd(const Ctx& g, const cli::Parsed& p) {
    if (!p.has("image")) TRY(no_image_flags(p));
    auto o = TRY(create_opts(p));
    if (!p.has("image")) return done(runtime::create(g, o));
    return done(g_image->create(g, g.image, TRY(image_create_opts(p)), o));
}

Result<int> spec_cmd(const Ctx& g, const cli::Parsed& p) {
    if (!p.has("image")) {
        TRY(no_image_flags(p));
        return done(runtime::spec(p.get("bundle", "."), p.flag("rootless")));
    }
    for (const char* only_bundle : {"rootless", "memory", "cores", "storage-root", "storage-driver"})
        if (p.has(only_bundle))
            return fail(std::string("--") + only_bundle + " cannot be used with spec --image");
    runtime::ImageCreateOpts io;
    io.ref = p.get("image");
    if (io.ref.empty()) return fail("--image needs an image reference");
    io.name = p.get("name");
    return done(g_image->spec(g.image, io, p.get("bundle", ".")));
}

std::vector<Command> image_commands() {
    return {
        {"pull",
         "pull [--tls-verify=false] [--insecure] [--authfile FILE] [--platform OS/ARCH[/VARIANT]] "
         "[--jobs N] [-q] <reference>",
         {{{"tls-verify"}, false},
          {{"insecure"}, false},
          {{"authfile"}, true},
          {{"platform"}, true},
          {{"jobs", "j"}, true},
          {{"quiet", "q"}, false}},
         1,
         1,
         [](auto& g, auto& p) -> Result<int> {
             runtime::ImagePullOpts o;
             o.ref = p.positional[0];
             o.insecure = p.flag("insecure") || !TRY(bool_value(p, "tls-verify", true));
             o.auth_file = absolute(p.get("authfile"));
             o.platform = p.get("platform");
             o.jobs = TRY(parse_int(p.get("jobs", "4"), "jobs"));
             o.quiet = p.flag("quiet");
             return done(g_image->pull(g.image, o));
         }},
        {"list",
         "list, ls [--format table|json] [-q]",
         {{{"format", "f"}, true}, {{"quiet", "q"}, false}},
         0,
         0,
         [](auto& g, auto& p) {
             return done(g_image->list(g.image, p.get("format", "table"), p.flag("quiet")));
         },
         "ls"},
        {"inspect",
         "inspect <reference>...",
         {},
         1,
         SIZE_MAX,
         [](auto& g, auto& p) { return done(g_image->inspect(g.image, p.positional)); }},
        {"rm",
         "rm, rmi <reference>...",
         {},
         1,
         SIZE_MAX,
         [](auto& g, auto& p) { return done(g_image->rm(g.image, p.positional)); },
         "rmi"},
        {"gc", "gc", {}, 0, 0, [](auto& g, auto&) { return done(g_image->gc(g.image)); }},
        {"import",
         "import <oci-layout-dir|oci-archive|docker-archive> [name]",
         {},
         1,
         2,
         [](auto& g, auto& p) {
             return done(g_image->import_archive(g.image, p.positional[0],
                                                 p.positional.size() > 1 ? p.positional[1] : ""));
         }},
        {"export",
         "export <reference> <file>",
         {},
         2,
         2,
         [](auto& g, auto& p) {
             return done(g_image->export_archive(g.image, p.positional[0], p.positional[1]));
         }},
    };
}

std::vector<Command> commands() {
    return {
        {"create",
         "create [command options] <container-id>\n"
         "   create --image REF [--name N] [--memory MiB] [--cores N] [--storage-root DIR]\n"
         "          [--storage-driver overlay|dir] [command options] <container-id> [-- ARGS...]",
         with(kCreateFlags, kImageFlags),
         1,
         1,
         create_cmd,
         nullptr,
         {},
         SIZE_MAX},
        {"start",
         "start <container-id>",
         {},
         1,
         1,
         [](auto& g, auto& p) { return done(runtime::start(g, p.positional[0])); }},
        {"run",
         "run [command options] <container-id>\n"
         "   run --image REF [create's image options] [-d] [--keep] <container-id> [-- ARGS...]",
         with(with(kCreateFlags, kImageFlags),
              {{{"detach", "d"}, false}, {{"keep"}, false}, {{"no-subreaper"}, false}}),
         1,
         1,
         run_cmd,
         nullptr,
         {},
         SIZE_MAX},
        {"state",
         "state <container-id>",
         {},
         1,
         1,
         [](auto& g, auto& p) { return done(runtime::state(g, p.positional[0])); }},
        {"kill",
         "kill [command options] <container-id> [signal]",
         {{{"all", "a"}, false}},
         1,
         2,
         [](auto& g, auto& p) {
             std::string sig = p.positional.size() > 1 ? p.positional[1] : "SIGTERM";
             return done(runtime::kill(g, p.positional[0], sig, p.flag("all")));
         }},
        {"delete",
         "delete [command options] <container-id>",
         {{{"force", "f"}, false}},
         1,
         1,
         [](auto& g, auto& p) { return done(runtime::remove(g, p.positional[0], p.flag("force"))); }},
        {"list",
         "list [command options]",
         {{{"format", "f"}, true}, {{"quiet", "q"}, false}},
         0,
         0,
         [](auto& g, auto& p) { return done(runtime::list(g, p.get("format", "table"), p.flag("quiet"))); }},
        {"ps",
         "ps [command options] <container-id> [ps options]",
         {{{"format", "f"}, true}},
         1,
         SIZE_MAX,
         [](auto& g, auto& p) {
             std::vector<std::string> rest(p.positional.begin() + 1, p.positional.end());
             return done(runtime::ps(g, p.positional[0], p.get("format", "table"), rest));
         }},
        {"exec",
         "exec [command options] <container-id> <command> [command options]",
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
         1,
         SIZE_MAX,
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
             o.preserve_fds = TRY(preserve_fds(p));
             return runtime::exec(g, o);
         }},
        {"pause",
         "pause <container-id>",
         {},
         1,
         1,
         [](auto& g, auto& p) { return done(runtime::pause(g, p.positional[0])); }},
        {"resume",
         "resume <container-id>",
         {},
         1,
         1,
         [](auto& g, auto& p) { return done(runtime::resume(g, p.positional[0])); }},
        {"update",
         "update [command options] <container-id>",
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
         1,
         1,
         [](auto& g, auto& p) -> Result<int> {
             runtime::UpdateOpts o;
             o.id = p.positional[0];
             o.resources_file = p.get("resources");
             o.memory = TRY(opt_bytes(p, "memory"));
             o.memory_reservation = TRY(opt_bytes(p, "memory-reservation"));
             o.memory_swap = TRY(opt_bytes(p, "memory-swap"));
             o.pids_limit = TRY(opt_num<int64_t>(p, "pids-limit"));
             o.cpu_quota = TRY(opt_num<int64_t>(p, "cpu-quota"));
             o.cpu_period = TRY(opt_num<uint64_t>(p, "cpu-period"));
             o.cpu_shares = TRY(opt_num<uint64_t>(p, "cpu-share"));
             o.blkio_weight = TRY(opt_num<uint64_t>(p, "blkio-weight"));
             o.cpuset_cpus = p.get("cpuset-cpus");
             o.cpuset_mems = p.get("cpuset-mems");
             for (const char* unsupported : {"kernel-memory", "kernel-memory-tcp", "l3-cache-schema",
                                             "mem-bw-schema", "cpu-rt-period", "cpu-rt-runtime"})
                 if (p.has(unsupported)) return fail(std::string("--") + unsupported + " is not supported");
             return done(runtime::update(g, o));
         }},
        {"events",
         "events [command options] <container-id>",
         {{{"stats"}, false}, {{"interval"}, true}},
         1,
         1,
         [](auto& g, auto& p) -> Result<int> {
             std::string iv = p.get("interval", "5s");
             int secs = TRY(parse_int(iv.ends_with("s") ? iv.substr(0, iv.size() - 1) : iv, "interval"));
             if (secs <= 0) return fail("duration interval must be greater than 0");
             return done(runtime::events(g, p.positional[0], p.flag("stats"), std::chrono::seconds(secs)));
         }},
        {"spec", "spec [command options]\n   spec --image REF [--bundle B] [--name N]",
         with({{{"bundle", "b"}, true}, {{"rootless"}, false}}, kImageFlags), 0, 0, spec_cmd},
        {"features", "features", {}, 0, 0, [](auto&, auto&) { return done(runtime::features()); }},
        {"info", "info", {}, 0, 0, [](auto& g, auto&) { return done(runtime::info(g)); }},
        {"__release-storage",
         "",
         {},
         3,
         3,
         [](auto&, auto& p) {
             return done(g_image->release_storage({p.positional[0], p.positional[1], p.positional[2]}));
         }},
        {"image",
         "image <command> [command options] [arguments...]",
         {},
         0,
         0,
         nullptr,
         nullptr,
         image_commands()},
    };
}

void usage(const std::vector<Command>& cmds) {
    std::printf("proxmox-lxcri: an OCI runtime (runc-compatible) running containers as LXC containers\n\n"
                "USAGE:\n   proxmox-lxcri [global options] command [command options] [arguments...]\n\n"
                "COMMANDS:\n");
    for (auto& c : cmds) {
        if (!*c.usage) continue; // hidden (internal) verbs
        std::printf("   %s\n", c.usage);
        for (auto& s : c.sub)
            std::printf("   %s %s\n", c.name, s.usage);
    }
    std::printf(
        "\nGLOBAL OPTIONS:\n   --root value        state directory (default: \"/run/proxmox-lxcri\")\n"
        "   --log value         log file (default: stderr)\n   --log-format value  text or json\n"
        "   --image-root value  image store (default: $LXCRI_IMAGE_ROOT, else "
        "\"/var/lib/proxmox-lxcri/images\")\n"
        "   --debug             debug logging\n   --systemd-cgroup    use the systemd cgroup driver\n"
        "   --strict            unsupported spec fields are errors\n   --version, -v       print the "
        "version\n");
}

void group_usage(const Command& group) {
    std::printf("USAGE:\n   proxmox-lxcri %s\n\nCOMMANDS:\n", group.usage);
    for (auto& s : group.sub)
        std::printf("   %s\n", s.usage);
}

// The error line (runc's --log record) and, when the log goes to a file, stderr. The message may quote user
// input: bytes that are not UTF-8 are escaped so the JSON line stays valid.
int fail_exit(const std::string& raw, bool to_stderr_too) {
    const std::string msg = utf8_escaped(raw);
    log::error(msg);
    if (to_stderr_too) std::fprintf(stderr, "proxmox-lxcri: %s\n", msg.c_str());
    return 1;
}

// Every argument may end up in JSON (state.json, the init's config, a log line): it must be UTF-8.
// positional: false for the global options (their positional part is the rest of the command line).
Status check_utf8(const cli::Parsed& p, bool positional = true) {
    for (const auto& [name, values] : p.values)
        for (const auto& v : values)
            if (!is_utf8(v))
                return fail("invalid value \"" + v + "\" for flag -" + name + ": not valid UTF-8");
    if (positional)
        for (const auto& a : p.positional)
            if (!is_utf8(a)) return fail("invalid argument \"" + a + "\": not valid UTF-8");
    return ok();
}

const Command* find_command(const std::vector<Command>& cmds, const std::string& name) {
    for (auto& c : cmds)
        if (name == c.name || (c.alias && name == c.alias)) return &c;
    return nullptr;
}

// Runs the command named by args[at] (descending into command groups); returns the exit code.
int dispatch(const std::vector<Command>& cmds, const std::vector<std::string>& args, size_t at, Ctx& ctx,
             bool log_to_file) {
    const std::string& name = args[at];
    const Command* c = find_command(cmds, name);
    if (!c) return fail_exit("No help topic for '" + name + "'", log_to_file);
    if (!c->sub.empty()) {
        bool help = at + 1 < args.size() && (args[at + 1] == "--help" || args[at + 1] == "-h");
        if (at + 1 >= args.size() || help) {
            group_usage(*c);
            return help ? 0 : 1;
        }
        return dispatch(c->sub, args, at + 1, ctx, log_to_file);
    }
    auto p = cli::parse(args, at + 1, c->flags, nullptr);
    if (!p) return fail_exit(p.error().message(), log_to_file);
    if (auto u = check_utf8(*p); !u) return fail_exit(u.error().message(), log_to_file);
    if (p->flag("strict")) ctx.strict = true;
    size_t n = p->positional.size();
    size_t max = p->has("image") && c->max_args_image ? c->max_args_image : c->max_args;
    if (n < c->min_args || n > max)
        return fail_exit(arity_message(name, c->min_args, c->max_args), log_to_file);
    auto r = c->run(ctx, *p);
    if (!r) return fail_exit(r.error().message(), log_to_file);
    std::fflush(stdout);
    return *r;
}

// Set once the log is configured: where fail_exit() writes.
bool g_log_to_file = false;

int run_main(int argc, char** argv) {
    std::vector<std::string> args(argv, argv + argc);
    static const std::vector<cli::FlagSpec> global_flags = {
        {{"root"}, true},
        {{"log"}, true},
        {{"log-format"}, true},
        {{"debug"}, false},
        {{"systemd-cgroup"}, false},
        {{"criu"}, true},
        {{"rootless"}, true},
        {{"strict"}, false},
        {{"image-root"}, true},
        {{"help", "h"}, false},
        {{"version", "v"}, false},
    };
    size_t stop = 0;
    auto g = cli::parse(args, 1, global_flags, &stop);
    if (!g) return fail_exit(g.error().message(), false);
    log::Config lc{g->get("log"), g->get("log-format", "text") == "json", g->flag("debug")};
    if (auto f = g->get("log-format", "text"); f != "text" && f != "json")
        return fail_exit("invalid log-format: " + f, false);
    log::configure(lc);
    bool log_to_file = !lc.file.empty();
    g_log_to_file = log_to_file;
    if (auto u = check_utf8(*g, false); !u) return fail_exit(u.error().message(), log_to_file);

    auto cmds = commands();
    if (g->flag("version")) {
        std::fputs(runtime::version_text().c_str(), stdout);
        return 0;
    }
    if (g->flag("help") || stop >= args.size()) {
        usage(cmds);
        return g->flag("help") ? 0 : 1;
    }
    Ctx ctx;
    // runc takes a relative --root; liblxc needs an absolute lxcpath: resolve it against the cwd now.
    auto root = absolute_path(g->get("root", "/run/proxmox-lxcri"), "--root");
    if (!root) return fail_exit(root.error().message(), log_to_file);
    ctx.root = *root;
    ctx.systemd_cgroup = g->flag("systemd-cgroup");
    ctx.strict = g->flag("strict");
    ctx.image.store = absolute(g->get("image-root"));
    ctx.image.json_log = lc.json;
    return dispatch(cmds, args, stop, ctx, log_to_file);
}

} // namespace

// No exception crosses this line: one that escapes a verb (an allocation failure, a library's throw) becomes
// an error record and exit status 1, like every other failure.
int lxcri::cli::main(int argc, char** argv, const ImageVerbs& image) {
    g_image = &image;
    std::signal(SIGPIPE, [](int) {}); // EPIPE instead of death; a handler, unlike SIG_IGN, is reset by exec
    try {
        return run_main(argc, argv);
    } catch (const std::exception& e) {
        return fail_exit(std::string("internal error: ") + e.what(), g_log_to_file);
    } catch (...) {
        return fail_exit("internal error: unknown exception", g_log_to_file);
    }
}
