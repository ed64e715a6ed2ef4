#include "image/unpack.hpp"

#include "sys/fd.hpp"
#include "sys/fs.hpp"
#include "sys/in_root.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <functional>
#include <memory>
#include <unordered_set>
#include <vector>

namespace lxcri::image {

Compression detect_compression(std::span<const unsigned char> head) {
    if (head.size() >= 2 && head[0] == 0x1f && head[1] == 0x8b) return Compression::Gzip;
    if (head.size() >= 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd)
        return Compression::Zstd;
    return Compression::None;
}

Result<Compression> detect_compression_file(const std::string& path) {
    sys::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return fail_errno("open " + path);
    std::array<unsigned char, 4> head{};
    ssize_t n = ::pread(fd.get(), head.data(), head.size(), 0);
    if (n < 0) return fail_errno("read " + path);
    return detect_compression(std::span(head.data(), static_cast<size_t>(n)));
}

const char* compression_name(Compression c) {
    switch (c) {
    case Compression::Gzip:
        return "gzip";
    case Compression::Zstd:
        return "zstd";
    case Compression::None:
        break;
    }
    return "none";
}

namespace {

// libarchive's message for the last error; it may have none (archive_error_string() is then NULL).
std::string archive_error(archive* a) {
    const char* e = archive_error_string(a);
    return e && *e ? e : "malformed archive (no detail from libarchive)";
}

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaque = ".wh..wh..opq";

// Path components of a tar entry name, cleaned lexically as if it were relative to "/" (containerd's
// way): "./" and empty components dropped, a leading "/" ignored (an absolute name lands under the root;
// `umoci insert` writes a "/" entry), ".." removes the previous component and is clamped at the root. What
// the cleaned path then resolves to is still confined to the root (openat2 RESOLVE_IN_ROOT).
Result<std::vector<std::string>> split_entry(std::string_view name) {
    if (name.find('\0') != std::string_view::npos) return fail("NUL byte in path");
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos <= name.size()) {
        size_t end = name.find('/', pos);
        if (end == std::string_view::npos) end = name.size();
        std::string_view c = name.substr(pos, end - pos);
        if (c == "..") {
            if (!out.empty()) out.pop_back();
        } else if (!c.empty() && c != ".") {
            out.emplace_back(c);
        }
        pos = end + 1;
    }
    return out;
}

std::string join(const std::vector<std::string>& c, size_t n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) {
        if (i) s += '/';
        s += c[i];
    }
    return s;
}

std::string proc_path(int dirfd, const std::string& name) {
    std::string p = "/proc/self/fd/" + std::to_string(dirfd);
    return name.empty() ? p : p + "/" + name;
}

// Removes NAME in dirfd (recursively for a directory) without following symlinks: the one remover (sys).
Status remove_at(int dirfd, const std::string& name) {
    return sys::remove_at(dirfd, name);
}

class Extractor {
  public:
    Extractor(int root, Whiteouts mode) : root_(root), mode_(mode) {}

    Status entry(archive* a, archive_entry* e, UnpackStats& stats) {
        auto comps = TRY(split_entry(archive_entry_pathname(e)));
        if (comps.empty()) return root_metadata(e);
        const std::string& base = comps.back();
        if (base.starts_with(kWhiteoutPrefix)) return whiteout(comps);
        auto parent = TRY(open_parent(comps, true));
        std::string path = join(comps, comps.size());
        TRY(make_room(parent.get(), base,
                      archive_entry_filetype(e) == AE_IFDIR && !archive_entry_hardlink(e)));
        written_.insert(path);
        if (const char* target = archive_entry_hardlink(e)) return hardlink(parent.get(), base, target);
        switch (archive_entry_filetype(e)) {
        case AE_IFREG:
            TRY(regular(a, e, parent.get(), base, stats));
            break;
        case AE_IFDIR:
            if (::mkdirat(parent.get(), base.c_str(), 0700) < 0 && errno != EEXIST)
                return fail_errno("mkdir");
            dir_times_.push_back({path, mtime(e)});
            break;
        case AE_IFLNK:
            if (::symlinkat(archive_entry_symlink(e), parent.get(), base.c_str()) < 0)
                return fail_errno("symlink");
            break;
        case AE_IFCHR:
        case AE_IFBLK:
        case AE_IFIFO: {
            mode_t type = archive_entry_filetype(e) == AE_IFCHR   ? S_IFCHR
                          : archive_entry_filetype(e) == AE_IFBLK ? S_IFBLK
                                                                  : S_IFIFO;
            dev_t dev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
            if (::mknodat(parent.get(), base.c_str(), type | 0600, dev) < 0) return fail_errno("mknod");
            break;
        }
        default:
            return ok(); // sockets and unknown types are not part of images
        }
        return metadata(parent.get(), base, e);
    }

