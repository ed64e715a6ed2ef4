// restore: runc's (a new container from CRIU images and the bundle's config) and the seed's (a container's
// own checkpoint replaces its processes). Like create, what it makes is recorded in state.json before it is
// made, and a failure undoes it.
#include "plan/plan.hpp"
#include "runtime/checkpoint.hpp"
#include "runtime/image.hpp"
#include "runtime/terminal.hpp"
#include "sys/fd.hpp"
#include "sys/fs.hpp"
#include "sys/log.hpp"

#include <nlohmann/json.hpp>

#include <sys/prctl.h>

namespace lxcri::runtime {

namespace {

// The restored container is running: saved, the pid file written, and (in the foreground) waited for.
Result<int> finish(const Global& g, const RestoreOpts& o, Container& c, pid_t pid) {
    Store store(g.root);
    State& st = c.state;
    st.pid = pid;
    st.started = true;
    st.creating = false;
    TRY(store.save(st));
    TRY(write_pid_file(o.pid_file, pid));
    log::debug("restore: " + o.id + " runs again, init pid " + std::to_string(pid));
    if (o.detach) return 0;
    // Foreground, as run: signals go to the init, its status is ours, and (runc's form) the container goes
    // afterwards.
    auto handle = c.handle();
    c.lock = sys::FileLock();
    int code;
    {
        SignalForwarder forward(pid);
        code = c.backend->wait(handle, backend::kNoDeadline).value_or(0);
    }
    // (The seed's form keeps the container and its named checkpoints.)
    if (!o.criu.image_path.empty())
        if (auto r = remove(g, o.id, true); !r) log::warn(r.error().message());
    return code;
}

// The backend's own checkpoint (Backend::list_snapshots: a PVE CT snapshot): its filesystem comes back, no
// process; the container is stopped afterwards (the backend stops a running one for the rollback).
Result<int> restore_own(const RestoreOpts& o, Container& c, const std::vector<std::string>& names) {
    TRY(refuse_criu_flags(*c.backend, o.criu, "restore " + o.id));
    if (names.empty()) return fail(ErrorKind::NotFound, "container " + o.id + " has no checkpoint");
    std::string name = o.snapshot.empty() ? names.back() : o.snapshot;
    if (std::find(names.begin(), names.end(), name) == names.end())
        return fail(ErrorKind::NotFound, "container " + o.id + " has no checkpoint \"" + name + "\"");
    const bool was_stopped = c.status().value() == RunState::Stopped;
    TRY_CTX(c.backend->rollback(c.handle(), name, backend::after(kCheckpointTimeout)), "restore " + o.id);
    log::warn("restore " + o.id + ": the filesystem is back at " + name +
              "; process state (CRIU) is not available through the " + std::string(c.backend->name()) +
              " backend: the container is stopped" + (was_stopped ? "" : " (it was running)") +
              "; delete it and create it again to run it");
    return 0;
}

} // namespace

Result<int> restore(const Global& g, const RestoreOpts& o) {
    TRY(validate_id(o.id));
    TRY(check_manage_cgroups_mode(o.criu.manage_cgroups_mode));
    // A terminal container gets a new pty at restore; its master goes to the console socket (runc's).
    sys::Fd console;
    if (!o.console_socket.empty()) console.reset(TRY(connect_console_socket(o.console_socket)));
    // Foreground: the restored init is our child (CRIU restores it as its sibling); a subreaper also gets it
    // should CRIU's parent role change, as runc makes itself one unless --no-subreaper.
    if (!o.detach && !o.no_subreaper && ::prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
        return fail_errno("become a subreaper");
    Store store(g.root);
    const bool seed = o.criu.image_path.empty();
    backend::RestoreRequest req{.criu = criu_options(g, o.criu),
                                .root = store.root(),
                                .console_fd = console.get(),
                                .deadline = backend::after(kCheckpointTimeout)};

    if (seed) {
        // The container's own checkpoint: it must exist and not run.
        auto c = TRY(open_container(store, o.id));
        auto own = c.backend->list_snapshots(c.handle(), backend::after(kOpTimeout));
        if (own) return restore_own(o, c, *own);
        if (own.error().kind() != ErrorKind::Unsupported) return std::unexpected(std::move(own).error());
        auto names = list_checkpoints(store, o.id);
        if (names.empty()) return fail(ErrorKind::NotFound, "container " + o.id + " has no checkpoint");
        std::string name = o.snapshot.empty() ? names.back() : o.snapshot;
        if (std::find(names.begin(), names.end(), name) == names.end())
            return fail(ErrorKind::NotFound, "container " + o.id + " has no checkpoint \"" + name + "\"");
        if (c.status().value() != RunState::Stopped)
            return fail(ErrorKind::WrongState, "cannot restore " + o.id + ": it is " +
                                                   std::string(c.status().name()) + " (kill it first)");
        req.criu.image_path = checkpoints_dir(store, o.id) + "/" + name;
        // What it holds (list_checkpoints lists only those with the file).
        bool processes = false, filesystem = false;
        {
            auto text = TRY(sys::read_file(req.criu.image_path + "/" + kCheckpointMeta));
            auto meta = nlohmann::json::parse(text, nullptr, false);
            if (!meta.is_object() || (!meta.value("processes", false) && !meta.value("filesystem", false)))
                return fail(req.criu.image_path + "/" + kCheckpointMeta + ": malformed");
            processes = meta.value("processes", false);
            filesystem = meta.value("filesystem", false);
        }
        if (filesystem && !c.state.storage)
            return fail("checkpoint " + name + " of " + o.id +
                        " has a filesystem snapshot but the container " + "has no storage driver");
        auto sp = TRY(store.load_spec(o.id));
        auto plan = TRY(plan::make_plan(sp, {.id = o.id, .bundle = c.state.bundle, .strict = g.strict}));
        req.plan = &plan;
        // What is left of the old processes (their cgroups) goes first; the restore makes them again.
        TRY_CTX(c.backend->destroy(c.handle(), backend::after(kDestroyTimeout)), "restore " + o.id);
        if (filesystem)
            TRY_CTX(storage_snapshot(*c.state.storage, "rollback", name), "restore " + o.id);
        else
            log::warn("restore " + o.id + ": " + name +
                      " restores the processes only; the filesystem is as it is now (no snapshot)");
        if (!processes) {
            log::warn("restore " + o.id + ": " + name +
                      " holds no process image (CRIU could not checkpoint " +
                      "them): only the filesystem is rolled back; the container stays stopped");
            return 0;
        }
        auto persist = [&](const backend::Record& rec) -> Status {
            c.state.backend_state = rec;
            return store.save(c.state);
        };
        backend::Handle h{o.id, c.dir, c.state.backend_state};
        auto made = c.backend->restore(req, h, persist);
        c.state.backend_state = h.record;
        if (!made) {
            (void)c.backend->destroy(h, backend::after(kDestroyTimeout));
            (void)store.save(c.state);
            return std::unexpected(std::move(made).error());
        }
        return finish(g, o, c, made->init_pid);
    }

    if (!sys::exists(req.criu.image_path))
        return fail(ErrorKind::Invalid, "image path " + req.criu.image_path + " does not exist");
    std::string bundle = absolute_path(o.bundle);
    auto [sp, text] = TRY(spec::load_text(bundle));
    auto plan = TRY(plan::make_plan(sp, {.id = o.id, .bundle = bundle, .strict = g.strict}));
    const std::string be_name = TRY(backend::choose(g.backend, plan.annotations));
    auto be = TRY(backend::open(be_name));
    if (!sys::exists(plan.rootfs))
        return fail(ErrorKind::Invalid, "rootfs (\"" + plan.rootfs + "\") does not exist");
    req.plan = &plan;

    auto c = TRY(new_container(store, o.id, bundle, plan, std::move(be), be_name));
    State& st = c.state;
    auto undo = [&](Error e) -> Result<int> {
        if (auto r = destroy_container(store, c); !r)
            e.context("cleanup failed (" + r.error().message() + ")");
        return std::unexpected(std::move(e));
    };
    if (auto r = store.save(st); !r) return undo(std::move(r).error());
    if (auto r = store.save_spec(o.id, text); !r) return undo(std::move(r).error());
    backend::Handle h{o.id, c.dir, st.backend_state};
    auto persist = [&](const backend::Record& rec) -> Status {
        st.backend_state = rec;
        return store.save(st);
    };
    auto made = c.backend->restore(req, h, persist);
    st.backend_state = h.record;
    if (!made) return undo(std::move(made).error());
    auto r = finish(g, o, c, made->init_pid);
    if (!r && o.detach) return undo(std::move(r).error());
    return r;
}

} // namespace lxcri::runtime
