// Real overlay mounts and real directories (needs root): layers shared, containers private, nothing left
// behind.
#include "storage/driver.hpp"
#include "sys/fs.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

using namespace lxcri;
using namespace lxcri::storage;

namespace {

int mount_count() {
    std::ifstream in("/proc/self/mountinfo");
    int n = 0;
    for (std::string line; std::getline(in, line);)
        ++n;
    return n;
}

Status put(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
    return sys::exists(path) ? ok() : fail("cannot write " + path);
}

class Storage : public ::testing::TestWithParam<const char*> {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/storage-test-XXXXXX";
        root_ = mkdtemp(tmpl);
        mounts_before_ = mount_count();
        auto d = open_driver(GetParam(), root_);
        ASSERT_TRUE(d) << d.error().message();
        driver_ = std::move(*d);
    }
    void TearDown() override {
        EXPECT_EQ(mount_count(), mounts_before_);
        (void)sys::remove_all(root_);
    }
    std::string read(const std::string& p) { return sys::read_file(p).value_or("<missing>"); }

    // base: /etc/os-release, /etc/old; top: /etc/app.conf and a whiteout of /etc/old.
    std::vector<Layer> image() {
        return {
            {"aaaa",
             [this](const std::string& d, Whiteouts) -> Status {
                 ++unpacks_;
                 TRY(sys::mkdir_p(d + "/etc"));
                 TRY(put(d + "/etc/os-release", "base"));
                 return put(d + "/etc/old", "old");
             }},
            {"bbbb",
             [this](const std::string& d, Whiteouts w) -> Status {
                 ++unpacks_;
                 TRY(sys::mkdir_p(d + "/etc"));
                 if (w == Whiteouts::apply) {
                     if (::unlink((d + "/etc/old").c_str()) < 0) return fail_errno("unlink");
                 } else if (::mknod((d + "/etc/old").c_str(), S_IFCHR, makedev(0, 0)) < 0) {
                     return fail_errno("mknod");
                 }
                 return put(d + "/etc/app.conf", "app");
             }},
        };
    }

    std::string root_;
    int mounts_before_ = 0;
    std::unique_ptr<Driver> driver_;
    std::atomic<int> unpacks_ = 0;
};

TEST_P(Storage, ContainersSeeTheImageAndWritePrivately) {
    auto layers = image();
    auto a = driver_->prepare("a", layers);
    ASSERT_TRUE(a) << a.error().message();
    auto b = driver_->prepare("b", layers);
    ASSERT_TRUE(b) << b.error().message();
    EXPECT_EQ(*a, root_ + "/containers/a/rootfs");
    for (auto& r : {*a, *b}) {
        EXPECT_EQ(read(r + "/etc/os-release"), "base");
        EXPECT_EQ(read(r + "/etc/app.conf"), "app");
        EXPECT_FALSE(sys::exists(r + "/etc/old"));
    }
    ASSERT_TRUE(put(*a + "/etc/os-release", "changed by a"));
    EXPECT_EQ(read(*b + "/etc/os-release"), "base");
    bool overlay = std::string(GetParam()) == "overlay";
    // overlay: each layer unpacked once for both containers; dir: once per container.
    EXPECT_EQ(unpacks_, overlay ? 2 : 4);
    if (overlay) {
        EXPECT_EQ(read(root_ + "/layers/aaaa/diff/etc/os-release"), "base");
        EXPECT_EQ(read(root_ + "/containers/a/upper/etc/os-release"), "changed by a");
        EXPECT_EQ(mount_count(), mounts_before_ + 2);
    }
    ASSERT_TRUE(driver_->destroy("a"));
    ASSERT_TRUE(driver_->destroy("b"));
    EXPECT_TRUE(driver_->destroy("b")); // twice: no error
    EXPECT_TRUE(sys::list_dir(root_ + "/containers").empty());
}

TEST_P(Storage, FailedUnpackLeavesNothing) {
    auto layers = image();
    layers[1].unpack = [](const std::string& d, Whiteouts) -> Status {
        std::ofstream(d + "/partial") << "x";
        return fail("disk full", ENOSPC);
    };
    auto r = driver_->prepare("c", layers);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("layer bbbb: disk full"), std::string::npos) << r.error().message();
    EXPECT_FALSE(sys::exists(root_ + "/containers/c"));
    EXPECT_FALSE(sys::exists(root_ + "/layers/bbbb"));
    EXPECT_FALSE(sys::exists(root_ + "/layers/bbbb.tmp"));
    // The next attempt with a working layer succeeds.
    auto ok = driver_->prepare("c", image());
    ASSERT_TRUE(ok) << ok.error().message();
    EXPECT_EQ(read(*ok + "/etc/app.conf"), "app");
    EXPECT_TRUE(driver_->destroy("c"));
}

