// Import and export of images as files: an OCI image layout directory, an oci-archive (a tar of such a
// directory, as `skopeo copy ... oci-archive:` writes) or a docker-archive (`docker save`: manifest.json plus
// a config and one tar per layer).
#pragma once
#include "base/result.hpp"
#include "image/store.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace lxcri::image {

inline constexpr std::string_view kRefNameAnnotation = "org.opencontainers.image.ref.name";
inline constexpr std::string_view kContainerdNameAnnotation = "io.containerd.image.name";

// Copies every image of the layout/archive at `path` into the store (blobs verified against their digests)
// and tags it. The name comes from `name` if given, else from the archive (ref.name annotation / RepoTags);
// an image with neither is an error. Indexes inside the layout are resolved for the host platform. Tars are
// extracted into a scratch directory under the store root with the same checks as layers, and removed after.
Result<std::vector<ImageRecord>> import_archive(Store& store, const std::string& path,
                                                const std::string& name = {});

// Writes the stored image `ref` as an oci-archive tar (written to a temp file, then renamed to `file`).
Status export_archive(const Store& store, std::string_view ref, const std::string& file);

} // namespace lxcri::image
