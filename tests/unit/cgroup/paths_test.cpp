// of_pid parsing, for_path and detect against fake trees; stats() parsing and runc's events JSON from fake
// files; apply() against fake controller directories.
#include "cgroup/cgroup.hpp"
#include "sys/fs.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace lxcri;
using namespace lxcri::cgroup;

namespace {

class TempDir {
  public:
    TempDir() {
        char tmpl[] = "/tmp/lxcri-cgroup-test.XXXXXX";
        path_ = ::mkdtemp(tmpl);
    }
    ~TempDir() { (void)sys::remove_all(path_); }
    const std::string& path() const { return path_; }
    std::string mkdir(const std::string& rel) const {
        EXPECT_TRUE(sys::mkdir_p(path_ + "/" + rel).has_value());
        return path_ + "/" + rel;
    }
    void put(const std::string& rel, const std::string& text) const {
        std::ofstream(path_ + "/" + rel) << text;
    }
    std::string get(const std::string& rel) const {
        auto t = sys::read_file(path_ + "/" + rel);
        return t ? *t : "<missing>";
    }

  private:
    std::string path_;
};

using Paths = std::map<std::string, std::string>;

} // namespace

TEST(ProcCgroup, HybridLines) {
    TempDir root;
    root.mkdir("cpu,cpuacct");
    const std::string text = "12:name=systemd:/init.scope\n"
                             "4:cpu,cpuacct:/lxc/c1\n"
                             "3:memory:/lxc/c1/\n"
                             "2:pids:/\n"
                             "0::/lxc/c1\n";
    auto p = parse_proc_cgroup(text, Mode::Hybrid, root.path());
    ASSERT_TRUE(p) << p.error().message();
    const auto& r = root.path();
    EXPECT_EQ(*p, (Paths{{"", r + "/unified/lxc/c1"},
                         {"cpu", r + "/cpu,cpuacct/lxc/c1"},
                         {"cpuacct", r + "/cpu,cpuacct/lxc/c1"},
                         {"memory", r + "/memory/lxc/c1"},
                         {"pids", r + "/pids"}}));
}

TEST(ProcCgroup, NamedHierarchyKeptWhenMounted) {
    TempDir root;
    root.mkdir("systemd");
    auto p = parse_proc_cgroup("12:name=systemd:/lxc/c1\n3:memory:/lxc/c1\n", Mode::Legacy, root.path());
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_EQ(*p, (Paths{{"memory", root.path() + "/memory/lxc/c1"},
                         {"name=systemd", root.path() + "/systemd/lxc/c1"}}));
}

TEST(ProcCgroup, SeparateMountsAndLegacyIgnoresCgroup2) {
    TempDir root; // no "cpu,cpuacct" directory: each controller under its own name
    auto p = parse_proc_cgroup("4:cpu,cpuacct:/a\n0::/a\n", Mode::Legacy, root.path());
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_EQ(*p, (Paths{{"cpu", root.path() + "/cpu/a"}, {"cpuacct", root.path() + "/cpuacct/a"}}));
}

TEST(ProcCgroup, UnifiedAndColonsInPath) {
    auto p = parse_proc_cgroup("0::/system.slice/a:b.scope\n", Mode::Unified, "/sys/fs/cgroup");
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_EQ(*p, (Paths{{"", "/sys/fs/cgroup/system.slice/a:b.scope"}}));
}

TEST(ProcCgroup, MalformedLines) {
    for (std::string bad : {"garbage\n", "3:memory\n", "x:memory:/a\n", ":memory:/a\n"}) {
        auto p = parse_proc_cgroup(bad, Mode::Hybrid, "/sys/fs/cgroup");
        ASSERT_FALSE(p) << bad;
        EXPECT_NE(p.error().message().find("malformed cgroup line"), std::string::npos);
    }
}

