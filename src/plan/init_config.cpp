// InitConfig: what the in-container init helper reads. process/seccomp/hooks use the OCI field names so the
// spec module's strict readers parse them.
#include "plan/plan.hpp"
#include "spec/json.hpp"

#include <algorithm>

namespace lxcri::plan {

using spec::json::Json;

namespace {

// "/dev", "//dev/" -> "/dev": destinations compared as paths.
std::string normal_dest(const std::string& d) {
    std::string out;
    for (char c : d)
        if (c != '/' || out.empty() || out.back() != '/') out += c;
    while (out.size() > 1 && out.back() == '/')
        out.pop_back();
    return out.starts_with('/') ? out : "/" + out;
}

bool has_option(const spec::Mount& m, std::string_view o) {
    return std::find(m.options.begin(), m.options.end(), o) != m.options.end();
}

} // namespace

InitConfig make_init_config(const Plan& plan) {
    InitConfig cfg;
    cfg.process = plan.process;
    cfg.seccomp = plan.seccomp;
    cfg.readonly_root = plan.rootfs_readonly;
    cfg.masked_paths = plan.masked_paths;
    cfg.readonly_paths = plan.readonly_paths;
    for (const auto& m : plan.mounts) {
        std::string dest = normal_dest(m.destination);
        // cgroup filesystems are mounted only at /sys/fs/cgroup (the rest are gaps, not mounted).
        if ((m.type == "cgroup" || m.type == "cgroup2") && dest != "/sys/fs/cgroup") continue;
        if (has_option(m, "rro")) cfg.recursive_readonly_mounts.push_back(dest);
        if (dest == "/dev" && m.type == "tmpfs" && has_option(m, "ro")) cfg.readonly_dev = true;
    }
    cfg.start_container_hooks = plan.hooks.start_container;
    // In a user namespace mknod is refused: lxc_config bind-mounts the host's nodes instead.
    if (!plan.has_namespace("user")) cfg.devices = plan.devices;
    cfg.rootfs_propagation = plan.rootfs_propagation;
    // lxc::kHelperMount and its fifo; plan/ must not include backend headers, so the literal is repeated
    // here.
    cfg.fifo = "/dev/.lxcri/fifo";
    cfg.cleanup_dir = "/dev/.lxcri";
    return cfg;
}

std::string init_config_to_json(const InitConfig& cfg) {
    namespace sj = spec::json;
    Json j = Json::object();
    j["process"] = sj::write_process(cfg.process);
    if (cfg.seccomp) j["seccomp"] = sj::write_seccomp(*cfg.seccomp);
    j["readonlyRoot"] = cfg.readonly_root;
    j["maskedPaths"] = cfg.masked_paths;
    j["readonlyPaths"] = cfg.readonly_paths;
    j["recursiveReadonlyMounts"] = cfg.recursive_readonly_mounts;
    j["readonlyDev"] = cfg.readonly_dev;
    Json hooks = Json::array();
    for (const auto& h : cfg.start_container_hooks)
        hooks.push_back(sj::write_hook(h));
    j["startContainerHooks"] = std::move(hooks);
    Json devices = Json::array();
    for (const auto& d : cfg.devices)
        devices.push_back(sj::write_device_node(d));
    j["devices"] = std::move(devices);
    if (!cfg.rootfs_propagation.empty()) j["rootfsPropagation"] = cfg.rootfs_propagation;
    j["fifo"] = cfg.fifo;
    j["cleanupDir"] = cfg.cleanup_dir;
    j["consoleFd"] = cfg.console_fd;
    j["preserveFds"] = cfg.preserve_fds;
    j["readyFd"] = cfg.ready_fd;
    if (!cfg.seccomp_socket.empty()) j["seccompSocket"] = cfg.seccomp_socket;
    j["seccompFd"] = cfg.seccomp_fd;
    // Strings were validated UTF-8 by the parser; replace keeps dump() from throwing on anything else.
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

namespace {

Result<InitConfig> read_init_config(const Json& v) {
    using namespace spec::json;
    std::vector<std::string> unknown;
    TRY(object_with(v, "init",
                    {"process", "seccomp", "readonlyRoot", "maskedPaths", "readonlyPaths",
                     "startContainerHooks", "fifo", "cleanupDir", "consoleFd", "preserveFds", "readyFd",
                     "devices", "rootfsPropagation", "recursiveReadonlyMounts", "readonlyDev",
                     "seccompSocket", "seccompFd"},
                    unknown));
    if (!unknown.empty()) return fail(unknown.front() + ": unknown key");
    InitConfig cfg;
    cfg.process = TRY(read_process(*TRY(required(v, "process", "init")), "init.process", unknown));
    TRY(field(v, "seccomp", "init", cfg.seccomp, with(read_seccomp, unknown)));
    TRY(field(v, "readonlyRoot", "init", cfg.readonly_root, to_bool));
    TRY(field(v, "maskedPaths", "init", cfg.masked_paths, list_of(to_abs_path)));
    TRY(field(v, "readonlyPaths", "init", cfg.readonly_paths, list_of(to_abs_path)));
    TRY(field(v, "recursiveReadonlyMounts", "init", cfg.recursive_readonly_mounts, list_of(to_abs_path)));
    TRY(field(v, "readonlyDev", "init", cfg.readonly_dev, to_bool));
    TRY(field(v, "startContainerHooks", "init", cfg.start_container_hooks,
              list_of(with(read_hook, unknown))));
    TRY(field(v, "devices", "init", cfg.devices, list_of(with(read_device_node, unknown))));
    TRY(field(v, "rootfsPropagation", "init", cfg.rootfs_propagation, to_str));
    TRY(field(v, "fifo", "init", cfg.fifo, to_str));
    TRY(field(v, "cleanupDir", "init", cfg.cleanup_dir, to_str));
    TRY(field(v, "consoleFd", "init", cfg.console_fd, to_int));
    TRY(field(v, "preserveFds", "init", cfg.preserve_fds, to_int));
    TRY(field(v, "readyFd", "init", cfg.ready_fd, to_int));
    TRY(field(v, "seccompSocket", "init", cfg.seccomp_socket, to_str));
    TRY(field(v, "seccompFd", "init", cfg.seccomp_fd, to_int));
    if (cfg.console_fd < -1) return fail("init.consoleFd: must be -1 or a file descriptor");
    if (cfg.preserve_fds < 0) return fail("init.preserveFds: must not be negative");
    return cfg;
}

} // namespace

Result<InitConfig> init_config_from_json(std::string_view json_text) {
    try {
        Json v = TRY_CTX(spec::json::parse_text(json_text), "init config");
        return TRY_CTX(read_init_config(v), "init config");
    } catch (const std::exception& e) {
        return fail(std::string("init config: ") + e.what());
    }
}

} // namespace lxcri::plan
