// backend::Backend on local liblxc (container.cpp is the executor). The record is LxcRecord: the processes by
// identity (pid + start time), the cgroups, and exactly which cgroup directories and systemd scope this
// create made, so that destroy() removes those and nothing that existed before.
#include "backend/lxc/backend.hpp"

#include "backend/lxc/container.hpp"
#include "backend/lxc/criu.hpp"
#include "backend/lxc/lxc_config.hpp"
#include "cgroup/cgroup.hpp"
#include "cgroup/systemd.hpp"
#include "sys/fs.hpp"
#include "sys/log.hpp"
#include "sys/pidfd.hpp"
#include "sys/proc.hpp"

#include <lxc/lxccontainer.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>
#include <thread>

namespace lxcri::lxc {

using nlohmann::json;

Record Record::from_json(const json& j) {
    Record r;
    if (!j.is_object()) return r;
    r.lxcpath = j.value("lxcpath", "");
    r.init_pid = j.value("initPid", 0);
    r.init_start_time = j.value("initStartTime", uint64_t{0});
    r.monitor_pid = j.value("monitorPid", 0);
    r.monitor_start_time = j.value("monitorStartTime", uint64_t{0});
    r.cgroup_paths = j.value("cgroupPaths", std::map<std::string, std::string>{});
    r.cgroup_mode = j.value("cgroupMode", 0);
    r.cgroup_dirs = j.value("cgroupDirs", std::vector<std::string>{});
    r.preexisting = j.value("preexisting", std::vector<std::string>{});
    r.cgroups_confirmed = j.value("cgroupsConfirmed", false);
    r.systemd_scope = j.value("systemdScope", "");
    r.restore_pending = j.value("restorePending", false);
    r.monitor_cgroups_removed = j.value("monitorCgroupsRemoved", false);
    return r;
}

json Record::to_json() const {
    return {{"lxcpath", lxcpath},
            {"initPid", init_pid},
            {"initStartTime", init_start_time},
            {"monitorPid", monitor_pid},
            {"monitorStartTime", monitor_start_time},
            {"cgroupPaths", cgroup_paths},
            {"cgroupMode", cgroup_mode},
            {"cgroupDirs", cgroup_dirs},
            {"preexisting", preexisting},
            {"cgroupsConfirmed", cgroups_confirmed},
            {"systemdScope", systemd_scope},
            {"restorePending", restore_pending},
            {"monitorCgroupsRemoved", monitor_cgroups_removed}};
}

namespace {

constexpr std::chrono::seconds kSystemdTimeout{30};

cgroup::Mode mode_of(const Record& r) {
    return static_cast<cgroup::Mode>(r.cgroup_mode);
}

bool init_alive(const Record& r) {
    return r.init_start_time != 0 && sys::process_alive(r.init_pid, r.init_start_time);
}
bool monitor_alive(const Record& r) {
    return r.monitor_start_time != 0 && sys::process_alive(r.monitor_pid, r.monitor_start_time);
}

// Every absolute directory a relative cgroup dir stands for on this host.
std::vector<std::string> candidates(const std::string& rel, cgroup::Mode mode) {
    std::set<std::string> out;
    auto cg = cgroup::Cgroup::for_path(rel, mode);
    for (auto& [ctrl, dir] : cg.paths())
        out.insert(dir);
    return {out.begin(), out.end()};
}

bool preexisted(const Record& r, const std::string& dir) {
    return std::find(r.preexisting.begin(), r.preexisting.end(), dir) != r.preexisting.end();
}

// The container's cgroups are its own when create made every one of them (none existed before).
bool owns_container_cgroup(const Record& r) {
    if (!r.cgroups_confirmed || r.cgroup_paths.empty()) return false;
    return std::none_of(r.cgroup_paths.begin(), r.cgroup_paths.end(),
                        [&](auto& kv) { return preexisted(r, kv.second); });
}

cgroup::Cgroup container_cgroup(const Record& r) {
    return cgroup::Cgroup(r.cgroup_paths, mode_of(r));
}

std::string unit_name(const std::string& scope_path) {
    return scope_path.substr(scope_path.rfind('/') + 1);
}

// The container's processes: every process of its cgroups when they are its own; otherwise (a cgroup shared
// with others) only those in the init's pid namespace, or just the init when it shares ours.
Result<std::vector<pid_t>> container_pids(const Record& r) {
    if (!r.cgroups_confirmed) return std::vector<pid_t>{};
    auto pids = TRY(container_cgroup(r).pids());
    std::erase(pids, r.monitor_pid);
    if (owns_container_cgroup(r)) return pids;
    if (!init_alive(r)) return std::vector<pid_t>{};
    uint64_t ns = sys::namespace_inode(r.init_pid, "pid");
    if (ns == 0 || ns == sys::namespace_inode(getpid(), "pid")) return std::vector<pid_t>{r.init_pid};
    std::erase_if(pids, [&](pid_t p) { return sys::namespace_inode(p, "pid") != ns; });
    return pids;
}

// The monitor's cgroup directories this create made (the planned dirs that are not the container's): liblxc
// removes them when its monitor exits; ours is ended once the init is ready, so they go here. True when none
// is left.
bool remove_monitor_cgroups(const Record& r) {
    bool all = true;
    auto is_container_dir = [&](const std::string& dir) {
        return std::any_of(r.cgroup_paths.begin(), r.cgroup_paths.end(),
                           [&](auto& kv) { return kv.second == dir; });
    };
    for (auto& rel : r.cgroup_dirs) {
        auto dirs = candidates(rel, mode_of(r));
        if (std::any_of(dirs.begin(), dirs.end(), is_container_dir)) continue;
        for (auto& dir : dirs)
            if (!preexisted(r, dir) && ::rmdir(dir.c_str()) < 0 && errno != ENOENT) {
                log::warn("remove cgroup " + dir + ": " + std::strerror(errno));
                all = false;
            }
    }
    return all;
}

class LxcBackend final : public backend::Backend {
  public:
    std::string_view name() const override { return "lxc"; }

