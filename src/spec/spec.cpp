// config.json -> typed, validated Spec.
#include "spec/spec.hpp"

#include "spec/input.hpp"
#include "spec/json.hpp"
#include "sys/fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <limits>
#include <set>

namespace lxcri::spec {

using namespace json;

namespace {

using Unknown = std::vector<std::string>;

bool is_absolute(const std::string& p) {
    return !p.empty() && p[0] == '/';
}

Result<uint16_t> to_u16(const Json& v, const std::string& path) {
    uint64_t n = TRY(to_u64(v, path));
    if (n > std::numeric_limits<uint16_t>::max()) return fail(path + ": value out of range (16 bits)");
    return static_cast<uint16_t>(n);
}

Result<std::map<std::string, std::string>> to_str_map(const Json& v, const std::string& path) {
    TRY(expect_object(v, path));
    std::map<std::string, std::string> out;
    for (const auto& [k, val] : v.items())
        out[k] = TRY(to_str(val, join(path, k)));
    return out;
}

// ---- linux.resources ----

Result<DeviceRule> read_device_rule(const Json& v, const std::string& path, Unknown& unknown) {
    TRY(object_with(v, path, {"allow", "type", "major", "minor", "access"}, unknown));
    DeviceRule d;
    d.allow = TRY(to_bool(*TRY(required(v, "allow", path)), join(path, "allow")));
    TRY(field(v, "type", path, d.type, to_str));
    TRY(field(v, "major", path, d.major, to_i64));
    TRY(field(v, "minor", path, d.minor, to_i64));
    TRY(field(v, "access", path, d.access, to_str));
    if (d.type.empty()) d.type = "a";
    if (d.type != "a" && d.type != "b" && d.type != "c")
        return fail(join(path, "type") + ": unknown device type \"" + d.type + "\" (a, b or c)");
    if (d.access.empty()) d.access = "rwm";
    if (d.access.find_first_not_of("rwma") != std::string::npos)
        return fail(join(path, "access") + ": invalid access \"" + d.access + "\" (letters r, w, m)");
    // runc 1.1 takes "a" among the letters (as in "rwa"); here it stands for all three.
    if (d.access.find('a') != std::string::npos) d.access = "rwm";
    if ((d.major && *d.major < -1) || (d.minor && *d.minor < -1))
        return fail(path + ": device numbers must not be negative");
    return d;
}

Result<Memory> read_memory(const Json& v, const std::string& path, Unknown& unknown) {
    TRY(object_with(v, path,
                    {"limit", "reservation", "swap", "kernel", "kernelTCP", "swappiness", "disableOOMKiller",
                     "useHierarchy", "checkBeforeUpdate"},
                    unknown));
    Memory m;
    TRY(field(v, "limit", path, m.limit, to_i64));
    TRY(field(v, "reservation", path, m.reservation, to_i64));
    TRY(field(v, "swap", path, m.swap, to_i64));
    TRY(field(v, "kernel", path, m.kernel, to_i64));
    TRY(field(v, "kernelTCP", path, m.kernel_tcp, to_i64));
    TRY(field(v, "swappiness", path, m.swappiness, to_u64));
    TRY(field(v, "disableOOMKiller", path, m.disable_oom_killer, to_bool));
    TRY(field(v, "useHierarchy", path, m.use_hierarchy, to_bool));
    TRY(field(v, "checkBeforeUpdate", path, m.check_before_update, to_bool));
    return m;
}

Result<Cpu> read_cpu(const Json& v, const std::string& path, Unknown& unknown) {
    TRY(object_with(
        v, path, {"shares", "quota", "period", "realtimeRuntime", "realtimePeriod", "cpus", "mems", "idle"},
        unknown));
    Cpu c;
    TRY(field(v, "shares", path, c.shares, to_u64));
    TRY(field(v, "quota", path, c.quota, to_i64));
    TRY(field(v, "period", path, c.period, to_u64));
    TRY(field(v, "realtimeRuntime", path, c.realtime_runtime, to_i64));
    TRY(field(v, "realtimePeriod", path, c.realtime_period, to_u64));
    TRY(field(v, "cpus", path, c.cpus, to_str));
    TRY(field(v, "mems", path, c.mems, to_str));
    TRY(field(v, "idle", path, c.idle, to_i64));
    return c;
}

Result<WeightDevice> read_weight_device(const Json& v, const std::string& path, Unknown& unknown) {
    TRY(object_with(v, path, {"major", "minor", "weight", "leafWeight"}, unknown));
    WeightDevice d;
    d.major = TRY(to_i64(*TRY(required(v, "major", path)), join(path, "major")));
    d.minor = TRY(to_i64(*TRY(required(v, "minor", path)), join(path, "minor")));
    TRY(field(v, "weight", path, d.weight, to_u16));
    TRY(field(v, "leafWeight", path, d.leaf_weight, to_u16));
    return d;
}

Result<ThrottleDevice> read_throttle_device(const Json& v, const std::string& path, Unknown& unknown) {
    TRY(object_with(v, path, {"major", "minor", "rate"}, unknown));
    ThrottleDevice d;
    d.major = TRY(to_i64(*TRY(required(v, "major", path)), join(path, "major")));
    d.minor = TRY(to_i64(*TRY(required(v, "minor", path)), join(path, "minor")));
    d.rate = TRY(to_u64(*TRY(required(v, "rate", path)), join(path, "rate")));
    return d;
}

Result<BlockIO> read_block_io(const Json& v, const std::string& path, Unknown& unknown) {
    TRY(object_with(v, path,
                    {"weight", "leafWeight", "weightDevice", "throttleReadBpsDevice",
                     "throttleWriteBpsDevice", "throttleReadIOPSDevice", "throttleWriteIOPSDevice"},
                    unknown));
    BlockIO b;
    auto throttle = list_of(with(read_throttle_device, unknown));
    TRY(field(v, "weight", path, b.weight, to_u16));
    TRY(field(v, "leafWeight", path, b.leaf_weight, to_u16));
    TRY(field(v, "weightDevice", path, b.weight_device, list_of(with(read_weight_device, unknown))));
    TRY(field(v, "throttleReadBpsDevice", path, b.throttle_read_bps, throttle));
    TRY(field(v, "throttleWriteBpsDevice", path, b.throttle_write_bps, throttle));
    TRY(field(v, "throttleReadIOPSDevice", path, b.throttle_read_iops, throttle));
    TRY(field(v, "throttleWriteIOPSDevice", path, b.throttle_write_iops, throttle));
    return b;
}

Result<HugepageLimit> read_hugepage(const Json& v, const std::string& path, Unknown& unknown) {
    TRY(object_with(v, path, {"pageSize", "limit"}, unknown));
    HugepageLimit h;
    h.page_size = TRY(to_str(*TRY(required(v, "pageSize", path)), join(path, "pageSize")));
    h.limit = TRY(to_u64(*TRY(required(v, "limit", path)), join(path, "limit")));
    if (h.page_size.empty()) return fail(join(path, "pageSize") + ": must not be empty");
    return h;
}

Result<Rdma> read_rdma(const Json& v, const std::string& path, Unknown& unknown) {
    TRY(object_with(v, path, {"hcaHandles", "hcaObjects"}, unknown));
    Rdma r;
    TRY(field(v, "hcaHandles", path, r.hca_handles, to_u32));
    TRY(field(v, "hcaObjects", path, r.hca_objects, to_u32));
    return r;
}

Result<std::pair<std::string, uint32_t>> read_net_priority(const Json& v, const std::string& path,
                                                           Unknown& unknown) {
    TRY(object_with(v, path, {"name", "priority"}, unknown));
    std::pair<std::string, uint32_t> p;
    p.first = TRY(to_str(*TRY(required(v, "name", path)), join(path, "name")));
    p.second = TRY(to_u32(*TRY(required(v, "priority", path)), join(path, "priority")));
    return p;
}

Status read_network(const Json& v, const std::string& path, Resources& r, Unknown& unknown) {
    TRY(object_with(v, path, {"classID", "priorities"}, unknown));
    TRY(field(v, "classID", path, r.network_class_id, to_u32));
    TRY(field(v, "priorities", path, r.network_priorities, list_of(with(read_net_priority, unknown))));
    return ok();
}

Status read_pids(const Json& v, const std::string& path, Resources& r, Unknown& unknown) {
    TRY(object_with(v, path, {"limit"}, unknown));
    r.pids_limit = TRY(to_i64(*TRY(required(v, "limit", path)), join(path, "limit")));
    return ok();
}

Result<std::map<std::string, Rdma>> read_rdma_map(const Json& v, const std::string& path, Unknown& unknown) {
    TRY(expect_object(v, path));
    std::map<std::string, Rdma> out;
    for (const auto& [k, val] : v.items())
        out[k] = TRY(read_rdma(val, join(path, k), unknown));
    return out;
}

} // namespace

namespace json {

Result<Resources> read_resources(const Json& v, const std::string& path, Unknown& unknown) {
    TRY(object_with(
        v, path,
        {"devices", "memory", "cpu", "pids", "blockIO", "hugepageLimits", "network", "rdma", "unified"},
        unknown));
    Resources r;
    TRY(field(v, "devices", path, r.devices, list_of(with(read_device_rule, unknown))));
    TRY(field(v, "memory", path, r.memory, with(read_memory, unknown)));
    TRY(field(v, "cpu", path, r.cpu, with(read_cpu, unknown)));
    if (const Json* m = member(v, "pids")) TRY(read_pids(*m, join(path, "pids"), r, unknown));
    TRY(field(v, "blockIO", path, r.block_io, with(read_block_io, unknown)));
    TRY(field(v, "hugepageLimits", path, r.hugepage_limits, list_of(with(read_hugepage, unknown))));
    if (const Json* m = member(v, "network")) TRY(read_network(*m, join(path, "network"), r, unknown));
    TRY(field(v, "rdma", path, r.rdma, with(read_rdma_map, unknown)));
    TRY(field(v, "unified", path, r.unified, to_str_map));
    return r;
}

} // namespace json

namespace {

// ---- linux ----

constexpr std::array kNamespaces = {"pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"};

Result<Namespace> read_namespace(const Json& v, const std::string& path, Unknown& unknown) {
    TRY(object_with(v, path, {"type", "path"}, unknown));
    Namespace ns;
    ns.type = TRY(to_str(*TRY(required(v, "type", path)), join(path, "type")));
    if (std::find(kNamespaces.begin(), kNamespaces.end(), ns.type) == kNamespaces.end())
        return fail(join(path, "type") + ": unknown namespace type \"" + ns.type + "\"");
    TRY(field(v, "path", path, ns.path, to_str));
    if (!ns.path.empty() && !is_absolute(ns.path))
        return fail(join(path, "path") + ": must be an absolute path");
    return ns;
}

Result<IdMapping> read_id_mapping(const Json& v, const std::string& path, Unknown& unknown) {
    TRY(object_with(v, path, {"containerID", "hostID", "size"}, unknown));
    IdMapping m;
    m.container_id = TRY(to_u32(*TRY(required(v, "containerID", path)), join(path, "containerID")));
    m.host_id = TRY(to_u32(*TRY(required(v, "hostID", path)), join(path, "hostID")));
    m.size = TRY(to_u32(*TRY(required(v, "size", path)), join(path, "size")));
    constexpr uint64_t kIds = uint64_t{1} << 32;
    if (m.size == 0) return fail(join(path, "size") + ": must be greater than zero");
    if (uint64_t{m.container_id} + m.size > kIds || uint64_t{m.host_id} + m.size > kIds)
        return fail(join(path, "size") + ": mapping exceeds the 32-bit id range");
    return m;
}

Result<DeviceNode> device_node(const Json& v, const std::string& path, Unknown& unknown) {
    TRY(object_with(v, path, {"type", "path", "major", "minor", "fileMode", "uid", "gid"}, unknown));
    DeviceNode d;
    d.path = TRY(to_abs_path(*TRY(required(v, "path", path)), join(path, "path")));
    d.type = TRY(to_str(*TRY(required(v, "type", path)), join(path, "type")));
    if (d.type != "c" && d.type != "b" && d.type != "u" && d.type != "p")
        return fail(join(path, "type") + ": unknown device type \"" + d.type + "\" (c, b, u or p)");
    if (d.type != "p") {
        d.major = TRY(to_i64(*TRY(required(v, "major", path)), join(path, "major")));
        d.minor = TRY(to_i64(*TRY(required(v, "minor", path)), join(path, "minor")));
    } else {
        TRY(field(v, "major", path, d.major, to_i64));
        TRY(field(v, "minor", path, d.minor, to_i64));
    }
    if (d.major < 0 || d.minor < 0) return fail(path + ": device numbers must not be negative");
    TRY(field(v, "fileMode", path, d.file_mode, to_u32));
    if (d.file_mode && *d.file_mode > 07777) return fail(join(path, "fileMode") + ": value out of range");
    TRY(field(v, "uid", path, d.uid, to_u32));
    TRY(field(v, "gid", path, d.gid, to_u32));
    return d;
}

Result<std::string> read_personality(const Json& v, const std::string& path, Unknown& unknown) {
    TRY(object_with(v, path, {"domain"}, unknown));
    std::string domain = TRY(to_str(*TRY(required(v, "domain", path)), join(path, "domain")));
    if (domain != "LINUX" && domain != "LINUX32")
        return fail(join(path, "domain") + ": unknown domain \"" + domain + "\" (LINUX or LINUX32)");
    return domain;
}

constexpr std::array kPropagation = {"shared",  "slave",  "private",  "unbindable",
                                     "rshared", "rslave", "rprivate", "runbindable"};

Status check_namespaces(const std::vector<Namespace>& nss, const std::string& path) {
    std::set<std::string> seen;
    for (size_t i = 0; i < nss.size(); ++i)
        if (!seen.insert(nss[i].type).second)
            return fail(index(path, i) + ": duplicate namespace \"" + nss[i].type + "\"");
    return ok();
}

Status check_user_namespace(const Linux& l) {
    auto user =
        std::find_if(l.namespaces.begin(), l.namespaces.end(), [](auto& n) { return n.type == "user"; });
    bool mapped = !l.uid_mappings.empty() || !l.gid_mappings.empty();
    if (user == l.namespaces.end()) {
        if (mapped) return fail("linux.uidMappings: id mappings need a user namespace");
        return ok();
    }
    if (user->path.empty() && (l.uid_mappings.empty() || l.gid_mappings.empty()))
        return fail("linux.uidMappings: a new user namespace needs uid and gid mappings");
    return ok();
}

// Present objects that are only flagged (reported as gaps by the plan); still type-checked.
Result<bool> present_object(const Json& v, const std::string& path) {
    TRY(expect_object(v, path));
    return true;
}

Result<Linux> read_linux(const Json& v, const std::string& path, Unknown& unknown) {
    TRY(object_with(v, path,
                    {"namespaces", "uidMappings", "gidMappings", "timeOffsets", "devices", "cgroupsPath",
                     "resources", "rootfsPropagation", "maskedPaths", "readonlyPaths", "mountLabel",
                     "personality", "intelRdt", "sysctl", "seccomp"},
                    unknown));
    Linux l;
    TRY(field(v, "namespaces", path, l.namespaces, list_of(with(read_namespace, unknown))));
    TRY(field(v, "uidMappings", path, l.uid_mappings, list_of(with(read_id_mapping, unknown))));
    TRY(field(v, "gidMappings", path, l.gid_mappings, list_of(with(read_id_mapping, unknown))));
    TRY(field(v, "timeOffsets", path, l.has_time_offsets, present_object));
    TRY(field(v, "devices", path, l.devices, list_of(with(device_node, unknown))));
    TRY(field(v, "cgroupsPath", path, l.cgroups_path, to_str));
    TRY(field(v, "resources", path, l.resources, with(read_resources, unknown)));
    TRY(field(v, "rootfsPropagation", path, l.rootfs_propagation, to_str));
    TRY(field(v, "maskedPaths", path, l.masked_paths, list_of(to_abs_path)));
    TRY(field(v, "readonlyPaths", path, l.readonly_paths, list_of(to_abs_path)));
    TRY(field(v, "mountLabel", path, l.mount_label, to_str));
    TRY(field(v, "personality", path, l.personality_domain, with(read_personality, unknown)));
    TRY(field(v, "intelRdt", path, l.has_intel_rdt, present_object));
    TRY(field(v, "sysctl", path, l.sysctl, to_str_map));
    TRY(field(v, "seccomp", path, l.seccomp, with(read_seccomp, unknown)));

    TRY(check_namespaces(l.namespaces, join(path, "namespaces")));
    TRY(check_user_namespace(l));
    if (!l.rootfs_propagation.empty() &&
        std::find(kPropagation.begin(), kPropagation.end(), l.rootfs_propagation) == kPropagation.end())
        return fail(join(path, "rootfsPropagation") + ": unknown propagation \"" + l.rootfs_propagation +
                    "\"");
    return l;
}

// ---- top level ----

Result<Root> read_root(const Json& v, const std::string& path, Unknown& unknown) {
    TRY(object_with(v, path, {"path", "readonly"}, unknown));
    Root r;
    r.path = TRY(to_str(*TRY(required(v, "path", path)), join(path, "path")));
    if (r.path.empty()) return fail(join(path, "path") + ": must not be empty");
    TRY(field(v, "readonly", path, r.readonly, to_bool));
    return r;
}

Result<bool> read_idmap_presence(const Json& v, const std::string& path, Unknown& unknown) {
    TRY(list_of(with(read_id_mapping, unknown))(v, path));
    return true;
}

Result<Mount> read_mount(const Json& v, const std::string& path, Unknown& unknown) {
    TRY(object_with(v, path, {"destination", "type", "source", "options", "uidMappings", "gidMappings"},
                    unknown));
    Mount m;
    m.destination = TRY(to_abs_path(*TRY(required(v, "destination", path)), join(path, "destination")));
    TRY(field(v, "type", path, m.type, to_str));
    TRY(field(v, "source", path, m.source, to_str));
    TRY(field(v, "options", path, m.options, to_strs));
    bool uid = false, gid = false;
    TRY(field(v, "uidMappings", path, uid, with(read_idmap_presence, unknown)));
    TRY(field(v, "gidMappings", path, gid, with(read_idmap_presence, unknown)));
    m.has_idmap = uid || gid;
    return m;
}

Result<Hooks> read_hooks(const Json& v, const std::string& path, Unknown& unknown) {
    TRY(object_with(
        v, path, {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"},
        unknown));
    Hooks h;
    auto hooks = list_of(with(read_hook, unknown));
    TRY(field(v, "prestart", path, h.prestart, hooks));
    TRY(field(v, "createRuntime", path, h.create_runtime, hooks));
    TRY(field(v, "createContainer", path, h.create_container, hooks));
    TRY(field(v, "startContainer", path, h.start_container, hooks));
    TRY(field(v, "poststart", path, h.poststart, hooks));
    TRY(field(v, "poststop", path, h.poststop, hooks));
    return h;
}

Result<Spec> read_spec(const Json& v) {
    Spec s;
    Unknown& unknown = s.unknown_keys;
    TRY(expect_object(v, "config"));
    TRY(object_with(v, "",
                    {"ociVersion", "root", "process", "hostname", "domainname", "mounts", "hooks",
                     "annotations", "linux"},
                    unknown));
    s.oci_version = TRY(to_str(*TRY(required(v, "ociVersion", "")), "ociVersion"));
    if (s.oci_version.empty()) return fail("ociVersion: must not be empty");
    s.root = TRY(read_root(*TRY(required(v, "root", "")), "root", unknown));
    TRY(field(v, "process", "", s.process, with(read_process, unknown)));
    TRY(field(v, "hostname", "", s.hostname, to_str));
    TRY(field(v, "domainname", "", s.domainname, to_str));
    TRY(field(v, "mounts", "", s.mounts, list_of(with(read_mount, unknown))));
    TRY(field(v, "hooks", "", s.hooks, with(read_hooks, unknown)));
    TRY(field(v, "annotations", "", s.annotations, to_str_map));
    TRY(field(v, "linux", "", s.linux_, with(read_linux, unknown)));
    return s;
}

// Runs a reader, turning any exception (allocation failure, library bug) into an error.
template <class F> auto guarded(std::string_view what, F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const std::exception& e) {
        return fail(std::string(what) + ": " + e.what());
    }
}

} // namespace

Result<Spec> parse(std::string_view json_text) {
    return guarded("config", [&]() -> Result<Spec> {
        Json v = TRY(parse_text(json_text));
        return read_spec(v);
    });
}

Result<std::string> read_input(const std::string& path, std::string_view name, size_t max_bytes) {
    sys::Fd own;
    int fd = 0;
    if (path != "-") {
        own.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!own.valid()) return fail_errno("open " + path);
        fd = own.get();
    }
    std::string out;
    char buf[1 << 16];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_errno("read " + (path == "-" ? std::string("standard input") : path));
        }
        if (n == 0) return out;
        if (static_cast<size_t>(n) > max_bytes - out.size())
            return fail(std::string(name) + ": larger than " + std::to_string(max_bytes) + " bytes");
        out.append(buf, static_cast<size_t>(n));
    }
}

