// The runtime API: one function per runc verb (one file each). cli/ only parses arguments and calls these.
// Every verb: lock -> load state -> check the transition -> backend -> save.
#pragma once
#include "base/result.hpp"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lxcri::runtime {

struct Global {
    std::string root = "/run/proxmox-lxcri";
    bool systemd_cgroup = false;
    bool strict = false; // unsupported spec fields are errors
    std::string backend; // --backend: lxc or proxmox; empty: the annotation, the config file, lxc
    std::string criu;    // --criu: the CRIU binary; empty: $LXCRI_CRIU, /usr/local/sbin/criu, criu on $PATH
};

// What a storage driver made for a container (create --image): recorded in its state, released at delete.
struct StorageRef {
    std::string driver, root, id;
    bool operator==(const StorageRef&) const = default;
};

struct CreateOpts {
    std::string id;
    std::string bundle = ".";
    std::string pid_file;
    std::string console_socket;
    int console_fd = -1; // an already connected console socket (run's own terminal); wins over console_socket
    bool no_pivot = false;
    bool no_new_keyring = false;
    int preserve_fds = 0;
    std::string backend;               // empty: backend::kDefault
    std::optional<StorageRef> storage; // the rootfs came from a storage driver: delete releases it
    // run: start(g, id, true) follows at once. The state write that ends the create already says "started"
    // (start's own write before it releases the init, one state write less); a start that fails resets it.
    bool start_follows = false;
    bool foreground = false; // run without -d
};
Status create(const Global& g, const CreateOpts& o);
// finishes_create: the create of `id` ran with start_follows.
Status start(const Global& g, const std::string& id, bool finishes_create = false);

struct RunOpts {
    CreateOpts create;
    bool detach = false;
    bool keep = false;
};
// Exit code of the container (run without -d), 0 when detached.
Result<int> run(const Global& g, const RunOpts& o);

Status state(const Global& g, const std::string& id);
Status kill(const Global& g, const std::string& id, const std::string& signal, bool all);
Status remove(const Global& g, const std::string& id, bool force); // `delete`
Status list(const Global& g, const std::string& format, bool quiet);
Status ps(const Global& g, const std::string& id, const std::string& format,
          const std::vector<std::string>& ps_args);

struct ExecOpts {
    std::string id;
    std::string process_file; // --process
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::string cwd;
    std::string user; // uid[:gid]
    std::vector<std::string> additional_gids;
    std::vector<std::string> caps;
    bool tty = false;
    bool detach = false;
    bool no_new_privs = false;
    std::string pid_file;
    std::string console_socket;
    std::string apparmor, process_label;
    int preserve_fds = 0;
    bool ignore_paused = false;       // --ignore-paused: a paused container's cgroup is joined all the same
    std::vector<std::string> cgroups; // --cgroup [CONTROLLER[,CONTROLLER...]:]SUB, as runc 1.1 takes them
};
// The exit status of the process (128+signal), 0 when detached.
Result<int> exec(const Global& g, const ExecOpts& o);
// exec's --cgroup arguments (runc's getSubCgroupPaths): controller -> sub-cgroup path relative to the
// container's cgroup; a lone SUB without "CONTROLLER:" is key "" (every hierarchy) and must be the only one.
Result<std::map<std::string, std::string>> parse_sub_cgroups(const std::vector<std::string>& args);

Status pause(const Global& g, const std::string& id);
Status resume(const Global& g, const std::string& id);

struct UpdateOpts {
    std::string id;
    std::string resources_file; // "-" = stdin
    std::optional<int64_t> memory, memory_reservation, memory_swap, pids_limit, cpu_quota, cpu_rt_runtime;
    std::optional<uint64_t> cpu_shares, cpu_period, cpu_rt_period, blkio_weight;
    std::string cpuset_cpus, cpuset_mems;
};
Status update(const Global& g, const UpdateOpts& o);
Status events(const Global& g, const std::string& id, bool stats, std::chrono::milliseconds interval);

// runc's checkpoint/restore flags shared by both verbs.
struct CriuFlags {
    std::string image_path; // empty: the seed's form (a checkpoint kept with the container, see below)
    std::string work_path;
    bool tcp_established = false, ext_unix_sk = false, shell_job = false, file_locks = false;
    std::string manage_cgroups_mode;
};

// checkpoint --image-path P: runc's (the container is gone afterwards unless --leave-running).
// checkpoint without --image-path: the seed's; a checkpoint "checkpoint-<unix-time>" kept in the container's
// state (the CRIU images, and a filesystem snapshot when the rootfs came from a storage driver that has
// them); the container stays (stopped unless --leave-running). --list prints the container's checkpoints.
// A backend that keeps snapshots itself (Backend::list_snapshots: PVE's CT snapshots) takes them instead: the
// volumes only, no process state, and no CRIU flag.
struct CheckpointOpts {
    std::string id;
    CriuFlags criu;
    bool leave_running = false;
    bool list = false;
    std::string rm; // --rm NAME: remove that checkpoint
};
Status checkpoint(const Global& g, const CheckpointOpts& o);

// restore --image-path P: runc's, a new container ID from the images and the bundle's config.
// restore without --image-path: the seed's; ID's own checkpoint (the latest, or --snapshot NAME) replaces
// its processes (and its filesystem, when it has a snapshot).
struct RestoreOpts {
    std::string id;
    CriuFlags criu;
    std::string bundle = ".";
    std::string pid_file;
    std::string console_socket;
    std::string snapshot;
    bool detach = false;
    bool no_subreaper = false;
};
// The container's exit code when not detached, else 0.
Result<int> restore(const Global& g, const RestoreOpts& o);

Status spec(const std::string& bundle, bool rootless);
Status features();
Status info(const Global& g);
std::string version_text();

} // namespace lxcri::runtime
