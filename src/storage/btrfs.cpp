// The btrfs driver: subvolume ioctls, the btrfs CLI for quotas. The storage root is a directory on btrfs:
//   layers/<chain-id>              a read-only snapshot per image layer: layers/<chain-id>.tmp (a snapshot of
//                                  the layer below, the layer unpacked on top) snapshotted read-only once the
//                                  unpack completed, so a layer that exists is whole
//   containers/<id>/rootfs         a container: a writable snapshot of its top layer (or of another
//   container) containers/<id>/snapshots/<n>  its snapshots, read-only; rollback swaps a writable copy in
//   atomically
// Quotas are qgroup limits (enabled on the filesystem at first use); btrfs has no reservations.
#include "storage/drivers.hpp"
#include "sys/fd.hpp"
#include "sys/fs.hpp"

#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

namespace lxcri::storage {

namespace {

// The root directory of a subvolume has inode 256 (BTRFS_FIRST_FREE_OBJECTID).
bool is_subvolume(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_ino == 256;
}

// The directory holding `path`, opened, and the last component of `path` (a subvolume's name in it).
struct InParent {
    sys::Fd dir;
    std::string name;
};
Result<InParent> in_parent(const std::string& path) {
    auto slash = path.rfind('/');
    std::string parent = slash == 0 ? "/" : path.substr(0, slash), name = path.substr(slash + 1);
    if (slash == std::string::npos || name.empty() || name.size() > BTRFS_PATH_NAME_MAX)
        return fail(ErrorKind::Invalid, "invalid subvolume path \"" + path + "\"");
    sys::Fd dir(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir.valid()) return fail_errno("open " + parent);
    return InParent{std::move(dir), name};
}

// The subvolume ioctls themselves, not the btrfs CLI: a container's snapshot and its deletion are on the
// path of every create and delete, and each CLI process costs more than the ioctl (~5 ms here).
Status subvol_create(const std::string& path) {
    auto p = TRY(in_parent(path));
    btrfs_ioctl_vol_args args{};
    p.name.copy(args.name, BTRFS_PATH_NAME_MAX);
    if (::ioctl(p.dir.get(), BTRFS_IOC_SUBVOL_CREATE, &args) < 0)
        return fail_errno("btrfs: create subvolume " + path);
    return ok();
}

Status subvol_delete(const std::string& path) {
    if (!is_subvolume(path)) return sys::remove_all(path);
    // Read-only snapshots too (the caller is root): the ioctl the CLI's delete uses.
    auto p = TRY(in_parent(path));
    btrfs_ioctl_vol_args args{};
    p.name.copy(args.name, BTRFS_PATH_NAME_MAX);
    if (::ioctl(p.dir.get(), BTRFS_IOC_SNAP_DESTROY, &args) < 0)
        return fail_errno("btrfs: delete subvolume " + path);
    return ok();
}

Status snapshot_of(const std::string& from, const std::string& to, bool readonly) {
    sys::Fd src(::open(from.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!src.valid()) return fail_errno("btrfs: snapshot " + from);
    auto p = TRY(in_parent(to));
    btrfs_ioctl_vol_args_v2 args{};
    args.fd = src.get();
    args.flags = readonly ? BTRFS_SUBVOL_RDONLY : 0;
    p.name.copy(args.name, BTRFS_SUBVOL_NAME_MAX);
    if (::ioctl(p.dir.get(), BTRFS_IOC_SNAP_CREATE_V2, &args) < 0)
        return fail_errno("btrfs: snapshot " + from + " as " + to);
    return ok();
}

class BtrfsDriver final : public Driver {
  public:
    explicit BtrfsDriver(std::string root) : Driver(std::move(root)) {}
    std::string_view name() const override { return "btrfs"; }
    Caps caps() const override {
        return Caps{
            .snapshot = true, .clone = true, .cheap_clone = true, .quota = true, .shared_layers = true};
    }

    Result<std::string> prepare(const std::string& id, std::span<const Layer> layers) override {
        TRY(check_name("container id", id));
        std::string parent;
        for (auto& l : layers) {
            TRY_CTX(layer(parent, l), "prepare rootfs of " + id);
            parent = root() + "/layers/" + l.chain_id;
        }
        std::string dir = container_dir(id), rootfs = dir + "/rootfs";
        TRY(make_dir(dir, id));
        Status s = parent.empty() ? subvol_create(rootfs) : snapshot_of(parent, rootfs, false);
        if (!s) return undo(std::move(s).error().context("prepare rootfs of " + id), id);
        return rootfs;
    }

    Status destroy(const std::string& id) override {
        TRY(check_name("container id", id));
        std::string dir = container_dir(id), what = "destroy rootfs of " + id;
        for (auto& n : sys::list_dir(dir + "/snapshots"))
            TRY_CTX(subvol_delete(dir + "/snapshots/" + n), what);
        for (const char* sub : {"/rootfs", "/rootfs.new"})
            TRY_CTX(subvol_delete(dir + sub), what);
        TRY_CTX(sys::remove_all(dir), what);
        return ok();
    }

    Status snapshot(const std::string& id, const std::string& snap) override {
        TRY(check_name("container id", id));
        TRY(check_snapshot_name(snap));
        std::string rootfs = TRY(need(id)), dir = container_dir(id) + "/snapshots";
        TRY(sys::mkdir_p(dir, 0700));
        if (sys::exists(dir + "/" + snap))
            return fail(ErrorKind::Exists, "snapshot " + id + ": snapshot " + snap + " exists");
        TRY_CTX(snapshot_of(rootfs, dir + "/" + snap, true), "snapshot " + id);
        return ok();
    }

    Result<std::vector<Snapshot>> list_snapshots(const std::string& id) override {
        TRY(check_name("container id", id));
        TRY(need(id));
        std::vector<Snapshot> out;
        std::string dir = container_dir(id) + "/snapshots";
        for (auto& n : sys::list_dir(dir))
            if (is_subvolume(dir + "/" + n)) out.push_back({n, created_time(dir + "/" + n)});
        std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.created < b.created; });
        return out;
    }

