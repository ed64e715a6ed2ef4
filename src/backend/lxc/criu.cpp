#include "backend/lxc/criu.hpp"

#include "base/parse.hpp"
#include "sys/fd.hpp"
#include "sys/fs.hpp"
#include "sys/log.hpp"
#include "sys/proc.hpp"
#include "sys/socket.hpp"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <sstream>
#include <thread>

namespace lxcri::lxc {

namespace {

constexpr const char* kDescriptors = "lxcri-descriptors.json";

std::string hex(uint64_t n) {
    char b[32];
    std::snprintf(b, sizeof b, "%llx", static_cast<unsigned long long>(n));
    return b;
}

// The mount ids of the container's mount namespace (first field of its mountinfo).
Result<std::set<std::string>> mount_ids(pid_t pid) {
    std::string text = TRY(sys::read_file("/proc/" + std::to_string(pid) + "/mountinfo"));
    std::set<std::string> ids;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line))
        ids.insert(line.substr(0, line.find(' ')));
    return ids;
}

std::string fdinfo_field(pid_t pid, int fd, const std::string& name) {
    auto text = sys::read_file("/proc/" + std::to_string(pid) + "/fdinfo/" + std::to_string(fd));
    if (!text) return "";
    std::istringstream in(*text);
    std::string line;
    while (std::getline(in, line)) {
        if (!line.starts_with(name + ":")) continue;
        std::string v = line.substr(name.size() + 1);
        v.erase(0, v.find_first_not_of(" \t"));
        return v;
    }
    return "";
}

// The init's stdio that CRIU cannot reopen inside the container: dump arguments and, for the restore, the
// resource each fd inherits ({"fd": N, "key": "pipe[INODE]"}).
struct Externals {
    std::vector<std::string> dump_args;
    nlohmann::json descriptors = nlohmann::json::array();
    nlohmann::json cgroup_mounts = nlohmann::json::array(); // hierarchy dirs under /sys/fs/cgroup ("" on v2)
    bool empty_net = false;                                 // dumped with --empty-ns net (see loopback_only)
};

// True when the init has a network namespace of its own that holds nothing but the loopback device: the one
// the lxc config gives a new namespace (lxc.net.0.type empty, lo up). runc dumps every container with
// --empty-ns net ("runc doesn't manage network devices"): CRIU then neither saves nor restores the
// namespace's links, addresses, routes and iptables (ip/iptables-save and -restore runs that were most of
// the difference in time to runc). Here only when that loses nothing an OCI runtime made: the restore makes a
// new namespace and brings its lo up again (runc leaves it down). A namespace with other devices (joined from
// a path, or given devices by someone else) is dumped in full, as before.
bool loopback_only(pid_t pid) {
    char own[64], theirs[64];
    ssize_t a = ::readlink("/proc/self/ns/net", own, sizeof own);
    ssize_t b = ::readlink(("/proc/" + std::to_string(pid) + "/ns/net").c_str(), theirs, sizeof theirs);
    if (a <= 0 || b <= 0 || std::string_view(own, a) == std::string_view(theirs, b)) return false;
    auto dev = sys::read_file("/proc/" + std::to_string(pid) + "/net/dev");
    if (!dev) return false;
    std::istringstream in(*dev);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
        auto colon = line.find(':');
        if (colon == std::string::npos) continue; // the two header lines
        std::string name = line.substr(0, colon);
        name.erase(0, name.find_first_not_of(' '));
        if (name != "lo") return false;
        ++n;
    }
    return n == 1;
}

// Brings lo up in the network namespace of `pid` (a thread's setns(CLONE_NEWNET) leaves the others alone).
Status loopback_up(pid_t pid) {
    std::string path = "/proc/" + std::to_string(pid) + "/ns/net";
    sys::Fd ns(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns.valid()) return fail_errno("open " + path);
    int err = 0;
    const char* step = "";
    std::thread t([&] {
        if (::setns(ns.get(), CLONE_NEWNET) < 0) {
            err = errno, step = "setns";
            return;
        }
        sys::Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        ifreq ifr{};
        std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
        if (!s.valid() || ::ioctl(s.get(), SIOCGIFFLAGS, &ifr) < 0) {
            err = errno, step = "SIOCGIFFLAGS";
            return;
        }
        ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
        if (::ioctl(s.get(), SIOCSIFFLAGS, &ifr) < 0) err = errno, step = "SIOCSIFFLAGS";
    });
    t.join();
    if (err != 0)
        return fail("bring lo up in the network namespace of " + std::to_string(pid) + ": " + step + ": " +
                    std::strerror(err));
    return ok();
}