TEST(ProcCgroup, OfPidMatchesProcSelf) {
    auto cg = Cgroup::of_pid(::getpid());
    ASSERT_TRUE(cg) << cg.error().message();
    auto text = sys::read_file("/proc/self/cgroup");
    ASSERT_TRUE(text);
    EXPECT_EQ(cg->mode(), detect());
    // Every v1 controller line of our own process must show up, resolved under /sys/fs/cgroup.
    for (const auto& [ctrl, dir] : cg->paths())
        EXPECT_TRUE(sys::exists(dir)) << ctrl << " " << dir;
    if (cg->mode() != Mode::Unified && text->find(":memory:") != std::string::npos) {
        auto line = text->substr(text->find(":memory:") + 8);
        line = line.substr(0, line.find('\n'));
        EXPECT_EQ(cg->paths().at("memory"), "/sys/fs/cgroup/memory" + (line == "/" ? "" : line));
    }
    EXPECT_FALSE(Cgroup::of_pid(999999999));
}

TEST(ForPath, FakeHybridRoot) {
    TempDir root;
    for (auto d : {"cpu", "cpuacct", "memory", "pids", "systemd", "unified", "net_cls,net_prio", "lxc.pivot"})
        root.mkdir(d);
    ASSERT_EQ(::symlink("net_cls,net_prio", (root.path() + "/net_cls").c_str()), 0);
    root.put("README", "not a controller");
    const auto& r = root.path();
    auto cg = Cgroup::for_path("/lxc/c1", Mode::Hybrid, r);
    EXPECT_EQ(cg.mode(), Mode::Hybrid);
    EXPECT_EQ(cg.paths(), (Paths{{"", r + "/unified/lxc/c1"},
                                 {"cpu", r + "/cpu/lxc/c1"},
                                 {"cpuacct", r + "/cpuacct/lxc/c1"},
                                 {"memory", r + "/memory/lxc/c1"},
                                 {"name=systemd", r + "/systemd/lxc/c1"},
                                 {"net_cls", r + "/net_cls/lxc/c1"},
                                 {"net_prio", r + "/net_cls,net_prio/lxc/c1"},
                                 {"pids", r + "/pids/lxc/c1"}}));
    auto legacy = Cgroup::for_path("c1/", Mode::Legacy, r);
    EXPECT_FALSE(legacy.paths().contains(""));
    EXPECT_EQ(legacy.paths().at("memory"), r + "/memory/c1");
    EXPECT_EQ(Cgroup::for_path("/lxc/c1", Mode::Unified, r).paths(), (Paths{{"", r + "/lxc/c1"}}));
}

TEST(Detect, FakeRootIsLegacyAndRealRootMatchesMounts) {
    TempDir root;
    EXPECT_EQ(detect(root.path()), Mode::Legacy);
    auto mounts = sys::read_file("/proc/self/mounts");
    ASSERT_TRUE(mounts);
    Mode want = Mode::Legacy;
    if (mounts->find(" /sys/fs/cgroup cgroup2 ") != std::string::npos)
        want = Mode::Unified;
    else if (mounts->find(" /sys/fs/cgroup/unified cgroup2 ") != std::string::npos)
        want = Mode::Hybrid;
    EXPECT_EQ(detect(), want);
}

