// Cgroup: where a container's cgroups are, and the live operations on them (update, freezer, pids, kill,
// rmdir).
#include "cgroup/cgroup.hpp"

#include "sys/fd.hpp"
#include "sys/fs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <limits>
#include <optional>
#include <set>
#include <string_view>
#include <thread>

namespace lxcri::cgroup {

using namespace std::chrono_literals;

// Controllers of the v1 hierarchies; any other directory under the root (named hierarchies such as
// name=systemd, the cgroup2 mount) is not one.
static constexpr std::array kV1Controllers = {"blkio",    "cpu",        "cpuacct", "cpuset", "devices",
                                              "freezer",  "hugetlb",    "memory",  "misc",   "net_cls",
                                              "net_prio", "perf_event", "pids",    "rdma"};

static bool is_v1_controller(std::string_view name) {
    return std::find(kV1Controllers.begin(), kV1Controllers.end(), name) != kV1Controllers.end();
}

static std::vector<std::string> split(std::string_view s, char sep) {
    std::vector<std::string> out;
    size_t start = 0;
    for (;;) {
        size_t end = s.find(sep, start);
        out.emplace_back(s.substr(start, end - start));
        if (end == std::string_view::npos) return out;
        start = end + 1;
    }
}

static std::optional<uint64_t> parse_u64(std::string_view s) {
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}

static bool is_dir(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// "/a/b/" -> "/a/b", "/" -> "", "a" -> "/a".
static std::string clean_subpath(std::string_view p) {
    while (!p.empty() && p.back() == '/')
        p.remove_suffix(1);
    while (!p.empty() && p.front() == '/')
        p.remove_prefix(1);
    return p.empty() ? std::string() : "/" + std::string(p);
}

static std::string unified_root(Mode mode, const std::string& root) {
    return mode == Mode::Hybrid ? root + "/unified" : root;
}

// The text of /proc/<pid>/cgroup -> controller -> directory under root. v1 lines "N:ctrl1,ctrl2:/path" give
// each controller (under root/ctrl1,ctrl2 when that joined mount exists, else root/ctrlN); "0::/path" is the
// cgroup2 directory (key ""); a named hierarchy (name=systemd) is kept under its name when root/<name>
// exists, so that a container's directories there are joined and removed too (liblxc creates them).
Result<std::map<std::string, std::string>> parse_proc_cgroup(std::string_view text, Mode mode,
                                                             const std::string& root) {
    std::map<std::string, std::string> paths;
    for (const auto& line : split(text, '\n')) {
        if (line.empty()) continue;
        auto c1 = line.find(':');
        auto c2 = c1 == std::string::npos ? c1 : line.find(':', c1 + 1);
        if (c2 == std::string::npos) return fail("malformed cgroup line \"" + line + "\"");
        std::string id = line.substr(0, c1), ctrls = line.substr(c1 + 1, c2 - c1 - 1);
        std::string sub = clean_subpath(std::string_view(line).substr(c2 + 1));
        if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos)
            return fail("malformed cgroup line \"" + line + "\"");
        if (ctrls.empty()) {
            if (id == "0" && mode != Mode::Legacy) paths[""] = unified_root(mode, root) + sub;
            continue;
        }
        if (mode == Mode::Unified) continue;
        bool joined = is_dir(root + "/" + ctrls);
        for (const auto& c : split(ctrls, ',')) {
            if (c.empty()) continue;
            if (c.starts_with("name=")) {
                if (is_dir(root + "/" + c.substr(5))) paths[c] = root + "/" + c.substr(5) + sub;
                continue;
            }
            paths[c] = root + "/" + (joined ? ctrls : c) + sub;
        }
    }
    return paths;
}

Result<Cgroup> Cgroup::of_pid(pid_t pid, const std::string& root) {
    std::string file = "/proc/" + std::to_string(pid) + "/cgroup";
    auto text = sys::read_file(file);
    if (!text)
        return std::unexpected(std::move(text).error().context("cgroup of pid " + std::to_string(pid)));
    Mode mode = detect(root);
    auto paths = parse_proc_cgroup(*text, mode, root);
    if (!paths) return std::unexpected(std::move(paths).error().context("parse " + file));
    return Cgroup(std::move(*paths), mode);
}

std::jthread prime_migration(const std::string& root) {
    return std::jthread([root] {
        auto cg = Cgroup::of_pid(getpid(), root);
        if (!cg || cg->paths().empty()) return;
        // The smallest hierarchy to check is the cgroup2 one where there is one; any will do.
        auto it = cg->paths().find("");
        const std::string& dir = it != cg->paths().end() ? it->second : cg->paths().begin()->second;
        std::string procs = dir + "/cgroup.procs";
        auto listed = sys::read_file(procs);
        if (!listed) return;
        std::string self = std::to_string(getpid());
        bool there = false;
        for (std::string_view rest = *listed; !rest.empty() && !there;) {
            auto nl = rest.find('\n');
            there = rest.substr(0, nl) == self;
            rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
        }
        if (!there) return;
        sys::Fd fd(::open(procs.c_str(), O_WRONLY | O_CLOEXEC));
        if (fd.valid()) (void)!::write(fd.get(), self.data(), self.size());
    });
}

// cgroupsPath is taken from the root of each hierarchy (relative paths too).
Cgroup Cgroup::for_path(const std::string& cgroups_path, Mode mode, const std::string& root) {
    std::string sub = clean_subpath(cgroups_path);
    std::map<std::string, std::string> paths;
    if (mode != Mode::Legacy) paths[""] = unified_root(mode, root) + sub;
    if (mode == Mode::Unified) return Cgroup(std::move(paths), mode);
    auto entries = sys::list_dir(root);
    std::sort(entries.begin(), entries.end()); // deterministic: a plain "cpu" wins over "cpu,cpuacct"
    for (const auto& e : entries) {
        if (!is_dir(root + "/" + e)) continue;
        if (e == "systemd")
            paths["name=systemd"] = root + "/systemd" + sub; // the named hierarchy liblxc uses
        auto ctrls = split(e, ',');
        bool joined = ctrls.size() > 1;
        for (const auto& c : ctrls) {
            if (!is_v1_controller(c)) continue;
            if (joined && paths.contains(c)) continue;
            paths[c] = root + "/" + e + sub;
        }
    }
    return Cgroup(std::move(paths), mode);
}

// Child cgroup directories, deepest first (post-order), then dir itself.
static void subdirs_post_order(const std::string& dir, std::vector<std::string>& out) {
    sys::Dir d(::opendir(dir.c_str()));
    if (!d) return;
    std::vector<std::string> children;
    while (auto* e = ::readdir(d.get())) {
        std::string n = e->d_name;
        if (n == "." || n == "..") continue;
        if (e->d_type == DT_DIR || (e->d_type == DT_UNKNOWN && is_dir(dir + "/" + n)))
            children.push_back(dir + "/" + n);
    }
    d.reset();
    std::sort(children.begin(), children.end());
    for (const auto& c : children)
        subdirs_post_order(c, out);
    out.push_back(dir);
}

// ---- apply ----

namespace {

Error write_error(const Setting& s, const std::string& dir, int code) {
    return Error("write " + s.file + "=" + s.value + " in " + dir, code);
}

Status write_setting(const Setting& s, const std::string& dir) {
    if (auto r = sys::write_file(dir + "/" + s.file, s.value); !r)
        return std::unexpected(write_error(s, dir, r.error().code()));
    return ok();
}

Result<uint64_t> read_uint(const std::string& dir, const std::string& file) {
    auto text = TRY(sys::read_file(dir + "/" + file));
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.pop_back();
    if (text == "max") return std::numeric_limits<uint64_t>::max();
    if (!text.empty() && text.front() == '-') return 0; // runc's ParseUint: negative values are 0
    if (auto v = parse_u64(text)) return *v;
    return fail("parse " + dir + "/" + file + ": not a number: \"" + text + "\"");
}

// v1 memory: a failed limit write because usage is above it (EBUSY) says so, like runc's setMemory.
Status write_v1_memory_limit(const Setting& s, const std::string& dir) {
    auto r = sys::write_file(dir + "/" + s.file, s.value);
    if (r) return ok();
    int code = r.error().code();
    if (code != EBUSY) return std::unexpected(write_error(s, dir, code));
    auto usage = read_uint(dir, "memory.usage_in_bytes");
    auto peak = read_uint(dir, "memory.max_usage_in_bytes");
    if (!usage || !peak) return std::unexpected(write_error(s, dir, code));
    return fail("unable to set memory limit to " + s.value + " (current usage: " + std::to_string(*usage) +
                ", peak usage: " + std::to_string(*peak) + ")");
}

// v1 cpu.shares is clamped by the kernel: read it back, like runc.
Status write_v1_cpu_shares(const Setting& s, const std::string& dir) {
    TRY(write_setting(s, dir));
    uint64_t got = TRY_CTX(read_uint(dir, "cpu.shares"), "read back cpu.shares");
    uint64_t want = parse_u64(s.value).value_or(0);
    if (want > got) return fail("the maximum allowed cpu-shares is " + std::to_string(got));
    if (want < got) return fail("the minimum allowed cpu-shares is " + std::to_string(got));
    return ok();
}

std::string v1_blkio_file(const std::string& file, const std::string& dir) {
    return blkio_weight_file(file, sys::exists(dir + "/blkio.weight"));
}

const Setting* find_setting(const std::vector<Setting>& ss, std::string_view file) {
    for (const auto& s : ss)
        if (!s.unified && s.file == file) return &s;
    return nullptr;
}

// setMemoryAndSwap: with both limits given, raise memory+swap first when it goes above the current memory
// limit.
std::vector<Setting> order_v1_memory(std::vector<Setting> ss,
                                     const std::map<std::string, std::string>& paths) {
    auto mem = std::find_if(ss.begin(), ss.end(),
                            [](const Setting& s) { return !s.unified && s.file == "memory.limit_in_bytes"; });
    auto swap = std::find_if(ss.begin(), ss.end(), [](const Setting& s) {
        return !s.unified && s.file == "memory.memsw.limit_in_bytes";
    });
    if (mem == ss.end() || swap == ss.end() || swap < mem || !paths.contains("memory")) return ss;
    auto cur = read_uint(paths.at("memory"), "memory.limit_in_bytes");
    auto want = parse_u64(swap->value);
    if (cur && want && *cur < *want) std::iter_swap(mem, swap);
    return ss;
}

} // namespace

std::string blkio_weight_file(const std::string& file, bool cfq) {
    if (!cfq && (file == "blkio.weight" || file == "blkio.weight_device"))
        return "blkio.bfq." + file.substr(std::string_view("blkio.").size());
    return file;
}

Result<std::map<std::string, std::string>> sub_cgroup_paths(const std::map<std::string, std::string>& paths,
                                                            const std::map<std::string, std::string>& sub) {
    auto below = [](const std::string& base, const std::string& rel) -> Result<std::string> {
        std::string dir = std::filesystem::path(base + "/" + rel).lexically_normal().string();
        while (dir.size() > 1 && dir.back() == '/')
            dir.pop_back();
        if (dir != base && !dir.starts_with(base + "/"))
            return fail(ErrorKind::Invalid, rel + " is not a sub cgroup path");
        return dir;
    };
    std::map<std::string, std::string> out = paths;
    if (auto all = sub.find(""); all != sub.end()) {
        for (auto& [ctrl, dir] : out)
            dir = TRY(below(dir, all->second));
        return out;
    }
    for (const auto& [ctrl, rel] : sub) {
        auto it = out.find(ctrl);
        if (it == out.end()) {
            std::string known;
            for (const auto& [c, _] : paths)
                if (!c.empty()) known += (known.empty() ? "" : ", ") + c;
            return fail(ErrorKind::Invalid,
                        "unknown controller " + ctrl + " in --cgroup (the container's: " + known + ")");
        }
        it->second = TRY(below(it->second, rel));
    }
    return out;
}

Status Cgroup::apply(const Mapping& m) const {
    auto settings = order_v1_memory(m.settings, paths_);
    // A period the current quota (runtime) does not fit is refused with EINVAL: it is retried once the new
    // quota is written (runc's SetCpu for cfs, SetRtSched for the realtime pair).
    struct PeriodPair {
        const char* period;
        const char* quota;
        const Setting* deferred = nullptr;
    };
    PeriodPair pairs[] = {{"cpu.cfs_period_us", "cpu.cfs_quota_us"},
                          {"cpu.rt_period_us", "cpu.rt_runtime_us"}};
    for (const auto& s : settings) {
        auto key = s.unified ? std::string() : s.controller;
        auto it = paths_.find(key);
        if (it == paths_.end()) {
            if (s.unified) return fail("write " + s.file + "=" + s.value + ": no cgroup2 hierarchy");
            return fail("write " + s.file + "=" + s.value + ": cgroup controller " + s.controller +
                        " is not mounted");
        }
        const std::string& dir = it->second;
        if (s.unified) {
            TRY(write_setting(s, dir));
            continue;
        }
        if (s.file == "memory.memsw.limit_in_bytes" && s.value == "-1" && !sys::exists(dir + "/" + s.file))
            continue; // no swap accounting: memory+swap is unlimited already
        auto period = std::find_if(std::begin(pairs), std::end(pairs), [&](const PeriodPair& p) {
            return s.file == p.period && find_setting(settings, p.quota);
        });
        if (s.file == "memory.limit_in_bytes") {
            TRY(write_v1_memory_limit(s, dir));
        } else if (s.file == "cpu.shares") {
            TRY(write_v1_cpu_shares(s, dir));
        } else if (period != std::end(pairs)) {
            auto r = sys::write_file(dir + "/" + s.file, s.value);
            if (!r && r.error().code() != EINVAL)
                return std::unexpected(write_error(s, dir, r.error().code()));
            if (!r) period->deferred = &s;
        } else {
            Setting actual = s;
            if (s.controller == "blkio") actual.file = v1_blkio_file(s.file, dir);
            TRY(write_setting(actual, dir));
            for (const auto& p : pairs)
                if (s.file == p.quota && p.deferred) TRY(write_setting(*p.deferred, dir));
        }
    }
    return ok();
}

// ---- freezer ----

namespace {

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
        s.pop_back();
    return s;
}

Status freeze_v1(const std::string& dir) {
    const std::string file = dir + "/freezer.state";
    // runc's FreezerGroup.Set: retry while FREEZING, with an occasional thaw and sleep.
    for (int i = 0; i < 1000; ++i) {
        if (i % 50 == 49) {
            (void)sys::write_file(file, "THAWED");
            std::this_thread::sleep_for(10ms);
        }
        TRY_CTX(sys::write_file(file, "FROZEN"), "freeze");
        if (i % 25 == 24) std::this_thread::sleep_for(10us);
        auto state = trim(TRY_CTX(sys::read_file(file), "freeze"));
        if (state == "FROZEN") return ok();
        if (state != "FREEZING") {
            (void)sys::write_file(file, "THAWED");
            return fail("freeze " + dir + ": unexpected state " + state + " while freezing");
        }
    }
    (void)sys::write_file(file, "THAWED");
    return fail("freeze " + dir + ": unable to freeze");
}

Result<bool> events_frozen(const std::string& dir) {
    auto text = TRY(sys::read_file(dir + "/cgroup.events"));
    for (const auto& line : split(text, '\n'))
        if (line.starts_with("frozen ")) return line == "frozen 1";
    return fail("no \"frozen\" in " + dir + "/cgroup.events");
}

// Like fs2's waitFrozen, but for every cgroup of the subtree: this kernel may report the top frozen while a
// child cgroup is still freezing.
Status wait_frozen_v2(const std::string& dir) {
    std::vector<std::string> dirs;
    subdirs_post_order(dir, dirs);
    for (int i = 0; i < 1000; ++i) {
        bool all = true;
        for (const auto& d : dirs) {
            if (!TRY_CTX(events_frozen(d), "freeze")) {
                all = false;
                break;
            }
        }
        if (all) return ok();
        std::this_thread::sleep_for(10ms);
    }
    return fail("freeze " + dir + ": timeout of 10s reached waiting for the cgroup to freeze");
}

} // namespace

