// The `image` verbs: pull, list, inspect, rm, gc (one function each). The store root comes from
// ImageContext::store (a global --image-root option), else $LXCRI_IMAGE_ROOT, else /var/lib/proxmox-lxcri/images.
#pragma once
#include "base/result.hpp"

#include <string>
#include <vector>

namespace lxcri::runtime {

struct ImageContext {
    std::string store;         // empty: image::Store::default_root()
    bool json_log = false;     // --log-format json: JSON progress lines instead of bars
};

struct ImagePullOpts {
    std::string ref;
    bool insecure = false;     // --tls-verify=false / --insecure
    std::string auth_file;     // --authfile
    std::string platform;      // --platform os/arch[/variant]; empty: the host's
    int jobs = 4;              // --jobs
    bool quiet = false;        // -q: no progress, print only the manifest digest
};
// Prints the manifest digest on stdout when done.
Status image_pull(const ImageContext& c, const ImagePullOpts& o);
// format: "table" (default) or "json"; quiet: names only.
Status image_list(const ImageContext& c, const std::string& format, bool quiet);
// A JSON array with one object per ref: name, digest, index, created, size, manifest, config, layers.
Status image_inspect(const ImageContext& c, const std::vector<std::string>& refs);
// Untags each ref (name, short name or digest prefix), then collects unreferenced blobs.
Status image_rm(const ImageContext& c, const std::vector<std::string>& refs);
// Removes blobs no image references and every partial download.
Status image_gc(const ImageContext& c);

} // namespace lxcri::runtime
