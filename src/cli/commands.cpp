// proxmox-lxcri: a runc-compatible command line. A thin table of verbs; all work happens in runtime/.
#include "cli/commands.hpp"

#include "base/duration.hpp"
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

// argv[0] as given: runc's argument-count errors begin with it (os.Args[0]).
std::string g_argv0 = "proxmox-lxcri";

// What every verb gets: the global options (a runtime::Global, so verbs take it as one) and the image store.
struct Ctx : runtime::Global {
    runtime::ImageContext image;
};

// One verb (or a command group). The help texts follow urfave/cli v1's fields, so that help pages have runc's
// layout: usage is the one line of the COMMANDS list and of the page's NAME, args_usage what follows
// "[command options]" on its USAGE line, description its DESCRIPTION.
struct Command {
    const char* name;
    std::string usage; // "": hidden (internal verbs)
    std::string args_usage;
    std::string description;
    std::vector<cli::FlagSpec> flags;
    size_t min_args, max_args; // positional arguments (SIZE_MAX: unlimited)
    std::function<Result<int>(const Ctx&, const cli::Parsed&)> run;
    const char* alias = nullptr;
    std::vector<Command> sub = {}; // a command group (`image pull`): run is unused
    size_t max_args_image = 0;     // with --image (create/run: ID -- ARGS...); 0: max_args
    bool skip_reorder = false;     // exec, ps: everything after the container id is the process's (urfave's
                                   // SkipArgReorder); other verbs take their flags after the id too
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
    {{"bundle", "b"}, true, "path to the root of the bundle directory, defaults to the current directory"},
    {{"console-socket"},
     true,
     "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the "
     "console's pseudoterminal"},
    {{"pid-file"}, true, "specify the file to write the process id to"},
    {{"no-pivot"},
     false,
     "do not use pivot root to jail process inside rootfs. This should be used whenever the rootfs is on top "
     "of a ramdisk"},
    {{"no-new-keyring"},
     false,
     "do not create a new session keyring for the container. This will cause the container to inherit the "
     "calling processes session key"},
    {{"preserve-fds"},
     true,
     "Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total) (default: 0)"},
    {{"strict"}, false, "unsupported config.json fields are errors, not warnings"},
};

