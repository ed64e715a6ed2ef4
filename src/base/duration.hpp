// Go's time.ParseDuration, as runc's flags take durations ("100ms", "1.5s", "1h15m", "0"): a sequence of
// decimal numbers, each with an optional fraction and a unit (ns, us, µs, ms, s, m, h), with an optional
// sign. The error is Go's: `time: invalid duration "X"` (and `time: unknown unit "U" in duration "X"`, `time:
// missing unit in duration "X"`).
#pragma once
#include "base/result.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace lxcri {

inline Result<std::chrono::nanoseconds> parse_duration(std::string_view text) {
    const std::string quoted = "\"" + std::string(text) + "\"";
    auto invalid = [&] { return fail(ErrorKind::Invalid, "time: invalid duration " + quoted); };
    std::string_view s = text;
    bool neg = false;
    if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
        neg = s.front() == '-';
        s.remove_prefix(1);
    }
    if (s == "0") return std::chrono::nanoseconds(0);
    if (s.empty()) return invalid();
    constexpr uint64_t kMax = UINT64_C(1) << 63; // |duration| <= 2^63 ns
    uint64_t total = 0;
    while (!s.empty()) {
        uint64_t whole = 0, frac = 0, scale = 1;
        bool digits = false;
        while (!s.empty() && s.front() >= '0' && s.front() <= '9') {
            if (whole > (kMax - 9) / 10) return invalid();
            whole = whole * 10 + static_cast<uint64_t>(s.front() - '0');
            digits = true;
            s.remove_prefix(1);
        }
        if (!s.empty() && s.front() == '.') {
            s.remove_prefix(1);
            while (!s.empty() && s.front() >= '0' && s.front() <= '9') {
                if (scale < UINT64_C(1000000000000000000)) {
                    frac = frac * 10 + static_cast<uint64_t>(s.front() - '0');
                    scale *= 10;
                }
                digits = true;
                s.remove_prefix(1);
            }
        }
        if (!digits) return invalid();
        size_t u = 0;
        while (u < s.size() && s[u] != '.' && (s[u] < '0' || s[u] > '9'))
            ++u;
        std::string_view unit = s.substr(0, u);
        s.remove_prefix(u);
        if (unit.empty()) return fail(ErrorKind::Invalid, "time: missing unit in duration " + quoted);
        uint64_t per;
        if (unit == "ns")
            per = 1;
        else if (unit == "us" || unit == "\xc2\xb5s" || unit == "\xce\xbcs")
            per = 1000;
        else if (unit == "ms")
            per = 1000000;
        else if (unit == "s")
            per = 1000000000;
        else if (unit == "m")
            per = UINT64_C(60000000000);
        else if (unit == "h")
            per = UINT64_C(3600000000000);
        else
            return fail(ErrorKind::Invalid,
                        "time: unknown unit \"" + std::string(unit) + "\" in duration " + quoted);
        if (whole > kMax / per) return invalid();
        uint64_t v = whole * per;
        // The fraction, rounded down as Go does (in floating point: exact enough for every unit here).
        v += static_cast<uint64_t>(static_cast<long double>(frac) * static_cast<long double>(per) /
                                   static_cast<long double>(scale));
        if (v > kMax || total > kMax - v) return invalid();
        total += v;
    }
    if (!neg && total > kMax - 1) return invalid();
    int64_t signed_total = neg ? -static_cast<int64_t>(total - 1) - 1 : static_cast<int64_t>(total);
    return std::chrono::nanoseconds(signed_total);
}

} // namespace lxcri