    // Directory mtimes last: creating their children changed them.
    Status finish() {
        for (auto it = dir_times_.rbegin(); it != dir_times_.rend(); ++it) {
            auto comps = TRY(split_entry(it->first));
            auto parent = open_parent(comps, false);
            if (!parent) continue; // removed by a later whiteout
            timespec ts[2] = {it->second, it->second};
            if (::utimensat(parent->get(), comps.back().c_str(), ts, AT_SYMLINK_NOFOLLOW) < 0 &&
                errno != ENOENT)
                return fail_errno("set times of " + it->first);
        }
        return ok();
    }

  private:
    static timespec mtime(archive_entry* e) {
        return {archive_entry_mtime(e), archive_entry_mtime_is_set(e) ? archive_entry_mtime_nsec(e) : 0};
    }

    // The directory holding the entry, resolved inside the root; missing directories are created (0755; a
    // symlink to a missing path is an error here, as it always was for layers).
    Result<sys::Fd> open_parent(const std::vector<std::string>& comps, bool create) {
        size_t n = comps.size() - 1;
        sys::Fd fd = sys::open_in_root(root_, join(comps, n), O_PATH | O_DIRECTORY);
        if (fd.valid() || errno != ENOENT || !create) {
            if (!fd.valid()) return fail_errno("open parent directory");
            return fd;
        }
        return sys::create_in_root(root_, join(comps, n), sys::Kind::Dir, false);
    }

    // Clears the way for a new entry: an existing directory stays when a directory replaces it.
    static Status make_room(int parent, const std::string& base, bool is_dir) {
        struct stat st {};
        if (::fstatat(parent, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno == ENOENT) return ok();
            return fail_errno("stat");
        }
        if (is_dir && S_ISDIR(st.st_mode)) return ok();
        return remove_at(parent, base);
    }

    Status whiteout(const std::vector<std::string>& comps) {
        const std::string& base = comps.back();
        if (base == kOpaque) return opaque(comps);
        if (base.starts_with(".wh..wh.")) return ok(); // aufs metadata (.wh..wh.plnk and friends)
        std::string name = base.substr(kWhiteoutPrefix.size());
        if (name.empty() || name == "." || name == "..") return fail("invalid whiteout");
        std::vector<std::string> target = comps;
        target.back() = name;
        // A whiteout hides lower layers only: an entry of this same layer stays.
        if (written_.contains(join(target, target.size()))) return ok();
        if (mode_ == Whiteouts::apply) {
            auto parent = open_parent(comps, false);
            if (!parent) return ok(); // nothing below to hide
            return remove_at(parent->get(), name);
        }
        auto parent = TRY(open_parent(comps, true));
        TRY(remove_at(parent.get(), name));
        if (::mknodat(parent.get(), name.c_str(), S_IFCHR, makedev(0, 0)) < 0)
            return fail_errno("mknod whiteout");
        return ok();
    }

    Status opaque(const std::vector<std::string>& comps) {
        std::string dir = join(comps, comps.size() - 1);
        if (mode_ == Whiteouts::overlay) {
            auto parent = TRY(open_parent(comps, true));
            // setxattr, not lsetxattr: the magic link is followed to the directory it stands for.
            if (::setxattr(proc_path(parent.get(), "").c_str(), "trusted.overlay.opaque", "y", 1, 0) < 0)
                return fail_errno("set trusted.overlay.opaque");
            return ok();
        }
        sys::Fd fd = sys::open_in_root(root_, dir, O_RDONLY | O_DIRECTORY);
        if (!fd.valid()) return ok();
        std::unique_ptr<DIR, int (*)(DIR*)> d(::fdopendir(fd.release()), ::closedir);
        if (!d) return fail_errno("opendir");
        std::vector<std::string> victims;
        while (dirent* e = ::readdir(d.get())) {
            std::string_view n = e->d_name;
            if (n == "." || n == "..") continue;
            std::string child = dir.empty() ? std::string(n) : dir + "/" + std::string(n);
            if (!written_.contains(child)) victims.emplace_back(n);
        }
        for (auto& v : victims)
            TRY(remove_at(::dirfd(d.get()), v));
        return ok();
    }

    Status hardlink(int parent, const std::string& base, const char* target) {
        auto tc = TRY_CTX(split_entry(target), std::string("hardlink target \"") + target + "\"");
        if (tc.empty()) return fail("hardlink to the root directory");
        auto tparent = TRY_CTX(open_parent(tc, false), std::string("hardlink target \"") + target + "\"");
        if (::linkat(tparent.get(), tc.back().c_str(), parent, base.c_str(), 0) < 0)
            return fail_errno(std::string("link to \"") + target + "\"");
        return ok();
    }