std::vector<cli::FlagSpec> with(std::vector<cli::FlagSpec> a, const std::vector<cli::FlagSpec>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// runc's checkArgs: "ARGV0: "NAME" requires exactly|a minimum of|a maximum of N argument(s)".
std::string arity_message(const std::string& name, size_t n, size_t min_args, size_t max_args) {
    std::string want = min_args == max_args ? "exactly " + std::to_string(min_args)
                       : n < min_args       ? "a minimum of " + std::to_string(min_args)
                                            : "a maximum of " + std::to_string(max_args);
    return g_argv0 + ": \"" + name + "\" requires " + want + " argument(s)";
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
    {{"image"}, true, "make the bundle from this OCI image of the image store (a reference or an image id)"},
    {{"name"}, true, "with --image: the container's hostname (default: the container id)"},
    {{"memory"}, true, "with --image: memory limit in MiB"},
    {{"cores"}, true, "with --image: number of CPUs (a CFS quota)"},
    {{"storage-root"}, true, "with --image: where the storage driver keeps the container's rootfs"},
    {{"storage-driver"},
     true,
     "with --image: btrfs, dir, overlay or zfs (default: $LXCRI_STORAGE_DRIVER, else by the filesystem under "
     "the "
     "storage root: btrfs, zfs at a dataset's mountpoint, else overlay where the kernel has it)"},
    {{"storage-opt"},
     true,
     "with --image: size=N[kmgt] (quota) or reservation=N[kmgt], where the driver has them (repeatable)"},
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
    io.storage_opts = p.all("storage-opt");
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
    for (const char* only_bundle :
         {"rootless", "memory", "cores", "storage-root", "storage-driver", "storage-opt"})
        if (p.has(only_bundle))
            return fail(std::string("--") + only_bundle + " cannot be used with spec --image");
    runtime::ImageCreateOpts io;
    io.ref = p.get("image");
    if (io.ref.empty()) return fail("--image needs an image reference");
    io.name = p.get("name");
    return done(g_image->spec(g.image, io, p.get("bundle", ".")));
}

// The error line (runc's --log record) and, when the log goes to a file, stderr. The message may quote user
// input: bytes that are not UTF-8 are escaped so the JSON line stays valid.
bool g_log_to_file = false; // set once the log is configured
int fail_exit(const std::string& raw, bool to_stderr_too = g_log_to_file) {
    const std::string msg = utf8_escaped(raw);
    log::error(msg);
    if (to_stderr_too) std::fprintf(stderr, "proxmox-lxcri: %s\n", msg.c_str());
    return 1;
}

// `base register|list|rm`.
std::vector<Command> base_commands() {
    auto opts = [](const cli::Parsed& p, runtime::StorageVerbOpts::Verb v) {
        runtime::StorageVerbOpts o;
        o.verb = v;
        o.storage.storage_root = absolute(p.get("storage-root"));
        return o;
    };
    const cli::FlagSpec root_flag{{"storage-root"}, true, "where the storage driver keeps the base"};
    return {
        {.name = "register",
         .usage = "keep a container's rootfs (--from) or an image's (--image) as a base to clone from",
         .args_usage = "--from <container-id> | --image <reference> <name>",
         .description = "",
         .flags = {{{"from"}, true, "the container (made with --image) whose rootfs becomes the base"},
                   {{"image"}, true, "the stored image whose rootfs becomes the base"},
                   {{"storage-driver"},
                    true,
                    "with --image: btrfs, dir, overlay or zfs (default: as create)"},
                   root_flag},
         .min_args = 1,
         .max_args = 1,
         .run = [opts](auto& g, auto& p) -> Result<int> {
             auto o = opts(p, runtime::StorageVerbOpts::Verb::BaseRegister);
             o.name = p.positional[0];
             o.from = p.get("from");
             o.image = p.get("image");
             o.storage.driver = p.get("storage-driver");
             return g_image->storage(g, g.image, o);
         }},
        {.name = "list",
         .usage = "list the bases and their clones",
         .args_usage = "",
         .description = "",
         .flags = {{{"format", "f"}, true, "select one of: table or json (default: \"table\")"}, root_flag},
         .min_args = 0,
         .max_args = 0,
         .run = [opts](auto& g, auto& p) -> Result<int> {
             auto o = opts(p, runtime::StorageVerbOpts::Verb::BaseList);
             o.format = p.get("format", "table");
             return g_image->storage(g, g.image, o);
         },
         .alias = "ls"},
        {.name = "rm",
         .usage = "remove a base (refused while it has clones, unless --force)",
         .args_usage = "<name>",
         .description = "",
         .flags = {{{"force", "f"}, false, "remove the base even if it has clones (they keep working)"},
                   root_flag},
         .min_args = 1,
         .max_args = 1,
         .run = [opts](auto& g, auto& p) -> Result<int> {
             auto o = opts(p, runtime::StorageVerbOpts::Verb::BaseRm);
             o.name = p.positional[0];
             o.force = p.flag("force");
             return g_image->storage(g, g.image, o);
         }},
    };
}

std::vector<Command> image_commands() {
    return {
        {.name = "pull",
         .usage = "download an image into the image store",
         .args_usage = "<reference>",
         .description = "Pulls the image (a reference such as busybox, docker.io/library/busybox:latest or\n"
                        "host:5000/name@sha256:...) from its registry, verifies every blob and stores it;\n"
                        "prints the manifest digest.",
         .flags = {{{"tls-verify"},
                    false,
                    "verify the registry's TLS certificate (--tls-verify=false: do not)"},
                   {{"insecure"}, false, "the same as --tls-verify=false, and plain HTTP is allowed"},
                   {{"authfile"}, true, "credentials file (containers-auth.json format)"},
                   {{"platform"},
                    true,
                    "OS/ARCH[/VARIANT] to pull from a multi-platform image (default: the host's)"},
                   {{"jobs", "j"}, true, "blobs downloaded at once (default: 4)"},
                   {{"quiet", "q"}, false, "no progress, print only the manifest digest"}},
         .min_args = 1,
         .max_args = 1,
         .run = [](auto& g, auto& p) -> Result<int> {
             runtime::ImagePullOpts o;
             o.ref = p.positional[0];
             o.insecure = p.flag("insecure") || !TRY(bool_value(p, "tls-verify", true));
             o.auth_file = absolute(p.get("authfile"));
             o.platform = p.get("platform");
             o.jobs = TRY(parse_int(p.get("jobs", "4"), "jobs"));
             o.quiet = p.flag("quiet");
             return done(g_image->pull(g.image, o));
         }},
        {.name = "list",
         .usage = "list the images of the image store",
         .args_usage = "",
         .description = "",
         .flags = {{{"format", "f"}, true, "select one of: table or json (default: \"table\")"},
                   {{"quiet", "q"}, false, "display only image names"}},
         .min_args = 0,
         .max_args = 0,
         .run =
             [](auto& g, auto& p) {
                 return done(g_image->list(g.image, p.get("format", "table"), p.flag("quiet")));
             },
         .alias = "ls"},
        {.name = "inspect",
         .usage = "show stored images as JSON",
         .args_usage = "<reference>...",
         .description = "",
         .flags = {},
         .min_args = 1,
         .max_args = SIZE_MAX,
         .run = [](auto& g, auto& p) { return done(g_image->inspect(g.image, p.positional)); }},
        {.name = "rm",
         .usage = "remove images from the image store",
         .args_usage = "<reference>...",
         .description = "",
         .flags = {},
         .min_args = 1,
         .max_args = SIZE_MAX,
         .run = [](auto& g, auto& p) { return done(g_image->rm(g.image, p.positional)); },
         .alias = "rmi"},
        {.name = "gc",
         .usage = "remove the blobs and layers no stored image or container uses",
         .args_usage = "",
         .description = "",
         .flags = {},
         .min_args = 0,
         .max_args = 0,
         .run = [](auto& g, auto&) { return done(g_image->gc(g.image)); }},
        {.name = "import",
         .usage = "store the images of an OCI layout directory, an oci-archive or a docker-archive",
         .args_usage = "<oci-layout-dir|oci-archive|docker-archive> [name]",
         .description = "",
         .flags = {},
         .min_args = 1,
         .max_args = 2,
         .run =
             [](auto& g, auto& p) {
                 return done(g_image->import_archive(g.image, p.positional[0],
                                                     p.positional.size() > 1 ? p.positional[1] : ""));
             }},
        {.name = "export",
         .usage = "write a stored image as an oci-archive",
         .args_usage = "<reference> <file>",
         .description = "",
         .flags = {},
         .min_args = 2,
         .max_args = 2,
         .run =
             [](auto& g, auto& p) {
                 return done(g_image->export_archive(g.image, p.positional[0], p.positional[1]));
             }},
    };
}

const std::string kCreateArgs = R"(<container-id>

Where "<container-id>" is your name for the instance of the container that you
are starting. The name you provide for the container instance must be unique on
your host.)";

// DESCRIPTION of create and run: runc's words, then the --image variant.
std::string create_description(const char* verb) {
    return std::string("The ") + verb +
           R"( command creates an instance of a container for a bundle. The bundle
is a directory with a specification file named "config.json" and a root
filesystem.

The specification file includes an args parameter. The args parameter is used
to specify command(s) that get run when the container is started. To change the
command(s) that get executed on start, edit the args parameter of the spec. See
"proxmox-lxcri spec --help" for more explanation.

With --image REF the bundle is made from an image of the image store (see
"proxmox-lxcri image --help"): its rootfs by a storage driver, its config.json
from the image's configuration; arguments after "--" replace the image's command:

    # proxmox-lxcri )" +
           verb + R"( --image busybox <container-id> -- echo hello)";
}

const std::string kUpdateResources =
    R"(path to the file containing the resources to update or '-' to read from the standard input

The accepted format is as follow (unchanged values can be omitted):

{
  "memory": {
    "limit": 0,
    "reservation": 0,
    "swap": 0
  },
  "cpu": {
    "shares": 0,
    "quota": 0,
    "period": 0,
    "realtimeRuntime": 0,
    "realtimePeriod": 0,
    "cpus": "",
    "mems": ""
  },
  "blockIO": {
    "weight": 0
  }
}

