// OCI / Docker schema 2 manifests, indexes (manifest lists) and image configs: typed, parsed without
// throwing.
#pragma once
#include "base/result.hpp"
#include "image/digest.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lxcri::image {

namespace media {
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOciLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
} // namespace media

bool is_index_type(std::string_view media_type);
bool is_manifest_type(std::string_view media_type);

enum class Compression { None, Gzip, Zstd };
// Compression of a layer from its media type; unknown (e.g. foreign/nondistributable) types are an error.
Result<Compression> layer_compression(std::string_view media_type);

struct Platform {
    std::string os = "linux";
    std::string architecture = "amd64";
    std::string variant;
    std::string str() const { return os + "/" + architecture + (variant.empty() ? "" : "/" + variant); }
};
// The platform this binary runs on (linux/amd64 here).
Platform host_platform();
// "linux/arm64/v8" -> Platform.
Result<Platform> parse_platform(std::string_view s);

struct Descriptor {
    std::string media_type;
    Digest digest;
    int64_t size = 0;
    std::vector<std::string> urls;
    std::map<std::string, std::string> annotations;
    std::optional<Platform> platform; // only in indexes
};

struct Manifest {
    int schema_version = 2;
    std::string media_type; // may be empty in OCI manifests
    Descriptor config;
    std::vector<Descriptor> layers;
    std::map<std::string, std::string> annotations;
};

struct Index {
    int schema_version = 2;
    std::string media_type;
    std::vector<Descriptor> manifests;
    std::map<std::string, std::string> annotations;
};

// The image configuration (OCI image-spec config.json / Docker container config).
struct ImageConfig {
    std::string architecture, os, variant, created, author;
    // "config" section
    std::string user, working_dir, stop_signal;
    std::vector<std::string> entrypoint, cmd, env;
    std::vector<std::string> exposed_ports; // "80/tcp", sorted
    std::vector<std::string> volumes;       // sorted
    std::map<std::string, std::string> labels;
    bool entrypoint_set = false, cmd_set = false; // null/absent vs empty list
    // "rootfs" section: uncompressed layer digests, lowest first
    std::vector<Digest> diff_ids;
};

// Media type of a fetched manifest body: the "mediaType" field, else guessed from the members.
std::string detect_media_type(std::string_view json);
Result<Manifest> parse_manifest(std::string_view json);
Result<Index> parse_index(std::string_view json);
Result<ImageConfig> parse_config(std::string_view json);
// The entry of an index for a platform (variant ignored when the wanted one is empty);
// error "no image for platform linux/amd64 in index (have: ...)".
Result<Descriptor> select_platform(const Index& index, const Platform& want);

} // namespace lxcri::image