// The freezer in use: the v1 freezer controller if the container has one, else cgroup2's cgroup.freeze.
static const std::string* freezer_dir(const std::map<std::string, std::string>& paths, bool& v1) {
    if (auto it = paths.find("freezer"); it != paths.end()) {
        v1 = true;
        return &it->second;
    }
    if (auto it = paths.find(""); it != paths.end()) {
        v1 = false;
        return &it->second;
    }
    return nullptr;
}

Status Cgroup::freeze() const {
    bool v1 = false;
    const auto* dir = freezer_dir(paths_, v1);
    if (!dir) return fail("freeze: no freezer cgroup");
    if (v1) return freeze_v1(*dir);
    TRY_CTX(sys::write_file(*dir + "/cgroup.freeze", "1"), "freeze");
    if (auto r = wait_frozen_v2(*dir); !r) {
        (void)sys::write_file(*dir + "/cgroup.freeze", "0");
        return r;
    }
    return ok();
}

Status Cgroup::thaw() const {
    bool v1 = false;
    const auto* dir = freezer_dir(paths_, v1);
    if (!dir) return fail("thaw: no freezer cgroup");
    TRY_CTX(sys::write_file(*dir + (v1 ? "/freezer.state" : "/cgroup.freeze"), v1 ? "THAWED" : "0"), "thaw");
    return ok();
}

