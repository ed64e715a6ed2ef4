// libFuzzer target: a registry's manifest body -> detect_media_type, parse_manifest and what pull does with
// one (layer media types, the descriptor digests). Nothing may crash, leak, hit UB or throw.
#include "image/manifest.hpp"

#include "image_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto body = lxcri::fuzz::text(data, size);
    (void)lxcri::image::detect_media_type(body);
    auto m = lxcri::image::parse_manifest(body);
    if (!m) return 0;
    for (auto& l : m->layers) {
        (void)lxcri::image::layer_compression(l.media_type);
        if (l.size < 0 || l.digest.hex.size() != 64) lxcri::fuzz::violated();
    }
    if (m->config.digest.hex.size() != 64) lxcri::fuzz::violated();
    return 0;
}
