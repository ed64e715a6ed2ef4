// Checked number parsing for user input (flags, ids): the whole string must be one decimal integer that fits
// T. Empty input, leading '+' or whitespace, trailing junk, overflow and a '-' sign for an unsigned T are
// errors, never a silent truncation (std::stoi/stoul/atoi accept "12abc", wrap "-1" and 2^32 for uint32_t).
#pragma once
#include "base/result.hpp"

#include <charconv>
#include <concepts>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>

namespace lxcri {

// Why s is not a T, or the value. The error is "invalid number \"S\": <reason>" (the caller adds what it is).
template <std::integral T> Result<T> parse_number(std::string_view s) {
    auto bad = [&](const std::string& why) {
        return fail("invalid number \"" + std::string(s) + "\": " + why);
    };
    if (s.empty()) return bad("empty");
    if constexpr (std::is_unsigned_v<T>) {
        if (s.front() == '-') return bad("must not be negative");
    }
    T value{};
    const char* end = s.data() + s.size();
    auto [ptr, ec] = std::from_chars(s.data(), end, value, 10);
    if (ec == std::errc::result_out_of_range) {
        if (s.front() == '-')
            return bad("out of range (below " + std::to_string(std::numeric_limits<T>::min()) + ")");
        return bad("out of range (above " + std::to_string(std::numeric_limits<T>::max()) + ")");
    }
    if (ec != std::errc() || ptr == s.data()) return bad("not a decimal integer");
    if (ptr != end) return bad("trailing characters");
    return value;
}

} // namespace lxcri
