#include "backend/lxc/container.hpp"
#include "cgroup/systemd.hpp"
#include "plan/plan.hpp"
#include "runtime/common.hpp"
#include "sys/fs.hpp"
#include "sys/log.hpp"
#include "sys/proc.hpp"

#include <signal.h>
#include <unistd.h>

namespace lxcri::runtime {

namespace {

constexpr std::chrono::seconds kSystemdTimeout{30};

// The plan sees the cgroupfs path; with --systemd-cgroup that is the scope's cgroup (liblxc's directories go
// below it, see lxc::CreateRequest::scope_cgroup).
Result<plan::Plan> load_plan(const Global& g, const CreateOpts& o, const std::string& bundle,
                             std::optional<cgroup::systemd::Unit>& unit) {
    auto sp = TRY(spec::load(bundle));
    plan::Options po{.id = o.id, .bundle = bundle, .strict = g.strict};
    auto p = TRY(plan::make_plan(sp, po));
    if (g.systemd_cgroup) {
        unit = TRY_CTX(cgroup::systemd::parse_cgroups_path(p.cgroups_path, o.id), "--systemd-cgroup");
        p.cgroups_path = unit->path;
        // Resources the scope cannot take are refused before anything exists.
        TRY_CTX(cgroup::systemd::scope_properties(*unit, "", 1, p.resources, cgroup::detect()),
                "--systemd-cgroup");
    }
    if (!sys::exists(p.rootfs)) return fail("rootfs (\"" + p.rootfs + "\") does not exist");
    bool has_console = !o.console_socket.empty() || o.console_fd >= 0;
    if (p.process.terminal && !has_console)
        return fail("cannot allocate tty if runc will detach without setting console socket");
    if (!p.process.terminal && has_console)
        return fail("cannot use console socket if runc will not detach or allocate tty");
    return p;
}

Status check_cgroup_driver(const Global& g) {
    if (!g.systemd_cgroup) return ok();
    TRY_CTX(cgroup::systemd::available(), "--systemd-cgroup");
    return ok();
}

// Creates the transient scope holding the monitor (lxc::create calls it before the monitor starts liblxc).
std::function<Status(pid_t)> scope_starter(const cgroup::systemd::Unit& unit, const plan::Plan& plan) {
    return [&unit, &plan](pid_t monitor) -> Status {
        auto props = TRY(cgroup::systemd::scope_properties(unit, "proxmox-lxcri container " + plan.id,
                                                           monitor, plan.resources, cgroup::detect()));
        return cgroup::systemd::start_scope(unit, props, kSystemdTimeout);
    };
}

} // namespace

Status create(const Global& g, const CreateOpts& o) {
    TRY(validate_id(o.id));
    TRY(check_cgroup_driver(g));
    std::string bundle = absolute_path(o.bundle);
    // Everything that can be checked without side effects comes first: bad input leaves nothing behind.
    std::optional<cgroup::systemd::Unit> unit;
    auto plan = TRY(load_plan(g, o, bundle, unit));
    std::string init_bin = TRY(lxc::find_init_binary());
    sys::Fd console;
    if (!o.console_socket.empty()) console.reset(TRY(connect_console_socket(o.console_socket)));

    Store store(g.root);
    auto lock = TRY(store.create(o.id));
    State st;
    st.id = o.id;
    st.bundle = bundle;
    st.rootfs = plan.rootfs;
    st.created = log::rfc3339_now();
    st.annotations = plan.annotations;
    st.cgroups_path = plan.cgroups_path;
    st.creating = true;
    st.systemd_cgroup = unit.has_value();
    if (unit) st.systemd_scope = unit->path;
    auto undo = [&](Error e) -> Status {
        if (auto r = destroy_container(store, st); !r)
            e.context("cleanup failed (" + r.error().message() + ")");
        return std::unexpected(std::move(e));
    };
    if (auto r = store.save(st); !r) return undo(std::move(r).error());

    lxc::CreateRequest req{.lxcpath = store.root(),
                           .state_dir = store.dir(o.id),
                           .init_binary = init_bin,
                           .console_fd = o.console_fd >= 0 ? o.console_fd : console.get(),
                           .preserve_fds = o.preserve_fds,
                           .strict = g.strict};
    if (unit) {
        req.scope_cgroup = unit->path;
        req.enter_scope = scope_starter(*unit, plan);
    }
    auto created = lxc::create(plan, req);
    if (!created) return undo(std::move(created).error());
    console.reset();
    st.init_pid = created->init_pid;
    st.init_start_time = sys::process_start_time(created->init_pid).value_or(0);
    st.monitor_pid = created->monitor_pid;
    st.monitor_start_time = sys::process_start_time(created->monitor_pid).value_or(0);
    st.cgroup_paths = created->cgroup_paths;
    st.cgroup_mode = static_cast<int>(cgroup::detect());
    if (auto r = store.save(st); !r) return undo(std::move(r).error());

    for (auto& gap : plan.gaps)
        log::warn("unsupported: " + gap.field + ": " + gap.reason);
    for (auto& gap : created->gaps)
        log::warn("unsupported: " + gap.field + ": " + gap.reason);

    // The create-phase hooks see status "created", as the runtime-spec validation requires (runc 1.1 says
    // "creating").
    std::string sj = oci_state_json(st, 0, RunState::Created);
    Status hooks = run_hooks(plan.hooks.prestart, "prestart", sj);
    if (hooks) hooks = run_hooks(plan.hooks.create_runtime, "createRuntime", sj);
    if (hooks) hooks = run_hooks(plan.hooks.create_container, "createContainer", sj, st.init_pid);
    if (!hooks) return undo(std::move(hooks).error());

    if (auto r = write_pid_file(o.pid_file, st.monitor_pid); !r) return undo(std::move(r).error());
    st.creating = false;
    if (auto r = store.save(st); !r) return undo(std::move(r).error());
    return ok();
}

} // namespace lxcri::runtime
