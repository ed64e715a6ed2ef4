// The `image` verbs: pull, list, inspect, rm, gc (one function each). They live in proxmox-lxcri-image; the
// core binary (proxmox-lxcri) forwards to it (image_forward.cpp), so the hot path never loads
// libcurl/libarchive. create/run --image of a stored image whose layers the storage driver has already are
// the core binary's own (create_image.cpp). The store root comes from ImageContext::store (a global
// --image-root option), else $LXCRI_IMAGE_ROOT, else /var/lib/proxmox-lxcri/images.
#pragma once
#include "base/result.hpp"
#include "runtime/runtime.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lxcri::runtime {

// Writes one layer blob into the directory `dir`, its content verified against `diff_id` ("sha256:..."):
// `overlay` keeps whiteouts as overlayfs whiteouts, else they delete from `dir`.
using LayerUnpacker = Status (*)(const std::string& blob, const std::string& dir, bool overlay,
                                 const std::string& diff_id);

struct ImageContext {
    std::string store;     // empty: image::Store::default_root()
    bool json_log = false; // --log-format json: JSON progress lines instead of bars
    // proxmox-lxcri-image's unpacker (libarchive); unset in proxmox-lxcri, whose create/run --image then
    // hand over when a layer of the image is not in the storage driver yet (create_from_stored_image).
    LayerUnpacker unpack_layer = nullptr;
};

struct ImagePullOpts {
    std::string ref;
    bool insecure = false; // --tls-verify=false / --insecure
    std::string auth_file; // --authfile
    std::string platform;  // --platform os/arch[/variant]; empty: the host's
    int jobs = 4;          // --jobs
    bool quiet = false;    // -q: no progress, print only the manifest digest
};
// Prints the manifest digest on stdout when done.
Status image_pull(const ImageContext& c, const ImagePullOpts& o);
// format: "table" (default) or "json"; quiet: names only.
Status image_list(const ImageContext& c, const std::string& format, bool quiet);
// A JSON array with one object per ref: name, digest, index, created, size, manifest, config, layers.
Status image_inspect(const ImageContext& c, const std::vector<std::string>& refs);
// Untags each ref (name, short name or digest prefix), then collects unreferenced blobs.
Status image_rm(const ImageContext& c, const std::vector<std::string>& refs);
// Removes blobs no image references and every partial download.
Status image_gc(const ImageContext& c);

// Containers from images (create_image.cpp). The rootfs lives under the storage root: --storage-root, else
// $LXCRI_STORAGE_ROOT, else /var/lib/proxmox-lxcri/storage; `delete` releases it.
struct ImageCreateOpts {
    std::string ref;                    // --image
    std::string name;                   // --name: the hostname (default: the container id)
    std::optional<uint64_t> memory_mib; // --memory MiB
    std::optional<uint32_t> cores;      // --cores N
    std::vector<std::string> args;      // after "--": replaces the image's Cmd
    std::string storage_root;           // --storage-root
    // --storage-driver btrfs|dir|overlay|zfs (default: $LXCRI_STORAGE_DRIVER, else the one for the
    // filesystem under the storage root)
    std::string driver;
    std::vector<std::string> storage_opts; // --storage-opt size=N[kmgt] / reservation=N[kmgt]
};
std::string storage_root();
Status create_from_image(const Global& g, const ImageContext& c, const ImageCreateOpts& io,
                         const CreateOpts& o);
Result<int> run_from_image(const Global& g, const ImageContext& c, const ImageCreateOpts& io,
                           const RunOpts& o);
// The same in a process without the unpacker (ImageContext::unpack_layer unset: proxmox-lxcri): nullopt,
// with nothing done, when a layer still has to be unpacked into the storage driver (or the driver keeps no
// shared layers: dir), for proxmox-lxcri-image to do the command; otherwise the result of
// create_from_image / run_from_image.
Result<std::optional<bool>> create_from_stored_image(const Global& g, const ImageContext& c,
                                                     const ImageCreateOpts& io, const CreateOpts& o);
Result<std::optional<int>> run_from_stored_image(const Global& g, const ImageContext& c,
                                                 const ImageCreateOpts& io, const RunOpts& o);
// image::unpack_layer as a LayerUnpacker (image.cpp, proxmox-lxcri-image only).
Status unpack_image_layer(const std::string& blob, const std::string& dir, bool overlay,
                          const std::string& diff_id);
// A self-contained bundle: <bundle>/rootfs (layers unpacked, whiteouts applied) and <bundle>/config.json.
Status spec_from_image(const ImageContext& c, const ImageCreateOpts& io, const std::string& bundle);

// Import/export (archive.cpp in image/): an OCI layout directory, an oci-archive or a docker-archive tar.
// Prints the names it stored. name: the name to store under (required when the archive names none).
Status image_import(const ImageContext& c, const std::string& path, const std::string& name);
// Writes an oci-archive tar of one stored image.
Status image_export(const ImageContext& c, const std::string& ref, const std::string& file);

// Template bases and clones (issue 14 item 3), in proxmox-lxcri-image (create_image.cpp). A base is a rootfs
// kept by a storage driver as the container "base.NAME" with a snapshot "base" where the driver has
// snapshots, its config in <storage root>/containers/base.NAME/bundle, its record in <storage
// root>/bases/NAME.json. A clone is a new created container whose rootfs is the driver's clone of a base (or
// of another container's rootfs): linked where the driver clones copy-on-write, a full copy otherwise.
struct StorageVerbOpts {
    enum class Verb { BaseRegister, BaseList, BaseRm, Clone } verb = Verb::BaseList;
    std::string name;   // base register/rm: the base; clone: --base (empty: clone `source`)
    std::string from;   // base register --from ID
    std::string image;  // base register --image REF
    std::string source; // clone SRC_ID ID
    std::string format; // base list --format table|json
    bool force = false; // base rm --force
    // --storage-root, --storage-driver; clone: the bundle options (--name, --memory, --cores, the command
    // after "--") that change the clone's config
    ImageCreateOpts storage;
    std::vector<std::string> env; // clone --env KEY=VALUE: set in the clone's process.env
    CreateOpts create;            // clone: the new container (id, pid file, console socket)
};
Result<int> storage_verb(const Global& g, const ImageContext& c, const StorageVerbOpts& o);

// Releases the rootfs a storage driver prepared (create --image); an unknown id is not an error. Called by
// `delete`. The same as release_storage_here (create_image.cpp): the storage drivers are in the core binary.
// proxmox-lxcri-image keeps the hidden verb `__release-storage DRIVER ROOT ID` that calls it.
Status release_storage(const StorageRef& ref);
Status release_storage_here(const StorageRef& ref);
// A filesystem snapshot of (action "snapshot") or a rollback to (action "rollback") snapshot `name` of the
// rootfs a storage driver prepared (storage_snapshot_here; the hidden verb `__storage-snapshot` of
// proxmox-lxcri-image exits kStorageUnsupportedExit for it). A driver that cannot is ErrorKind::Unsupported.
Status storage_snapshot(const StorageRef& ref, const std::string& action, const std::string& name);
inline constexpr int kStorageUnsupportedExit = 64;
Status storage_snapshot_here(const StorageRef& ref, const std::string& action, const std::string& name);
// proxmox-lxcri-image: $LXCRI_IMAGE_BINARY, else next to this executable.
Result<std::string> image_binary();

} // namespace lxcri::runtime
