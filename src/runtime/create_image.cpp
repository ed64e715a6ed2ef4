// Containers straight from stored images: `create --image`, `run --image`, `spec --image`.
// The rootfs comes from a storage driver (overlay: shared layers + a private upper dir), the bundle is
// written next to it (<storage root>/containers/<id>/bundle), and the container's state records the driver
// (runtime::StorageRef): destroy_container() releases both.
#include "image/bundle.hpp"
#include "image/config.hpp"
#include "image/store.hpp"
#include "image/unpack.hpp"
#include "runtime/common.hpp"
#include "runtime/image.hpp"
#include "storage/driver.hpp"
#include "storage/layers_gc.hpp"
#include "sys/fs.hpp"

#include <cstdlib>

namespace lxcri::runtime {

namespace {

Result<image::Image> load_image(const ImageContext& c, const std::string& ref) {
    auto store = TRY(image::Store::open(c.store));
    auto img = store.image(ref);
    if (!img)
        return fail("image \"" + ref + "\" is not in the store (" + store.root() +
                    "): pull it first with `proxmox-lxcri image pull " + ref + "` or `image import`");
    if (img->config.diff_ids.size() != img->manifest.layers.size())
        return fail("image \"" + ref + "\": config has " + std::to_string(img->config.diff_ids.size()) +
                    " diff_ids for " + std::to_string(img->manifest.layers.size()) + " layers");
    return img;
}

// The image's layers, lowest first, each unpacked from its blob on demand.
std::vector<storage::Layer> layers_of(const std::string& store_root, const image::Image& img) {
    auto store = image::Store::open(store_root);
    auto chains = image::chain_ids(img.config.diff_ids);
    std::vector<storage::Layer> out;
    for (size_t i = 0; i < chains.size(); ++i) {
        std::string blob = store ? store->blob_path(img.manifest.layers[i].digest) : std::string();
        // The unpack verifies the stream against diff_ids[i]: a shared layer directory named by a chain id
        // holds only content that hashes to it.
        image::Digest diff_id = img.config.diff_ids[i];
        out.push_back(
            {chains[i].hex, [blob, diff_id](const std::string& dir, storage::Whiteouts w) -> Status {
                 auto mode =
                     w == storage::Whiteouts::overlay ? image::Whiteouts::overlay : image::Whiteouts::apply;
                 TRY(image::unpack_layer(blob, dir, mode, &diff_id));
                 return ok();
             }});
    }
    return out;
}

image::BundleOptions bundle_options(const image::Image& img, const ImageCreateOpts& io,
                                    const std::string& id) {
    image::BundleOptions b;
    b.args = io.args;
    b.memory_mib = io.memory_mib;
    b.cores = io.cores;
    b.hostname = io.name.empty() ? id : io.name;
    b.annotations["org.opencontainers.image.ref.name"] = img.record.name;
    b.annotations["org.opencontainers.image.manifest.digest"] = img.record.manifest.str();
    return b;
}

struct Prepared {
    std::string bundle;
    StorageRef storage;
};

// Prepares the rootfs and writes the bundle. Nothing is left on failure.
Result<Prepared> prepare_bundle(const ImageContext& c, const ImageCreateOpts& io, const std::string& id) {
    TRY(validate_id(id));
    auto img = TRY(load_image(c, io.ref));
    std::string store_root = TRY(image::Store::open(c.store)).root();
    std::string root = io.storage_root.empty() ? storage_root() : io.storage_root;
    auto driver = TRY(storage::open_driver(io.driver.empty() ? storage::default_driver() : io.driver, root));
    auto layers = layers_of(store_root, img);
    std::string rootfs = TRY_CTX(driver->prepare(id, layers), "create " + id + " from " + img.record.name);
    std::string bundle = driver->container_dir(id) + "/bundle";
    auto b = bundle_options(img, io, id);
    b.rootfs = rootfs;
    Status s = storage::record_layers(*driver, id, layers); // `image gc` keeps what it names
    if (s) s = sys::mkdir_p(bundle, 0700);
    if (s) s = image::write_bundle(bundle, rootfs, img.config, b);
    if (!s) {
        Error e = std::move(s).error();
        if (auto r = driver->destroy(id); !r) e.context("cleanup failed (" + r.error().message() + ")");
        return std::unexpected(std::move(e));
    }
    return Prepared{bundle, StorageRef{std::string(driver->name()), driver->root(), id}};
}

// After a failed create/run: the container's destroy already released the rootfs, or never got to it.
std::unexpected<Error> release_after(Error e, const StorageRef& ref) {
    if (auto r = release_storage_here(ref); !r) e.context("cleanup failed (" + r.error().message() + ")");
    return std::unexpected(std::move(e));
}

} // namespace

Status release_storage_here(const StorageRef& ref) {
    std::string what = "release rootfs of " + ref.id + " (" + ref.driver + " in " + ref.root + ")";
    auto d = TRY_CTX(storage::open_driver(ref.driver, ref.root), what);
    TRY_CTX(d->destroy(ref.id), what);
    return ok();
}

Status storage_snapshot_here(const StorageRef& ref, const std::string& action, const std::string& name) {
    std::string what = action + " " + name + " of the rootfs of " + ref.id + " (" + ref.driver + ")";
    auto d = TRY_CTX(storage::open_driver(ref.driver, ref.root), what);
    if (action == "snapshot") return d->snapshot(ref.id, name);
    if (action == "rollback") return d->rollback(ref.id, name);
    return fail(ErrorKind::Invalid, "unknown storage action \"" + action + "\"");
}

std::string storage_root() {
    const char* env = std::getenv("LXCRI_STORAGE_ROOT");
    return env && *env ? env : "/var/lib/proxmox-lxcri/storage";
}

Status create_from_image(const Global& g, const ImageContext& c, const ImageCreateOpts& io,
                         const CreateOpts& o) {
    auto prepared = TRY(prepare_bundle(c, io, o.id));
    CreateOpts co = o;
    co.bundle = prepared.bundle;
    co.storage = prepared.storage;
    if (auto r = create(g, co); !r) return release_after(std::move(r).error(), prepared.storage);
    return ok();
}

Result<int> run_from_image(const Global& g, const ImageContext& c, const ImageCreateOpts& io,
                           const RunOpts& o) {
    auto prepared = TRY(prepare_bundle(c, io, o.create.id));
    RunOpts ro = o;
    ro.create.bundle = prepared.bundle;
    ro.create.storage = prepared.storage;
    auto r = run(g, ro);
    if (!r) return release_after(std::move(r).error(), prepared.storage);
    return r;
}

Status spec_from_image(const ImageContext& c, const ImageCreateOpts& io, const std::string& bundle_dir) {
    std::string bundle = absolute_path(bundle_dir.empty() ? "." : bundle_dir);
    std::string rootfs = bundle + "/rootfs";
    if (sys::exists(bundle + "/config.json"))
        return fail("File " + bundle + "/config.json exists. Remove it first");
    if (sys::exists(rootfs)) return fail("rootfs " + rootfs + " exists. Remove it first");
    auto img = TRY(load_image(c, io.ref));
    std::string store_root = TRY(image::Store::open(c.store)).root();
    TRY(sys::mkdir_p(rootfs, 0755));
    auto fail_clean = [&](Error e) -> Status {
        (void)sys::remove_all(rootfs);
        return std::unexpected(std::move(e));
    };
    for (auto& l : layers_of(store_root, img)) {
        if (auto r = l.unpack(rootfs, storage::Whiteouts::apply); !r) return fail_clean(std::move(r).error());
    }
    auto b = bundle_options(img, io, "runc");
    if (io.name.empty()) b.hostname.clear();
    if (auto r = image::write_bundle(bundle, rootfs, img.config, b); !r)
        return fail_clean(std::move(r).error());
    return ok();
}

} // namespace lxcri::runtime
