// Image config -> OCI bundle config.json: `runc spec`'s defaults (terminal false, default mounts, namespaces,
// capabilities), then what the image says (Entrypoint/Cmd, Env, WorkingDir, User, ExposedPorts, Labels,
// StopSignal), then the caller's overrides.
#pragma once
#include "base/result.hpp"
#include "image/config.hpp"
#include "image/manifest.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lxcri::image {

inline constexpr std::string_view kStopSignalAnnotation = "org.opencontainers.image.stopSignal";
inline constexpr std::string_view kExposedPortsAnnotation = "org.opencontainers.image.exposedPorts";

struct BundleOptions {
    std::string rootfs = "rootfs"; // root.path (absolute, or relative to the bundle)
    std::vector<std::string>
        args; // replaces the image's Cmd (the Entrypoint stays), like `docker run IMAGE ARGS`
    std::optional<uint64_t> memory_mib;
    std::optional<uint32_t> cores; // cpu quota = cores * period (100000 us)
    std::string hostname;          // default: runc's "runc"
    bool terminal = false;
    std::map<std::string, std::string> annotations; // added last (e.g. the image name and digest)
};

// The config.json text. Labels become annotations; StopSignal and ExposedPorts get the annotations above.
// No command at all (no Entrypoint, Cmd or args) is an error.
Result<std::string> bundle_config(const ImageConfig& image, const ResolvedUser& user, const BundleOptions& o);

// Resolves the image's User in the rootfs at `rootfs_path` and writes <bundle>/config.json.
Status write_bundle(const std::string& bundle, const std::string& rootfs_path, const ImageConfig& image,
                    const BundleOptions& o);

} // namespace lxcri::image