Result<bool> Cgroup::frozen() const {
    bool v1 = false;
    const auto* dir = freezer_dir(paths_, v1);
    if (!dir) return fail("freezer state: no freezer cgroup");
    if (v1) return trim(TRY_CTX(sys::read_file(*dir + "/freezer.state"), "freezer state")) == "FROZEN";
    if (trim(TRY_CTX(sys::read_file(*dir + "/cgroup.freeze"), "freezer state")) != "1") return false;
    TRY(wait_frozen_v2(*dir));
    return true;
}

// ---- pids, kill, destroy ----

Result<std::vector<pid_t>> Cgroup::pids() const {
    const std::string* dir = nullptr;
    for (const char* key : {"pids", "freezer", "memory", ""}) {
        auto it = paths_.find(key);
        if (it != paths_.end() && is_dir(it->second)) {
            dir = &it->second;
            break;
        }
    }
    if (!dir) return fail("list processes: the container's cgroup does not exist");
    std::vector<std::string> dirs;
    subdirs_post_order(*dir, dirs);
    std::set<pid_t> all;
    for (const auto& d : dirs) {
        auto text = sys::read_file(d + "/cgroup.procs");
        if (!text) {
            if (text.error().code() == ENOENT) continue; // removed meanwhile
            return std::unexpected(std::move(text).error().context("list processes"));
        }
        for (const auto& line : split(*text, '\n')) {
            if (line.empty()) continue;
            auto pid = parse_u64(line);
            if (!pid) return fail("list processes: bad pid \"" + line + "\" in " + d + "/cgroup.procs");
            all.insert(static_cast<pid_t>(*pid));
        }
    }
    return std::vector<pid_t>(all.begin(), all.end());
}