    static Status regular(archive* a, archive_entry* e, int parent, const std::string& base,
                          UnpackStats& stats) {
        sys::Fd fd(
            ::openat(parent, base.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!fd.valid()) return fail_errno("create");
        const void* buf;
        size_t size;
        la_int64_t offset;
        for (;;) {
            int r = archive_read_data_block(a, &buf, &size, &offset);
            if (r == ARCHIVE_EOF) break;
            if (r < ARCHIVE_WARN) return fail(std::string("read data: ") + archive_error(a));
            const char* p = static_cast<const char*>(buf);
            while (size > 0) {
                ssize_t w = ::pwrite(fd.get(), p, size, offset);
                if (w < 0) {
                    if (errno == EINTR) continue;
                    return fail_errno("write");
                }
                p += w;
                offset += w;
                size -= static_cast<size_t>(w);
                stats.bytes += static_cast<uint64_t>(w);
            }
        }
        // Sparse files end in a hole.
        if (archive_entry_size_is_set(e) && ::ftruncate(fd.get(), archive_entry_size(e)) < 0)
            return fail_errno("truncate");
        return ok();
    }

    Status xattrs(int parent, const std::string& base, archive_entry* e) {
        if (archive_entry_xattr_reset(e) == 0) return ok();
        std::string path = proc_path(parent, base);
        const char* name;
        const void* value;
        size_t size;
        while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
            std::string_view n = name;
            // A layer must not forge overlayfs metadata (opaque markers, redirects) for the layers below it.
            if (n.starts_with("trusted.overlay.")) continue;
            if (::lsetxattr(path.c_str(), name, value, size, 0) < 0 && errno != ENOTSUP)
                return fail_errno(std::string("set xattr ") + name);
        }
        return ok();
    }

    Status metadata(int parent, const std::string& base, archive_entry* e) {
        bool link = archive_entry_filetype(e) == AE_IFLNK;
        if (::fchownat(parent, base.c_str(), static_cast<uid_t>(archive_entry_uid(e)),
                       static_cast<gid_t>(archive_entry_gid(e)), AT_SYMLINK_NOFOLLOW) < 0)
            return fail_errno("chown");
        // Not a symlink (we just made it), so following is safe; after chown, which clears set-id bits.
        if (!link && ::fchmodat(parent, base.c_str(), archive_entry_perm(e) & 07777, 0) < 0)
            return fail_errno("chmod");
        TRY(xattrs(parent, base, e));
        if (archive_entry_filetype(e) == AE_IFDIR) return ok();
        timespec ts[2] = {mtime(e), mtime(e)};
        if (::utimensat(parent, base.c_str(), ts, AT_SYMLINK_NOFOLLOW) < 0) return fail_errno("set times");
        return ok();
    }

    Status root_metadata(archive_entry* e) {
        if (archive_entry_filetype(e) != AE_IFDIR) return fail("the root is not a directory");
        if (::fchown(root_, static_cast<uid_t>(archive_entry_uid(e)),
                     static_cast<gid_t>(archive_entry_gid(e))) < 0)
            return fail_errno("chown root");
        if (::fchmod(root_, archive_entry_perm(e) & 07777) < 0) return fail_errno("chmod root");
        return ok();
    }

    int root_;
    Whiteouts mode_;
    std::unordered_set<std::string> written_;
    std::vector<std::pair<std::string, timespec>> dir_times_;
};

struct ArchiveFree {
    void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveFree>;

// The uncompressed layer stream: the outer archive only decompresses (format "raw"); the tar reader pulls
// its blocks through read_block(), which hashes every byte on the way (the layer's DiffID).
// umoci 0.4 (`umoci insert`) ends its layers right after the last entry's data: no padding to the 512-byte
// block, no end-of-archive blocks (GNU tar lists them, then says "Unexpected EOF"). So when the real stream
// ends, the tar reader is handed the zeros that complete the block plus the two end blocks; they are not
// hashed (the DiffID is of the real stream), and an entry cut off before that still fails as truncated.
struct Stream {
    archive* outer = nullptr;
    Sha256 hash;
    uint64_t size = 0;
    bool eof = false;          // the real stream has ended
    bool trailer_sent = false; // the synthesized zeros were handed out

    static la_ssize_t read_block(archive* inner, void* ud, const void** buf) {
        auto* s = static_cast<Stream*>(ud);
        return s->next(inner, buf);
    }

    static const unsigned char* zeros() {
        static const unsigned char z[1536] = {};
        return z;
    }

