// The systemd cgroup driver: unit naming and properties (pure) and the sd-bus calls.
#include "cgroup/systemd.hpp"

#include "sys/fs.hpp"

#include <systemd/sd-bus.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>
#include <map>
#include <memory>

namespace lxcri::cgroup::systemd {
namespace {

constexpr uint64_t kInfinity = std::numeric_limits<uint64_t>::max(); // systemd's "infinity"
constexpr uint64_t kDefaultPeriod = 100000;                          // cfs period (us)
constexpr std::string_view kSliceSuffix = ".slice";

std::optional<uint64_t> parse_u64(std::string_view s) {
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    size_t pos = 0;
    for (size_t next; (next = s.find(sep, pos)) != std::string::npos; pos = next + 1)
        out.push_back(s.substr(pos, next - pos));
    out.push_back(s.substr(pos));
    return out;
}

std::string trim(const std::string& s) {
    auto b = s.find_first_not_of(' ');
    if (b == std::string::npos) return "";
    return s.substr(b, s.find_last_not_of(' ') - b + 1);
}

// The cgroup files whose mapped value becomes a unit property unchanged ("max"/"-1": infinity).
const std::map<std::string, std::string, std::less<>>& file_properties(Mode mode) {
    static const std::map<std::string, std::string, std::less<>> v2 = {{"memory.max", "MemoryMax"},
                                                                       {"memory.low", "MemoryLow"},
                                                                       {"memory.swap.max", "MemorySwapMax"},
                                                                       {"cpu.weight", "CPUWeight"},
                                                                       {"pids.max", "TasksMax"}};
    static const std::map<std::string, std::string, std::less<>> v1 = {
        {"memory.limit_in_bytes", "MemoryLimit"},
        {"cpu.shares", "CPUShares"},
        {"blkio.weight", "BlockIOWeight"},
        {"pids.max", "TasksMax"}};
    return mode == Mode::Unified ? v2 : v1;
}

// runc's addCpuQuota: the period as is, the quota as microseconds per CPU second rounded up to 10 ms.
void add_cpu_quota(const spec::Cpu& cpu, std::vector<Property>& props) {
    int64_t quota = cpu.quota.value_or(0);
    uint64_t period = cpu.period.value_or(0);
    if (period != 0) props.push_back({"CPUQuotaPeriodUSec", period});
    if (quota == 0 && period == 0) return;
    uint64_t per_sec = kInfinity;
    if (quota > 0) {
        per_sec = static_cast<uint64_t>(quota) * 1000000 / (period != 0 ? period : kDefaultPeriod);
        if (per_sec % 10000 != 0) per_sec = (per_sec / 10000 + 1) * 10000;
    }
    props.push_back({"CPUQuotaPerSecUSec", per_sec});
}

Status add_cpuset(const spec::Cpu& cpu, std::vector<Property>& props) {
    if (!cpu.cpus.empty())
        props.push_back({"AllowedCPUs", TRY_CTX(range_to_bits(cpu.cpus), "linux.resources.cpu.cpus")});
    if (!cpu.mems.empty())
        props.push_back({"AllowedMemoryNodes", TRY_CTX(range_to_bits(cpu.mems), "linux.resources.cpu.mems")});
    return ok();
}

} // namespace

Result<std::string> expand_slice(const std::string& slice) {
    if (slice.size() < kSliceSuffix.size() || !slice.ends_with(kSliceSuffix) ||
        slice.find('/') != std::string::npos)
        return fail("invalid slice name \"" + slice + "\"");
    std::string stem = slice.substr(0, slice.size() - kSliceSuffix.size());
    if (stem == "-") return std::string("/");
    std::string path, prefix;
    for (const auto& part : split(stem, '-')) {
        if (part.empty()) return fail("invalid slice name \"" + slice + "\"");
        path += "/" + prefix + part + std::string(kSliceSuffix);
        prefix += part + "-";
    }
    return path;
}

Result<Unit> parse_cgroups_path(const std::string& cgroups_path, const std::string& id) {
    std::string value = cgroups_path.empty() ? "system.slice:runc:" + id : cgroups_path;
    auto parts = split(value, ':');
    if (parts.size() != 3)
        return fail(
            "linux.cgroupsPath: expected \"slice:prefix:name\" for the systemd cgroup driver, got \"" +
            value + "\"");
    Unit u;
    u.slice = parts[0].empty() ? "system.slice" : parts[0];
    const std::string &prefix = parts[1], &name = parts[2];
    if (name.empty()) return fail("linux.cgroupsPath: empty unit name in \"" + value + "\"");
    if (name.ends_with(kSliceSuffix))
        return fail("linux.cgroupsPath: \"" + value + "\" names a slice; the container needs a scope unit");
    for (const auto* s : {&prefix, &name})
        if (s->find('/') != std::string::npos || *s == "." || *s == "..")
            return fail("linux.cgroupsPath: invalid unit name part \"" + *s + "\" in \"" + value + "\"");
    std::string dir = TRY_CTX(expand_slice(u.slice), "linux.cgroupsPath");
    u.name = (prefix.empty() ? name : prefix + "-" + name) + ".scope";
    u.path = (dir == "/" ? "" : dir.substr(1) + "/") + u.name;
    return u;
}

Result<std::vector<uint8_t>> range_to_bits(const std::string& list) {
    std::vector<uint8_t> bytes;
    auto set = [&](uint64_t bit) {
        if (bytes.size() <= bit / 8) bytes.resize(bit / 8 + 1, 0);
        bytes[bit / 8] |= static_cast<uint8_t>(1u << (bit % 8));
    };
    constexpr uint64_t kMaxBit = 1 << 16; // far above any CPU or NUMA node count
    for (const auto& raw : split(list, ',')) {
        std::string r = trim(raw);
        if (r.empty()) continue;
        auto dash = r.find('-');
        auto lo = parse_u64(r.substr(0, dash));
        auto hi = dash == std::string::npos ? lo : parse_u64(r.substr(dash + 1));
        if (!lo || !hi || *lo > *hi || *hi >= kMaxBit)
            return fail("invalid range \"" + r + "\" in \"" + list + "\"");
        for (uint64_t i = *lo; i <= *hi; ++i)
            set(i);
    }
    if (bytes.empty()) return fail("empty cpu/memory node list \"" + list + "\"");
    return bytes;
}

Result<std::vector<Property>> resource_properties(const spec::Resources& res, Mode mode) {
    // The values come from the cgroupfs mapping, so the unit and the container's own cgroup never disagree.
    auto mapping = TRY(map_resources(res, mode));
    const auto& table = file_properties(mode);
    std::vector<Property> props;
    for (const auto& s : mapping.settings) {
        auto it = table.find(s.file);
        if (it == table.end()) continue;
        if (s.value == "max" || s.value == "-1") {
            props.push_back({it->second, kInfinity});
            continue;
        }
        auto v = parse_u64(s.value);
        if (!v) return fail(s.file + ": unexpected value \"" + s.value + "\"");
        props.push_back({it->second, *v});
    }
    if (res.cpu) {
        add_cpu_quota(*res.cpu, props);
        TRY(add_cpuset(*res.cpu, props));
    }
    return props;
}

Result<std::vector<Property>> scope_properties(const Unit& unit, const std::string& description, pid_t pid,
                                               const spec::Resources& res, Mode mode) {
    std::vector<Property> props = {
        {"Description", description},
        {"Slice", unit.slice},
        {"Delegate", true},
        {"PIDs", std::vector<uint32_t>{static_cast<uint32_t>(pid)}},
        {"MemoryAccounting", true},
        {"CPUAccounting", true},
        {"IOAccounting", true},
        {"TasksAccounting", true},
        {"DefaultDependencies", false},
    };
    for (auto& p : TRY(resource_properties(res, mode)))
        props.push_back(std::move(p));
    return props;
}

Status available() {
    if (!sys::exists("/run/systemd/system"))
        return fail("the systemd cgroup driver needs systemd as init: /run/systemd/system does not exist");
    return ok();
}

// ---- sd-bus ----
namespace {

constexpr const char* kDest = "org.freedesktop.systemd1";
constexpr const char* kPath = "/org/freedesktop/systemd1";
constexpr const char* kManager = "org.freedesktop.systemd1.Manager";

struct BusDeleter {
    void operator()(sd_bus* b) const { sd_bus_flush_close_unref(b); }
};
struct MsgDeleter {
    void operator()(sd_bus_message* m) const { sd_bus_message_unref(m); }
};
struct SlotDeleter {
    void operator()(sd_bus_slot* s) const { sd_bus_slot_unref(s); }
};
using Bus = std::unique_ptr<sd_bus, BusDeleter>;
using Msg = std::unique_ptr<sd_bus_message, MsgDeleter>;
using Slot = std::unique_ptr<sd_bus_slot, SlotDeleter>;

struct BusError {
    sd_bus_error e = SD_BUS_ERROR_NULL;
    ~BusError() { sd_bus_error_free(&e); }
    std::string text(int r) const {
        if (sd_bus_error_is_set(&e)) return std::string(e.message ? e.message : e.name);
        return std::strerror(-r);
    }
};

constexpr const char* kPrivateSocket = "/run/systemd/private";

// systemd's own socket, spoken to directly (no bus daemon, no Hello), as systemctl does as root.
Result<Bus> connect_private() {
    sd_bus* raw = nullptr;
    int r = sd_bus_new(&raw);
    if (r < 0) return fail("sd_bus_new", -r);
    Bus b(raw);
    r = sd_bus_set_address(b.get(), (std::string("unix:path=") + kPrivateSocket).c_str());
    if (r >= 0) r = sd_bus_start(b.get());
    if (r < 0) return fail(kPrivateSocket, -r);
    return b;
}

// The system bus; as root, without one (a host with systemd and no D-Bus daemon), systemd's private socket:
// runc's go-systemd NewWithContext falls back the same way.
Result<Bus> connect() {
    sd_bus* b = nullptr;
    int r = sd_bus_open_system(&b);
    if (r >= 0) return Bus(b);
    std::string system_error = std::strerror(-r);
    if (geteuid() != 0) return fail("connect to the D-Bus system bus", -r);
    auto priv = connect_private();
    if (priv) return std::move(*priv);
    return fail("connect to the D-Bus system bus: " + system_error + ", nor to systemd's " +
                priv.error().message());
}

// The JobRemoved signals seen so far: job object path -> result ("done", "failed", ...).
struct Jobs {
    std::map<std::string, std::string> removed;
};

int on_job_removed(sd_bus_message* m, void* userdata, sd_bus_error*) {
    uint32_t id = 0;
    const char *path = nullptr, *unit = nullptr, *result = nullptr;
    if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) >= 0)
        static_cast<Jobs*>(userdata)->removed[path] = result;
    return 0;
}

