#include "base/parse.hpp"
#include "storage/drivers.hpp"
#include "sys/fs.hpp"
#include "sys/proc.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <sstream>

namespace lxcri::storage {

namespace {
Result<std::unique_ptr<Driver>> open_dir(std::string root) {
    return make_dir_driver(std::move(root));
}
Result<std::unique_ptr<Driver>> open_overlay(std::string root) {
    return make_overlay_driver(std::move(root));
}

// One row per driver: its name and how it is opened (one table, as lxc's src/lxc/storage/storage.c).
struct Entry {
    std::string_view name;
    Result<std::unique_ptr<Driver>> (*open)(std::string root);
};
constexpr Entry kDrivers[] = {
    {"btrfs", &open_btrfs_driver}, {"dir", &open_dir}, {"overlay", &open_overlay}, {"zfs", &open_zfs_driver}};

// mountinfo escapes ' ', '\t', '\n' and '\\' as \ooo.
std::string unescape(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size()) {
            int v = 0;
            bool okc = true;
            for (size_t k = 1; k <= 3; ++k) {
                char c = s[i + k];
                if (c < '0' || c > '7') okc = false;
                v = v * 8 + (c - '0');
            }
            if (okc) {
                out += static_cast<char>(v);
                i += 3;
                continue;
            }
        }
        out += s[i];
    }
    return out;
}
} // namespace

Result<std::string> command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
    std::string what;
    for (auto& a : argv)
        what += (what.empty() ? "" : " ") + a;
    auto r = TRY_CTX(sys::run(argv, {}, "", timeout), what);
    if (r.status != 0) {
        std::string err = r.err;
        while (!err.empty() && (err.back() == '\n' || err.back() == ' '))
            err.pop_back();
        if (err.empty()) err = sys::describe_wait_status(r.status);
        return fail(what + ": " + err);
    }
    return std::move(r.out);
}

Status check_snapshot_name(const std::string& name) {
    TRY(check_name("snapshot name", name));
    if (name.size() > 200 || name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                    "0123456789_.:-") != std::string::npos)
        return fail(ErrorKind::Invalid,
                    "invalid snapshot name \"" + name + "\" (letters, digits, _ . : - only)");
    return ok();
}

Result<MountOf> mount_of(const std::string& path) {
    std::string p = path;
    char buf[PATH_MAX];
    while (!::realpath(p.c_str(), buf)) {
        if (errno != ENOENT || p == "/" || p.empty()) return fail_errno("realpath " + path);
        auto slash = p.find_last_of('/');
        p = slash == 0 ? "/" : p.substr(0, slash);
    }
    std::string real = buf;
    auto text = TRY(sys::read_file("/proc/self/mountinfo"));
    std::istringstream in(text);
    MountOf best;
    for (std::string line; std::getline(in, line);) {
        std::istringstream f(line);
        std::string id, parent, dev, root, mp, opts, tok;
        f >> id >> parent >> dev >> root >> mp >> opts;
        while (f >> tok && tok != "-") {
        }
        MountOf m;
        f >> m.fstype >> m.source;
        m.mountpoint = unescape(mp);
        m.source = unescape(m.source);
        bool under = m.mountpoint == "/" || real == m.mountpoint ||
                     (real.starts_with(m.mountpoint) && real[m.mountpoint.size()] == '/');
        if (under && m.mountpoint.size() >= best.mountpoint.size()) best = m;
    }
    if (best.fstype.empty()) return fail("no mount found for " + path);
    return best;
}

Status copy_tree(const std::string& from, const std::string& to) {
    TRY(command({"cp", "-a", "--reflink=auto", "--", from, to}, std::chrono::minutes(30)));
    return ok();
}

Status copy_snapshot(const std::string& what, const std::string& dir, const std::string& name) {
    TRY(check_snapshot_name(name));
    std::string snaps = dir + "/snapshots", to = snaps + "/" + name, tmp = snaps + "/.tmp-" + name;
    if (!sys::exists(what)) return fail(ErrorKind::NotFound, "no " + what);
    if (sys::exists(to)) return fail(ErrorKind::Exists, "snapshot " + name + " exists");
    TRY(sys::mkdir_p(snaps, 0700));
    TRY(sys::remove_all(tmp));
    auto s = copy_tree(what, tmp);
    if (s && ::rename(tmp.c_str(), to.c_str()) < 0) s = fail_errno("rename " + tmp);
    if (!s) {
        (void)sys::remove_all(tmp);
        return std::unexpected(std::move(s).error());
    }
    return ok();
}

Result<std::vector<Snapshot>> copy_snapshots(const std::string& dir) {
    std::vector<Snapshot> out;
    for (auto& n : sys::list_dir(dir + "/snapshots"))
        if (!n.starts_with(".tmp-")) out.push_back({n, created_time(dir + "/snapshots/" + n)});
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.created < b.created; });
    return out;
}

