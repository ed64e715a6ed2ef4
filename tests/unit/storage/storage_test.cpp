// Real overlay mounts, real directories, a real zfs pool (zfs-fuse on a file vdev) and a real btrfs (a loop
// device), made and removed by tests/storage/fixture.sh around each test (needs root): layers shared,
// containers private, snapshots, rollback, clones, quotas, nothing left behind.
#include "storage/driver.hpp"
#include "sys/fs.hpp"
#include "sys/proc.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

using namespace lxcri;
using namespace lxcri::storage;

namespace {

// Mounts at or under `under` (others' mounts come and go on this machine while the tests run).
int mount_count(const std::string& under) {
    std::ifstream in("/proc/self/mountinfo");
    int n = 0;
    for (std::string line; std::getline(in, line);) {
        std::istringstream f(line);
        std::string id, parent, dev, root, mp;
        f >> id >> parent >> dev >> root >> mp;
        if (mp == under || mp.starts_with(under + "/")) ++n;
    }
    return n;
}

Status put(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
    return sys::exists(path) ? ok() : fail("cannot write " + path);
}

// tests/storage/fixture.sh ARGS...; the error carries its stderr.
Status fixture(std::vector<std::string> args) {
    args.insert(args.begin(), {"bash", std::string(LXCRI_SOURCE_DIR) + "/tests/storage/fixture.sh"});
    auto r = sys::run(args, {}, "", std::chrono::minutes(2));
    if (!r) return std::unexpected(std::move(r).error());
    if (r->status != 0) return fail("fixture " + args[2] + ": " + r->err);
    return ok();
}

// A filesystem for one test: a plain directory, a zfs pool (its root dataset mounted at root()) or a btrfs.
class Backing {
  public:
    Status up(const std::string& kind) {
        char tmpl[] = "/tmp/storage-test-XXXXXX";
        if (!mkdtemp(tmpl)) return fail_errno("mkdtemp");
        dir_ = tmpl;
        kind_ = kind;
        if (kind == "zfs") {
            static int n = 0;
            pool_ = "lxcri-ut-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
            root_ = dir_ + "/pool";
            return fixture({"zfs-up", pool_, root_, "256", std::to_string(::getpid())});
        }
        if (kind == "btrfs") {
            root_ = dir_ + "/btrfs";
            return fixture({"btrfs-up", root_, "300"});
        }
        root_ = dir_;
        return ok();
    }
    Status down() {
        Status s = ok();
        if (kind_ == "zfs") s = fixture({"zfs-down", pool_, std::to_string(::getpid())});
        if (kind_ == "btrfs") s = fixture({"btrfs-down", root_});
        if (!dir_.empty()) (void)sys::remove_all(dir_);
        kind_.clear();
        dir_.clear();
        return s;
    }
    ~Backing() { (void)down(); }
    const std::string& root() const { return root_; }
    const std::string& pool() const { return pool_; }