TEST(Stats, V1FakeFiles) {
    TempDir t;
    t.mkdir("cpuacct");
    t.put("cpuacct/cpuacct.usage", "123456\n");
    t.put("cpuacct/cpuacct.usage_percpu", "100 200 \n");
    t.put("cpuacct/cpuacct.stat", "user 5\nsystem 7\n");
    t.mkdir("cpu");
    t.put("cpu/cpu.stat", "nr_periods 10\nnr_throttled 2\nthrottled_time 3000\n");
    t.mkdir("memory");
    t.put("memory/memory.usage_in_bytes", "4096\n");
    t.put("memory/memory.max_usage_in_bytes", "8192\n");
    t.put("memory/memory.limit_in_bytes", "67108864\n");
    t.put("memory/memory.failcnt", "1\n");
    t.put("memory/memory.memsw.usage_in_bytes", "5000\n");
    t.put("memory/memory.memsw.limit_in_bytes", "9223372036854771712\n");
    t.put("memory/memory.stat", "cache 10\nrss 20\n");
    t.put("memory/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
    t.mkdir("pids");
    t.put("pids/pids.current", "2\n");
    t.put("pids/pids.max", "max\n");
    t.mkdir("blkio");
    t.put("blkio/blkio.throttle.io_serviced_recursive", "8:0 Read 1\n8:0 Write 2\nTotal 3\n");
    t.put("blkio/blkio.throttle.io_service_bytes_recursive", "8:0 Read 4096\n8:0 Write 8192\nTotal 12288\n");
    t.mkdir("hugetlb");
    t.put("hugetlb/hugetlb.2MB.usage_in_bytes", "2097152\n");
    t.put("hugetlb/hugetlb.2MB.limit_in_bytes", "4194304\n");
    const auto& r = t.path();
    Cgroup cg(Paths{{"cpuacct", r + "/cpuacct"},
                    {"cpu", r + "/cpu"},
                    {"memory", r + "/memory"},
                    {"pids", r + "/pids"},
                    {"blkio", r + "/blkio"},
                    {"hugetlb", r + "/hugetlb"},
                    {"freezer", r + "/missing"}},
              Mode::Legacy);
    auto s = cg.stats();
    ASSERT_TRUE(s) << s.error().message();
    EXPECT_EQ(s->cpu_total, 123456u);
    EXPECT_EQ(s->cpu_percpu, (std::vector<uint64_t>{100, 200}));
    EXPECT_EQ(s->cpu_user, 50000000u);
    EXPECT_EQ(s->cpu_kernel, 70000000u);
    EXPECT_EQ(s->throttled_time, 3000u);
    EXPECT_EQ(s->mem_limit, 67108864u);
    EXPECT_EQ(s->swap_usage, 5000u);
    EXPECT_EQ(s->oom_kill, 3u);
    EXPECT_EQ(s->pids_limit, 0u);
    EXPECT_EQ(s->hugetlb_usage, (std::map<std::string, uint64_t>{{"2MB", 2097152}}));
    auto j = nlohmann::json::parse(stats_to_json(*s));
    auto want = nlohmann::json::parse(R"({
      "cpu": {"usage": {"total": 123456, "percpu": [100, 200], "kernel": 70000000, "user": 50000000},
              "throttling": {"periods": 10, "throttledPeriods": 2, "throttledTime": 3000}},
      "cpuset": {"cpu_exclusive": 0, "mem_hardwall": 0, "mem_exclusive": 0, "memory_migrate": 0,
                 "memory_spread_page": 0, "memory_spread_slab": 0, "memory_pressure": 0,
                 "sched_load_balance": 0, "sched_relax_domain_level": 0},
      "memory": {"cache": 10,
                 "usage": {"limit": 67108864, "usage": 4096, "max": 8192, "failcnt": 1},
                 "swap": {"limit": 9223372036854771712, "usage": 5000, "failcnt": 0},
                 "kernel": {"limit": 0, "failcnt": 0},
                 "kernelTCP": {"limit": 0, "failcnt": 0},
                 "raw": {"cache": 10, "rss": 20}},
      "pids": {"current": 2},
      "blkio": {"ioServiceBytesRecursive": [{"major": 8, "op": "Read", "value": 4096},
                                            {"major": 8, "op": "Write", "value": 8192}],
                "ioServicedRecursive": [{"major": 8, "op": "Read", "value": 1},
                                        {"major": 8, "op": "Write", "value": 2}]},
      "hugetlb": {"2MB": {"usage": 2097152, "failcnt": 0}},
      "intel_rdt": {},
      "network_interfaces": null
    })");
    EXPECT_EQ(j, want) << j.dump(2);
    // runc's field order (Go struct order) is kept.
    EXPECT_EQ(stats_to_json(*s).substr(0, 40), R"({"cpu":{"usage":{"total":123456,"percpu")");
}