Result<Slot> watch_jobs(sd_bus* bus, Jobs& jobs) {
    sd_bus_slot* slot = nullptr;
    // A direct connection (systemd's private socket) has no sender field in its messages: match by sender
    // only on the bus, as systemctl does.
    const char* sender = sd_bus_is_bus_client(bus) > 0 ? kDest : nullptr;
    int r = sd_bus_match_signal(bus, &slot, sender, kPath, kManager, "JobRemoved", on_job_removed, &jobs);
    if (r < 0) return fail("subscribe to systemd's JobRemoved signal", -r);
    BusError err;
    // Signals are only sent once some client subscribed.
    r = sd_bus_call_method(bus, kDest, kPath, kManager, "Subscribe", &err.e, nullptr, "");
    if (r < 0) return fail("systemd Subscribe: " + err.text(r));
    return Slot(slot);
}

Status wait_job(sd_bus* bus, Jobs& jobs, const std::string& job, const std::string& what,
                std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!jobs.removed.contains(job)) {
        int r = sd_bus_process(bus, nullptr);
        if (r < 0) return fail(what + ": D-Bus", -r);
        if (r > 0) continue;
        auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline -
                                                                          std::chrono::steady_clock::now());
        if (left.count() <= 0) return fail(what + ": timed out waiting for the systemd job " + job);
        r = sd_bus_wait(bus, static_cast<uint64_t>(left.count()));
        if (r < 0 && r != -EINTR) return fail(what + ": D-Bus", -r);
    }
    const std::string& result = jobs.removed[job];
    if (result != "done") return fail(what + ": systemd job " + result);
    return ok();
}

