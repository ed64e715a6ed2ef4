// The default bundle config.json, as `runc spec` (1.1) writes it, and its --rootless variant: shared by the
// `spec` verb and the bundles generated from images.
#pragma once
#include <nlohmann/json.hpp>

namespace lxcri::spec {

nlohmann::ordered_json default_config(bool rootless);

} // namespace lxcri::spec
