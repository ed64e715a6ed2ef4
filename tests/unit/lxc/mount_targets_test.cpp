// resolve_mount_targets against real rootfs directories: the lxc.mount.entry targets liblxc gets are resolved
// inside the rootfs and already exist there (no create=), except below an earlier entry's mount; nothing is
// ever created through a symlink on the host ("host" stands for a host directory the rootfs's symlinks point
// at).
#include "backend/lxc/lxc_config.hpp"
#include "backend/lxc/mount_targets.hpp"
#include "plan/plan.hpp"
#include "spec/spec.hpp"
#include "sys/fs.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

using namespace lxcri;

namespace {

class MountTargets : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/mount-targets-test-XXXXXX";
        base_ = mkdtemp(tmpl);
        rootfs_ = base_ + "/rootfs";
        host_ = base_ + "/host";
        src_file_ = base_ + "/src-file";
        src_dir_ = base_ + "/src-dir";
        ASSERT_TRUE(sys::mkdir_p(rootfs_));
        ASSERT_TRUE(sys::mkdir_p(host_));
        ASSERT_TRUE(sys::mkdir_p(src_dir_));
        std::ofstream(src_file_) << "src";
        hostrel_ = host_.substr(1);
    }
    void TearDown() override { (void)sys::remove_all(base_); }

    void link(const std::string& target, const std::string& rel) {
        ASSERT_EQ(::symlink(target.c_str(), (rootfs_ + "/" + rel).c_str()), 0) << rel;
    }
    bool is(const std::string& rel, mode_t type) {
        struct stat st {};
        return ::lstat((rootfs_ + "/" + rel).c_str(), &st) == 0 && (st.st_mode & S_IFMT) == type;
    }
    bool exists(const std::string& rel) {
        struct stat st {};
        return ::lstat((rootfs_ + "/" + rel).c_str(), &st) == 0;
    }
    std::vector<std::string> host_entries() { return sys::list_dir(host_); }

    // A spec mount (origin mounts[i], destination "/" + target unless given).
    static lxc::MountEntry spec_mount(size_t i, std::string source, std::string target, std::string type,
                                      std::vector<std::string> opts, std::string dest = "") {
        if (dest.empty()) dest = "/" + target;
        return {std::move(source),
                std::move(target),
                std::move(type),
                std::move(opts),
                "mounts[" + std::to_string(i) + "]",
                std::move(dest)};
    }
    static std::vector<std::string> entry_keys(const lxc::Config& c) {
        std::vector<std::string> out;
        for (const auto& k : c.keys)
            if (k.key == "lxc.mount.entry") out.push_back(k.value);
        return out;
    }

    std::string base_, rootfs_, host_, hostrel_, src_file_, src_dir_;
};

} // namespace

TEST_F(MountTargets, SymlinkedEtcTargetsAreResolvedAndCreatedInsideTheRootfs) {
    link(host_, "etc");
    lxc::Config c;
    lxc::add_mount(c, spec_mount(0, "proc", "proc", "proc", {"nosuid", "create=dir"}));
    lxc::add_mount(c, spec_mount(1, "tmpfs", "etc/newdir/sub", "tmpfs", {"nosuid", "create=dir"}));
    lxc::add_mount(c, spec_mount(2, src_file_, "etc/hosts", "none", {"rbind", "create=file", "ro"}));
    auto r = lxc::resolve_mount_targets(c, rootfs_);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(entry_keys(c), (std::vector<std::string>{
                                 "proc proc proc nosuid 0 0",
                                 "tmpfs " + hostrel_ + "/newdir/sub tmpfs nosuid 0 0",
                                 src_file_ + " " + hostrel_ + "/hosts none rbind,ro 0 0",
                             }));
    EXPECT_TRUE(is("proc", S_IFDIR));
    EXPECT_TRUE(is(hostrel_ + "/newdir/sub", S_IFDIR));
    EXPECT_TRUE(is(hostrel_ + "/hosts", S_IFREG));
    EXPECT_TRUE(host_entries().empty());
}

