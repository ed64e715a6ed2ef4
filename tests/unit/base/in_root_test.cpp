// sys::walk_in_root and friends against real directories: whatever the symlinks in the root say, nothing is
// ever created outside it ("host" stands for the host: a directory next to the root that must stay empty).
#include "sys/fs.hpp"
#include "sys/in_root.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>

using namespace lxcri;

namespace {

class InRoot : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/in-root-test-XXXXXX";
        base_ = mkdtemp(tmpl);
        root_ = base_ + "/root";
        host_ = base_ + "/host";
        ASSERT_TRUE(sys::mkdir_p(root_));
        ASSERT_TRUE(sys::mkdir_p(host_));
        rootfd_.reset(::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        ASSERT_TRUE(rootfd_.valid());
    }
    void TearDown() override { (void)sys::remove_all(base_); }

    void link(const std::string& target, const std::string& rel) {
        ASSERT_EQ(::symlink(target.c_str(), (root_ + "/" + rel).c_str()), 0) << rel;
    }
    void mkdir(const std::string& rel) { ASSERT_TRUE(sys::mkdir_p(root_ + "/" + rel)); }
    void file(const std::string& rel, const std::string& text) { std::ofstream(root_ + "/" + rel) << text; }
    bool is_dir(const std::string& rel) {
        struct stat st {};
        return ::lstat((root_ + "/" + rel).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    }
    bool is_file(const std::string& rel) {
        struct stat st {};
        return ::lstat((root_ + "/" + rel).c_str(), &st) == 0 && S_ISREG(st.st_mode);
    }
    // Everything below the host directory (must stay empty).
    std::vector<std::string> host_entries() { return sys::list_dir(host_); }

    // create_in_root + path_in_root: where PATH ends up, relative to the root.
    Result<std::string> create(const std::string& path, sys::Kind kind = sys::Kind::Dir) {
        auto fd = TRY(sys::create_in_root(rootfd_.get(), path, kind));
        return sys::path_in_root(rootfd_.get(), fd.get());
    }

    std::string base_, root_, host_;
    sys::Fd rootfd_;
};

} // namespace

TEST_F(InRoot, AbsoluteSymlinkToAHostDirectoryIsReadInsideTheRoot) {
    link(host_, "etc");
    auto dir = create("/etc/newdir/sub");
    ASSERT_TRUE(dir) << dir.error().message();
    EXPECT_EQ(*dir, host_.substr(1) + "/newdir/sub");
    EXPECT_TRUE(is_dir(host_.substr(1) + "/newdir/sub"));
    auto f = create("/etc/hosts", sys::Kind::File);
    ASSERT_TRUE(f) << f.error().message();
    EXPECT_EQ(*f, host_.substr(1) + "/hosts");
    EXPECT_TRUE(is_file(host_.substr(1) + "/hosts"));
    EXPECT_TRUE(host_entries().empty());
}

TEST_F(InRoot, RelativeSymlinkWithADotDotChainStopsAtTheRoot) {
    // On the host these lead to host_ (more ../ than the root is deep); inside the root to root/host_.
    link("../../../../../../../../../.." + host_, "etc");
    auto a = create("/etc/newdir/sub");
    ASSERT_TRUE(a) << a.error().message();
    EXPECT_EQ(*a, host_.substr(1) + "/newdir/sub");
    // A chain: lnk2 -> x/../../../..host_, lnk1 -> lnk2, etc2 -> lnk1.
    mkdir("x");
    link("x/../../../../../../.." + host_, "lnk2");
    link("lnk2", "lnk1");
    link("./lnk1/", "etc2");
    auto b = create("etc2/hosts", sys::Kind::File);
    ASSERT_TRUE(b) << b.error().message();
    EXPECT_EQ(*b, host_.substr(1) + "/hosts");
    EXPECT_TRUE(host_entries().empty());
}

TEST_F(InRoot, DotDotInTheDestinationIsAppliedToWhatWasResolved) {
    link(host_, "etc");
    mkdir("bin");
    // Clamped at the root: /../../x/./y is x/y.
    auto a = create("/../../x/./y");
    ASSERT_TRUE(a) << a.error().message();
    EXPECT_EQ(*a, "x/y");
    // etc is host_ inside the root: etc/.. is host_'s parent there, not the root (securejoin's order).
    auto b = create("/bin/../etc/../hosts", sys::Kind::File);
    ASSERT_TRUE(b) << b.error().message();
    std::string parent = host_.substr(1, host_.rfind('/') - 1);
    EXPECT_EQ(*b, parent + "/hosts");
    EXPECT_TRUE(is_file(parent + "/hosts"));
    // A missing component followed by "..": created on the way, then left.
    auto c = create("/missing/../z");
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_EQ(*c, "z");
    EXPECT_TRUE(host_entries().empty());
    struct stat st {};
    EXPECT_NE(::lstat((base_ + "/x").c_str(), &st), 0);
    EXPECT_NE(::lstat((base_ + "/hosts").c_str(), &st), 0);
}