Status append_value(sd_bus_message* m, const Property::Value& v) {
    int r = std::visit(
        [&](const auto& x) -> int {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, bool>) {
                return sd_bus_message_append(m, "v", "b", static_cast<int>(x));
            } else if constexpr (std::is_same_v<T, std::string>) {
                return sd_bus_message_append(m, "v", "s", x.c_str());
            } else if constexpr (std::is_same_v<T, uint64_t>) {
                return sd_bus_message_append(m, "v", "t", x);
            } else {
                constexpr char type = std::is_same_v<T, std::vector<uint32_t>> ? 'u' : 'y';
                const char sig[3] = {'a', type, 0};
                int q = sd_bus_message_open_container(m, 'v', sig);
                if (q >= 0) q = sd_bus_message_append_array(m, type, x.data(), x.size() * sizeof(x[0]));
                if (q >= 0) q = sd_bus_message_close_container(m);
                return q;
            }
        },
        v);
    if (r < 0) return fail("build D-Bus message", -r);
    return ok();
}

Status append_properties(sd_bus_message* m, const std::vector<Property>& props) {
    auto check = [](int q) -> Status { return q < 0 ? fail("build D-Bus message", -q) : ok(); };
    TRY(check(sd_bus_message_open_container(m, 'a', "(sv)")));
    for (const auto& p : props) {
        TRY(check(sd_bus_message_open_container(m, 'r', "sv")));
        TRY(check(sd_bus_message_append(m, "s", p.name.c_str())));
        TRY(append_value(m, p.value));
        TRY(check(sd_bus_message_close_container(m)));
    }
    return check(sd_bus_message_close_container(m));
}