Note: options given on the command line override the values read from the file.)";

Result<int> exec_cmd(const Ctx& g, const cli::Parsed& p) {
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
    o.ignore_paused = p.flag("ignore-paused");
    o.cgroups = p.all("cgroup");
    auto r = runtime::exec(g, o);
    if (r) return *r;
    // runc: a failure of the runtime itself (not of the process) is "exec failed: ..." and exit status 255,
    // which no process exit status can be mistaken for.
    fail_exit("exec failed: " + r.error().message());
    return 255;
}

Result<int> update_cmd(const Ctx& g, const cli::Parsed& p) {
    runtime::UpdateOpts o;
    o.id = p.positional[0];
    o.resources_file = p.get("resources");
    for (const char* unsupported : {"l3-cache-schema", "mem-bw-schema"})
        if (p.has(unsupported)) return fail(std::string("--") + unsupported + " is not supported");
    // runc 1.1.5 takes either --resources or the flags: with a resources file the flags are not read at all.
    if (!o.resources_file.empty()) return done(runtime::update(g, o));
    o.memory = TRY(opt_bytes(p, "memory"));
    o.memory_reservation = TRY(opt_bytes(p, "memory-reservation"));
    o.memory_swap = TRY(opt_bytes(p, "memory-swap"));
    o.pids_limit = TRY(opt_num<int64_t>(p, "pids-limit"));
    o.cpu_quota = TRY(opt_num<int64_t>(p, "cpu-quota"));
    o.cpu_period = TRY(opt_num<uint64_t>(p, "cpu-period"));
    o.cpu_shares = TRY(opt_num<uint64_t>(p, "cpu-share"));
    o.cpu_rt_period = TRY(opt_num<uint64_t>(p, "cpu-rt-period"));
    o.cpu_rt_runtime = TRY(opt_num<int64_t>(p, "cpu-rt-runtime"));
    o.blkio_weight = TRY(opt_num<uint64_t>(p, "blkio-weight"));
    o.cpuset_cpus = p.get("cpuset-cpus");
    o.cpuset_mems = p.get("cpuset-mems");
    for (const char* unsupported : {"kernel-memory", "kernel-memory-tcp"})
        if (p.has(unsupported)) return fail(std::string("--") + unsupported + " is not supported");
    return done(runtime::update(g, o));
}

// runc's checkpoint/restore flags both verbs take.
const std::vector<cli::FlagSpec> kCriuFlags = {
    {{"image-path"}, true, "path for saving criu image files"},
    {{"work-path"}, true, "path for saving work files and logs"},
    {{"tcp-established"}, false, "allow open tcp connections"},
    {{"ext-unix-sk"}, false, "allow external unix sockets"},
    {{"shell-job"}, false, "allow shell jobs"},
    {{"file-locks"}, false, "handle file locks, for safety"},
    {{"manage-cgroups-mode"}, true, "cgroups mode: 'soft' (default), 'full' and 'strict'"},
    {{"empty-ns"}, true, "create a namespace, but don't restore its properties"},
    {{"auto-dedup"}, false, "enable auto deduplication of memory images"},
    {{"lazy-pages"}, false, "use userfaultfd to lazily restore memory pages"},
};

Result<runtime::CriuFlags> criu_flags(const cli::Parsed& p, const char* verb) {
    runtime::CriuFlags f;
    f.image_path = p.get("image-path");
    f.work_path = p.get("work-path");
    f.tcp_established = p.flag("tcp-established");
    f.ext_unix_sk = p.flag("ext-unix-sk");
    f.shell_job = p.flag("shell-job");
    f.file_locks = p.flag("file-locks");
    f.manage_cgroups_mode = p.get("manage-cgroups-mode");
    for (const char* unsupported :
         {"empty-ns", "auto-dedup", "lazy-pages", "pre-dump", "parent-path", "page-server", "status-fd"})
        if (p.has(unsupported) && (p.get(unsupported) != "false"))
            return fail(std::string(verb) + ": --" + unsupported + " is not supported");
    return f;
}

std::vector<cli::FlagSpec> with_criu_flags(std::vector<cli::FlagSpec> own) {
    own.insert(own.begin(), kCriuFlags.begin(), kCriuFlags.end());
    return own;
}

Result<int> checkpoint_cmd(const Ctx& g, const cli::Parsed& p) {
    runtime::CheckpointOpts o;
    o.id = p.positional[0];
    o.criu = TRY(criu_flags(p, "checkpoint"));
    o.leave_running = p.flag("leave-running");
    o.list = p.flag("list");
    o.rm = p.get("rm");
    if (o.list && !o.rm.empty()) return fail("checkpoint: --list and --rm exclude each other");
    return done(runtime::checkpoint(g, o));
}

Result<int> restore_cmd(const Ctx& g, const cli::Parsed& p) {
    runtime::RestoreOpts o;
    o.id = p.positional[0];
    o.criu = TRY(criu_flags(p, "restore"));
    o.bundle = TRY(absolute_path(p.get("bundle", "."), "bundle"));
    o.pid_file = p.get("pid-file");
    o.console_socket = p.get("console-socket");
    o.snapshot = p.get("snapshot");
    o.detach = p.flag("detach");
    o.no_subreaper = p.flag("no-subreaper");
    if (!o.snapshot.empty() && !o.criu.image_path.empty())
        return fail(
            "restore: --snapshot names a checkpoint of the container itself; it excludes --image-path");
    return runtime::restore(g, o);
}

