// libFuzzer target: an image reference -> parse_reference; what it prints must parse back to itself.
#include "image/reference.hpp"

#include "image_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto r = lxcri::image::parse_reference(lxcri::fuzz::text(data, size));
    if (!r) return 0;
    (void)r->api_host();
    (void)r->is_local();
    auto back = lxcri::image::parse_reference(r->str());
    if (!back || back->str() != r->str() || back->registry != r->registry ||
        back->repository != r->repository || back->digest != r->digest)
        lxcri::fuzz::violated();
    return 0;
}
