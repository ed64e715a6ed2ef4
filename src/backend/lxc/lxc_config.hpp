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
    // The v1 blkio hierarchy has only blkio.bfq.weight{,_device} (kernels without CFQ): runc writes those.
    bool blkio_bfq_only = false;
    bool apparmor_enabled = false;
    bool selinux_enabled = false;
    // Appended to the id in the default cgroup dirs ("proxmox-lxcri/<id><suffix>", the monitor's
    // "proxmox-lxcri.monitor/<id><suffix>"): empty for the default state root, "-<hash of the root>" for any
    // other, so the same id under two roots never shares a cgroup (see default_cgroup_suffix).
    std::string cgroup_suffix;
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

// One lxc.mount.entry, before it is written as text ("SOURCE TARGET TYPE OPTIONS 0 0").
struct MountEntry {
    std::string source;
    std::string target; // relative to the rootfs, lexically normal ("etc/hosts")
    std::string type;
    std::vector<std::string> options; // liblxc's, with create=dir / create=file
    std::string origin;               // "mounts[3]", "linux.devices[0]"; "" for the runtime's own entries
    std::string destination;          // the spec's destination as written ("/etc/../etc/hosts"); "" likewise
    bool is_bind() const;
};
// The entry as liblxc reads it (fstab fields, escaped as getmntent_r() decodes them).
std::string mount_entry_text(const MountEntry& m);

struct Config {
    std::vector<Key> keys;
    std::vector<MountEntry> mounts; // the lxc.mount.entry keys, in their order (keys holds their text)
    std::vector<plan::Gap> gaps;    // anything the liblxc mapping could not express
};
// Appends an entry: to mounts and, as text, to keys.
void add_mount(Config& cfg, MountEntry m);
// Rewrites the text of every lxc.mount.entry key from cfg.mounts (after they were changed).
Status sync_mount_keys(Config& cfg);

Result<Config> lxc_config(const plan::Plan& plan, const HostEnv& env);
// The relative cgroup dir the container gets (what lxc.cgroup.dir.container says).
Result<std::string> container_cgroup_dir(const plan::Plan& plan, const HostEnv& env);
// linux.cgroupsPath as a relative dir (empty: none given).
Result<std::string> requested_cgroup_dir(const plan::Plan& plan);
// "" for the default state root, "-<8 hex digits of a hash of the root>" for any other.
std::string default_cgroup_suffix(const std::string& root);
inline constexpr const char* kDefaultRoot = "/run/proxmox-lxcri";
inline constexpr const char* kExistingCgroupLeaf = "lxcri";
std::string to_text(const Config& cfg); // "key = value" per line

} // namespace lxcri::lxc
