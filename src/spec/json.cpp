// Strict JSON readers/writers for the OCI objects shared by config.json, exec --process and init.json.
#include "spec/json.hpp"

#include "spec/input.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <set>

namespace lxcri::spec::json {

Status check_depth(std::string_view text, size_t max_depth) {
    size_t depth = 0;
    bool in_string = false, escaped = false;
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
            continue;
        }
        switch (c) {
        case '"':
            in_string = true;
            break;
        case '[':
        case '{':
            if (++depth > max_depth)
                return fail("invalid JSON: exceeded max depth " + std::to_string(max_depth) + " at byte " +
                            std::to_string(i));
            break;
        case ']':
        case '}':
            if (depth > 0) --depth;
            break;
        default:
            break;
        }
    }
    return ok();
}

Result<Json> parse_text(std::string_view text) {
    // Checked first: nothing below (parser, destructor, dump, the readers) then meets deeper nesting.
    TRY(check_depth(text, kMaxJsonDepth));
    try {
        return Json::parse(text.begin(), text.end());
    } catch (const Json::exception& e) {
        return fail(std::string("invalid JSON: ") + e.what());
    } catch (const std::exception& e) {
        return fail(std::string("invalid JSON: ") + e.what());
    }
}

std::string join(const std::string& path, std::string_view key) {
    if (path.empty()) return std::string(key);
    return path + "." + std::string(key);
}

std::string index(const std::string& path, size_t i) {
    return path + "[" + std::to_string(i) + "]";
}

const Json* member(const Json& obj, std::string_view key) {
    auto it = obj.find(std::string(key));
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
}

static std::unexpected<Error> expected(const std::string& path, std::string_view what) {
    return fail(path + ": expected " + std::string(what));
}

Status expect_object(const Json& v, const std::string& path) {
    if (!v.is_object()) return expected(path, "an object");
    return ok();
}

Result<std::string> to_str(const Json& v, const std::string& path) {
    if (!v.is_string()) return expected(path, "a string");
    const auto& s = v.get_ref<const std::string&>();
    if (s.find('\0') != std::string::npos) return fail(path + ": contains a NUL byte");
    return s;
}

Result<bool> to_bool(const Json& v, const std::string& path) {
    if (!v.is_boolean()) return expected(path, "a boolean");
    return v.get<bool>();
}

Result<uint64_t> to_u64(const Json& v, const std::string& path) {
    if (!v.is_number_unsigned()) return expected(path, "an unsigned integer");
    return v.get<uint64_t>();
}

Result<uint32_t> to_u32(const Json& v, const std::string& path) {
    uint64_t n = TRY(to_u64(v, path));
    if (n > std::numeric_limits<uint32_t>::max()) return fail(path + ": value out of range (32 bits)");
    return static_cast<uint32_t>(n);
}

Result<int64_t> to_i64(const Json& v, const std::string& path) {
    if (v.is_number_unsigned()) {
        uint64_t n = v.get<uint64_t>();
        if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
            return fail(path + ": value out of range (64 bits)");
        return static_cast<int64_t>(n);
    }
    if (!v.is_number_integer()) return expected(path, "an integer");
    return v.get<int64_t>();
}

Result<int> to_int(const Json& v, const std::string& path) {
    int64_t n = TRY(to_i64(v, path));
    if (n < std::numeric_limits<int>::min() || n > std::numeric_limits<int>::max())
        return fail(path + ": value out of range (32 bits)");
    return static_cast<int>(n);
}

Result<std::vector<std::string>> to_strs(const Json& v, const std::string& path) {
    return list_of(to_str)(v, path);
}

Result<const Json*> required(const Json& obj, std::string_view key, const std::string& path) {
    const Json* m = member(obj, key);
    if (!m) return fail(join(path, key) + ": required");
    return m;
}

Status object_with(const Json& v, const std::string& path, std::initializer_list<std::string_view> known,
                   std::vector<std::string>& unknown) {
    TRY(expect_object(v, path));
    for (const auto& [k, _] : v.items())
        if (std::find(known.begin(), known.end(), k) == known.end()) unknown.push_back(join(path, k));
    return ok();
}

static bool is_absolute(const std::string& p) {
    return !p.empty() && p[0] == '/';
}

Result<std::string> to_abs_path(const Json& v, const std::string& path) {
    std::string s = TRY(to_str(v, path));
    if (!is_absolute(s)) return fail(path + ": must be an absolute path");
    return s;
}

// ---- process ----

