#include "cgroup/cgroup.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

using namespace lxcri;
using namespace lxcri::cgroup;

TEST(MapHybrid, HugetlbInCgroup2GoesToTheUnifiedHierarchy) {
    spec::Resources res;
    res.hugepage_limits = {{"2MB", 1 << 30}};
    auto v1 = map_resources(res, Mode::Hybrid);
    ASSERT_TRUE(v1);
    ASSERT_EQ(v1->settings.size(), 1u);
    EXPECT_EQ(v1->settings[0].file, "hugetlb.2MB.limit_in_bytes");
    EXPECT_FALSE(v1->settings[0].unified);
    auto v2 = map_resources(res, Mode::Hybrid, {"hugetlb"});
    ASSERT_TRUE(v2);
    ASSERT_EQ(v2->settings.size(), 1u);
    EXPECT_EQ(v2->settings[0].file, "hugetlb.2MB.max");
    EXPECT_TRUE(v2->settings[0].unified);
    // Legacy hosts have no cgroup2: the set is ignored.
    auto legacy = map_resources(res, Mode::Legacy, {"hugetlb"});
    ASSERT_TRUE(legacy);
    EXPECT_FALSE(legacy->settings[0].unified);
}

TEST(MapHybrid, ThisHostsCgroup2ControllersHaveNoV1Hierarchy) {
    for (const auto& c : hybrid_v2_controllers())
        EXPECT_FALSE(std::string(c).empty());
    if (detect() != Mode::Hybrid) {
        EXPECT_TRUE(hybrid_v2_controllers().empty());
        return;
    }
    for (const auto& c : hybrid_v2_controllers()) {
        EXPECT_NE(::access(("/sys/fs/cgroup/" + c).c_str(), F_OK), 0) << c;
    }
}
