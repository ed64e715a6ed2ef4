// Paths resolved inside a root directory (a container's rootfs, an image layer's root). The kernel resolves
// every step with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS): a symlink is read as if the root were
// "/", ".." stops at the root, nothing outside the root is ever reached (securejoin's semantics, but
// race-free: a symlink swapped in meanwhile is resolved inside the root too). What is created is created with
// mkdirat / openat on the resolved parent's fd.
#pragma once
#include "base/result.hpp"
#include "sys/fd.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lxcri::sys {

// openat2(root, path, flags | O_CLOEXEC) with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | extra_resolve; "" is
// the root itself. An invalid Fd with errno set on failure.
Fd open_in_root(int root, const std::string& path, int flags, uint64_t extra_resolve = 0);

// What the last component of a path is created as when it is missing.
enum class Kind { Dir, File };

struct InRootOptions {
    bool create = false;         // create the missing components: directories (0755), the last one as `last`
    Kind last = Kind::Dir;       // (a file: empty, 0644)
    bool follow_dangling = true; // a symlink to a missing path: follow it (what it names is created, runc's
                                 // way); false: the walk fails with ENOENT there
    // Stop the walk as soon as it reaches one of these root-relative paths or anything below one (other
    // mounts to come: what lies below them is not on this filesystem yet).
    std::vector<std::string> stop_under;
};

struct InRoot {
    Fd fd;                         // O_PATH: the deepest component the walk reached
    std::vector<std::string> rest; // the components after it that were not walked (missing, or after a stop)
};

// Walks PATH (absolute or relative: both are relative to the root) component by component inside ROOT.
// Without create it stops at the first missing component. Fails on a component that exists but is not a
// directory where one is needed (ENOTDIR), on more than 40 symlinks (ELOOP) and on any other error of the
// walk.
Result<InRoot> walk_in_root(int root, std::string_view path, const InRootOptions& opts = {});
// resolve (no creation) / create: the two uses of walk_in_root.
Result<InRoot> resolve_in_root(int root, std::string_view path, std::vector<std::string> stop_under = {});
Result<Fd> create_in_root(int root, std::string_view path, Kind last, bool follow_dangling = true);

// The path of FD relative to ROOT ("" for the root itself), canonical (no symlinks, no "."/".."; the root's
// own path may have symlinks: both come from the kernel). Fails when FD is not inside ROOT, or when that path
// no longer leads to FD without a symlink (something was renamed meanwhile).
Result<std::string> path_in_root(int root, int fd);

// "a" is "b" or below it (component-wise; "" is the root, above everything).
bool path_under(std::string_view a, std::string_view b);

} // namespace lxcri::sys
