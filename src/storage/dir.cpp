// The dir driver: a private copy per container, made by unpacking every layer onto it in order.
#include "storage/drivers.hpp"
#include "sys/fs.hpp"
#include "sys/proc.hpp"

#include <sys/stat.h>

namespace lxcri::storage {

namespace {

class DirDriver final : public Driver {
  public:
    explicit DirDriver(std::string root) : Driver(std::move(root)) {}
    std::string_view name() const override { return "dir"; }
    // Snapshots and clones are full copies (reflinked where the filesystem can).
    Caps caps() const override { return Caps{.snapshot = true, .clone = true}; }

    Status snapshot(const std::string& id, const std::string& name) override {
        TRY(check_name("container id", id));
        TRY_CTX(copy_snapshot(container_dir(id) + "/rootfs", container_dir(id), name), "snapshot " + id);
        return ok();
    }
    Result<std::vector<Snapshot>> list_snapshots(const std::string& id) override {
        TRY(check_name("container id", id));
        if (!sys::exists(container_dir(id) + "/rootfs"))
            return fail(ErrorKind::NotFound, "container " + id + " has no rootfs");
        return copy_snapshots(container_dir(id));
    }
    Status rollback(const std::string& id, const std::string& name) override {
        TRY(check_name("container id", id));
        TRY_CTX(copy_rollback(container_dir(id), name, container_dir(id) + "/rootfs"), "roll back " + id);
        return ok();
    }

    Result<std::string> prepare(const std::string& id, std::span<const Layer> layers) override {
        TRY(check_name("container id", id));
        std::string dir = container_dir(id), rootfs = dir + "/rootfs", tmp = rootfs + ".tmp";
        for (auto& l : layers)
            if (!l.unpack) return not_unpacked(l);
        TRY_CTX(make_dir(dir, id), "prepare rootfs");
        if (::mkdir(tmp.c_str(), 0755) < 0) return cleanup_after(Error("mkdir " + tmp, errno), dir);
        for (auto& l : layers) {
            if (auto r = l.unpack(tmp, Whiteouts::apply); !r)
                return cleanup_after(std::move(r).error().context("layer " + l.chain_id), dir);
        }
        // Renamed when whole: a directory without rootfs is what a killed prepare or clone left.
        if (::rename(tmp.c_str(), rootfs.c_str()) < 0)
            return cleanup_after(Error("rename " + tmp, errno), dir);
        return rootfs;
    }

    Result<std::string> clone(const std::string& id, const std::string& snapshot,
                              const std::string& new_id) override {
        TRY(check_name("container id", id));
        TRY(check_name("container id", new_id));
        if (!snapshot.empty()) TRY(check_snapshot_name(snapshot));
        std::string from = container_dir(id) + (snapshot.empty() ? "/rootfs" : "/snapshots/" + snapshot),
                    dir = container_dir(new_id), rootfs = dir + "/rootfs";
        if (!sys::exists(from))
            return fail(ErrorKind::NotFound, "clone: container " + id + " has no " +
                                                 (snapshot.empty() ? "rootfs" : "snapshot " + snapshot));
        TRY_CTX(make_dir(dir, new_id), "clone");
        if (auto r = copy_tree(from, rootfs + ".tmp"); !r)
            return cleanup_after(std::move(r).error().context("clone"), dir);
        if (::rename((rootfs + ".tmp").c_str(), rootfs.c_str()) < 0)
            return cleanup_after(Error("clone: rename " + rootfs + ".tmp", errno), dir);
        return rootfs;
    }

    // The container directory, new; one without a rootfs (a killed prepare or clone) is emptied.
    static Status make_dir(const std::string& dir, const std::string& id) {
        if (::mkdir(dir.c_str(), 0700) == 0) return ok();
        if (errno != EEXIST) return fail_errno("mkdir " + dir);
        if (sys::exists(dir + "/rootfs"))
            return fail(ErrorKind::Exists, "container " + id + " already has one");
        return sys::remove_all(dir + "/rootfs.tmp");
    }

    Status destroy(const std::string& id) override {
        TRY(check_name("container id", id));
        return sys::remove_all(container_dir(id));
    }
};

} // namespace

std::unique_ptr<Driver> make_dir_driver(std::string root) {
    return std::make_unique<DirDriver>(std::move(root));
}

} // namespace lxcri::storage
