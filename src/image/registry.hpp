// A Distribution spec v2 client over libcurl for one repository: ping, manifests (GET/HEAD with the OCI and
// Docker schema 2 Accept types), blobs (redirects followed, HTTP Range resume), anonymous / bearer-token /
// basic auth. Every request has a deadline. Thread-safe: each request uses its own curl handle; the auth
// state is shared under a mutex.
#pragma once
#include "base/result.hpp"
#include "image/auth.hpp"
#include "image/digest.hpp"
#include "image/manifest.hpp"
#include "image/reference.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace lxcri::image {

struct RegistryOptions {
    // Skip TLS verification and fall back to http (podman's --tls-verify=false). Loopback registries
    // (127.0.0.0/8, localhost, ::1) are tried over https first too, then over http. Credentials never go
    // over plain http to any other host.
    bool insecure = false;
    std::string auth_file; // explicit credentials file (auth.json format); empty: the usual places
    // Per-registry CA certificates as podman keeps them: <cert_dir>/<host[:port]>/ca.crt is trusted for that
    // registry (in addition to nothing else: it replaces the system bundle for it).
    std::string cert_dir = "/etc/containers/certs.d";
    std::chrono::milliseconds connect_timeout{15000};
    std::chrono::milliseconds request_timeout{60000}; // ping, manifests, tokens
    std::chrono::milliseconds blob_timeout{3600000};  // whole blob download
    std::chrono::milliseconds stall_timeout{30000};   // a blob transfer below 1 byte/s this long fails
};

struct FetchedManifest {
    std::string body;
    std::string media_type;
    Digest digest; // sha256 of body (checked against the requested digest when fetched by digest)
};

// Receives a blob: begin(start) is called once before any data with the byte offset the server sends from
// (the requested offset for a 206 answer, 0 when the server ignored Range); then data() for each chunk.
struct BlobSink {
    std::function<Status(int64_t start)> begin;
    std::function<Status(const char* data, size_t len)> data;
};

class RegistryClient {
  public:
    RegistryClient(const Reference& ref, RegistryOptions opts);
    ~RegistryClient();
    RegistryClient(const RegistryClient&) = delete;
    RegistryClient& operator=(const RegistryClient&) = delete;

    // "https://registry-1.docker.io"; "http://127.0.0.1:5000" once ping() fell back to http.
    std::string base_url() const;
    // GET /v2/ over https, else (--tls-verify=false or a loopback registry) over http; authenticates if
    // challenged. Errors name the registry and the cause (both causes when both schemes failed). Every other
    // call pings first unless a ping succeeded.
    Status ping();
    // GET /v2/<repo>/manifests/<reference> with Accept for OCI index/manifest and Docker list/manifest.
    Result<FetchedManifest> get_manifest(const std::string& reference);
    // HEAD: the manifest's descriptor (digest from Docker-Content-Digest, media type, size).
    Result<Descriptor> head_manifest(const std::string& reference);
    // GET /v2/<repo>/blobs/<digest> from byte offset (Range: bytes=offset-) into sink.
    Status get_blob(const Digest& digest, int64_t offset, const BlobSink& sink);

  private:
    // ping() unless an earlier one found the scheme.
    Status ensure_scheme();
    struct State;
    std::unique_ptr<State> s_;
};

// The message of a registry error body ({"errors":[{"code":..,"message":..}]}), or "" if it has none.
std::string registry_error_message(std::string_view body);

} // namespace lxcri::image
