// Final process set-up and execve, in runc's order (standard_init_linux.go / finalizeNamespace):
// fds, rlimits, oom_score_adj, [missing cwd, read-only root, readonly paths, masked paths], umask, LSM exec
// labels, no_new_privs, seccomp (here when no_new_privs is off: loading it then needs CAP_SYS_ADMIN, which
// the user may lose below), chdir, bounding set, keepcaps + groups/gid/uid, capset, ambient caps, PATH
// lookup, seccomp (here when no_new_privs is on: as late as possible), the startContainer hooks (the caller's
// before_exec), execve. A filter with SCMP_ACT_NOTIFY hands its notify fd to the runtime right after it is
// loaded (plan::InitConfig::seccomp_fd), so the fd has left the process before anything runs under it.
#include "init/process.hpp"
#include "spec/capabilities.hpp"

#include "sys/fd.hpp"
#include "sys/fs.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <sstream>

namespace lxcri::init {

namespace {

using spec::kCapabilityNames;

struct RlimitName {
    std::string_view name;
    __rlimit_resource_t resource;
};
constexpr std::array<RlimitName, 16> rlimit_names{{
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
}};

std::string quote(const std::string& s) {
    return "\"" + s + "\"";
}

// ---- fds, rlimits, oom ----

Status mark_fds_cloexec(int preserve_fds) {
    unsigned first = 3 + static_cast<unsigned>(preserve_fds < 0 ? 0 : preserve_fds);
    if (::close_range(first, ~0U, CLOSE_RANGE_CLOEXEC) < 0) return fail_errno("close_range");
    return ok();
}

Status set_rlimit(const spec::Rlimit& rl) {
    for (const auto& entry : rlimit_names) {
        if (entry.name != rl.type) continue;
        rlimit lim{static_cast<rlim_t>(rl.soft), static_cast<rlim_t>(rl.hard)};
        if (::setrlimit(entry.resource, &lim) < 0) return fail_errno("setrlimit " + rl.type);
        return ok();
    }
    return fail("unknown rlimit type " + quote(rl.type));
}

Status set_oom_score_adj(int value) {
    TRY_CTX(sys::write_file("/proc/self/oom_score_adj", std::to_string(value)), "set oom_score_adj");
    return ok();
}

// ---- mounts ----

// Flags a bind remount must repeat: the kernel refuses to clear locked ones in a user namespace.
unsigned long kept_mount_flags(const std::string& path) {
    struct statfs st {};
    if (::statfs(path.c_str(), &st) < 0) return 0;
    unsigned long flags = 0;
    if (st.f_flags & ST_NOSUID) flags |= MS_NOSUID;
    if (st.f_flags & ST_NODEV) flags |= MS_NODEV;
    if (st.f_flags & ST_NOEXEC) flags |= MS_NOEXEC;
    if (st.f_flags & ST_NOATIME) flags |= MS_NOATIME;
    if (st.f_flags & ST_NODIRATIME) flags |= MS_NODIRATIME;
    if (st.f_flags & ST_RELATIME) flags |= MS_RELATIME;
    if (!(st.f_flags & (ST_NOATIME | ST_RELATIME))) flags |= MS_STRICTATIME;
    return flags;
}

// Makes the mount at path read-only (and every mount below it when recursive).
Status make_mount_readonly(const std::string& path, bool recursive) {
    mount_attr attr{};
    attr.attr_set = MOUNT_ATTR_RDONLY;
    if (::mount_setattr(AT_FDCWD, path.c_str(), recursive ? AT_RECURSIVE : 0, &attr, sizeof attr) == 0)
        return ok();
    if (errno != ENOSYS) return fail_errno("make " + path + " read-only");
    // Kernels before 5.12: remount the top mount only.
    unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY | kept_mount_flags(path);
    if (::mount(nullptr, path.c_str(), nullptr, flags, nullptr) < 0)
        return fail_errno("remount " + path + " read-only");
    return ok();
}

Status readonly_path(const std::string& path) {
    if (::mount(path.c_str(), path.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0) {
        if (errno == ENOENT) return ok();
        return fail_errno("bind " + path);
    }
    return make_mount_readonly(path, true);
}

Status mask_path(const std::string& path) {
    if (::mount("/dev/null", path.c_str(), nullptr, MS_BIND, nullptr) == 0 || errno == ENOENT) return ok();
    if (errno != ENOTDIR) return fail_errno("mask " + path);
    if (::mount("tmpfs", path.c_str(), "tmpfs", MS_RDONLY, nullptr) < 0) return fail_errno("mask " + path);
    return ok();
}

// The init's share of runc's prepareRootfs: a missing cwd is created (0755, as root), then the mounts made
// read-only after the fact (options "rro"; a read-only /dev once its nodes exist), the read-only root,
// readonly paths and masked paths.
Status prepare_rootfs(const plan::InitConfig& cfg) {
    TRY_CTX(sys::mkdir_p(cfg.process.cwd, 0755), "create cwd");
    for (const auto& p : cfg.recursive_readonly_mounts)
        TRY_CTX(make_mount_readonly(p, true), "mount option rro");
    if (cfg.readonly_dev) TRY_CTX(make_mount_readonly("/dev", false), "read-only /dev");
    if (cfg.readonly_root) TRY_CTX(make_mount_readonly("/", false), "read-only root");
    for (const auto& p : cfg.readonly_paths)
        TRY_CTX(readonly_path(p), "readonlyPaths");
    for (const auto& p : cfg.masked_paths)
        TRY_CTX(mask_path(p), "maskedPaths");
    return ok();
}

// ---- LSM labels ----

Status set_apparmor_profile(const std::string& profile) {
    std::string data = "exec " + profile;
    auto r = sys::write_file("/proc/self/attr/apparmor/exec", data);
    if (!r && r.error().code() == ENOENT) r = sys::write_file("/proc/self/attr/exec", data);
    if (!r) return std::unexpected(std::move(r).error().context("set apparmor profile " + quote(profile)));
    return ok();
}

Status set_labels(const spec::Process& p) {
    if (!p.apparmor_profile.empty()) TRY(set_apparmor_profile(p.apparmor_profile));
    if (!p.selinux_label.empty())
        TRY_CTX(sys::write_file("/proc/self/attr/exec", p.selinux_label),
                "set selinux label " + quote(p.selinux_label));
    return ok();
}

// ---- user, groups, cwd ----

bool setgroups_allowed() {
    auto text = sys::read_file("/proc/self/setgroups");
    return !text || text->find("deny") == std::string::npos;
}

Status set_user(const spec::User& user) {
    if (setgroups_allowed()) {
        std::vector<gid_t> gids(user.additional_gids.begin(), user.additional_gids.end());
        if (::setgroups(gids.size(), gids.data()) < 0) return fail_errno("setgroups");
    }
    if (::setresgid(user.gid, user.gid, user.gid) < 0)
        return fail_errno("setresgid " + std::to_string(user.gid));
    if (::setresuid(user.uid, user.uid, user.uid) < 0)
        return fail_errno("setresuid " + std::to_string(user.uid));
    return ok();
}

Status chdir_cwd(const std::string& cwd) {
    if (::chdir(cwd.c_str()) < 0)
        return fail_errno("chdir to cwd (" + quote(cwd) + ") set in config.json failed");
    return ok();
}

// HOME from the container's /etc/passwd when the process env lacks it, "/" when the uid has no entry (runc).
std::string home_of(uint32_t uid) {
    auto text = sys::read_file("/etc/passwd");
    if (!text) return "/";
    std::istringstream in(*text);
    std::string line;
    while (std::getline(in, line)) {
        std::vector<std::string> f;
        std::istringstream fields(line);
        for (std::string part; std::getline(fields, part, ':');)
            f.push_back(part);
        if (f.size() >= 6 && f[2] == std::to_string(uid)) return f[5].empty() ? "/" : f[5];
    }
    return "/";
}

std::vector<std::string> process_env(const spec::Process& p) {
    std::vector<std::string> env = p.env;
    for (const auto& e : env)
        if (e.starts_with("HOME=")) return env;
    env.push_back("HOME=" + home_of(p.user.uid));
    return env;
}

// ---- capabilities ----

int last_cap() {
    int cap = 0;
    while (cap + 1 < 64 && ::prctl(PR_CAPBSET_READ, cap + 1, 0, 0, 0) >= 0)
        ++cap;
    return cap;
}

Result<uint64_t> cap_mask(const std::optional<std::vector<std::string>>& names, int last) {
    uint64_t mask = 0;
    if (!names) return mask;
    for (const auto& name : *names) {
        int n = TRY(capability_number(name));
        if (n <= last) mask |= uint64_t{1} << n;
    }
    return mask;
}

struct CapSets {
    uint64_t bounding = 0, effective = 0, permitted = 0, inheritable = 0, ambient = 0;
};

Result<CapSets> cap_sets(const std::optional<spec::Capabilities>& caps, int last) {
    CapSets s;
    if (!caps) return s; // no capabilities object: the process gets none (runc)
    s.bounding = TRY_CTX(cap_mask(caps->bounding, last), "bounding");
    s.effective = TRY_CTX(cap_mask(caps->effective, last), "effective");
    s.permitted = TRY_CTX(cap_mask(caps->permitted, last), "permitted");
    s.inheritable = TRY_CTX(cap_mask(caps->inheritable, last), "inheritable");
    s.ambient = TRY_CTX(cap_mask(caps->ambient, last), "ambient");
    return s;
}

Status drop_bounding(uint64_t keep, int last) {
    for (int c = 0; c <= last; ++c) {
        if ((keep & (uint64_t{1} << c)) != 0 || ::prctl(PR_CAPBSET_READ, c, 0, 0, 0) != 1) continue;
        if (::prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
            return fail_errno("drop " + std::string(kCapabilityNames[static_cast<size_t>(c)]));
    }
    return ok();
}

Status capset(const CapSets& s) {
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    for (int i = 0; i < 2; ++i) {
        data[i].effective = static_cast<uint32_t>(s.effective >> (32 * i));
        data[i].permitted = static_cast<uint32_t>(s.permitted >> (32 * i));
        data[i].inheritable = static_cast<uint32_t>(s.inheritable >> (32 * i));
    }
    if (::syscall(SYS_capset, &hdr, data) < 0) return fail_errno("capset");
    return ok();
}

Status raise_ambient(uint64_t ambient, int last) {
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) return fail_errno("clear ambient");
    for (int c = 0; c <= last; ++c) {
        if (!(ambient & (uint64_t{1} << c))) continue;
        // Like runc: a cap that is not also permitted and inheritable cannot be ambient; skip it (EPERM).
        if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0 && errno != EPERM)
            return fail_errno("raise ambient " + std::string(kCapabilityNames[static_cast<size_t>(c)]));
    }
    return ok();
}

// Bounding set, then user and group ids with keepcaps, then the other four sets (finalizeNamespace).
// runc's fixStdioPermissions: the process's stdio (its pty above all) is handed to its uid, so it can control
// its terminal; /dev/null is skipped and the group kept (the devpts mount may prefer one); EINVAL/EPERM (ids
// not mapped in a user namespace) are ignored.
Status fix_stdio_permissions(uint32_t uid) {
    struct stat null {};
    if (::stat("/dev/null", &null) < 0) return fail_errno("stat /dev/null");
    for (int fd = 0; fd <= 2; ++fd) {
        struct stat st {};
        if (::fstat(fd, &st) < 0) {
            if (errno == EBADF) continue;
            return fail_errno("fstat stdio fd " + std::to_string(fd));
        }
        if (S_ISCHR(st.st_mode) && st.st_rdev == null.st_rdev) continue;
        if (st.st_uid == uid) continue;
        if (::fchown(fd, uid, st.st_gid) < 0 && errno != EINVAL && errno != EPERM)
            return fail_errno("fchown stdio fd " + std::to_string(fd));
    }
    return ok();
}

Status switch_user(const spec::Process& p) {
    int last = last_cap();
    CapSets caps = TRY_CTX(cap_sets(p.capabilities, last), "capabilities");
    // A cwd only the container user may enter is retried after the switch.
    bool chdir_later = false;
    if (::chdir(p.cwd.c_str()) < 0) {
        if (errno != EACCES && errno != EPERM) return chdir_cwd(p.cwd);
        chdir_later = true;
    }
    TRY_CTX(drop_bounding(caps.bounding, last), "apply bounding set");
    TRY(fix_stdio_permissions(p.user.uid));
    if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) return fail_errno("set keepcaps");
    TRY_CTX(set_user(p.user), "set up user");
    if (chdir_later) TRY(chdir_cwd(p.cwd));
    if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) return fail_errno("clear keepcaps");
    TRY_CTX(capset(caps), "apply capabilities");
    TRY_CTX(raise_ambient(caps.ambient, last), "apply capabilities");
    return ok();
}

