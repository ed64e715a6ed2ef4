#include "image/config.hpp"

#include "sys/fd.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <charconv>
#include <optional>
#include <sstream>

namespace lxcri::image {

std::vector<Digest> chain_ids(const std::vector<Digest>& diff_ids) {
    std::vector<Digest> out;
    for (auto& d : diff_ids)
        out.push_back(out.empty() ? d : sha256_of(out.back().str() + " " + d.str()));
    return out;
}

namespace {

// A file of the rootfs, read without letting symlinks leave it; missing is an empty file.
Result<std::string> read_in_root(const std::string& rootfs, const char* rel) {
    sys::Fd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root.valid()) return fail_errno("open " + rootfs);
    open_how how{};
    how.flags = O_RDONLY | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    sys::Fd fd(static_cast<int>(::syscall(SYS_openat2, root.get(), rel, &how, sizeof how)));
    if (!fd.valid()) {
        if (errno == ENOENT) return std::string();
        return fail_errno(std::string("open ") + rel + " in " + rootfs);
    }
    std::string text;
    char buf[8192];
    for (ssize_t n; (n = ::read(fd.get(), buf, sizeof buf)) != 0;) {
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_errno(std::string("read ") + rel);
        }
        text.append(buf, static_cast<size_t>(n));
        if (text.size() > (16u << 20)) return fail(std::string(rel) + " is too large");
    }
    return text;
}

std::optional<uint32_t> number(std::string_view s) {
    uint32_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

// Colon-separated records of passwd/group files.
std::vector<std::vector<std::string>> records(const std::string& text) {
    std::vector<std::vector<std::string>> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#') continue;
        std::vector<std::string> f;
        std::istringstream ls(line);
        for (std::string field; std::getline(ls, field, ':');)
            f.push_back(field);
        if (!line.empty() && line.back() == ':') f.emplace_back();
        out.push_back(std::move(f));
    }
    return out;
}

} // namespace

Result<ResolvedUser> resolve_user(std::string_view user, const std::string& rootfs) {
    std::string what = "resolve user \"" + std::string(user) + "\"";
    ResolvedUser r;
    std::string_view u = user, g;
    if (auto colon = user.find(':'); colon != std::string_view::npos) {
        u = user.substr(0, colon);
        g = user.substr(colon + 1);
    }
    if (u.empty()) u = "0";
    auto passwd = records(TRY_CTX(read_in_root(rootfs, "etc/passwd"), what));
    std::string name;
    bool found = false;
    for (auto& f : passwd) {
        if (f.size() < 7) continue;
        auto uid = number(f[2]), gid = number(f[3]);
        if (!uid || !gid) continue;
        if (f[0] == u || (number(u) && *number(u) == *uid)) {
            r.uid = *uid;
            r.gid = *gid;
            r.home = f[5];
            name = f[0];
            found = true;
            break;
        }
    }
    if (!found) {
        auto n = number(u);
        if (!n) return fail(what + ": no user \"" + std::string(u) + "\" in the image's /etc/passwd");
        r.uid = *n;
    }
    auto groups = records(TRY_CTX(read_in_root(rootfs, "etc/group"), what));
    if (!g.empty()) {
        if (auto n = number(g)) {
            r.gid = *n;
        } else {
            bool gfound = false;
            for (auto& f : groups) {
                if (f.size() >= 3 && f[0] == g && number(f[2])) {
                    r.gid = *number(f[2]);
                    gfound = true;
                    break;
                }
            }
            if (!gfound)
                return fail(what + ": no group \"" + std::string(g) + "\" in the image's /etc/group");
        }
    }
    if (name.empty()) return r;
    for (auto& f : groups) {
        if (f.size() < 4 || !number(f[2])) continue;
        std::istringstream members(f[3]);
        for (std::string m; std::getline(members, m, ',');) {
            if (m == name && *number(f[2]) != r.gid) r.additional_gids.push_back(*number(f[2]));
        }
    }
    return r;
}

} // namespace lxcri::image
