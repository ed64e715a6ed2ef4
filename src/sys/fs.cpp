#include "sys/fs.hpp"

#include <limits.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace lxcri::sys {

Status read_chunks(const std::string& path, const std::function<void(std::string_view)>& f) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return fail_errno("open " + path);
    static thread_local char buf[1 << 16];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_errno("read " + path);
        }
        if (n == 0) return ok();
        f(std::string_view(buf, static_cast<size_t>(n)));
    }
}

Result<std::string> read_file(const std::string& path) {
    std::string out;
    TRY(read_chunks(path, [&](std::string_view chunk) { out.append(chunk); }));
    return out;
}

static Status write_all(int fd, std::string_view data, const std::string& path) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_errno("write " + path);
        }
        data.remove_prefix(static_cast<size_t>(n));
    }
    return ok();
}

Status write_file(const std::string& path, std::string_view data, int flags) {
    Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | (flags ? flags : O_TRUNC)));
    if (!fd.valid()) return fail_errno("open " + path);
    return write_all(fd.get(), data, path);
}

Status write_file_atomic(const std::string& path, std::string_view data, int mode, bool durable) {
    std::string tmpl = path + ".tmp.XXXXXX";
    int raw = ::mkostemp(tmpl.data(), O_CLOEXEC);
    if (raw < 0) return fail_errno("create temp file for " + path);
    Fd fd(raw);
    auto cleanup = [&] { ::unlink(tmpl.c_str()); };
    if (auto r = write_all(fd.get(), data, tmpl); !r) {
        cleanup();
        return r;
    }
    if (::fchmod(fd.get(), static_cast<mode_t>(mode)) < 0 || (durable && ::fsync(fd.get()) < 0)) {
        int e = errno;
        cleanup();
        return fail("sync " + tmpl, e);
    }
    if (::rename(tmpl.c_str(), path.c_str()) < 0) {
        int e = errno;
        cleanup();
        return fail("rename " + tmpl + " to " + path, e);
    }
    if (!durable) return ok();
    auto slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
    Fd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dfd.valid()) ::fsync(dfd.get());
    return ok();
}

Status mkdir_p(const std::string& path, int mode) {
    if (path.empty()) return ok();
    std::string cur;
    size_t pos = 0;
    while (pos != std::string::npos) {
        pos = path.find('/', pos + 1);
        cur = path.substr(0, pos);
        if (cur.empty()) continue;
        if (::mkdir(cur.c_str(), static_cast<mode_t>(mode)) < 0 && errno != EEXIST)
            return fail_errno("mkdir " + cur);
    }
    return ok();
}

static Status remove_at(int parent, const char* name, dev_t dev, const std::string& shown) {
    struct stat st {};
    if (::fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT) return ok();
        return fail_errno("stat " + shown);
    }
    if (!S_ISDIR(st.st_mode)) {
        if (::unlinkat(parent, name, 0) < 0 && errno != ENOENT) return fail_errno("unlink " + shown);
        return ok();
    }
    if (st.st_dev != dev) return fail("refusing to remove " + shown + ": it is a mount point", EBUSY);
    int fd = ::openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return fail_errno("open " + shown);
    Dir d(::fdopendir(fd));
    if (!d) {
        ::close(fd);
        return fail_errno("opendir " + shown);
    }
    while (auto* e = ::readdir(d.get())) {
        std::string n = e->d_name;
        if (n == "." || n == "..") continue;
        TRY(remove_at(::dirfd(d.get()), e->d_name, dev, shown + "/" + n));
    }
    d.reset();
    if (::unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT) return fail_errno("rmdir " + shown);
    return ok();
}

Status remove_at(int dirfd, const std::string& name) {
    struct stat st {};
    if (::fstat(dirfd, &st) < 0) return fail_errno("stat " + name);
    return remove_at(dirfd, name.c_str(), st.st_dev, name);
}

Status remove_all(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) < 0) {
        if (errno == ENOENT) return ok();
        return fail_errno("stat " + path);
    }
    return remove_at(AT_FDCWD, path.c_str(), st.st_dev, path);
}

std::string absolute_path(const std::string& p) {
    if (!p.empty() && p[0] == '/') return p;
    char cwd[PATH_MAX];
    if (!::getcwd(cwd, sizeof cwd)) return p;
    std::string base = cwd;
    if (p.empty() || p == ".") return base;
    std::string rel = p.starts_with("./") ? p.substr(2) : p;
    return base + "/" + rel;
}

bool exists(const std::string& path) {
    return ::access(path.c_str(), F_OK) == 0;
}

std::vector<std::string> list_dir(const std::string& path) {
    std::vector<std::string> out;
    Dir d(::opendir(path.c_str()));
    if (!d) return out;
    while (auto* e = ::readdir(d.get())) {
        std::string n = e->d_name;
        if (n != "." && n != "..") out.push_back(n);
    }
    return out;
}

Result<FileLock> lock_file(const std::string& path, bool exclusive) {
    Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd.valid()) return fail_errno("open lock " + path);
    while (::flock(fd.get(), exclusive ? LOCK_EX : LOCK_SH) < 0) {
        if (errno != EINTR) return fail_errno("lock " + path);
    }
    return FileLock(std::move(fd));
}

} // namespace lxcri::sys
