// The lxc backend's record semantics against real processes and cgroups of this machine: identity by start
// time, and destroy() touching only what the record says create made.
#include "backend/lxc/backend.hpp"
#include "cgroup/cgroup.hpp"
#include "sys/fs.hpp"
#include "sys/pidfd.hpp"
#include "sys/proc.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace lxcri;

namespace {

// A sleeping child, killed and reaped at the end.
struct Child {
    pid_t pid = -1;
    Child() {
        pid = ::fork();
        if (pid == 0) {
            ::pause();
            ::_exit(0);
        }
    }
    ~Child() {
        ::kill(pid, SIGKILL);
        int st;
        ::waitpid(pid, &st, 0);
    }
    uint64_t start() const { return sys::process_start_time(pid).value_or(0); }
    // Alive and not a zombie.
    bool alive() const { return sys::process_start_time(pid).has_value(); }
};

backend::Handle handle(const lxc::Record& r) {
    return {"t", "/nonexistent", r.to_json()};
}

} // namespace

TEST(LxcRecord, RoundTripsThroughJson) {
    lxc::Record r;
    r.lxcpath = "/run/x";
    r.init_pid = 12;
    r.init_start_time = 34;
    r.monitor_pid = 56;
    r.monitor_start_time = 78;
    r.cgroup_paths = {{"", "/sys/fs/cgroup/unified/a"}};
    r.cgroup_mode = 1;
    r.cgroup_dirs = {"a", "m/a"};
    r.preexisting = {"/sys/fs/cgroup/unified/a"};
    r.cgroups_confirmed = true;
    r.systemd_scope = "system.slice/x.scope";
    auto back = lxc::Record::from_json(r.to_json());
    EXPECT_EQ(back.to_json(), r.to_json());
    // An empty record (a create killed before the backend wrote one) reads as "nothing made".
    auto empty = lxc::Record::from_json(nlohmann::json::object());
    EXPECT_EQ(empty.init_pid, 0);
    EXPECT_TRUE(empty.cgroup_dirs.empty());
}

TEST(LxcBackend, ObservesProcessesByIdentity) {
    auto be = lxc::make_backend();
    Child c;
    lxc::Record r;
    r.init_pid = c.pid;
    r.init_start_time = c.start();
    EXPECT_TRUE(be->observe(handle(r), backend::kNoDeadline).init_alive);
    r.init_start_time += 1; // the same pid, another process
    EXPECT_FALSE(be->observe(handle(r), backend::kNoDeadline).init_alive);
    r.init_start_time = 0; // unknown identity is never "alive"
    EXPECT_FALSE(be->observe(handle(r), backend::kNoDeadline).init_alive);
    r.monitor_pid = c.pid;
    r.monitor_start_time = c.start();
    EXPECT_TRUE(be->observe(handle(r), backend::kNoDeadline).setup_alive);
}

TEST(LxcBackend, SignalsOnlyTheRecordedProcess) {
    auto be = lxc::make_backend();
    Child c;
    lxc::Record r;
    r.init_pid = c.pid;
    r.init_start_time = c.start() + 1;
    auto refused = be->signal(handle(r), SIGKILL, backend::kNoDeadline);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().kind(), ErrorKind::Gone);
    EXPECT_EQ(refused.error().message(), "process already finished");
    EXPECT_TRUE(c.alive());
    r.init_start_time = 0;
    EXPECT_FALSE(be->signal(handle(r), SIGKILL, backend::kNoDeadline));
    EXPECT_TRUE(c.alive());
    r.init_start_time = c.start();
    ASSERT_TRUE(be->signal(handle(r), SIGKILL, backend::kNoDeadline));
    int st;
    ASSERT_EQ(::waitpid(c.pid, &st, 0), c.pid);
    EXPECT_TRUE(WIFSIGNALED(st));
    c.pid = ::getpid() + 100000; // reaped: nothing left for the destructor
}