    Status check(const backend::CreateRequest& req) override {
        if (req.systemd_cgroup) {
            TRY_CTX(cgroup::systemd::available(), "--systemd-cgroup");
            auto unit = TRY_CTX(cgroup::systemd::parse_cgroups_path(req.plan->cgroups_path, req.plan->id),
                                "--systemd-cgroup");
            // Resources the scope cannot take are refused before anything exists.
            TRY_CTX(cgroup::systemd::scope_properties(unit, "", 1, req.plan->resources, cgroup::detect()),
                    "--systemd-cgroup");
        }
        TRY(find_init_binary());
        return ok();
    }

    // The grace period of the first cgroup migration runs while the config is read, the state written and
    // liblxc starts, instead of inside liblxc's monitor (cgroup::prime_migration).
    void begin_create() override {
        if (!primed_.joinable()) primed_ = cgroup::prime_migration();
    }

    Result<backend::Created> create(const backend::CreateRequest& req, backend::Handle& h,
                                    const backend::Persist& persist) override {
        plan::Plan plan = *req.plan;
        Record rec;
        rec.lxcpath = req.root;
        rec.cgroup_mode = static_cast<int>(cgroup::detect());
        auto save = [&]() -> Status {
            h.record = rec.to_json();
            return persist(h.record);
        };
        // Nothing exists yet: the first save is the planned cgroups with the monitor, before either does
        // anything.

        std::optional<cgroup::systemd::Unit> unit;
        if (req.systemd_cgroup) {
            unit =
                TRY_CTX(cgroup::systemd::parse_cgroups_path(plan.cgroups_path, plan.id), "--systemd-cgroup");
            plan.cgroups_path = unit->path;
        }
        CreateRequest lr{.lxcpath = req.root,
                         .state_dir = h.state_dir,
                         .init_binary = TRY(find_init_binary()),
                         .console_fd = req.console_fd,
                         .preserve_fds = req.preserve_fds,
                         .strict = req.strict,
                         .timeout = backend::left(req.deadline)};
        lr.cgroups_planned = [&](const std::vector<std::string>& dirs) -> Status {
            rec.cgroup_dirs = dirs;
            for (auto& rel : dirs)
                for (auto& d : candidates(rel, mode_of(rec)))
                    if (sys::exists(d)) rec.preexisting.push_back(d);
            return ok(); // saved with the monitor, next
        };
        lr.monitor_forked = [&](pid_t monitor) -> Status {
            rec.monitor_pid = monitor;
            rec.monitor_start_time = sys::process_start_time(monitor).value_or(0);
            if (rec.monitor_start_time == 0) return fail("the monitor exited at once");
            return save();
        };
        if (unit) {
            lr.scope_cgroup = unit->path;
            lr.enter_scope = [&](pid_t monitor) -> Status {
                auto props = TRY(cgroup::systemd::scope_properties(
                    *unit, "proxmox-lxcri container " + plan.id, monitor, plan.resources, cgroup::detect()));
                TRY(cgroup::systemd::start_scope(*unit, props, kSystemdTimeout));
                // Ours only once systemd made it: a unit that already existed is never stopped by us.
                rec.systemd_scope = unit->path;
                return save();
            };
        }
        // The init is recorded before the monitor goes: from then on only the record knows it.
        lr.init_ready = [&](pid_t init, const std::map<std::string, std::string>& cgroups) -> Status {
            rec.init_pid = init;
            rec.init_start_time = sys::process_start_time(init).value_or(0);
            if (rec.init_start_time == 0) return fail("the container's init exited before it was ready");
            rec.cgroup_paths = cgroups;
            rec.cgroups_confirmed = true;
            return save();
        };
        auto made = TRY(lxc::create(plan, lr));
        // Recorded with the caller's next save (the state after create), not written on its own.
        rec.monitor_cgroups_removed = remove_monitor_cgroups(rec);
        h.record = rec.to_json();
        return backend::Created{.init_pid = made.init_pid, .pid_file_pid = made.init_pid, .gaps = made.gaps};
    }

