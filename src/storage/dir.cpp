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
    // No snapshots; a clone is a full copy.
    Caps caps() const override { return Caps{.clone = true}; }

    Result<std::string> prepare(const std::string& id, std::span<const Layer> layers) override {
        TRY(check_name("container id", id));
        std::string dir = container_dir(id), rootfs = dir + "/rootfs";
        if (::mkdir(dir.c_str(), 0700) < 0) {
            if (errno == EEXIST) return fail("prepare rootfs: container " + id + " already has one");
            return fail_errno("prepare rootfs: mkdir " + dir);
        }
        if (::mkdir(rootfs.c_str(), 0755) < 0) return cleanup_after(Error("mkdir " + rootfs, errno), dir);
        for (auto& l : layers) {
            if (auto r = l.unpack(rootfs, Whiteouts::apply); !r)
                return cleanup_after(std::move(r).error().context("layer " + l.chain_id), dir);
        }
        return rootfs;
    }

    Result<std::string> clone(const std::string& id, const std::string& snapshot,
                              const std::string& new_id) override {
        TRY(check_name("container id", id));
        TRY(check_name("container id", new_id));
        if (!snapshot.empty()) return cannot("clone from a snapshot");
        std::string from = container_dir(id) + "/rootfs", dir = container_dir(new_id),
                    rootfs = dir + "/rootfs";
        if (!sys::exists(from)) return fail(ErrorKind::NotFound, "clone: container " + id + " has no rootfs");
        if (::mkdir(dir.c_str(), 0700) < 0) {
            if (errno == EEXIST)
                return fail(ErrorKind::Exists, "clone: container " + new_id + " already has one");
            return fail_errno("clone: mkdir " + dir);
        }
        auto r =
            sys::run({"cp", "-a", "--reflink=auto", "--", from, rootfs}, {}, "", std::chrono::minutes(30));
        if (!r) return cleanup_after(std::move(r).error(), dir);
        if (r->status != 0) return cleanup_after(Error("clone: cp: " + r->err), dir);
        return rootfs;
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