// A new pty for a restored terminal: the master is sent over the console socket (as runc sends it), the slave
// returned.
Result<sys::Fd> new_terminal(int console_fd) {
    if (console_fd < 0)
        return fail(ErrorKind::Invalid,
                    "the checkpointed container has a terminal: restore needs --console-socket");
    sys::Fd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!master.valid()) return fail_errno("open /dev/ptmx");
    if (::unlockpt(master.get()) < 0) return fail_errno("unlockpt");
    char name[64];
    if (::ptsname_r(master.get(), name, sizeof name) != 0) return fail_errno("ptsname");
    sys::Fd slave(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!slave.valid()) return fail_errno(std::string("open ") + name);
    TRY_CTX(sys::send_fd(console_fd, master.get(), "/dev/ptmx"), "send the pty master to the console socket");
    return slave;
}

constexpr std::string_view kCgroupMountKey = "lxcri-cgroup:";

// The container's cgroup mounts: binds of its own cgroup directory of each host hierarchy at
// /sys/fs/cgroup/<hierarchy> (lxc_config's map_cgroup_binds). They are external mounts whose source is the
// container's cgroup, which a restore into another id (another cgroup) must change: each gets a key, and the
// restore maps it to /sys/fs/cgroup/<hierarchy>/<the new container's cgroup>.
Status cgroup_mount_externals(pid_t pid, Externals& ex) {
    std::string text = TRY(sys::read_file("/proc/" + std::to_string(pid) + "/mountinfo"));
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream f(line);
        std::string id, parent, dev, root, mountpoint, tok;
        f >> id >> parent >> dev >> root >> mountpoint;
        while (f >> tok && tok != "-") {
        }
        std::string fstype;
        f >> fstype;
        if ((fstype != "cgroup" && fstype != "cgroup2") || root == "/") continue;
        std::string sub;
        if (mountpoint == "/sys/fs/cgroup")
            sub = "";
        else if (mountpoint.starts_with("/sys/fs/cgroup/") && mountpoint.find('/', 15) == std::string::npos)
            sub = mountpoint.substr(15);
        else
            continue;
        ex.dump_args.insert(ex.dump_args.end(),
                            {"--external", "mnt[" + mountpoint + "]:" + std::string(kCgroupMountKey) + sub});
        ex.cgroup_mounts.push_back(sub);
    }
    return ok();
}

Result<Externals> stdio_externals(pid_t pid) {
    Externals ex;
    auto ids = TRY(mount_ids(pid));
    for (int fd = 0; fd <= 2; ++fd) {
        std::string link = "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd);
        char target[4096];
        ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
        if (n <= 0) continue; // closed
        std::string t(target, static_cast<size_t>(n));
        auto inode_of = [&](const std::string& prefix) {
            return t.substr(prefix.size(), t.size() - prefix.size() - 1); // "pipe:[123]" -> "123"
        };
        if (t.starts_with("/dev/pts/")) {
            // A terminal's slave whose master went to the console socket: external, keyed by its device as
            // runc keys it; the restore inherits a new pty's slave in its place.
            struct stat st {};
            if (::stat(link.c_str(), &st) < 0) return fail_errno("stat " + link);
            std::string key = "tty[" + hex(st.st_rdev) + ":" + hex(st.st_dev) + "]";
            if (std::find(ex.dump_args.begin(), ex.dump_args.end(), key) == ex.dump_args.end())
                ex.dump_args.insert(ex.dump_args.end(), {"--external", key});
            ex.descriptors.push_back({{"fd", fd}, {"key", key}});
        } else if (t.starts_with("pipe:[")) {
            ex.descriptors.push_back({{"fd", fd}, {"key", "pipe[" + inode_of("pipe:[") + "]"}});
        } else if (t.starts_with("socket:[")) {
            std::string ino = inode_of("socket:[");
            ex.dump_args.insert(ex.dump_args.end(), {"--external", "unix[" + ino + "]"});
            ex.descriptors.push_back({{"fd", fd}, {"key", "socket[" + ino + "]"}});
        } else if (t.starts_with("/")) {
            std::string mnt = fdinfo_field(pid, fd, "mnt_id");
            if (mnt.empty() || ids.count(mnt)) continue; // CRIU reopens it inside the container
            struct stat st {};
            if (::stat(link.c_str(), &st) < 0) return fail_errno("stat " + link);
            auto mnt_id = TRY(parse_number<uint64_t>(mnt));
            std::string key = "file[" + hex(mnt_id) + ":" + hex(st.st_ino) + "]";
            ex.dump_args.insert(ex.dump_args.end(), {"--external", key});
            ex.descriptors.push_back({{"fd", fd}, {"key", key}});
        }
    }
    return ex;
}

