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
    // Layers shared once; snapshots and clones copy the private upper dir (the layers stay shared).
    Caps caps() const override { return Caps{.snapshot = true, .clone = true, .shared_layers = true}; }

    Status snapshot(const std::string& id, const std::string& name) override {
        TRY(check_name("container id", id));
        TRY_CTX(copy_snapshot(container_dir(id) + "/upper", container_dir(id), name), "snapshot " + id);
        return ok();
    }
    Result<std::vector<Snapshot>> list_snapshots(const std::string& id) override {
        TRY(check_name("container id", id));
        if (!sys::exists(container_dir(id) + "/upper"))
            return fail(ErrorKind::NotFound, "container " + id + " has no overlay rootfs");
        return copy_snapshots(container_dir(id));
    }
    // The upper dir is swapped for a copy of the snapshot while the rootfs is unmounted, then mounted again
    // (a running container keeps the mount it has).
    Status rollback(const std::string& id, const std::string& name) override {
        TRY(check_name("container id", id));
        std::string dir = container_dir(id), what = "roll back " + id;
        std::string opts = TRY_CTX(sys::read_file(dir + "/mount-options"), what);
        if (!sys::exists(dir + "/snapshots/" + name)) TRY(check_snapshot_name(name));
        TRY_CTX(unmount(dir + "/rootfs"), what);
        Status s = copy_rollback(dir, name, dir + "/upper");
        if (s) s = sys::remove_all(dir + "/work");
        if (s && ::mkdir((dir + "/work").c_str(), 0755) < 0) s = fail_errno("mkdir " + dir + "/work");
        // Mounted again even when the rollback failed: the container keeps a rootfs.
        if (::mount("overlay", (dir + "/rootfs").c_str(), "overlay", 0, opts.c_str()) < 0 && s)
            s = fail_errno("mount overlay on " + dir + "/rootfs");
        if (!s) return std::unexpected(std::move(s).error().context(what));
        return ok();
    }
    // A new upper dir copied from `id`'s (now, or at `snapshot`) over the same shared layers.
    Result<std::string> clone(const std::string& id, const std::string& snapshot,
                              const std::string& new_id) override {
        TRY(check_name("container id", id));
        TRY(check_name("container id", new_id));
        if (!snapshot.empty()) TRY(check_snapshot_name(snapshot));
        std::string src = container_dir(id), dir = container_dir(new_id), what = "clone " + id;
        std::string from = snapshot.empty() ? src + "/upper" : src + "/snapshots/" + snapshot;
        auto opts = sys::read_file(src + "/mount-options");
        if (!opts || !sys::exists(from))
            return fail(ErrorKind::NotFound,
                        what + ": container " + id + " has no " +
                            (snapshot.empty() ? "overlay rootfs" : "snapshot " + snapshot));
        std::string lower = opts->substr(0, opts->find(",upperdir="));
        TRY_CTX(make_dir(dir, new_id), what);
        Status s = copy_tree(from, dir + "/upper");
        for (const char* sub : {"/work", "/rootfs"})
            if (s && ::mkdir((dir + sub).c_str(), 0755) < 0) s = fail_errno("mkdir " + dir + sub);
        // The layers record (image gc keeps them) goes with the clone.
        if (s && sys::exists(src + "/layers")) s = copy_tree(src + "/layers", dir + "/layers");
        if (s) s = mount_new(dir, lower);
        if (!s) return cleanup_after(std::move(s).error().context(what), dir);
        return dir + "/rootfs";
    }

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
        TRY_CTX(make_dir(dir, id), "prepare rootfs");
        for (const char* sub : {"/upper", "/work", "/rootfs"}) {
            if (::mkdir((dir + sub).c_str(), 0755) < 0)
                return cleanup_after(Error("mkdir " + dir + sub, errno), dir);
        }
        if (auto s = mount_new(dir, "lowerdir=" + lower); !s)
            return cleanup_after(std::move(s).error().context("prepare rootfs"), dir);
        return dir + "/rootfs";
    }

    Status destroy(const std::string& id) override {
        TRY(check_name("container id", id));
        std::string dir = container_dir(id);
        TRY(unmount(dir + "/rootfs"));
        return sys::remove_all(dir);
    }

  private:
    // The container directory, new; one without mount-options (a killed prepare or clone) is replaced.
    static Status make_dir(const std::string& dir, const std::string& id) {
        if (::mkdir(dir.c_str(), 0700) == 0) return ok();
        if (errno != EEXIST) return fail_errno("mkdir " + dir);
        if (sys::exists(dir + "/mount-options"))
            return fail(ErrorKind::Exists, "container " + id + " already has one");
        TRY(unmount(dir + "/rootfs"));
        TRY(sys::remove_all(dir));
        if (::mkdir(dir.c_str(), 0700) < 0) return fail_errno("mkdir " + dir);
        return ok();
    }

    // MNT_DETACH: a process still holding the old mount namespace must not keep the rootfs from going.
    static Status unmount(const std::string& rootfs) {
        while (::umount2(rootfs.c_str(), MNT_DETACH) == 0) {
        }
        if (errno != EINVAL && errno != ENOENT) return fail_errno("unmount " + rootfs);
        return ok();
    }

    // Mounts <dir>/rootfs over `lower` ("lowerdir=...") with <dir>/upper and <dir>/work, and records the
    // options in <dir>/mount-options for rollback and clone.
    static Status mount_new(const std::string& dir, const std::string& lower) {
        std::string opts = lower + ",upperdir=" + dir + "/upper,workdir=" + dir + "/work";
        if (opts.size() >= static_cast<size_t>(::sysconf(_SC_PAGESIZE)))
            return fail("too many layers for one overlay mount");
        if (::mount("overlay", (dir + "/rootfs").c_str(), "overlay", 0, opts.c_str()) < 0)
            return fail_errno("mount overlay on " + dir + "/rootfs");
        // Written last: a container directory without it is what a killed prepare or clone left.
        if (auto s = sys::write_file_atomic(dir + "/mount-options", opts); !s) {
            (void)unmount(dir + "/rootfs");
            return s;
        }
        return ok();
    }

    // The shared directory of one layer, unpacked on first use. Concurrent users of one layer wait on its
    // lock; an unpack that dies midway leaves only <chain-id>.tmp, which the next attempt removes.
    Result<std::string> layer(const Layer& l) {
        TRY(check_name("chain id", l.chain_id));
        std::string dir = root() + "/layers/" + l.chain_id, diff = dir + "/diff";
        if (sys::exists(diff)) return diff;
        if (!l.unpack) return not_unpacked(l);
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