static constexpr std::array kRlimits = {
    "RLIMIT_AS",      "RLIMIT_CORE",     "RLIMIT_CPU",        "RLIMIT_DATA",   "RLIMIT_FSIZE", "RLIMIT_LOCKS",
    "RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE", "RLIMIT_NICE",       "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_RSS",
    "RLIMIT_RTPRIO",  "RLIMIT_RTTIME",   "RLIMIT_SIGPENDING", "RLIMIT_STACK"};

static Result<Rlimit> read_rlimit(const Json& v, const std::string& path, std::vector<std::string>& unknown) {
    TRY(object_with(v, path, {"type", "soft", "hard"}, unknown));
    Rlimit r;
    r.type = TRY(to_str(*TRY(required(v, "type", path)), join(path, "type")));
    if (std::find(kRlimits.begin(), kRlimits.end(), r.type) == kRlimits.end())
        return fail(join(path, "type") + ": unknown resource limit \"" + r.type + "\"");
    TRY(field(v, "soft", path, r.soft, to_u64));
    TRY(field(v, "hard", path, r.hard, to_u64));
    if (r.soft > r.hard) return fail(path + ": soft limit exceeds hard limit");
    return r;
}

static Result<User> read_user(const Json& v, const std::string& path, std::vector<std::string>& unknown) {
    TRY(object_with(v, path, {"uid", "gid", "umask", "additionalGids", "username"}, unknown));
    User u;
    TRY(field(v, "uid", path, u.uid, to_u32));
    TRY(field(v, "gid", path, u.gid, to_u32));
    TRY(field(v, "umask", path, u.umask, to_u32));
    TRY(field(v, "additionalGids", path, u.additional_gids, list_of(to_u32)));
    TRY(field(v, "username", path, u.username, to_str));
    if (u.umask && *u.umask > 0777) return fail(join(path, "umask") + ": value out of range (0 to 0777)");
    return u;
}

static Result<Capabilities> read_caps(const Json& v, const std::string& path,
                                      std::vector<std::string>& unknown) {
    TRY(object_with(v, path, {"bounding", "effective", "inheritable", "permitted", "ambient"}, unknown));
    Capabilities c;
    TRY(field(v, "bounding", path, c.bounding, to_strs));
    TRY(field(v, "effective", path, c.effective, to_strs));
    TRY(field(v, "inheritable", path, c.inheritable, to_strs));
    TRY(field(v, "permitted", path, c.permitted, to_strs));
    TRY(field(v, "ambient", path, c.ambient, to_strs));
    return c;
}

static Result<ConsoleSize> read_console_size(const Json& v, const std::string& path,
                                             std::vector<std::string>& unknown) {
    TRY(object_with(v, path, {"height", "width"}, unknown));
    ConsoleSize s;
    TRY(field(v, "height", path, s.height, to_u32));
    TRY(field(v, "width", path, s.width, to_u32));
    return s;
}

// Only the class is kept: ioPriority is reported as a gap as a whole.
static Result<std::string> read_io_priority(const Json& v, const std::string& path,
                                            std::vector<std::string>& unknown) {
    TRY(object_with(v, path, {"class", "priority"}, unknown));
    std::string cls = TRY(to_str(*TRY(required(v, "class", path)), join(path, "class")));
    if (cls != "IOPRIO_CLASS_RT" && cls != "IOPRIO_CLASS_BE" && cls != "IOPRIO_CLASS_IDLE")
        return fail(join(path, "class") + ": unknown class \"" + cls + "\"");
    int prio = 0;
    TRY(field(v, "priority", path, prio, to_int));
    if (prio < 0 || prio > 7) return fail(join(path, "priority") + ": value out of range (0 to 7)");
    return cls;
}

static Status check_env(const std::vector<std::string>& env, const std::string& path) {
    for (size_t i = 0; i < env.size(); ++i) {
        auto eq = env[i].find('=');
        if (eq == std::string::npos || eq == 0) return expected(index(path, i), "KEY=value");
    }
    return ok();
}

static Status check_rlimits(const std::vector<Rlimit>& rl, const std::string& path) {
    std::set<std::string> seen;
    for (size_t i = 0; i < rl.size(); ++i)
        if (!seen.insert(rl[i].type).second) return fail(index(path, i) + ": duplicate limit " + rl[i].type);
    return ok();
}