  private:
    std::string kind_, dir_, root_, pool_;
};

bool zfs_has(const std::string& name) {
    auto r = sys::run({"zfs", "list", "-H", "-o", "name", name}, {}, "", std::chrono::minutes(1));
    return r && r->status == 0;
}

class Storage : public ::testing::TestWithParam<const char*> {
  protected:
    void SetUp() override {
        auto up = backing_.up(GetParam());
        ASSERT_TRUE(up) << up.error().message();
        root_ = backing_.root();
        mounts_before_ = mount_count(root_);
        auto d = open_driver(GetParam(), root_);
        ASSERT_TRUE(d) << d.error().message();
        driver_ = std::move(*d);
        mounts_before_ = mount_count(root_); // zfs: the containers and layers datasets are mounted by open
    }
    void TearDown() override {
        EXPECT_EQ(mount_count(root_), mounts_before_);
        driver_.reset();
        auto down = backing_.down();
        EXPECT_TRUE(down) << down.error().message();
    }
    bool native() const { return std::string(GetParam()) == "zfs" || std::string(GetParam()) == "btrfs"; }
    // Nothing of container `id` is left: no directory, no dataset.
    void expect_gone(const std::string& id) {
        EXPECT_FALSE(sys::exists(root_ + "/containers/" + id)) << id;
        if (std::string(GetParam()) == "zfs") {
            EXPECT_FALSE(zfs_has(backing_.pool() + "/containers/" + id)) << id;
        }
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

    Backing backing_;
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
    // overlay, zfs, btrfs: each layer unpacked once for both containers; dir: once per container.
    EXPECT_EQ(unpacks_, std::string(GetParam()) == "dir" ? 4 : 2);
    if (overlay) {
        EXPECT_EQ(read(root_ + "/layers/aaaa/diff/etc/os-release"), "base");
        EXPECT_EQ(read(root_ + "/containers/a/upper/etc/os-release"), "changed by a");
        EXPECT_EQ(mount_count(root_), mounts_before_ + 2);
    }
    ASSERT_TRUE(driver_->destroy("a"));
    ASSERT_TRUE(driver_->destroy("b"));
    EXPECT_TRUE(driver_->destroy("b")); // twice: no error
    EXPECT_TRUE(sys::list_dir(root_ + "/containers").empty());
    expect_gone("a");
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
    expect_gone("c");
    EXPECT_FALSE(sys::exists(root_ + "/layers/bbbb/diff"));
    EXPECT_FALSE(sys::exists(root_ + "/layers/bbbb.tmp"));
    if (std::string(GetParam()) == "zfs") {
        EXPECT_FALSE(zfs_has(backing_.pool() + "/layers/bbbb"));
    }
    // The next attempt with a working layer succeeds.
    auto ok = driver_->prepare("c", image());
    ASSERT_TRUE(ok) << ok.error().message();
    EXPECT_EQ(read(*ok + "/etc/app.conf"), "app");
    EXPECT_TRUE(driver_->destroy("c"));
}

// A layer without an unpack function (a process that cannot unpack: the core binary) is refused before
// anything is made unless the driver has it already; dir, which unpacks every rootfs, refuses it always.
TEST_P(Storage, LayerWithoutUnpackNeedsTheLayerMadeAlready) {
    auto bare = image();
    for (auto& l : bare)
        l.unpack = nullptr;
    auto layers_before = sys::list_dir(root_ + "/layers");
    auto r = driver_->prepare("n", bare);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind(), ErrorKind::Unsupported) << r.error().message();
    EXPECT_NE(r.error().message().find(" is not unpacked yet"), std::string::npos) << r.error().message();
    expect_gone("n");
    EXPECT_EQ(sys::list_dir(root_ + "/layers"), layers_before);
    if (std::string(GetParam()) == "zfs") {
        EXPECT_FALSE(zfs_has(backing_.pool() + "/layers/aaaa"));
    }
    // Once another container made the layers, a container without unpack functions gets them.
    auto made = driver_->prepare("m", image());
    ASSERT_TRUE(made) << made.error().message();
    auto again = driver_->prepare("n", bare);
    if (std::string(GetParam()) == "dir") {
        ASSERT_FALSE(again);
        EXPECT_EQ(again.error().kind(), ErrorKind::Unsupported);
        expect_gone("n");
    } else {
        ASSERT_TRUE(again) << again.error().message();
        EXPECT_EQ(read(*again + "/etc/app.conf"), "app");
        EXPECT_FALSE(sys::exists(*again + "/etc/old"));
        EXPECT_TRUE(driver_->destroy("n"));
    }
    EXPECT_EQ(unpacks_, 2);
    EXPECT_TRUE(driver_->destroy("m"));
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
    EXPECT_EQ(caps.cheap_clone, native());
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

// A snapshot keeps the rootfs as it was; rollback brings it back; a clone from a snapshot starts from it and
// writes privately; destroy removes the container with its snapshots.
TEST_P(Storage, SnapshotRollbackAndCloneFromSnapshot) {
    auto c = driver_->prepare("c", image());
    ASSERT_TRUE(c) << c.error().message();
    ASSERT_TRUE(put(*c + "/etc/state", "one"));
    auto s = driver_->snapshot("c", "s1");
    ASSERT_TRUE(s) << s.error().message();
    EXPECT_EQ(driver_->snapshot("c", "s1").has_value(), false); // taken
    EXPECT_FALSE(driver_->snapshot("c", "bad/name"));
    EXPECT_FALSE(driver_->snapshot("nope", "s9"));
    ASSERT_TRUE(put(*c + "/etc/state", "two"));
    ASSERT_TRUE(put(*c + "/etc/later", "x"));
    auto list = driver_->list_snapshots("c");
    ASSERT_TRUE(list) << list.error().message();
    ASSERT_EQ(list->size(), 1u);
    EXPECT_EQ((*list)[0].name, "s1");
    EXPECT_GT((*list)[0].created, 1700000000);

    auto cl = driver_->clone("c", "s1", "c2");
    ASSERT_TRUE(cl) << cl.error().message();
    EXPECT_EQ(read(*cl + "/etc/state"), "one");
    EXPECT_EQ(read(*cl + "/etc/app.conf"), "app");
    ASSERT_TRUE(put(*cl + "/etc/state", "clone"));
    EXPECT_EQ(read(*c + "/etc/state"), "two");
    auto missing = driver_->clone("c", "s9", "c3");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().kind(), ErrorKind::NotFound) << missing.error().message();
    expect_gone("c3");

