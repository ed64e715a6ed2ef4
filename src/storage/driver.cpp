#include "storage/drivers.hpp"
#include "storage/marker.hpp"
#include "sys/fs.hpp"

#include <sstream>

namespace lxcri::storage {

namespace {
constexpr const char* kMarker = kMarkerFile;
}

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
        return fail("storage root must be an absolute path: \"" + root + "\"");
    std::unique_ptr<Driver> d;
    if (name == "dir") d = make_dir_driver(root);
    if (name == "overlay") d = make_overlay_driver(root);
    if (!d) return fail("unknown storage driver \"" + std::string(name) + "\" (have: dir, overlay)");
    TRY_CTX(sys::mkdir_p(root + "/containers", 0700), "storage root " + root);
    return d;
}

std::string default_driver() {
    auto fs = sys::read_file("/proc/filesystems");
    return fs && fs->find("\toverlay\n") != std::string::npos ? "overlay" : "dir";
}

Status write_marker(const std::string& dir, const Driver& driver, const std::string& id) {
    std::string text =
        "driver=" + std::string(driver.name()) + "\nroot=" + driver.root() + "\nid=" + id + "\n";
    return sys::write_file_atomic(dir + "/" + kMarker, text, 0600);
}

Status release_marked(const std::string& dir) {
    auto text = sys::read_file(dir + "/" + kMarker);
    if (!text) return text.error().code() == ENOENT ? ok() : std::unexpected(std::move(text).error());
    std::string driver, root, id;
    std::istringstream in(*text);
    for (std::string line; std::getline(in, line);) {
        auto eq = line.find('=');
        if (eq == std::string::npos) continue;
        std::string k = line.substr(0, eq), v = line.substr(eq + 1);
        if (k == "driver") driver = v;
        if (k == "root") root = v;
        if (k == "id") id = v;
    }
    std::string what = "release rootfs (" + dir + "/" + kMarker + ")";
    TRY_CTX(check_name("container id", id), what);
    auto d = TRY_CTX(open_driver(driver, root), what);
    TRY_CTX(d->destroy(id), what);
    return ok();
}

} // namespace lxcri::storage
