// The forwarding module: the core binary's image verbs: proxmox-lxcri hands every command about images to
// proxmox-lxcri-image (the same command line, linked with libcurl and libarchive and their ~50 shared
// objects), so that create, start, state, kill and delete load none of them (measured: --version 8.5 ms with
// them, 1.1 ms without). create/run --image of a stored image whose layers the storage driver has already
// (every container of an image but the first) are done here, without that exec.
#include "cli/image_forward.hpp"
#include "runtime/image.hpp"
#include "sys/fs.hpp"
#include "sys/proc.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

namespace lxcri::cli {
namespace {

using namespace runtime;

// Replaces this process with the image binary and the same arguments (from /proc/self/cmdline).
Status forward() {
    std::string bin = TRY(runtime::image_binary());
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

Status pull(const ImageContext&, const ImagePullOpts&) {
    return forward();
}
Status list(const ImageContext&, const std::string&, bool) {
    return forward();
}
Status refs(const ImageContext&, const std::vector<std::string>&) {
    return forward();
}
Status gc(const ImageContext&) {
    return forward();
}
Status two_paths(const ImageContext&, const std::string&, const std::string&) {
    return forward();
}
// A stored image whose layers the storage driver has: done here. A layer to unpack: proxmox-lxcri-image.
Status create(const Global& g, const ImageContext& c, const ImageCreateOpts& io, const CreateOpts& o) {
    if (TRY(runtime::create_from_stored_image(g, c, io, o))) return ok();
    return forward();
}
Result<int> run(const Global& g, const ImageContext& c, const ImageCreateOpts& io, const RunOpts& o) {
    if (auto status = TRY(runtime::run_from_stored_image(g, c, io, o))) return *status;
    TRY(forward());
    return 0;
}
Status spec(const ImageContext&, const ImageCreateOpts&, const std::string&) {
    return forward();
}
Result<int> storage(const Global&, const ImageContext&, const StorageVerbOpts&) {
    TRY(forward());
    return 0;
}

} // namespace

const ImageVerbs& forwarding_image_verbs() {
    static const ImageVerbs verbs{&pull,
                                  &list,
                                  &refs,
                                  &refs,
                                  &gc,
                                  &two_paths,
                                  &two_paths,
                                  &create,
                                  &run,
                                  &spec,
                                  &runtime::release_storage,
                                  &runtime::storage_snapshot,
                                  &storage,
                                  nullptr};
    return verbs;
}

} // namespace lxcri::cli
