#include "backend/lxc/mount_targets.hpp"

#include "sys/fd.hpp"
#include "sys/in_root.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <optional>

namespace lxcri::lxc {

namespace {

// "mounts[2] (/etc/hosts)"; the runtime's own entries by their target.
std::string describe(const MountEntry& m) {
    if (m.origin.empty()) return "mount entry /" + m.target;
    return m.origin + " (" + (m.destination.empty() ? "/" + m.target : m.destination) + ")";
}

bool has_create(const MountEntry& m) {
    return std::any_of(m.options.begin(), m.options.end(),
                       [](const std::string& o) { return o == "create=dir" || o == "create=file"; });
}

// What a missing target is made as: a bind mount's as its source is (runc stats it), else the entry's
// create=.
sys::Kind kind_of(const MountEntry& m) {
    if (m.is_bind()) {
        struct stat st {};
        if (::stat(m.source.c_str(), &st) == 0) return S_ISDIR(st.st_mode) ? sys::Kind::Dir : sys::Kind::File;
    }
    bool file = std::find(m.options.begin(), m.options.end(), "create=file") != m.options.end();
    return file ? sys::Kind::File : sys::Kind::Dir;
}

void set_create(MountEntry& m, std::optional<sys::Kind> kind) {
    auto& o = m.options;
    auto at = std::find_if(o.begin(), o.end(), [](const std::string& s) { return s.starts_with("create="); });
    size_t pos = static_cast<size_t>(at - o.begin());
    o.erase(std::remove_if(o.begin(), o.end(), [](const std::string& s) { return s.starts_with("create="); }),
            o.end());
    if (kind)
        o.insert(o.begin() + static_cast<long>(std::min(pos, o.size())),
                 *kind == sys::Kind::File ? "create=file" : "create=dir");
}

constexpr int kAttempts = 8;

// An entry already placed: its target as the mapping wrote it, and where it is mounted in the rootfs.
struct Placed {
    std::string lexical, effective;
};

} // namespace

Status resolve_mount_targets(Config& cfg, const std::string& rootfs) {
    sys::Fd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root.valid()) return fail_errno("open the rootfs " + rootfs);
    std::vector<Placed> placed;
    // liblxc's autodev mounts its tmpfs on /dev before every entry.
    for (const auto& k : cfg.keys)
        if (k.key == "lxc.autodev" && k.value == "1") placed.push_back({"dev", "dev"});
    for (auto& m : cfg.mounts) {
        const std::string what = describe(m);
        const std::string lexical = m.target;
        if (lexical.empty()) return fail(what + ": mounting over / is not supported");
        // Below an earlier entry's target: on the filesystem that entry mounts (the deepest one wins).
        const Placed* on = nullptr;
        for (const auto& p : placed)
            if (sys::path_under(lexical, p.lexical) && (!on || p.lexical.size() > on->lexical.size()))
                on = &p;
        if (on) {
            m.target = on->effective + lexical.substr(on->lexical.size());
            if (has_create(m)) set_create(m, kind_of(m));
            placed.push_back({lexical, m.target});
            continue;
        }
        std::vector<std::string> mounted;
        for (const auto& p : placed)
            mounted.push_back(p.effective);
        // The spec's own text: its ".." components are applied where the walk has got to, as runc does.
        const std::string dest = m.destination.empty() ? "/" + lexical : m.destination;
        const sys::Kind kind = kind_of(m);
        // runc gives a tmpfs the mode of the directory it is mounted on, when that existed (a chmod after the
        // mount, which wins over a "mode=" option).
        std::optional<mode_t> tmpfs_mode;
        if (m.type == "tmpfs" && !m.origin.empty()) {
            auto existing = sys::resolve_in_root(root.get(), dest, mounted);
            struct stat st {};
            if (existing && existing->rest.empty() && ::fstat(existing->fd.get(), &st) == 0 &&
                S_ISDIR(st.st_mode))
                tmpfs_mode = st.st_mode & 07777;
        }
        // A rename racing the walk (EAGAIN: the path found no longer leads to what was reached) is retried.
        Result<sys::InRoot> walk;
        Result<std::string> found;
        for (int attempt = 0; attempt < kAttempts; ++attempt) {
            walk = sys::walk_in_root(root.get(), dest, {.create = true, .last = kind, .stop_under = mounted});
            if (!walk) {
                if (walk.error().code() == EAGAIN) continue;
                break;
            }
            found = sys::path_in_root(root.get(), walk->fd.get());
            if (found || found.error().code() != EAGAIN) break;
        }
        if (!walk)
            return std::unexpected(std::move(walk).error().context(what + ": in the rootfs " + rootfs));
        if (!found) return std::unexpected(std::move(found).error().context(what));
        const std::string& at = *found;
        bool on_mount = std::any_of(placed.begin(), placed.end(),
                                    [&](const Placed& p) { return sys::path_under(at, p.effective); });
        if (on_mount) {
            // Through a symlink onto what an earlier entry mounts: liblxc creates the rest there.
            std::string target = at;
            for (const auto& c : walk->rest) {
                if (c == "..")
                    return fail(what + ": leads onto the mount at /" + at +
                                " and then out of it with \"..\": not supported");
                target += "/" + c;
            }
            m.target = target;
            set_create(m, kind);
        } else {
            if (!walk->rest.empty()) return fail(what + ": not resolved in the rootfs", EAGAIN);
            if (at.empty())
                return fail(what + ": resolves to the rootfs itself; mounting over / is not supported");
            m.target = at;
            set_create(m, std::nullopt); // made here: liblxc has nothing to create, and nothing to follow
            if (tmpfs_mode) {
                char mode[16];
                std::snprintf(mode, sizeof mode, "mode=%04o", static_cast<unsigned>(*tmpfs_mode));
                m.options.push_back(mode);
            }
        }
        placed.push_back({lexical, m.target});
    }
    return sync_mount_keys(cfg);
}

} // namespace lxcri::lxc
