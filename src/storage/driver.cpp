#include "storage/drivers.hpp"
#include "sys/fs.hpp"

namespace lxcri::storage {

namespace {
struct Entry {
    std::string_view name;
    std::unique_ptr<Driver> (*make)(std::string root);
};
constexpr Entry kDrivers[] = {{"dir", &make_dir_driver}, {"overlay", &make_overlay_driver}};
} // namespace

Status check_name(const std::string& what, const std::string& name) {
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
        name.find('\0') != std::string::npos)
        return fail("invalid " + what + " \"" + name + "\"");
    return ok();
}

std::unexpected<Error> cleanup_after(Error e, const std::string& dir) {
    if (auto r = sys::remove_all(dir); !r)
        e.context("cleanup of " + dir + " failed (" + r.error().message() + ")");
    return std::unexpected(std::move(e));
}

Result<std::unique_ptr<Driver>> open_driver(std::string_view name, const std::string& root) {
    if (root.empty() || root[0] != '/')
        return fail(ErrorKind::Invalid, "storage root must be an absolute path: \"" + root + "\"");
    std::unique_ptr<Driver> d;
    for (const auto& e : kDrivers)
        if (e.name == name) d = e.make(root);
    if (!d) {
        std::string have;
        for (auto& n : driver_names())
            have += (have.empty() ? "" : ", ") + n;
        return fail(ErrorKind::Invalid,
                    "unknown storage driver \"" + std::string(name) + "\" (have: " + have + ")");
    }
    TRY_CTX(sys::mkdir_p(root + "/containers", 0700), "storage root " + root);
    return d;
}

std::vector<std::string> driver_names() {
    std::vector<std::string> out;
    for (const auto& e : kDrivers)
        out.emplace_back(e.name);
    return out;
}

std::string default_driver() {
    auto fs = sys::read_file("/proc/filesystems");
    return fs && fs->find("\toverlay\n") != std::string::npos ? "overlay" : "dir";
}

} // namespace lxcri::storage
