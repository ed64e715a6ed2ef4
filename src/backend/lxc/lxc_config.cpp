// Plan -> liblxc 5.0.2 configuration keys. Pure: everything about the host comes in through HostEnv.
//
// What is deliberately NOT mapped onto liblxc keys, and why:
// - capabilities (lxc.cap.keep/drop): liblxc would drop them before the init helper runs, but the helper
// still
//   needs CAP_SYS_ADMIN (masked/readonly paths, read-only root), CAP_SETUID/SETGID and CAP_SYS_RESOURCE; it
//   sets all five OCI sets itself right before exec, exactly as exec does.
// - rlimits (lxc.prlimit.*), noNewPrivileges (lxc.no_new_privs), oomScoreAdj (lxc.proc.oom_score_adj),
//   seccomp (lxc.seccomp.profile), env (lxc.environment): applied by the init helper from init.json, the same
//   code path exec uses, so create/start and exec cannot drift apart.
// - apparmorProfile / selinuxLabel: a profile applied by liblxc would confine the helper before it mounts the
//   masked/readonly paths (docker-default denies mount); the helper sets the exec label itself. liblxc is
//   told "unconfined" so it does not load its own default profile.
// - hooks: run by the runtime at the OCI lifecycle points, not by liblxc hooks.
// - annotations: nothing for liblxc.
#include "backend/lxc/lxc_config.hpp"

#include <algorithm>
#include <array>
#include <climits>
#include <cstdio>
#include <filesystem>
#include <set>

namespace lxcri::lxc {

namespace {

class Builder {
  public:
    void add(std::string key, std::string value) { cfg_.keys.push_back({std::move(key), std::move(value)}); }
    void mount(MountEntry m) { add_mount(cfg_, std::move(m)); }
    void gap(std::string field, std::string reason) {
        cfg_.gaps.push_back({std::move(field), std::move(reason)});
    }
    Config& cfg() { return cfg_; }

  private:
    Config cfg_;
};

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
    std::string out;
    for (const auto& p : parts)
        out += (out.empty() ? "" : std::string(sep)) + p;
    return out;
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

// fstab field escaping as glibc's getmntent_r() (used by liblxc for lxc.mount.entry) decodes it.
std::string fstab_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        switch (c) {
        case ' ':
            out += "\\040";
            break;
        case '\t':
            out += "\\011";
            break;
        case '\n':
            out += "\\012";
            break;
        case '\\':
            out += "\\134";
            break;
        default:
            out += c;
        }
    }
    return out;
}

// "/etc/hosts" -> "etc/hosts": mount targets are relative to the container's rootfs.
std::string relative_target(const std::string& dest) {
    std::string norm = std::filesystem::path(dest).lexically_normal().string();
    size_t start = norm.find_first_not_of('/');
    if (start == std::string::npos) return "";
    norm.erase(0, start);
    while (norm.size() > 1 && norm.back() == '/')
        norm.pop_back();
    return norm;
}

// ---- mounts ----

// OCI/runc mount options that liblxc does not implement (it would hand them to the filesystem as data and
// fail).
constexpr std::array kUnsupportedOptions = {
    "tmpcopyup", "rrw",          "rnosuid",      "rsuid",          "rnodev",
    "rdev",      "rnoexec",      "rexec",        "rnoatime",       "ratime",
    "rrelatime", "rnorelatime",  "rstrictatime", "rnostrictatime", "rnodiratime",
    "rdiratime", "rnosymfollow", "rsymfollow",   "nosymfollow",    "symfollow",
    "idmap",     "ridmap",       "copy-symlink", "src-nofollow",   "dest-nofollow"};

// Destinations that are files in practice. Without stat() (this function is pure) the kind of a bind source
// is unknown, so create=file is chosen for these well-known file targets and for device-like paths under /dev
// (any path there except the usual /dev directories themselves); every other destination gets create=dir.
// At create time resolve_mount_targets (mount_targets.hpp) stats the source instead and makes the target
// itself; the guess is what is left for the entries it hands to liblxc with create=.
constexpr std::array kFileTargets = {"/etc/resolv.conf",   "/etc/hosts",          "/etc/hostname",
                                     "/etc/localtime",     "/etc/timezone",       "/etc/machine-id",
                                     "/etc/passwd",        "/etc/group",          "/etc/shadow",
                                     "/run/.containerenv", "/dev/termination-log"};