TEST_F(MountTargets, EntriesOnAnEarlierEntrysMountAreLeftToLiblxc) {
    lxc::Config c;
    lxc::add_mount(c, spec_mount(0, "tmpfs", "dev", "tmpfs", {"mode=755", "create=dir"}));
    lxc::add_mount(c, {src_dir_, "dev/.lxcri", "none", {"bind", "create=dir", "ro"}, "", ""});
    lxc::add_mount(c, {"/dev/null", "dev/null", "none", {"bind", "create=file"}, "", ""});
    lxc::add_mount(c, spec_mount(1, "devpts", "dev/pts", "devpts", {"newinstance", "create=dir"}));
    lxc::add_mount(c, spec_mount(1, "devpts", "dev/pts", "devpts", {"newinstance", "ptmxmode=0000"}));
    lxc::add_mount(c, spec_mount(2, "sysfs", "sys", "sysfs", {"ro", "create=dir"}));
    lxc::add_mount(c, spec_mount(3, "tmpfs", "sys/fs/cgroup", "tmpfs", {"mode=755", "create=dir"}));
    lxc::add_mount(c, spec_mount(3, src_dir_, "sys/fs/cgroup/memory", "none", {"bind", "create=dir", "ro"}));
    lxc::add_mount(c, {src_file_, "dev/.lxcri/init", "none", {"bind", "ro"}, "", ""});
    auto before = entry_keys(c);
    auto r = lxc::resolve_mount_targets(c, rootfs_);
    ASSERT_TRUE(r) << r.error().message();
    auto after = entry_keys(c);
    ASSERT_EQ(after.size(), before.size());
    EXPECT_EQ(after[0], "tmpfs dev tmpfs mode=755 0 0");
    EXPECT_EQ(after[5], "sysfs sys sysfs ro 0 0");
    for (size_t i : {1, 2, 3, 4, 6, 7, 8})
        EXPECT_EQ(after[i], before[i]) << i;
    EXPECT_TRUE(is("dev", S_IFDIR));
    EXPECT_TRUE(is("sys", S_IFDIR));
    // Below the mounts to come nothing is made in the rootfs itself: liblxc makes it on the new filesystems.
    EXPECT_TRUE(sys::list_dir(rootfs_ + "/dev").empty());
    EXPECT_TRUE(sys::list_dir(rootfs_ + "/sys").empty());
}

TEST_F(MountTargets, AutodevCountsAsAMountOnDev) {
    lxc::Config c;
    c.keys.push_back({"lxc.autodev", "1"});
    lxc::add_mount(c, {src_dir_, "dev/.lxcri", "none", {"bind", "create=dir", "ro"}, "", ""});
    lxc::add_mount(c, spec_mount(0, src_file_, "dev/termination-log", "none", {"bind", "create=file"}));
    auto before = entry_keys(c);
    ASSERT_TRUE(lxc::resolve_mount_targets(c, rootfs_));
    EXPECT_EQ(entry_keys(c), before);
    EXPECT_FALSE(exists("dev"));
}

// An entry below a resolved one lands on that one's mount, wherever the symlinks put it.
TEST_F(MountTargets, BelowARewrittenEntryFollowsItsResolvedTarget) {
    link(host_, "etc");
    lxc::Config c;
    lxc::add_mount(c, spec_mount(0, "tmpfs", "etc/newdir", "tmpfs", {"create=dir"}));
    lxc::add_mount(c, spec_mount(1, "tmpfs", "etc/newdir/sub", "tmpfs", {"create=dir"}));
    ASSERT_TRUE(lxc::resolve_mount_targets(c, rootfs_));
    EXPECT_EQ(entry_keys(c),
              (std::vector<std::string>{"tmpfs " + hostrel_ + "/newdir tmpfs defaults 0 0",
                                        "tmpfs " + hostrel_ + "/newdir/sub tmpfs create=dir 0 0"}));
    EXPECT_TRUE(is(hostrel_ + "/newdir", S_IFDIR));
    EXPECT_FALSE(exists(hostrel_ + "/newdir/sub"));
    EXPECT_TRUE(host_entries().empty());
}

// var/run -> /run, a tmpfs at /run, then a bind at /var/run/secrets/token: on the tmpfs, as with runc.
TEST_F(MountTargets, ThroughASymlinkOntoAnEarlierMount) {
    ASSERT_TRUE(sys::mkdir_p(rootfs_ + "/var"));
    ASSERT_TRUE(sys::mkdir_p(rootfs_ + "/run"));
    link("/run", "var/run");
    lxc::Config c;
    lxc::add_mount(c, spec_mount(0, "tmpfs", "run", "tmpfs", {"create=dir"}));
    lxc::add_mount(c, spec_mount(1, src_file_, "var/run/secrets/token", "none", {"bind", "create=dir"}));
    ASSERT_TRUE(lxc::resolve_mount_targets(c, rootfs_));
    EXPECT_EQ(entry_keys(c)[1], src_file_ + " run/secrets/token none bind,create=file 0 0");
    EXPECT_FALSE(exists("run/secrets"));
    // Out of that mount again with "..": refused, naming the mount.
    lxc::Config d;
    lxc::add_mount(d, spec_mount(0, "tmpfs", "run", "tmpfs", {"create=dir"}));
    lxc::add_mount(d, spec_mount(1, "tmpfs", "x", "tmpfs", {"create=dir"}, "/var/run/a/../../etc/x"));
    auto r = lxc::resolve_mount_targets(d, rootfs_);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("mounts[1] (/var/run/a/../../etc/x)"), std::string::npos)
        << r.error().message();
}