// ---- executable lookup (Go's exec.LookPath as used by runc) ----

int check_executable(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) < 0) return errno;
    if (S_ISDIR(st.st_mode) || !(st.st_mode & 0111)) return EACCES;
    return 0;
}

std::string env_value(const std::vector<std::string>& env, std::string_view key) {
    for (const auto& e : env)
        if (e.size() > key.size() && e.starts_with(key) && e[key.size()] == '=')
            return e.substr(key.size() + 1);
    return {};
}

Result<std::string> look_path(const std::string& file, const std::vector<std::string>& env) {
    if (file.find('/') != std::string::npos) {
        int err = check_executable(file);
        if (err == ENOENT)
            return std::unexpected(
                Error("exec: " + quote(file) + ": stat " + file, ENOENT, ErrorKind::NotExecuted));
        if (err != 0) return std::unexpected(Error("exec: " + quote(file), err, ErrorKind::NotExecuted));
        return file;
    }
    std::string path = env_value(env, "PATH");
    std::istringstream dirs(path);
    for (std::string dir; !path.empty() && std::getline(dirs, dir, ':');) {
        std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + file;
        if (check_executable(candidate) == 0) return candidate;
    }
    return fail(ErrorKind::NotExecuted, "exec: " + quote(file) + ": executable file not found in $PATH");
}