constexpr std::array kDevDirs = {"/dev/shm",   "/dev/pts",  "/dev/mqueue", "/dev/hugepages", "/dev/dri",
                                 "/dev/input", "/dev/snd",  "/dev/bus",    "/dev/bus/usb",   "/dev/net",
                                 "/dev/disk",  "/dev/vfio", "/dev/cpu",    "/dev/mapper",    "/dev/serial"};

bool is_file_target(const std::string& dest) {
    std::string d = "/" + relative_target(dest);
    if (std::find(kFileTargets.begin(), kFileTargets.end(), d) != kFileTargets.end()) return true;
    return d.starts_with("/dev/") && std::find(kDevDirs.begin(), kDevDirs.end(), d) == kDevDirs.end();
}

std::string index_path(std::string_view base, size_t i) {
    return std::string(base) + "[" + std::to_string(i) + "]";
}

// Options liblxc understands; unsupported ones become gaps. "rro" is the init helper's (it makes the mount
// recursively read-only with mount_setattr, plan::InitConfig::recursive_readonly_mounts).
std::vector<std::string> lxc_options(const spec::Mount& m, const std::string& field, Builder& b) {
    std::vector<std::string> out;
    for (const auto& o : m.options) {
        if (o == "rro") continue;
        if (std::find(kUnsupportedOptions.begin(), kUnsupportedOptions.end(), o) !=
            kUnsupportedOptions.end()) {
            b.gap(field + ".options", "mount option \"" + o + "\" is not supported by liblxc; ignored");
            continue;
        }
        out.push_back(o);
    }
    return out;
}

struct MountState {
    bool dev_tmpfs = false;  // the spec mounts /dev: in spec order, not liblxc's autodev
    std::string cgroup_auto; // lxc.mount.auto value for a cgroup mount
};

std::string cgroup_auto_value(const spec::Mount& m, const plan::Plan& plan) {
    std::string v = contains(m.options, "ro") ? "cgroup:ro" : "cgroup:mixed";
    // With a new cgroup namespace liblxc skips cgroup auto-mounts unless forced.
    const auto* ns = plan.find_namespace("cgroup");
    if (ns && ns->path.empty()) v += ":force";
    return v;
}

constexpr std::array<const char*, 6> kStdDevices = {"null", "zero", "full", "random", "urandom", "tty"};

// The init helper's directory, read-only, at kHelperMount inside the container's /dev tmpfs.
MountEntry helper_entry(const HostEnv& env) {
    return {env.helper_dir, relative_target(kHelperMount), "none", {"bind", "create=dir", "ro"}, "", ""};
}

// A cgroup mount without a new cgroup namespace: like runc, a tmpfs at /sys/fs/cgroup holding, for each
// hierarchy, a bind mount of the container's own cgroup directory (so
// /sys/fs/cgroup/memory/memory.limit_in_bytes is the container's limit). Pure v2: the container's directory
// itself at /sys/fs/cgroup.
Status map_cgroup_binds(const spec::Mount& m, const std::string& field, const plan::Plan& plan,
                        const HostEnv& env, std::vector<MountEntry>& entries) {
    std::string dir = TRY(container_cgroup_dir(plan, env));
    std::vector<std::string> bind = {"bind", "nosuid", "nodev", "noexec", "create=dir"};
    if (contains(m.options, "ro")) bind.push_back("ro");
    if (env.cgroup_mode == cgroup::Mode::Unified) {
        entries.push_back({"/sys/fs/cgroup/" + dir, "sys/fs/cgroup", "none", bind, field, m.destination});
        return ok();
    }
    entries.push_back({"tmpfs",
                       "sys/fs/cgroup",
                       "tmpfs",
                       {"nosuid", "nodev", "noexec", "mode=755", "create=dir"},
                       field,
                       m.destination});
    for (const auto& h : *env.cgroup_hierarchies)
        entries.push_back({"/sys/fs/cgroup/" + h + "/" + dir, "sys/fs/cgroup/" + h, "none", bind, field, ""});
    return ok();
}