std::vector<Command> commands() {
    return {
        {.name = "checkpoint",
         .usage = "checkpoint a running container",
         .args_usage = R"(<container-id>

Where "<container-id>" is the name for the instance of the container to be
checkpointed.)",
         .description =
             R"(The checkpoint command saves the state of the container instance. With --image-path the CRIU
images go there and the container is gone afterwards unless --leave-running, as with runc. Without it the
checkpoint "checkpoint-<unix-time>" is kept with the container (restore ID restores the latest one,
restore --snapshot NAME ID a given one); --list prints them, --rm NAME removes one. On the proxmox backend
a checkpoint is a PVE snapshot of the CT's volumes: no process state (PVE has no CRIU for CTs), no CRIU flag.)",
         .flags =
             with_criu_flags({{{"leave-running"}, false, "leave the process running after checkpointing"},
                              {{"pre-dump"}, false, "dump container's memory information only"},
                              {{"parent-path"}, true, "path for previous criu image files in pre-dump"},
                              {{"page-server"}, true, "ADDRESS:PORT of the page server"},
                              {{"status-fd"}, true, "criu writes \\0 to this FD once lazy-pages is ready"},
                              {{"list"}, false, "list the container's checkpoints (oldest first)"},
                              {{"rm"}, true, "remove the container's checkpoint NAME"}}),
         .min_args = 1,
         .max_args = 1,
         .run = checkpoint_cmd},
        {.name = "create",
         .usage = "create a container",
         .args_usage = kCreateArgs,
         .description = create_description("create"),
         .flags = with(kCreateFlags, kImageFlags),
         .min_args = 1,
         .max_args = 1,
         .run = create_cmd,
         .max_args_image = SIZE_MAX},
        {.name = "delete",
         .usage = "delete any resources held by the container often used with detached container",
         .args_usage = R"(<container-id>

Where "<container-id>" is the name for the instance of the container.

EXAMPLE:
For example, if the container id is "ubuntu01" and proxmox-lxcri list currently shows the
status of "ubuntu01" as "stopped" the following will delete resources held for
"ubuntu01" removing "ubuntu01" from the proxmox-lxcri list of containers:

       # proxmox-lxcri delete ubuntu01)",
         .description = "",
         .flags = {{{"force", "f"},
                    false,
                    "Forcibly deletes the container if it is still running (uses SIGKILL)"}},
         .min_args = 1,
         .max_args = 1,
         .run = [](auto& g, auto& p) { return done(runtime::remove(g, p.positional[0], p.flag("force"))); }},
        {.name = "events",
         .usage = "display container events such as OOM notifications, cpu, memory, and IO usage statistics",
         .args_usage = R"(<container-id>

Where "<container-id>" is the name for the instance of the container.)",
         .description = R"(The events command displays information about the container. By default the
information is displayed once every 5 seconds.)",
         .flags = {{{"interval"}, true, "set the stats collection interval (default: 5s)"},
                   {{"stats"}, false, "display the container's stats then exit"}},
         .min_args = 1,
         .max_args = 1,
         .run = [](auto& g, auto& p) -> Result<int> {
             // A Go duration, as runc's DurationFlag takes it ("100ms", "1.5s", "2m").
             std::string iv = p.get("interval", "5s");
             auto d = parse_duration(iv);
             if (!d)
                 return fail(ErrorKind::Invalid,
                             "invalid value \"" + iv + "\" for flag -interval: " + d.error().message());
             // 0 and negative ones are refused by events once it has found the container (runc's order).
             auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
             if (d->count() > 0) ms = std::max(ms, std::chrono::milliseconds(1));
             return done(runtime::events(g, p.positional[0], p.flag("stats"), ms));
         }},
        {.name = "exec",
         .usage = "execute new process inside the container",
         .args_usage = R"(<container-id> <command> [command options]  || -p process.json <container-id>

Where "<container-id>" is the name for the instance of the container and
"<command>" is the command to be executed in the container.
"<command>" can't be empty unless a "-p" flag provided.

EXAMPLE:
For example, if the container is configured to run the linux ps command the
following will output a list of processes running in the container:

       # proxmox-lxcri exec <container-id> ps)",
         .description = "",
         .flags =
             {{{"console-socket"},
               true,
               "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of "
               "the console's pseudoterminal"},
              {{"cwd"}, true, "current working directory in the container"},
              {{"env", "e"}, true, "set environment variables"},
              {{"tty", "t"}, false, "allocate a pseudo-TTY"},
              {{"user", "u"}, true, "UID (format: <uid>[:<gid>])"},
              {{"additional-gids", "g"}, true, "additional gids"},
              {{"process", "p"}, true, "path to the process.json"},
              {{"detach", "d"}, false, "detach from the container's process"},
              {{"pid-file"}, true, "specify the file to write the process id to"},
              {{"process-label"},
               true,
               "set the asm process label for the process commonly used with selinux"},
              {{"apparmor"}, true, "set the apparmor profile for the process"},
              {{"no-new-privs"}, false, "set the no new privileges value for the process"},
              {{"cap", "c"}, true, "add a capability to the bounding set for the process"},
              {{"preserve-fds"},
               true,
               "Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total) "
               "(default: 0)"},
              {{"cgroup"},
               true,
               "run the process in an (existing) sub-cgroup(s). Format is [<controller>:]<cgroup>."},
              {{"ignore-paused"}, false, "allow exec in a paused container"}},
         .min_args = 1,
         .max_args = SIZE_MAX,
         .run = exec_cmd,
         .skip_reorder = true},
        {.name = "kill",
         .usage = "kill sends the specified signal (default: SIGTERM) to the container's init process",
         .args_usage = R"(<container-id> [signal]

Where "<container-id>" is the name for the instance of the container and
"[signal]" is the signal to be sent to the init process.

EXAMPLE:
For example, if the container id is "ubuntu01" the following will send a "KILL"
signal to the init process of the "ubuntu01" container:

       # proxmox-lxcri kill ubuntu01 KILL)",
         .description = "",
         .flags = {{{"all", "a"}, false, "send the specified signal to all processes inside the container"}},
         .min_args = 1,
         .max_args = 2,
         .run =
             [](auto& g, auto& p) {
                 // runc: an empty signal is the default one.
                 std::string sig =
                     p.positional.size() > 1 && !p.positional[1].empty() ? p.positional[1] : "SIGTERM";
                 return done(runtime::kill(g, p.positional[0], sig, p.flag("all")));
             }},
        {.name = "list",
         .usage = "lists containers started by proxmox-lxcri with the given root",
         .args_usage = R"(

Where the given root is specified via the global option "--root"
(default: "/run/proxmox-lxcri").

EXAMPLE 1:
To list containers created via the default "--root":
       # proxmox-lxcri list

EXAMPLE 2:
To list containers created using a non-default value for "--root":
       # proxmox-lxcri --root value list)",
         .description = "",
         .flags = {{{"format", "f"}, true, "select one of: table or json (default: \"table\")"},
                   {{"quiet", "q"}, false, "display only container IDs"}},
         .min_args = 0,
         .max_args = 0,
         .run = [](auto& g,
                   auto& p) { return done(runtime::list(g, p.get("format", "table"), p.flag("quiet"))); }},
        {.name = "pause",
         .usage = "pause suspends all processes inside the container",
         .args_usage = R"(<container-id>

Where "<container-id>" is the name for the instance of the container to be
paused. )",
         .description = R"(The pause command suspends all processes in the instance of the container.

