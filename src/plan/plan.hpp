// The backend-neutral plan: what the runtime will do for one container, derived purely from the spec.
// make_plan() is a pure function (no I/O beyond what is passed in) and is golden-tested.
#pragma once
#include "base/result.hpp"
#include "spec/spec.hpp"

#include <string>
#include <vector>

namespace lxcri::plan {

using Gap = spec::Gap;

struct Options {
    std::string id;
    std::string bundle; // absolute bundle directory; relative root.path resolves against it
    bool strict = false;
};

struct Plan {
    std::string id;
    std::string bundle;
    std::string rootfs; // absolute path
    bool rootfs_readonly = false;
    std::string hostname, domainname;

    spec::Process process; // executed by the init helper (see InitConfig)
    std::vector<spec::Mount> mounts;
    std::vector<spec::Namespace> namespaces; // new ones (path empty) and joined ones (path set)
    std::vector<spec::IdMapping> uid_mappings, gid_mappings;
    std::vector<spec::DeviceNode> devices;
    spec::Resources resources;
    std::string cgroups_path;
    std::map<std::string, std::string> sysctl;
    std::optional<spec::Seccomp> seccomp;
    std::vector<std::string> masked_paths, readonly_paths;
    std::string rootfs_propagation;
    std::string mount_label;
    spec::Hooks hooks;
    std::map<std::string, std::string> annotations;

    std::vector<Gap> gaps;

    bool has_namespace(std::string_view type) const;
    const spec::Namespace* find_namespace(std::string_view type) const;
};

// Spec -> Plan. Fails only on a spec that cannot run at all (or on any gap when opts.strict).
Result<Plan> make_plan(const spec::Spec& spec, const Options& opts);

// What the in-container init helper reads (JSON file) before it execs the user process.
struct InitConfig {
    spec::Process process;
    std::optional<spec::Seccomp> seccomp;
    bool readonly_root = false;
    std::vector<std::string> masked_paths, readonly_paths;
    // Made read-only by init after the device nodes, before the readonly paths: the mounts of options "rro"
    // (recursively, mount_setattr(MOUNT_ATTR_RDONLY, AT_RECURSIVE) as runc 1.2 does; liblxc has no such
    // option) and a spec /dev tmpfs with "ro" (that mount only, once its nodes exist: runc's way). runc 1.2
    // sets rro right after that mount; here it comes after all of them, so a later spec mount below an rro
    // destination is read-only too.
    std::vector<std::string> recursive_readonly_mounts;
    bool readonly_dev = false;
    std::vector<spec::Hook> start_container_hooks;
    std::vector<spec::DeviceNode>
        devices;                    // linux.devices made with mknod by init (no user namespace: runc's way)
    std::string rootfs_propagation; // applied to / by init after liblxc's pivot_root (runc's way)
    std::string fifo;               // path inside the container; opened and read until start
    std::string cleanup_dir;        // helper mount to detach before exec (empty: none)
    int console_fd = -1;            // inherited socket to send the pty master over (terminal=true)
    int preserve_fds = 0;           // fds 3..3+n-1 kept open for the process
    int ready_fd = -1; // inherited unix socket: init sends one byte on it (the kernel adds its pid as
                       // SCM_CREDENTIALS) right before it blocks on the fifo, then closes it. JSON "readyFd".
    // Seccomp notify (plan::seccomp_notifies): where the process hands its notify fd to the runtime, which
    // passes it on to linux.seccomp.listenerPath. seccomp_socket is a unix socket path in the container the
    // init connects to after start (the runtime listens on it); seccomp_fd an inherited connected socket
    // (exec). Over it the process writes the fd's number in decimal right after loading the filter and waits
    // for one byte (0: the runtime took it with pidfd_getfd and gave it to the agent) before it goes on to
    // execve.
    std::string seccomp_socket;
    int seccomp_fd = -1;
};

// Whether the profile has SCMP_ACT_NOTIFY rules (the filter then has a notify fd for listenerPath's agent).
bool seccomp_notifies(const spec::Seccomp& sc);

InitConfig make_init_config(const Plan& plan);
std::string init_config_to_json(const InitConfig& cfg);
Result<InitConfig> init_config_from_json(std::string_view json_text);

} // namespace lxcri::plan