Status map_mount(const plan::Plan& plan, const HostEnv& env, size_t i, MountState& st,
                 std::vector<MountEntry>& entries, Builder& b) {
    const spec::Mount& m = plan.mounts[i];
    std::string field = index_path("mounts", i);
    std::string target = relative_target(m.destination);
    if (target.empty()) return fail(field + ".destination: mounting over / is not supported");
    // The fstype of a bind mount is ignored by the kernel; "none" keeps the entries uniform.
    std::string type = m.is_bind() ? "none" : m.type;
    if (type.empty()) return fail(field + ".type: required for a non-bind mount");

    if (target == "dev") {
        if (type != "tmpfs")
            return fail(field +
                        ": only a tmpfs can be mounted on /dev (the init helper is mounted under it)");
        // Mounted in spec order like every other entry (runc's order, which the OCI validation checks); the
        // helper directory goes right into it, then the standard device nodes (see map_mounts). A read-only
        // /dev is mounted writable and made read-only by the init helper once its nodes exist, as runc
        // remounts it at the end (plan::InitConfig::readonly_dev).
        std::vector<std::string> opts = lxc_options(m, field, b);
        std::erase(opts, std::string("ro"));
        opts.push_back("create=dir");
        entries.push_back({"tmpfs", "dev", "tmpfs", opts, field, m.destination});
        entries.push_back(helper_entry(env));
        for (const char* node : kStdDevices)
            entries.push_back({std::string("/dev/") + node,
                               std::string("dev/") + node,
                               "none",
                               {"bind", "create=file"},
                               "",
                               ""});
        st.dev_tmpfs = true;
        return ok();
    }
    if (type == "devpts" && target == "dev/pts") {
        // liblxc 5 detaches the topmost mount on /dev/pts after pivot_root, even with lxc.pty.max = 0
        // (measured: a single entry mounts, then the container has none). Two stacked instances in spec
        // order: liblxc takes the upper one, the spec's stays where the spec puts it (the mount order the OCI
        // validation checks). /dev/ptmx is the init helper's symlink to pts/ptmx.
        std::vector<std::string> opts = lxc_options(m, field, b);
        opts.push_back("create=dir");
        entries.push_back(
            {m.source.empty() ? "devpts" : m.source, target, "devpts", opts, field, m.destination});
        entries.push_back(
            {"devpts", target, "devpts", {"newinstance", "ptmxmode=0000"}, field, m.destination});
        return ok();
    }
    if (type == "cgroup" || type == "cgroup2") {
        if (target != "sys/fs/cgroup") {
            b.gap(field, "cgroup filesystems are only mounted at /sys/fs/cgroup (lxc.mount.auto); " +
                             m.destination + " is not mounted");
            return ok();
        }
        const auto* cgns = plan.find_namespace("cgroup");
        if (env.cgroup_hierarchies && !(cgns && cgns->path.empty()))
            return map_cgroup_binds(m, field, plan, env, entries);
        st.cgroup_auto = cgroup_auto_value(m, plan);
        return ok();
    }

    std::vector<std::string> opts = lxc_options(m, field, b);
    std::string source = m.source.empty() ? type : m.source;
    if (type == "sysfs") {
        // A sysfs instance shows the network namespace of the mounter; in the host's, runc bind-mounts the
        // host's /sys.
        const auto* net = plan.find_namespace("network");
        if (!net) {
            source = "/sys";
            type = "none";
            opts.insert(opts.begin(), "rbind");
        }
    }
    if ((m.type == "bind" || m.type == "rbind") && !contains(opts, "bind") && !contains(opts, "rbind"))
        opts.insert(opts.begin(), m.type);
    opts.push_back(m.is_bind() && is_file_target(m.destination) ? "create=file" : "create=dir");
    entries.push_back({source, target, type, opts, field, m.destination});
    return ok();
}

// Device nodes every container gets (runc's defaults; liblxc's autodev creates the same set).
bool autodev_creates(const spec::DeviceNode& d) {
    struct Std {
        const char* path;
        int64_t major, minor;
    };
    static constexpr std::array<Std, 6> kStd = {{{"/dev/null", 1, 3},
                                                 {"/dev/zero", 1, 5},
                                                 {"/dev/full", 1, 7},
                                                 {"/dev/random", 1, 8},
                                                 {"/dev/urandom", 1, 9},
                                                 {"/dev/tty", 5, 0}}};
    for (const auto& s : kStd)
        if (d.path == s.path && d.type == "c" && d.major == s.major && d.minor == s.minor) return true;
    return false;
}

