#include "cli/args.hpp"

#include <gtest/gtest.h>

using namespace lxcri;

namespace {
const std::vector<cli::FlagSpec> kFlags = {
    {{"bundle", "b"}, true}, {{"detach", "d"}, false}, {{"env", "e"}, true}};

std::vector<std::string> v(std::initializer_list<const char*> a) {
    return {a.begin(), a.end()};
}
} // namespace

TEST(Args, SingleAndDoubleDashWithSeparateOrJoinedValues) {
    auto p = cli::parse(v({"x", "-b", "/b1", "--bundle=/b2", "-d", "id"}), 1, kFlags);
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_EQ(p->get("bundle"), "/b2");
    EXPECT_EQ(p->all("bundle").size(), 2u);
    EXPECT_TRUE(p->flag("detach"));
    EXPECT_EQ(p->positional, v({"id"}));
}

TEST(Args, BooleanWithExplicitValue) {
    auto p = cli::parse(v({"--detach=false", "id"}), 0, kFlags);
    ASSERT_TRUE(p);
    EXPECT_FALSE(p->flag("detach"));
    EXPECT_TRUE(p->has("detach"));
}

TEST(Args, StopsAtFirstPositionalAndAtDoubleDash) {
    auto p = cli::parse(v({"-e", "A=1", "id", "sh", "-c", "echo"}), 0, kFlags);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->positional, v({"id", "sh", "-c", "echo"}));
    auto q = cli::parse(v({"--", "-d"}), 0, kFlags);
    ASSERT_TRUE(q);
    EXPECT_EQ(q->positional, v({"-d"}));
    EXPECT_FALSE(q->has("detach"));
}

TEST(Args, UnknownFlagAndMissingValueAreErrors) {
    auto p = cli::parse(v({"--nope", "id"}), 0, kFlags);
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().message(), "flag provided but not defined: -nope");
    auto q = cli::parse(v({"--bundle"}), 0, kFlags);
    ASSERT_FALSE(q);
    EXPECT_EQ(q.error().message(), "flag needs an argument: -bundle");
}
