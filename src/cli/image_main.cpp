// proxmox-lxcri-image: the same command line with the real image verbs (libcurl, libarchive).
#include "cli/commands.hpp"

int main(int argc, char** argv) {
    using namespace lxcri::runtime;
    static const lxcri::cli::ImageVerbs verbs{
        &image_pull,     &image_list,         &image_inspect,        &image_rm,
        &image_gc,       &image_import,       &image_export,         &create_from_image,
        &run_from_image, &spec_from_image,    &release_storage_here, &storage_snapshot_here,
        &storage_verb,   &unpack_image_layer,
    };
    return lxcri::cli::main(argc, argv, verbs);
}
