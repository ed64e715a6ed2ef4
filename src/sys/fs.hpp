// File helpers: whole-file read/write, atomic replace, directories, flock.
#pragma once
#include "base/result.hpp"
#include "sys/fd.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace lxcri::sys {

Result<std::string> read_file(const std::string& path);
// Reads the file in chunks, handing each to f (EINTR retried).
Status read_chunks(const std::string& path, const std::function<void(std::string_view)>& f);
// Plain write (truncate); for cgroup and proc files.
Status write_file(const std::string& path, std::string_view data, int flags = 0);
// Temp file in the same directory, then rename: readers see the old or the new content, never a part.
// durable: fsync the file and the directory too (state that must survive a crash).
Status write_file_atomic(const std::string& path, std::string_view data, int mode = 0644,
                         bool durable = false);
Status mkdir_p(const std::string& path, int mode = 0755);
// Recursive removal without crossing mount points; missing path is not an error.
Status remove_all(const std::string& path);
// The same for NAME in the directory dirfd (symlinks are removed, never followed; nothing on another
// filesystem than dirfd's is entered).
Status remove_at(int dirfd, const std::string& name);
bool exists(const std::string& path);
// p made absolute against the current directory (no symlinks resolved); absolute paths are returned as is.
std::string absolute_path(const std::string& p);
std::vector<std::string> list_dir(const std::string& path);

// An exclusive (or shared) flock on a lock file, released on destruction.
class FileLock {
  public:
    FileLock() = default;
    explicit FileLock(Fd fd) : fd_(std::move(fd)) {}
    bool held() const { return fd_.valid(); }

  private:
    Fd fd_;
};
Result<FileLock> lock_file(const std::string& path, bool exclusive = true);

} // namespace lxcri::sys
