#include "runtime/common.hpp"
#include "spec/capabilities.hpp"
#include "sys/fs.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>

namespace lxcri::runtime {

using nlohmann::json;

std::string version_text() {
    return std::string("proxmox-lxcri version ") + LXCRI_VERSION + "\ncommit: " + LXCRI_COMMIT +
           "\nspec: 1.0.2-dev\nliblxc: 5.0\n";
}

// The OCI features document (runtime-spec features.md), as `runc features` prints it.
Status features() {
    json caps = json::array();
    for (auto c : spec::kCapabilityNames)
        caps.push_back(c);
    json j = {
        {"ociVersionMin", "1.0.0"},
        {"ociVersionMax", "1.0.2-dev"},
        {"hooks",
         {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}},
        {"mountOptions",
         {"async",      "atime",    "bind",        "defaults",      "dev",        "diratime",   "dirsync",
          "exec",       "lazytime", "mand",        "noatime",       "nodev",      "nodiratime", "noexec",
          "nolazytime", "nomand",   "norelatime",  "nostrictatime", "nosuid",     "private",    "rbind",
          "relatime",   "remount",  "ro",          "rprivate",      "rshared",    "rslave",     "rw",
          "shared",     "slave",    "strictatime", "sync",          "unbindable", "runbindable"}},
        {"linux",
         {{"namespaces", {"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"}},
          {"capabilities", caps},
          {"cgroup", {{"v1", true}, {"v2", true}, {"systemd", true}, {"systemdUser", false}}},
          {"seccomp",
           {{"enabled", true},
            {"actions",
             {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
              "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"}},
            {"operators",
             {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ",
              "SCMP_CMP_NE"}},
            {"archs",
             {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32",
              "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390X", "SCMP_ARCH_RISCV64"}}}},
          {"apparmor", {{"enabled", true}}},
          {"selinux", {{"enabled", true}}}}},
        {"annotations",
         {{"io.github.proxmox-lxcri.backend", "lxc"},
          {"io.github.proxmox-lxcri.liblxc.version", "5.0"},
          {"org.opencontainers.runc.checkpoint.enabled", "true"}}},
    };
    std::printf("%s\n", j.dump(4).c_str());
    return ok();
}

Status info(const Global& g) {
    json j = {
        {"name", "proxmox-lxcri"},
        {"version", LXCRI_VERSION},
        {"commit", LXCRI_COMMIT},
        {"spec", "1.0.2-dev"},
        {"backend", std::string(backend::kDefault)},
        {"root", g.root},
        {"containers", Store(g.root).list().size()},
    };
    // What each backend reports of its host (liblxc version, init helper, cgroups, LSMs for lxc).
    for (auto& name : backend::names()) {
        auto be = backend::open(name);
        if (!be) continue;
        json host = (*be)->host_info();
        j.update(host);
    }
    std::printf("%s\n", j.dump(2).c_str());
    return ok();
}

} // namespace lxcri::runtime
