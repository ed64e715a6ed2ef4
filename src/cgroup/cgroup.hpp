// The cgroup layer: v1, hybrid and unified (v2) hierarchies, one mapping of OCI linux.resources shared by the
// liblxc config (lxc.cgroup.* / lxc.cgroup2.* keys) and live updates, plus freezer, stats, pids and cleanup.
#pragma once
#include "base/result.hpp"
#include "spec/spec.hpp"

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace lxcri::cgroup {

enum class Mode { Legacy, Hybrid, Unified }; // v1 only, v1 + cgroup2 at <root>/unified, pure v2
std::string_view mode_name(Mode m);
// Looks at <root> (statfs magic of <root> and <root>/unified).
Mode detect(const std::string& root = "/sys/fs/cgroup");

// The text of /proc/<pid>/cgroup -> controller -> directory under root ("" : the cgroup2 directory).
Result<std::map<std::string, std::string>> parse_proc_cgroup(std::string_view text, Mode mode,
                                                             const std::string& root = "/sys/fs/cgroup");

// One file write: controller ("memory", "cpu", ...; "" for cgroup2 core files) and file ("memory.max").
struct Setting {
    std::string controller;
    std::string file;
    std::string value;
    bool unified = false; // true: goes to the cgroup2 hierarchy (lxc.cgroup2.*), false: v1 (lxc.cgroup.*)
};

struct Mapping {
    std::vector<Setting> settings;
    std::vector<spec::Gap> gaps; // fields the hierarchy cannot honour, worded like runc's warnings
};

// Pure: OCI resources -> file writes for this hierarchy, as runc maps them (cpu.shares -> cpu.weight etc.).
// linux.resources.unified on a v1-only host is an error. On a Hybrid host, controllers named in
// v2_controllers (hugetlb, rdma) live in the cgroup2 hierarchy and are mapped with the v2 rules there.
Result<Mapping> map_resources(const spec::Resources& res, Mode mode,
                              const std::set<std::string>& v2_controllers = {});
// What a live update (runc update) cannot do on this hierarchy, as an error where create only reports a gap:
// realtime values (cpu.rt_period_us, cpu.rt_runtime_us) exist in cgroup v1 only. 0 means "leave as is".
Status check_update(const spec::Resources& res, Mode mode);
// Directories under root that are cgroup mounts (v1 controllers, named ones, "unified"); empty on pure v2.
std::vector<std::string> hierarchy_dirs(const std::string& root = "/sys/fs/cgroup");
// v1 cpuset: a parent cgroup with empty cpuset.cpus/mems makes every child unusable (ENOSPC). Like runc, fill
// each parent of rel_path (under <root>/cpuset) from its own parent; the leaf is left to its creator.
Status prepare_cpuset_parents(const std::string& rel_path, const std::string& root = "/sys/fs/cgroup");
// Hybrid hosts: controllers enabled in <root>/unified that have no v1 hierarchy (empty otherwise).
std::set<std::string> hybrid_v2_controllers(const std::string& root = "/sys/fs/cgroup");

// The first cgroup migration (a write to cgroup.procs, in any hierarchy) after a quiet moment waits for an
// RCU grace period (the kernel's cgroup_threadgroup_rwsem enters its writer mode: ~10 ms here); migrations
// that follow within about one more grace period do not wait. Started early, in a thread, this wait overlaps
// the work before liblxc moves its monitor and the container into their cgroups, instead of delaying them.
// The thread moves this process into the cgroup it is already in (one hierarchy, only once /proc/self/cgroup
// and that cgroup.procs agree that it is there): nothing changes; any failure is ignored.
std::jthread prime_migration(const std::string& root = "/sys/fs/cgroup");

// Kernels without CFQ (no blkio.weight) have blkio.bfq.weight{,_device} instead: the v1 file a blkio weight
// setting goes to (runc's detectWeightFilenames). Every other file is returned as it is.
std::string blkio_weight_file(const std::string& file, bool cfq);

// exec --cgroup: the directories a process joins when it goes to the sub-cgroups `sub` (controller -> path
// relative to the container's cgroup; key "": the same path in every hierarchy) of a container whose cgroups
// are `paths` (controller -> directory, "" the cgroup2 one). A controller the container has no cgroup for,
// or a path that leaves the container's cgroup ("../x"), is an error. Pure: nothing is checked on the host.
Result<std::map<std::string, std::string>> sub_cgroup_paths(const std::map<std::string, std::string>& paths,
                                                            const std::map<std::string, std::string>& sub);

struct Stats {
    // cpu (nanoseconds)
    uint64_t cpu_total = 0, cpu_user = 0, cpu_kernel = 0;
    std::vector<uint64_t> cpu_percpu;
    uint64_t throttle_periods = 0, throttled_periods = 0, throttled_time = 0;
    // memory (bytes)
    uint64_t mem_usage = 0, mem_max_usage = 0, mem_limit = 0, mem_failcnt = 0;
    uint64_t swap_usage = 0, swap_limit = 0;
    uint64_t oom_kill = 0;                   // memory.events oom_kill (v2) / memory.oom_control oom_kill (v1)
    std::map<std::string, uint64_t> mem_raw; // memory.stat
    // pids
    uint64_t pids_current = 0, pids_limit = 0; // 0 limit: max
    // blkio / io: io_service_bytes_recursive entries
    struct IoEntry {
        uint64_t major = 0, minor = 0;
        std::string op;
        uint64_t value = 0;
    };
    std::vector<IoEntry> io_service_bytes, io_serviced;
    // hugetlb: page size -> usage
    std::map<std::string, uint64_t> hugetlb_usage;
};

// runc's `events --stats` "data" object for these stats.
std::string stats_to_json(const Stats& s);

// The cgroups of one container: controller -> absolute directory ("" key: the cgroup2 directory).
class Cgroup {
  public:
    Cgroup() = default;
    explicit Cgroup(std::map<std::string, std::string> paths, Mode mode)
        : paths_(std::move(paths)), mode_(mode) {}
    // From /proc/<pid>/cgroup, resolved under root.
    static Result<Cgroup> of_pid(pid_t pid, const std::string& root = "/sys/fs/cgroup");
    // Where a container with this cgroupsPath lives (not created here).
    static Cgroup for_path(const std::string& cgroups_path, Mode mode,
                           const std::string& root = "/sys/fs/cgroup");

    const std::map<std::string, std::string>& paths() const { return paths_; }
    Mode mode() const { return mode_; }

    Status apply(const Mapping& m) const; // write each setting (update)
    Status freeze() const;                // freezer.state=FROZEN / cgroup.freeze=1, waits until frozen
    Status thaw() const;
    Result<bool> frozen() const;
    Result<std::vector<pid_t>> pids() const; // all processes (recursive)
    Result<Stats> stats() const;
    Status kill_all(int sig) const;
    // rmdir the container's directories (children first); missing is fine, a busy one is an error.
    Status destroy() const;

  private:
    std::map<std::string, std::string> paths_;
    Mode mode_ = Mode::Legacy;
};

} // namespace lxcri::cgroup