Result<Process> read_process(const Json& v, const std::string& path, std::vector<std::string>& unknown) {
    TRY(object_with(v, path,
                    {"terminal", "consoleSize", "user", "args", "commandLine", "env", "cwd", "capabilities",
                     "rlimits", "noNewPrivileges", "apparmorProfile", "oomScoreAdj", "selinuxLabel",
                     "ioPriority"},
                    unknown));
    Process p;
    TRY(field(v, "terminal", path, p.terminal, to_bool));
    TRY(field(v, "consoleSize", path, p.console_size, with(read_console_size, unknown)));
    TRY(field(v, "user", path, p.user, with(read_user, unknown)));
    TRY(field(v, "args", path, p.args, to_strs));
    TRY(field(v, "commandLine", path, p.command_line, to_str));
    TRY(field(v, "env", path, p.env, to_strs));
    p.cwd = TRY(to_str(*TRY(required(v, "cwd", path)), join(path, "cwd")));
    TRY(field(v, "capabilities", path, p.capabilities, with(read_caps, unknown)));
    TRY(field(v, "rlimits", path, p.rlimits, list_of(with(read_rlimit, unknown))));
    TRY(field(v, "noNewPrivileges", path, p.no_new_privileges, to_bool));
    TRY(field(v, "apparmorProfile", path, p.apparmor_profile, to_str));
    TRY(field(v, "oomScoreAdj", path, p.oom_score_adj, to_int));
    TRY(field(v, "selinuxLabel", path, p.selinux_label, to_str));
    TRY(field(v, "ioPriority", path, p.io_priority_class, with(read_io_priority, unknown)));

    if (p.args.empty()) return fail(join(path, "args") + ": must not be empty");
    if (!is_absolute(p.cwd)) return fail(join(path, "cwd") + ": must be an absolute path");
    TRY(check_env(p.env, join(path, "env")));
    TRY(check_rlimits(p.rlimits, join(path, "rlimits")));
    if (p.oom_score_adj && (*p.oom_score_adj < -1000 || *p.oom_score_adj > 1000))
        return fail(join(path, "oomScoreAdj") + ": value out of range (-1000 to 1000)");
    return p;
}

// ---- seccomp ----

static constexpr std::array kSeccompActions = {
    "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",  "SCMP_ACT_ERRNO",
    "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW",        "SCMP_ACT_LOG",         "SCMP_ACT_NOTIFY"};
static constexpr std::array kSeccompOps = {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",       "SCMP_CMP_EQ",
                                           "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"};

template <size_t N>
static Result<std::string> one_of(const Json& v, const std::string& path,
                                  const std::array<const char*, N>& names, std::string_view what) {
    std::string s = TRY(to_str(v, path));
    if (std::find(names.begin(), names.end(), s) == names.end())
        return fail(path + ": unknown " + std::string(what) + " \"" + s + "\"");
    return s;
}

static Result<SeccompArg> read_seccomp_arg(const Json& v, const std::string& path,
                                           std::vector<std::string>& unknown) {
    TRY(object_with(v, path, {"index", "value", "valueTwo", "op"}, unknown));
    SeccompArg a;
    a.index = TRY(to_u32(*TRY(required(v, "index", path)), join(path, "index")));
    if (a.index > 5) return fail(join(path, "index") + ": value out of range (0 to 5)");
    TRY(field(v, "value", path, a.value, to_u64));
    TRY(field(v, "valueTwo", path, a.value_two, to_u64));
    a.op = TRY(one_of(*TRY(required(v, "op", path)), join(path, "op"), kSeccompOps, "operator"));
    return a;
}

static Result<SeccompSyscall> read_seccomp_syscall(const Json& v, const std::string& path,
                                                   std::vector<std::string>& unknown) {
    TRY(object_with(v, path, {"names", "action", "errnoRet", "args"}, unknown));
    SeccompSyscall s;
    s.names = TRY(to_strs(*TRY(required(v, "names", path)), join(path, "names")));
    if (s.names.empty()) return fail(join(path, "names") + ": must not be empty");
    s.action =
        TRY(one_of(*TRY(required(v, "action", path)), join(path, "action"), kSeccompActions, "action"));
    TRY(field(v, "errnoRet", path, s.errno_ret, to_u32));
    TRY(field(v, "args", path, s.args, list_of(with(read_seccomp_arg, unknown))));
    return s;
}

Result<Seccomp> read_seccomp(const Json& v, const std::string& path, std::vector<std::string>& unknown) {
    TRY(object_with(v, path,
                    {"defaultAction", "defaultErrnoRet", "architectures", "flags", "listenerPath",
                     "listenerMetadata", "syscalls"},
                    unknown));
    Seccomp s;
    s.default_action = TRY(one_of(*TRY(required(v, "defaultAction", path)), join(path, "defaultAction"),
                                  kSeccompActions, "action"));
    TRY(field(v, "defaultErrnoRet", path, s.default_errno_ret, to_u32));
    TRY(field(v, "architectures", path, s.architectures, to_strs));
    TRY(field(v, "flags", path, s.flags, to_strs));
    TRY(field(v, "listenerPath", path, s.listener_path, to_str));
    TRY(field(v, "listenerMetadata", path, s.listener_metadata, to_str));
    TRY(field(v, "syscalls", path, s.syscalls, list_of(with(read_seccomp_syscall, unknown))));
    return s;
}

