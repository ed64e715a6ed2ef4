// libFuzzer target: an image config -> parse_config, chain_ids and the bundle config.json made from it.
#include "image/bundle.hpp"
#include "image/config.hpp"
#include "image/manifest.hpp"

#include "image_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto c = lxcri::image::parse_config(lxcri::fuzz::text(data, size));
    if (!c) return 0;
    auto chains = lxcri::image::chain_ids(c->diff_ids);
    if (chains.size() != c->diff_ids.size()) lxcri::fuzz::violated();
    if (!chains.empty() && chains[0] != c->diff_ids[0]) lxcri::fuzz::violated();
    lxcri::image::BundleOptions o;
    o.annotations["org.opencontainers.image.ref.name"] = "fuzz";
    (void)lxcri::image::bundle_config(*c, lxcri::image::ResolvedUser{}, o);
    return 0;
}