    la_ssize_t next(archive* inner, const void** buf) {
        if (!eof) {
            size_t len = 0;
            la_int64_t offset = 0;
            int r = archive_read_data_block(outer, buf, &len, &offset);
            if (r < ARCHIVE_WARN && r != ARCHIVE_EOF) {
                archive_set_error(inner, EIO, "%s", archive_error(outer).c_str());
                return -1;
            }
            if (r != ARCHIVE_EOF) {
                hash.update(*buf, len);
                size += len;
                return static_cast<la_ssize_t>(len);
            }
            eof = true;
        }
        if (trailer_sent) return 0;
        trailer_sent = true;
        *buf = zeros();
        return static_cast<la_ssize_t>((512 - size % 512) % 512 + 1024);
    }

    // What the tar reader left unread (the zero blocks after its end marker) is part of the DiffID too.
    Status drain() {
        const void* buf;
        while (!eof) {
            size_t len = 0;
            la_int64_t offset = 0;
            int r = archive_read_data_block(outer, &buf, &len, &offset);
            if (r == ARCHIVE_EOF) break;
            if (r < ARCHIVE_WARN) return fail(std::string("read: ") + archive_error(outer));
            hash.update(buf, len);
            size += len;
        }
        eof = true;
        return ok();
    }
};

using Opener = std::function<int(archive*)>;

Result<UnpackStats> unpack_stream(Compression comp, const Opener& open, const std::string& what,
                                  const std::string& root, Whiteouts mode, const Digest* diff_id) {
    sys::Fd rootfd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!rootfd.valid()) return fail_errno(what + ": open " + root);
    ArchivePtr outer(archive_read_new());
    ArchivePtr a(archive_read_new());
    if (!outer || !a) return fail(what + ": out of memory");
    if (comp == Compression::Gzip) archive_read_support_filter_gzip(outer.get());
    if (comp == Compression::Zstd) archive_read_support_filter_zstd(outer.get());
    archive_read_support_format_raw(outer.get());
    archive_read_support_format_empty(outer.get());
    if (open(outer.get()) != ARCHIVE_OK) return fail(what + ": " + archive_error(outer.get()));
    Stream stream{outer.get()};
    archive_entry* raw = nullptr;
    int hr = archive_read_next_header(outer.get(), &raw);
    if (hr == ARCHIVE_EOF)
        stream.eof = true; // an empty file
    else if (hr < ARCHIVE_WARN)
        return fail(what + ": " + archive_error(outer.get()));
    archive_read_support_format_tar(a.get());
    if (archive_read_open(a.get(), &stream, nullptr, &Stream::read_block, nullptr) != ARCHIVE_OK)
        return fail(what + ": " + archive_error(a.get()));
    Extractor x(rootfd.get(), mode);
    UnpackStats stats;
    for (;;) {
        archive_entry* e = nullptr;
        int r = archive_read_next_header(a.get(), &e);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) return fail(what + ": " + archive_error(a.get()));
        const char* name = archive_entry_pathname(e);
        if (!name) return fail(what + ": an entry without a name");
        if (auto s = x.entry(a.get(), e, stats); !s)
            return std::unexpected(std::move(s).error().context(what + ": entry \"" + name + "\""));
        ++stats.entries;
    }
    TRY_CTX(x.finish(), what);
    TRY_CTX(stream.drain(), what);
    stats.diff_id = stream.hash.finish();
    stats.stream_bytes = stream.size;
    if (diff_id && stats.diff_id != *diff_id)
        return fail(what + ": layer content does not match the image config: its uncompressed stream is " +
                    stats.diff_id.str() + ", rootfs.diff_ids says " + diff_id->str());
    return stats;
}

} // namespace

Result<UnpackStats> unpack_layer(const std::string& layer, const std::string& root, Whiteouts mode,
                                 const Digest* diff_id) {
    std::string what = "unpack " + layer;
    Compression comp = TRY_CTX(detect_compression_file(layer), what);
    return unpack_stream(
        comp, [&](archive* a) { return archive_read_open_filename(a, layer.c_str(), 1 << 20); }, what, root,
        mode, diff_id);
}

Result<UnpackStats> unpack_layer_memory(std::string_view data, const std::string& root, Whiteouts mode,
                                        const Digest* diff_id) {
    auto head =
        std::span(reinterpret_cast<const unsigned char*>(data.data()), std::min<size_t>(data.size(), 4));
    return unpack_stream(
        detect_compression(head),
        [&](archive* a) { return archive_read_open_memory(a, data.data(), data.size()); }, "unpack layer",
        root, mode, diff_id);
}

} // namespace lxcri::image