// ---- hooks ----

Result<Hook> read_hook(const Json& v, const std::string& path, std::vector<std::string>& unknown) {
    TRY(object_with(v, path, {"path", "args", "env", "timeout"}, unknown));
    Hook h;
    h.path = TRY(to_str(*TRY(required(v, "path", path)), join(path, "path")));
    if (!is_absolute(h.path)) return fail(join(path, "path") + ": must be an absolute path");
    TRY(field(v, "args", path, h.args, to_strs));
    TRY(field(v, "env", path, h.env, to_strs));
    TRY(field(v, "timeout", path, h.timeout, to_int));
    if (h.timeout && *h.timeout <= 0) return fail(join(path, "timeout") + ": must be greater than zero");
    return h;
}

// ---- writers ----

Json write_process(const Process& p) {
    Json j = Json::object();
    j["terminal"] = p.terminal;
    if (p.console_size)
        j["consoleSize"] = {{"height", p.console_size->height}, {"width", p.console_size->width}};
    Json user = {{"uid", p.user.uid}, {"gid", p.user.gid}};
    if (p.user.umask) user["umask"] = *p.user.umask;
    if (!p.user.additional_gids.empty()) user["additionalGids"] = p.user.additional_gids;
    if (!p.user.username.empty()) user["username"] = p.user.username;
    j["user"] = std::move(user);
    j["args"] = p.args;
    if (!p.command_line.empty()) j["commandLine"] = p.command_line;
    j["env"] = p.env;
    j["cwd"] = p.cwd;
    if (p.capabilities) {
        Json caps = Json::object();
        const auto& c = *p.capabilities;
        if (c.bounding) caps["bounding"] = *c.bounding;
        if (c.effective) caps["effective"] = *c.effective;
        if (c.inheritable) caps["inheritable"] = *c.inheritable;
        if (c.permitted) caps["permitted"] = *c.permitted;
        if (c.ambient) caps["ambient"] = *c.ambient;
        j["capabilities"] = std::move(caps);
    }
    if (!p.rlimits.empty()) {
        Json rl = Json::array();
        for (const auto& r : p.rlimits)
            rl.push_back({{"type", r.type}, {"soft", r.soft}, {"hard", r.hard}});
        j["rlimits"] = std::move(rl);
    }
    j["noNewPrivileges"] = p.no_new_privileges;
    if (!p.apparmor_profile.empty()) j["apparmorProfile"] = p.apparmor_profile;
    if (p.oom_score_adj) j["oomScoreAdj"] = *p.oom_score_adj;
    if (!p.selinux_label.empty()) j["selinuxLabel"] = p.selinux_label;
    if (p.io_priority_class) j["ioPriority"] = {{"class", *p.io_priority_class}};
    return j;
}

Json write_seccomp(const Seccomp& s) {
    Json j = {{"defaultAction", s.default_action}};
    if (s.default_errno_ret) j["defaultErrnoRet"] = *s.default_errno_ret;
    if (!s.architectures.empty()) j["architectures"] = s.architectures;
    if (!s.flags.empty()) j["flags"] = s.flags;
    if (!s.listener_path.empty()) j["listenerPath"] = s.listener_path;
    if (!s.listener_metadata.empty()) j["listenerMetadata"] = s.listener_metadata;
    Json syscalls = Json::array();
    for (const auto& sc : s.syscalls) {
        Json o = {{"names", sc.names}, {"action", sc.action}};
        if (sc.errno_ret) o["errnoRet"] = *sc.errno_ret;
        if (!sc.args.empty()) {
            Json args = Json::array();
            for (const auto& a : sc.args)
                args.push_back(
                    {{"index", a.index}, {"value", a.value}, {"valueTwo", a.value_two}, {"op", a.op}});
            o["args"] = std::move(args);
        }
        syscalls.push_back(std::move(o));
    }
    j["syscalls"] = std::move(syscalls);
    return j;
}

Json write_hook(const Hook& h) {
    Json j = {{"path", h.path}};
    if (!h.args.empty()) j["args"] = h.args;
    if (!h.env.empty()) j["env"] = h.env;
    if (h.timeout) j["timeout"] = *h.timeout;
    return j;
}

} // namespace lxcri::spec::json