Use proxmox-lxcri list to identify instances of containers and their current status.)",
         .flags = {},
         .min_args = 1,
         .max_args = 1,
         .run = [](auto& g, auto& p) { return done(runtime::pause(g, p.positional[0])); }},
        {.name = "ps",
         .usage = "ps displays the processes running inside a container",
         .args_usage = "<container-id> [ps options]",
         .description = "",
         .flags = {{{"format", "f"}, true, "select one of: table or json (default: \"table\")"}},
         .min_args = 1,
         .max_args = SIZE_MAX,
         .run =
             [](auto& g, auto& p) {
                 std::vector<std::string> rest(p.positional.begin() + 1, p.positional.end());
                 return done(runtime::ps(g, p.positional[0], p.get("format", "table"), rest));
             },
         .skip_reorder = true},
        {.name = "restore",
         .usage = "restore a container from a previous checkpoint",
         .args_usage = R"(<container-id>

Where "<container-id>" is the name for the instance of the container to be
restored.)",
         .description = R"(Restores the saved state of the container instance that was previously saved
using the proxmox-lxcri checkpoint command. With --image-path a new container <container-id> is made from
those images and the bundle's config, as with runc. Without it the container's own checkpoint (the latest,
or --snapshot NAME) replaces its processes.)",
         .flags = with_criu_flags(
             {{{"console-socket"},
               true,
               "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of "
               "the console's pseudoterminal"},
              {{"bundle", "b"}, true, "path to the root of the bundle directory"},
              {{"detach", "d"}, false, "detach from the container's process"},
              {{"pid-file"}, true, "specify the file to write the process id to"},
              {{"no-subreaper"}, false, "disable the use of the subreaper used to reap reparented processes"},
              {{"no-pivot"}, false, "do not use pivot root to jail process inside rootfs"},
              {{"lsm-profile"}, true, "Specify an LSM profile to be used during restore"},
              {{"lsm-mount-context"}, true, "Specify an LSM mount context to be used during restore"},
              {{"snapshot"}, true, "the container's own checkpoint to restore (default: the latest)"}}),
         .min_args = 1,
         .max_args = 1,
         .run = restore_cmd},
        {.name = "resume",
         .usage = "resumes all processes that have been previously paused",
         .args_usage = R"(<container-id>

Where "<container-id>" is the name for the instance of the container to be
resumed.)",
         .description = R"(The resume command resumes all processes in the instance of the container.

Use proxmox-lxcri list to identify instances of containers and their current status.)",
         .flags = {},
         .min_args = 1,
         .max_args = 1,
         .run = [](auto& g, auto& p) { return done(runtime::resume(g, p.positional[0])); }},
        {.name = "run",
         .usage = "create and run a container",
         .args_usage = kCreateArgs,
         .description = create_description("run"),
         .flags = with(
             {kCreateFlags[0],
              kCreateFlags[1],
              {{"detach", "d"}, false, "detach from the container's process"},
              {{"keep"}, false, "do not delete the container after it exits"},
              kCreateFlags[2],
              {{"no-subreaper"}, false, "disable the use of the subreaper used to reap reparented processes"},
              kCreateFlags[3],
              kCreateFlags[4],
              kCreateFlags[5],
              kCreateFlags[6]},
             kImageFlags),
         .min_args = 1,
         .max_args = 1,
         .run = run_cmd,
         .max_args_image = SIZE_MAX},
        {.name = "spec",
         .usage = "create a new specification file",
         .args_usage = "",
         .description = R"(The spec command creates the new specification file named "config.json" for
the bundle.

The spec generated is just a starter file. Editing of the spec is required to
achieve desired results. For example, the newly generated spec includes an args
parameter that is initially set to call the "sh" command when the container is
started. Calling "sh" may work for an ubuntu container or busybox, but will not
work for containers that do not include the "sh" program.

The file is byte for byte the one "runc spec" writes. With --image REF, the
bundle (config.json and rootfs) is made from an image of the image store:

    # proxmox-lxcri spec --image busybox --bundle /tmp/bb

When starting a container through proxmox-lxcri, it needs root privilege. If not
already running as root, you can use sudo to give it root privilege.

Alternatively, you can start a rootless container, which has the ability to run
without root privileges. For this to work, the specification file needs to be
adjusted accordingly. You can pass the parameter --rootless to this command to
generate a proper rootless spec file.
)",
         .flags = with({{{"bundle", "b"}, true, "path to the root of the bundle directory"},
                        {{"rootless"}, false, "generate a configuration for a rootless container"}},
                       kImageFlags),
         .min_args = 0,
         .max_args = 0,
         .run = spec_cmd},
        {.name = "start",
         .usage = "executes the user defined process in a created container",
         .args_usage = kCreateArgs,
         .description = "The start command executes the user defined process in a created container.",
         .flags = {},
         .min_args = 1,
         .max_args = 1,
         .run = [](auto& g, auto& p) { return done(runtime::start(g, p.positional[0])); }},
        {.name = "state",
         .usage = "output the state of a container",
         .args_usage = R"(<container-id>

Where "<container-id>" is your name for the instance of the container.)",
         .description = R"(The state command outputs current state information for the
