// Pulling an image into the store: resolve the manifest (an index / manifest list for the wanted platform),
// download config and layers in parallel (resuming partial blobs), verify, then record manifest + name.
// Nothing is indexed unless every blob verified; blobs a failed pull wrote are removed again (partial
// downloads stay for a resume until `image gc`).
#pragma once
#include "base/result.hpp"
#include "image/manifest.hpp"
#include "image/progress.hpp"
#include "image/reference.hpp"
#include "image/registry.hpp"
#include "image/store.hpp"

namespace lxcri::image {

struct PullOptions {
    RegistryOptions registry;
    Platform platform = host_platform();
    int jobs = 4; // parallel blob downloads
    ProgressMode progress = ProgressMode::Auto;
    int progress_fd = 2;
};

struct PullResult {
    ImageRecord record;
    size_t blobs_fetched = 0;  // downloaded (or resumed) now
    size_t blobs_present = 0;  // already in the store
    int64_t bytes_fetched = 0; // bytes received
};

Result<PullResult> pull(Store& store, const Reference& ref, const PullOptions& opts);

} // namespace lxcri::image
