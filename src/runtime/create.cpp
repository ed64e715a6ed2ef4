#include "plan/plan.hpp"
#include "runtime/common.hpp"
#include "sys/fs.hpp"
#include "sys/log.hpp"

#include <unistd.h>

namespace lxcri::runtime {

namespace {

struct Loaded {
    plan::Plan plan;
    std::string config_json; // the bytes of config.json, captured into the state directory
};

Result<Loaded> load_plan(const Global& g, const CreateOpts& o, const std::string& bundle) {
    auto [sp, text] = TRY(spec::load_text(bundle));
    plan::Options po{.id = o.id, .bundle = bundle, .strict = g.strict};
    auto p = TRY(plan::make_plan(sp, po));
    if (!sys::exists(p.rootfs))
        return fail(ErrorKind::Invalid, "rootfs (\"" + p.rootfs + "\") does not exist");
    bool has_console = !o.console_socket.empty() || o.console_fd >= 0;
    if (p.process.terminal && !has_console)
        return fail(ErrorKind::Invalid,
                    "cannot allocate tty if runc will detach without setting console socket");
    if (!p.process.terminal && has_console)
        return fail(ErrorKind::Invalid, "cannot use console socket if runc will not detach or allocate tty");
    return Loaded{std::move(p), std::move(text)};
}

} // namespace

Status create(const Global& g, const CreateOpts& o) {
    TRY(validate_id(o.id));
    std::string bundle = absolute_path(o.bundle);
    // Everything that can be checked without side effects comes first: bad input leaves nothing behind.
    auto loaded = TRY(load_plan(g, o, bundle));
    const plan::Plan& plan = loaded.plan;
    std::string backend_name =
        TRY(backend::choose(o.backend.empty() ? g.backend : o.backend, plan.annotations));
    auto be = TRY(backend::open(backend_name));
    be->begin_create();
    log::debug("create: " + o.id + " from bundle " + bundle + " (backend " + backend_name + ")");
    backend::CreateRequest req{.plan = &plan,
                               .root = Store(g.root).root(),
                               .preserve_fds = o.preserve_fds,
                               .strict = g.strict,
                               .systemd_cgroup = g.systemd_cgroup,
                               .pid_file = !o.pid_file.empty(),
                               .foreground = o.foreground,
                               .deadline = backend::after(kCreateTimeout)};
    TRY(be->check(req));
    sys::Fd console;
    if (!o.console_socket.empty()) console.reset(TRY(connect_console_socket(o.console_socket)));
    req.console_fd = o.console_fd >= 0 ? o.console_fd : console.get();

    Store store(g.root);
    auto c = TRY(new_container(store, o.id, bundle, plan, std::move(be), backend_name));
    State& st = c.state;
    st.storage = o.storage;
    auto undo = [&](Error e) -> Status {
        if (auto r = destroy_container(store, c); !r)
            e.context("cleanup failed (" + r.error().message() + ")");
        return std::unexpected(std::move(e));
    };
    // From here on state.json lists what exists; the backend adds to it before it makes anything. Only a
    // rootfs from a storage driver outlives a reboot: that first record is made durable (Store::save).
    if (auto r = store.save(st, st.storage.has_value()); !r) return undo(std::move(r).error());
    if (auto r = store.save_spec(o.id, loaded.config_json); !r) return undo(std::move(r).error());

    backend::Handle h{o.id, c.dir, st.backend_state};
    auto persist = [&](const backend::Record& rec) -> Status {
        st.backend_state = rec;
        return store.save(st);
    };
    log::debug("create: making the container " + o.id);
    auto created = c.backend->create(req, h, persist);
    st.backend_state = h.record;
    if (!created) return undo(std::move(created).error());
    console.reset();
    st.pid = created->init_pid;
    // The backend's record names the init already (delete --force needs nothing more); the pid is saved
    // before the create-phase hooks for `state` while they run, otherwise with the final record below.
    bool create_hooks = !plan.hooks.prestart.empty() || !plan.hooks.create_runtime.empty() ||
                        !plan.hooks.create_container.empty();
    if (create_hooks) {
        if (auto r = store.save(st); !r) return undo(std::move(r).error());
    }
    log::debug("create: " + o.id + " init pid " + std::to_string(st.pid) + ", waiting for start");

    for (auto& gap : plan.gaps)
        log::warn("unsupported: " + gap.field + ": " + gap.reason);
    for (auto& gap : created->gaps)
        log::warn("unsupported: " + gap.field + ": " + gap.reason);

    // The create-phase hooks in the runtime-spec's order, as runc 1.1 runs them, all with status "creating":
    // prestart and createRuntime in the runtime's namespaces with the init's pid and the bundle as their
    // working directory (runc changes into the bundle, so a relative path in a hook is the bundle's);
    // createContainer in the container's mount namespace (with the host's root, as before pivot_root) from
    // the rootfs, with the pid as the init sees itself (1 in a new pid namespace), as runc's init passes it.
    std::string sj = oci_state_json(st, RunState::Creating, 0);
    Status hooks = run_hooks(plan.hooks.prestart, "prestart", sj, 0, bundle);
    if (hooks) hooks = run_hooks(plan.hooks.create_runtime, "createRuntime", sj, 0, bundle);
    if (hooks && !plan.hooks.create_container.empty()) {
        const auto* pidns = plan.find_namespace("pid");
        State inside = st;
        if (pidns && pidns->path.empty()) inside.pid = 1;
        hooks = run_hooks(plan.hooks.create_container, "createContainer",
                          oci_state_json(inside, RunState::Creating, 0), st.pid, plan.rootfs);
    }
    if (!hooks) return undo(std::move(hooks).error());

    if (auto r = write_pid_file(o.pid_file, created->pid_file_pid); !r) return undo(std::move(r).error());
    st.creating = false;
    st.started = o.start_follows;
    if (auto r = store.save(st); !r) return undo(std::move(r).error());
    return ok();
}

} // namespace lxcri::runtime
