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

// urfave/cli 1.22's reorderArgs: the command's known flags (and the value after each) go first.
TEST(Reorder, KnownFlagsAfterTheIdMoveFirst) {
    const std::vector<cli::FlagSpec> update = {
        {{"cpu-period"}, true}, {{"resources", "r"}, true}, {{"help", "h"}, false}};
    EXPECT_EQ(cli::reorder(v({"x", "update", "id", "--cpu-period", "100"}), 2, update),
              v({"x", "update", "--cpu-period", "100", "id"}));
    EXPECT_EQ(cli::reorder(v({"id", "--cpu-period=100", "-r", "-"}), 0, update),
              v({"--cpu-period=100", "-r", "-", "id"}));
    // Unknown flags stay where they are: they are arguments then (runc: `state ID --bogus` has 2 arguments).
    EXPECT_EQ(cli::reorder(v({"id", "--bogus"}), 0, update), v({"id", "--bogus"}));
    EXPECT_EQ(cli::reorder(v({"id", "--help"}), 0, update), v({"--help", "id"}));
    // Nothing to move: unchanged.
    EXPECT_EQ(cli::reorder(v({"--cpu-period", "1", "id"}), 0, update), v({"--cpu-period", "1", "id"}));
    auto p = cli::parse(cli::reorder(v({"id", "--cpu-period", "100"}), 0, update), 0, update);
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_EQ(p->get("cpu-period"), "100");
    EXPECT_EQ(p->positional, v({"id"}));
}

TEST(Reorder, BooleanFlagTakesTheNextArgumentAlongAsUrfaveDoes) {
    const std::vector<cli::FlagSpec> kill = {{{"all", "a"}, false}};
    // runc: `kill ID -a 9` is container "9", signal "ID".
    auto p = cli::parse(cli::reorder(v({"id", "-a", "9"}), 0, kill), 0, kill);
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->flag("all"));
    EXPECT_EQ(p->positional, v({"9", "id"}));
    EXPECT_EQ(cli::reorder(v({"id", "9", "--all"}), 0, kill), v({"--all", "id", "9"}));
}

TEST(Reorder, DoubleDashEndsReorderingAndGoesFirst) {
    const std::vector<cli::FlagSpec> kill = {{{"all", "a"}, false}};
    EXPECT_EQ(cli::reorder(v({"id", "--", "-1"}), 0, kill), v({"--", "id", "-1"}));
    auto p = cli::parse(cli::reorder(v({"id", "--", "-1"}), 0, kill), 0, kill);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->positional, v({"id", "-1"}));
    // A known flag after "--" is an argument.
    EXPECT_EQ(cli::reorder(v({"id", "--", "--all"}), 0, kill), v({"--", "id", "--all"}));
    // run --image REF ID -- ARGS: the arguments stay whole, in order.
    const std::vector<cli::FlagSpec> run = {{{"image"}, true}, {{"detach", "d"}, false}};
    auto q =
        cli::parse(cli::reorder(v({"--image", "busybox", "id", "--", "sh", "-c", "-d"}), 0, run), 0, run);
    ASSERT_TRUE(q) << q.error().message();
    EXPECT_EQ(q->get("image"), "busybox");
    EXPECT_FALSE(q->has("detach"));
    EXPECT_EQ(q->positional, v({"id", "sh", "-c", "-d"}));
    // "-" is never a flag.
    EXPECT_EQ(cli::reorder(v({"id", "-", "-d"}), 0, run), v({"-d", "id", "-"}));
}
