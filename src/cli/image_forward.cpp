// The core binary's image verbs: proxmox-lxcri hands every command about images to proxmox-lxcri-image (the
// same command line, linked with libcurl and libarchive and their ~50 shared objects), so that create, start,
// state, kill and delete load none of them (measured: --version 8.5 ms with them, 1.1 ms without).
#include "runtime/image.hpp"
#include "sys/fs.hpp"
#include "sys/proc.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

namespace lxcri::runtime {
namespace {

Result<std::string> image_binary() {
    if (const char* e = getenv("LXCRI_IMAGE_BINARY"); e && *e) return std::string(e);
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return fail_errno("readlink /proc/self/exe");
    self[n] = 0;
    std::string dir(self);
    dir = dir.substr(0, dir.rfind('/'));
    std::string p = dir + "/proxmox-lxcri-image";
    if (!sys::exists(p)) return fail("the image commands need " + p + ", which is not installed");
    return p;
}

// Replaces this process with the image binary and the same arguments (from /proc/self/cmdline).
Status forward() {
    std::string bin = TRY(image_binary());
    auto cmdline = TRY_CTX(sys::read_file("/proc/self/cmdline"), "forward to proxmox-lxcri-image");
    std::vector<std::string> args;
    for (size_t pos = 0; pos < cmdline.size();) {
        size_t end = cmdline.find('\0', pos);
        if (end == std::string::npos) end = cmdline.size();
        args.push_back(cmdline.substr(pos, end - pos));
        pos = end + 1;
    }
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    ::fflush(nullptr);
    ::execv(bin.c_str(), argv.data());
    return fail_errno("exec " + bin);
}

} // namespace

Status image_pull(const ImageContext&, const ImagePullOpts&) {
    return forward();
}
Status image_list(const ImageContext&, const std::string&, bool) {
    return forward();
}
Status image_inspect(const ImageContext&, const std::vector<std::string>&) {
    return forward();
}
Status image_rm(const ImageContext&, const std::vector<std::string>&) {
    return forward();
}
Status image_gc(const ImageContext&) {
    return forward();
}
Status image_import(const ImageContext&, const std::string&, const std::string&) {
    return forward();
}
Status image_export(const ImageContext&, const std::string&, const std::string&) {
    return forward();
}
Status create_from_image(const Global&, const ImageContext&, const ImageCreateOpts&, const CreateOpts&) {
    return forward();
}
Result<int> run_from_image(const Global&, const ImageContext&, const ImageCreateOpts&, const RunOpts&) {
    TRY(forward());
    return 0;
}
Status spec_from_image(const ImageContext&, const ImageCreateOpts&, const std::string&) {
    return forward();
}

// `delete` of a container made from an image: the image binary releases its rootfs (hidden verb).
Status release_storage(const StorageRef& ref) {
    std::string bin = TRY(image_binary());
    auto r = TRY(
        sys::run({bin, "__release-storage", ref.driver, ref.root, ref.id}, {}, "", std::chrono::seconds(60)));
    if (WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0) return ok();
    while (!r.err.empty() && r.err.back() == '\n')
        r.err.pop_back();
    return fail("release rootfs of " + ref.id + ": " + r.err);
}

} // namespace lxcri::runtime
