// Rules of the Plan -> liblxc mapping that the golden files do not pin down one by one.
#include "backend/lxc/lxc_config.hpp"

#include <gtest/gtest.h>

#include <algorithm>

using namespace lxcri;

namespace {

plan::Plan base_plan() {
    plan::Plan p;
    p.id = "c1";
    p.rootfs = "/b/rootfs";
    p.process.args = {"/bin/sh"};
    p.namespaces = {{"mount", ""}, {"pid", ""}};
    return p;
}

lxc::HostEnv env() {
    return {.helper_dir = "/run/h", .cgroup_mode = cgroup::Mode::Hybrid};
}

std::vector<std::string> values(const lxc::Config& c, std::string_view key) {
    std::vector<std::string> out;
    for (const auto& k : c.keys)
        if (k.key == key) out.push_back(k.value);
    return out;
}

std::string value(const lxc::Config& c, std::string_view key) {
    auto v = values(c, key);
    return v.size() == 1 ? v[0] : "<" + std::to_string(v.size()) + " values>";
}

spec::Mount bind(std::string dest, std::string src, std::vector<std::string> opts = {"rbind"}) {
    return {
        .destination = std::move(dest), .type = "bind", .source = std::move(src), .options = std::move(opts)};
}

// The mount entry for the plan's only mount (entry 0 is the helper bind).
std::string only_entry(const plan::Plan& p) {
    auto c = lxc::lxc_config(p, env());
    EXPECT_TRUE(c) << c.error().message();
    if (!c) return "";
    auto v = values(*c, "lxc.mount.entry");
    EXPECT_EQ(v.size(), 2u);
    return v.size() == 2 ? v[1] : "";
}

} // namespace

TEST(LxcConfig, CreateFileOnlyForWellKnownFileTargets) {
    auto p = base_plan();
    struct Case {
        const char* dest;
        const char* create;
    };
    for (auto [dest, create] : std::vector<Case>{{"/etc/resolv.conf", "create=file"},
                                                 {"/etc/hosts", "create=file"},
                                                 {"/etc/hostname", "create=file"},
                                                 {"/run/.containerenv", "create=file"},
                                                 {"/dev/termination-log", "create=file"},
                                                 {"/dev/null", "create=file"},
                                                 {"/dev/net/tun", "create=file"},
                                                 {"/dev/shm", "create=dir"},
                                                 {"/dev/dri", "create=dir"},
                                                 {"/dev/pts", "create=dir"},
                                                 {"/etc", "create=dir"},
                                                 {"/etc/hosts.d", "create=dir"},
                                                 {"/data/file.txt", "create=dir"}}) {
        p.mounts = {bind(dest, "/src")};
        std::string e = only_entry(p);
        EXPECT_NE(e.find(create), std::string::npos) << dest << ": " << e;
    }
    // Non-bind mounts always get a directory, even at a "file" path.
    p.mounts = {{.destination = "/etc/hosts", .type = "tmpfs", .source = "tmpfs"}};
    EXPECT_EQ(only_entry(p), "tmpfs etc/hosts tmpfs create=dir 0 0");
}

TEST(LxcConfig, MountEntryFormatting) {
    auto p = base_plan();
    p.mounts = {bind("/a b/c\\d", "/src dir\ttab", {"rbind", "ro"})};
    EXPECT_EQ(only_entry(p), "/src\\040dir\\011tab a\\040b/c\\134d none rbind,ro,create=dir 0 0");

    p.mounts = {bind("//x//y/", "/s", {})};
    EXPECT_EQ(only_entry(p), "/s x/y none bind,create=dir 0 0");

    p.mounts = {{.destination = "/r", .type = "rbind", .source = "/s"}};
    EXPECT_EQ(only_entry(p), "/s r none rbind,create=dir 0 0");

    p.mounts = {{.destination = "/m", .type = "", .source = "/s", .options = {"bind", "nosuid"}}};
    EXPECT_EQ(only_entry(p), "/s m none bind,nosuid,create=dir 0 0");

    p.mounts = {{.destination = "/q", .type = "mqueue", .source = ""}};
    EXPECT_EQ(only_entry(p), "mqueue q mqueue create=dir 0 0");
}

