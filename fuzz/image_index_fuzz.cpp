// libFuzzer target: an index / manifest list -> parse_index and select_platform for a few platforms.
#include "image/manifest.hpp"

#include "image_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto ix = lxcri::image::parse_index(lxcri::fuzz::text(data, size));
    if (!ix) return 0;
    for (const char* p : {"linux/amd64", "linux/arm64/v8", "linux/arm/v7", "windows/amd64"}) {
        auto want = lxcri::image::parse_platform(p);
        auto d = lxcri::image::select_platform(*ix, *want);
        // The choice is one of the index's entries.
        if (d && ix->manifests.empty()) lxcri::fuzz::violated();
    }
    return 0;
}