// runc's signalAllProcesses: freeze, signal every process, thaw; a missing freezer only loses atomicity.
Status Cgroup::kill_all(int sig) const {
    bool can_freeze = freeze().has_value();
    auto pids = this->pids();
    if (!pids) {
        if (can_freeze) (void)thaw();
        return std::unexpected(std::move(pids).error().context("kill all processes"));
    }
    Status result = ok();
    for (pid_t p : *pids) {
        if (::kill(p, sig) < 0 && errno != ESRCH && result) result = fail_errno("kill " + std::to_string(p));
    }
    if (can_freeze) {
        if (auto r = thaw(); !r && result) result = std::unexpected(std::move(r).error());
    }
    return result;
}

static Status rmdir_retry(const std::string& dir) {
    auto delay = 10ms;
    for (int attempt = 0;; ++attempt) {
        if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return ok();
        if (errno != EBUSY || attempt == 5) return fail_errno("rmdir " + dir);
        std::this_thread::sleep_for(delay);
        delay *= 2;
    }
}

// A hierarchy's root: v1 roots have cgroup.sane_behavior, the cgroup2 root has no cgroup.events.
static bool is_hierarchy_root(const std::string& dir) {
    if (sys::exists(dir + "/cgroup.sane_behavior")) return true;
    return sys::exists(dir + "/cgroup.controllers") && !sys::exists(dir + "/cgroup.events");
}

Status Cgroup::destroy() const {
    std::set<std::string> done;
    Status result = ok();
    for (const auto& [key, dir] : paths_) {
        if (!done.insert(dir).second) continue;
        if (is_hierarchy_root(dir)) {
            if (result) result = fail("refusing to remove " + dir + ": it is the root of a cgroup hierarchy");
            continue;
        }
        std::vector<std::string> dirs;
        subdirs_post_order(dir, dirs);
        for (const auto& d : dirs) {
            if (auto r = rmdir_retry(d); !r && result) result = std::unexpected(std::move(r).error());
        }
    }
    if (!result) return std::unexpected(std::move(result).error().context("destroy cgroup"));
    return ok();
}

} // namespace lxcri::cgroup