std::vector<std::string> common_args(const backend::CriuOptions& o) {
    std::vector<std::string> a;
    a.push_back("--manage-cgroups=" + (o.manage_cgroups_mode.empty() ? "soft" : o.manage_cgroups_mode));
    // Bind mounts from the host (the device nodes, the bundle's binds) are external mounts.
    a.insert(a.end(), {"--ext-mount-map", "auto", "--enable-external-sharing", "--enable-external-masters"});
    if (o.tcp_established) a.push_back("--tcp-established");
    if (o.ext_unix_sk) a.push_back("--ext-unix-sk");
    if (o.shell_job) a.push_back("--shell-job");
    if (o.file_locks) a.push_back("--file-locks");
    return a;
}

std::string work_dir(const backend::CriuOptions& o) {
    return o.work_path.empty() ? o.image_path : o.work_path;
}

// The last error lines of a CRIU log (without the harmless RLIMIT_NOFILE complaint).
std::string log_errors(const std::string& log) {
    auto text = sys::read_file(log);
    if (!text) return "";
    std::vector<std::string> errs;
    std::istringstream in(*text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.find("Error (") == std::string::npos || line.find("RLIMIT_NOFILE") != std::string::npos)
            continue;
        auto p = line.find("): ");
        errs.push_back(p == std::string::npos ? line : line.substr(p + 3));
    }
    std::string out;
    for (size_t i = errs.size() > 3 ? errs.size() - 3 : 0; i < errs.size(); ++i)
        out += (out.empty() ? "" : "; ") + errs[i];
    return out;
}

Status check_run(const Result<sys::RunResult>& r, const std::string& what, const std::string& log) {
    if (!r) return std::unexpected(Error(r.error()).context(what));
    if (r->timed_out) return fail(what + ": timed out (log: " + log + ")");
    if (WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0) return ok();
    std::string errs = log_errors(log);
    return fail(what + " failed (" + sys::describe_wait_status(r->status) +
                "): " + (errs.empty() ? "see " + log : errs + " (log: " + log + ")"));
}

} // namespace

Result<std::string> criu_version(const std::string& criu) {
    auto r = sys::run({criu, "--version"}, {}, "", std::chrono::seconds(10));
    if (!r) return std::unexpected(std::move(r).error());
    if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != 0)
        return fail(criu + " --version: " + sys::describe_wait_status(r->status));
    std::istringstream in(r->out);
    std::string line;
    while (std::getline(in, line))
        if (line.starts_with("Version: ")) return line.substr(9);
    return fail(criu + " --version printed no version");
}

Status criu_usable(const std::string& criu) {
    std::string v = TRY(criu_version(criu));
    int major = 0, minor = 0;
    if (std::sscanf(v.c_str(), "%d.%d", &major, &minor) != 2) return fail("CRIU version \"" + v + "\"");
    utsname u{};
    int kmajor = 0, kminor = 0;
    if (::uname(&u) == 0) std::sscanf(u.release, "%d.%d", &kmajor, &kminor);
    bool new_kernel = kmajor > 6 || (kmajor == 6 && kminor >= 13);
    if (new_kernel && (major < 4 || (major == 4 && minor < 1)))
        return fail(criu + " is CRIU " + v + ", which fails on kernel " + u.release +
                    " (vdso); CRIU >= 4.1 is needed (scripts/build-criu.sh builds it)");
    return ok();
}

Status criu_dump(pid_t init_pid, const std::string& freezer, const backend::CheckpointRequest& req) {
    const auto& o = req.criu;
    auto ex = TRY_CTX(stdio_externals(init_pid), "inspect the container's stdio");
    TRY_CTX(cgroup_mount_externals(init_pid, ex), "inspect the container's cgroup mounts");
    ex.empty_net = loopback_only(init_pid);
    nlohmann::json desc = {
        {"stdio", ex.descriptors}, {"cgroupMounts", ex.cgroup_mounts}, {"emptyNet", ex.empty_net}};
    TRY(sys::write_file_atomic(o.image_path + "/" + kDescriptors, desc.dump(), 0600));
    std::string work = work_dir(o);
    TRY(sys::mkdir_p(work, 0700));
    std::vector<std::string> argv = {o.criu,         "dump",       "--tree",     std::to_string(init_pid),
                                     "--images-dir", o.image_path, "--work-dir", work,
                                     "--log-file",   "dump.log",   "-v4",        "--root",
                                     req.rootfs};
    auto common = common_args(o);
    argv.insert(argv.end(), common.begin(), common.end());
    argv.insert(argv.end(), ex.dump_args.begin(), ex.dump_args.end());
    if (ex.empty_net) {
        argv.insert(argv.end(), {"--empty-ns", "net"});
        // Nothing outside reaches a namespace with only lo, and without --tcp-established CRIU refuses
        // established connections: its iptables lock (an iptables-restore and ip6tables-restore run in the
        // namespace at dump and again at restore) guards nothing there.
        if (!o.tcp_established) argv.insert(argv.end(), {"--network-lock", "skip"});
    }
    if (req.leave_running) argv.push_back("--leave-running");
    if (!freezer.empty()) argv.insert(argv.end(), {"--freeze-cgroup", freezer});
    log::debug("checkpoint: " + o.criu + " dump of pid " + std::to_string(init_pid) + " into " +
               o.image_path);
    sys::RunOptions ro{.argv = argv, .timeout = backend::left(req.deadline)};
    return check_run(sys::run(ro), "criu dump", work + "/dump.log");
}