TEST_F(InRoot, SymlinkLoopsFailWithELOOP) {
    link("etc2", "etc");
    link("etc", "etc2");
    auto a = create("/etc/hosts", sys::Kind::File);
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error().code(), ELOOP) << a.error().message();
    link("self/x", "self");
    auto b = create("/self/y");
    ASSERT_FALSE(b);
    EXPECT_EQ(b.error().code(), ELOOP) << b.error().message();
    // A loop through a missing directory (the symlink is followed by hand first, d is created on the way).
    link("d/../dang", "dang");
    auto c = create("/dang/z");
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().code(), ELOOP) << c.error().message();
    EXPECT_TRUE(host_entries().empty());
}

TEST_F(InRoot, AFileWhereADirectoryIsNeededFails) {
    mkdir("etc");
    file("etc/passwd", "root");
    auto a = create("/etc/passwd/newdir/sub");
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error().code(), ENOTDIR) << a.error().message();
    EXPECT_NE(a.error().message().find("etc/passwd"), std::string::npos) << a.error().message();
    EXPECT_EQ(*sys::read_file(root_ + "/etc/passwd"), "root");
}

TEST_F(InRoot, ExistingTargetsAreReused) {
    mkdir("etc/dir");
    file("etc/hosts", "127.0.0.1 localhost\n");
    struct stat before {};
    ASSERT_EQ(::stat((root_ + "/etc/hosts").c_str(), &before), 0);
    auto f = create("/etc/hosts", sys::Kind::File);
    ASSERT_TRUE(f) << f.error().message();
    EXPECT_EQ(*f, "etc/hosts");
    EXPECT_EQ(*sys::read_file(root_ + "/etc/hosts"), "127.0.0.1 localhost\n");
    struct stat after {};
    ASSERT_EQ(::stat((root_ + "/etc/hosts").c_str(), &after), 0);
    EXPECT_EQ(before.st_ino, after.st_ino);
    // What exists stays what it is, whatever the mount would have created (the mount itself then decides).
    auto d = create("/etc/hosts", sys::Kind::Dir);
    ASSERT_TRUE(d) << d.error().message();
    EXPECT_TRUE(is_file("etc/hosts"));
    auto e = create("/etc/dir", sys::Kind::File);
    ASSERT_TRUE(e) << e.error().message();
    EXPECT_EQ(*e, "etc/dir");
    EXPECT_TRUE(is_dir("etc/dir"));
    // A symlink to an existing file inside the root: its target is the mount point.
    link("../etc/hosts", "etc/hosts2");
    auto g = create("/etc/hosts2", sys::Kind::File);
    ASSERT_TRUE(g) << g.error().message();
    EXPECT_EQ(*g, "etc/hosts");
}

