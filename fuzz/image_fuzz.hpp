// Shared by the image-side libFuzzer targets (fuzz/image_*_fuzz.cpp).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace lxcri::fuzz {

inline std::string_view text(const uint8_t* data, size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

// A property of the code under test does not hold: a crash libFuzzer records as an artifact.
[[noreturn]] inline void violated() {
    __builtin_trap();
}

} // namespace lxcri::fuzz