// linux.devices in a user namespace: bind-mount the host node of the same path (mknod is refused there).
// Its owner and mode are the host node's.
void map_device_nodes(const plan::Plan& plan, std::vector<MountEntry>& entries, Builder& b) {
    // Without a user namespace the init helper makes the nodes with mknod (plan::InitConfig::devices).
    if (!plan.has_namespace("user")) return;
    for (size_t i = 0; i < plan.devices.size(); ++i) {
        const auto& d = plan.devices[i];
        std::string field = index_path("linux.devices", i);
        if (autodev_creates(d)) continue;
        if (d.type == "p") {
            b.gap(field, "fifo device nodes are not created");
            continue;
        }
        if ((d.uid && *d.uid != 0) || (d.gid && *d.gid != 0))
            b.gap(field + ".uid", "the host node " + d.path + " is bind-mounted with its own owner and mode");
        entries.push_back({d.path, relative_target(d.path), "none", {"bind", "create=file"}, field, d.path});
    }
}

Status map_mounts(const plan::Plan& plan, const HostEnv& env, Builder& b) {
    MountState st;
    std::vector<MountEntry> entries;
    for (size_t i = 0; i < plan.mounts.size(); ++i)
        TRY(map_mount(plan, env, i, st, entries, b));
    if (!st.dev_tmpfs) {
        // No /dev in the spec: liblxc's autodev tmpfs (mounted before every entry) with its standard nodes
        // holds the helper directory.
        b.add("lxc.autodev", "1");
        entries.insert(entries.begin(), helper_entry(env));
    } else {
        b.add("lxc.autodev", "0");
    }
    map_device_nodes(plan, entries, b);
    b.add("lxc.pty.max", "0");
    if (!st.cgroup_auto.empty()) b.add("lxc.mount.auto", st.cgroup_auto);
    for (auto& e : entries)
        b.mount(std::move(e));
    return ok();
}

// ---- namespaces and ids ----

std::string lxc_ns_name(const std::string& oci) {
    if (oci == "network") return "net";
    if (oci == "mount") return "mnt";
    return oci;
}

// liblxc 5.0.2 refuses lxc.namespace.keep together with lxc.namespace.clone, and with clone set it creates
// exactly the listed namespaces: the rest (including joined ones, which the executor setns()es into before
// starting) are inherited from the caller.
Status map_namespaces(const plan::Plan& plan, Builder& b) {
    std::vector<std::string> clone;
    for (const auto& ns : plan.namespaces)
        if (ns.path.empty()) clone.push_back(lxc_ns_name(ns.type));
    if (!contains(clone, "mnt"))
        return fail(
            "linux.namespaces: a new mount namespace is required (liblxc pivots into the rootfs in it)");
    b.add("lxc.namespace.clone", join(clone, " "));
    // A new network namespace gets only a loopback device, up as with runc (measured: "empty" + flags=up
    // brings lo up; "empty" alone leaves it down).
    if (contains(clone, "net")) {
        b.add("lxc.net.0.type", "empty");
        b.add("lxc.net.0.flags", "up");
    }
    return ok();
}

void map_idmaps(const plan::Plan& plan, Builder& b) {
    for (const auto& m : plan.uid_mappings)
        b.add("lxc.idmap", "u " + std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " +
                               std::to_string(m.size));
    for (const auto& m : plan.gid_mappings)
        b.add("lxc.idmap", "g " + std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " +
                               std::to_string(m.size));
}

// ---- security ----

void map_security(const plan::Plan& plan, const HostEnv& env, Builder& b) {
    const auto& p = plan.process;
    if (!p.apparmor_profile.empty() && p.apparmor_profile != "unconfined" && !env.apparmor_enabled)
        b.gap("process.apparmorProfile",
              "AppArmor is not enabled on this host; profile \"" + p.apparmor_profile + "\" is not applied");
    b.add("lxc.apparmor.profile", "unconfined");
    if (!p.selinux_label.empty() && !env.selinux_enabled)
        b.gap("process.selinuxLabel",
              "SELinux is not enabled on this host; label \"" + p.selinux_label + "\" is not applied");
    if (!plan.mount_label.empty())
        b.gap("linux.mountLabel", env.selinux_enabled
                                      ? "liblxc cannot label mounts; mounts keep their default context"
                                      : "SELinux is not enabled on this host; mounts are not labelled");
}

