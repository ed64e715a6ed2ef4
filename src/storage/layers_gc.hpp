// Garbage collection of the storage drivers' shared layers (<root>/layers/<chain-id>: overlay directories,
// btrfs read-only snapshots, zfs datasets): a layer no stored image and no container uses is removed.
// Containers record what they use in <root>/containers/<id>/layers (one chain id a line), written right after
// prepare().
#pragma once
#include "base/result.hpp"
#include "storage/driver.hpp"

#include <cstddef>
#include <set>
#include <span>
#include <string>

namespace lxcri::storage {

// Records the chain ids container `id` of `driver` uses (nothing for drivers without shared layers).
Status record_layers(const Driver& driver, const std::string& id, std::span<const Layer> layers);

struct LayerGcReport {
    size_t removed = 0; // layer directories (and stale <chain-id>.tmp leftovers) removed
    size_t kept = 0;
    std::string skipped; // non-empty: nothing was removed, and why
};

// Removes every <root>/layers/<chain-id> not in `keep` (chain ids, hex) and not recorded by a container,
// each under its layer lock. A container directory with an overlay rootfs but no record (one made by an
// older version, or being prepared right now) makes it remove nothing: its layers are unknown.
Result<LayerGcReport> gc_layers(const std::string& root, const std::set<std::string>& keep);

} // namespace lxcri::storage