TEST_F(InRoot, MissingComponentsAreDirectoriesAndTheLastOneAsAsked) {
    auto f = create("/a/b/c", sys::Kind::File);
    ASSERT_TRUE(f) << f.error().message();
    EXPECT_EQ(*f, "a/b/c");
    EXPECT_TRUE(is_dir("a/b"));
    EXPECT_TRUE(is_file("a/b/c"));
    EXPECT_EQ(sys::read_file(root_ + "/a/b/c").value_or("x"), "");
    struct stat st {};
    ASSERT_EQ(::stat((root_ + "/a/b").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777 & ~0022u, 0755u & ~0022u);
}

TEST_F(InRoot, ADanglingSymlinkIsFollowedInsideTheRoot) {
    link("/nonexistent-in-root/dir", "etc");
    auto a = create("/etc/x");
    ASSERT_TRUE(a) << a.error().message();
    EXPECT_EQ(*a, "nonexistent-in-root/dir/x");
    EXPECT_TRUE(is_dir("nonexistent-in-root/dir/x"));
    struct stat st {};
    EXPECT_NE(::lstat("/nonexistent-in-root", &st), 0);
    // The layer unpacker's mode: a symlink to a missing path is an error.
    link("/nonexistent-2", "etc2");
    auto b = sys::create_in_root(rootfd_.get(), "etc2/x", sys::Kind::Dir, false);
    ASSERT_FALSE(b);
    EXPECT_EQ(b.error().code(), ENOENT);
    EXPECT_FALSE(is_dir("nonexistent-2"));
}

TEST_F(InRoot, ResolveCreatesNothingAndStopsUnderAGivenPath) {
    link(host_, "etc");
    auto r = sys::resolve_in_root(rootfd_.get(), "/etc/newdir/sub");
    ASSERT_TRUE(r) << r.error().message();
    // etc was followed (to host_, inside the root, missing there): the rest is what remains from the root on.
    std::vector<std::string> want;
    for (size_t pos = 1; pos < host_.size();) {
        size_t end = host_.find('/', pos);
        if (end == std::string::npos) end = host_.size();
        want.push_back(host_.substr(pos, end - pos));
        pos = end + 1;
    }
    want.insert(want.end(), {"newdir", "sub"});
    EXPECT_EQ(r->rest, want);
    EXPECT_EQ(*sys::path_in_root(rootfd_.get(), r->fd.get()), "");
    EXPECT_TRUE(sys::list_dir(root_).size() == 1); // only etc
    // var/run -> /run, stop under "run" (a mount to come): the walk ends there, the rest is left.
    mkdir("var");
    mkdir("run/secrets");
    link("/run", "var/run");
    auto s = sys::resolve_in_root(rootfd_.get(), "/var/run/secrets/x", {"run"});
    ASSERT_TRUE(s) << s.error().message();
    EXPECT_EQ(*sys::path_in_root(rootfd_.get(), s->fd.get()), "run");
    EXPECT_EQ(s->rest, (std::vector<std::string>{"secrets", "x"}));
    EXPECT_TRUE(host_entries().empty());
}

TEST_F(InRoot, PathInRootWithASymlinkedRootPath) {
    ASSERT_EQ(::symlink(root_.c_str(), (base_ + "/rootlink").c_str()), 0);
    sys::Fd viafd(::open((base_ + "/rootlink").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(viafd.valid());
    mkdir("a/b");
    auto fd = sys::create_in_root(viafd.get(), "a/b/c", sys::Kind::Dir);
    ASSERT_TRUE(fd) << fd.error().message();
    EXPECT_EQ(*sys::path_in_root(viafd.get(), fd->get()), "a/b/c");
    EXPECT_EQ(*sys::path_in_root(viafd.get(), viafd.get()), "");
    // An fd outside the root is refused.
    sys::Fd outside(::open(host_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    auto bad = sys::path_in_root(viafd.get(), outside.get());
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code(), EXDEV);
}

TEST(PathUnder, ComponentWise) {
    EXPECT_TRUE(sys::path_under("dev/null", "dev"));
    EXPECT_TRUE(sys::path_under("dev", "dev"));
    EXPECT_TRUE(sys::path_under("anything", ""));
    EXPECT_FALSE(sys::path_under("devices", "dev"));
    EXPECT_FALSE(sys::path_under("dev", "dev/pts"));
}

// rootfs/etc is exchanged with a symlink to the host directory (absolute, then relative and escaping) by
// another thread as fast as it can, while the walk creates through it: whatever it sees, nothing lands
// outside the root, and every path it reports is inside the root.
TEST_F(InRoot, ConcurrentSymlinkSwapNeverLeadsOutOfTheRoot) {
    for (std::string target : {host_, "../../../../../../../../.." + host_}) {
        (void)sys::remove_all(root_ + "/etc");
        (void)sys::remove_all(root_ + "/etc.swap");
        mkdir("etc");
        link(target, "etc.swap");
        std::atomic<bool> stop{false};
        std::atomic<long> swaps{0};
        std::thread swapper([&] {
            std::string a = root_ + "/etc", b = root_ + "/etc.swap";
            while (!stop.load()) {
                if (::renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE) == 0) ++swaps;
            }
        });
        int ok_paths = 0, errors = 0;
        auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(700);
        for (int i = 0; std::chrono::steady_clock::now() < until; ++i) {
            const std::vector<std::pair<std::string, sys::Kind>> paths = {
                {"/etc/newdir/sub", sys::Kind::Dir},
                {"/etc/hosts", sys::Kind::File},
                {"/etc/../etc/./d" + std::to_string(i % 5), sys::Kind::Dir}};
            for (const auto& [path, kind] : paths) {
                auto r = create(path, kind);
                if (r) {
                    ++ok_paths;
                    EXPECT_FALSE(r->starts_with("..")) << *r;
                } else {
                    ++errors;
                }
            }
        }
        stop = true;
        swapper.join();
        EXPECT_GT(swaps.load(), 100);
        EXPECT_GT(ok_paths, 0);
        std::vector<std::string> left;
        std::string cmd = "find '" + host_ + "' -mindepth 1";
        FILE* p = ::popen(cmd.c_str(), "r");
        char line[4096];
        while (p && fgets(line, sizeof line, p))
            left.emplace_back(line);
        if (p) ::pclose(p);
        EXPECT_TRUE(left.empty()) << target << ": " << left.size()
                                  << " entries outside the root, first: " << (left.empty() ? "" : left[0]);
        RecordProperty("results",
                       std::to_string(ok_paths) + " resolved, " + std::to_string(errors) + " failed");
    }
}