    auto rb = driver_->rollback("c", "s1");
    ASSERT_TRUE(rb) << rb.error().message();
    EXPECT_EQ(read(*c + "/etc/state"), "one");
    EXPECT_FALSE(sys::exists(*c + "/etc/later"));
    EXPECT_EQ(read(*c + "/etc/os-release"), "base");
    auto rb_missing = driver_->rollback("c", "s9");
    ASSERT_FALSE(rb_missing);
    EXPECT_EQ(rb_missing.error().kind(), ErrorKind::NotFound) << rb_missing.error().message();

    ASSERT_TRUE(driver_->destroy("c2"));
    auto d = driver_->destroy("c");
    ASSERT_TRUE(d) << d.error().message();
    expect_gone("c");
    expect_gone("c2");
    EXPECT_TRUE(sys::list_dir(root_ + "/containers").empty());
}

// A clone of a container as it is now (zfs: through a snapshot named after the clone, removed with it).
TEST_P(Storage, CloneNowAndDestroyBoth) {
    auto c = driver_->prepare("src", image());
    ASSERT_TRUE(c) << c.error().message();
    ASSERT_TRUE(put(*c + "/etc/state", "now"));
    auto cl = driver_->clone("src", "", "dst");
    ASSERT_TRUE(cl) << cl.error().message();
    EXPECT_EQ(read(*cl + "/etc/state"), "now");
    auto again = driver_->clone("src", "", "dst");
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().kind(), ErrorKind::Exists) << again.error().message();
    EXPECT_EQ(read(*cl + "/etc/state"), "now"); // the first clone is intact
    ASSERT_TRUE(driver_->destroy("dst"));
    if (std::string(GetParam()) == "zfs") {
        EXPECT_FALSE(zfs_has(backing_.pool() + "/containers/src@clone-dst"));
    }
    ASSERT_TRUE(driver_->destroy("src"));
    expect_gone("src");
    expect_gone("dst");
}

// A size limit holds where the driver has quotas; a driver without says so.
TEST_P(Storage, QuotaLimitsWrites) {
    auto c = driver_->prepare("q", image());
    ASSERT_TRUE(c) << c.error().message();
    auto q = driver_->set_quota("q", Quota{.limit_bytes = 8 << 20});
    if (!driver_->caps().quota) {
        ASSERT_FALSE(q);
        EXPECT_EQ(q.error().kind(), ErrorKind::Unsupported);
        EXPECT_NE(q.error().message().find(std::string(GetParam())), std::string::npos)
            << q.error().message();
    } else {
        ASSERT_TRUE(q) << q.error().message();
        // 32 MiB of data into an 8 MiB limit fails with EDQUOT/ENOSPC somewhere on the way (btrfs accounts at
        // commit time: sync between chunks).
        std::string chunk(1 << 20, 'x');
        for (auto& ch : chunk)
            ch = static_cast<char>(rand());
        int fd = ::open((*c + "/big").c_str(), O_WRONLY | O_CREAT, 0644);
        ASSERT_GE(fd, 0);
        bool refused = false;
        for (int i = 0; i < 32 && !refused; ++i) {
            if (::write(fd, chunk.data(), chunk.size()) != static_cast<ssize_t>(chunk.size())) refused = true;
            if (::fsync(fd) < 0) refused = true;
            if (i % 4 == 3) ::sync();
        }
        ::close(fd);
        EXPECT_TRUE(refused);
        if (std::string(GetParam()) == "btrfs") {
            auto r = driver_->set_quota("q", Quota{.reservation_bytes = 1 << 20});
            ASSERT_FALSE(r);
            EXPECT_EQ(r.error().kind(), ErrorKind::Unsupported);
            EXPECT_NE(r.error().message().find("btrfs cannot reserve space"), std::string::npos);
        }
    }
    ASSERT_TRUE(driver_->destroy("q"));
    expect_gone("q");
}

