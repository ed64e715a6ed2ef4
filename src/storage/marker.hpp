// The file a storage driver leaves in a bundle whose rootfs it prepared; `delete` releases what it names.
#pragma once

namespace lxcri::storage {

inline constexpr const char* kMarkerFile = "lxcri-storage";

} // namespace lxcri::storage