Status copy_rollback(const std::string& dir, const std::string& name, const std::string& target) {
    TRY(check_snapshot_name(name));
    std::string from = dir + "/snapshots/" + name, fresh = target + ".new";
    if (!sys::exists(from)) return fail(ErrorKind::NotFound, "no snapshot " + name);
    TRY(sys::remove_all(fresh)); // left by a killed rollback
    TRY(copy_tree(from, fresh));
    if (::renameat2(AT_FDCWD, fresh.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) < 0) {
        Error e("exchange " + fresh + " and " + target, errno);
        (void)sys::remove_all(fresh);
        return std::unexpected(std::move(e));
    }
    return sys::remove_all(fresh);
}

int64_t created_time(const std::string& path) {
    struct statx st {};
    if (::statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW, STATX_BTIME | STATX_MTIME, &st) < 0) return 0;
    if (st.stx_mask & STATX_BTIME) return st.stx_btime.tv_sec;
    return st.stx_mtime.tv_sec;
}

Status check_name(const std::string& what, const std::string& name) {
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
        name.find('\0') != std::string::npos)
        return fail("invalid " + what + " \"" + name + "\"");
    return ok();
}

std::unexpected<Error> not_unpacked(const Layer& l) {
    return fail(ErrorKind::Unsupported, "layer " + l.chain_id + " is not unpacked yet, and cannot be here");
}

std::unexpected<Error> cleanup_after(Error e, const std::string& dir) {
    if (auto r = sys::remove_all(dir); !r)
        e.context("cleanup of " + dir + " failed (" + r.error().message() + ")");
    return std::unexpected(std::move(e));
}

Result<std::unique_ptr<Driver>> open_driver(std::string_view name, const std::string& root) {
    if (root.empty() || root[0] != '/')
        return fail(ErrorKind::Invalid, "storage root must be an absolute path: \"" + root + "\"");
    const Entry* entry = nullptr;
    for (const auto& e : kDrivers)
        if (e.name == name) entry = &e;
    if (!entry) {
        std::string have;
        for (auto& n : driver_names())
            have += (have.empty() ? "" : ", ") + n;
        return fail(ErrorKind::Invalid,
                    "unknown storage driver \"" + std::string(name) + "\" (have: " + have + ")");
    }
    TRY_CTX(sys::mkdir_p(root, 0700), "storage root " + root);
    auto d = TRY_CTX(entry->open(root), "storage driver " + std::string(name));
    TRY_CTX(sys::mkdir_p(root + "/containers", 0700), "storage root " + root);
    return d;
}

std::vector<std::string> driver_names() {
    std::vector<std::string> out;
    for (const auto& e : kDrivers)
        out.emplace_back(e.name);
    return out;
}

Result<uint64_t> parse_size(std::string_view s) {
    size_t digits = 0;
    while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9')
        ++digits;
    std::string unit(s.substr(digits));
    for (auto& c : unit)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (unit.ends_with("ib")) unit.resize(unit.size() - 2);
    if (unit.size() == 2 && unit.back() == 'b') unit.resize(1);
    size_t k = unit.empty() || unit == "b" ? 0 : std::string_view("kmgt").find(unit[0]) + 1;
    if (digits == 0 || unit.size() > 1 || k == std::string_view::npos + 1)
        return fail(ErrorKind::Invalid, "invalid size \"" + std::string(s) + "\" (want N, Nk, Nm, Ng or Nt)");
    auto n = parse_number<uint64_t>(s.substr(0, digits));
    if (!n || *n == 0 || *n > (UINT64_MAX >> (10 * k)))
        return fail(ErrorKind::Invalid, "invalid size \"" + std::string(s) + "\"");
    return *n << (10 * k);
}

std::string detect_driver(const std::string& root) {
    if (auto m = mount_of(root)) {
        if (m->fstype == "btrfs") return "btrfs";
        // zfs only when the root is a dataset's own mountpoint (the driver needs its dataset).
        if ((m->fstype == "zfs" || m->fstype == "fuse.zfs") && m->mountpoint == sys::absolute_path(root))
            return "zfs";
    }
    return default_driver();
}

std::string default_driver() {
    auto fs = sys::read_file("/proc/filesystems");
    return fs && fs->find("\toverlay\n") != std::string::npos ? "overlay" : "dir";
}

} // namespace lxcri::storage

namespace lxcri::storage {

Result<std::vector<std::string>> Driver::layer_names() {
    auto names = sys::list_dir(root() + "/layers");
    std::erase_if(names, [](const std::string& n) { return n.ends_with(".lock"); });
    return names;
}

Status Driver::remove_layer(const std::string& name) {
    TRY(check_name("layer", name));
    return sys::remove_all(root() + "/layers/" + name);
}

} // namespace lxcri::storage
