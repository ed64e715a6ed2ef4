// map_resources: golden-like tables per hierarchy, runc's conversions, gaps and errors.
#include "cgroup/cgroup.hpp"

#include <gtest/gtest.h>

#include <limits>

using namespace lxcri;
using namespace lxcri::cgroup;

namespace {

// "v1 memory memory.limit_in_bytes=64" / "v2 cpu cpu.max=max 100000"
std::vector<std::string> render(const Mapping& m) {
    std::vector<std::string> out;
    for (const auto& s : m.settings)
        out.push_back(std::string(s.unified ? "v2 " : "v1 ") + s.controller + " " + s.file + "=" + s.value);
    return out;
}

std::vector<std::string> gap_fields(const Mapping& m) {
    std::vector<std::string> out;
    for (const auto& g : m.gaps)
        out.push_back(g.field);
    return out;
}

Mapping must_map(const spec::Resources& r, Mode mode) {
    auto m = map_resources(r, mode);
    EXPECT_TRUE(m.has_value()) << (m ? "" : m.error().message());
    return m ? *m : Mapping{};
}

std::string map_error(const spec::Resources& r, Mode mode) {
    auto m = map_resources(r, mode);
    EXPECT_FALSE(m.has_value());
    return m ? "" : m.error().message();
}

// Everything runc maps, with values that show which field went where.
spec::Resources full() {
    spec::Resources r;
    spec::Memory mem;
    mem.limit = 64 << 20;
    mem.reservation = 32 << 20;
    mem.swap = 128 << 20;
    mem.swappiness = 10;
    mem.disable_oom_killer = true;
    mem.kernel = 16 << 20;
    r.memory = mem;
    spec::Cpu cpu;
    cpu.shares = 512;
    cpu.quota = 50000;
    cpu.period = 100000;
    cpu.realtime_runtime = 1000;
    cpu.realtime_period = 10000;
    cpu.cpus = "0-1";
    cpu.mems = "0";
    cpu.idle = 1;
    r.cpu = cpu;
    r.pids_limit = 100;
    spec::BlockIO io;
    io.weight = 500;
    io.leaf_weight = 300;
    io.weight_device.push_back({8, 0, 600, 700});
    io.throttle_read_bps.push_back({8, 0, 1048576});
    io.throttle_write_iops.push_back({8, 16, 100});
    r.block_io = io;
    r.hugepage_limits.push_back({"2MB", 1 << 30});
    r.rdma["mlx5_1"] = spec::Rdma{3, 1000};
    r.network_class_id = 0x100001;
    r.network_priorities.push_back({"eth0", 5});
    return r;
}

const std::vector<std::string> kFullV1 = {
    "v1 cpuset cpuset.cpus=0-1",
    "v1 cpuset cpuset.mems=0",
    "v1 memory memory.limit_in_bytes=67108864",
    "v1 memory memory.memsw.limit_in_bytes=134217728",
    "v1 memory memory.soft_limit_in_bytes=33554432",
    "v1 memory memory.oom_control=1",
    "v1 memory memory.swappiness=10",
    "v1 cpu cpu.shares=512",
    "v1 cpu cpu.cfs_period_us=100000",
    "v1 cpu cpu.cfs_quota_us=50000",
    "v1 cpu cpu.idle=1",
    "v1 cpu cpu.rt_period_us=10000",
    "v1 cpu cpu.rt_runtime_us=1000",
    "v1 pids pids.max=100",
    "v1 blkio blkio.weight=500",
    "v1 blkio blkio.leaf_weight=300",
    "v1 blkio blkio.weight_device=8:0 600",
    "v1 blkio blkio.leaf_weight_device=8:0 700",
    "v1 blkio blkio.throttle.read_bps_device=8:0 1048576",
    "v1 blkio blkio.throttle.write_iops_device=8:16 100",
    "v1 hugetlb hugetlb.2MB.limit_in_bytes=1073741824",
    "v1 net_cls net_cls.classid=1048577",
    "v1 net_prio net_prio.ifpriomap=eth0 5",
    "v1 rdma rdma.max=mlx5_1 hca_handle=3 hca_object=1000",
};

} // namespace

TEST(MapResources, LegacyFullTable) {
    auto m = must_map(full(), Mode::Legacy);
    EXPECT_EQ(render(m), kFullV1);
    EXPECT_EQ(gap_fields(m), std::vector<std::string>{"linux.resources.memory.kernel"});
    EXPECT_EQ(m.gaps[0].reason, "kernel memory settings are ignored and will be removed");
}

