// The forwarding module: image verbs that exec proxmox-lxcri-image with this process's own arguments.
#pragma once
#include "cli/commands.hpp"

namespace lxcri::cli {

const ImageVerbs& forwarding_image_verbs();

} // namespace lxcri::cli