Result<CriuRestored> criu_restore(const backend::RestoreRequest& req, const std::string& cgroup_rel) {
    const auto& o = req.criu;
    std::string work = work_dir(o);
    TRY(sys::mkdir_p(work, 0700));
    std::string pidfile = work + "/restore.pid";
    (void)::unlink(pidfile.c_str());
    std::vector<std::string> argv = {o.criu,
                                     "restore",
                                     "--images-dir",
                                     o.image_path,
                                     "--work-dir",
                                     work,
                                     "--log-file",
                                     "restore.log",
                                     "-v4",
                                     "--root",
                                     req.plan->rootfs,
                                     "--cgroup-root",
                                     "/" + cgroup_rel,
                                     "--restore-detached",
                                     "--restore-sibling",
                                     "--pidfile",
                                     pidfile};
    auto common = common_args(o);
    argv.insert(argv.end(), common.begin(), common.end());
    // The stdio the container had outside itself becomes ours (the caller's pipes), as with runc.
    bool empty_net = false;
    sys::Fd tty_slave;
    if (auto text = sys::read_file(o.image_path + "/" + kDescriptors); text) {
        const std::string file = o.image_path + "/" + kDescriptors;
        auto all = nlohmann::json::parse(*text, nullptr, false);
        if (!all.is_object()) return fail(file + ": not a JSON object");
        auto j = all.value("stdio", nlohmann::json::array());
        auto cg = all.value("cgroupMounts", nlohmann::json::array());
        if (!j.is_array() || !cg.is_array()) return fail(file + ": malformed");
        if (auto en = all.find("emptyNet"); en != all.end()) {
            if (!en->is_boolean()) return fail(file + ": malformed emptyNet");
            empty_net = en->get<bool>();
        }
        if (empty_net) {
            argv.insert(argv.end(), {"--empty-ns", "net"});
            if (!o.tcp_established) argv.insert(argv.end(), {"--network-lock", "skip"});
        }
        for (auto& sub : cg) {
            if (!sub.is_string() || sub.get<std::string>().find('/') != std::string::npos ||
                sub.get<std::string>() == "..")
                return fail(file + ": malformed cgroup mount");
            std::string dir =
                "/sys/fs/cgroup" + (sub.get<std::string>().empty() ? "" : "/" + sub.get<std::string>());
            argv.insert(argv.end(),
                        {"--external", "mnt[" + std::string(kCgroupMountKey) + sub.get<std::string>() +
                                           "]:" + dir + "/" + cgroup_rel});
        }
        {
            for (auto& d : j) {
                if (!d.is_object() || !d.contains("fd") || !d["fd"].is_number_integer() ||
                    !d.contains("key") || !d["key"].is_string())
                    return fail(file + ": malformed entry");
                int fd = d["fd"].get<int>();
                if (fd < 0 || fd > 2) return fail(file + ": fd out of range");
                const std::string key = d["key"].get<std::string>();
                if (key.starts_with("tty[")) {
                    // The terminal: a new pty, its master to the console socket, its slave CRIU's stdin.
                    if (!tty_slave.valid()) {
                        tty_slave = TRY(new_terminal(req.console_fd));
                        argv.insert(argv.end(), {"--inherit-fd", "fd[0]:" + key});
                    }
                    continue;
                }
                argv.insert(argv.end(), {"--inherit-fd",
                                         "fd[" + std::to_string(fd) + "]:" + d["key"].get<std::string>()});
            }
        }
    }
    log::debug("restore: " + o.criu + " restore from " + o.image_path + " into cgroup " + cgroup_rel);
    sys::RunOptions ro{.argv = argv,
                       .stdin_fd = tty_slave.valid() ? tty_slave.get() : 0,
                       .out = sys::RunOptions::Output::Inherit,
                       .err = sys::RunOptions::Output::Inherit,
                       .timeout = backend::left(req.deadline)};
    TRY(check_run(sys::run(ro), "criu restore", work + "/restore.log"));
    auto text = TRY_CTX(sys::read_file(pidfile), "criu restore wrote no pid file");
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.pop_back();
    pid_t pid = TRY_CTX(parse_number<pid_t>(text), "criu restore's pid file");
    (void)::unlink(pidfile.c_str());
    if (empty_net) TRY_CTX(loopback_up(pid), "restore");
    return CriuRestored{.init_pid = pid};
}

} // namespace lxcri::lxc
