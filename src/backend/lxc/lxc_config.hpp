// Pure mapping Plan -> liblxc configuration keys. Golden-tested (tests/golden/*.json -> *.lxc).
#pragma once
#include "cgroup/cgroup.hpp"
#include "plan/plan.hpp"

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace lxcri::lxc {

// Host facts the mapping needs, passed in so it stays pure.
struct HostEnv {
    std::string helper_dir; // host dir bind-mounted at kHelperMount in the container (init, init.json, fifo)
    cgroup::Mode cgroup_mode = cgroup::Mode::Hybrid;
    std::set<std::string> v2_controllers; // Hybrid: controllers that exist only in cgroup2 (hugetlb here)
    // Directories under /sys/fs/cgroup that are cgroup hierarchies ("memory", "cpu,cpuacct", "systemd",
    // "unified"; empty on a pure v2 host). A cgroup mount without a cgroup namespace bind-mounts the
    // container's own directory of each one, as runc does. Unset (golden tests of old): liblxc's
    // lxc.mount.auto instead.
    std::optional<std::vector<std::string>> cgroup_hierarchies;
    bool apparmor_enabled = false;
    bool selinux_enabled = false;
    // Parent of the default cgroup dirs ("proxmox-lxcri/<id>", the monitor's "proxmox-lxcri.monitor/<id>").
    // A state root other than the default gets its own parent, so the same id under two roots never shares a
    // cgroup (see default_cgroup_parent).
    std::string cgroup_parent = "proxmox-lxcri";
    // linux.cgroupsPath names a cgroup that exists already: liblxc must create the container's directory
    // itself, so the container gets a new child of it (kExistingCgroupLeaf-<id>), inside its limits.
    bool cgroups_path_exists = false;
    std::string log_file;            // lxc.log.file
    std::string log_level = "ERROR"; // lxc.log.level
};

inline constexpr const char* kHelperMount =
    "/dev/.lxcri";                               // inside the container; removed by init before exec
inline constexpr const char* kInitName = "init"; // kHelperMount/init is lxc.init.cmd

struct Key {
    std::string key, value;
};

struct Config {
    std::vector<Key> keys;
    std::vector<plan::Gap> gaps; // anything the liblxc mapping could not express
};

Result<Config> lxc_config(const plan::Plan& plan, const HostEnv& env);
// The relative cgroup dir the container gets (what lxc.cgroup.dir.container says).
Result<std::string> container_cgroup_dir(const plan::Plan& plan, const HostEnv& env);
// linux.cgroupsPath as a relative dir (empty: none given).
Result<std::string> requested_cgroup_dir(const plan::Plan& plan);
// "proxmox-lxcri" for the default state root, "proxmox-lxcri-<hash of root>" for any other.
std::string default_cgroup_parent(const std::string& root);
inline constexpr const char* kDefaultRoot = "/run/proxmox-lxcri";
inline constexpr const char* kExistingCgroupLeaf = "lxcri";
std::string to_text(const Config& cfg); // "key = value" per line

} // namespace lxcri::lxc