Status map_sysctl(const plan::Plan& plan, Builder& b) {
    for (const auto& [key, value] : plan.sysctl) {
        if (key.empty() || key.find_first_of(" \t/=") != std::string::npos ||
            key.find("..") != std::string::npos)
            return fail("linux.sysctl: invalid key \"" + key + "\"");
        b.add("lxc.sysctl." + key, value);
    }
    return ok();
}

// ---- cgroups ----

} // namespace

Result<std::string> requested_cgroup_dir(const plan::Plan& plan) {
    if (plan.cgroups_path.empty()) return std::string();
    std::vector<std::string> parts;
    size_t pos = 0;
    while (pos <= plan.cgroups_path.size()) {
        size_t next = plan.cgroups_path.find('/', pos);
        if (next == std::string::npos) next = plan.cgroups_path.size();
        std::string part = plan.cgroups_path.substr(pos, next - pos);
        if (part == "." || part == "..")
            return fail("linux.cgroupsPath: \"" + plan.cgroups_path +
                        "\" must not contain . or .. components");
        if (!part.empty()) parts.push_back(part);
        pos = next + 1;
    }
    if (parts.empty()) return fail("linux.cgroupsPath: \"" + plan.cgroups_path + "\" names the root cgroup");
    return join(parts, "/");
}

Result<std::string> container_cgroup_dir(const plan::Plan& plan, const HostEnv& env) {
    std::string dir = TRY(requested_cgroup_dir(plan));
    if (dir.empty()) return "proxmox-lxcri/" + plan.id + env.cgroup_suffix;
    if (env.cgroups_path_exists) return dir + "/" + kExistingCgroupLeaf + "-" + plan.id;
    return dir;
}

std::string default_cgroup_suffix(const std::string& root) {
    if (root.empty() || root == kDefaultRoot) return "";
    uint64_t h = 1469598103934665603ull; // FNV-1a
    for (unsigned char c : root)
        h = (h ^ c) * 1099511628211ull;
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
    return "-" + std::string(hex, 8);
}