    Status start(const backend::Handle& h, const std::string& state_json, backend::Deadline d,
                 const backend::SeccompAgent& seccomp_agent) override {
        auto r = Record::from_json(h.record);
        return lxc::start(h.state_dir, r.init_pid, r.init_start_time, state_json, d, seccomp_agent);
    }

    backend::Observed observe(const backend::Handle& h, backend::Deadline) const override {
        auto r = Record::from_json(h.record);
        backend::Observed o;
        o.init_alive = init_alive(r);
        o.setup_alive = monitor_alive(r);
        if (o.init_alive && r.cgroups_confirmed) {
            if (auto f = container_cgroup(r).frozen(); f && *f) o.frozen = true;
        }
        return o;
    }

    Status signal(const backend::Handle& h, int sig, backend::Deadline) override {
        auto r = Record::from_json(h.record);
        return sys::signal_process(r.init_pid, r.init_start_time, sig);
    }

    Status signal_all(const backend::Handle& h, int sig, backend::Deadline) override {
        auto r = Record::from_json(h.record);
        if (owns_container_cgroup(r)) return container_cgroup(r).kill_all(sig);
        auto pids = TRY(container_pids(r));
        Status result = ok();
        for (pid_t p : pids) {
            if (::kill(p, sig) < 0 && errno != ESRCH && result)
                result = fail_errno("kill " + std::to_string(p));
        }
        return result;
    }

    Status pause(const backend::Handle& h, backend::Deadline) override {
        return container_cgroup(Record::from_json(h.record)).freeze();
    }
    Status resume(const backend::Handle& h, backend::Deadline) override {
        return container_cgroup(Record::from_json(h.record)).thaw();
    }

    Result<pid_t> exec(const backend::Handle& h, const backend::ExecRequest& req) override {
        auto r = Record::from_json(h.record);
        ExecRequest er{.init_pid = r.init_pid,
                       .init_start_time = r.init_start_time,
                       .cgroup_paths = TRY(cgroup::sub_cgroup_paths(r.cgroup_paths, req.sub_cgroups)),
                       .process = req.process,
                       .deadline = req.deadline,
                       .seccomp_agent = req.seccomp_agent};
        return lxc::exec(er);
    }

    Status update(const backend::Handle& h, const spec::Resources& res, backend::Deadline) override {
        auto r = Record::from_json(h.record);
        auto cg = container_cgroup(r);
        TRY(cgroup::check_update(res, cg.mode()));
        auto mapping = TRY(cgroup::map_resources(res, cg.mode(), cgroup::hybrid_v2_controllers()));
        for (auto& gap : mapping.gaps)
            log::warn("unsupported: " + gap.field + ": " + gap.reason);
        // With the systemd driver the scope's properties cap the cgroup: change them first, as runc does.
        if (!r.systemd_scope.empty()) {
            auto props = TRY(cgroup::systemd::resource_properties(res, cg.mode()));
            TRY(cgroup::systemd::set_unit_properties(unit_name(r.systemd_scope), props));
        }
        return cg.apply(mapping);
    }