// runc 1.1 on a hybrid host: "invalid configuration: cannot use unified on cgroup v1" (measured here).
TEST(MapResources, HybridRefusesUnifiedKeys) {
    auto r = full();
    r.unified["memory.high"] = "100M";
    auto m = cgroup::map_resources(r, Mode::Hybrid);
    ASSERT_FALSE(m);
    EXPECT_NE(m.error().message().find("cannot use unified on cgroup v1"), std::string::npos)
        << m.error().message();
    EXPECT_FALSE(cgroup::map_resources(r, Mode::Legacy));
    EXPECT_TRUE(cgroup::map_resources(r, Mode::Unified));
}

TEST(MapResources, UnifiedFullTable) {
    auto m = must_map(full(), Mode::Unified);
    EXPECT_EQ(render(m), (std::vector<std::string>{
                             "v2 pids pids.max=100",
                             "v2 memory memory.swap.max=67108864",
                             "v2 memory memory.max=67108864",
                             "v2 memory memory.low=33554432",
                             "v2 io io.weight=4950",
                             "v2 io io.weight=8:0 5960",
                             "v2 io io.max=8:0 rbps=1048576",
                             "v2 io io.max=8:16 wiops=100",
                             "v2 cpu cpu.idle=1",
                             "v2 cpu cpu.weight=20",
                             "v2 cpu cpu.max=50000 100000",
                             "v2 cpuset cpuset.cpus=0-1",
                             "v2 cpuset cpuset.mems=0",
                             "v2 hugetlb hugetlb.2MB.max=1073741824",
                             "v2 rdma rdma.max=mlx5_1 hca_handle=3 hca_object=1000",
                         }));
    EXPECT_EQ(gap_fields(m), (std::vector<std::string>{
                                 "linux.resources.memory.kernel",
                                 "linux.resources.memory.swappiness",
                                 "linux.resources.memory.disableOOMKiller",
                                 "linux.resources.blockIO.leafWeight",
                                 "linux.resources.blockIO.weightDevice[0].leafWeight",
                                 "linux.resources.cpu.realtimePeriod",
                                 "linux.resources.cpu.realtimeRuntime",
                                 "linux.resources.network.classID",
                                 "linux.resources.network.priorities",
                             }));
}

TEST(MapResources, EmptyResourcesMapToNothing) {
    for (Mode mode : {Mode::Legacy, Mode::Hybrid, Mode::Unified}) {
        auto m = must_map(spec::Resources{}, mode);
        EXPECT_TRUE(m.settings.empty()) << mode_name(mode);
        EXPECT_TRUE(m.gaps.empty()) << mode_name(mode);
    }
}

namespace {
std::string v2_cpu_weight(uint64_t shares) {
    spec::Resources r;
    r.cpu = spec::Cpu{};
    r.cpu->shares = shares;
    auto m = must_map(r, Mode::Unified);
    return m.settings.size() == 1 && m.settings[0].file == "cpu.weight" ? m.settings[0].value : "?";
}
std::string v2_io_weight(uint16_t weight) {
    spec::Resources r;
    r.block_io = spec::BlockIO{};
    r.block_io->weight = weight;
    auto m = must_map(r, Mode::Unified);
    return m.settings.size() == 1 && m.settings[0].file == "io.weight" ? m.settings[0].value : "?";
}
spec::Resources memory(std::optional<int64_t> limit, std::optional<int64_t> swap) {
    spec::Resources r;
    r.memory = spec::Memory{};
    r.memory->limit = limit;
    r.memory->swap = swap;
    return r;
}
spec::Resources cpu_quota(std::optional<int64_t> quota, std::optional<uint64_t> period) {
    spec::Resources r;
    r.cpu = spec::Cpu{};
    r.cpu->quota = quota;
    r.cpu->period = period;
    return r;
}
} // namespace

TEST(MapResources, CpuSharesToWeight) {
    EXPECT_EQ(v2_cpu_weight(2), "1");
    EXPECT_EQ(v2_cpu_weight(1024), "39");
    EXPECT_EQ(v2_cpu_weight(262144), "10000");
    EXPECT_EQ(v2_cpu_weight(0), "?"); // unset: nothing written
}

TEST(MapResources, BlkioWeightToIoWeight) {
    EXPECT_EQ(v2_io_weight(10), "1");
    EXPECT_EQ(v2_io_weight(500), "4950");
    EXPECT_EQ(v2_io_weight(1000), "10000");
}