Result<Msg> start_message(sd_bus* bus, const Unit& unit, const std::vector<Property>& props) {
    sd_bus_message* raw = nullptr;
    int r = sd_bus_message_new_method_call(bus, &raw, kDest, kPath, kManager, "StartTransientUnit");
    if (r < 0) return fail("build D-Bus message", -r);
    Msg m(raw);
    auto check = [](int q) -> Status { return q < 0 ? fail("build D-Bus message", -q) : ok(); };
    TRY(check(sd_bus_message_append(m.get(), "ss", unit.name.c_str(), "replace")));
    TRY(append_properties(m.get(), props));
    TRY(check(sd_bus_message_append(m.get(), "a(sa(sv))", 0)));
    return m;
}

// Calls a Manager method returning a job path and waits for that job. Sets *missing on NoSuchUnit.
Status call_job(sd_bus* bus, Jobs& jobs, sd_bus_message* m, const std::string& what,
                std::chrono::milliseconds timeout, std::string* error_name = nullptr) {
    BusError err;
    sd_bus_message* reply = nullptr;
    auto usec = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(timeout).count());
    int r = sd_bus_call(bus, m, usec, &err.e, &reply);
    Msg reply_owner(reply);
    if (r < 0) {
        if (error_name && err.e.name) *error_name = err.e.name;
        return fail(what + ": " + err.text(r));
    }
    const char* job = nullptr;
    r = sd_bus_message_read(reply, "o", &job);
    if (r < 0) return fail(what + ": unexpected reply", -r);
    return wait_job(bus, jobs, job, what, timeout);
}

