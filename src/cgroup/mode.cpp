#include "cgroup/cgroup.hpp"

#include "sys/fs.hpp"

#include <algorithm>
#include <linux/magic.h>
#include <sstream>
#include <sys/stat.h>
#include <sys/vfs.h>

namespace lxcri::cgroup {

std::string_view mode_name(Mode m) {
    switch (m) {
    case Mode::Legacy:
        return "legacy";
    case Mode::Hybrid:
        return "hybrid";
    case Mode::Unified:
        return "unified";
    }
    return "unknown";
}

static bool fs_magic_is(const std::string& path, long magic) {
    struct statfs st {};
    if (::statfs(path.c_str(), &st) < 0) return false;
    return static_cast<long>(st.f_type) == magic;
}

// Like runc's cgroups.IsCgroup2UnifiedMode / IsCgroup2HybridMode: cgroup2 on the root is unified; a tmpfs
// root with cgroup2 mounted at <root>/unified is hybrid; anything else is v1 only.
Mode detect(const std::string& root) {
    if (fs_magic_is(root, CGROUP2_SUPER_MAGIC)) return Mode::Unified;
    if (fs_magic_is(root, TMPFS_MAGIC) && fs_magic_is(root + "/unified", CGROUP2_SUPER_MAGIC))
        return Mode::Hybrid;
    return Mode::Legacy;
}

} // namespace lxcri::cgroup

namespace lxcri::cgroup {

std::set<std::string> hybrid_v2_controllers(const std::string& root) {
    std::set<std::string> out;
    if (detect(root) != Mode::Hybrid) return out;
    auto text = sys::read_file(root + "/unified/cgroup.controllers");
    if (!text) return out;
    std::istringstream in(*text);
    for (std::string c; in >> c;) {
        if (!sys::exists(root + "/" + c)) out.insert(c);
    }
    return out;
}

} // namespace lxcri::cgroup

namespace lxcri::cgroup {

std::vector<std::string> hierarchy_dirs(const std::string& root) {
    std::vector<std::string> out;
    if (detect(root) == Mode::Unified) return out;
    for (auto& name : sys::list_dir(root)) {
        std::string p = root + "/" + name;
        struct statfs fs {};
        if (::statfs(p.c_str(), &fs) != 0) continue;
        if (fs.f_type == CGROUP_SUPER_MAGIC || fs.f_type == CGROUP2_SUPER_MAGIC) out.push_back(name);
    }
    std::sort(out.begin(), out.end());
    return out;
}

} // namespace lxcri::cgroup

namespace lxcri::cgroup {

Status prepare_cpuset_parents(const std::string& rel_path, const std::string& root) {
    std::string base = root + "/cpuset";
    if (detect(root) == Mode::Unified || !sys::exists(base + "/cpuset.cpus")) return ok();
    std::string dir = base;
    std::string rest = rel_path;
    while (!rest.empty() && rest.front() == '/')
        rest.erase(0, 1);
    // Every parent of the leaf (liblxc creates the leaf and copies its parent's sets into it).
    for (size_t slash; (slash = rest.find('/')) != std::string::npos;) {
        std::string parent = dir;
        dir += "/" + rest.substr(0, slash);
        rest.erase(0, slash + 1);
        if (::mkdir(dir.c_str(), 0755) < 0 && errno != EEXIST) return fail_errno("mkdir " + dir);
        for (const char* f : {"cpuset.cpus", "cpuset.mems"}) {
            auto cur = sys::read_file(dir + "/" + f);
            if (cur && cur->find_first_not_of(" \n") != std::string::npos) continue;
            auto from = TRY(sys::read_file(parent + "/" + f));
            TRY(sys::write_file(dir + "/" + f, from));
        }
    }
    // liblxc initialises only the first level it finds; the leaf's sets come from its parent through
    // cgroup.clone_children (a parent that existed before, a cgroupsPath given to be reused, may not have
    // it).
    if (dir != base) TRY(sys::write_file(dir + "/cgroup.clone_children", "1"));
    return ok();
}

} // namespace lxcri::cgroup