    Status rollback(const std::string& id, const std::string& snap) override {
        TRY(check_name("container id", id));
        TRY(check_snapshot_name(snap));
        std::string rootfs = TRY(need(id)), from = container_dir(id) + "/snapshots/" + snap,
                    fresh = rootfs + ".new";
        if (!is_subvolume(from))
            return fail(ErrorKind::NotFound, "roll back " + id + ": no snapshot " + snap);
        TRY_CTX(subvol_delete(fresh), "roll back " + id); // left by a killed rollback
        TRY_CTX(snapshot_of(from, fresh, false), "roll back " + id);
        // One atomic swap: a rollback killed at any point leaves either rootfs whole.
        if (::renameat2(AT_FDCWD, fresh.c_str(), AT_FDCWD, rootfs.c_str(), RENAME_EXCHANGE) < 0) {
            Error e("roll back " + id + ": exchange " + fresh + " and " + rootfs, errno);
            (void)subvol_delete(fresh);
            return std::unexpected(std::move(e));
        }
        TRY_CTX(subvol_delete(fresh), "roll back " + id);
        return ok();
    }

    Result<std::string> clone(const std::string& id, const std::string& snap,
                              const std::string& new_id) override {
        TRY(check_name("container id", id));
        TRY(check_name("container id", new_id));
        std::string from = TRY(need(id));
        if (!snap.empty()) {
            TRY(check_snapshot_name(snap));
            from = container_dir(id) + "/snapshots/" + snap;
            if (!is_subvolume(from))
                return fail(ErrorKind::NotFound, "clone " + id + ": no snapshot " + snap);
        }
        std::string dir = container_dir(new_id), rootfs = dir + "/rootfs";
        TRY(make_dir(dir, new_id));
        if (auto s = snapshot_of(from, rootfs, false); !s)
            return undo(std::move(s).error().context("clone " + id), new_id);
        return rootfs;
    }

