// Cgroup::stats() (runc's GetStats for fs and fs2) and runc's `events --stats` JSON.
#include "cgroup/cgroup.hpp"

#include "sys/fs.hpp"

#include <nlohmann/json.hpp>

#include <charconv>
#include <limits>
#include <optional>
#include <string_view>

namespace lxcri::cgroup {
namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
constexpr uint64_t kNsPerSec = 1000000000;
constexpr uint64_t kClockTicks = 100; // USER_HZ, a constant on Linux (as runc hard-codes it)

std::optional<uint64_t> to_u64(std::string_view s) {
    if (s == "max") return kMax;
    if (!s.empty() && s.front() == '-') return 0; // runc's ParseUint: negative values are 0
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}

bool space(char c) {
    return c == ' ' || c == '\t' || c == '\n';
}

std::vector<std::string_view> fields(std::string_view line) {
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && space(line[i]))
            ++i;
        size_t start = i;
        while (i < line.size() && !space(line[i]))
            ++i;
        if (i > start) out.push_back(line.substr(start, i - start));
    }
    return out;
}

std::vector<std::string_view> lines(std::string_view text) {
    std::vector<std::string_view> out;
    while (!text.empty()) {
        auto nl = text.find('\n');
        out.push_back(text.substr(0, nl));
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
    }
    return out;
}

// A missing file reads as nullopt; any other failure is an error.
Result<std::optional<std::string>> read_opt(const std::string& dir, const std::string& file) {
    auto text = sys::read_file(dir + "/" + file);
    if (text) return std::optional<std::string>(std::move(*text));
    if (text.error().code() == ENOENT) return std::optional<std::string>();
    return std::unexpected(std::move(text).error());
}

Error parse_error(const std::string& dir, const std::string& file) {
    return Error("parse " + dir + "/" + file + ": malformed content");
}

// A single-number file into out; missing leaves out alone.
Status read_uint(const std::string& dir, const std::string& file, uint64_t& out) {
    auto text = TRY(read_opt(dir, file));
    if (!text) return ok();
    auto f = fields(*text);
    auto v = f.size() == 1 ? to_u64(f[0]) : std::nullopt;
    if (!v) return std::unexpected(parse_error(dir, file));
    out = *v;
    return ok();
}

// "key value" lines ("nr_periods 3", memory.stat, memory.events, cpuacct.stat).
Result<std::map<std::string, uint64_t>> read_kv(const std::string& dir, const std::string& file) {
    std::map<std::string, uint64_t> out;
    auto text = TRY(read_opt(dir, file));
    if (!text) return out;
    for (auto line : lines(*text)) {
        auto f = fields(line);
        if (f.empty()) continue;
        auto v = f.size() == 2 ? to_u64(f[1]) : std::nullopt;
        if (!v) return std::unexpected(parse_error(dir, file));
        out[std::string(f[0])] = *v;
    }
    return out;
}

void take(const std::map<std::string, uint64_t>& kv, const char* key, uint64_t& out, uint64_t scale = 1) {
    if (auto it = kv.find(key); it != kv.end()) out = it->second * scale;
}

// ---- v1 ----

Status cpu_v1(const std::string& cpuacct, const std::string& cpu, Stats& s) {
    if (!cpuacct.empty()) {
        TRY(read_uint(cpuacct, "cpuacct.usage", s.cpu_total));
        if (auto text = TRY(read_opt(cpuacct, "cpuacct.usage_percpu"))) {
            for (auto f : fields(*text)) {
                auto v = to_u64(f);
                if (!v) return std::unexpected(parse_error(cpuacct, "cpuacct.usage_percpu"));
                s.cpu_percpu.push_back(*v);
            }
        }
        auto st = TRY(read_kv(cpuacct, "cpuacct.stat"));
        take(st, "user", s.cpu_user, kNsPerSec / kClockTicks);
        take(st, "system", s.cpu_kernel, kNsPerSec / kClockTicks);
    }
    if (!cpu.empty()) {
        auto st = TRY(read_kv(cpu, "cpu.stat"));
        take(st, "nr_periods", s.throttle_periods);
        take(st, "nr_throttled", s.throttled_periods);
        take(st, "throttled_time", s.throttled_time);
    }
    return ok();
}

