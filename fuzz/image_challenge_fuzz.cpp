// libFuzzer target: a WWW-Authenticate header value -> parse_challenges.
#include "image/auth.hpp"

#include "image_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto chs = lxcri::image::parse_challenges(lxcri::fuzz::text(data, size));
    if (!chs) return 0;
    if (chs->empty()) lxcri::fuzz::violated();
    for (auto& ch : *chs)
        if (ch.scheme.empty()) lxcri::fuzz::violated();
    return 0;
}