TEST(MapResources, SwapConversionV2) {
    EXPECT_EQ(render(must_map(memory(100, 300), Mode::Unified)),
              (std::vector<std::string>{"v2 memory memory.swap.max=200", "v2 memory memory.max=100"}));
    // memory == memory+swap: swap disabled.
    EXPECT_EQ(render(must_map(memory(100, 100), Mode::Unified)),
              (std::vector<std::string>{"v2 memory memory.swap.max=0", "v2 memory memory.max=100"}));
    // Unlimited memory with no swap given: both unlimited.
    EXPECT_EQ(render(must_map(memory(-1, std::nullopt), Mode::Unified)),
              (std::vector<std::string>{"v2 memory memory.swap.max=max", "v2 memory memory.max=max"}));
    EXPECT_EQ(render(must_map(memory(100, -1), Mode::Unified)),
              (std::vector<std::string>{"v2 memory memory.swap.max=max", "v2 memory memory.max=100"}));
    EXPECT_EQ(render(must_map(memory(100, std::nullopt), Mode::Unified)),
              (std::vector<std::string>{"v2 memory memory.max=100"}));
}

TEST(MapResources, SwapV1) {
    EXPECT_EQ(render(must_map(memory(-1, std::nullopt), Mode::Legacy)),
              (std::vector<std::string>{"v1 memory memory.memsw.limit_in_bytes=-1",
                                        "v1 memory memory.limit_in_bytes=-1"}));
    EXPECT_EQ(render(must_map(memory(100, -1), Mode::Hybrid)),
              (std::vector<std::string>{"v1 memory memory.memsw.limit_in_bytes=-1",
                                        "v1 memory memory.limit_in_bytes=100"}));
    EXPECT_EQ(render(must_map(memory(std::nullopt, 300), Mode::Legacy)),
              (std::vector<std::string>{"v1 memory memory.memsw.limit_in_bytes=300"}));
}

TEST(MapResources, SwapErrors) {
    for (Mode mode : {Mode::Legacy, Mode::Hybrid, Mode::Unified})
        EXPECT_EQ(map_error(memory(200, 100), mode),
                  "linux.resources.memory.swap: memory+swap limit should be >= memory limit");
    EXPECT_EQ(map_error(memory(std::nullopt, 100), Mode::Unified),
              "linux.resources.memory.swap: unable to set swap limit without memory limit");
    EXPECT_EQ(map_error(memory(-1, 100), Mode::Unified),
              "linux.resources.memory.swap: unable to set swap limit without memory limit");
}

TEST(MapResources, CpuMax) {
    EXPECT_EQ(render(must_map(cpu_quota(-1, std::nullopt), Mode::Unified)),
              std::vector<std::string>{"v2 cpu cpu.max=max 100000"});
    EXPECT_EQ(render(must_map(cpu_quota(std::nullopt, 50000), Mode::Unified)),
              std::vector<std::string>{"v2 cpu cpu.max=max 50000"});
    EXPECT_EQ(render(must_map(cpu_quota(20000, std::nullopt), Mode::Unified)),
              std::vector<std::string>{"v2 cpu cpu.max=20000 100000"});
    EXPECT_EQ(render(must_map(cpu_quota(-1, std::nullopt), Mode::Legacy)),
              std::vector<std::string>{"v1 cpu cpu.cfs_quota_us=-1"});
}

TEST(MapResources, PidsLimit) {
    spec::Resources r;
    r.pids_limit = -1;
    EXPECT_EQ(render(must_map(r, Mode::Unified)), std::vector<std::string>{"v2 pids pids.max=max"});
    EXPECT_EQ(render(must_map(r, Mode::Legacy)), std::vector<std::string>{"v1 pids pids.max=max"});
    r.pids_limit = 0; // runc 1.1: unset
    EXPECT_TRUE(must_map(r, Mode::Unified).settings.empty());
}

TEST(MapResources, Swappiness) {
    spec::Resources r;
    r.memory = spec::Memory{};
    r.memory->swappiness = 101;
    EXPECT_EQ(
        map_error(r, Mode::Legacy),
        "linux.resources.memory.swappiness: invalid memory swappiness value: 101 (valid range is 0-100)");
    r.memory->swappiness = std::numeric_limits<uint64_t>::max(); // -1: kernel default
    EXPECT_TRUE(must_map(r, Mode::Legacy).settings.empty());
    EXPECT_TRUE(must_map(r, Mode::Unified).gaps.empty());
}

