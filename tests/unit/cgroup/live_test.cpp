// Cgroup operations against real cgroups of this machine: /sys/fs/cgroup/<ctrl>/lxcri-test-<pid>-<n>, with
// forked sleeping children in them. Everything created is removed again, whatever the outcome.
#include "cgroup/cgroup.hpp"
#include "sys/fs.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

using namespace lxcri;
using namespace lxcri::cgroup;

namespace {

std::string slurp(const std::string& path) {
    auto t = sys::read_file(path);
    if (!t) return "<" + t.error().message() + ">";
    while (!t->empty() && t->back() == '\n')
        t->pop_back();
    return *t;
}

std::string parent_of(const std::string& dir) {
    return dir.substr(0, dir.rfind('/'));
}

class LiveCgroup : public ::testing::Test {
  protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "needs root to create cgroups";
        static int counter = 0;
        name_ = "/lxcri-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
    }

    void TearDown() override {
        for (pid_t p : children_) {
            ::kill(p, SIGKILL);
            ::waitpid(p, nullptr, 0);
        }
        for (const auto& d : made_) { // deepest first
            if (sys::exists(d + "/freezer.state")) (void)sys::write_file(d + "/freezer.state", "THAWED");
            if (sys::exists(d + "/cgroup.freeze")) (void)sys::write_file(d + "/cgroup.freeze", "0");
        }
        for (const auto& d : made_)
            ::rmdir(d.c_str());
        for (const auto& d : made_)
            EXPECT_FALSE(sys::exists(d)) << "left behind: " << d;
    }

    // mkdir every directory of cg (and <dir>/sub when sub), cpuset initialised from its parent.
    void make(const Cgroup& cg, bool sub) {
        std::vector<std::string> dirs;
        for (const auto& [ctrl, dir] : cg.paths()) {
            dirs.push_back(dir);
            if (sub) dirs.push_back(dir + "/sub");
        }
        for (const auto& d : dirs) {
            ASSERT_EQ(::mkdir(d.c_str(), 0755), 0) << d << ": " << std::strerror(errno);
            made_.insert(made_.begin(), d);
            if (sys::exists(d + "/cpuset.cpus")) {
                for (const char* f : {"/cpuset.cpus", "/cpuset.mems"})
                    ASSERT_TRUE(sys::write_file(d + f, slurp(parent_of(d) + f)));
            }
        }
    }

    // A sleeping child moved into cgroup.procs of each directory (the ones of cg, or their "sub").
    pid_t spawn(const Cgroup& cg, bool in_sub) {
        pid_t pid = ::fork();
        if (pid == 0) {
            for (;;)
                ::pause();
        }
        EXPECT_GT(pid, 0);
        children_.push_back(pid);
        for (const auto& [ctrl, dir] : cg.paths()) {
            auto d = in_sub ? dir + "/sub" : dir;
            auto r = sys::write_file(d + "/cgroup.procs", std::to_string(pid));
            EXPECT_TRUE(r) << r.error().message();
        }
        return pid;
    }

    // Reap a child killed through the cgroup; true when it died of sig.
    bool reaped_by(pid_t pid, int sig) {
        int status = 0;
        if (::waitpid(pid, &status, 0) != pid) return false;
        std::erase(children_, pid);
        return WIFSIGNALED(status) && WTERMSIG(status) == sig;
    }

    std::string name_;
    std::vector<std::string> made_;
    std::vector<pid_t> children_;
};

} // namespace