// SIGKILL in the middle of a prepare (a layer half unpacked, the rootfs half made) leaves nothing that blocks
// the next attempt of the same id.
TEST_P(Storage, KilledPrepareBlocksNothing) {
    for (int step = 0; step < 2; ++step) {
        int pipefd[2];
        ASSERT_EQ(::pipe(pipefd), 0);
        pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            ::close(pipefd[0]);
            auto d = open_driver(GetParam(), root_);
            if (!d) ::_exit(2);
            std::vector<Layer> layers = image();
            auto slow = [&, step](const std::string& dir, Whiteouts w) -> Status {
                if (step == 0) (void)put(dir + "/partial", "x");
                (void)!::write(pipefd[1], "k", 1); // kill me now
                ::pause();
                return layers[0].unpack(dir, w);
            };
            if (step == 0) {
                layers[0].unpack = slow; // killed inside the first layer's unpack
            } else {
                (void)(*d)->prepare("warm", layers); // layers done: killed in the rootfs step below
                layers[1].chain_id = "dddd";
                layers[1].unpack = slow;
            }
            (void)(*d)->prepare("k", layers);
            ::_exit(0);
        }
        ::close(pipefd[1]);
        char b;
        ASSERT_EQ(::read(pipefd[0], &b, 1), 1);
        ::close(pipefd[0]);
        ::kill(pid, SIGKILL);
        int st = 0;
        ::waitpid(pid, &st, 0);
        auto again = driver_->prepare("k", image());
        ASSERT_TRUE(again) << "step " << step << ": " << again.error().message();
        EXPECT_EQ(read(*again + "/etc/app.conf"), "app");
        EXPECT_FALSE(sys::exists(*again + "/partial"));
        ASSERT_TRUE(driver_->destroy("k"));
        (void)driver_->destroy("warm");
        expect_gone("k");
    }
    // The half-unpacked layer dddd nobody asked for again goes when the driver is next opened.
    auto reopened = open_driver(GetParam(), root_);
    ASSERT_TRUE(reopened) << reopened.error().message();
    if (std::string(GetParam()) == "zfs") {
        EXPECT_FALSE(zfs_has(backing_.pool() + "/layers/dddd"));
    }
    if (std::string(GetParam()) == "btrfs") {
        EXPECT_FALSE(sys::exists(root_ + "/layers/dddd.tmp"));
    }
}

INSTANTIATE_TEST_SUITE_P(Drivers, Storage, ::testing::Values("dir", "overlay", "zfs", "btrfs"));