TEST_F(MountTargets, ErrorsNameTheMountAndItsDestination) {
    ASSERT_TRUE(sys::mkdir_p(rootfs_ + "/etc"));
    std::ofstream(rootfs_ + "/etc/passwd") << "root";
    lxc::Config c;
    lxc::add_mount(c, spec_mount(0, "proc", "proc", "proc", {"create=dir"}));
    lxc::add_mount(c, spec_mount(1, "tmpfs", "etc/passwd/x", "tmpfs", {"create=dir"}));
    auto r = lxc::resolve_mount_targets(c, rootfs_);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), ENOTDIR);
    EXPECT_NE(r.error().message().find("mounts[1] (/etc/passwd/x)"), std::string::npos)
        << r.error().message();
    link("loop2", "loop1");
    link("loop1", "loop2");
    lxc::Config d;
    lxc::add_mount(d, spec_mount(4, "tmpfs", "loop1/x", "tmpfs", {"create=dir"}));
    auto l = lxc::resolve_mount_targets(d, rootfs_);
    ASSERT_FALSE(l);
    EXPECT_EQ(l.error().code(), ELOOP);
    EXPECT_NE(l.error().message().find("mounts[4] (/loop1/x)"), std::string::npos) << l.error().message();
    // The rootfs itself (through a symlink to /).
    link("/", "up");
    lxc::Config e;
    lxc::add_mount(e, spec_mount(2, "tmpfs", "up", "tmpfs", {"create=dir"}));
    auto u = lxc::resolve_mount_targets(e, rootfs_);
    ASSERT_FALSE(u);
    EXPECT_NE(u.error().message().find("mounts[2] (/up): resolves to the rootfs itself"), std::string::npos)
        << u.error().message();
}

// A bind mount's missing target is what its source is (runc's rule), whatever create= the mapping guessed.
TEST_F(MountTargets, ABindTargetIsMadeAsItsSourceIs) {
    lxc::Config c;
    lxc::add_mount(c, spec_mount(0, src_dir_, "etc/hosts", "none", {"bind", "create=file"}));
    lxc::add_mount(c, spec_mount(1, src_file_, "data/f", "none", {"rbind", "create=dir"}));
    lxc::add_mount(c, spec_mount(2, base_ + "/missing", "data/m", "none", {"rbind", "create=dir"}));
    ASSERT_TRUE(lxc::resolve_mount_targets(c, rootfs_));
    EXPECT_TRUE(is("etc/hosts", S_IFDIR));
    EXPECT_TRUE(is("data/f", S_IFREG));
    EXPECT_TRUE(is("data/m", S_IFDIR));
}

TEST_F(MountTargets, DotDotInTheDestinationIsAppliedAfterTheSymlink) {
    link(host_, "etc");
    ASSERT_TRUE(sys::mkdir_p(rootfs_ + "/bin"));
    lxc::Config c;
    lxc::add_mount(
        c, spec_mount(0, src_file_, "etc/hosts", "none", {"bind", "create=file"}, "/bin/../etc/./hosts"));
    ASSERT_TRUE(lxc::resolve_mount_targets(c, rootfs_));
    EXPECT_EQ(entry_keys(c)[0], src_file_ + " " + hostrel_ + "/hosts none bind 0 0");
    EXPECT_TRUE(host_entries().empty());
}

// The whole pipeline for podman's mounts on a plain rootfs: the targets stay as the mapping wrote them, the
// top-level ones exist in the rootfs and lose create=, the rest is unchanged.
TEST_F(MountTargets, PodmanLikeSpecOnAPlainRootfs) {
    auto text = sys::read_file(std::string(LXCRI_SOURCE_DIR) + "/tests/golden/podman-like.json");
    ASSERT_TRUE(text);
    auto s = spec::parse(*text);
    ASSERT_TRUE(s) << s.error().message();
    auto p = plan::make_plan(*s, {.id = "ID", .bundle = "/bundle"});
    ASSERT_TRUE(p) << p.error().message();
    auto c = lxc::lxc_config(*p, {.helper_dir = src_dir_,
                                  .cgroup_mode = cgroup::Mode::Hybrid,
                                  .cgroup_hierarchies = std::vector<std::string>{"memory"}});
    ASSERT_TRUE(c) << c.error().message();
    auto before = c->mounts;
    ASSERT_TRUE(lxc::resolve_mount_targets(*c, rootfs_));
    const std::vector<std::string> top = {
        "proc",        "dev", "sys", "etc/hostname", "etc/resolv.conf", "etc/hosts", "run/.containerenv",
        "srv/my data", "run"};
    ASSERT_EQ(c->mounts.size(), before.size());
    size_t resolved = 0;
    for (size_t i = 0; i < before.size(); ++i) {
        const auto& a = before[i];
        const auto& b = c->mounts[i];
        EXPECT_EQ(b.target, a.target) << i;
        if (std::find(top.begin(), top.end(), a.target) != top.end()) {
            ++resolved;
            EXPECT_TRUE(exists(a.target)) << a.target;
            EXPECT_TRUE(std::none_of(b.options.begin(), b.options.end(), [](const std::string& o) {
                return o.starts_with("create=");
            })) << a.target;
        } else {
            EXPECT_EQ(b.options, a.options) << a.target;
        }
    }
    EXPECT_EQ(resolved, top.size());
    EXPECT_FALSE(exists("dev/null"));
    EXPECT_FALSE(exists("dev/pts"));
    EXPECT_EQ(lxc::to_text(*c).find("\nlxc.mount.entry = proc proc proc nosuid,noexec,nodev 0 0\n") !=
                  std::string::npos,
              true);
}