TEST_P(Storage, RefusesBadIdsAndDuplicates) {
    auto layers = image();
    for (std::string id : {"", ".", "..", "a/b", "../x"})
        EXPECT_FALSE(driver_->prepare(id, layers)) << id;
    ASSERT_TRUE(driver_->prepare("dup", layers));
    auto again = driver_->prepare("dup", layers);
    ASSERT_FALSE(again);
    EXPECT_NE(again.error().message().find("already"), std::string::npos);
    EXPECT_EQ(read(root_ + "/containers/dup/rootfs/etc/app.conf"), "app"); // the first one is intact
    EXPECT_TRUE(driver_->destroy("dup"));
}

// Every verb a driver's caps() says it cannot do is refused as Unsupported, naming the driver; what it says
// it can do works.
TEST_P(Storage, CapsSayWhatTheDriverCannotDo) {
    ASSERT_TRUE(driver_->prepare("c", image()));
    Caps caps = driver_->caps();
    auto refused = [&](const Status& s) {
        return !s && s.error().kind() == ErrorKind::Unsupported &&
               s.error().message().find(std::string(driver_->name())) != std::string::npos;
    };
    EXPECT_EQ(!caps.snapshot, refused(driver_->snapshot("c", "s1")));
    EXPECT_EQ(!caps.snapshot, refused(driver_->rollback("c", "s1")));
    if (!caps.snapshot) {
        EXPECT_FALSE(driver_->list_snapshots("c"));
    }
    EXPECT_EQ(!caps.quota, refused(driver_->set_quota("c", Quota{.limit_bytes = 1 << 20})));
    auto cl = driver_->clone("c", "", "c2");
    if (caps.clone) {
        ASSERT_TRUE(cl) << cl.error().message();
        EXPECT_EQ(read(*cl + "/etc/app.conf"), "app");
        ASSERT_TRUE(sys::write_file(*cl + "/etc/app.conf", "changed"));
        EXPECT_EQ(read(root_ + "/containers/c/rootfs/etc/app.conf"), "app"); // a copy, not a link
        EXPECT_FALSE(driver_->clone("c", "", "c2"));                         // taken
        EXPECT_TRUE(driver_->destroy("c2"));
    } else {
        ASSERT_FALSE(cl);
        EXPECT_EQ(cl.error().kind(), ErrorKind::Unsupported);
        EXPECT_FALSE(sys::exists(root_ + "/containers/c2"));
    }
    EXPECT_TRUE(driver_->destroy("c"));
    EXPECT_FALSE(sys::exists(root_ + "/containers/c"));
}

INSTANTIATE_TEST_SUITE_P(Drivers, Storage, ::testing::Values("dir", "overlay"));

TEST(StorageOverlay, ConcurrentContainersUnpackEachLayerOnce) {
    char tmpl[] = "/tmp/storage-test-XXXXXX";
    std::string root = mkdtemp(tmpl);
    int before = mount_count();
    std::atomic<int> unpacks = 0;
    std::vector<Layer> layers = {{"cccc", [&](const std::string& d, Whiteouts) -> Status {
                                      ++unpacks;
                                      usleep(50000);
                                      return put(d + "/f", "f");
                                  }}};
    std::vector<std::thread> threads;
    std::atomic<int> good = 0;
    for (int i = 0; i < 4; ++i) {
        threads.emplace_back([&, i] {
            auto d = open_driver("overlay", root);
            if (d && (*d)->prepare("t" + std::to_string(i), layers)) ++good;
        });
    }
    for (auto& t : threads)
        t.join();
    EXPECT_EQ(good, 4);
    EXPECT_EQ(unpacks, 1);
    auto d = open_driver("overlay", root);
    ASSERT_TRUE(d);
    for (int i = 0; i < 4; ++i)
        EXPECT_TRUE((*d)->destroy("t" + std::to_string(i)));
    EXPECT_EQ(mount_count(), before);
    (void)sys::remove_all(root);
}

TEST(StorageDriver, UnknownDriverAndRelativeRoot) {
    auto unknown = open_driver("zfs", "/tmp/x");
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().kind(), ErrorKind::Invalid);
    EXPECT_EQ(unknown.error().message(), "unknown storage driver \"zfs\" (have: dir, overlay)");
    EXPECT_FALSE(open_driver("overlay", "relative/root"));
    // The default is the host's: overlay where the kernel lists overlayfs, else dir.
    std::ifstream in("/proc/filesystems");
    bool overlay = false;
    for (std::string line; std::getline(in, line);)
        overlay = overlay || line.substr(line.find_last_of(" \t") + 1) == "overlay";
    EXPECT_EQ(default_driver(), overlay ? "overlay" : "dir");
}

} // namespace