TEST(LxcConfig, HelperMountComesFirstAndInitCmd) {
    auto p = base_plan();
    p.mounts = {{.destination = "/proc", .type = "proc", .source = "proc"}};
    auto c = lxc::lxc_config(p, env());
    ASSERT_TRUE(c) << c.error().message();
    auto entries = values(*c, "lxc.mount.entry");
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_EQ(entries[0], "/run/h dev/.lxcri none bind,create=dir,ro 0 0");
    EXPECT_EQ(value(*c, "lxc.init.cmd"), "/dev/.lxcri/init /dev/.lxcri/init.json");
    EXPECT_EQ(value(*c, "lxc.autodev"), "1");
    EXPECT_EQ(value(*c, "lxc.rootfs.path"), "dir:/b/rootfs");
    EXPECT_EQ(value(*c, "lxc.rootfs.managed"), "0");
    EXPECT_EQ(value(*c, "lxc.pty.max"), "0");
    EXPECT_TRUE(values(*c, "lxc.uts.name").empty());
    EXPECT_TRUE(values(*c, "lxc.net.0.type").empty());
}

TEST(LxcConfig, DevMounts) {
    auto p = base_plan();
    p.mounts = {
        {.destination = "/dev", .type = "tmpfs", .source = "tmpfs", .options = {"mode=755", "size=2m"}},
        {.destination = "/dev/pts", .type = "devpts", .source = "devpts", .options = {"newinstance"}}};
    auto c = lxc::lxc_config(p, env());
    ASSERT_TRUE(c) << c.error().message();
    // /dev is mounted in spec order (not by autodev), the helper directory and the standard nodes go into it;
    // devpts is two stacked entries (liblxc detaches the upper one).
    EXPECT_EQ(value(*c, "lxc.autodev"), "0");
    EXPECT_EQ(value(*c, "lxc.pty.max"), "0");
    auto entries = values(*c, "lxc.mount.entry");
    ASSERT_EQ(entries.size(), 10u);
    EXPECT_EQ(entries[8], "devpts dev/pts devpts newinstance,create=dir 0 0");
    EXPECT_EQ(entries[9], "devpts dev/pts devpts newinstance,ptmxmode=0000 0 0");
    EXPECT_EQ(entries[0], "tmpfs dev tmpfs mode=755,size=2m,create=dir 0 0");
    EXPECT_EQ(entries[1], "/run/h dev/.lxcri none bind,create=dir,ro 0 0");
    EXPECT_EQ(entries[2], "/dev/null dev/null none bind,create=file 0 0");
    EXPECT_EQ(entries[7], "/dev/tty dev/tty none bind,create=file 0 0");
    EXPECT_TRUE(c->gaps.empty());
    EXPECT_FALSE(plan::make_init_config(p).readonly_dev);

    // A read-only /dev is mounted writable (its nodes go into it) and made read-only by the init helper.
    p.mounts[0].options.push_back("ro");
    c = lxc::lxc_config(p, env());
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_EQ(values(*c, "lxc.mount.entry")[0], "tmpfs dev tmpfs mode=755,size=2m,create=dir 0 0");
    EXPECT_TRUE(plan::make_init_config(p).readonly_dev);
    EXPECT_TRUE(plan::make_init_config(p).recursive_readonly_mounts.empty());
    p.mounts[0].destination = "//dev/";
    EXPECT_TRUE(plan::make_init_config(p).readonly_dev);

    p.mounts = {bind("/dev", "/dev")};
    auto bad = lxc::lxc_config(p, env());
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message(),
              "mounts[0]: only a tmpfs can be mounted on /dev (the init helper is mounted under it)");
}

TEST(LxcConfig, UnsupportedMountOptionsAreGaps) {
    auto p = base_plan();
    p.mounts = {bind("/d", "/s", {"rbind", "rro", "nosuid", "tmpcopyup"})};
    auto c = lxc::lxc_config(p, env());
    ASSERT_TRUE(c);
    EXPECT_EQ(values(*c, "lxc.mount.entry")[1], "/s d none rbind,nosuid,create=dir 0 0");
    // "rro" is the init helper's (mount_setattr, AT_RECURSIVE): not handed to liblxc, not a gap.
    ASSERT_EQ(c->gaps.size(), 1u);
    EXPECT_EQ(c->gaps[0].reason, "mount option \"tmpcopyup\" is not supported by liblxc; ignored");
    EXPECT_EQ(plan::make_init_config(p).recursive_readonly_mounts, std::vector<std::string>{"/d"});
}

