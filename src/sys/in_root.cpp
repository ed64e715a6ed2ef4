#include "sys/in_root.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <deque>

namespace lxcri::sys {

namespace {

constexpr int kMaxLinks = 40;   // Linux's own limit (MAXSYMLINKS)
constexpr int kMaxSteps = 4096; // every step and every retry after a race counts: the walk always ends

// Components of PATH: empty ones and "." dropped, ".." kept (the kernel applies it to what was resolved).
std::vector<std::string> split(std::string_view path) {
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos <= path.size()) {
        size_t end = path.find('/', pos);
        if (end == std::string_view::npos) end = path.size();
        std::string_view c = path.substr(pos, end - pos);
        if (!c.empty() && c != ".") out.emplace_back(c);
        pos = end + 1;
    }
    return out;
}

std::string join(const std::vector<std::string>& comps) {
    std::string s;
    for (const auto& c : comps)
        s += (s.empty() ? "" : "/") + c;
    return s;
}

Result<std::string> read_link(int dirfd, const std::string& name, const std::string& shown) {
    std::string buf(256, '\0');
    for (;;) {
        ssize_t n = ::readlinkat(dirfd, name.c_str(), buf.data(), buf.size());
        if (n < 0) return fail_errno("readlink " + shown);
        if (static_cast<size_t>(n) < buf.size()) {
            buf.resize(static_cast<size_t>(n));
            return buf;
        }
        if (buf.size() >= 65536) return fail("readlink " + shown, ENAMETOOLONG);
        buf.resize(buf.size() * 2);
    }
}

Result<std::string> fd_path(int fd) {
    return read_link(AT_FDCWD, "/proc/self/fd/" + std::to_string(fd), "fd " + std::to_string(fd));
}

} // namespace

Fd open_in_root(int root, const std::string& path, int flags, uint64_t extra_resolve) {
    open_how how{};
    how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | extra_resolve;
    return Fd(
        static_cast<int>(::syscall(SYS_openat2, root, path.empty() ? "." : path.c_str(), &how, sizeof how)));
}

bool path_under(std::string_view a, std::string_view b) {
    if (b.empty()) return true;
    return a == b || (a.size() > b.size() && a.starts_with(b) && a[b.size()] == '/');
}

Result<InRoot> walk_in_root(int root, std::string_view path, const InRootOptions& opts) {
    if (path.find('\0') != std::string_view::npos) return fail("path contains a NUL byte", EINVAL);
    auto comps = split(path);
    std::deque<std::string> todo(comps.begin(), comps.end());
    // The walked text so far: the kernel resolves it (in the root) afresh at each step, so a symlink anywhere
    // in it, swapped in at any time, is still read inside the root.
    std::vector<std::string> at;
    Fd cur = open_in_root(root, "", O_PATH | O_DIRECTORY);
    if (!cur.valid()) return fail_errno("open the root");
    int links = 0;
    for (int steps = 0; !todo.empty(); ++steps) {
        if (steps > kMaxSteps) return fail("resolve " + std::string(path) + ": it keeps changing", EAGAIN);
        if (!opts.stop_under.empty()) {
            std::string here = TRY(path_in_root(root, cur.get()));
            bool stop = false;
            for (const auto& s : opts.stop_under)
                stop = stop || path_under(here, s);
            if (stop) break;
        }
        const std::string c = todo.front();
        const bool last = todo.size() == 1;
        const std::string shown = at.empty() ? c : join(at) + "/" + c;
        Fd next = open_in_root(root, shown, O_PATH | (last ? 0 : O_DIRECTORY));
        if (next.valid()) {
            cur = std::move(next);
            at.push_back(c);
            todo.pop_front();
            continue;
        }
        int e = errno;
        if (e == EAGAIN || e == EINTR) continue; // a rename raced the kernel's ".." check: again
        if (e != ENOENT || c == "..") return fail("open " + shown, e);
        // Missing here, or a symlink to something missing.
        struct stat st {};
        if (::fstatat(cur.get(), c.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
            if (!S_ISLNK(st.st_mode)) continue; // appeared meanwhile: open it again
            if (!opts.follow_dangling) return fail("open " + shown + ": a symlink to a missing path", ENOENT);
            if (++links > kMaxLinks) return fail("open " + shown, ELOOP);
            auto target = read_link(cur.get(), c, shown);
            if (!target) continue; // replaced meanwhile
            // Expanded in place: the rest of the walk goes through what the symlink names, as the kernel
            // would; an absolute one starts again at the root.
            todo.pop_front();
            auto tc = split(*target);
            todo.insert(todo.begin(), tc.begin(), tc.end());
            if (target->starts_with('/')) {
                at.clear();
                cur = open_in_root(root, "", O_PATH | O_DIRECTORY);
                if (!cur.valid()) return fail_errno("open the root");
            }
            continue;
        }
        if (errno != ENOENT) return fail_errno("stat " + shown);
        if (!opts.create) break;
        if (last && opts.last == Kind::File) {
            Fd f(::openat(cur.get(), c.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
            if (!f.valid() && errno != EEXIST) return fail_errno("create " + shown);
        } else if (::mkdirat(cur.get(), c.c_str(), 0755) < 0 && errno != EEXIST) {
            return fail_errno("mkdir " + shown);
        }
        // Opened (through the kernel's resolution, like every component) in the next round.
    }
    return InRoot{std::move(cur), std::vector<std::string>(todo.begin(), todo.end())};
}

Result<InRoot> resolve_in_root(int root, std::string_view path, std::vector<std::string> stop_under) {
    return walk_in_root(root, path, {.stop_under = std::move(stop_under)});
}

Result<Fd> create_in_root(int root, std::string_view path, Kind last, bool follow_dangling) {
    auto r =
        TRY(walk_in_root(root, path, {.create = true, .last = last, .follow_dangling = follow_dangling}));
    return std::move(r.fd);
}

Result<std::string> path_in_root(int root, int fd) {
    std::string rp = TRY(fd_path(root));
    std::string fp = TRY(fd_path(fd));
    std::string rel;
    if (rp == "/" && fp.starts_with('/'))
        rel = fp.substr(1);
    else if (path_under(fp, rp))
        rel = fp.substr(std::min(fp.size(), rp.size() + 1));
    else
        return fail(fp + " is not inside " + rp, EXDEV);
    // The text must still lead to the very same object, without a symlink on the way (a rename meanwhile, a
    // deleted directory: "... (deleted)").
    Fd again = open_in_root(root, rel, O_PATH, RESOLVE_NO_SYMLINKS);
    struct stat a {
    }, b{};
    if (!again.valid() || ::fstat(again.get(), &a) < 0 || ::fstat(fd, &b) < 0 || a.st_dev != b.st_dev ||
        a.st_ino != b.st_ino)
        return fail(fp + " changed while it was resolved", EAGAIN);
    return rel;
}

} // namespace lxcri::sys
