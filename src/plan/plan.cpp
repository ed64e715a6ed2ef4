// Spec -> Plan: copy what the runtime honours, list every field it does not as a Gap.
#include "plan/plan.hpp"
#include "spec/capabilities.hpp"

#include <algorithm>
#include <filesystem>
#include <set>

namespace lxcri::plan {

bool Plan::has_namespace(std::string_view type) const {
    return find_namespace(type) != nullptr;
}

const spec::Namespace* Plan::find_namespace(std::string_view type) const {
    for (const auto& ns : namespaces)
        if (ns.type == type) return &ns;
    return nullptr;
}

namespace {

bool is_absolute(const std::string& p) {
    return !p.empty() && p[0] == '/';
}

Result<std::string> resolve_rootfs(const std::string& root, const std::string& bundle) {
    std::filesystem::path p(root);
    if (!p.is_absolute()) {
        if (!is_absolute(bundle))
            return fail("root.path: relative path \"" + root + "\" needs an absolute bundle");
        p = std::filesystem::path(bundle) / p;
    }
    std::string out = p.lexically_normal().string();
    if (out.size() > 1 && out.back() == '/') out.pop_back();
    return out;
}

// Why a top-level or nested key unknown to the typed spec is not honoured.
std::string unknown_reason(const std::string& key) {
    if (key == "solaris" || key == "windows" || key == "vm" || key == "zos" || key == "freebsd")
        return "configuration for another platform; ignored on Linux";
    return "not supported by proxmox-lxcri";
}

void process_gaps(const spec::Process& p, std::vector<Gap>& gaps) {
    if (!p.user.username.empty())
        gaps.push_back({"process.user.username", "Windows only; the process runs as process.user.uid/gid"});
    if (!p.command_line.empty())
        gaps.push_back({"process.commandLine", "Windows only; process.args is used"});
    if (p.io_priority_class) gaps.push_back({"process.ioPriority", "I/O priority is not applied"});
}

void linux_gaps(const spec::Linux& l, std::vector<Gap>& gaps) {
    if (l.has_intel_rdt) gaps.push_back({"linux.intelRdt", "Intel RDT (resctrl) is not supported"});
    if (l.personality_domain && *l.personality_domain != "LINUX")
        gaps.push_back(
            {"linux.personality", "execution domain " + *l.personality_domain + " is not applied"});
    if (l.has_time_offsets) gaps.push_back({"linux.timeOffsets", "time namespace offsets are not applied"});
    if (l.resources) {
        if (l.resources->network_class_id)
            gaps.push_back({"linux.resources.network.classID", "the net_cls controller is not supported"});
        if (!l.resources->network_priorities.empty())
            gaps.push_back(
                {"linux.resources.network.priorities", "the net_prio controller is not supported"});
    }
}

void copy_linux(const spec::Linux& l, Plan& p) {
    p.namespaces = l.namespaces;
    p.uid_mappings = l.uid_mappings;
    p.gid_mappings = l.gid_mappings;
    p.devices = l.devices;
    if (l.resources) p.resources = *l.resources;
    // Not honoured (gaps): keep them out of the plan so no backend applies half of them.
    p.resources.network_class_id.reset();
    p.resources.network_priorities.clear();
    p.cgroups_path = l.cgroups_path;
    p.sysctl = l.sysctl;
    p.seccomp = l.seccomp;
    p.masked_paths = l.masked_paths;
    p.readonly_paths = l.readonly_paths;
    p.rootfs_propagation = l.rootfs_propagation;
    p.mount_label = l.mount_label;
}

// runc resolves a relative bind-mount source against the bundle directory.
void resolve_bind_sources(std::vector<spec::Mount>& mounts, const std::string& bundle) {
    for (auto& m : mounts)
        if (m.is_bind() && !m.source.empty() && !is_absolute(m.source) && is_absolute(bundle))
            m.source = (std::filesystem::path(bundle) / m.source).lexically_normal().string();
}

// runc refuses these: without a namespace of its own the host's names would change.
Status check_uts(const Plan& p) {
    if (p.has_namespace("uts")) return ok();
    if (!p.hostname.empty()) return fail("hostname: setting the hostname needs a uts namespace");
    if (!p.domainname.empty()) return fail("domainname: setting the domain name needs a uts namespace");
    return ok();
}

std::string gap_list(const std::vector<Gap>& gaps) {
    std::string out;
    for (const auto& g : gaps)
        out += (out.empty() ? "" : "; ") + g.field + " (" + g.reason + ")";
    return out;
}

} // namespace

// Capability names this runtime knows (CAP_CHOWN .. CAP_CHECKPOINT_RESTORE); anything else cannot be mapped
// to the kernel and is an error (runtime-spec config.md, linux process), as in runc.
Status check_capabilities(const spec::Process& proc) {
    if (!proc.capabilities) return ok();
    const auto& c = *proc.capabilities;
    const std::pair<const char*, const std::optional<std::vector<std::string>>*> sets[] = {
        {"bounding", &c.bounding},
        {"effective", &c.effective},
        {"inheritable", &c.inheritable},
        {"permitted", &c.permitted},
        {"ambient", &c.ambient}};
    for (const auto& [name, set] : sets) {
        if (!*set) continue;
        for (const auto& cap : **set)
            if (!spec::capability_number(cap))
                return fail("process.capabilities." + std::string(name) + ": unknown capability \"" + cap +
                            "\"");
    }
    return ok();
}

Result<Plan> make_plan(const spec::Spec& s, const Options& opts) {
    if (!s.process) return fail("process: required to create a container");
    Plan p;
    p.id = opts.id;
    p.bundle = opts.bundle;
    p.rootfs = TRY(resolve_rootfs(s.root.path, opts.bundle));
    p.rootfs_readonly = s.root.readonly;
    p.hostname = s.hostname;
    p.domainname = s.domainname;
    p.process = *s.process;
    p.mounts = s.mounts;
    p.hooks = s.hooks;
    p.annotations = s.annotations;
    if (s.linux_) copy_linux(*s.linux_, p);
    resolve_bind_sources(p.mounts, opts.bundle);
    TRY(check_uts(p));

    TRY(check_capabilities(p.process));
    process_gaps(p.process, p.gaps);
    for (size_t i = 0; i < s.mounts.size(); ++i)
        if (s.mounts[i].has_idmap)
            p.gaps.push_back(
                {"mounts[" + std::to_string(i) + "]", "idmapped mounts (uidMappings/gidMappings) are not "
                                                      "supported; " +
                                                          s.mounts[i].destination + " is mounted unmapped"});
    if (s.linux_) linux_gaps(*s.linux_, p.gaps);
    for (const auto& key : s.unknown_keys)
        p.gaps.push_back({key, unknown_reason(key)});

    if (opts.strict && !p.gaps.empty())
        return fail("strict mode: spec fields not honoured: " + gap_list(p.gaps));
    return p;
}

bool seccomp_notifies(const spec::Seccomp& sc) {
    for (const auto& call : sc.syscalls)
        if (call.action == "SCMP_ACT_NOTIFY") return true;
    return false;
}

} // namespace lxcri::plan