TEST(LxcConfig, CgroupMounts) {
    auto p = base_plan();
    p.mounts = {{.destination = "/sys/fs/cgroup", .type = "cgroup", .source = "cgroup", .options = {"ro"}}};
    auto c = lxc::lxc_config(p, env());
    ASSERT_TRUE(c);
    EXPECT_EQ(value(*c, "lxc.mount.auto"), "cgroup:ro");
    p.mounts[0].options = {"rw"};
    p.namespaces.push_back({"cgroup", ""});
    c = lxc::lxc_config(p, env());
    ASSERT_TRUE(c);
    EXPECT_EQ(value(*c, "lxc.mount.auto"), "cgroup:mixed:force");
    p.namespaces.back().path = "/proc/1/ns/cgroup";
    EXPECT_EQ(value(*lxc::lxc_config(p, env()), "lxc.mount.auto"), "cgroup:mixed");
}

TEST(LxcConfig, SysfsWithoutOwnNetworkNamespaceIsABind) {
    auto p = base_plan();
    p.mounts = {{.destination = "/sys", .type = "sysfs", .source = "sysfs", .options = {"ro"}}};
    EXPECT_EQ(only_entry(p), "/sys sys none rbind,ro,create=dir 0 0");
    p.namespaces.push_back({"network", ""});
    auto c = lxc::lxc_config(p, env());
    ASSERT_TRUE(c);
    EXPECT_EQ(values(*c, "lxc.mount.entry")[1], "sysfs sys sysfs ro,create=dir 0 0");
    EXPECT_EQ(value(*c, "lxc.net.0.type"), "empty");
    EXPECT_EQ(value(*c, "lxc.net.0.flags"), "up");
}

TEST(LxcConfig, Namespaces) {
    auto p = base_plan();
    p.namespaces = {{"user", ""}, {"mount", ""}, {"network", "/run/netns/x"}, {"ipc", ""}, {"time", ""}};
    auto c = lxc::lxc_config(p, env());
    ASSERT_TRUE(c);
    EXPECT_EQ(value(*c, "lxc.namespace.clone"), "user mnt ipc time");
    EXPECT_TRUE(values(*c, "lxc.namespace.keep").empty()) << "liblxc refuses keep together with clone";
    EXPECT_TRUE(values(*c, "lxc.net.0.type").empty());

    p.namespaces = {{"pid", ""}};
    auto bad = lxc::lxc_config(p, env());
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message(),
              "linux.namespaces: a new mount namespace is required (liblxc pivots into the rootfs in it)");
    p.namespaces = {{"mount", "/proc/1/ns/mnt"}};
    EXPECT_FALSE(lxc::lxc_config(p, env()));
}

TEST(LxcConfig, IdMaps) {
    auto p = base_plan();
    p.namespaces.push_back({"user", ""});
    p.uid_mappings = {{0, 100000, 65536}};
    p.gid_mappings = {{0, 200000, 1000}, {1000, 1000, 1}};
    auto c = lxc::lxc_config(p, env());
    ASSERT_TRUE(c);
    EXPECT_EQ(values(*c, "lxc.idmap"),
              (std::vector<std::string>{"u 0 100000 65536", "g 0 200000 1000", "g 1000 1000 1"}));
}

TEST(LxcConfig, CgroupDirs) {
    auto p = base_plan();
    auto c = lxc::lxc_config(p, env());
    ASSERT_TRUE(c);
    EXPECT_EQ(value(*c, "lxc.cgroup.dir.container"), "proxmox-lxcri/c1");
    EXPECT_EQ(value(*c, "lxc.cgroup.dir.monitor"), "proxmox-lxcri.monitor/c1");
    EXPECT_EQ(value(*c, "lxc.cgroup.dir.monitor.pivot"), "proxmox-lxcri.monitor");

    p.cgroups_path = "//machine.slice//ctr/";
    EXPECT_EQ(value(*lxc::lxc_config(p, env()), "lxc.cgroup.dir.container"), "machine.slice/ctr");
    p.cgroups_path = "/a/../b";
    auto bad = lxc::lxc_config(p, env());
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message(), "linux.cgroupsPath: \"/a/../b\" must not contain . or .. components");
    p.cgroups_path = "/";
    EXPECT_FALSE(lxc::lxc_config(p, env()));
    p.cgroups_path = "";
    p.id = "../x";
    EXPECT_FALSE(lxc::lxc_config(p, env()));
}

