#include "runtime/common.hpp"

#include "cgroup/cgroup.hpp"
#include "cgroup/systemd.hpp"
#include "runtime/image.hpp"
#include "sys/fd.hpp"
#include "sys/fs.hpp"
#include "sys/log.hpp"
#include "sys/proc.hpp"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

namespace lxcri::runtime {

std::string absolute_path(const std::string& p) {
    if (!p.empty() && p[0] == '/') return p;
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) return p;
    std::string base = cwd;
    if (p.empty() || p == ".") return base;
    std::string rel = p.starts_with("./") ? p.substr(2) : p;
    return base + "/" + rel;
}

Status write_pid_file(const std::string& path, pid_t pid) {
    if (path.empty()) return ok();
    return sys::write_file_atomic(absolute_path(path), std::to_string(pid), 0644);
}

Result<int> connect_console_socket(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) return fail("console socket path too long: " + path);
    std::memcpy(addr.sun_path, path.c_str(), path.size());
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail_errno("console socket");
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
        int e = errno;
        close(fd);
        return fail("connect to console socket " + path, e);
    }
    return fd;
}

Result<Locked> open_container(const Store& store, const std::string& id, bool exclusive) {
    auto lock = TRY(const_cast<Store&>(store).lock(id, exclusive));
    auto st = TRY(store.load(id));
    return Locked{std::move(lock), std::move(st)};
}

// lxc.cgroup.dir.* keys from the container's liblxc config: cleaned up even when create died before saving
// paths.
static std::vector<std::string> lxc_cgroup_dirs(const std::string& state_dir) {
    std::vector<std::string> dirs;
    std::ifstream in(state_dir + "/config");
    std::string line;
    while (std::getline(in, line)) {
        for (const char* key : {"lxc.cgroup.dir.container", "lxc.cgroup.dir.monitor", "lxc.cgroup.dir"}) {
            std::string k = key;
            if (line.starts_with(k + " =") || line.starts_with(k + "=")) {
                std::string v = line.substr(line.find('=') + 1);
                v.erase(0, v.find_first_not_of(' '));
                if (!v.empty()) dirs.push_back(v);
            }
        }
    }
    return dirs;
}

Status destroy_container(const Store& store, const State& st) {
    std::string dir = store.dir(st.id);
    cgroup::Mode mode = cgroup::detect();
    std::vector<cgroup::Cgroup> groups;
    if (!st.cgroup_paths.empty()) groups.emplace_back(st.cgroup_paths, mode);
    for (auto& d : lxc_cgroup_dirs(dir))
        groups.push_back(cgroup::Cgroup::for_path(d, mode));
    // systemd driver: the whole scope (liblxc's directories and the monitor's pivot are inside it).
    if (!st.systemd_scope.empty()) groups.push_back(cgroup::Cgroup::for_path(st.systemd_scope, mode));

    pid_t monitor = st.monitor_pid;
    uint64_t monitor_start = st.monitor_start_time;
    if (monitor <= 0) {
        if (auto t = sys::read_file(dir + "/monitor.pid")) {
            monitor = std::atoi(t->c_str());
            monitor_start = 0;
        }
    }
    if (st.init_alive()) ::kill(st.init_pid, SIGKILL);
    for (auto& g : groups)
        (void)g.kill_all(SIGKILL);
    if (monitor > 0 && sys::process_alive(monitor, monitor_start)) {
        if (!sys::wait_gone(monitor, std::chrono::seconds(10))) {
            ::kill(monitor, SIGKILL);
            sys::wait_gone(monitor, std::chrono::seconds(5));
        }
    }
    Status result = ok();
    if (!st.systemd_scope.empty()) {
        std::string unit = st.systemd_scope.substr(st.systemd_scope.rfind('/') + 1);
        result = cgroup::systemd::stop_unit(unit, std::chrono::seconds(30));
    }
    for (auto& g : groups) {
        if (auto r = g.destroy(); !r && result) result = std::unexpected(std::move(r).error());
    }
    if (!result) return std::unexpected(std::move(result).error().context("remove cgroups of " + st.id));
    // poststop hooks: failures are logged, not fatal (runtime-spec).
    if (auto spec = spec::load(st.bundle); spec && !spec->hooks.poststop.empty()) {
        State stopped = st;
        stopped.creating = false;
        if (auto r = run_hooks(spec->hooks.poststop, "poststop", oci_state_json(stopped, 0)); !r)
            log::warn(r.error().message());
    }
    // A container made from an image (runtime/create_image.cpp): unmount and remove its rootfs and bundle.
    if (!st.bundle.empty()) TRY_CTX(release_storage(st.bundle), "release rootfs of " + st.id);
    return store.remove(st.id);
}

} // namespace lxcri::runtime
