// The systemd driver's pure parts: cgroupsPath parsing, slice expansion, cpuset bitmasks, unit properties.
#include "cgroup/systemd.hpp"

#include <gtest/gtest.h>

#include <limits>

using namespace lxcri;
using namespace lxcri::cgroup;
using namespace lxcri::cgroup::systemd;

namespace {

constexpr uint64_t kInf = std::numeric_limits<uint64_t>::max();

const Property* find(const std::vector<Property>& props, const std::string& name) {
    for (const auto& p : props)
        if (p.name == name) return &p;
    return nullptr;
}

template <class T> T value_of(const std::vector<Property>& props, const std::string& name) {
    const Property* p = find(props, name);
    EXPECT_NE(p, nullptr) << name;
    if (!p || !std::holds_alternative<T>(p->value)) {
        ADD_FAILURE() << name << " has another type";
        return T{};
    }
    return std::get<T>(p->value);
}

} // namespace

TEST(SystemdSlice, ExpandsNestedSlicesLikeRunc) {
    EXPECT_EQ(*expand_slice("system.slice"), "/system.slice");
    EXPECT_EQ(*expand_slice("a-b-c.slice"), "/a.slice/a-b.slice/a-b-c.slice");
    EXPECT_EQ(*expand_slice("-.slice"), "/");
}

TEST(SystemdSlice, RejectsBadSliceNames) {
    for (const char* bad :
         {"", ".slice", "system", "a--b.slice", "-a.slice", "a-.slice", "a/b.slice", "x.scope"})
        EXPECT_FALSE(expand_slice(bad)) << bad;
}

TEST(SystemdPath, SlicePrefixName) {
    auto u = parse_cgroups_path("kubepods-besteffort.slice:cri-containerd:abc", "id1");
    ASSERT_TRUE(u) << u.error().message();
    EXPECT_EQ(u->slice, "kubepods-besteffort.slice");
    EXPECT_EQ(u->name, "cri-containerd-abc.scope");
    EXPECT_EQ(u->path, "kubepods.slice/kubepods-besteffort.slice/cri-containerd-abc.scope");
}

TEST(SystemdPath, DefaultsAndEmptyParts) {
    auto u = parse_cgroups_path(":libpod:c1", "id1");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->slice, "system.slice");
    EXPECT_EQ(u->path, "system.slice/libpod-c1.scope");

    auto noprefix = parse_cgroups_path("user.slice::c2", "id1");
    ASSERT_TRUE(noprefix);
    EXPECT_EQ(noprefix->name, "c2.scope");

    auto dflt = parse_cgroups_path("", "myid");
    ASSERT_TRUE(dflt);
    EXPECT_EQ(dflt->path, "system.slice/runc-myid.scope");

    auto root = parse_cgroups_path("-.slice:p:n", "id1");
    ASSERT_TRUE(root);
    EXPECT_EQ(root->path, "p-n.scope");
}

TEST(SystemdPath, WrongSyntaxIsAClearError) {
    auto r = parse_cgroups_path("/machine/ctr", "id1");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("expected \"slice:prefix:name\""), std::string::npos)
        << r.error().message();
    EXPECT_FALSE(parse_cgroups_path("a:b:c:d", "id1"));
    EXPECT_FALSE(parse_cgroups_path("system.slice:p:", "id1"));
    EXPECT_FALSE(parse_cgroups_path("nota-slice:p:n", "id1"));
    EXPECT_FALSE(parse_cgroups_path("system.slice:p:n/x", "id1"));
    auto slice = parse_cgroups_path("system.slice:p:pod.slice", "id1");
    ASSERT_FALSE(slice);
    EXPECT_NE(slice.error().message().find("scope"), std::string::npos);
}

TEST(SystemdBits, RangeToBitsIsLittleEndianBytes) {
    EXPECT_EQ(*range_to_bits("0"), (std::vector<uint8_t>{0x01}));
    EXPECT_EQ(*range_to_bits("0-2,9"), (std::vector<uint8_t>{0x07, 0x02}));
    EXPECT_EQ(*range_to_bits(" 1 , 3-4 ,"), (std::vector<uint8_t>{0x1a}));
    EXPECT_EQ(*range_to_bits("16"), (std::vector<uint8_t>{0x00, 0x00, 0x01}));
    for (const char* bad : {"", ",", "3-1", "a", "1-", "-1", "1-x"})
        EXPECT_FALSE(range_to_bits(bad)) << bad;
}

