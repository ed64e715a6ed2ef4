// Garbage collection of the storage drivers' shared layers (<root>/layers/<chain-id>: overlay directories,
// btrfs read-only snapshots, zfs datasets): a layer no stored image and no container uses is removed. What an
// overlay container uses is in the options its rootfs is mounted with (<root>/containers/<id>/mount-options,
// written by prepare() and clone()), or, for a base and a container made by an older version, in
// <root>/containers/<id>/layers (one chain id a line, written durably); zfs refuses to destroy a layer a
// clone depends on, and btrfs snapshots do not depend on the layer they were taken from.
#pragma once
#include "base/result.hpp"
#include "storage/driver.hpp"

#include <cstddef>
#include <set>
#include <span>
#include <string>

namespace lxcri::storage {

// Records the chain ids container `id` of `driver` uses in <dir>/layers, durably (nothing for drivers without
// shared layers). Not needed where the mount options say it (see gc_layers), unless the record must outlive a
// crash (a base).
Status record_layers(const Driver& driver, const std::string& id, std::span<const Layer> layers);

struct LayerGcReport {
    size_t removed = 0; // layer directories (and stale <chain-id>.tmp leftovers) removed
    size_t kept = 0;
    std::string skipped; // non-empty: nothing was removed, and why
};

// Removes every <root>/layers/<chain-id> not in `keep` (chain ids, hex) and not recorded by a container,
// each under its layer lock. A container directory with an overlay rootfs but no record (mount-options not
// written yet: being prepared right now; or lost in a crash) makes it remove nothing: its layers are unknown.
Result<LayerGcReport> gc_layers(const std::string& root, const std::set<std::string>& keep);

} // namespace lxcri::storage