class LxcDestroy : public ::testing::Test {
  protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "needs root to create cgroups";
        mode_ = cgroup::detect();
        static int n = 0;
        rel_ = "lxcri-owner-test-" + std::to_string(::getpid()) + "-" + std::to_string(++n);
    }
    void TearDown() override {
        if (rel_.empty()) return;
        auto cg = cgroup::Cgroup::for_path(rel_, mode_);
        (void)cg.kill_all(SIGKILL);
        for (auto& [k, d] : cg.paths())
            (void)::rmdir(d.c_str());
    }
    // Makes rel_ in every hierarchy and moves pid there; returns its directories.
    std::map<std::string, std::string> make_cgroup(pid_t pid) {
        auto cg = cgroup::Cgroup::for_path(rel_, mode_);
        for (auto& [k, d] : cg.paths()) {
            EXPECT_TRUE(sys::mkdir_p(d, 0755)) << d;
            if (k == "cpuset") { // a v1 cpuset takes no task before it has cpus and mems
                for (const char* f : {"/cpuset.cpus", "/cpuset.mems"})
                    EXPECT_TRUE(sys::write_file(
                        d + f, sys::read_file("/sys/fs/cgroup/cpuset" + std::string(f)).value_or("0")));
            }
            EXPECT_TRUE(sys::write_file(d + "/cgroup.procs", std::to_string(pid))) << d;
        }
        return cg.paths();
    }
    cgroup::Mode mode_{};
    std::string rel_;
};

// A cgroup that existed before create, with a host process in it: destroy kills nothing and removes nothing.
TEST_F(LxcDestroy, LeavesAPreexistingCgroupAndItsProcesses) {
    Child host;
    auto paths = make_cgroup(host.pid);
    lxc::Record r;
    r.cgroup_mode = static_cast<int>(mode_);
    r.cgroup_dirs = {rel_};
    for (auto& [k, d] : paths)
        r.preexisting.push_back(d);
    r.cgroup_paths = paths;
    r.cgroups_confirmed = true;
    auto be = lxc::make_backend();
    ASSERT_TRUE(be->destroy(handle(r), backend::after(std::chrono::seconds(10))));
    EXPECT_TRUE(host.alive());
    for (auto& [k, d] : paths)
        EXPECT_TRUE(sys::exists(d)) << d;
    // signal_all in a cgroup it does not own reaches only the container's pid namespace: here, nothing.
    r.init_pid = ::getpid();
    r.init_start_time = sys::process_start_time(::getpid()).value_or(0);
    auto pids = be->pids(handle(r), backend::kNoDeadline);
    ASSERT_TRUE(pids) << pids.error().message();
    EXPECT_EQ(*pids, std::vector<pid_t>{::getpid()});
}

// A cgroup this create made (it did not exist): destroy kills what is in it and removes it.
TEST_F(LxcDestroy, RemovesWhatCreateMade) {
    Child inside;
    auto paths = make_cgroup(inside.pid);
    lxc::Record r;
    r.cgroup_mode = static_cast<int>(mode_);
    r.cgroup_dirs = {rel_};
    r.cgroup_paths = paths;
    r.cgroups_confirmed = true;
    auto be = lxc::make_backend();
    ASSERT_TRUE(be->destroy(handle(r), backend::after(std::chrono::seconds(10))));
    int st;
    ASSERT_EQ(::waitpid(inside.pid, &st, 0), inside.pid);
    EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    inside.pid = ::getpid() + 100000;
    for (auto& [k, d] : paths)
        EXPECT_FALSE(sys::exists(d)) << d;
}

// Not confirmed (create died before its init was seen): an occupied directory is left, its process untouched.
TEST_F(LxcDestroy, UnconfirmedCgroupIsOnlyRemovedWhenEmpty) {
    Child other;
    auto paths = make_cgroup(other.pid);
    lxc::Record r;
    r.cgroup_mode = static_cast<int>(mode_);
    r.cgroup_dirs = {rel_};
    auto be = lxc::make_backend();
    ASSERT_TRUE(be->destroy(handle(r), backend::after(std::chrono::milliseconds(300))));
    EXPECT_TRUE(other.alive());
    for (auto& [k, d] : paths)
        EXPECT_TRUE(sys::exists(d)) << d;
}
