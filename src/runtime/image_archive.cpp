// `image import` and `image export` (declared in runtime/image.hpp).
#include "image/archive.hpp"
#include "runtime/common.hpp"
#include "runtime/image.hpp"

#include <cstdio>

namespace lxcri::runtime {

Status image_import(const ImageContext& c, const std::string& path, const std::string& name) {
    auto store = TRY(image::Store::open(c.store));
    auto recs = TRY(image::import_archive(store, absolute_path(path), name));
    for (auto& r : recs)
        std::printf("%s %s\n", r.name.c_str(), r.manifest.str().c_str());
    return ok();
}

Status image_export(const ImageContext& c, const std::string& ref, const std::string& file) {
    auto store = TRY(image::Store::open(c.store));
    return image::export_archive(store, ref, absolute_path(file));
}

} // namespace lxcri::runtime