Result<Loaded> load_text(const std::string& bundle_dir) {
    std::string path = bundle_dir + "/config.json";
    std::string text = TRY_CTX(read_input(path, "config.json"), "load " + path);
    auto sp = TRY_CTX(parse(text), path);
    return Loaded{std::move(sp), std::move(text)};
}

Result<Spec> load(const std::string& bundle_dir) {
    return TRY(load_text(bundle_dir)).spec;
}

Result<Process> load_process(const std::string& path) {
    std::string text = TRY_CTX(read_input(path, "process"), "read process file");
    return TRY_CTX(parse_process(text), "process " + path);
}

Result<Resources> load_resources(const std::string& path) {
    std::string text = TRY_CTX(read_input(path, "resources"), "read resources");
    return TRY_CTX(parse_resources(text), "resources");
}

Result<Process> parse_process(std::string_view json_text) {
    return guarded("process", [&]() -> Result<Process> {
        Json v = TRY(parse_text(json_text));
        Unknown ignored;
        return read_process(v, "process", ignored);
    });
}

Result<Resources> parse_resources(std::string_view json_text) {
    return guarded("resources", [&]() -> Result<Resources> {
        Json v = TRY(parse_text(json_text));
        Unknown ignored;
        return read_resources(v, "resources", ignored);
    });
}

namespace json {

Result<DeviceNode> read_device_node(const Json& v, const std::string& path,
                                    std::vector<std::string>& unknown) {
    return device_node(v, path, unknown);
}

Json write_device_node(const DeviceNode& d) {
    Json j = {{"path", d.path}, {"type", d.type}, {"major", d.major}, {"minor", d.minor}};
    if (d.file_mode) j["fileMode"] = *d.file_mode;
    if (d.uid) j["uid"] = *d.uid;
    if (d.gid) j["gid"] = *d.gid;
    return j;
}

} // namespace json

} // namespace lxcri::spec
