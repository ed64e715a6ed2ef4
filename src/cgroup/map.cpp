// OCI linux.resources -> cgroup file writes, following runc 1.1's libcontainer/cgroups/fs (v1) and fs2 (v2)
// setters and specconv's conversions. Pure: nothing here looks at the host.
#include "cgroup/cgroup.hpp"

#include <cstdint>
#include <limits>

namespace lxcri::cgroup {
namespace {

constexpr std::string_view kRes = "linux.resources.";

std::string field(std::string_view path) {
    return std::string(kRes) + std::string(path);
}

class Builder {
  public:
    explicit Builder(Mode mode) : mode_(mode) {}
    Mode mode() const { return mode_; }
    void v1(std::string controller, std::string file, std::string value) {
        m_.settings.push_back({std::move(controller), std::move(file), std::move(value), false});
    }
    void v2(std::string controller, std::string file, std::string value) {
        m_.settings.push_back({std::move(controller), std::move(file), std::move(value), true});
    }
    void gap(std::string_view path, std::string reason) {
        m_.gaps.push_back({field(path), std::move(reason)});
    }
    Mapping take() { return std::move(m_); }

  private:
    Mode mode_;
    Mapping m_;
};

std::string num(int64_t v) {
    return std::to_string(v);
}
std::string num(uint64_t v) {
    return std::to_string(v);
}

// fs2's numToStr: 0 is "unset", -1 is "max".
std::string v2_num(int64_t v) {
    if (v == 0) return "";
    if (v == -1) return "max";
    return num(v);
}

// cgroups.ConvertCPUSharesToCgroupV2Value: [2, 262144] -> [1, 10000].
uint64_t shares_to_weight(uint64_t shares) {
    if (shares == 0) return 0;
    return 1 + ((shares - 2) * 9999) / 262142;
}

// cgroups.ConvertBlkIOToIOWeightValue: [10, 1000] -> [1, 10000].
uint64_t blkio_to_io_weight(uint16_t weight) {
    if (weight == 0) return 0;
    return 1 + (static_cast<uint64_t>(weight) - 10) * 9999 / 990;
}

// cgroups.ConvertMemorySwapToCgroupV2Value: OCI swap is memory+swap, memory.swap.max is swap alone.
Result<int64_t> swap_to_v2(int64_t swap, int64_t memory) {
    if (memory == -1 && swap == 0) return -1;
    if (swap == -1 || swap == 0) return swap;
    if (memory == 0 || memory == -1) return fail("unable to set swap limit without memory limit");
    if (memory < 0) return fail("invalid memory value: " + num(memory));
    if (swap < memory) return fail("memory+swap limit should be >= memory limit");
    return swap - memory;
}

bool swappiness_set(const spec::Memory& mem) {
    return mem.swappiness && *mem.swappiness != std::numeric_limits<uint64_t>::max(); // -1: kernel default
}

void memory_common_gaps(const spec::Memory& mem, Builder& b) {
    // runc: "Kernel memory settings are ignored and will be removed" (on v1 too).
    if (mem.kernel) b.gap("memory.kernel", "kernel memory settings are ignored and will be removed");
    if (mem.kernel_tcp) b.gap("memory.kernelTCP", "kernel memory settings are ignored and will be removed");
    if (mem.use_hierarchy && !*mem.use_hierarchy)
        b.gap("memory.useHierarchy", "memory hierarchy is always enabled and cannot be turned off");
}

Status map_memory_v1(const spec::Memory& mem, Builder& b) {
    int64_t limit = mem.limit.value_or(0), swap = mem.swap.value_or(0);
    if (limit > 0 && swap > 0 && swap < limit)
        return fail(field("memory.swap") + ": memory+swap limit should be >= memory limit");
    // setMemoryAndSwap: an unlimited memory with no swap given makes memory+swap unlimited as well (apply()
    // skips that write where swap accounting is off). Raising to unlimited must go swap first.
    if (limit == -1 && swap == 0) swap = -1;
    if (swap == -1) b.v1("memory", "memory.memsw.limit_in_bytes", "-1");
    if (limit != 0) b.v1("memory", "memory.limit_in_bytes", num(limit));
    if (swap != 0 && swap != -1) b.v1("memory", "memory.memsw.limit_in_bytes", num(swap));
    if (mem.reservation && *mem.reservation != 0)
        b.v1("memory", "memory.soft_limit_in_bytes", num(*mem.reservation));
    if (mem.disable_oom_killer.value_or(false)) b.v1("memory", "memory.oom_control", "1");
    if (swappiness_set(mem)) {
        if (*mem.swappiness > 100)
            return fail(field("memory.swappiness") + ": invalid memory swappiness value: " +
                        num(*mem.swappiness) + " (valid range is 0-100)");
        b.v1("memory", "memory.swappiness", num(*mem.swappiness));
    }
    return ok();
}

Status map_memory_v2(const spec::Memory& mem, Builder& b) {
    int64_t limit = mem.limit.value_or(0), swap_in = mem.swap.value_or(0);
    auto swap = swap_to_v2(swap_in, limit);
    if (!swap) return std::unexpected(std::move(swap).error().context(field("memory.swap")));
    std::string swap_str = v2_num(*swap);
    if (swap_str.empty() && *swap == 0 && swap_in > 0) swap_str = "0"; // memory == memory+swap: no swap
    if (!swap_str.empty()) b.v2("memory", "memory.swap.max", swap_str);
    if (auto v = v2_num(limit); !v.empty()) b.v2("memory", "memory.max", v);
    if (auto v = v2_num(mem.reservation.value_or(0)); !v.empty()) b.v2("memory", "memory.low", v);
    if (swappiness_set(mem)) b.gap("memory.swappiness", "memory swappiness is not supported on cgroup v2");
    if (mem.disable_oom_killer.value_or(false))
        b.gap("memory.disableOOMKiller", "disabling the OOM killer is not supported on cgroup v2");
    if (mem.check_before_update.value_or(false))
        b.gap("memory.checkBeforeUpdate", "checking memory usage before an update is not supported");
    return ok();
}

void map_cpuset(const spec::Cpu& cpu, Builder& b, bool unified) {
    auto add = unified ? &Builder::v2 : &Builder::v1;
    if (!cpu.cpus.empty()) (b.*add)("cpuset", "cpuset.cpus", cpu.cpus);
    if (!cpu.mems.empty()) (b.*add)("cpuset", "cpuset.mems", cpu.mems);
}

void map_cpu_v1(const spec::Cpu& cpu, Builder& b) {
    if (cpu.shares && *cpu.shares != 0) b.v1("cpu", "cpu.shares", num(*cpu.shares));
    if (cpu.period && *cpu.period != 0) b.v1("cpu", "cpu.cfs_period_us", num(*cpu.period));
    if (cpu.quota && *cpu.quota != 0) b.v1("cpu", "cpu.cfs_quota_us", num(*cpu.quota));
    if (cpu.idle) b.v1("cpu", "cpu.idle", num(*cpu.idle));
    if (cpu.realtime_period && *cpu.realtime_period != 0)
        b.v1("cpu", "cpu.rt_period_us", num(*cpu.realtime_period));
    if (cpu.realtime_runtime && *cpu.realtime_runtime != 0)
        b.v1("cpu", "cpu.rt_runtime_us", num(*cpu.realtime_runtime));
}

void map_cpu_v2(const spec::Cpu& cpu, Builder& b) {
    if (cpu.idle) b.v2("cpu", "cpu.idle", num(*cpu.idle));
    if (uint64_t w = shares_to_weight(cpu.shares.value_or(0)); w != 0) b.v2("cpu", "cpu.weight", num(w));
    int64_t quota = cpu.quota.value_or(0);
    uint64_t period = cpu.period.value_or(0);
    if (quota != 0 || period != 0) {
        std::string v = quota > 0 ? num(quota) : "max";
        b.v2("cpu", "cpu.max", v + " " + num(period != 0 ? period : uint64_t{100000}));
    }
    if (cpu.realtime_period) b.gap("cpu.realtimePeriod", "realtime scheduling is not supported on cgroup v2");
    if (cpu.realtime_runtime)
        b.gap("cpu.realtimeRuntime", "realtime scheduling is not supported on cgroup v2");
}

void map_pids(const spec::Resources& res, Builder& b, bool unified) {
    int64_t limit = res.pids_limit.value_or(0);
    if (limit == 0) return; // unset (runc 1.1)
    std::string v = limit > 0 ? num(limit) : "max";
    if (unified)
        b.v2("pids", "pids.max", v);
    else
        b.v1("pids", "pids.max", v);
}

std::string dev(int64_t major, int64_t minor) {
    return num(major) + ":" + num(minor);
}

void map_blkio_v1(const spec::BlockIO& io, Builder& b) {
    // apply() switches to blkio.bfq.weight{,_device} where blkio.weight is absent, as runc does.
    if (io.weight && *io.weight != 0) b.v1("blkio", "blkio.weight", num(uint64_t{*io.weight}));
    if (io.leaf_weight && *io.leaf_weight != 0)
        b.v1("blkio", "blkio.leaf_weight", num(uint64_t{*io.leaf_weight}));
    for (const auto& wd : io.weight_device) {
        if (wd.weight && *wd.weight != 0)
            b.v1("blkio", "blkio.weight_device", dev(wd.major, wd.minor) + " " + num(uint64_t{*wd.weight}));
        if (wd.leaf_weight && *wd.leaf_weight != 0)
            b.v1("blkio", "blkio.leaf_weight_device",
                 dev(wd.major, wd.minor) + " " + num(uint64_t{*wd.leaf_weight}));
    }
    auto throttle = [&](const std::vector<spec::ThrottleDevice>& tds, const char* file) {
        for (const auto& td : tds)
            b.v1("blkio", file, dev(td.major, td.minor) + " " + num(td.rate));
    };
    throttle(io.throttle_read_bps, "blkio.throttle.read_bps_device");
    throttle(io.throttle_write_bps, "blkio.throttle.write_bps_device");
    throttle(io.throttle_read_iops, "blkio.throttle.read_iops_device");
    throttle(io.throttle_write_iops, "blkio.throttle.write_iops_device");
}

// runc 1.1 writes the raw weight to io.bfq.weight when BFQ is there and falls back to io.weight with
// ConvertBlkIOToIOWeightValue. Being pure, this takes the fallback, for the default and per-device weights
// alike.
void map_io_v2(const spec::BlockIO& io, Builder& b) {
    if (uint64_t w = blkio_to_io_weight(io.weight.value_or(0)); w != 0) b.v2("io", "io.weight", num(w));
    if (io.leaf_weight) b.gap("blockIO.leafWeight", "blkio leaf weight is not supported on cgroup v2");
    for (size_t i = 0; i < io.weight_device.size(); ++i) {
        const auto& wd = io.weight_device[i];
        if (uint64_t w = blkio_to_io_weight(wd.weight.value_or(0)); w != 0)
            b.v2("io", "io.weight", dev(wd.major, wd.minor) + " " + num(w));
        if (wd.leaf_weight)
            b.gap("blockIO.weightDevice[" + std::to_string(i) + "].leafWeight",
                  "blkio leaf weight is not supported on cgroup v2");
    }
    auto throttle = [&](const std::vector<spec::ThrottleDevice>& tds, const char* key) {
        for (const auto& td : tds)
            b.v2("io", "io.max", dev(td.major, td.minor) + " " + key + "=" + num(td.rate));
    };
    throttle(io.throttle_read_bps, "rbps");
    throttle(io.throttle_write_bps, "wbps");
    throttle(io.throttle_read_iops, "riops");
    throttle(io.throttle_write_iops, "wiops");
}

// On Hybrid hosts hugetlb stays on v1 unless the caller says the controller lives in cgroup2
// (v2_controllers).
void map_hugetlb(const spec::Resources& res, Builder& b, bool unified) {
    for (const auto& h : res.hugepage_limits) {
        if (unified)
            b.v2("hugetlb", "hugetlb." + h.page_size + ".max", num(h.limit));
        else
            b.v1("hugetlb", "hugetlb." + h.page_size + ".limit_in_bytes", num(h.limit));
    }
}

void map_net(const spec::Resources& res, Builder& b, bool unified) {
    if (unified) {
        if (res.network_class_id)
            b.gap("network.classID", "net_cls is not available on cgroup v2: network class ID is ignored");
        if (!res.network_priorities.empty())
            b.gap("network.priorities",
                  "net_prio is not available on cgroup v2: network priorities are ignored");
        return;
    }
    if (res.network_class_id && *res.network_class_id != 0)
        b.v1("net_cls", "net_cls.classid", num(uint64_t{*res.network_class_id}));
    for (const auto& [iface, prio] : res.network_priorities)
        b.v1("net_prio", "net_prio.ifpriomap", iface + " " + num(uint64_t{prio}));
}

void map_rdma(const spec::Resources& res, Builder& b, bool unified) {
    for (const auto& [device, r] : res.rdma) {
        std::string v = device;
        if (r.hca_handles) v += " hca_handle=" + num(uint64_t{*r.hca_handles});
        if (r.hca_objects) v += " hca_object=" + num(uint64_t{*r.hca_objects});
        if (unified)
            b.v2("rdma", "rdma.max", v);
        else
            b.v1("rdma", "rdma.max", v);
    }
}

// linux.resources.unified: written verbatim to the cgroup2 directory, last (so they win), like fs2's
// setUnified.
Status map_unified(const spec::Resources& res, Builder& b) {
    if (res.unified.empty()) return ok();
    // runc treats a hybrid host as v1 here: its controllers are v1 ones, the cgroup2 mount holds none of
    // them.
    if (b.mode() != Mode::Unified)
        return fail(field("unified") + ": invalid configuration: cannot use unified on cgroup v1");
    for (const auto& [key, value] : res.unified) {
        if (key.find('/') != std::string::npos)
            return fail(field("unified") + ": unified resource \"" + key +
                        "\" must be a file name (no slashes)");
        auto dot = key.find('.');
        if (dot == std::string::npos || dot == 0)
            return fail(field("unified") + ": unified resource \"" + key +
                        "\" must be in the form CONTROLLER.PARAMETER");
        std::string controller = key.substr(0, dot);
        b.v2(controller == "cgroup" ? "" : controller, key, value);
    }
    return ok();
}

Status map_v1(const spec::Resources& res, Builder& b, const std::set<std::string>& v2_controllers) {
    // runc's v1 subsystem order: cpuset, memory, cpu, pids, blkio, hugetlb, net_cls, net_prio, rdma.
    if (res.cpu) map_cpuset(*res.cpu, b, false);
    if (res.memory) {
        memory_common_gaps(*res.memory, b);
        TRY(map_memory_v1(*res.memory, b));
    }
    if (res.cpu) map_cpu_v1(*res.cpu, b);
    map_pids(res, b, false);
    if (res.block_io) map_blkio_v1(*res.block_io, b);
    map_hugetlb(res, b, v2_controllers.contains("hugetlb"));
    map_net(res, b, false);
    map_rdma(res, b, v2_controllers.contains("rdma"));
    return ok();
}

Status map_v2(const spec::Resources& res, Builder& b) {
    // fs2 manager.Set order: pids, memory, io, cpu, cpuset, hugetlb, rdma (then unified).
    map_pids(res, b, true);
    if (res.memory) {
        memory_common_gaps(*res.memory, b);
        TRY(map_memory_v2(*res.memory, b));
    }
    if (res.block_io) map_io_v2(*res.block_io, b);
    if (res.cpu) {
        map_cpu_v2(*res.cpu, b);
        map_cpuset(*res.cpu, b, true);
    }
    map_hugetlb(res, b, true);
    map_rdma(res, b, true);
    map_net(res, b, true);
    return ok();
}

} // namespace

Status check_update(const spec::Resources& res, Mode mode) {
    if (mode != Mode::Unified || !res.cpu) return ok();
    if (res.cpu->realtime_period.value_or(0) != 0 || res.cpu->realtime_runtime.value_or(0) != 0)
        return fail(ErrorKind::Unsupported,
                    "cgroup v2 does not support realtime scheduling (cpu.rt_period_us, "
                    "cpu.rt_runtime_us): --cpu-rt-period and --cpu-rt-runtime need a "
                    "cgroup v1 cpu hierarchy");
    return ok();
}

Result<Mapping> map_resources(const spec::Resources& res, Mode mode,
                              const std::set<std::string>& v2_controllers) {
    Builder b(mode);
    if (mode == Mode::Unified)
        TRY(map_v2(res, b));
    else
        TRY(map_v1(res, b, mode == Mode::Hybrid ? v2_controllers : std::set<std::string>{}));
    TRY(map_unified(res, b));
    return b.take();
}

} // namespace lxcri::cgroup