TEST(LxcConfig, DeviceRulesAndNodes) {
    auto p = base_plan();
    auto c = lxc::lxc_config(p, env());
    ASSERT_TRUE(c);
    for (const auto& k : c->keys)
        EXPECT_EQ(k.key.find("devices"), std::string::npos) << k.key;

    p.resources.devices = {{.allow = false, .type = "a", .access = "rwm"},
                           {.allow = true, .type = "c", .major = 10, .minor = std::nullopt, .access = "rw"}};
    p.devices = {{.path = "/dev/null", .type = "c", .major = 1, .minor = 3},
                 {.path = "/dev/kvm", .type = "c", .major = 10, .minor = 232}};
    c = lxc::lxc_config(p, env());
    ASSERT_TRUE(c);
    auto deny = values(*c, "lxc.cgroup.devices.deny");
    auto allow = values(*c, "lxc.cgroup.devices.allow");
    EXPECT_EQ(deny, std::vector<std::string>{"a"});
    ASSERT_GE(allow.size(), 3u);
    EXPECT_EQ(allow[0], "c 10:* rw");
    // linux.devices are created, not allowed: only the resources' rules decide (runc's way).
    EXPECT_EQ(std::count(allow.begin(), allow.end(), "c 10:232 rwm"), 0);
    EXPECT_EQ(allow.back(), "c 10:200 rwm");
    // Without a user namespace the init helper mknods the nodes: no bind mounts.
    EXPECT_EQ(values(*c, "lxc.mount.entry").size(), 1u);
    auto ic = plan::make_init_config(p);
    ASSERT_EQ(ic.devices.size(), 2u);
    EXPECT_EQ(ic.devices[1].path, "/dev/kvm");

    // In a user namespace mknod is refused: the host's node is bind-mounted (the standard ones come anyway).
    auto userns = p;
    userns.namespaces.push_back({.type = "user"});
    c = lxc::lxc_config(userns, env());
    ASSERT_TRUE(c);
    auto entries = values(*c, "lxc.mount.entry");
    ASSERT_EQ(entries.size(), 2u) << "/dev/null is created by lxc.autodev";
    EXPECT_EQ(entries[1], "/dev/kvm dev/kvm none bind,create=file 0 0");
    EXPECT_TRUE(plan::make_init_config(userns).devices.empty());

    auto unified = env();
    unified.cgroup_mode = cgroup::Mode::Unified;
    c = lxc::lxc_config(p, unified);
    ASSERT_TRUE(c);
    EXPECT_EQ(values(*c, "lxc.cgroup2.devices.deny"), std::vector<std::string>{"a"});
    EXPECT_TRUE(values(*c, "lxc.cgroup.devices.deny").empty());
}

TEST(LxcConfig, ResourcesGoThroughCgroupMapping) {
    auto p = base_plan();
    p.resources.pids_limit = 10;
    p.resources.memory = spec::Memory{.limit = 1048576};
    auto c = lxc::lxc_config(p, env());
    ASSERT_TRUE(c);
    EXPECT_EQ(value(*c, "lxc.cgroup.pids.max"), "10");
    EXPECT_EQ(value(*c, "lxc.cgroup.memory.limit_in_bytes"), "1048576");
    auto unified = env();
    unified.cgroup_mode = cgroup::Mode::Unified;
    c = lxc::lxc_config(p, unified);
    ASSERT_TRUE(c);
    EXPECT_EQ(value(*c, "lxc.cgroup2.pids.max"), "10");
    EXPECT_EQ(value(*c, "lxc.cgroup2.memory.max"), "1048576");

    p.resources.unified = {{"memory.high", "1000"}};
    auto legacy = env();
    legacy.cgroup_mode = cgroup::Mode::Legacy;
    EXPECT_FALSE(lxc::lxc_config(p, legacy)) << "unified resources on a v1-only host";
}