    Result<cgroup::Stats> stats(const backend::Handle& h, backend::Deadline) const override {
        return container_cgroup(Record::from_json(h.record)).stats();
    }

    Result<std::vector<pid_t>> pids(const backend::Handle& h, backend::Deadline) const override {
        return container_pids(Record::from_json(h.record));
    }

    // The init is the caller's child once the monitor has gone when the caller is a subreaper (`run` is).
    Result<int> wait(const backend::Handle& h, backend::Deadline d) override {
        return backend::wait_child(Record::from_json(h.record).init_pid, d, "the container's init");
    }

    Status destroy(const backend::Handle& h, backend::Deadline d) override {
        auto r = Record::from_json(h.record);
        if (init_alive(r)) (void)sys::signal_process(r.init_pid, r.init_start_time, SIGKILL);
        if (owns_container_cgroup(r)) (void)container_cgroup(r).kill_all(SIGKILL);
        if (monitor_alive(r)) {
            // A create that died or failed before it ended the monitor: the monitor goes first, and liblxc's
            // parent-death signal takes whatever it had cloned (an init clears it only once it is recorded).
            (void)sys::signal_process(r.monitor_pid, r.monitor_start_time, SIGKILL);
            sys::wait_gone(r.monitor_pid, std::chrono::seconds(5));
        }
        Status result = ok();
        if (!r.systemd_scope.empty())
            result = cgroup::systemd::stop_unit(unit_name(r.systemd_scope), kSystemdTimeout);
        // The directories this create made: the container's (confirmed: its init was there) are removed with
        // what liblxc made below them; the others only if they are empty (they empty as the processes that
        // were cloned into them die).
        for (auto& rel : r.cgroup_dirs) {
            // What a restore killed before it confirmed its init left running (CRIU went on): killed through
            // every hierarchy at once, so that a tree CRIU restored frozen (the checkpoint was taken frozen)
            // is thawed after the kill and dies.
            if (r.restore_pending && !r.cgroups_confirmed) {
                std::map<std::string, std::string> own;
                const auto all = cgroup::Cgroup::for_path(rel, mode_of(r));
                for (auto& [ctrl, dir] : all.paths())
                    if (!preexisted(r, dir)) own.emplace(ctrl, dir);
                if (!own.empty()) (void)cgroup::Cgroup(own, mode_of(r)).kill_all(SIGKILL);
            }
            for (auto& dir : candidates(rel, mode_of(r))) {
                if (preexisted(r, dir)) continue;
                bool confirmed =
                    r.cgroups_confirmed && std::any_of(r.cgroup_paths.begin(), r.cgroup_paths.end(),
                                                       [&](auto& kv) { return kv.second == dir; });
                if (confirmed) {
                    auto g = cgroup::Cgroup({{"", dir}}, mode_of(r));
                    if (auto e = g.destroy(); !e && result) result = std::unexpected(std::move(e).error());
                } else if (!r.monitor_cgroups_removed) {
                    // What a restore killed before it confirmed its init left running (CRIU went on).
                    if (r.restore_pending) (void)cgroup::Cgroup({{"", dir}}, mode_of(r)).kill_all(SIGKILL);
                    if (!remove_when_empty(dir, d))
                        log::warn("cgroup " + dir + " is still in use; left in place");
                }
            }
        }
        if (!result) return std::unexpected(std::move(result).error().context("remove cgroups of " + h.id));
        return ok();
    }

    Status checkpoint(const backend::Handle& h, const backend::CheckpointRequest& req) override {
        auto r = Record::from_json(h.record);
        if (!init_alive(r)) return fail(ErrorKind::WrongState, "container is not running");
        if (auto u = criu_usable(req.criu.criu); !u) return fail(ErrorKind::Unsupported, u.error().message());
        std::string freezer;
        if (r.cgroups_confirmed) {
            if (auto it = r.cgroup_paths.find("freezer"); it != r.cgroup_paths.end())
                freezer = it->second;
            else if (mode_of(r) == cgroup::Mode::Unified && r.cgroup_paths.count(""))
                freezer = r.cgroup_paths.at("");
        }
        if (freezer.empty()) return criu_dump(r.init_pid, freezer, req);
        // The tree is frozen here before CRIU starts: CRIU's own freeze writes FROZEN and, when the kernel
        // still says FREEZING at its first look (a task that has to run to reach the refrigerator), sleeps
        // 100 ms before it looks again; freeze() polls without sleeping (runc's FreezerGroup.Set loop). CRIU
        // then finds the cgroup frozen, seizes the tasks, thaws it, and at the end freezes it again when it
        // leaves the tasks running (it restores the state it found): thawed here unless it was paused.
        auto cg = container_cgroup(r);
        const bool was_frozen = cg.frozen().value_or(false);
        if (!was_frozen) TRY_CTX(cg.freeze(), "checkpoint: freeze the container");
        auto dumped = criu_dump(r.init_pid, freezer, req);
        if (!was_frozen) {
            auto thawed = cg.thaw();
            if (dumped && !thawed && req.leave_running)
                return std::unexpected(std::move(thawed).error().context("checkpoint: thaw the container"));
        }
        return dumped;
    }

