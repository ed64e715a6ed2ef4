// Storage drivers: where image layers live and how a container's rootfs is made from them.
//   dir      each container gets its own copy: the layers are unpacked one after the other into its rootfs
//            (whiteouts applied); works on any filesystem.
//   overlay  each layer is unpacked once into <root>/layers/<chain-id>/diff (overlayfs whiteouts) and shared;
//            a container's rootfs is an overlay mount with its own upper and work directories.
// Layout under the driver root: layers/ (shared, overlay only) and containers/<id>/ (one per container).
// Snapshot-capable drivers (zfs, btrfs) fit the same shape: a layer is a dataset/subvolume, prepare() a
// clone.
#pragma once
#include "base/result.hpp"

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace lxcri::storage {

enum class Whiteouts {
    apply,   // the layer is written onto the layers below it: whiteouts delete
    overlay, // the layer is written into its own directory: whiteouts become overlayfs whiteouts
};

struct Layer {
    std::string chain_id; // hex (no "sha256:"), names the shared layer directory
    // Writes the layer's content into the existing directory `dir`.
    std::function<Status(const std::string& dir, Whiteouts)> unpack;
};

class Driver {
  public:
    virtual ~Driver() = default;
    virtual std::string_view name() const = 0;
    const std::string& root() const { return root_; }
    std::string container_dir(const std::string& id) const { return root_ + "/containers/" + id; }

    // Makes the rootfs of container `id` from `layers` (lowest first) and returns its path. Fails if `id`
    // already has one. On error nothing of `id` is left (shared layers unpacked so far stay).
    virtual Result<std::string> prepare(const std::string& id, std::span<const Layer> layers) = 0;
    // Unmounts and removes everything prepare() made for `id`; an unknown id is not an error.
    virtual Status destroy(const std::string& id) = 0;

  protected:
    explicit Driver(std::string root) : root_(std::move(root)) {}

  private:
    std::string root_;
};

// "dir" or "overlay"; the root is created if missing.
Result<std::unique_ptr<Driver>> open_driver(std::string_view name, const std::string& root);
// "overlay" when the kernel has overlayfs, else "dir".
std::string default_driver();

// A marker in a directory (the bundle of a container made from an image) naming the driver, its root and the
// container id, so that whoever deletes the container can release its rootfs without knowing how it was made.
Status write_marker(const std::string& dir, const Driver& driver, const std::string& id);
// Destroys the rootfs named by dir's marker; no marker: nothing to do.
Status release_marked(const std::string& dir);

} // namespace lxcri::storage
