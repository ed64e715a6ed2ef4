// Internal to storage/: the driver implementations and what they share.
#pragma once
#include "storage/driver.hpp"

namespace lxcri::storage {

std::unique_ptr<Driver> make_dir_driver(std::string root);
std::unique_ptr<Driver> make_overlay_driver(std::string root);

// A container id or chain id used as one path component: no '/', not "." or "..", not empty.
Status check_name(const std::string& what, const std::string& name);
// Removes a partly made container directory, keeping the first error.
std::unexpected<Error> cleanup_after(Error e, const std::string& dir);

} // namespace lxcri::storage