TEST(Stats, V2FakeFiles) {
    TempDir t;
    t.put("cpu.stat", "usage_usec 10\nuser_usec 6\nsystem_usec 4\nnr_periods 5\nnr_throttled 1\n"
                      "throttled_usec 7\n");
    t.put("memory.current", "4096\n");
    t.put("memory.max", "max\n");
    t.put("memory.swap.current", "100\n");
    t.put("memory.swap.max", "1000\n");
    t.put("memory.stat", "anon 1\nfile 2\n");
    t.put("memory.events", "low 0\nhigh 0\nmax 4\noom 0\noom_kill 1\n");
    t.put("pids.current", "3\n");
    t.put("pids.max", "10\n");
    t.put("io.stat", "8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n");
    t.put("hugetlb.2MB.current", "0\n");
    t.put("hugetlb.2MB.rsvd.current", "5\n");
    Cgroup cg(Paths{{"", t.path()}}, Mode::Unified);
    auto s = cg.stats();
    ASSERT_TRUE(s) << s.error().message();
    EXPECT_EQ(s->cpu_total, 10000u);
    EXPECT_EQ(s->cpu_user, 6000u);
    EXPECT_EQ(s->cpu_kernel, 4000u);
    EXPECT_EQ(s->throttled_time, 7000u);
    EXPECT_EQ(s->mem_usage, 4096u);
    EXPECT_EQ(s->mem_limit, UINT64_MAX);
    EXPECT_EQ(s->swap_usage, 4196u);      // memory+swap, like runc
    EXPECT_EQ(s->swap_limit, UINT64_MAX); // memory.max is max
    EXPECT_EQ(s->mem_failcnt, 4u);
    EXPECT_EQ(s->oom_kill, 1u);
    EXPECT_EQ(s->pids_current, 3u);
    EXPECT_EQ(s->pids_limit, 10u);
    ASSERT_EQ(s->io_service_bytes.size(), 2u);
    EXPECT_EQ(s->io_service_bytes[1].op, "Write");
    EXPECT_EQ(s->io_service_bytes[1].value, 20u);
    ASSERT_EQ(s->io_serviced.size(), 2u);
    EXPECT_EQ(s->io_serviced[0].value, 1u);
    EXPECT_EQ(s->hugetlb_usage, (std::map<std::string, uint64_t>{{"2MB", 0}}));
    auto j = nlohmann::json::parse(stats_to_json(*s));
    EXPECT_EQ(j["memory"]["cache"], 2);
    EXPECT_EQ(j["hugetlb"]["2MB"], nlohmann::json::parse(R"({"failcnt": 0})"));
}

TEST(Stats, MalformedFileIsAnError) {
    TempDir t;
    t.put("memory.usage_in_bytes", "lots\n");
    Cgroup cg(Paths{{"memory", t.path()}}, Mode::Legacy);
    auto s = cg.stats();
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().message(),
              "cgroup stats: parse " + t.path() + "/memory.usage_in_bytes: malformed content");
}

TEST(Stats, EmptyJson) {
    auto j = nlohmann::json::parse(stats_to_json(Stats{}));
    EXPECT_EQ(j["cpu"], nlohmann::json::parse(R"({"usage": {"kernel": 0, "user": 0}, "throttling": {}})"));
    EXPECT_EQ(j["pids"], nlohmann::json::object());
    EXPECT_EQ(j["blkio"], nlohmann::json::object());
    EXPECT_FALSE(j["memory"].contains("raw"));
}

TEST(Apply, WritesToFakeControllerFiles) {
    TempDir t;
    t.mkdir("blkio");
    t.put("blkio/blkio.bfq.weight", "100\n"); // no blkio.weight: runc's BFQ fallback
    t.mkdir("pids");
    t.put("pids/pids.max", "max\n");
    Cgroup cg(
        Paths{{"blkio", t.path() + "/blkio"}, {"pids", t.path() + "/pids"}, {"", t.path() + "/unified"}},
        Mode::Hybrid);
    spec::Resources r;
    r.block_io = spec::BlockIO{};
    r.block_io->weight = 300;
    r.pids_limit = 42;
    auto m = map_resources(r, Mode::Hybrid);
    ASSERT_TRUE(m);
    auto st = cg.apply(*m);
    ASSERT_TRUE(st) << st.error().message();
    EXPECT_EQ(t.get("blkio/blkio.bfq.weight"), "300");
    EXPECT_EQ(t.get("pids/pids.max"), "42");
}

TEST(Apply, ErrorsNameTheWrite) {
    TempDir t;
    t.mkdir("memory");
    Cgroup cg(Paths{{"memory", t.path() + "/memory"}}, Mode::Hybrid);
    auto st = cg.apply(Mapping{{{"memory", "memory.soft_limit_in_bytes", "1024", false}}, {}});
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().message(),
              "write memory.soft_limit_in_bytes=1024 in " + t.path() + "/memory: No such file or directory");
    // Hybrid hugetlb maps to v1; a host whose hugetlb lives in cgroup2 has no v1 controller for it.
    spec::Resources r;
    r.hugepage_limits.push_back({"2MB", 0});
    st = cg.apply(*map_resources(r, Mode::Hybrid));
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().message(),
              "write hugetlb.2MB.limit_in_bytes=0: cgroup controller hugetlb is not mounted");
    st = cg.apply(Mapping{{{"memory", "memory.high", "1", true}}, {}});
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().message(), "write memory.high=1: no cgroup2 hierarchy");
}