    // Layers are read-only snapshots; a container's rootfs is a snapshot of its own that does not need them.
    Status remove_layer(const std::string& name) override {
        TRY(check_name("layer", name));
        return subvol_delete(root() + "/layers/" + name);
    }

    Status set_quota(const std::string& id, const Quota& q) override {
        TRY(check_name("container id", id));
        std::string rootfs = TRY(need(id));
        if (q.reservation_bytes)
            return fail(ErrorKind::Unsupported, "storage driver btrfs cannot reserve space (it has no "
                                                "reservations; a size limit works)");
        std::string what = "set quota of " + id;
        TRY_CTX(command({"btrfs", "quota", "enable", root()}), what);
        TRY_CTX(command({"btrfs", "qgroup", "limit", q.limit_bytes ? std::to_string(q.limit_bytes) : "none",
                         rootfs}),
                what);
        return ok();
    }

  private:
    Result<std::string> need(const std::string& id) const {
        std::string rootfs = container_dir(id) + "/rootfs";
        if (!is_subvolume(rootfs))
            return fail(ErrorKind::NotFound, "container " + id + " has no btrfs rootfs");
        return rootfs;
    }

    Status make_dir(const std::string& dir, const std::string& id) const {
        if (::mkdir(dir.c_str(), 0700) == 0) return ok();
        if (errno != EEXIST) return fail_errno("mkdir " + dir);
        // A directory without a rootfs subvolume is what a killed prepare or clone left: it blocks nothing.
        if (!sys::exists(dir + "/rootfs") && !sys::exists(dir + "/bundle")) return ok();
        return fail(ErrorKind::Exists, "container " + id + " already has a rootfs");
    }

    // After a failed subvolume create/snapshot (so no rootfs of ours): removes the container directory.
    std::unexpected<Error> undo(Error e, const std::string& id) {
        return cleanup_after(std::move(e), container_dir(id));
    }

    // layers/<chain> (read-only), made on first use under the layer's lock.
    Status layer(const std::string& parent, const Layer& l) {
        TRY(check_name("chain id", l.chain_id));
        std::string done = root() + "/layers/" + l.chain_id, tmp = done + ".tmp";
        if (is_subvolume(done)) return ok();
        if (!l.unpack) return not_unpacked(l);
        auto lock = TRY(sys::lock_file(done + ".lock"));
        if (is_subvolume(done)) return ok();
        TRY_CTX(subvol_delete(tmp), "remove partial layer " + l.chain_id);
        Status s = parent.empty() ? subvol_create(tmp) : snapshot_of(parent, tmp, false);
        if (s) s = l.unpack(tmp, Whiteouts::apply);
        if (s) s = snapshot_of(tmp, done, true);
        Error e;
        if (!s) e = std::move(s).error().context("layer " + l.chain_id);
        if (auto r = subvol_delete(tmp); !r && s) return std::unexpected(std::move(r).error());
        if (!s) return std::unexpected(std::move(e));
        return ok();
    }
};

} // namespace

Result<std::unique_ptr<Driver>> open_btrfs_driver(std::string root) {
    auto m = TRY(mount_of(root));
    if (m.fstype != "btrfs")
        return fail(ErrorKind::Invalid, "storage root " + root + " is not on btrfs (it is on " + m.fstype +
                                            " " + m.source + " at " + m.mountpoint + ")");
    TRY(sys::mkdir_p(root + "/layers", 0700));
    // A layers/<chain>.tmp whose lock is free is what a killed unpack left: it goes now.
    for (auto& n : sys::list_dir(root + "/layers")) {
        if (!n.ends_with(".tmp")) continue;
        std::string lock_path = root + "/layers/" + n.substr(0, n.size() - 4) + ".lock";
        sys::Fd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
        if (lock.valid() && ::flock(lock.get(), LOCK_EX | LOCK_NB) == 0)
            (void)subvol_delete(root + "/layers/" + n);
    }
    return std::make_unique<BtrfsDriver>(std::move(root));
}

} // namespace lxcri::storage