// The zfs driver's refusals: a root that is no dataset's mountpoint, a pool that is gone, a dataset in use,
// a full pool. Each is a clear error and leaves nothing.
TEST(StorageZfs, ClearErrorsAndNothingLeft) {
    Backing b;
    auto up = b.up("zfs");
    ASSERT_TRUE(up) << up.error().message();

    char tmpl[] = "/tmp/storage-test-XXXXXX";
    std::string plain = mkdtemp(tmpl);
    auto not_zfs = open_driver("zfs", plain);
    ASSERT_FALSE(not_zfs);
    EXPECT_EQ(not_zfs.error().kind(), ErrorKind::Invalid);
    EXPECT_NE(not_zfs.error().message().find("is not the mountpoint of a zfs dataset"), std::string::npos)
        << not_zfs.error().message();
    auto not_btrfs = open_driver("btrfs", plain);
    ASSERT_FALSE(not_btrfs);
    EXPECT_NE(not_btrfs.error().message().find("is not on btrfs"), std::string::npos)
        << not_btrfs.error().message();
    EXPECT_EQ(detect_driver(plain), default_driver());
    EXPECT_EQ(detect_driver(b.root()), "zfs");
    EXPECT_TRUE(sys::list_dir(plain).empty()); // nothing made there
    (void)sys::remove_all(plain);

    auto d = open_driver("zfs", b.root());
    ASSERT_TRUE(d) << d.error().message();
    Driver& z = **d;

    // Pool full: a layer bigger than the pool fails with the driver's error and leaves no layer dataset.
    std::vector<Layer> huge = {{"eeee", [](const std::string& dir, Whiteouts) -> Status {
                                    std::string chunk(1 << 20, 'y');
                                    for (auto& ch : chunk)
                                        ch = static_cast<char>(rand());
                                    int fd = ::open((dir + "/fill").c_str(), O_WRONLY | O_CREAT, 0644);
                                    if (fd < 0) return fail_errno("open fill");
                                    for (int i = 0; i < 1024; ++i) {
                                        if (::write(fd, chunk.data(), chunk.size()) < 0 || ::fsync(fd) < 0) {
                                            Error e("write fill", errno);
                                            ::close(fd);
                                            return std::unexpected(e);
                                        }
                                    }
                                    ::close(fd);
                                    return ok();
                                }}};
    auto full = z.prepare("full", huge);
    ASSERT_FALSE(full);
    EXPECT_NE(full.error().message().find("layer eeee: write fill"), std::string::npos)
        << full.error().message();
    EXPECT_FALSE(zfs_has(b.pool() + "/layers/eeee"));
    EXPECT_FALSE(zfs_has(b.pool() + "/containers/full"));
    EXPECT_FALSE(sys::exists(b.root() + "/containers/full"));

    // A dataset in use (a process has its cwd in it): destroy says busy, then works once it is free.
    auto c = z.prepare("busy", {});
    ASSERT_TRUE(c) << c.error().message();
    pid_t holder = ::fork();
    ASSERT_GE(holder, 0);
    if (holder == 0) {
        if (::chdir(c->c_str()) < 0) ::_exit(1);
        ::pause();
        ::_exit(0);
    }
    usleep(200000);
    auto busy = z.destroy("busy");
    ::kill(holder, SIGKILL);
    ::waitpid(holder, nullptr, 0);
    if (!busy) {
        EXPECT_EQ(busy.error().kind(), ErrorKind::Busy) << busy.error().message();
        EXPECT_NE(busy.error().message().find("destroy rootfs of busy"), std::string::npos);
    }
    auto gone = z.destroy("busy");
    ASSERT_TRUE(gone) << gone.error().message();
    EXPECT_FALSE(zfs_has(b.pool() + "/containers/busy"));

    // The pool goes away under the driver: a clear error, nothing made.
    std::string root = b.root();
    ASSERT_TRUE(b.down());
    auto missing = open_driver("zfs", root);
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message().find("is not the mountpoint of a zfs dataset"), std::string::npos)
        << missing.error().message();
}

TEST(StorageBtrfs, DetectedUnderTheRoot) {
    Backing b;
    auto up = b.up("btrfs");
    ASSERT_TRUE(up) << up.error().message();
    EXPECT_EQ(detect_driver(b.root()), "btrfs");
    EXPECT_EQ(detect_driver(b.root() + "/not/yet/made"), "btrfs");
}

TEST(StorageOverlay, ConcurrentContainersUnpackEachLayerOnce) {
    char tmpl[] = "/tmp/storage-test-XXXXXX";
    std::string root = mkdtemp(tmpl);
    int before = mount_count(root);
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
    EXPECT_EQ(mount_count(root), before);
    (void)sys::remove_all(root);
}

TEST(StorageDriver, UnknownDriverAndRelativeRoot) {
    auto unknown = open_driver("zfs9", "/tmp/x");
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().kind(), ErrorKind::Invalid);
    EXPECT_EQ(unknown.error().message(), "unknown storage driver \"zfs9\" (have: btrfs, dir, overlay, zfs)");
    EXPECT_FALSE(open_driver("overlay", "relative/root"));
    // The default is the host's: overlay where the kernel lists overlayfs, else dir.
    std::ifstream in("/proc/filesystems");
    bool overlay = false;
    for (std::string line; std::getline(in, line);)
        overlay = overlay || line.substr(line.find_last_of(" \t") + 1) == "overlay";
    EXPECT_EQ(default_driver(), overlay ? "overlay" : "dir");
}

} // namespace
