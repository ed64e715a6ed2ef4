#include "backend/lxc/outside_binds.hpp"

#include "sys/fd.hpp"
#include "sys/in_root.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace lxcri::lxc {

namespace {

bool has(const std::vector<std::string>& v, std::string_view s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

int wait_child(pid_t pid) {
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 255;
}

// Whether UID:GID (no supplementary groups) can open PATH: a child drops to them and tries.
Result<bool> reachable_as(const std::string& path, uid_t uid, gid_t gid) {
    const char* p = path.c_str();
    pid_t pid = ::fork();
    if (pid < 0) return fail_errno("fork");
    if (pid == 0) {
        if (::setgroups(0, nullptr) < 0 || ::setresgid(gid, gid, gid) < 0 || ::setresuid(uid, uid, uid) < 0)
            ::_exit(2);
        ::_exit(::open(p, O_PATH | O_CLOEXEC) >= 0 ? 0 : 1);
    }
    int rc = wait_child(pid);
    if (rc == 2 || rc < 0 || rc > 2) return fail("check access to " + path + " as " + std::to_string(uid));
    return rc == 0;
}

enum class Step : int { OpenTree = 1, SetAttr, SetAttrRec, Setns, OpenTarget, MoveMount };

const char* step_name(Step s) {
    switch (s) {
    case Step::OpenTree:
        return "open_tree of the source";
    case Step::SetAttr:
    case Step::SetAttrRec:
        return "mount_setattr";
    case Step::Setns:
        return "enter the container's mount namespace";
    case Step::OpenTarget:
        return "open the target in the rootfs";
    case Step::MoveMount:
        return "move_mount onto the target";
    }
    return "?";
}

struct Report {
    int index;
    Step step;
    int err;
};

} // namespace

Result<std::vector<OutsideBind>> take_unreachable_binds(Config& cfg, uid_t uid, gid_t gid) {
    std::vector<OutsideBind> out;
    std::vector<bool> take(cfg.mounts.size(), false);
    for (size_t i = 0; i < cfg.mounts.size(); ++i) {
        const MountEntry& m = cfg.mounts[i];
        // The spec's binds only (the runtime's own entries are its helper, readable by design).
        if (m.origin.empty() || !m.origin.starts_with("mounts[") || !m.is_bind()) continue;
        // A source the runtime cannot open either (a cgroup directory liblxc makes later) stays liblxc's.
        if (sys::Fd host(::open(m.source.c_str(), O_PATH | O_CLOEXEC)); !host.valid()) continue;
        if (TRY(reachable_as(m.source, uid, gid))) continue;
        OutsideBind b;
        b.source = m.source;
        b.target = m.target;
        b.recursive = has(m.options, "rbind");
        if (has(m.options, "ro")) b.attr_set |= MOUNT_ATTR_RDONLY;
        if (has(m.options, "nosuid")) b.attr_set |= MOUNT_ATTR_NOSUID;
        if (has(m.options, "nodev")) b.attr_set |= MOUNT_ATTR_NODEV;
        if (has(m.options, "noexec")) b.attr_set |= MOUNT_ATTR_NOEXEC;
        b.what = m.origin + " (" + (m.destination.empty() ? "/" + m.target : m.destination) + ")";
        out.push_back(std::move(b));
        take[i] = true;
    }
    if (out.empty()) return out;
    std::vector<MountEntry> kept;
    std::vector<Key> keys;
    size_t j = 0;
    for (auto& k : cfg.keys) {
        if (k.key == "lxc.mount.entry") {
            if (j >= cfg.mounts.size()) return fail("more lxc.mount.entry keys than mount entries");
            bool drop = take[j];
            if (!drop) kept.push_back(std::move(cfg.mounts[j]));
            ++j;
            if (drop) continue;
        }
        keys.push_back(std::move(k));
    }
    cfg.keys = std::move(keys);
    cfg.mounts = std::move(kept);
    TRY(sync_mount_keys(cfg));
    return out;
}

Status mount_outside_binds(const std::vector<OutsideBind>& binds, pid_t init_pid) {
    if (binds.empty()) return ok();
    std::string ns_path = "/proc/" + std::to_string(init_pid) + "/ns/mnt";
    sys::Fd ns(::open(ns_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns.valid()) return fail_errno("open " + ns_path);
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return fail_errno("pipe");
    sys::Fd rd(p[0]), wr(p[1]);
    // The sources are cloned before the child leaves the runtime's mount namespace: with the host's view and
    // credentials.
    pid_t pid = ::fork();
    if (pid < 0) return fail_errno("fork");
    if (pid == 0) {
        rd.reset();
        auto die = [&](int i, Step s) {
            Report r{i, s, errno};
            (void)!::write(wr.get(), &r, sizeof r);
            ::_exit(1);
        };
        std::vector<int> trees;
        for (size_t i = 0; i < binds.size(); ++i) {
            const auto& b = binds[i];
            unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (b.recursive ? AT_RECURSIVE : 0);
            int t = ::open_tree(AT_FDCWD, b.source.c_str(), flags);
            if (t < 0) die(static_cast<int>(i), Step::OpenTree);
            if (b.attr_set) {
                mount_attr a{};
                a.attr_set = b.attr_set;
                if (::mount_setattr(t, "", AT_EMPTY_PATH, &a, sizeof a) < 0)
                    die(static_cast<int>(i), Step::SetAttr);
            }
            trees.push_back(t);
        }
        if (::setns(ns.get(), CLONE_NEWNS) < 0) die(-1, Step::Setns);
        // setns made the namespace's root (the container's rootfs after its pivot_root) our root.
        int root = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0) die(-1, Step::OpenTarget);
        for (size_t i = 0; i < binds.size(); ++i) {
            sys::Fd target = sys::open_in_root(root, binds[i].target, O_PATH, RESOLVE_NO_SYMLINKS);
            if (!target.valid()) die(static_cast<int>(i), Step::OpenTarget);
            if (::move_mount(trees[i], "", target.get(), "",
                             MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                die(static_cast<int>(i), Step::MoveMount);
        }
        ::_exit(0);
    }
    wr.reset();
    Report r{};
    ssize_t n;
    while ((n = ::read(rd.get(), &r, sizeof r)) < 0 && errno == EINTR) {
    }
    int rc = wait_child(pid);
    if (n == static_cast<ssize_t>(sizeof r)) {
        std::string what = r.index >= 0 ? binds[static_cast<size_t>(r.index)].what + ": " : std::string();
        return fail(what + "bind from the host side: " + step_name(r.step), r.err);
    }
    if (rc != 0) return fail("bind from the host side: the child failed");
    return ok();
}

} // namespace lxcri::lxc