TEST_F(LiveCgroup, V1LifecycleApplyStatsFreezeKillDestroy) {
    Mode mode = detect();
    if (mode == Mode::Unified) GTEST_SKIP() << "no v1 hierarchies on this host";
    auto cg = Cgroup::for_path(name_, mode);
    for (const char* c : {"memory", "freezer", "pids", "cpu"})
        ASSERT_TRUE(cg.paths().contains(c)) << c << " controller not mounted";
    make(cg, true);
    pid_t a = spawn(cg, false), b = spawn(cg, true);

    spec::Resources r;
    r.memory = spec::Memory{};
    r.memory->limit = 64 << 20;
    r.memory->swap = 128 << 20;
    r.pids_limit = 50;
    r.cpu = spec::Cpu{};
    r.cpu->shares = 512;
    auto m = map_resources(r, mode);
    ASSERT_TRUE(m) << m.error().message();
    auto st = cg.apply(*m);
    ASSERT_TRUE(st) << st.error().message();
    const auto& p = cg.paths();
    EXPECT_EQ(slurp(p.at("memory") + "/memory.limit_in_bytes"), "67108864");
    if (sys::exists(p.at("memory") + "/memory.memsw.limit_in_bytes")) {
        EXPECT_EQ(slurp(p.at("memory") + "/memory.memsw.limit_in_bytes"), "134217728");
    }
    EXPECT_EQ(slurp(p.at("pids") + "/pids.max"), "50");
    EXPECT_EQ(slurp(p.at("cpu") + "/cpu.shares"), "512");

    // Shrinking memory below the current memory+swap and raising it again both succeed (write order).
    r.memory->limit = 256 << 20;
    r.memory->swap = 512 << 20;
    st = cg.apply(*map_resources(r, mode));
    ASSERT_TRUE(st) << st.error().message();
    EXPECT_EQ(slurp(p.at("memory") + "/memory.limit_in_bytes"), "268435456");

    auto s = cg.stats();
    ASSERT_TRUE(s) << s.error().message();
    EXPECT_EQ(s->mem_limit, 256u << 20);
    EXPECT_EQ(s->pids_current, 2u);
    EXPECT_EQ(s->pids_limit, 50u);
    EXPECT_FALSE(s->mem_raw.empty());
    EXPECT_NE(stats_to_json(*s).find(R"("pids":{"current":2,"limit":50})"), std::string::npos);

    auto pids = cg.pids();
    ASSERT_TRUE(pids) << pids.error().message();
    std::vector<pid_t> want{a, b};
    std::sort(want.begin(), want.end());
    EXPECT_EQ(*pids, want);

    ASSERT_TRUE(cg.freeze());
    EXPECT_EQ(slurp(p.at("freezer") + "/freezer.state"), "FROZEN");
    EXPECT_EQ(slurp(p.at("freezer") + "/sub/freezer.state"), "FROZEN");
    auto fz = cg.frozen();
    ASSERT_TRUE(fz);
    EXPECT_TRUE(*fz);
    ASSERT_TRUE(cg.thaw());
    EXPECT_EQ(slurp(p.at("freezer") + "/freezer.state"), "THAWED");
    fz = cg.frozen();
    ASSERT_TRUE(fz);
    EXPECT_FALSE(*fz);

    ASSERT_TRUE(cg.kill_all(SIGKILL));
    EXPECT_TRUE(reaped_by(a, SIGKILL));
    EXPECT_TRUE(reaped_by(b, SIGKILL));
    EXPECT_EQ(slurp(p.at("freezer") + "/freezer.state"), "THAWED"); // kill_all thawed again

    auto d = cg.destroy();
    ASSERT_TRUE(d) << d.error().message();
    for (const auto& dir : made_)
        EXPECT_FALSE(sys::exists(dir)) << dir;
}

TEST_F(LiveCgroup, DestroyOfBusyCgroupFailsAndKeepsIt) {
    Mode mode = detect();
    if (mode == Mode::Unified) GTEST_SKIP() << "no v1 hierarchies on this host";
    auto all = Cgroup::for_path(name_, mode);
    ASSERT_TRUE(all.paths().contains("memory"));
    Cgroup cg({{"memory", all.paths().at("memory")}}, mode);
    make(cg, false);
    spawn(cg, false);
    auto d = cg.destroy();
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().message(),
              "destroy cgroup: rmdir " + all.paths().at("memory") + ": Device or resource busy");
    EXPECT_TRUE(sys::exists(all.paths().at("memory")));
    // Missing directories are fine.
    EXPECT_TRUE(Cgroup::for_path(name_ + "-never-made", mode).destroy());
}

TEST_F(LiveCgroup, Cgroup2FreezerPidsStatsKill) {
    Mode mode = detect();
    if (mode == Mode::Legacy) GTEST_SKIP() << "no cgroup2 hierarchy on this host";
    auto all = Cgroup::for_path(name_, mode);
    Cgroup cg({{"", all.paths().at("")}}, Mode::Unified);
    const std::string dir = all.paths().at("");
    make(cg, true);
    pid_t a = spawn(cg, false), b = spawn(cg, true);

    ASSERT_TRUE(cg.freeze());
    EXPECT_NE(slurp(dir + "/cgroup.events").find("frozen 1"), std::string::npos);
    EXPECT_NE(slurp(dir + "/sub/cgroup.events").find("frozen 1"), std::string::npos);
    auto fz = cg.frozen();
    ASSERT_TRUE(fz);
    EXPECT_TRUE(*fz);
    ASSERT_TRUE(cg.thaw());
    EXPECT_NE(slurp(dir + "/cgroup.events").find("frozen 0"), std::string::npos);

    auto pids = cg.pids();
    ASSERT_TRUE(pids) << pids.error().message();
    std::vector<pid_t> want{a, b};
    std::sort(want.begin(), want.end());
    EXPECT_EQ(*pids, want);
    auto s = cg.stats(); // only cpu.stat exists without controllers: the rest is skipped
    ASSERT_TRUE(s) << s.error().message();

    ASSERT_TRUE(cg.kill_all(SIGTERM));
    EXPECT_TRUE(reaped_by(a, SIGTERM));
    EXPECT_TRUE(reaped_by(b, SIGTERM));
    EXPECT_EQ(slurp(dir + "/cgroup.freeze"), "0");
    ASSERT_TRUE(cg.destroy());
    EXPECT_FALSE(sys::exists(dir + "/sub"));
    EXPECT_FALSE(sys::exists(dir));
}

TEST(Destroy, RefusesHierarchyRoots) {
    char tmpl[] = "/tmp/lxcri-cgroup-root.XXXXXX";
    std::string root = ::mkdtemp(tmpl);
    std::ofstream(root + "/cgroup.sane_behavior") << "0\n";
    ASSERT_EQ(::mkdir((root + "/child").c_str(), 0755), 0);
    auto d = Cgroup({{"memory", root}}, Mode::Legacy).destroy();
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().message(),
              "destroy cgroup: refusing to remove " + root + ": it is the root of a cgroup hierarchy");
    EXPECT_TRUE(sys::exists(root + "/child"));
    (void)sys::remove_all(root);
}