TEST(MapResources, UnifiedKeys) {
    spec::Resources r;
    r.unified["memory.high"] = "1G";
    EXPECT_EQ(map_error(r, Mode::Legacy),
              "linux.resources.unified: invalid configuration: cannot use unified on cgroup v1");
    EXPECT_EQ(render(must_map(r, Mode::Unified)), std::vector<std::string>{"v2 memory memory.high=1G"});
    r.unified.clear();
    r.unified["../memory.high"] = "1G";
    EXPECT_EQ(
        map_error(r, Mode::Unified),
        "linux.resources.unified: unified resource \"../memory.high\" must be a file name (no slashes)");
    r.unified.clear();
    r.unified["nodot"] = "1";
    EXPECT_NE(map_error(r, Mode::Unified).find("must be in the form CONTROLLER.PARAMETER"), std::string::npos);
}

TEST(MapResources, UnifiedKeysComeLastAndWin) {
    spec::Resources r = memory(100, std::nullopt);
    r.unified["memory.max"] = "200";
    EXPECT_EQ(render(must_map(r, Mode::Unified)),
              (std::vector<std::string>{"v2 memory memory.max=100", "v2 memory memory.max=200"}));
}

TEST(MapResources, HugetlbStaysOnV1InHybrid) {
    spec::Resources r;
    r.hugepage_limits.push_back({"1GB", 0});
    EXPECT_EQ(render(must_map(r, Mode::Hybrid)),
              std::vector<std::string>{"v1 hugetlb hugetlb.1GB.limit_in_bytes=0"});
}

TEST(MapResources, KernelTcpAndHierarchyGaps) {
    spec::Resources r;
    r.memory = spec::Memory{};
    r.memory->kernel_tcp = 1 << 20;
    r.memory->use_hierarchy = false;
    for (Mode mode : {Mode::Legacy, Mode::Unified}) {
        auto m = must_map(r, mode);
        EXPECT_TRUE(m.settings.empty());
        EXPECT_EQ(gap_fields(m), (std::vector<std::string>{"linux.resources.memory.kernelTCP",
                                                           "linux.resources.memory.useHierarchy"}));
    }
    r.memory->use_hierarchy = true;
    r.memory->kernel_tcp.reset();
    EXPECT_TRUE(must_map(r, Mode::Legacy).gaps.empty());
}

TEST(MapResources, ModeNames) {
    EXPECT_EQ(mode_name(Mode::Legacy), "legacy");
    EXPECT_EQ(mode_name(Mode::Hybrid), "hybrid");
    EXPECT_EQ(mode_name(Mode::Unified), "unified");
}

// A live update refuses realtime values on cgroup v2 (create only reports them as gaps); 0 is "unchanged".
TEST(CheckUpdate, RealtimeIsV1Only) {
    spec::Resources res;
    res.cpu = spec::Cpu{};
    res.cpu->realtime_period = 900000;
    EXPECT_TRUE(check_update(res, Mode::Legacy));
    EXPECT_TRUE(check_update(res, Mode::Hybrid));
    auto r = check_update(res, Mode::Unified);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind(), ErrorKind::Unsupported);
    EXPECT_NE(r.error().message().find("cgroup v2 does not support realtime"), std::string::npos);
    res.cpu->realtime_period.reset();
    res.cpu->realtime_runtime = 1000;
    EXPECT_FALSE(check_update(res, Mode::Unified));
    res.cpu->realtime_runtime = 0;
    res.cpu->realtime_period = 0;
    EXPECT_TRUE(check_update(res, Mode::Unified));
    res.cpu->shares = 512;
    EXPECT_TRUE(check_update(res, Mode::Unified));
    EXPECT_TRUE(check_update(spec::Resources{}, Mode::Unified));
}

// The realtime flags of update land in cpu.rt_period_us before cpu.rt_runtime_us (the order apply() retries).
TEST(MapResources, RealtimePeriodBeforeRuntime) {
    spec::Resources res;
    res.cpu = spec::Cpu{};
    res.cpu->realtime_runtime = 1000;
    res.cpu->realtime_period = 800000;
    auto m = map_resources(res, Mode::Hybrid);
    ASSERT_TRUE(m) << m.error().message();
    EXPECT_EQ(render(*m),
              (std::vector<std::string>{"v1 cpu cpu.rt_period_us=800000", "v1 cpu cpu.rt_runtime_us=1000"}));
}
