// Internal to storage/: the driver implementations and what they share.
#pragma once
#include "storage/driver.hpp"

#include <chrono>

namespace lxcri::storage {

std::unique_ptr<Driver> make_dir_driver(std::string root);
std::unique_ptr<Driver> make_overlay_driver(std::string root);
// These check the filesystem under `root` (and set up their datasets/subvolume parents) when opened.
Result<std::unique_ptr<Driver>> open_zfs_driver(std::string root);
Result<std::unique_ptr<Driver>> open_btrfs_driver(std::string root);

// Runs an external command (zfs, zpool, btrfs, cp) through sys::run and returns its stdout; a non-zero exit
// is an error carrying the command and its stderr ("zfs clone A B: cannot ...").
Result<std::string> command(const std::vector<std::string>& argv,
                            std::chrono::milliseconds timeout = std::chrono::minutes(10));
// The same when only success matters.
inline Status run_command(const std::vector<std::string>& argv) {
    auto r = command(argv);
    if (!r) return std::unexpected(std::move(r).error());
    return ok();
}
// A snapshot name: a check_name that also keeps to [A-Za-z0-9_.:-] (what zfs and every driver accept).
Status check_snapshot_name(const std::string& name);
// The filesystem type and source of the mount `path` is on ("zfs"/"fuse.zfs", "btrfs", ...), from
// /proc/self/mountinfo; `mountpoint` is set to that mount's mountpoint.
struct MountOf {
    std::string fstype, source, mountpoint;
};
Result<MountOf> mount_of(const std::string& path);
// A full copy of directory `from` to `to` (which must not exist), reflinked where the filesystem allows.
Status copy_tree(const std::string& from, const std::string& to);
// Copy-made snapshots (dir, overlay): <container dir>/snapshots/<name> is a copy of `what` (the rootfs or the
// upper dir), made under a .tmp name and renamed, so a killed snapshot leaves no half snapshot.
Status copy_snapshot(const std::string& what, const std::string& container_dir, const std::string& name);
Result<std::vector<Snapshot>> copy_snapshots(const std::string& container_dir);
// Replaces directory `target` by a copy of snapshot `name` with one atomic exchange.
Status copy_rollback(const std::string& container_dir, const std::string& name, const std::string& target);
// Unix seconds of the birth (else modification) time of `path`, 0 if unknown.
int64_t created_time(const std::string& path);

// A container id or chain id used as one path component: no '/', not "." or "..", not empty.
Status check_name(const std::string& what, const std::string& name);
// Removes a partly made container directory, keeping the first error.
// prepare() of a layer the driver does not have and that has no unpack function (Layer::unpack).
std::unexpected<Error> not_unpacked(const Layer& l);
std::unexpected<Error> cleanup_after(Error e, const std::string& dir);

} // namespace lxcri::storage
