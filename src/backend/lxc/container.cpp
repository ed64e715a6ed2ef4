#include "backend/lxc/container.hpp"

#include "backend/lxc/mount_targets.hpp"
#include "backend/lxc/outside_binds.hpp"
#include "cgroup/cgroup.hpp"
#include "init/process.hpp"
#include "sys/fd.hpp"
#include "sys/fs.hpp"
#include "sys/log.hpp"
#include "sys/proc.hpp"
#include "sys/socket.hpp"

#include <lxc/lxccontainer.h>

#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

namespace lxcri::lxc {
namespace {

constexpr int kHighFd = 1000;

std::string dirname_of(const std::string& p) {
    auto s = p.rfind('/');
    return s == std::string::npos ? "." : p.substr(0, s);
}

// setns(2) type for an OCI namespace name.
int clone_flag(const std::string& type) {
    if (type == "network") return CLONE_NEWNET;
    if (type == "ipc") return CLONE_NEWIPC;
    if (type == "uts") return CLONE_NEWUTS;
    if (type == "mount") return CLONE_NEWNS;
    if (type == "pid") return CLONE_NEWPID;
    if (type == "user") return CLONE_NEWUSER;
    if (type == "cgroup") return CLONE_NEWCGROUP;
    if (type == "time") return 0x00000080; // CLONE_NEWTIME
    return 0;
}

[[noreturn]] void child_fail(const char* what) {
    dprintf(2, "proxmox-lxcri: monitor: %s: %s\n", what, std::strerror(errno));
    _exit(127);
}

// Namespaces given by path, opened (and ordered: the user namespace first, so that the others are joined
// with its privileges) before the fork, so that the monitor only calls setns.
struct NsJoin {
    sys::Fd fd;
    int flag = 0;
};
Result<std::vector<NsJoin>> open_namespaces(const plan::Plan& plan) {
    std::vector<NsJoin> joins;
    for (auto& ns : plan.namespaces) {
        if (ns.path.empty()) continue;
        sys::Fd fd(open(ns.path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd.valid()) return fail_errno("open namespace " + ns.path);
        joins.push_back({std::move(fd), clone_flag(ns.type)});
    }
    std::stable_sort(joins.begin(), joins.end(),
                     [](auto& a, auto& b) { return a.flag == CLONE_NEWUSER && b.flag != CLONE_NEWUSER; });
    return joins;
}

// Runs in the forked monitor: never returns. It waits for one byte on go_fd first: the runtime has recorded
// its identity (and, with the systemd driver, put it into the scope). Nothing here allocates before liblxc.
[[noreturn]] void run_monitor(const char* id, const char* lxcpath, const Config& cfg,
                              const std::vector<NsJoin>& joins, int preserve_fds, int console_fd,
                              int ready_fd, int go_fd) {
    // Unblock and reset signals inherited from the runtime.
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, nullptr);
    for (int s = 1; s < NSIG; ++s)
        signal(s, SIG_DFL);
    char go = 0;
    ssize_t n;
    do {
        n = read(go_fd, &go, 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1) _exit(127); // the runtime died or could not record us: it reports why
    close(go_fd);

    // Join namespaces given by path before liblxc clones the rest.
    for (auto& j : joins) {
        if (setns(j.fd.get(), j.flag) < 0) child_fail("setns");
    }

    // Lay out fds: 0-2 stdio, 3..3+n-1 preserved, then console, then ready; close the rest (locks included).
    int next = 3 + preserve_fds;
    int hi_console = console_fd >= 0 ? fcntl(console_fd, F_DUPFD_CLOEXEC, kHighFd) : -1;
    int hi_ready = fcntl(ready_fd, F_DUPFD_CLOEXEC, kHighFd + 1);
    if (hi_ready < 0) child_fail("dup ready socket");
    if (hi_console >= 0) {
        if (dup2(hi_console, next++) < 0) child_fail("dup console socket");
    }
    if (dup2(hi_ready, next++) < 0) child_fail("dup ready socket");
    syscall(SYS_close_range, next, ~0U, 0);
    for (int fd = 3; fd < 3 + preserve_fds; ++fd)
        fcntl(fd, F_SETFD, 0);

    // As root, liblxc would write id maps through newuidmap/newgidmap whenever they are on PATH, and those
    // refuse ranges that /etc/subuid does not grant to root. Root may write the maps itself: hide the tools
    // from liblxc.
    if (geteuid() == 0) unsetenv("PATH");
    // The keys are handed to liblxc here rather than through <state dir>/config, which liblxc would parse
    // with the same setters: one file less to write and remove per container (LXCRI_LXC_LOGLEVEL writes
    // them to <state dir>/lxc.conf, for debugging).
    struct lxc_container* c = lxc_container_new(id, lxcpath);
    if (!c) child_fail("lxc_container_new");
    for (const auto& k : cfg.keys) {
        if (!c->set_config_item(c, k.key.c_str(), k.value.c_str())) {
            dprintf(2, "proxmox-lxcri: monitor: liblxc refused %s = %s\n", k.key.c_str(), k.value.c_str());
            _exit(127);
        }
    }
    c->want_daemonize(c, false);
    c->want_close_all_fds(c, false);
    bool ok = c->start(c, 0, nullptr);
    int status = c->error_num;
    if (!ok && status == 0) _exit(127);
    // liblxc 5 reports init killed by a signal as (sig << 8) | 0x7f (built from waitid's siginfo).
    int sig = WIFSIGNALED(status) ? WTERMSIG(status) : ((status & 0xff) == 0x7f ? (status >> 8) & 0x7f : 0);
    if (sig > 0) {
        rlimit no_core{0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        signal(sig, SIG_DFL);
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, sig);
        sigprocmask(SIG_UNBLOCK, &one, nullptr);
        kill(getpid(), sig);
        _exit(128 + sig);
    }
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 127);
}

// Waits for the init helper's ready message; its pid arrives as SCM_CREDENTIALS, translated to our namespace.
Result<pid_t> wait_ready(int sock, pid_t monitor, std::chrono::milliseconds timeout) {
    if (!sys::wait_readable(sock, timeout)) return fail("timed out waiting for the container's init");
    auto msg = sys::receive(sock, 4096);
    if (!msg || msg->data.empty()) return fail("the container's init exited before it was ready");
    // Anything but the one ready byte is the init's error (a check runc makes at create).
    if (msg->data != std::string(1, '\0')) return fail(ErrorKind::Invalid, msg->data);
    if (msg->creds && msg->creds->pid > 0 && msg->creds->pid != monitor) return msg->creds->pid;
    return fail("the container's init sent no credentials");
}

// Host uid/gid of container root when the container has id mappings.
std::optional<std::pair<uid_t, gid_t>> mapped_root(const plan::Plan& plan) {
    auto host_of_zero = [](const std::vector<spec::IdMapping>& maps) -> std::optional<uint32_t> {
        for (auto& m : maps)
            if (m.container_id == 0 && m.size > 0) return m.host_id;
        return std::nullopt;
    };
    auto u = host_of_zero(plan.uid_mappings);
    auto g = host_of_zero(plan.gid_mappings);
    if (!u || !g) return std::nullopt;
    return std::make_pair(static_cast<uid_t>(*u), static_cast<gid_t>(*g));
}

// The monitor's work ends once the init is recorded: the init clears liblxc's parent-death signal when told
// (and says so), then the monitor goes and the init is reparented to the caller's subreaper, as runc's init
// is. The runtime does at delete what the monitor would have done at stop (the cgroups; the namespaces and
// mounts go with the processes).
Status end_monitor(int sock, pid_t monitor, std::chrono::milliseconds timeout) {
    char byte = 1;
    if (::send(sock, &byte, 1, MSG_NOSIGNAL) != 1) return fail_errno("tell the container's init to stay");
    if (!sys::wait_readable(sock, timeout) || ::recv(sock, &byte, 1, 0) != 1)
        return fail("the container's init did not detach from liblxc's monitor");
    if (::kill(monitor, SIGKILL) < 0 && errno != ESRCH) return fail_errno("end the container's monitor");
    int st;
    while (::waitpid(monitor, &st, 0) < 0)
        if (errno != EINTR) return fail_errno("reap the container's monitor");
    return ok();
}

// systemd driver: liblxc creates the container's and the monitor's cgroups inside the delegated scope (it
// must create each final directory itself, so neither can be the scope), and the exiting monitor pivots to
// <scope>/lxc.pivot. Everything then lives in the scope's cgroup and goes away with it.
void place_in_scope(Config& cfg, const std::string& scope) {
    const std::map<std::string, std::string> dirs = {{"lxc.cgroup.dir.container", scope + "/container"},
                                                     {"lxc.cgroup.dir.monitor", scope + "/lxc.monitor"},
                                                     {"lxc.cgroup.dir.monitor.pivot", scope}};
    for (auto& k : cfg.keys)
        if (auto it = dirs.find(k.key); it != dirs.end()) k.value = it->second;
}

// Whether linux.cgroupsPath names a cgroup that exists (in any hierarchy). runc joins such a cgroup; liblxc
// insists on creating the container's directory itself, so the container gets a new child of it and is
// inside its limits. A frozen one is refused, as runc refuses it.
Result<bool> existing_cgroups_path(const plan::Plan& plan, cgroup::Mode mode) {
    std::string rel = TRY(requested_cgroup_dir(plan));
    if (rel.empty()) return false;
    auto cg = cgroup::Cgroup::for_path(rel, mode);
    bool exists = false;
    for (auto& [ctrl, dir] : cg.paths())
        exists = exists || sys::exists(dir);
    if (!exists) return false;
    if (auto frozen = cg.frozen(); frozen && *frozen)
        return fail(ErrorKind::Invalid, "linux.cgroupsPath: cgroup \"" + rel + "\" is frozen");
    // runc's words for a cgroup that has processes already.
    if (auto pids = cg.pids(); pids && !pids->empty())
        log::warn("container's cgroup is not empty: " + std::to_string(pids->size()) + " process(es) found");
    return true;
}

} // namespace

void strip_unavailable_lsm_labels(spec::Process& p) {
    if (!sys::exists("/sys/kernel/security/apparmor")) p.apparmor_profile.clear();
    if (!sys::exists("/sys/fs/selinux/enforce")) p.selinux_label.clear();
}

Result<std::string> find_init_binary() {
    if (const char* e = getenv("LXCRI_INIT"); e && *e) return std::string(e);
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = 0;
        std::string p = dirname_of(self) + "/proxmox-lxcri-init";
        if (sys::exists(p)) return p;
    }
    std::string sys_path = "/usr/libexec/proxmox-lxcri/proxmox-lxcri-init";
    if (sys::exists(sys_path)) return sys_path;
    return fail("cannot find the init helper proxmox-lxcri-init (set LXCRI_INIT)");
}

