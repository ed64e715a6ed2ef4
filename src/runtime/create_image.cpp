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

#include <unistd.h>

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

// The image label (an annotation of the container) that sets the rootfs size when --storage-opt does not.
constexpr const char* kSizeAnnotation = "org.proxmox-lxcri.storage.size";

// --storage-opt size=N / reservation=N (N in bytes or with k, m, g, t), then the image's size annotation.
Result<storage::Quota> quota_of(const ImageCreateOpts& io, const image::Image& img) {
    storage::Quota q;
    bool size_given = false;
    for (auto& opt : io.storage_opts) {
        auto eq = opt.find('=');
        std::string key = opt.substr(0, eq), value = eq == std::string::npos ? "" : opt.substr(eq + 1);
        if (key != "size" && key != "reservation")
            return fail(ErrorKind::Invalid,
                        "--storage-opt " + opt + ": unknown option (have: size, reservation)");
        uint64_t n = TRY_CTX(storage::parse_size(value), "--storage-opt " + opt);
        (key == "size" ? q.limit_bytes : q.reservation_bytes) = n;
        size_given = size_given || key == "size";
    }
    if (!size_given) {
        if (auto it = img.config.labels.find(kSizeAnnotation); it != img.config.labels.end())
            q.limit_bytes =
                TRY_CTX(storage::parse_size(it->second), std::string("image label ") + kSizeAnnotation);
    }
    return q;
}

// Prepares the rootfs and writes the bundle. Nothing is left on failure. The caller holds the id's storage
// lock (storage_lock()).
Result<Prepared> prepare_bundle(const Global& g, const ImageContext& c, const ImageCreateOpts& io,
                                const std::string& id, std::unique_ptr<storage::Driver> driver) {
    auto img = TRY(load_image(c, io.ref));
    auto quota = TRY(quota_of(io, img));
    if ((quota.limit_bytes || quota.reservation_bytes) && !driver->caps().quota)
        return fail(ErrorKind::Unsupported,
                    "--storage-opt: storage driver " + std::string(driver->name()) + " cannot set a quota");
    std::string store_root = TRY(image::Store::open(c.store)).root();
    // A rootfs of this id without a container in the state root is what a create killed before it saved its
    // state left: it blocks nothing (no other create of this id runs: the caller holds its storage lock).
    // A zfs or btrfs command of the killed create may still be finishing (it runs in its own process group):
    // what it makes then is removed the same way, a few times.
    // (Not only the directory: a dataset may outlive a directory a later mount hides.)
    auto leftover = [&] { return !sys::exists(g.root + "/" + id); };
    auto layers = layers_of(store_root, img);
    Result<std::string> prepared = std::unexpected(Error());
    for (int attempt = 0; attempt < 5; ++attempt) {
        if (attempt) ::usleep(200000);
        if (leftover()) TRY_CTX(driver->destroy(id), "remove the rootfs a killed create of " + id + " left");
        auto r = driver->prepare(id, layers);
        if (!r && attempt > 0 && !prepared)
            r.error().context("(first attempt: " + prepared.error().message() + ")");
        if (attempt == 0 || r) prepared = std::move(r);
        if (prepared || prepared.error().kind() != ErrorKind::Exists || sys::exists(g.root + "/" + id)) break;
    }
    std::string rootfs = TRY_CTX(std::move(prepared), "create " + id + " from " + img.record.name);
    std::string bundle = driver->container_dir(id) + "/bundle";
    auto b = bundle_options(img, io, id);
    b.rootfs = rootfs;
    Status s = ok();
    if (quota.limit_bytes || quota.reservation_bytes) s = driver->set_quota(id, quota);
    if (s) s = storage::record_layers(*driver, id, layers); // `image gc` keeps what it names
    if (s) s = sys::mkdir_p(bundle, 0700);
    if (s) s = image::write_bundle(bundle, rootfs, img.config, b);
    if (!s) {
        Error e = std::move(s).error();
        if (auto r = driver->destroy(id); !r) e.context("cleanup failed (" + r.error().message() + ")");
        return std::unexpected(std::move(e));
    }
    return Prepared{bundle, StorageRef{std::string(driver->name()), driver->root(), id}};
}

// The driver for a create: --storage-driver, else $LXCRI_STORAGE_DRIVER, else the storage root's filesystem.
Result<std::unique_ptr<storage::Driver>> driver_for(const ImageCreateOpts& io) {
    std::string root = io.storage_root.empty() ? storage_root() : io.storage_root;
    std::string name = io.driver;
    if (const char* env = std::getenv("LXCRI_STORAGE_DRIVER"); name.empty() && env && *env) name = env;
    if (name.empty()) name = storage::detect_driver(root);
    return storage::open_driver(name, root);
}

std::string storage_lock_path(const std::string& root, const std::string& id) {
    return root + "/locks/" + id + ".lock";
}

// Held from before the rootfs is prepared until the container's state exists (or the rootfs is released).
Result<sys::FileLock> storage_lock(const storage::Driver& d, const std::string& id) {
    TRY(sys::mkdir_p(d.root() + "/locks", 0700));
    return sys::lock_file(storage_lock_path(d.root(), id));
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
    (void)::unlink(storage_lock_path(ref.root, ref.id).c_str());
    return ok();
}

std::string storage_root() {
    const char* env = std::getenv("LXCRI_STORAGE_ROOT");
    return env && *env ? env : "/var/lib/proxmox-lxcri/storage";
}

Status create_from_image(const Global& g, const ImageContext& c, const ImageCreateOpts& io,
                         const CreateOpts& o) {
    TRY(validate_id(o.id));
    auto driver = TRY(driver_for(io));
    std::string root = driver->root();
    auto lock = TRY(storage_lock(*driver, o.id));
    auto prepared = prepare_bundle(g, c, io, o.id, std::move(driver));
    if (!prepared) {
        (void)::unlink(storage_lock_path(root, o.id).c_str());
        return std::unexpected(std::move(prepared).error());
    }
    CreateOpts co = o;
    co.bundle = prepared->bundle;
    co.storage = prepared->storage;
    if (auto r = create(g, co); !r) return release_after(std::move(r).error(), prepared->storage);
    return ok();
}

Result<int> run_from_image(const Global& g, const ImageContext& c, const ImageCreateOpts& io,
                           const RunOpts& o) {
    TRY(validate_id(o.create.id));
    auto driver = TRY(driver_for(io));
    std::string root = driver->root();
    auto lock = TRY(storage_lock(*driver, o.create.id));
    auto prepared = prepare_bundle(g, c, io, o.create.id, std::move(driver));
    if (!prepared) {
        (void)::unlink(storage_lock_path(root, o.create.id).c_str());
        return std::unexpected(std::move(prepared).error());
    }
    RunOpts ro = o;
    ro.create.bundle = prepared->bundle;
    ro.create.storage = prepared->storage;
    auto r = run(g, ro);
    if (!r) return release_after(std::move(r).error(), prepared->storage);
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
