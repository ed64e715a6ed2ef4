// The command line of both binaries: runc's verbs and the image verbs. proxmox-lxcri passes the forwarding
// image verbs (cli/image_forward.cpp: they exec proxmox-lxcri-image with the same arguments, except
// create/run --image of a stored image whose layers are unpacked, done in place), so that its hot path never
// loads libcurl and libarchive; proxmox-lxcri-image passes the real ones (cli/image_main.cpp).
#pragma once
#include "base/result.hpp"
#include "runtime/image.hpp"

namespace lxcri::cli {

struct ImageVerbs {
    Status (*pull)(const runtime::ImageContext&, const runtime::ImagePullOpts&);
    Status (*list)(const runtime::ImageContext&, const std::string& format, bool quiet);
    Status (*inspect)(const runtime::ImageContext&, const std::vector<std::string>& refs);
    Status (*rm)(const runtime::ImageContext&, const std::vector<std::string>& refs);
    Status (*gc)(const runtime::ImageContext&);
    Status (*import_archive)(const runtime::ImageContext&, const std::string& path, const std::string& name);
    Status (*export_archive)(const runtime::ImageContext&, const std::string& ref, const std::string& file);
    Status (*create)(const runtime::Global&, const runtime::ImageContext&, const runtime::ImageCreateOpts&,
                     const runtime::CreateOpts&);
    Result<int> (*run)(const runtime::Global&, const runtime::ImageContext&, const runtime::ImageCreateOpts&,
                       const runtime::RunOpts&);
    Status (*spec)(const runtime::ImageContext&, const runtime::ImageCreateOpts&, const std::string& bundle);
    // The hidden `__release-storage DRIVER ROOT ID` verb (what runtime::release_storage runs).
    Status (*release_storage)(const runtime::StorageRef&);
    // The hidden `__storage-snapshot snapshot|rollback DRIVER ROOT ID NAME` verb (runtime::storage_snapshot).
    Status (*storage_snapshot)(const runtime::StorageRef&, const std::string& action,
                               const std::string& name);
    // base register/list/rm and clone (template bases and clones).
    Result<int> (*storage)(const runtime::Global&, const runtime::ImageContext&,
                           const runtime::StorageVerbOpts&);
    // Unpacks image layers (ImageContext::unpack_layer): proxmox-lxcri-image's; none in proxmox-lxcri.
    runtime::LayerUnpacker unpack_layer;
};

// Parses argv and runs the verb; the process exit status.
int main(int argc, char** argv, const ImageVerbs& image);

} // namespace lxcri::cli
