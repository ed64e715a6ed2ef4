// `delete` of a container made from an image: proxmox-lxcri-image releases its rootfs (the storage drivers
// live there, with the image code), through its hidden verb `__release-storage DRIVER ROOT ID`.
#include "runtime/image.hpp"
#include "sys/fs.hpp"
#include "sys/proc.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

namespace lxcri::runtime {

Result<std::string> image_binary() {
    if (const char* e = std::getenv("LXCRI_IMAGE_BINARY"); e && *e) return std::string(e);
    char self[4096];
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return fail_errno("readlink /proc/self/exe");
    self[n] = 0;
    std::string dir(self);
    dir = dir.substr(0, dir.rfind('/'));
    std::string p = dir + "/proxmox-lxcri-image";
    if (!sys::exists(p)) return fail("the image commands need " + p + ", which is not installed");
    return p;
}

Status release_storage(const StorageRef& ref) {
    std::string bin = TRY(image_binary());
    auto r = TRY(
        sys::run({bin, "__release-storage", ref.driver, ref.root, ref.id}, {}, "", std::chrono::seconds(60)));
    if (WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0) return ok();
    while (!r.err.empty() && r.err.back() == '\n')
        r.err.pop_back();
    return fail("release rootfs of " + ref.id + ": " + r.err);
}

// The hidden verb exits kUnsupportedExit when the driver cannot (ErrorKind::Unsupported).
Status storage_snapshot(const StorageRef& ref, const std::string& action, const std::string& name) {
    std::string bin = TRY(image_binary());
    auto r = TRY(sys::run({bin, "__storage-snapshot", action, ref.driver, ref.root, ref.id, name}, {}, "",
                          std::chrono::seconds(120)));
    if (WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0) return ok();
    while (!r.err.empty() && r.err.back() == '\n')
        r.err.pop_back();
    if (WIFEXITED(r.status) && WEXITSTATUS(r.status) == kStorageUnsupportedExit)
        return fail(ErrorKind::Unsupported, r.err);
    return fail(action + " " + name + " of the rootfs of " + ref.id + ": " + r.err);
}

} // namespace lxcri::runtime