instance of a container.)",
         .flags = {},
         .min_args = 1,
         .max_args = 1,
         .run = [](auto& g, auto& p) { return done(runtime::state(g, p.positional[0])); }},
        {.name = "update",
         .usage = "update container resource constraints",
         .args_usage = "<container-id>",
         .description = "",
         .flags =
             {{{"resources", "r"}, true, kUpdateResources},
              {{"blkio-weight"}, true, "Specifies per cgroup weight, range is from 10 to 1000 (default: 0)"},
              {{"cpu-period"},
               true,
               "CPU CFS period to be used for hardcapping (in usecs). 0 to use system default"},
              {{"cpu-quota"}, true, "CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period"},
              {{"cpu-share"}, true, "CPU shares (relative weight vs. other containers)"},
              {{"cpu-rt-period"},
               true,
               "CPU realtime period to be used for hardcapping (in usecs). 0 to use system default"},
              {{"cpu-rt-runtime"},
               true,
               "CPU realtime hardcap limit (in usecs). Allowed cpu time in a given period"},
              {{"cpuset-cpus"}, true, "CPU(s) to use"},
              {{"cpuset-mems"}, true, "Memory node(s) to use"},
              {{"memory"}, true, "Memory limit (in bytes)"},
              {{"memory-reservation"}, true, "Memory reservation or soft_limit (in bytes)"},
              {{"memory-swap"},
               true,
               "Total memory usage (memory + swap); set '-1' to enable unlimited swap"},
              {{"pids-limit"}, true, "Maximum number of pids allowed in the container (default: 0)"},
              {{"kernel-memory"}, true, "not supported (kernel memory limits are deprecated)"},
              {{"kernel-memory-tcp"}, true, "not supported (kernel memory limits are deprecated)"},
              {{"l3-cache-schema"}, true, "not supported (Intel RDT)"},
              {{"mem-bw-schema"}, true, "not supported (Intel RDT)"}},
         .min_args = 1,
         .max_args = 1,
         .run = update_cmd},
        {.name = "features",
         .usage = "show the enabled features",
         .args_usage = "",
         .description = R"(Show the enabled features.
   The result is parsable as a JSON.
   The types are those of runc's features document (opencontainers/runtime-spec features.md).
)",
         .flags = {},
         .min_args = 0,
         .max_args = 0,
         .run = [](auto&, auto&) { return done(runtime::features()); }},
        {.name = "info",
         .usage = "show the host as the backends see it (JSON)",
         .args_usage = "",
         .description = "",
         .flags = {},
         .min_args = 0,
         .max_args = 0,
         .run = [](auto& g, auto&) { return done(runtime::info(g)); }},
        {.name = "image",
         .usage = "manage the OCI images containers are made from",
         .args_usage = "",
         .description = "",
         .flags = {},
         .min_args = 0,
         .max_args = 0,
         .run = nullptr,
         .sub = image_commands()},
        {.name = "base",
         .usage = "manage template bases (a rootfs kept by a storage driver that containers are cloned from)",
         .args_usage = "",
         .description = "",
         .flags = {},
         .min_args = 0,
         .max_args = 0,
         .run = nullptr,
         .sub = base_commands()},
        {.name = "clone",
         .usage = "create a container whose rootfs is a clone of a base or of another container's",
         .args_usage = "[--base NAME | <source-id>] <container-id> [-- <command> [args...]]",
         .description =
             "The clone is linked (copy-on-write: zfs, btrfs) where the storage driver can, a full\n"
             "copy otherwise (overlay: the upper dir, dir: the rootfs); the output says which.\n"
             "The clone's config is its source's; --name, --memory, --cores, --env and a command after\n"
             "\"--\" change it (as create --image takes them; the command replaces process.args).",
         .flags = {{{"base"}, true, "clone this base (base register)"},
                   {{"storage-root"}, true, "where the base is kept (default: the storage root)"},
                   {{"pid-file"}, true, "specify the file to write the process id to"},
                   {{"console-socket"}, true, "path to an AF_UNIX socket which will receive the pty master"},
                   {{"name"}, true, "the clone's hostname (default: its source's)"},
                   {{"memory"}, true, "the clone's memory limit in MiB"},
                   {{"cores"}, true, "the clone's number of CPUs (a CFS quota)"},
                   {{"env", "e"},
                    true,
                    "set an environment variable of the clone's process (KEY=VALUE, repeatable)"}},
         .min_args = 1,
         .max_args = SIZE_MAX,
         .run = [](auto& g, auto& p) -> Result<int> {
             runtime::StorageVerbOpts o;
             o.verb = runtime::StorageVerbOpts::Verb::Clone;
             o.name = p.get("base");
             const size_t id_at = o.name.empty() ? 1 : 0;
             if (p.positional.size() <= id_at) return fail("clone needs --base NAME ID or SOURCE_ID ID");
             o.source = o.name.empty() ? p.positional[0] : "";
             o.create.id = p.positional[id_at];
             o.create.pid_file = absolute(p.get("pid-file"));
             o.create.console_socket = absolute(p.get("console-socket"));
             o.storage.storage_root = absolute(p.get("storage-root"));
             // The bundle options, parsed as create --image parses them.
             o.storage.name = p.get("name");
             if (p.has("name") && o.storage.name.empty()) return fail("--name needs a hostname");
             o.storage.memory_mib = TRY(opt_positive<uint64_t>(p, "memory"));
             o.storage.cores = TRY(opt_positive<uint32_t>(p, "cores"));
             o.storage.args.assign(p.positional.begin() + static_cast<std::ptrdiff_t>(id_at) + 1,
                                   p.positional.end());
             o.env = p.all("env");
             for (auto& e : o.env)
                 if (e.find('=') == std::string::npos || e.front() == '=')
                     return fail("invalid value \"" + e + "\" for flag -env: want KEY=VALUE");
             return g_image->storage(g, g.image, o);
         }},
        {.name = "__release-storage",
         .usage = "",
         .args_usage = "",
         .description = "",
         .flags = {},
         .min_args = 3,
         .max_args = 3,
         .run =
             [](auto&, auto& p) {
                 return done(g_image->release_storage({p.positional[0], p.positional[1], p.positional[2]}));
             }},
        {.name = "__storage-snapshot",
         .usage = "",
         .args_usage = "",
         .description = "",
         .flags = {},
         .min_args = 5,
         .max_args = 5,
         .run = [](auto&, auto& p) -> Result<int> {
             auto r = g_image->storage_snapshot({p.positional[1], p.positional[2], p.positional[3]},
                                                p.positional[0], p.positional[4]);
             if (!r && r.error().kind() == ErrorKind::Unsupported) {
                 std::fprintf(stderr, "%s\n", r.error().message().c_str());
                 return runtime::kStorageUnsupportedExit;
             }
             return done(r);
         }},
    };
}