    Result<backend::Restored> restore(const backend::RestoreRequest& req, backend::Handle& h,
                                      const backend::Persist& persist) override {
        if (auto u = criu_usable(req.criu.criu); !u) return fail(ErrorKind::Unsupported, u.error().message());
        const plan::Plan& plan = *req.plan;
        Record rec;
        rec.lxcpath = req.root;
        rec.cgroup_mode = static_cast<int>(cgroup::detect());
        // The container's cgroup as create would make it (default proxmox-lxcri/<id>, or linux.cgroupsPath);
        // CRIU makes it (--cgroup-root): recorded first, with what existed before, as create records it.
        HostEnv env;
        env.cgroup_suffix = default_cgroup_suffix(req.root);
        std::string requested = TRY(requested_cgroup_dir(plan));
        if (!requested.empty())
            for (auto& d : candidates(requested, mode_of(rec)))
                env.cgroups_path_exists = env.cgroups_path_exists || sys::exists(d);
        std::string rel = TRY(container_cgroup_dir(plan, env));
        rec.cgroup_dirs = {rel};
        for (auto& d : candidates(rel, mode_of(rec)))
            if (sys::exists(d)) rec.preexisting.push_back(d);
        rec.restore_pending = true;
        h.record = rec.to_json();
        TRY(persist(h.record));
        TRY_CTX(cgroup::prepare_cpuset_parents(rel), "cpuset");
        auto made = TRY(criu_restore(req, rel));
        rec.init_pid = made.init_pid;
        rec.init_start_time = sys::process_start_time(made.init_pid).value_or(0);
        if (rec.init_start_time == 0) return fail("the restored init exited at once");
        auto cg = TRY(cgroup::Cgroup::of_pid(made.init_pid));
        rec.cgroup_paths = cg.paths();
        rec.cgroups_confirmed = true;
        rec.restore_pending = false;
        h.record = rec.to_json();
        TRY(persist(h.record));
        // The bundle's resources, as create gives them (runc sets them on the restored cgroups too).
        TRY_CTX(update(h, plan.resources, req.deadline), "apply the config's resources");
        // A container checkpointed while paused (containerd pauses a task before it checkpoints it) comes
        // back with its freezer state: the restored container runs, as with runc.
        if (auto f = container_cgroup(rec).frozen(); f && *f) TRY_CTX(container_cgroup(rec).thaw(), "thaw");
        return backend::Restored{.init_pid = made.init_pid};
    }

    nlohmann::json host_info() const override {
        auto init = find_init_binary();
        return {{"liblxc", lxc_get_version()},
                {"initHelper", init ? *init : "not found: " + init.error().message()},
                {"cgroup",
                 {{"mode", std::string(cgroup::mode_name(cgroup::detect()))},
                  {"hierarchies", cgroup::hierarchy_dirs()},
                  {"systemd", sys::exists("/run/systemd/system")}}},
                {"apparmor", sys::exists("/sys/kernel/security/apparmor")},
                {"selinux", sys::exists("/sys/fs/selinux/enforce")}};
    }

  private:
    std::jthread primed_;

    // rmdir, retried while the directory is busy, until the deadline (at most 2 s); gone counts as removed.
    static bool remove_when_empty(const std::string& dir, backend::Deadline d) {
        auto until = std::min(d, backend::after(std::chrono::seconds(2)));
        for (;;) {
            if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return true;
            if (errno != EBUSY || backend::Clock::now() >= until) return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
};

} // namespace

std::unique_ptr<backend::Backend> make_backend() {
    return std::make_unique<LxcBackend>();
}

} // namespace lxcri::lxc