TEST(SystemdProps, V2ResourcesAsRunc) {
    spec::Resources res;
    res.memory = spec::Memory{};
    res.memory->limit = 64 << 20;
    res.memory->reservation = 32 << 20;
    res.memory->swap = 128 << 20;
    res.cpu = spec::Cpu{};
    res.cpu->shares = 1024;
    res.cpu->quota = 50000;
    res.cpu->period = 100000;
    res.cpu->cpus = "0-1";
    res.cpu->mems = "0";
    res.pids_limit = 100;
    auto props = resource_properties(res, Mode::Unified);
    ASSERT_TRUE(props) << props.error().message();
    EXPECT_EQ(value_of<uint64_t>(*props, "MemoryMax"), uint64_t{64} << 20);
    EXPECT_EQ(value_of<uint64_t>(*props, "MemoryLow"), uint64_t{32} << 20);
    EXPECT_EQ(value_of<uint64_t>(*props, "MemorySwapMax"), uint64_t{64} << 20); // memory+swap minus memory
    EXPECT_EQ(value_of<uint64_t>(*props, "CPUWeight"), 39u);                    // runc's shares conversion
    EXPECT_EQ(value_of<uint64_t>(*props, "CPUQuotaPeriodUSec"), 100000u);
    EXPECT_EQ(value_of<uint64_t>(*props, "CPUQuotaPerSecUSec"), 500000u);
    EXPECT_EQ(value_of<uint64_t>(*props, "TasksMax"), 100u);
    EXPECT_EQ(value_of<std::vector<uint8_t>>(*props, "AllowedCPUs"), (std::vector<uint8_t>{0x03}));
    EXPECT_EQ(value_of<std::vector<uint8_t>>(*props, "AllowedMemoryNodes"), (std::vector<uint8_t>{0x01}));
    EXPECT_EQ(find(*props, "MemoryLimit"), nullptr);
}

TEST(SystemdProps, QuotaRoundsUpToTenMillisecondsAndUnlimitedIsInfinity) {
    spec::Resources res;
    res.cpu = spec::Cpu{};
    res.cpu->quota = 12345; // default period: 123450 us/s -> 130000
    res.pids_limit = -1;
    res.memory = spec::Memory{};
    res.memory->limit = -1;
    auto props = resource_properties(res, Mode::Unified);
    ASSERT_TRUE(props) << props.error().message();
    EXPECT_EQ(value_of<uint64_t>(*props, "CPUQuotaPerSecUSec"), 130000u);
    EXPECT_EQ(find(*props, "CPUQuotaPeriodUSec"), nullptr);
    EXPECT_EQ(value_of<uint64_t>(*props, "TasksMax"), kInf);
    EXPECT_EQ(value_of<uint64_t>(*props, "MemoryMax"), kInf);

    spec::Resources period_only;
    period_only.cpu = spec::Cpu{};
    period_only.cpu->period = 50000;
    auto p2 = resource_properties(period_only, Mode::Unified);
    ASSERT_TRUE(p2);
    EXPECT_EQ(value_of<uint64_t>(*p2, "CPUQuotaPerSecUSec"), kInf);
}

TEST(SystemdProps, V1NamesOnLegacyHosts) {
    spec::Resources res;
    res.memory = spec::Memory{};
    res.memory->limit = 1 << 20;
    res.cpu = spec::Cpu{};
    res.cpu->shares = 512;
    res.block_io = spec::BlockIO{};
    res.block_io->weight = 300;
    auto props = resource_properties(res, Mode::Hybrid);
    ASSERT_TRUE(props) << props.error().message();
    EXPECT_EQ(value_of<uint64_t>(*props, "MemoryLimit"), uint64_t{1} << 20);
    EXPECT_EQ(value_of<uint64_t>(*props, "CPUShares"), 512u);
    EXPECT_EQ(value_of<uint64_t>(*props, "BlockIOWeight"), 300u);
    EXPECT_EQ(find(*props, "MemoryMax"), nullptr);
    EXPECT_EQ(find(*props, "CPUWeight"), nullptr);
}

TEST(SystemdProps, BadResourcesFail) {
    spec::Resources swap_without_memory;
    swap_without_memory.memory = spec::Memory{};
    swap_without_memory.memory->swap = 1 << 20;
    EXPECT_FALSE(resource_properties(swap_without_memory, Mode::Unified));
    spec::Resources bad_cpus;
    bad_cpus.cpu = spec::Cpu{};
    bad_cpus.cpu->cpus = "3-1";
    auto r = resource_properties(bad_cpus, Mode::Unified);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("linux.resources.cpu.cpus"), std::string::npos) << r.error().message();
}

TEST(SystemdProps, ScopePropertiesCarryTheUnitAndPid) {
    auto u = parse_cgroups_path("machine.slice:lxcri:c1", "c1");
    ASSERT_TRUE(u);
    spec::Resources res;
    res.pids_limit = 10;
    auto props = scope_properties(*u, "proxmox-lxcri container c1", 4242, res, Mode::Unified);
    ASSERT_TRUE(props) << props.error().message();
    EXPECT_EQ(value_of<std::string>(*props, "Slice"), "machine.slice");
    EXPECT_EQ(value_of<std::string>(*props, "Description"), "proxmox-lxcri container c1");
    EXPECT_TRUE(value_of<bool>(*props, "Delegate"));
    EXPECT_FALSE(value_of<bool>(*props, "DefaultDependencies"));
    EXPECT_EQ(value_of<std::vector<uint32_t>>(*props, "PIDs"), (std::vector<uint32_t>{4242}));
    EXPECT_EQ(value_of<uint64_t>(*props, "TasksMax"), 10u);
}

TEST(SystemdHost, UnavailableWithoutSystemdSaysWhy) {
    auto r = available();
    if (r) GTEST_SKIP() << "systemd is running here";
    EXPECT_NE(r.error().message().find("/run/systemd/system"), std::string::npos);
}
