// proxmox-lxcri: every runc verb here; the image verbs are forwarded to proxmox-lxcri-image.
#include "cli/commands.hpp"
#include "cli/image_forward.hpp"

int main(int argc, char** argv) {
    return lxcri::cli::main(argc, argv, lxcri::cli::forwarding_image_verbs());
}
