// Storage drivers: where image layers live and how a container's rootfs is made from them.
//   dir      each container gets its own copy: the layers are unpacked one after the other into its rootfs
//            (whiteouts applied); works on any filesystem.
//   zfs      <dataset>/layers/<chain-id> per layer with a snapshot @layer (each a clone of the one below);
//            a container is the clone <dataset>/containers/<id> of its top layer's snapshot, mounted at
//            <root>/containers/<id>/rootfs: no unpack, no overlay mount. Snapshots are zfs snapshots.
//   btrfs    the same with subvolumes: <root>/layers/<chain-id> read-only snapshots, a container's rootfs
//            a writable snapshot of its top layer, its snapshots read-only ones in containers/<id>/snapshots.
//   overlay  each layer is unpacked once into <root>/layers/<chain-id>/diff (overlayfs whiteouts) and shared;
//            a container's rootfs is an overlay mount with its own upper and work directories.
// Layout under the driver root: layers/ (shared, overlay only) and containers/<id>/ (one per container).
// overlay snapshots copy the upper dir, dir snapshots copy the rootfs (reflinked where the filesystem can).
// Which container uses which driver is recorded in the container's state (runtime::StorageRef), not in
// the bundle.
#pragma once
#include "base/result.hpp"

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lxcri::storage {

enum class Whiteouts {
    apply,   // the layer is written onto the layers below it: whiteouts delete
    overlay, // the layer is written into its own directory: whiteouts become overlayfs whiteouts
};

struct Layer {
    std::string chain_id; // hex (no "sha256:"), names the shared layer directory
    // Writes the layer's content into the existing directory `dir`. Empty where this process cannot unpack
    // (the core binary, without libarchive): prepare() then fails with ErrorKind::Unsupported, having made
    // nothing, unless the driver has the layer already (dir never has).
    std::function<Status(const std::string& dir, Whiteouts)> unpack;
};

// What a driver can do natively; a verb it cannot do returns ErrorKind::Unsupported naming the driver.
struct Caps {
    bool snapshot = false;      // snapshot, list_snapshots, rollback
    bool clone = false;         // clone from a snapshot
    bool cheap_clone = false;   // clone is copy-on-write (no data copied)
    bool quota = false;         // set_quota
    bool shared_layers = false; // image layers are stored once and shared by containers
};

struct Snapshot {
    std::string name;
    int64_t created = 0; // unix seconds
};

struct Quota {
    uint64_t limit_bytes = 0;       // 0: none
    uint64_t reservation_bytes = 0; // 0: none
};

class Driver {
  public:
    virtual ~Driver() = default;
    virtual std::string_view name() const = 0;
    virtual Caps caps() const = 0;
    const std::string& root() const { return root_; }
    std::string container_dir(const std::string& id) const { return root_ + "/containers/" + id; }

    // Makes the rootfs of container `id` from `layers` (lowest first) and returns its path. Fails if `id`
    // already has one. On error nothing of `id` is left (shared layers unpacked so far stay).
    virtual Result<std::string> prepare(const std::string& id, std::span<const Layer> layers) = 0;
    // Unmounts and removes everything prepare() or clone() made for `id`; an unknown id is not an error.
    virtual Status destroy(const std::string& id) = 0;

    virtual Status snapshot(const std::string& /*id*/, const std::string& /*name*/) {
        return cannot("snapshot");
    }
    virtual Result<std::vector<Snapshot>> list_snapshots(const std::string& /*id*/) {
        return cannot("list snapshots");
    }
    virtual Status rollback(const std::string& /*id*/, const std::string& /*name*/) {
        return cannot("roll back");
    }
    // A new container `new_id` whose rootfs starts as `id`'s (at `snapshot`, or as it is now when empty);
    // returns the new rootfs.
    virtual Result<std::string> clone(const std::string& /*id*/, const std::string& /*snapshot*/,
                                      const std::string& /*new_id*/) {
        return cannot("clone");
    }
    virtual Status set_quota(const std::string& /*id*/, const Quota&) { return cannot("set a quota"); }

    // The shared image layers under <root>/layers, by name: a chain id, or "<chain-id>.tmp" for what a killed
    // unpack left (layers_gc.cpp). Directories by default; zfs lists its layer datasets.
    virtual Result<std::vector<std::string>> layer_names();
    // Removes layer `name` (as layer_names() gives it). ErrorKind::Busy when the storage still needs it (zfs:
    // a container, a base or another layer is a clone of its snapshot): `image gc` keeps it.
    virtual Status remove_layer(const std::string& name);

  protected:
    explicit Driver(std::string root) : root_(std::move(root)) {}
    std::unexpected<Error> cannot(std::string_view what) const {
        return fail(ErrorKind::Unsupported,
                    "storage driver " + std::string(name()) + " cannot " + std::string(what));
    }

  private:
    std::string root_;
};

// The registry: every driver by name ("btrfs", "dir", "overlay", "zfs"); the root is created if missing. zfs
// needs `root` to be a zfs dataset's mountpoint, btrfs a directory on btrfs: otherwise a clear error.
Result<std::unique_ptr<Driver>> open_driver(std::string_view name, const std::string& root);
std::vector<std::string> driver_names();
// "overlay" when the kernel has overlayfs, else "dir".
std::string default_driver();
// A size for a quota: bytes, or with a unit k, m, g, t (powers of 1024; "10G", "512m", "1GiB").
Result<uint64_t> parse_size(std::string_view s);
// The driver for the filesystem under `root`: btrfs on btrfs, zfs where `root` is a zfs dataset's
// mountpoint, else default_driver().
std::string detect_driver(const std::string& root);

} // namespace lxcri::storage