// ---- help, as urfave/cli v1 prints it ----

// text/tabwriter with runc's settings (padding 2, spaces): in each run of lines holding a tab, the text
// before the tab is padded to the run's widest plus two.
std::string tabwrite(const std::string& text) {
    std::vector<std::string> lines;
    for (size_t pos = 0;;) {
        size_t nl = text.find('\n', pos);
        lines.push_back(text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos));
        if (nl == std::string::npos) break;
        pos = nl + 1;
    }
    auto width = [](std::string_view s) {
        size_t n = 0;
        for (unsigned char c : s)
            n += (c & 0xC0) != 0x80; // runes, not bytes
        return n;
    };
    std::string out;
    for (size_t i = 0; i < lines.size();) {
        if (lines[i].find('\t') == std::string::npos) {
            out += lines[i];
            if (++i < lines.size()) out += '\n';
            continue;
        }
        size_t end = i, cell = 0;
        while (end < lines.size() && lines[end].find('\t') != std::string::npos)
            cell = std::max(cell, width(std::string_view(lines[end]).substr(0, lines[end].find('\t')))),
            ++end;
        for (; i < end; ++i) {
            size_t tab = lines[i].find('\t');
            std::string_view head = std::string_view(lines[i]).substr(0, tab);
            out += head;
            out.append(cell + 2 - width(head), ' ');
            out += lines[i].substr(tab + 1);
            if (i + 1 < lines.size()) out += '\n';
        }
    }
    return out;
}

// "--bundle value, -b value\tpath to ..." (urfave's flag Stringer).
std::string flag_line(const cli::FlagSpec& f) {
    std::string names;
    for (const auto& n : f.names) {
        if (!names.empty()) names += ", ";
        names += (n.size() == 1 ? "-" : "--") + n;
        if (f.takes_value) names += " value";
    }
    return names + "\t" + f.usage;
}

std::string g_help_name = "proxmox-lxcri"; // the program's name as invoked (urfave's HelpName)

const std::vector<cli::FlagSpec> kGlobalFlags = {
    {{"debug"}, false, "enable debug logging"},
    {{"log"}, true, "set the log file to write proxmox-lxcri logs to (default is '/dev/stderr')"},
    {{"log-format"}, true, "set the log format ('text' (default), or 'json') (default: \"text\")"},
    {{"root"},
     true,
     "root directory for storage of container state (this should be located in tmpfs) (default: "
     "\"/run/proxmox-lxcri\")"},
    {{"criu"}, true, "path to the criu binary used for checkpoint and restore (default: \"criu\")"},
    {{"systemd-cgroup"},
     false,
     "enable systemd cgroup support, expects cgroupsPath to be of form \"slice:prefix:name\" for e.g. "
     "\"system.slice:runc:434234\""},
    {{"rootless"}, true, "ignore cgroup permission errors ('true', 'false', or 'auto') (default: \"auto\")"},
    {{"strict"}, false, "unsupported config.json fields are errors, not warnings"},
    {{"backend"},
     true,
     "the backend of new containers: 'lxc' or 'proxmox' (default: the annotation proxmox-lxcri.io/backend, "
     "the config file's \"backend\", else lxc)"},
    {{"image-root"},
     true,
     "the image store (default: $LXCRI_IMAGE_ROOT, else \"/var/lib/proxmox-lxcri/images\")"},
    {{"help", "h"}, false, "show help"},
    {{"version", "v"}, false, "print the version"},
};

const cli::FlagSpec kHelpFlag = {{"help", "h"}, false, "show help"};

std::string command_list(const std::vector<Command>& cmds) {
    std::string out;
    for (const auto& c : cmds) {
        if (c.usage.empty()) continue;
        out += "\n   " + std::string(c.name) + (c.alias ? std::string(", ") + c.alias : "") + "\t" + c.usage;
    }
    return out + "\n   help, h\tShows a list of commands or help for one command";
}

void print_help(const std::string& page) {
    std::fputs(tabwrite(page).c_str(), stdout);
}

void app_help(const std::vector<Command>& cmds) {
    std::string version = runtime::version_text();
    if (auto sp = version.find(" version "); sp != std::string::npos) version = version.substr(sp + 9);
    while (!version.empty() && version.back() == '\n')
        version.pop_back();
    std::string page = R"(NAME:
   proxmox-lxcri - Open Container Initiative runtime

proxmox-lxcri is a command line client for running applications packaged according to
the Open Container Initiative (OCI) format and is a compliant implementation of the
Open Container Initiative specification. It runs each container as an LXC
container, made through liblxc, and takes runc's command line: containerd, podman
and every other client of runc can drive it instead.

proxmox-lxcri integrates well with existing process supervisors to provide a production
container runtime environment for applications. It can be used with your
existing process monitoring tools and the container will be spawned as a
direct child of the process supervisor.

Containers are configured using bundles. A bundle for a container is a directory
that includes a specification file named "config.json" and a root filesystem.
The root filesystem contains the contents of the container.

To start a new instance of a container:

    # proxmox-lxcri run [ -b bundle ] <container-id>

Where "<container-id>" is your name for the instance of the container that you
are starting. The name you provide for the container instance must be unique on
your host. Providing the bundle directory using "-b" is optional. The default
value for "bundle" is the current directory.

USAGE:
   )" + g_help_name + R"( [global options] command [command options] [arguments...]

VERSION:
   )" + version +
                       "\n\nCOMMANDS:" + command_list(cmds) + "\n\nGLOBAL OPTIONS:";
    for (const auto& f : kGlobalFlags)
        page += "\n   " + flag_line(f);
    print_help(page + "\n");
}

