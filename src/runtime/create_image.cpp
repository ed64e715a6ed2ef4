// Containers straight from stored images: `create --image`, `run --image`, `spec --image`.
// The rootfs comes from a storage driver (overlay: shared layers + a private upper dir), the bundle is
// written next to it (<storage root>/containers/<id>/bundle), and the container's state records the driver
// (runtime::StorageRef): destroy_container() releases both.
#include "image/bundle.hpp"
#include "image/config.hpp"
#include "image/store.hpp"
#include "runtime/common.hpp"
#include "runtime/image.hpp"
#include "storage/driver.hpp"
#include "storage/layers_gc.hpp"
#include "sys/fs.hpp"
#include "sys/log.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string_view>

#include <nlohmann/json.hpp>

#include <unistd.h>

namespace lxcri::runtime {

namespace {

Result<image::Image> load_image(const image::Store& store, const std::string& ref) {
    auto img = store.image(ref);
    if (!img)
        return fail("image \"" + ref + "\" is not in the store (" + store.root() +
                    "): pull it first with `proxmox-lxcri image pull " + ref + "` or `image import`");
    if (img->config.diff_ids.size() != img->manifest.layers.size())
        return fail("image \"" + ref + "\": config has " + std::to_string(img->config.diff_ids.size()) +
                    " diff_ids for " + std::to_string(img->manifest.layers.size()) + " layers");
    return img;
}

// The image's layers, lowest first, each unpacked from its blob on demand by c.unpack_layer. Without it (the
// core binary) they have no unpack function: prepare() of a layer the driver does not have yet then fails
// with ErrorKind::Unsupported, having made nothing, and the command goes to proxmox-lxcri-image
// (create_from_stored_image).
std::vector<storage::Layer> layers_of(const ImageContext& c, const image::Store& store,
                                      const image::Image& img) {
    auto chains = image::chain_ids(img.config.diff_ids);
    std::vector<storage::Layer> out;
    for (size_t i = 0; i < chains.size(); ++i) {
        out.push_back({chains[i].hex, nullptr});
        if (!c.unpack_layer) continue;
        std::string blob = store.blob_path(img.manifest.layers[i].digest);
        // The unpack verifies the stream against diff_ids[i]: a shared layer directory named by a chain id
        // holds only content that hashes to it.
        std::string diff_id = img.config.diff_ids[i].str();
        out.back().unpack = [blob, diff_id, unpack = c.unpack_layer](const std::string& dir,
                                                                     storage::Whiteouts w) {
            return unpack(blob, dir, w == storage::Whiteouts::overlay, diff_id);
        };
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
                                const std::string& id, std::unique_ptr<storage::Driver> driver,
                                bool* needs_unpack = nullptr) {
    auto store = TRY(image::Store::open(c.store));
    auto img = TRY(load_image(store, io.ref));
    auto quota = TRY(quota_of(io, img));
    if ((quota.limit_bytes || quota.reservation_bytes) && !driver->caps().quota)
        return fail(ErrorKind::Unsupported,
                    "--storage-opt: storage driver " + std::string(driver->name()) + " cannot set a quota");
    // A rootfs of this id without a container in the state root is what a create killed before it saved its
    // state left: it blocks nothing (no other create of this id runs: the caller holds its storage lock).
    // A zfs or btrfs command of the killed create may still be finishing (it runs in its own process group):
    // what it makes then is removed the same way, a few times.
    // (Not only the directory: a dataset may outlive a directory a later mount hides.)
    auto leftover = [&] { return !sys::exists(g.root + "/" + id); };
    auto layers = layers_of(c, store, img);
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
    // Without an unpacker, Unsupported from prepare() is a layer still to unpack (nothing was made).
    if (!prepared && prepared.error().kind() == ErrorKind::Unsupported && !c.unpack_layer && needs_unpack)
        *needs_unpack = true;
    std::string rootfs = TRY_CTX(std::move(prepared), "create " + id + " from " + img.record.name);
    std::string bundle = driver->container_dir(id) + "/bundle";
    auto b = bundle_options(img, io, id);
    b.rootfs = rootfs;
    Status s = ok();
    if (quota.limit_bytes || quota.reservation_bytes) s = driver->set_quota(id, quota);
    // (`image gc` keeps the layers the overlay rootfs is mounted with: no record of them to write here.)
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

// A template base NAME is the storage driver's rootfs "base.NAME" (base_sid), in the same namespace as the
// containers' rootfs (named by their ids): a container id of that form would take a base's rootfs (or a
// later base register would find its name taken), so it is refused wherever a driver's rootfs is made for a
// container.
constexpr std::string_view kBasePrefix = "base.";
static Status check_storage_id(const std::string& id) {
    if (id.starts_with(kBasePrefix))
        return fail(ErrorKind::Invalid, "container id \"" + id + "\" is reserved: a storage rootfs named " +
                                            std::string(kBasePrefix) +
                                            "NAME is the template base NAME (base register); choose an id "
                                            "that does not begin with \"" +
                                            std::string(kBasePrefix) + "\"");
    return ok();
}

namespace {

// create/run --image up to the container's creation; *needs_unpack (when given): set, with nothing left, when
// a layer still has to be unpacked and c.unpack_layer is unset.
template <class Then>
auto from_image(const Global& g, const ImageContext& c, const ImageCreateOpts& io, const CreateOpts& o,
                bool* needs_unpack, Then then) -> decltype(then(Prepared{})) {
    TRY(validate_id(o.id));
    TRY(check_storage_id(o.id));
    auto driver = TRY(driver_for(io));
    // Without shared layers (dir) every container unpacks its own copy.
    if (!c.unpack_layer && !driver->caps().shared_layers && needs_unpack) {
        *needs_unpack = true;
        return fail(ErrorKind::Unsupported,
                    "storage driver " + std::string(driver->name()) + " unpacks every rootfs");
    }
    std::string root = driver->root();
    auto lock = TRY(storage_lock(*driver, o.id));
    auto prepared = prepare_bundle(g, c, io, o.id, std::move(driver), needs_unpack);
    if (!prepared) {
        (void)::unlink(storage_lock_path(root, o.id).c_str());
        return std::unexpected(std::move(prepared).error());
    }
    return then(*prepared);
}

Status create_prepared(const Global& g, const CreateOpts& o, const Prepared& p) {
    CreateOpts co = o;
    co.bundle = p.bundle;
    co.storage = p.storage;
    if (auto r = create(g, co); !r) return release_after(std::move(r).error(), p.storage);
    return ok();
}

Result<int> run_prepared(const Global& g, const RunOpts& o, const Prepared& p) {
    RunOpts ro = o;
    ro.create.bundle = p.bundle;
    ro.create.storage = p.storage;
    auto r = run(g, ro);
    if (!r) return release_after(std::move(r).error(), p.storage);
    return r;
}

} // namespace

Status create_from_image(const Global& g, const ImageContext& c, const ImageCreateOpts& io,
                         const CreateOpts& o) {
    return from_image(g, c, io, o, nullptr, [&](const Prepared& p) { return create_prepared(g, o, p); });
}

Result<int> run_from_image(const Global& g, const ImageContext& c, const ImageCreateOpts& io,
                           const RunOpts& o) {
    return from_image(g, c, io, o.create, nullptr, [&](const Prepared& p) { return run_prepared(g, o, p); });
}

Result<std::optional<bool>> create_from_stored_image(const Global& g, const ImageContext& c,
                                                     const ImageCreateOpts& io, const CreateOpts& o) {
    bool needs_unpack = false;
    auto r =
        from_image(g, c, io, o, &needs_unpack, [&](const Prepared& p) { return create_prepared(g, o, p); });
    if (!r && needs_unpack) return std::nullopt;
    TRY(std::move(r));
    return true;
}

Result<std::optional<int>> run_from_stored_image(const Global& g, const ImageContext& c,
                                                 const ImageCreateOpts& io, const RunOpts& o) {
    bool needs_unpack = false;
    auto r = from_image(g, c, io, o.create, &needs_unpack,
                        [&](const Prepared& p) { return run_prepared(g, o, p); });
    if (!r && needs_unpack) return std::nullopt;
    return TRY(std::move(r));
}

Status spec_from_image(const ImageContext& c, const ImageCreateOpts& io, const std::string& bundle_dir) {
    std::string bundle = absolute_path(bundle_dir.empty() ? "." : bundle_dir);
    std::string rootfs = bundle + "/rootfs";
    if (sys::exists(bundle + "/config.json"))
        return fail("File " + bundle + "/config.json exists. Remove it first");
    if (sys::exists(rootfs)) return fail("rootfs " + rootfs + " exists. Remove it first");
    if (!c.unpack_layer) return fail(ErrorKind::Unsupported, "spec --image needs proxmox-lxcri-image");
    auto store = TRY(image::Store::open(c.store));
    auto img = TRY(load_image(store, io.ref));
    TRY(sys::mkdir_p(rootfs, 0755));
    auto fail_clean = [&](Error e) -> Status {
        (void)sys::remove_all(rootfs);
        return std::unexpected(std::move(e));
    };
    for (auto& l : layers_of(c, store, img)) {
        if (auto r = l.unpack(rootfs, storage::Whiteouts::apply); !r) return fail_clean(std::move(r).error());
    }
    auto b = bundle_options(img, io, "runc");
    if (io.name.empty()) b.hostname.clear();
    if (auto r = image::write_bundle(bundle, rootfs, img.config, b); !r)
        return fail_clean(std::move(r).error());
    return ok();
}

} // namespace lxcri::runtime

// ---- template bases and clones ----

namespace lxcri::runtime {

namespace {

std::string base_sid(const std::string& name) {
    return std::string(kBasePrefix) + name;
}
std::string base_record_path(const std::string& root, const std::string& name) {
    return root + "/bases/" + name + ".json";
}

struct BaseRecord {
    std::string name, driver, root, storage_id, source, created;
    bool snapshot = false;
};

Result<BaseRecord> load_base(const std::string& root, const std::string& name) {
    auto text = sys::read_file(base_record_path(root, name));
    if (!text) return fail(ErrorKind::NotFound, "base \"" + name + "\" does not exist (in " + root + ")");
    auto j = nlohmann::json::parse(*text, nullptr, false);
    if (!j.is_object()) return fail("base \"" + name + "\": unreadable record");
    BaseRecord b;
    b.name = j.value("name", "");
    b.driver = j.value("driver", "");
    b.root = j.value("root", "");
    b.storage_id = j.value("storageId", "");
    b.source = j.value("source", "");
    b.created = j.value("created", "");
    b.snapshot = j.value("snapshot", false);
    return b;
}

nlohmann::json base_json(const BaseRecord& b, const std::vector<std::string>& clones) {
    return {
        {"name", b.name},     {"driver", b.driver},   {"root", b.root},         {"storageId", b.storage_id},
        {"source", b.source}, {"created", b.created}, {"snapshot", b.snapshot}, {"clones", clones}};
}

// The containers cloned from base `name` (each clone's storage directory names its base in a file "base").
std::vector<std::string> clones_of(const std::string& root, const std::string& name) {
    std::vector<std::string> out;
    for (auto& id : sys::list_dir(root + "/containers")) {
        auto b = sys::read_file(root + "/containers/" + id + "/base");
        if (b && *b == name) out.push_back(id);
    }
    std::sort(out.begin(), out.end());
    return out;
}

// clone's bundle options on the source's config: the hostname, the memory limit and CPU quota as create
// --image sets them (image::BundleOptions), the command (process.args) and environment variables.
Status apply_clone_options(nlohmann::json& j, const StorageVerbOpts& o) {
    const ImageCreateOpts& io = o.storage;
    if (!io.name.empty()) j["hostname"] = io.name;
    if (io.memory_mib || io.cores) {
        if (!j.contains("linux") || !j["linux"].is_object()) j["linux"] = nlohmann::json::object();
        auto& linux_ = j["linux"];
        if (!linux_.contains("resources") || !linux_["resources"].is_object())
            linux_["resources"] = nlohmann::json::object();
        auto& res = linux_["resources"];
        if (io.memory_mib) {
            if (*io.memory_mib > UINT64_MAX / (1024 * 1024))
                return fail(ErrorKind::Invalid, "--memory is too large");
            if (!res.contains("memory") || !res["memory"].is_object())
                res["memory"] = nlohmann::json::object();
            res["memory"]["limit"] = *io.memory_mib * 1024 * 1024;
        }
        if (io.cores) {
            constexpr uint64_t kCpuPeriod = 100000; // as image::bundle_config
            if (!res.contains("cpu") || !res["cpu"].is_object()) res["cpu"] = nlohmann::json::object();
            res["cpu"]["quota"] = static_cast<int64_t>(*io.cores * kCpuPeriod);
            res["cpu"]["period"] = kCpuPeriod;
        }
    }
    if (!io.args.empty() || !o.env.empty()) {
        if (!j.contains("process") || !j["process"].is_object())
            return fail(ErrorKind::Invalid, "the clone's source config has no process to change");
        auto& proc = j["process"];
        if (!io.args.empty()) proc["args"] = io.args;
        if (!o.env.empty()) {
            nlohmann::json env =
                proc.contains("env") && proc["env"].is_array() ? proc["env"] : nlohmann::json::array();
            for (const auto& kv : o.env) {
                const std::string key = kv.substr(0, kv.find('=') + 1);
                auto same = std::find_if(env.begin(), env.end(), [&](const nlohmann::json& e) {
                    return e.is_string() && e.get<std::string>().starts_with(key);
                });
                if (same != env.end())
                    *same = kv;
                else
                    env.push_back(kv);
            }
            proc["env"] = env;
        }
    }
    return ok();
}

// <bundle>/config.json: the config at `config` with root.path set to `rootfs` and clone's bundle options.
Status write_clone_bundle(const std::string& config, const std::string& bundle, const std::string& rootfs,
                          const StorageVerbOpts& o) {
    auto text = TRY_CTX(sys::read_file(config), "config of the clone's source");
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object()) return fail("config of the clone's source: " + config + " is not a JSON object");
    j["root"]["path"] = rootfs;
    TRY(apply_clone_options(j, o));
    TRY(sys::mkdir_p(bundle, 0700));
    return sys::write_file_atomic(bundle + "/config.json", j.dump(2));
}

// The storage a container's rootfs came from; a container made from a bundle has none (`refusal` says
// what to do instead).
Result<StorageRef> storage_of(const Global& g, const std::string& id, std::string_view refusal) {
    auto st = TRY(Store(g.root).load(id));
    if (!st.storage)
        return fail(ErrorKind::Unsupported,
                    "container " + id +
                        " has no rootfs from a storage driver (made from a bundle): " + std::string(refusal));
    return *st.storage;
}

Status base_register(const Global& g, const ImageContext& c, const StorageVerbOpts& o) {
    TRY_CTX(validate_id(o.name), "base name");
    if (o.from.empty() == o.image.empty())
        return fail(ErrorKind::Invalid, "base register needs --from ID or --image REF");
    std::unique_ptr<storage::Driver> driver;
    std::string source_config;
    std::optional<StorageRef> src;
    if (!o.from.empty()) {
        src = TRY(storage_of(g, o.from, "register a base from one made with --image"));
        driver = TRY(storage::open_driver(src->driver, src->root));
        source_config = g.root + "/" + o.from + "/config.json";
    } else {
        driver = TRY(driver_for(o.storage));
    }
    std::string root = driver->root(), sid = base_sid(o.name), record = base_record_path(root, o.name);
    auto lock = TRY(storage_lock(*driver, sid));
    if (sys::exists(record)) return fail(ErrorKind::Exists, "base \"" + o.name + "\" exists");
    // Storage of this base without its record is what a killed register left.
    TRY_CTX(driver->destroy(sid), "remove what a killed base register left");
    auto undo = [&](Error e) -> Status {
        if (auto r = driver->destroy(sid); !r) e.context("cleanup failed (" + r.error().message() + ")");
        (void)::unlink(storage_lock_path(root, sid).c_str());
        return std::unexpected(std::move(e));
    };
    std::string rootfs, bundle = driver->container_dir(sid) + "/bundle";
    BaseRecord b{o.name, std::string(driver->name()), root, sid, "", log::rfc3339_now(), false};
    if (src) {
        auto r = driver->clone(src->id, "", sid);
        if (!r) return undo(std::move(r).error().context("base register " + o.name));
        rootfs = *r;
        if (auto s = write_clone_bundle(source_config, bundle, rootfs, StorageVerbOpts{}); !s)
            return undo(std::move(s).error());
        b.source = "container " + o.from;
    } else {
        auto store = TRY(image::Store::open(c.store));
        auto img = TRY(load_image(store, o.image));
        auto layers = layers_of(c, store, img);
        auto r = driver->prepare(sid, layers);
        if (!r) return undo(std::move(r).error().context("base register " + o.name));
        rootfs = *r;
        ImageCreateOpts io = o.storage;
        auto bo = bundle_options(img, io, o.name);
        bo.rootfs = rootfs;
        Status s = storage::record_layers(*driver, sid, layers);
        if (s) s = sys::mkdir_p(bundle, 0700);
        if (s) s = image::write_bundle(bundle, rootfs, img.config, bo);
        if (!s) return undo(std::move(s).error());
        b.source = "image " + img.record.name;
    }
    if (driver->caps().snapshot) {
        if (auto s = driver->snapshot(sid, "base"); !s) return undo(std::move(s).error());
        b.snapshot = true;
    }
    // The base exists once its record does.
    Status s = sys::mkdir_p(root + "/bases", 0700);
    if (s) s = sys::write_file_atomic(record, base_json(b, {}).dump(2) + "\n");
    if (!s) return undo(std::move(s).error());
    std::printf("base %s registered (%s, from %s)\n", o.name.c_str(), b.driver.c_str(), b.source.c_str());
    return ok();
}

std::string storage_root_of(const ImageCreateOpts& io) {
    return io.storage_root.empty() ? storage_root() : io.storage_root;
}

Status base_list(const StorageVerbOpts& o) {
    std::string root = storage_root_of(o.storage);
    if (o.format != "table" && o.format != "json")
        return fail(ErrorKind::Invalid, "invalid format option \"" + o.format + "\" (table or json)");
    std::vector<std::string> names;
    for (auto& f : sys::list_dir(root + "/bases"))
        if (f.ends_with(".json")) names.push_back(f.substr(0, f.size() - 5));
    std::sort(names.begin(), names.end());
    auto all = nlohmann::json::array();
    if (o.format == "table")
        std::printf("%-20s %-8s %-8s %-30s %s\n", "NAME", "DRIVER", "CLONES", "SOURCE", "CREATED");
    for (auto& n : names) {
        auto b = load_base(root, n);
        if (!b) continue;
        auto clones = clones_of(root, n);
        if (o.format == "json")
            all.push_back(base_json(*b, clones));
        else
            std::printf("%-20s %-8s %-8zu %-30s %s\n", n.c_str(), b->driver.c_str(), clones.size(),
                        b->source.c_str(), b->created.c_str());
    }
    if (o.format == "json") std::printf("%s\n", all.dump().c_str());
    return ok();
}

Status base_rm(const StorageVerbOpts& o) {
    TRY_CTX(validate_id(o.name), "base name");
    std::string root = storage_root_of(o.storage);
    auto b = TRY(load_base(root, o.name));
    auto driver = TRY(storage::open_driver(b.driver, b.root));
    auto lock = TRY(storage_lock(*driver, b.storage_id));
    auto clones = clones_of(root, o.name);
    if (!clones.empty() && !o.force) {
        std::string list;
        for (auto& c : clones)
            list += (list.empty() ? "" : ", ") + c;
        return fail(ErrorKind::Busy, "base \"" + o.name + "\" has clones: " + list +
                                         " (base rm --force removes the base and keeps the clones)");
    }
    // The record goes first: a base rm killed after it leaves storage the next register of the name removes.
    TRY(sys::remove_all(base_record_path(root, o.name)));
    TRY_CTX(driver->destroy(b.storage_id), "base rm " + o.name);
    (void)::unlink(storage_lock_path(root, b.storage_id).c_str());
    return ok();
}

Result<int> clone_verb(const Global& g, const StorageVerbOpts& o) {
    const std::string& id = o.create.id;
    TRY(validate_id(id));
    TRY(check_storage_id(id));
    std::unique_ptr<storage::Driver> driver;
    std::string from, snap, config, what;
    if (!o.name.empty()) {
        auto b = TRY(load_base(storage_root_of(o.storage), o.name));
        driver = TRY(storage::open_driver(b.driver, b.root));
        from = b.storage_id;
        snap = b.snapshot ? "base" : "";
        config = driver->container_dir(from) + "/bundle/config.json";
        what = "base " + o.name;
    } else {
        auto src = TRY(storage_of(g, o.source, "only containers made with --image can be cloned"));
        driver = TRY(storage::open_driver(src.driver, src.root));
        from = src.id;
        config = g.root + "/" + o.source + "/config.json";
        what = "container " + o.source;
    }
    std::string root = driver->root();
    auto lock = TRY(storage_lock(*driver, id));
    if (sys::exists(g.root + "/" + id)) return fail(ErrorKind::Exists, "container with id exists: " + id);
    TRY_CTX(driver->destroy(id), "remove the rootfs a killed clone of " + id + " left");
    auto t0 = std::chrono::steady_clock::now();
    auto rootfs = driver->clone(from, snap, id);
    auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (!rootfs) {
        (void)::unlink(storage_lock_path(root, id).c_str());
        return std::unexpected(std::move(rootfs).error().context("clone " + what + " to " + id));
    }
    StorageRef ref{std::string(driver->name()), root, id};
    std::string bundle = driver->container_dir(id) + "/bundle";
    Status s = write_clone_bundle(config, bundle, *rootfs, o);
    if (s && !o.name.empty()) s = sys::write_file_atomic(driver->container_dir(id) + "/base", o.name);
    if (!s) return release_after(std::move(s).error(), ref);
    CreateOpts co = o.create;
    co.bundle = bundle;
    co.storage = ref;
    if (auto r = create(g, co); !r) return release_after(std::move(r).error(), ref);
    bool linked = driver->caps().cheap_clone;
    char line[512];
    std::snprintf(line, sizeof line, "%s: %s of %s (%s, %.1f ms)", id.c_str(),
                  linked ? "linked clone" : "full copy", what.c_str(), std::string(driver->name()).c_str(),
                  ms);
    std::printf("%s\n", line);
    // The clone time for --log (--log-format json: the fields clone_ms and linked beside the message).
    if (log::to_file()) {
        char ms_text[32];
        std::snprintf(ms_text, sizeof ms_text, "%.1f", ms);
        log::info(line, {{"clone_ms", ms_text}, {"linked", linked ? "true" : "false"}});
    }
    return 0;
}

} // namespace

Result<int> storage_verb(const Global& g, const ImageContext& c, const StorageVerbOpts& o) {
    using V = StorageVerbOpts::Verb;
    switch (o.verb) {
    case V::BaseRegister:
        TRY(base_register(g, c, o));
        return 0;
    case V::BaseList:
        TRY(base_list(o));
        return 0;
    case V::BaseRm:
        TRY(base_rm(o));
        return 0;
    case V::Clone:
        return clone_verb(g, o);
    }
    return fail("unknown storage verb");
}

} // namespace lxcri::runtime