Status memory_v1(const std::string& dir, Stats& s) {
    TRY(read_uint(dir, "memory.usage_in_bytes", s.mem_usage));
    TRY(read_uint(dir, "memory.max_usage_in_bytes", s.mem_max_usage));
    TRY(read_uint(dir, "memory.limit_in_bytes", s.mem_limit));
    TRY(read_uint(dir, "memory.failcnt", s.mem_failcnt));
    TRY(read_uint(dir, "memory.memsw.usage_in_bytes", s.swap_usage)); // memory+swap, as runc reports it
    TRY(read_uint(dir, "memory.memsw.limit_in_bytes", s.swap_limit));
    s.mem_raw = TRY(read_kv(dir, "memory.stat"));
    take(TRY(read_kv(dir, "memory.oom_control")), "oom_kill", s.oom_kill);
    return ok();
}

Status pids_stats(const std::string& dir, Stats& s) {
    TRY(read_uint(dir, "pids.current", s.pids_current));
    TRY(read_uint(dir, "pids.max", s.pids_limit));
    if (s.pids_limit == kMax) s.pids_limit = 0; // "max": runc reports no limit as 0
    return ok();
}

// "8:0 Read 4096" lines; "Total N" skipped (runc's getBlkioStat).
Result<std::vector<Stats::IoEntry>> blkio_file(const std::string& dir, const std::string& file) {
    std::vector<Stats::IoEntry> out;
    auto text = TRY(read_opt(dir, file));
    if (!text) return out;
    for (auto line : lines(*text)) {
        auto f = fields(line);
        if (f.empty() || (f.size() == 2 && f[0] == "Total")) continue;
        auto colon = f[0].find(':');
        if ((f.size() != 2 && f.size() != 3) || colon == std::string_view::npos)
            return std::unexpected(parse_error(dir, file));
        auto major = to_u64(f[0].substr(0, colon)), minor = to_u64(f[0].substr(colon + 1));
        auto value = to_u64(f.back());
        if (!major || !minor || !value) return std::unexpected(parse_error(dir, file));
        out.push_back({*major, *minor, f.size() == 3 ? std::string(f[1]) : std::string(), *value});
    }
    return out;
}

// The first of BFQ, CFQ, throttle (recursive), throttle files that has entries, like runc's BlkioGroup.
Status blkio_v1(const std::string& dir, Stats& s) {
    static constexpr std::pair<const char*, const char*> kGroups[] = {
        {"blkio.bfq.io_serviced_recursive", "blkio.bfq.io_service_bytes_recursive"},
        {"blkio.io_serviced_recursive", "blkio.io_service_bytes_recursive"},
        {"blkio.throttle.io_serviced_recursive", "blkio.throttle.io_service_bytes_recursive"},
        {"blkio.throttle.io_serviced", "blkio.throttle.io_service_bytes"},
    };
    for (const auto& [serviced, bytes] : kGroups) {
        auto ios = TRY(blkio_file(dir, serviced));
        if (ios.empty()) continue;
        s.io_serviced = std::move(ios);
        s.io_service_bytes = TRY(blkio_file(dir, bytes));
        return ok();
    }
    return ok();
}

// hugetlb.<size>.<suffix> files of dir ("2MB" from "hugetlb.2MB.usage_in_bytes"; not "hugetlb.2MB.rsvd.max").
Status hugetlb_stats(const std::string& dir, const std::string& suffix, Stats& s) {
    for (const auto& name : sys::list_dir(dir)) {
        if (!name.starts_with("hugetlb.") || !name.ends_with("." + suffix)) continue;
        std::string size = name.substr(8, name.size() - 8 - suffix.size() - 1);
        if (size.empty() || size.find('.') != std::string::npos) continue;
        uint64_t usage = 0;
        TRY(read_uint(dir, name, usage));
        s.hugetlb_usage[size] = usage;
    }
    return ok();
}

// ---- v2 ----

Status cpu_v2(const std::string& dir, Stats& s) {
    auto st = TRY(read_kv(dir, "cpu.stat"));
    take(st, "usage_usec", s.cpu_total, 1000);
    take(st, "user_usec", s.cpu_user, 1000);
    take(st, "system_usec", s.cpu_kernel, 1000);
    take(st, "nr_periods", s.throttle_periods);
    take(st, "nr_throttled", s.throttled_periods);
    take(st, "throttled_usec", s.throttled_time, 1000);
    return ok();
}

