// The overlay driver: layers unpacked once into <root>/layers/<chain-id>/diff and shared; a container's
// rootfs is an overlay mount of them with a private upper and work directory under <root>/containers/<id>/.
#include "storage/drivers.hpp"
#include "sys/fs.hpp"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

namespace lxcri::storage {

namespace {

// Characters overlayfs' option parser would split on.
Status check_option_path(const std::string& p) {
    if (p.find_first_of(",:\\") != std::string::npos)
        return fail("overlay path contains ',', ':' or '\\': \"" + p + "\"");
    return ok();
}

class OverlayDriver final : public Driver {
  public:
    explicit OverlayDriver(std::string root) : Driver(std::move(root)) {}
    std::string_view name() const override { return "overlay"; }
    // Layers shared once; the private upper dir cannot be snapshotted or cloned without copying.
    Caps caps() const override { return Caps{.shared_layers = true}; }

    Result<std::string> prepare(const std::string& id, std::span<const Layer> layers) override {
        TRY(check_name("container id", id));
        TRY(check_option_path(root()));
        if (layers.empty()) return fail("prepare rootfs: the image has no layers");
        std::string lower;
        for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
            std::string diff = TRY_CTX(layer(*it), "prepare rootfs of " + id);
            lower += (lower.empty() ? "" : ":") + diff;
        }
        std::string dir = container_dir(id);
        if (::mkdir(dir.c_str(), 0700) < 0) {
            if (errno == EEXIST) return fail("prepare rootfs: container " + id + " already has one");
            return fail_errno("prepare rootfs: mkdir " + dir);
        }
        for (const char* sub : {"/upper", "/work", "/rootfs"}) {
            if (::mkdir((dir + sub).c_str(), 0755) < 0)
                return cleanup_after(Error("mkdir " + dir + sub, errno), dir);
        }
        std::string opts = "lowerdir=" + lower + ",upperdir=" + dir + "/upper,workdir=" + dir + "/work";
        if (opts.size() >= static_cast<size_t>(::sysconf(_SC_PAGESIZE)))
            return cleanup_after(Error("prepare rootfs: too many layers for one overlay mount (" +
                                       std::to_string(layers.size()) + ")"),
                                 dir);
        std::string rootfs = dir + "/rootfs";
        if (::mount("overlay", rootfs.c_str(), "overlay", 0, opts.c_str()) < 0)
            return cleanup_after(Error("mount overlay on " + rootfs, errno), dir);
        return rootfs;
    }

    Status destroy(const std::string& id) override {
        TRY(check_name("container id", id));
        std::string dir = container_dir(id), rootfs = dir + "/rootfs";
        // MNT_DETACH: a process still holding the old mount namespace must not keep the rootfs from going.
        while (::umount2(rootfs.c_str(), MNT_DETACH) == 0) {
        }
        if (errno != EINVAL && errno != ENOENT) return fail_errno("unmount " + rootfs);
        return sys::remove_all(dir);
    }

  private:
    // The shared directory of one layer, unpacked on first use. Concurrent users of one layer wait on its
    // lock; an unpack that dies midway leaves only <chain-id>.tmp, which the next attempt removes.
    Result<std::string> layer(const Layer& l) {
        TRY(check_name("chain id", l.chain_id));
        std::string dir = root() + "/layers/" + l.chain_id, diff = dir + "/diff";
        if (sys::exists(diff)) return diff;
        TRY(sys::mkdir_p(root() + "/layers", 0700));
        auto lock = TRY(sys::lock_file(dir + ".lock"));
        if (sys::exists(diff)) return diff;
        std::string tmp = dir + ".tmp";
        TRY(sys::remove_all(tmp));
        TRY(sys::mkdir_p(tmp + "/diff", 0755));
        if (auto r = l.unpack(tmp + "/diff", Whiteouts::overlay); !r)
            return cleanup_after(std::move(r).error().context("layer " + l.chain_id), tmp);
        if (::rename(tmp.c_str(), dir.c_str()) < 0) return cleanup_after(Error("rename " + tmp, errno), tmp);
        return diff;
    }
};

} // namespace

std::unique_ptr<Driver> make_overlay_driver(std::string root) {
    return std::make_unique<OverlayDriver>(std::move(root));
}

} // namespace lxcri::storage
