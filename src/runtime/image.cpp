#include "runtime/image.hpp"

#include "image/config.hpp"
#include "image/pull.hpp"
#include "image/store.hpp"
#include "image/unpack.hpp"
#include "storage/layers_gc.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <set>

namespace lxcri::runtime {

namespace {

using Json = nlohmann::json;

Result<image::Store> open_store(const ImageContext& c) {
    return image::Store::open(c.store);
}

Json record_json(const image::ImageRecord& r) {
    Json j = {{"name", r.name}, {"digest", r.manifest.str()}, {"created", r.created}, {"size", r.size}};
    if (!r.index.empty()) j["index"] = r.index.str();
    return j;
}

Json parse_or_null(const std::string& text) {
    Json j = Json::parse(text, nullptr, false);
    return j.is_discarded() ? Json() : j;
}

} // namespace

Status unpack_image_layer(const std::string& blob, const std::string& dir, bool overlay,
                          const std::string& diff_id) {
    auto want = TRY(image::parse_digest(diff_id));
    TRY(image::unpack_layer(blob, dir, overlay ? image::Whiteouts::overlay : image::Whiteouts::apply, &want));
    return ok();
}

Status image_pull(const ImageContext& c, const ImagePullOpts& o) {
    auto ref = TRY(image::parse_reference(o.ref));
    auto store = TRY(open_store(c));
    image::PullOptions po;
    po.registry.insecure = o.insecure;
    po.registry.auth_file = o.auth_file;
    if (!o.platform.empty()) po.platform = TRY(image::parse_platform(o.platform));
    if (o.jobs < 1 || o.jobs > 64) return fail("invalid --jobs " + std::to_string(o.jobs) + ": want 1..64");
    po.jobs = o.jobs;
    po.progress = o.quiet ? image::ProgressMode::Quiet
                          : (c.json_log ? image::ProgressMode::Json : image::ProgressMode::Auto);
    auto res = TRY(image::pull(store, ref, po));
    std::printf("%s\n", res.record.manifest.str().c_str());
    return ok();
}

Status image_list(const ImageContext& c, const std::string& format, bool quiet) {
    auto store = TRY(open_store(c));
    auto recs = TRY(store.list());
    if (quiet) {
        for (auto& r : recs)
            std::printf("%s\n", r.name.c_str());
        return ok();
    }
    if (format == "json") {
        Json arr = Json::array();
        for (auto& r : recs)
            arr.push_back(record_json(r));
        std::printf("%s\n", arr.dump(-1, ' ', false, Json::error_handler_t::replace).c_str());
        return ok();
    }
    if (format != "table" && !format.empty()) return fail("invalid format option");
    std::printf("%-48s%-16s%-12s%s\n", "NAME", "DIGEST", "SIZE", "CREATED");
    for (auto& r : recs)
        std::printf("%-48s%-16s%-12s%s\n", r.name.c_str(), r.manifest.short_hex().c_str(),
                    image::Progress::human(r.size).c_str(), r.created.c_str());
    return ok();
}

Status image_inspect(const ImageContext& c, const std::vector<std::string>& refs) {
    auto store = TRY(open_store(c));
    Json arr = Json::array();
    for (auto& ref : refs) {
        auto img = TRY(store.image(ref));
        Json j = record_json(img.record);
        j["manifest"] = parse_or_null(TRY(store.read_blob(img.record.manifest)));
        j["config"] = parse_or_null(img.config_json);
        Json layers = Json::array();
        for (auto& l : img.manifest.layers)
            layers.push_back({{"digest", l.digest.str()}, {"mediaType", l.media_type}, {"size", l.size}});
        j["layers"] = std::move(layers);
        arr.push_back(std::move(j));
    }
    std::printf("%s\n", arr.dump(2, ' ', false, Json::error_handler_t::replace).c_str());
    return ok();
}

Status image_rm(const ImageContext& c, const std::vector<std::string>& refs) {
    auto store = TRY(open_store(c));
    for (auto& ref : refs) {
        auto removed = TRY(store.remove(ref));
        for (auto& r : removed)
            std::printf("Untagged: %s\n", r.name.c_str());
    }
    auto rep = TRY_CTX(store.gc(), "image rm");
    if (rep.blobs_removed)
        std::printf("Deleted: %zu blobs, %s\n", rep.blobs_removed,
                    image::Progress::human(rep.bytes_freed).c_str());
    return ok();
}

// Chain ids of every stored image's layers: the shared layers `image gc` keeps.
Result<std::set<std::string>> stored_chain_ids(const image::Store& store) {
    std::set<std::string> out;
    for (auto& rec : TRY(store.list())) {
        auto m = TRY_CTX(store.manifest(rec.manifest), rec.name);
        auto cfg = TRY_CTX(store.config(m.config.digest), rec.name);
        for (auto& d : image::chain_ids(cfg.diff_ids))
            out.insert(d.hex);
    }
    return out;
}

Status image_gc(const ImageContext& c) {
    auto store = TRY(open_store(c));
    auto rep = TRY(store.gc());
    std::printf("removed %zu blobs and %zu partial downloads, freed %s\n", rep.blobs_removed,
                rep.partials_removed, image::Progress::human(rep.bytes_freed).c_str());
    auto keep = TRY_CTX(stored_chain_ids(store), "image gc: layers");
    auto lr = TRY_CTX(storage::gc_layers(storage_root(), keep), "image gc");
    if (!lr.skipped.empty())
        std::printf("unpacked layers kept: %s\n", lr.skipped.c_str());
    else if (lr.removed)
        std::printf("removed %zu unpacked layers, kept %zu\n", lr.removed, lr.kept);
    return ok();
}

} // namespace lxcri::runtime