uint64_t sat_add(uint64_t a, uint64_t b) {
    return a > kMax - b ? kMax : a + b;
}

Status memory_v2(const std::string& dir, Stats& s) {
    TRY(read_uint(dir, "memory.current", s.mem_usage));
    TRY(read_uint(dir, "memory.max", s.mem_limit));
    TRY(read_uint(dir, "memory.peak", s.mem_max_usage));
    uint64_t swap = 0, swap_max = 0;
    TRY(read_uint(dir, "memory.swap.current", swap));
    TRY(read_uint(dir, "memory.swap.max", swap_max));
    // runc reports v2 swap as memory+swap, for v1 compatibility.
    s.swap_usage = sat_add(swap, s.mem_usage);
    s.swap_limit = swap_max == kMax ? kMax : sat_add(swap_max, s.mem_limit);
    s.mem_raw = TRY(read_kv(dir, "memory.stat"));
    auto events = TRY(read_kv(dir, "memory.events"));
    take(events, "oom_kill", s.oom_kill);
    take(events, "max", s.mem_failcnt);
    return ok();
}

// io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 ..." -> Read/Write entries, like fs2's statIo.
Status io_v2(const std::string& dir, Stats& s) {
    auto text = TRY(read_opt(dir, "io.stat"));
    if (!text) return ok();
    for (auto line : lines(*text)) {
        auto f = fields(line);
        if (f.size() < 2) continue;
        auto colon = f[0].find(':');
        if (colon == std::string_view::npos) continue;
        auto major = to_u64(f[0].substr(0, colon)), minor = to_u64(f[0].substr(colon + 1));
        if (!major || !minor) return std::unexpected(parse_error(dir, "io.stat"));
        for (size_t i = 1; i < f.size(); ++i) {
            auto eq = f[i].find('=');
            if (eq == std::string_view::npos) continue;
            auto key = f[i].substr(0, eq);
            auto value = to_u64(f[i].substr(eq + 1));
            if (!value) return std::unexpected(parse_error(dir, "io.stat"));
            Stats::IoEntry e{*major, *minor, key[0] == 'r' ? "Read" : "Write", *value};
            if (key == "rbytes" || key == "wbytes") s.io_service_bytes.push_back(e);
            if (key == "rios" || key == "wios") s.io_serviced.push_back(e);
        }
    }
    return ok();
}

std::string path_of(const std::map<std::string, std::string>& paths, const std::string& key) {
    auto it = paths.find(key);
    return it == paths.end() ? std::string() : it->second;
}

Status stats_v1(const std::map<std::string, std::string>& paths, Stats& s) {
    TRY(cpu_v1(path_of(paths, "cpuacct"), path_of(paths, "cpu"), s));
    if (auto d = path_of(paths, "memory"); !d.empty()) TRY(memory_v1(d, s));
    if (auto d = path_of(paths, "pids"); !d.empty()) TRY(pids_stats(d, s));
    if (auto d = path_of(paths, "blkio"); !d.empty()) TRY(blkio_v1(d, s));
    if (auto d = path_of(paths, "hugetlb"); !d.empty()) TRY(hugetlb_stats(d, "usage_in_bytes", s));
    // Hybrid hosts may run hugetlb in the cgroup2 hierarchy instead.
    if (auto d = path_of(paths, ""); !d.empty() && !paths.contains("hugetlb"))
        TRY(hugetlb_stats(d, "current", s));
    return ok();
}

Status stats_v2(const std::string& dir, Stats& s) {
    TRY(cpu_v2(dir, s));
    TRY(memory_v2(dir, s));
    TRY(pids_stats(dir, s));
    TRY(io_v2(dir, s));
    TRY(hugetlb_stats(dir, "current", s));
    return ok();
}

} // namespace

Result<Stats> Cgroup::stats() const {
    Stats s;
    Status r = mode_ == Mode::Unified ? stats_v2(path_of(paths_, ""), s) : stats_v1(paths_, s);
    if (!r) return std::unexpected(std::move(r).error().context("cgroup stats"));
    return s;
}

