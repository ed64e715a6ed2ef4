// Image references as docker/podman read them:
//   busybox                         -> docker.io/library/busybox:latest
//   user/app:1.0                    -> docker.io/user/app:1.0
//   127.0.0.1:5000/x/y:tag          -> registry 127.0.0.1:5000, repository x/y
//   quay.io/a/b@sha256:<hex>        -> by digest (a tag given with a digest is kept for display only)
#pragma once
#include "base/result.hpp"

#include <string>
#include <string_view>

namespace lxcri::image {

inline constexpr std::string_view kDockerHub = "docker.io";
inline constexpr std::string_view kDockerHubApi = "registry-1.docker.io";

struct Reference {
    std::string registry;   // "docker.io", "127.0.0.1:5000", "quay.io"
    std::string repository; // "library/busybox"
    std::string tag;        // "latest" when neither tag nor digest was given; may be empty with a digest
    std::string digest;     // "sha256:<hex>" or empty

    // Host the v2 API is served from (registry-1.docker.io for docker.io).
    std::string api_host() const;
    // "registry/repository".
    std::string name() const;
    // name:tag, name@digest or name:tag@digest.
    std::string str() const;
    // What the manifest is fetched by: the digest if any, else the tag.
    std::string manifest_ref() const { return digest.empty() ? tag : digest; }
    // Loopback registries (127.0.0.0/8, localhost, ::1): https is tried first, then plain http.
    bool is_local() const;
};

// "localhost", an IPv4 address in 127.0.0.0/8 or [::1], each with an optional ":port". Names that merely
// start with "127." (127.evil.example) are not loopback.
bool is_loopback_host(std::string_view host);

// Validates per the distribution reference grammar (lowercase path components, tag [\w][\w.-]{0,127},
// sha256 digest); errors read "invalid reference \"X\": why".
Result<Reference> parse_reference(std::string_view s);

} // namespace lxcri::image