TEST(LxcConfig, SecurityLabels) {
    auto p = base_plan();
    p.process.apparmor_profile = "unconfined";
    auto c = lxc::lxc_config(p, env());
    ASSERT_TRUE(c);
    EXPECT_TRUE(c->gaps.empty());
    EXPECT_EQ(value(*c, "lxc.apparmor.profile"), "unconfined");

    p.process.apparmor_profile = "docker-default";
    p.process.selinux_label = "system_u:system_r:container_t:s0";
    p.mount_label = "system_u:object_r:container_file_t:s0";
    c = lxc::lxc_config(p, env());
    ASSERT_TRUE(c);
    EXPECT_EQ(c->gaps.size(), 3u);

    auto with_lsm = env();
    with_lsm.apparmor_enabled = true;
    with_lsm.selinux_enabled = true;
    c = lxc::lxc_config(p, with_lsm);
    ASSERT_TRUE(c);
    // The init helper applies both exec labels; only the mount label remains unsupported.
    ASSERT_EQ(c->gaps.size(), 1u);
    EXPECT_EQ(c->gaps[0].field, "linux.mountLabel");
    EXPECT_EQ(value(*c, "lxc.apparmor.profile"), "unconfined");
    EXPECT_TRUE(values(*c, "lxc.selinux.context").empty());
}

TEST(LxcConfig, SysctlAndLineBreaks) {
    auto p = base_plan();
    p.sysctl = {{"net.ipv4.ip_forward", "1"}};
    auto c = lxc::lxc_config(p, env());
    ASSERT_TRUE(c);
    EXPECT_EQ(value(*c, "lxc.sysctl.net.ipv4.ip_forward"), "1");

    p.sysctl = {{"kernel/../../x", "1"}};
    EXPECT_FALSE(lxc::lxc_config(p, env()));
    p.sysctl = {{"kernel.x", "1\nlxc.init.cmd = /evil"}};
    auto bad = lxc::lxc_config(p, env());
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message(), "lxc.sysctl.kernel.x: value contains a line break");

    p.sysctl.clear();
    p.hostname = "a\nb";
    p.namespaces.push_back({"uts", ""});
    EXPECT_FALSE(lxc::lxc_config(p, env()));
}

TEST(LxcConfig, IdentityKeys) {
    auto p = base_plan();
    p.hostname = "h";
    p.domainname = "example.org";
    p.namespaces.push_back({"uts", ""});
    p.rootfs_propagation = "rshared";
    auto e = env();
    e.log_file = "/var/log/x.log";
    e.log_level = "DEBUG";
    auto c = lxc::lxc_config(p, e);
    ASSERT_TRUE(c);
    EXPECT_EQ(value(*c, "lxc.uts.name"), "h");
    EXPECT_EQ(value(*c, "lxc.rootfs.options"), "rshared");
    EXPECT_EQ(value(*c, "lxc.log.file"), "/var/log/x.log");
    EXPECT_EQ(value(*c, "lxc.log.level"), "DEBUG");
    EXPECT_EQ(value(*c, "lxc.tty.max"), "0");
    EXPECT_EQ(value(*c, "lxc.console.path"), "none");
    ASSERT_EQ(c->gaps.size(), 1u);
    EXPECT_EQ(c->gaps[0].field, "domainname");
    EXPECT_EQ(lxc::to_text({.keys = {{"a", "1"}, {"b", "x y"}}, .gaps = {}}), "a = 1\nb = x y\n");
}

// Kernels without CFQ have only blkio.bfq.weight{,_device}: the keys liblxc writes follow (runc's
// detectWeightFilenames).
TEST(LxcConfig, BlkioWeightOnBfqOnlyHosts) {
    auto p = base_plan();
    p.resources.block_io = spec::BlockIO{};
    p.resources.block_io->weight = 500;
    auto e = env();
    auto c = lxc::lxc_config(p, e);
    ASSERT_TRUE(c);
    EXPECT_EQ(values(*c, "lxc.cgroup.blkio.weight"), std::vector<std::string>{"500"});
    e.blkio_bfq_only = true;
    c = lxc::lxc_config(p, e);
    ASSERT_TRUE(c);
    EXPECT_TRUE(values(*c, "lxc.cgroup.blkio.weight").empty());
    EXPECT_EQ(values(*c, "lxc.cgroup.blkio.bfq.weight"), std::vector<std::string>{"500"});
}