// ---- runc events --stats ----

namespace {

// ordered: keys in the order of runc's Go structs.
using json = nlohmann::ordered_json;

// Go's encoding/json drops zero values of fields tagged omitempty.
void put_nonzero(json& j, const char* key, uint64_t v) {
    if (v != 0) j[key] = v;
}

json memory_entry(uint64_t limit, uint64_t usage, uint64_t max, uint64_t failcnt) {
    json j = {{"limit", limit}};
    put_nonzero(j, "usage", usage);
    put_nonzero(j, "max", max);
    j["failcnt"] = failcnt;
    return j;
}

json blkio_entries(const std::vector<Stats::IoEntry>& es) {
    json arr = json::array();
    for (const auto& e : es) {
        json j = json::object();
        put_nonzero(j, "major", e.major);
        put_nonzero(j, "minor", e.minor);
        if (!e.op.empty()) j["op"] = e.op;
        put_nonzero(j, "value", e.value);
        arr.push_back(std::move(j));
    }
    return arr;
}

json cpu_json(const Stats& s) {
    json usage = json::object();
    put_nonzero(usage, "total", s.cpu_total);
    if (!s.cpu_percpu.empty()) usage["percpu"] = s.cpu_percpu;
    usage["kernel"] = s.cpu_kernel;
    usage["user"] = s.cpu_user;
    json throttling = json::object();
    put_nonzero(throttling, "periods", s.throttle_periods);
    put_nonzero(throttling, "throttledPeriods", s.throttled_periods);
    put_nonzero(throttling, "throttledTime", s.throttled_time);
    return {{"usage", usage}, {"throttling", throttling}};
}

json cpuset_json() {
    // Not collected: the zero value runc prints when it has no cpuset stats.
    return {{"cpu_exclusive", 0},   {"mem_hardwall", 0},       {"mem_exclusive", 0},
            {"memory_migrate", 0},  {"memory_spread_page", 0}, {"memory_spread_slab", 0},
            {"memory_pressure", 0}, {"sched_load_balance", 0}, {"sched_relax_domain_level", 0}};
}

json memory_json(const Stats& s) {
    json j = json::object();
    // Cache: memory.stat "cache" on v1, "file" on v2.
    auto cache = s.mem_raw.find("cache");
    if (cache == s.mem_raw.end()) cache = s.mem_raw.find("file");
    if (cache != s.mem_raw.end()) put_nonzero(j, "cache", cache->second);
    j["usage"] = memory_entry(s.mem_limit, s.mem_usage, s.mem_max_usage, s.mem_failcnt);
    j["swap"] = memory_entry(s.swap_limit, s.swap_usage, 0, 0);
    j["kernel"] = memory_entry(0, 0, 0, 0);
    j["kernelTCP"] = memory_entry(0, 0, 0, 0);
    if (!s.mem_raw.empty()) j["raw"] = s.mem_raw;
    return j;
}

json to_json(const Stats& s) {
    json pids = json::object();
    put_nonzero(pids, "current", s.pids_current);
    put_nonzero(pids, "limit", s.pids_limit);
    json blkio = json::object();
    if (!s.io_service_bytes.empty()) blkio["ioServiceBytesRecursive"] = blkio_entries(s.io_service_bytes);
    if (!s.io_serviced.empty()) blkio["ioServicedRecursive"] = blkio_entries(s.io_serviced);
    json hugetlb = json::object();
    for (const auto& [size, usage] : s.hugetlb_usage) {
        json h = json::object();
        put_nonzero(h, "usage", usage);
        h["failcnt"] = 0;
        hugetlb[size] = std::move(h);
    }
    return {{"cpu", cpu_json(s)},
            {"cpuset", cpuset_json()},
            {"memory", memory_json(s)},
            {"pids", pids},
            {"blkio", blkio},
            {"hugetlb", hugetlb},
            {"intel_rdt", json::object()},
            {"network_interfaces", nullptr}};
}

} // namespace

std::string stats_to_json(const Stats& s) {
    // replace: invalid UTF-8 in a memory.stat key cannot make dump() throw.
    return to_json(s).dump(-1, ' ', false, json::error_handler_t::replace);
}

} // namespace lxcri::cgroup