TEST(Apply, UnlimitedSwapSkippedWithoutSwapAccounting) {
    TempDir t;
    t.mkdir("memory");
    t.put("memory/memory.limit_in_bytes", "1048576\n");
    Cgroup cg(Paths{{"memory", t.path() + "/memory"}}, Mode::Legacy);
    spec::Resources r;
    r.memory = spec::Memory{};
    r.memory->limit = -1;
    auto st = cg.apply(*map_resources(r, Mode::Legacy));
    ASSERT_TRUE(st) << st.error().message();
    EXPECT_EQ(t.get("memory/memory.limit_in_bytes"), "-1");
    EXPECT_FALSE(sys::exists(t.path() + "/memory/memory.memsw.limit_in_bytes"));
}

// exec --cgroup: SUB under every hierarchy, or CONTROLLER:SUB under one; never outside the container's
// cgroup.
TEST(SubCgroupPaths, EveryHierarchyOrNamedControllers) {
    const std::map<std::string, std::string> paths = {{"", "/sys/fs/cgroup/unified/p/c"},
                                                      {"cpu", "/sys/fs/cgroup/cpu/p/c"},
                                                      {"memory", "/sys/fs/cgroup/memory/p/c"}};
    auto none = sub_cgroup_paths(paths, {});
    ASSERT_TRUE(none);
    EXPECT_EQ(*none, paths);
    auto all = sub_cgroup_paths(paths, {{"", "sub"}});
    ASSERT_TRUE(all) << all.error().message();
    EXPECT_EQ(*all, (std::map<std::string, std::string>{{"", "/sys/fs/cgroup/unified/p/c/sub"},
                                                        {"cpu", "/sys/fs/cgroup/cpu/p/c/sub"},
                                                        {"memory", "/sys/fs/cgroup/memory/p/c/sub"}}));
    auto cpu = sub_cgroup_paths(paths, {{"cpu", "/a/b/"}});
    ASSERT_TRUE(cpu) << cpu.error().message();
    EXPECT_EQ(cpu->at("cpu"), "/sys/fs/cgroup/cpu/p/c/a/b");
    EXPECT_EQ(cpu->at("memory"), "/sys/fs/cgroup/memory/p/c");
    EXPECT_EQ(cpu->at(""), "/sys/fs/cgroup/unified/p/c");
    // "" wins over named controllers (runc's order of checks).
    auto both = sub_cgroup_paths(paths, {{"", "x"}, {"cpu", "y"}});
    ASSERT_TRUE(both);
    EXPECT_EQ(both->at("cpu"), "/sys/fs/cgroup/cpu/p/c/x");
    EXPECT_EQ(sub_cgroup_paths(paths, {{"cpu", "x/../y"}})->at("cpu"), "/sys/fs/cgroup/cpu/p/c/y");
    EXPECT_EQ(sub_cgroup_paths(paths, {{"cpu", "."}})->at("cpu"), "/sys/fs/cgroup/cpu/p/c");
}

TEST(SubCgroupPaths, UnknownControllerAndEscapesAreErrors) {
    const std::map<std::string, std::string> paths = {{"cpu", "/sys/fs/cgroup/cpu/p/c"}};
    auto unknown = sub_cgroup_paths(paths, {{"bogus", "sub"}});
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().kind(), ErrorKind::Invalid);
    EXPECT_EQ(unknown.error().message().rfind("unknown controller bogus in --cgroup", 0), 0u)
        << unknown.error().message();
    for (const char* escape : {"..", "../x", "a/../../x", "../c2"}) {
        auto r = sub_cgroup_paths(paths, {{"cpu", escape}});
        ASSERT_FALSE(r) << escape;
        EXPECT_EQ(r.error().message(), std::string(escape) + " is not a sub cgroup path");
        EXPECT_FALSE(sub_cgroup_paths(paths, {{"", escape}})) << escape;
    }
    // A sibling whose name starts with the container's ("c" and "c2") is outside too (runc's prefix check is
    // not).
    EXPECT_FALSE(sub_cgroup_paths(paths, {{"cpu", "../c2/x"}}));
}
