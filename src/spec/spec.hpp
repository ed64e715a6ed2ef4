// Typed OCI runtime-spec (config.json) as parsed and validated by spec::parse().
// Fields that are absent stay std::nullopt / empty so the plan can tell "unset" from "zero".
#pragma once
#include "base/result.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lxcri::spec {

// A spec field this runtime does not honour. Reported by create (a warning), an error with --strict.
struct Gap {
    std::string field;  // JSON path, e.g. "linux.resources.memory.kernel"
    std::string reason; // e.g. "kernel memory accounting is not available on cgroup v2"
};

struct User {
    uint32_t uid = 0;
    uint32_t gid = 0;
    std::optional<uint32_t> umask;
    std::vector<uint32_t> additional_gids;
    std::string username; // Windows only; reported as a gap if set
};

struct Rlimit {
    std::string type; // "RLIMIT_NOFILE"
    uint64_t hard = 0;
    uint64_t soft = 0;
};

struct Capabilities {
    // Each set holds names like "CAP_CHOWN". nullopt: the set was not given.
    std::optional<std::vector<std::string>> bounding, effective, inheritable, permitted, ambient;
};

struct ConsoleSize {
    uint32_t height = 0, width = 0;
};

struct Process {
    bool terminal = false;
    std::optional<ConsoleSize> console_size;
    User user;
    std::vector<std::string> args;
    std::string command_line; // Windows only
    std::vector<std::string> env;
    std::string cwd = "/";
    std::optional<Capabilities> capabilities;
    std::vector<Rlimit> rlimits;
    bool no_new_privileges = false;
    std::string apparmor_profile;
    std::optional<int> oom_score_adj;
    std::string selinux_label;
    std::optional<std::string> io_priority_class; // reported as gap
};

struct Root {
    std::string path;
    bool readonly = false;
};

struct Mount {
    std::string destination;
    std::string type;
    std::string source;
    std::vector<std::string> options;
    // uidMappings/gidMappings on mounts (idmapped mounts) are reported as gaps.
    bool has_idmap = false;

    // A bind mount: type "bind"/"rbind" or a "bind"/"rbind" option (runc's rule).
    bool is_bind() const {
        for (const auto& o : options)
            if (o == "bind" || o == "rbind") return true;
        return type == "bind" || type == "rbind";
    }
};

struct Hook {
    std::string path;
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::optional<int> timeout; // seconds
};

struct Hooks {
    std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart, poststop;
};

struct Namespace {
    std::string type; // pid network mount ipc uts user cgroup time
    std::string path; // empty: create a new one
};

struct IdMapping {
    uint32_t container_id = 0, host_id = 0, size = 0;
};

struct DeviceNode {
    std::string path;
    std::string type; // c b u p
    int64_t major = 0, minor = 0;
    std::optional<uint32_t> file_mode;
    std::optional<uint32_t> uid, gid;
};

struct DeviceRule {
    bool allow = false;
    std::string type = "a"; // a c b
    std::optional<int64_t> major, minor;
    std::string access = "rwm";
};

struct Memory {
    std::optional<int64_t> limit, reservation, swap, kernel, kernel_tcp;
    std::optional<uint64_t> swappiness;
    std::optional<bool> disable_oom_killer, use_hierarchy, check_before_update;
};

struct Cpu {
    std::optional<uint64_t> shares;
    std::optional<int64_t> quota;
    std::optional<uint64_t> period;
    std::optional<int64_t> realtime_runtime;
    std::optional<uint64_t> realtime_period;
    std::string cpus, mems;
    std::optional<int64_t> idle;
};

struct WeightDevice {
    int64_t major = 0, minor = 0;
    std::optional<uint16_t> weight, leaf_weight;
};
struct ThrottleDevice {
    int64_t major = 0, minor = 0;
    uint64_t rate = 0;
};
struct BlockIO {
    std::optional<uint16_t> weight, leaf_weight;
    std::vector<WeightDevice> weight_device;
    std::vector<ThrottleDevice> throttle_read_bps, throttle_write_bps, throttle_read_iops,
        throttle_write_iops;
};

struct HugepageLimit {
    std::string page_size; // "2MB"
    uint64_t limit = 0;
};

struct Rdma {
    std::optional<uint32_t> hca_handles, hca_objects;
};

struct Resources {
    std::vector<DeviceRule> devices;
    std::optional<Memory> memory;
    std::optional<Cpu> cpu;
    std::optional<int64_t> pids_limit;
    std::optional<BlockIO> block_io;
    std::vector<HugepageLimit> hugepage_limits;
    std::map<std::string, Rdma> rdma;
    std::optional<uint32_t> network_class_id;
    std::vector<std::pair<std::string, uint32_t>> network_priorities;
    std::map<std::string, std::string> unified;
};

struct SeccompArg {
    uint32_t index = 0;
    uint64_t value = 0, value_two = 0;
    std::string op; // SCMP_CMP_EQ ...
};
struct SeccompSyscall {
    std::vector<std::string> names;
    std::string action; // SCMP_ACT_*
    std::optional<uint32_t> errno_ret;
    std::vector<SeccompArg> args;
};
struct Seccomp {
    std::string default_action;
    std::optional<uint32_t> default_errno_ret;
    std::vector<std::string> architectures; // SCMP_ARCH_*
    std::vector<std::string> flags;         // SECCOMP_FILTER_FLAG_*
    std::string listener_path, listener_metadata;
    std::vector<SeccompSyscall> syscalls;
};

struct Linux {
    std::vector<Namespace> namespaces;
    std::vector<IdMapping> uid_mappings, gid_mappings;
    std::vector<DeviceNode> devices;
    std::optional<Resources> resources;
    std::string cgroups_path;
    std::map<std::string, std::string> sysctl;
    std::optional<Seccomp> seccomp;
    std::string rootfs_propagation;
    std::vector<std::string> masked_paths, readonly_paths;
    std::string mount_label;
    std::optional<std::string> personality_domain; // LINUX / LINUX32
    bool has_intel_rdt = false, has_time_offsets = false;
};

struct Spec {
    std::string oci_version;
    Root root;
    std::optional<Process> process;
    std::string hostname, domainname;
    std::vector<Mount> mounts;
    Hooks hooks;
    std::map<std::string, std::string> annotations;
    std::optional<Linux> linux_;
    // Top-level keys we do not know (solaris, windows, vm, ...), reported by the plan.
    std::vector<std::string> unknown_keys;
};

// Parse and validate config.json text. Errors name the JSON path ("process.user.uid: expected unsigned").
Result<Spec> parse(std::string_view json_text);
Result<Spec> load(const std::string& bundle_dir); // reads <bundle>/config.json
// The same, with the bytes it parsed (create keeps them: later verbs use the config as it was at create).
struct Loaded {
    Spec spec;
    std::string text;
};
Result<Loaded> load_text(const std::string& bundle_dir);
// Parse a standalone process object (exec --process P.json).
Result<Process> parse_process(std::string_view json_text);
// Parse linux.resources alone (update --resources R.json).
Result<Resources> parse_resources(std::string_view json_text);

} // namespace lxcri::spec