// CommandHelpTemplate; prefix: "proxmox-lxcri" or "proxmox-lxcri image".
void command_help(const Command& c, const std::string& prefix) {
    std::string name = prefix + " " + c.name;
    if (!c.sub.empty()) { // SubcommandHelpTemplate (urfave adds "help" and --help to a group)
        std::string page = "NAME:\n   " + name + " - " + c.usage + "\n\nUSAGE:\n   " + name +
                           " command [command options] [arguments...]\n\nCOMMANDS:" + command_list(c.sub) +
                           "\n\nOPTIONS:\n   " + flag_line(kHelpFlag) + "\n   \n";
        print_help(page);
        return;
    }
    std::string page = "NAME:\n   " + name + " - " + c.usage + "\n\nUSAGE:\n   " + name;
    if (!c.flags.empty()) page += " [command options]";
    page += " " + (c.args_usage.empty() ? std::string("[arguments...]") : c.args_usage);
    if (!c.description.empty()) page += "\n\nDESCRIPTION:\n   " + c.description;
    if (!c.flags.empty()) {
        page += "\n\nOPTIONS:\n   ";
        for (const auto& f : c.flags)
            page += flag_line(f) + "\n   ";
    }
    print_help(page + "\n");
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

// urfave/cli: an unknown command or help topic exits 3.
int no_help_topic(const std::string& name) {
    fail_exit("No help topic for '" + name + "'\n"); // runc logs what urfave prints, its newline included
    return 3;
}

// `help [COMMAND]` and `COMMAND --help` at one level (the top or a group): prefix names that level.
int help_verb(const std::vector<Command>& cmds, const std::vector<std::string>& args, size_t at,
              const std::string& prefix, const Command* group) {
    if (at + 1 >= args.size()) {
        if (group)
            command_help(*group, prefix.substr(0, prefix.rfind(' ')));
        else
            app_help(cmds);
        return 0;
    }
    const Command* c = find_command(cmds, args[at + 1]);
    if (!c || c->usage.empty()) return no_help_topic(args[at + 1]);
    command_help(*c, prefix);
    return 0;
}

// Runs the command named by args[at] (descending into command groups); returns the exit code.
int dispatch(const std::vector<Command>& cmds, const std::vector<std::string>& args, size_t at, Ctx& ctx,
             const std::string& prefix, const Command* group = nullptr) {
    const std::string& name = args[at];
    if (name == "help" || name == "h") return help_verb(cmds, args, at, prefix, group);
    const Command* c = find_command(cmds, name);
    if (!c) return no_help_topic(name);
    if (!c->sub.empty()) {
        bool help = at + 1 < args.size() && (args[at + 1] == "--help" || args[at + 1] == "-h");
        if (at + 1 >= args.size() || help) {
            command_help(*c, prefix);
            return 0;
        }
        return dispatch(c->sub, args, at + 1, ctx, prefix + " " + c->name, c);
    }
    // urfave/cli gives every command --help/-h (not listed on its page).
    auto flags = c->flags;
    flags.push_back(kHelpFlag);
    auto reordered = c->skip_reorder ? args : cli::reorder(args, at + 1, flags);
    auto p = cli::parse(reordered, at + 1, flags, nullptr);
    if (!p) { // urfave/cli: "Incorrect Usage: ERR", a blank line and the command's help on stdout
        std::printf("Incorrect Usage: %s\n\n", p.error().message().c_str());
        command_help(*c, prefix);
        std::fflush(stdout);
        return fail_exit(p.error().message());
    }
    if (p->flag("help")) {
        command_help(*c, prefix);
        return 0;
    }
    if (auto u = check_utf8(*p); !u) return fail_exit(u.error().message());
    if (p->flag("strict")) ctx.strict = true;
    size_t n = p->positional.size();
    size_t max = p->has("image") && c->max_args_image ? c->max_args_image : c->max_args;
    if (n < c->min_args || n > max) { // runc's checkArgs prints "Incorrect Usage." and the help first
        std::fputs("Incorrect Usage.\n\n", stdout);
        command_help(*c, prefix);
        std::fflush(stdout);
        return fail_exit(arity_message(name, n, c->min_args, max));
    }
    auto r = c->run(ctx, *p);
    if (!r) return fail_exit(r.error().message());
    std::fflush(stdout);
    return *r;
}

int run_main(int argc, char** argv) {
    std::vector<std::string> args(argv, argv + argc);
    if (!args.empty() && !args[0].empty()) {
        g_argv0 = args[0];
        g_help_name = std::filesystem::path(args[0]).filename().string();
    }
    size_t stop = 0;
    auto g = cli::parse(args, 1, kGlobalFlags, &stop);
    if (!g) { // urfave/cli: "Incorrect Usage. ERR", a blank line and the application's help on stdout
        std::printf("Incorrect Usage. %s\n\n", g.error().message().c_str());
        app_help(commands());
        std::fflush(stdout);
        return fail_exit(g.error().message(), false);
    }
    log::Config lc{g->get("log"), g->get("log-format", "text") == "json", g->flag("debug")};
    if (auto f = g->get("log-format", "text"); f != "text" && f != "json")
        return fail_exit("invalid log-format: " + f, false);
    log::configure(lc);
    bool log_to_file = !lc.file.empty();
    g_log_to_file = log_to_file;
    if (auto u = check_utf8(*g, false); !u) return fail_exit(u.error().message());

    auto cmds = commands();
    if (g->flag("version")) {
        std::fputs(runtime::version_text().c_str(), stdout);
        return 0;
    }
    // urfave/cli: --help, and no command at all, print the help page and succeed.
    if (g->flag("help") || stop >= args.size()) {
        app_help(cmds);
        return 0;
    }
    Ctx ctx;
    // runc takes a relative --root; liblxc needs an absolute lxcpath: resolve it against the cwd now.
    auto root = absolute_path(g->get("root", "/run/proxmox-lxcri"), "--root");
    if (!root) return fail_exit(root.error().message());
    ctx.root = *root;
    ctx.systemd_cgroup = g->flag("systemd-cgroup");
    ctx.strict = g->flag("strict");
    ctx.criu = g->get("criu");
    ctx.backend = g->get("backend");
    ctx.image.store = absolute(g->get("image-root"));
    ctx.image.json_log = lc.json;
    ctx.image.unpack_layer = g_image->unpack_layer;
    return dispatch(cmds, args, stop, ctx, g_help_name);
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
