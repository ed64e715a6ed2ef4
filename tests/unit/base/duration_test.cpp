// Go's time.ParseDuration, the syntax runc's duration flags (events --interval) take.
#include "base/duration.hpp"

#include <gtest/gtest.h>

using namespace lxcri;
using namespace std::chrono_literals;

namespace {
std::string error_of(std::string_view s) {
    auto d = parse_duration(s);
    return d ? "" : d.error().message();
}
} // namespace

TEST(Duration, GoSyntax) {
    EXPECT_EQ(*parse_duration("0"), 0ns);
    EXPECT_EQ(*parse_duration("5s"), 5s);
    EXPECT_EQ(*parse_duration("100ms"), 100ms);
    EXPECT_EQ(*parse_duration("1.5s"), 1500ms);
    EXPECT_EQ(*parse_duration("1h15m30.5s"), 1h + 15min + 30500ms);
    EXPECT_EQ(*parse_duration("250us"), 250us);
    EXPECT_EQ(*parse_duration("250\xc2\xb5s"), 250us);
    EXPECT_EQ(*parse_duration("7ns"), 7ns);
    EXPECT_EQ(*parse_duration(".5s"), 500ms);
    EXPECT_EQ(*parse_duration("-1.5h"), -90min);
    EXPECT_EQ(*parse_duration("+2m"), 2min);
}

TEST(Duration, GoErrors) {
    EXPECT_EQ(error_of(""), "time: invalid duration \"\"");
    EXPECT_EQ(error_of("5"), "time: missing unit in duration \"5\"");
    EXPECT_EQ(error_of("5x"), "time: unknown unit \"x\" in duration \"5x\"");
    EXPECT_EQ(error_of("s"), "time: invalid duration \"s\"");
    EXPECT_EQ(error_of("."), "time: invalid duration \".\"");
    EXPECT_EQ(error_of("-"), "time: invalid duration \"-\"");
    EXPECT_EQ(error_of("99999999999999999999h"), "time: invalid duration \"99999999999999999999h\"");
    EXPECT_EQ(error_of("3000000h"), "time: invalid duration \"3000000h\""); // > 2^63 ns
}