void reset_failed(sd_bus* bus, const std::string& name) {
    BusError err;
    (void)sd_bus_call_method(bus, kDest, kPath, kManager, "ResetFailedUnit", &err.e, nullptr, "s",
                             name.c_str());
}

} // namespace

Status start_scope(const Unit& unit, const std::vector<Property>& props, std::chrono::milliseconds timeout) {
    std::string what = "start systemd unit " + unit.name;
    auto bus = TRY_CTX(connect(), what);
    Jobs jobs;
    auto slot = TRY_CTX(watch_jobs(bus.get(), jobs), what);
    // As runc: a unit left over (failed, or stopping) is reset and the start retried once.
    for (int attempt = 0;; ++attempt) {
        auto m = TRY_CTX(start_message(bus.get(), unit, props), what);
        std::string error_name;
        Status r = call_job(bus.get(), jobs, m.get(), what, timeout, &error_name);
        if (r || error_name != "org.freedesktop.systemd1.UnitExists" || attempt > 0) return r;
        reset_failed(bus.get(), unit.name);
    }
}

Status set_unit_properties(const std::string& name, const std::vector<Property>& props) {
    std::string what = "set properties of systemd unit " + name;
    auto bus = TRY_CTX(connect(), what);
    sd_bus_message* raw = nullptr;
    int r = sd_bus_message_new_method_call(bus.get(), &raw, kDest, kPath, kManager, "SetUnitProperties");
    if (r < 0) return fail(what + ": build D-Bus message", -r);
    Msg m(raw);
    r = sd_bus_message_append(m.get(), "sb", name.c_str(), 1);
    if (r < 0) return fail(what + ": build D-Bus message", -r);
    TRY_CTX(append_properties(m.get(), props), what);
    BusError err;
    r = sd_bus_call(bus.get(), m.get(), 0, &err.e, nullptr);
    if (r < 0) return fail(what + ": " + err.text(r));
    return ok();
}

Status stop_unit(const std::string& name, std::chrono::milliseconds timeout) {
    std::string what = "stop systemd unit " + name;
    auto bus = TRY_CTX(connect(), what);
    Jobs jobs;
    auto slot = TRY_CTX(watch_jobs(bus.get(), jobs), what);
    sd_bus_message* raw = nullptr;
    int r = sd_bus_message_new_method_call(bus.get(), &raw, kDest, kPath, kManager, "StopUnit");
    if (r < 0) return fail(what + ": build D-Bus message", -r);
    Msg m(raw);
    r = sd_bus_message_append(m.get(), "ss", name.c_str(), "replace");
    if (r < 0) return fail(what + ": build D-Bus message", -r);
    std::string error_name;
    Status stopped = call_job(bus.get(), jobs, m.get(), what, timeout, &error_name);
    if (!stopped && error_name != "org.freedesktop.systemd1.NoSuchUnit") return stopped;
    reset_failed(bus.get(), name);
    return ok();
}

Result<bool> unit_exists(const std::string& name) {
    auto bus = TRY_CTX(connect(), "look up systemd unit " + name);
    BusError err;
    sd_bus_message* reply = nullptr;
    int r =
        sd_bus_call_method(bus.get(), kDest, kPath, kManager, "GetUnit", &err.e, &reply, "s", name.c_str());
    Msg owner(reply);
    if (r >= 0) return true;
    if (sd_bus_error_has_name(&err.e, "org.freedesktop.systemd1.NoSuchUnit")) return false;
    return fail("look up systemd unit " + name + ": " + err.text(r));
}

} // namespace lxcri::cgroup::systemd