namespace {

std::string rule_text(const spec::DeviceRule& r) {
    if (r.type == "a" && !r.major && !r.minor && r.access == "rwm") return "a";
    auto num = [](const std::optional<int64_t>& n) {
        return !n || *n < 0 ? std::string("*") : std::to_string(*n);
    };
    return r.type + " " + num(r.major) + ":" + num(r.minor) + " " + r.access;
}

// linux.resources.devices in order, then (when the spec restricts devices at all) what runc always allows:
// mknod of anything, the standard nodes, ptys, /dev/net/tun. The spec's linux.devices are created, not
// allowed: as in runc, only the resources' rules decide access (a deny rule for a node in linux.devices
// holds).
void map_device_rules(const plan::Plan& plan, const HostEnv& env, Builder& b) {
    if (plan.resources.devices.empty()) return;
    std::string prefix =
        env.cgroup_mode == cgroup::Mode::Unified ? "lxc.cgroup2.devices." : "lxc.cgroup.devices.";
    for (const auto& r : plan.resources.devices)
        b.add(prefix + (r.allow ? "allow" : "deny"), rule_text(r));
    static constexpr std::array kDefaults = {"c *:* m",   "b *:* m",     "c 1:3 rwm",   "c 1:5 rwm",
                                             "c 1:7 rwm", "c 1:8 rwm",   "c 1:9 rwm",   "c 5:0 rwm",
                                             "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm"};
    for (const char* rule : kDefaults)
        b.add(prefix + "allow", rule);
}

Status map_cgroups(const plan::Plan& plan, const HostEnv& env, Builder& b) {
    if (plan.id.empty() || plan.id.find('/') != std::string::npos || plan.id == "." || plan.id == "..")
        return fail("id \"" + plan.id + "\" cannot name a cgroup");
    // liblxc needs both dirs; each final directory must be created by liblxc itself, so the monitor cannot
    // share the container's directory nor sit above or below it. The monitor pivots to the parent dir on
    // exit.
    b.add("lxc.cgroup.dir.container", TRY(container_cgroup_dir(plan, env)));
    b.add("lxc.cgroup.dir.monitor", "proxmox-lxcri.monitor/" + plan.id + env.cgroup_suffix);
    b.add("lxc.cgroup.dir.monitor.pivot", "proxmox-lxcri.monitor");
    map_device_rules(plan, env, b);
    auto mapping = TRY(cgroup::map_resources(plan.resources, env.cgroup_mode, env.v2_controllers));
    for (const auto& s : mapping.settings) {
        std::string file = s.unified ? s.file : cgroup::blkio_weight_file(s.file, !env.blkio_bfq_only);
        b.add((s.unified ? "lxc.cgroup2." : "lxc.cgroup.") + file, s.value);
    }
    for (auto& g : mapping.gaps)
        b.gap(std::move(g.field), std::move(g.reason));
    return ok();
}

// ---- the rest ----

void map_identity(const plan::Plan& plan, const HostEnv& env, Builder& b) {
    if (!env.log_file.empty()) b.add("lxc.log.file", env.log_file);
    if (!env.log_level.empty()) b.add("lxc.log.level", env.log_level);
    if (!plan.hostname.empty()) b.add("lxc.uts.name", plan.hostname);
    if (!plan.domainname.empty()) b.gap("domainname", "liblxc has no setting for the NIS domain name");
    // dir: with managed=0: liblxc neither creates nor destroys the bundle's rootfs.
    b.add("lxc.rootfs.path", "dir:" + plan.rootfs);
    b.add("lxc.rootfs.managed", "0");
    if (!plan.rootfs_propagation.empty()) b.add("lxc.rootfs.options", plan.rootfs_propagation);
    // The read-only root is made by the init helper after the masked/readonly paths
    // (InitConfig.readonly_root).
    b.add("lxc.init.cmd", std::string(kHelperMount) + "/" + kInitName + " " + kHelperMount + "/init.json");
    b.add("lxc.tty.max", "0");
    b.add("lxc.console.path", "none");
}

Status check_lines(const Config& cfg) {
    for (const auto& k : cfg.keys)
        if (k.value.find_first_of("\r\n") != std::string::npos)
            return fail(k.key + ": value contains a line break");
    return ok();
}

} // namespace

bool MountEntry::is_bind() const {
    return contains(options, "bind") || contains(options, "rbind");
}

std::string mount_entry_text(const MountEntry& m) {
    std::string opts = m.options.empty() ? "defaults" : join(m.options, ",");
    return fstab_escape(m.source) + " " + fstab_escape(m.target) + " " + fstab_escape(m.type) + " " +
           fstab_escape(opts) + " 0 0";
}

void add_mount(Config& cfg, MountEntry m) {
    cfg.keys.push_back({"lxc.mount.entry", mount_entry_text(m)});
    cfg.mounts.push_back(std::move(m));
}

Status sync_mount_keys(Config& cfg) {
    size_t j = 0;
    for (auto& k : cfg.keys) {
        if (k.key != "lxc.mount.entry") continue;
        if (j == cfg.mounts.size()) return fail("more lxc.mount.entry keys than mount entries");
        k.value = mount_entry_text(cfg.mounts[j++]);
    }
    if (j != cfg.mounts.size()) return fail("fewer lxc.mount.entry keys than mount entries");
    return ok();
}

Result<Config> lxc_config(const plan::Plan& plan, const HostEnv& env) {
    Builder b;
    map_identity(plan, env, b);
    TRY(map_namespaces(plan, b));
    map_idmaps(plan, b);
    TRY(map_mounts(plan, env, b));
    map_security(plan, env, b);
    TRY(map_sysctl(plan, b));
    TRY(map_cgroups(plan, env, b));
    TRY(check_lines(b.cfg()));
    return std::move(b.cfg());
}

std::string to_text(const Config& cfg) {
    std::string out;
    for (const auto& k : cfg.keys)
        out += k.key + " = " + k.value + "\n";
    return out;
}

} // namespace lxcri::lxc