std::string log_tail(const std::string& state_dir) {
    auto text = sys::read_file(state_dir + "/lxc.log");
    if (!text || text->empty()) return "";
    // Keep the last few ERROR lines, without liblxc's prefix up to the function name.
    std::vector<std::string> lines;
    size_t pos = 0;
    while (pos < text->size()) {
        size_t nl = text->find('\n', pos);
        std::string line = text->substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        pos = nl == std::string::npos ? text->size() : nl + 1;
        if (line.find(" ERROR ") == std::string::npos) continue;
        auto dash = line.find(" - ");
        lines.push_back(dash == std::string::npos ? line : line.substr(dash + 3));
    }
    std::string out;
    size_t from = lines.size() > 3 ? lines.size() - 3 : 0;
    for (size_t i = from; i < lines.size(); ++i)
        out += (out.empty() ? "" : "; ") + lines[i];
    return out;
}

Result<Created> create(const plan::Plan& plan, const CreateRequest& req) {
    std::string helper = req.state_dir + "/helper";
    TRY(sys::mkdir_p(helper, 0711));

    HostEnv env;
    env.helper_dir = helper;
    env.cgroup_mode = cgroup::detect();
    env.v2_controllers = cgroup::hybrid_v2_controllers();
    env.cgroup_hierarchies = cgroup::hierarchy_dirs();
    env.apparmor_enabled = sys::exists("/sys/kernel/security/apparmor");
    env.selinux_enabled =
        sys::exists("/sys/fs/selinux/enforce"); // same probes as strip_unavailable_lsm_labels
    env.cgroup_suffix = default_cgroup_suffix(req.lxcpath);
    // runc's detectWeightFilenames: without blkio.weight (CFQ) the bfq names.
    env.blkio_bfq_only =
        sys::exists("/sys/fs/cgroup/blkio/cgroup.procs") && !sys::exists("/sys/fs/cgroup/blkio/blkio.weight");
    if (req.scope_cgroup.empty()) env.cgroups_path_exists = TRY(existing_cgroups_path(plan, env.cgroup_mode));
    env.log_file = req.state_dir + "/lxc.log";
    // liblxc's own log (<state dir>/lxc.log) stays at ERROR unless LXCRI_LXC_LOGLEVEL asks for more (TRACE,
    // DEBUG).
    const char* lvl = getenv("LXCRI_LXC_LOGLEVEL");
    env.log_level = lvl && *lvl ? lvl : "ERROR";
    auto cfg = TRY_CTX(lxc_config(plan, env), "map the spec onto liblxc");
    if (req.strict && !cfg.gaps.empty()) {
        std::string all;
        for (auto& g : cfg.gaps)
            all += (all.empty() ? "" : "; ") + g.field + ": " + g.reason;
        return fail("--strict: unsupported fields: " + all);
    }
    if (!req.scope_cgroup.empty()) place_in_scope(cfg, req.scope_cgroup);
    // The static init helper itself, bound over an empty file inside the helper mount.
    TRY(sys::write_file_atomic(helper + "/" + kInitName, "", 0755));
    add_mount(
        cfg,
        {req.init_binary, std::string(kHelperMount + 1) + "/" + kInitName, "none", {"bind", "ro"}, "", ""});
    // Every mount target resolved inside the rootfs and created there, before liblxc sees it.
    TRY_CTX(resolve_mount_targets(cfg, plan.rootfs), "mount destinations");
    // In a user namespace, the binds the container's root could not reach are made from the host side.
    std::vector<OutsideBind> outside;
    if (auto owner = mapped_root(plan))
        outside = TRY_CTX(take_unreachable_binds(cfg, owner->first, owner->second), "mount sources");
    // Not named "config": liblxc would load that file too and see every key twice.
    if (lvl && *lvl) TRY(sys::write_file_atomic(req.state_dir + "/lxc.conf", to_text(cfg), 0600));

    plan::InitConfig ic = plan::make_init_config(plan);
    strip_unavailable_lsm_labels(ic.process);
    int next = 3 + req.preserve_fds;
    ic.preserve_fds = req.preserve_fds;
    ic.console_fd = req.console_fd >= 0 ? next++ : -1;
    ic.ready_fd = next;
    // Seccomp notify: `start` listens there for the init's notify fd (lxc::start).
    if (plan.seccomp && plan::seccomp_notifies(*plan.seccomp))
        ic.seccomp_socket = std::string(kHelperMount) + "/seccomp.sock";
    TRY(sys::write_file_atomic(helper + "/init.json", plan::init_config_to_json(ic), 0600));
    std::string fifo = helper + "/fifo";
    if (mkfifo(fifo.c_str(), 0600) < 0) return fail_errno("mkfifo " + fifo);
    // In a user namespace the init runs as the host id mapped to container root: give it its two files.
    if (auto owner = mapped_root(plan)) {
        for (const char* f : {"/init.json", "/fifo"}) {
            std::string path = helper + f;
            if (chown(path.c_str(), owner->first, owner->second) < 0) return fail_errno("chown " + path);
        }
    }

    auto joins = TRY(open_namespaces(plan));

    int sp[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) return fail_errno("socketpair");
    sys::Fd ours(sp[0]), theirs(sp[1]);
    int one = 1;
    if (setsockopt(ours.get(), SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0)
        return fail_errno("SO_PASSCRED");
    int go[2];
    if (pipe2(go, O_CLOEXEC) < 0) return fail_errno("pipe");
    sys::Fd go_r(go[0]), go_w(go[1]);

    pid_t monitor = fork();
    if (monitor < 0) return fail_errno("fork monitor");
    if (monitor == 0) {
        ours.reset();
        go_w.reset();
        run_monitor(plan.id.c_str(), req.lxcpath.c_str(), cfg, joins, req.preserve_fds, req.console_fd,
                    theirs.get(), go_r.get());
    }
    theirs.reset();
    go_r.reset();
    joins.clear();

    auto reap_error = [&](Error e) -> Result<Created> {
        kill(monitor, SIGKILL);
        int st;
        waitpid(monitor, &st, 0);
        std::string lxc_err = log_tail(req.state_dir);
        if (lxc_err.empty()) return std::unexpected(std::move(e));
        return fail(e.message() + ": " + lxc_err);
    };
    // The cgroup directories liblxc is about to make (the caller notes which of them did not exist) and the
    // monitor are recorded together, before the monitor may do anything (one state write: the monitor waits
    // on go_r, and exits if we die before we release it); with the systemd driver, it is put inside its
    // scope before liblxc runs.
    if (req.cgroups_planned) {
        std::vector<std::string> rel;
        for (const auto& k : cfg.keys)
            if (k.key == "lxc.cgroup.dir.container" || k.key == "lxc.cgroup.dir.monitor")
                rel.push_back(k.value);
        if (auto r = req.cgroups_planned(rel); !r) return reap_error(std::move(r).error());
    }
    if (req.monitor_forked) {
        if (auto r = req.monitor_forked(monitor); !r) return reap_error(std::move(r).error());
    }
    // After they are recorded: the cpuset parents made here are the create's like those liblxc makes.
    for (const auto& k : cfg.keys)
        if (k.key == "lxc.cgroup.dir.container") {
            if (auto r = cgroup::prepare_cpuset_parents(k.value); !r)
                return reap_error(std::move(r).error().with_context("cpuset"));
        }
    if (req.enter_scope) {
        if (auto r = req.enter_scope(monitor); !r) return reap_error(std::move(r).error());
    }
    char byte = 1;
    if (write(go_w.get(), &byte, 1) != 1) return reap_error(Error("release the monitor", errno));
    go_w.reset();
    auto init_pid = wait_ready(ours.get(), monitor, req.timeout);
    if (!init_pid) return reap_error(std::move(init_pid).error());
    if (auto r = mount_outside_binds(outside, *init_pid); !r) return reap_error(std::move(r).error());

    Created out;
    out.monitor_pid = monitor;
    out.init_pid = *init_pid;
    out.gaps = cfg.gaps;
    auto cg = cgroup::Cgroup::of_pid(*init_pid);
    if (!cg) return reap_error(std::move(cg).error());
    out.cgroup_paths = cg->paths();
    if (req.init_ready) {
        if (auto r = req.init_ready(out.init_pid, out.cgroup_paths); !r)
            return reap_error(std::move(r).error());
    }
    if (auto r = end_monitor(ours.get(), monitor, req.timeout); !r) return reap_error(std::move(r).error());
    return out;
}

Status write_start(const std::string& state_dir, pid_t init_pid, uint64_t init_start_time,
                   const std::string& state_json, std::chrono::steady_clock::time_point deadline) {
    std::string fifo = state_dir + "/helper/fifo";
    // The init opens the fifo right after it reported ready; retry briefly for that window.
    while (std::chrono::steady_clock::now() < deadline) {
        int fd = open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) {
            sys::Fd f(fd);
            // The init reads until EOF: the state is what its startContainer hooks get on stdin.
            fcntl(fd, F_SETFL, 0);
            std::string_view rest = state_json;
            while (!rest.empty()) {
                ssize_t n = write(fd, rest.data(), rest.size());
                if (n < 0 && errno == EINTR) continue;
                if (n < 0) return fail_errno("write " + fifo);
                rest.remove_prefix(static_cast<size_t>(n));
            }
            return ok();
        }
        if (errno != ENXIO) return fail_errno("open " + fifo);
        if (!sys::process_alive(init_pid, init_start_time)) return fail("container init exited before start");
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return fail("timed out waiting for the container's init to accept start");
}

} // namespace lxcri::lxc