// The notify fd's number goes to the runtime, which takes it with pidfd_getfd (runc's syncParentSeccomp:
// only write and read, never sendmsg, under the new filter); one byte back: 0 once the agent has it.
Status hand_over_notify_fd(int sock, int notify_fd) {
    std::string number = std::to_string(notify_fd);
    ssize_t n;
    while ((n = ::write(sock, number.data(), number.size())) < 0 && errno == EINTR) {
    }
    if (n != static_cast<ssize_t>(number.size())) return fail_errno("send the notify fd to the runtime");
    char answer = 1;
    while ((n = ::read(sock, &answer, 1)) < 0 && errno == EINTR) {
    }
    if (n < 0) return fail_errno("wait for the runtime to take the notify fd");
    if (n == 0 || answer != 0) return fail("the runtime could not hand the notify fd to the seccomp agent");
    return ok();
}

Status load_seccomp(const plan::InitConfig& cfg) {
    int fd = TRY(apply_seccomp(*cfg.seccomp, true));
    if (fd < 0) return ok();
    sys::Fd notify(fd);
    if (cfg.seccomp_fd < 0) return fail("seccomp: no way to hand the notify fd to the runtime");
    TRY_CTX(hand_over_notify_fd(cfg.seccomp_fd, notify.get()), "seccomp");
    ::close(cfg.seccomp_fd);
    return ok();
}

