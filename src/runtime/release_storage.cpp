// Where proxmox-lxcri-image is, and `delete`'s release of a container's rootfs (the storage drivers, in the
// core binary since containers from stored images are made there; proxmox-lxcri-image keeps its hidden verbs
// `__release-storage` and `__storage-snapshot` for the same functions).
#include "runtime/image.hpp"
#include "sys/fs.hpp"
#include "sys/proc.hpp"

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

// The storage drivers are in the core binary: no process of the image binary for these.
Status release_storage(const StorageRef& ref) {
    return release_storage_here(ref);
}

Status storage_snapshot(const StorageRef& ref, const std::string& action, const std::string& name) {
    return storage_snapshot_here(ref, action, name);
}

} // namespace lxcri::runtime
