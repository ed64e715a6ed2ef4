// Layer unpack: a tar layer (uncompressed, gzip or zstd, detected by magic) written into a directory without
// ever following a symlink out of it. Whiteouts are either applied (the layer lands on a copy of the layers
// below it) or converted to overlayfs whiteouts (the layer is one overlay lowerdir).
#pragma once
#include "base/result.hpp"
#include "image/digest.hpp"
#include "image/manifest.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace lxcri::image {

// By magic number: 1f 8b = gzip, 28 b5 2f fd = zstd, anything else is treated as a plain tar.
Compression detect_compression(std::span<const unsigned char> head);
Result<Compression> detect_compression_file(const std::string& path);
const char* compression_name(Compression c);

enum class Whiteouts {
    apply,   // ".wh.NAME" removes NAME from below, ".wh..wh..opq" empties the directory's lower content
    overlay, // ".wh.NAME" becomes a 0:0 char device, ".wh..wh..opq" sets trusted.overlay.opaque=y
};

struct UnpackStats {
    uint64_t entries = 0;
    uint64_t bytes = 0;        // regular file content written
    uint64_t stream_bytes = 0; // the uncompressed tar stream
    Digest diff_id;            // sha256 of the uncompressed tar stream
};

// Unpacks the layer file at `layer` into the existing directory `root`. Entry names are cleaned as
// containerd does: a leading "/" is dropped (absolute names land under `root`) and ".." is clamped at the
// root; parent directories are then resolved inside `root` (openat2 RESOLVE_IN_ROOT), the entry itself is
// never followed, and hardlink targets resolve inside `root` the same way. Ownership, modes, mtimes and
// xattrs come from the tar (trusted.overlay.* xattrs in the tar are dropped). The uncompressed stream is
// hashed while it is read; with diff_id given, a different digest is an error (after the whole stream was
// read). On error `root` may hold part of the layer: callers unpack into a scratch directory and remove it.
Result<UnpackStats> unpack_layer(const std::string& layer, const std::string& root, Whiteouts mode,
                                 const Digest* diff_id = nullptr);
// The same from a layer held in memory (the fuzzer's entry point).
Result<UnpackStats> unpack_layer_memory(std::string_view data, const std::string& root, Whiteouts mode,
                                        const Digest* diff_id = nullptr);

} // namespace lxcri::image