Status exec(const std::string& path, const std::vector<std::string>& args,
            const std::vector<std::string>& env) {
    std::vector<char*> argv, envp;
    for (const auto& a : args)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (const auto& e : env)
        envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    while (::execve(path.c_str(), argv.data(), envp.data()) < 0 && errno == EINTR) {
    }
    return std::unexpected(Error("exec " + path, errno, ErrorKind::NotExecuted));
}

} // namespace

Result<int> capability_number(const std::string& name) {
    if (auto n = spec::capability_number(name)) return *n;
    return fail("unknown capability " + quote(name));
}

Status check_process(const plan::InitConfig& cfg) {
    const spec::Process& p = cfg.process;
    if (p.args.empty()) return fail("process.args must not be empty");
    for (const auto& rl : p.rlimits)
        TRY(set_rlimit(rl));
    // runc's init builds the filter before it waits: a profile it cannot build fails create.
    if (cfg.seccomp) TRY(apply_seccomp(*cfg.seccomp, false));
    // The lookup exec_process repeats, from the process's cwd when it exists already (runc looks it up after
    // its chdir).
    std::string cwd = p.cwd.empty() ? "/" : p.cwd;
    bool moved = ::chdir(cwd.c_str()) == 0;
    auto path = look_path(p.args[0], process_env(p));
    if (moved) (void)!::chdir("/");
    if (!path) return std::unexpected(std::move(path).error());
    return ok();
}

Status exec_process(const plan::InitConfig& cfg, bool apply_mounts,
                    const std::function<Status()>& before_exec) {
    const spec::Process& p = cfg.process;
    if (p.args.empty()) return fail("process.args must not be empty");
    TRY(mark_fds_cloexec(cfg.preserve_fds));
    std::vector<std::string> env = process_env(p);
    for (const auto& rl : p.rlimits)
        TRY(set_rlimit(rl));
    if (p.oom_score_adj) TRY(set_oom_score_adj(*p.oom_score_adj));
    if (apply_mounts) TRY(prepare_rootfs(cfg));
    ::umask(p.user.umask.value_or(022));
    TRY(set_labels(p));
    if (p.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return fail_errno("set no_new_privs");
    if (cfg.seccomp && !p.no_new_privileges) TRY(load_seccomp(cfg));
    TRY(switch_user(p));
    std::string path = TRY(look_path(p.args[0], env));
    if (cfg.seccomp && p.no_new_privileges) TRY(load_seccomp(cfg));
    if (before_exec) TRY(before_exec());
    return exec(path, p.args, env);
}

} // namespace lxcri::init
