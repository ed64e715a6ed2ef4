// The checked number parser used for flags and ids: no silent truncation, wrap or trailing junk.
#include "base/parse.hpp"
#include "base/utf8.hpp"

#include <gtest/gtest.h>

#include <cstdint>

using namespace lxcri;

namespace {
template <class T> std::string error_of(std::string_view s) {
    auto r = parse_number<T>(s);
    return r ? "" : r.error().message();
}
} // namespace

TEST(ParseNumber, AcceptsWholeDecimalNumbersInRange) {
    EXPECT_EQ(parse_number<uint32_t>("0").value(), 0u);
    EXPECT_EQ(parse_number<uint32_t>("4294967295").value(), 4294967295u);
    EXPECT_EQ(parse_number<int>("-2147483648").value(), INT32_MIN);
    EXPECT_EQ(parse_number<int64_t>("9223372036854775807").value(), INT64_MAX);
    EXPECT_EQ(parse_number<uint64_t>("18446744073709551615").value(), UINT64_MAX);
    EXPECT_EQ(parse_number<int>("007").value(), 7);
}

TEST(ParseNumber, RejectsOverflowInsteadOfWrapping) {
    // std::stoul("4294967296") cast to uint32_t is 0: exec --user 4294967296 ran as root.
    EXPECT_NE(error_of<uint32_t>("4294967296").find("out of range"), std::string::npos);
    EXPECT_NE(error_of<uint32_t>("99999999999999999999999").find("out of range"), std::string::npos);
    EXPECT_NE(error_of<int>("2147483648").find("out of range"), std::string::npos);
    EXPECT_NE(error_of<int>("-2147483649").find("out of range"), std::string::npos);
    EXPECT_NE(error_of<int64_t>("9223372036854775808").find("out of range"), std::string::npos);
}

TEST(ParseNumber, RejectsEmptyJunkAndSigns) {
    EXPECT_NE(error_of<int>("").find("empty"), std::string::npos);
    EXPECT_NE(error_of<int>("12abc").find("trailing"), std::string::npos);
    EXPECT_NE(error_of<int>("1 ").find("trailing"), std::string::npos);
    EXPECT_NE(error_of<int>(" 1").find("not a decimal"), std::string::npos);
    EXPECT_NE(error_of<int>("+1").find("not a decimal"), std::string::npos);
    EXPECT_NE(error_of<int>("0x10").find("trailing"), std::string::npos);
    EXPECT_NE(error_of<int>("-").find("not a decimal"), std::string::npos);
    EXPECT_NE(error_of<uint32_t>("-1").find("negative"), std::string::npos);
    EXPECT_NE(error_of<uint64_t>("-0").find("negative"), std::string::npos);
    // The error quotes the input.
    EXPECT_EQ(error_of<int>("12abc"), "invalid number \"12abc\": trailing characters");
}

TEST(Utf8, ValidatesAndEscapes) {
    EXPECT_TRUE(is_utf8("plain ascii"));
    EXPECT_TRUE(is_utf8("gr\xC3\xBC\xC3\x9F"
                        "e \xE2\x82\xAC \xF0\x9F\x98\x80"));
    EXPECT_FALSE(is_utf8("\xFF"));
    EXPECT_FALSE(is_utf8("a\xC3"));            // truncated
    EXPECT_FALSE(is_utf8("\xC0\xAF"));         // overlong '/'
    EXPECT_FALSE(is_utf8("\xED\xA0\x80"));     // surrogate
    EXPECT_FALSE(is_utf8("\xF4\x90\x80\x80")); // above U+10FFFF
    EXPECT_EQ(utf8_escaped("a\xFF"
                           "b\xC3\xBC"),
              "a\\xFFb\xC3\xBC");
    EXPECT_TRUE(is_utf8(utf8_escaped("\xC3\x28\xFE")));
}
