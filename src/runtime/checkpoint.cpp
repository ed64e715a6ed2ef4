// checkpoint: runc's (--image-path) and the seed's (a named checkpoint kept with the container).
#include "runtime/checkpoint.hpp"

#include "runtime/image.hpp"

#include "sys/fs.hpp"
#include "sys/log.hpp"

#include <nlohmann/json.hpp>

#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <thread>

namespace lxcri::runtime {

std::string criu_binary(const Global& g) {
    if (!g.criu.empty()) return g.criu;
    if (const char* e = std::getenv("LXCRI_CRIU"); e && *e) return e;
    if (sys::exists(kProjectCriu)) return kProjectCriu;
    return "criu";
}

backend::CriuOptions criu_options(const Global& g, const CriuFlags& f) {
    return {.criu = criu_binary(g),
            .image_path = f.image_path.empty() ? "" : absolute_path(f.image_path),
            .work_path = f.work_path.empty() ? "" : absolute_path(f.work_path),
            .tcp_established = f.tcp_established,
            .ext_unix_sk = f.ext_unix_sk,
            .shell_job = f.shell_job,
            .file_locks = f.file_locks,
            .manage_cgroups_mode = f.manage_cgroups_mode};
}

std::string checkpoints_dir(const Store& store, const std::string& id) {
    return store.dir(id) + "/checkpoints";
}

std::vector<std::string> list_checkpoints(const Store& store, const std::string& id) {
    std::string dir = checkpoints_dir(store, id);
    auto names = sys::list_dir(dir);
    // The meta file is written last: a checkpoint killed before it is not one.
    std::erase_if(names, [&](const std::string& n) {
        return !n.starts_with("checkpoint-") || !sys::exists(dir + "/" + n + "/" + kCheckpointMeta);
    });
    std::sort(names.begin(), names.end());
    return names;
}

Status check_manage_cgroups_mode(const std::string& m) {
    if (m.empty() || m == "soft" || m == "full" || m == "strict" || m == "ignore") return ok();
    return fail(ErrorKind::Invalid, "invalid --manage-cgroups-mode value");
}

namespace {

// Waits (up to 5 s) until the container's processes are gone after a kill.
void wait_stopped(const Container& c) {
    for (int i = 0; i < 250 && c.status().value() != RunState::Stopped; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

// The seed's form: checkpoint-<unix-time> in the container's state directory, with the CRIU images of its
// processes and, when its rootfs came from a storage driver that can, a filesystem snapshot of the same name.
// Both are taken while the container is frozen, so that they match. Without a working CRIU only the
// filesystem is checkpointed (and said so); with neither, nothing is and the verb fails.
Status checkpoint_named(const Store& store, Container& c, backend::CheckpointRequest req,
                        bool leave_running) {
    const std::string& id = c.state.id;
    // What a checkpoint killed half-way left (no meta file) goes before the next one.
    for (auto& n : sys::list_dir(checkpoints_dir(store, id)))
        if (!sys::exists(checkpoints_dir(store, id) + "/" + n + "/" + kCheckpointMeta))
            (void)sys::remove_all(checkpoints_dir(store, id) + "/" + n);
    std::string name = "checkpoint-" + std::to_string(std::time(nullptr));
    std::string dir = checkpoints_dir(store, id) + "/" + name;
    if (sys::exists(dir))
        return fail(ErrorKind::Exists, "checkpoint " + name + " of " + id + " exists already");
    TRY(sys::mkdir_p(dir, 0700));
    req.criu.image_path = dir;
    const std::optional<StorageRef>& storage = c.state.storage;
    const bool was_paused = c.status().value() == RunState::Paused;
    bool paused_here = false;
    auto undo = [&](Error e) -> Status {
        if (paused_here) (void)c.backend->resume(c.handle(), backend::after(kOpTimeout));
        (void)sys::remove_all(dir);
        return std::unexpected(std::move(e));
    };
    if (storage && !was_paused) {
        TRY_CTX(c.backend->pause(c.handle(), backend::after(kOpTimeout)), "checkpoint " + id);
        paused_here = true;
    }
    // With a filesystem snapshot to take, the processes stay (frozen) until it is taken.
    req.leave_running = storage ? true : leave_running;
    bool processes = false, filesystem = false;
    std::string no_processes, no_filesystem;
    if (auto r = c.backend->checkpoint(c.handle(), req); r)
        processes = true;
    else if (r.error().kind() == ErrorKind::Unsupported)
        no_processes = r.error().message();
    else
        return undo(std::move(r).error());
    if (storage) {
        if (auto r = storage_snapshot(*storage, "snapshot", name); r)
            filesystem = true;
        else if (r.error().kind() == ErrorKind::Unsupported)
            no_filesystem = r.error().message();
        else
            return undo(std::move(r).error());
    } else {
        no_filesystem = "the rootfs " + c.state.rootfs + " is a bundle directory, not a storage driver's";
    }
    if (!processes && !filesystem)
        return undo(Error("checkpoint " + id + ": nothing was checkpointed: the processes cannot be (" +
                              no_processes + ") and the filesystem cannot be (" + no_filesystem + ")",
                          0, ErrorKind::Unsupported));
    nlohmann::json meta = {{"processes", processes}, {"filesystem", filesystem}};
    if (auto r = sys::write_file_atomic(dir + "/" + kCheckpointMeta, meta.dump(), 0600); !r)
        return undo(std::move(r).error());
    if (storage) {
        // The processes were left running for the snapshot: runc's default stops them.
        if (!leave_running) (void)c.backend->signal_all(c.handle(), SIGKILL, backend::after(kOpTimeout));
        if (paused_here || !leave_running) (void)c.backend->resume(c.handle(), backend::after(kOpTimeout));
    }
    if (!leave_running) wait_stopped(c);
    if (!processes)
        log::warn("checkpoint " + id + ": only the filesystem is checkpointed (" + no_processes + ")");
    if (!filesystem)
        log::warn("checkpoint " + id + ": " + name + " holds the processes only; the filesystem is not " +
                  "snapshotted (" + no_filesystem + ")");
    std::cout << name << "\n";
    return ok();
}

// The backend's own checkpoints (Backend::list_snapshots: PVE's CT snapshots): the volumes only.
Status checkpoint_own(Container& c, const std::vector<std::string>& names, const CheckpointOpts& o) {
    const std::string& id = c.state.id;
    TRY(refuse_criu_flags(*c.backend, o.criu, "checkpoint " + id));
    std::string name = "checkpoint-" + std::to_string(std::time(nullptr));
    if (std::find(names.begin(), names.end(), name) != names.end())
        return fail(ErrorKind::Exists, "checkpoint " + name + " of " + id + " exists already");
    TRY_CTX(c.backend->snapshot(c.handle(), name, backend::after(kCheckpointTimeout)), "checkpoint " + id);
    if (!o.leave_running) {
        (void)c.backend->signal_all(c.handle(), SIGKILL, backend::after(kOpTimeout));
        wait_stopped(c);
    }
    log::warn("checkpoint " + id + ": " + name + " holds the filesystem only: process state (CRIU) is not " +
              "available through the " + std::string(c.backend->name()) + " backend");
    std::cout << name << "\n";
    return ok();
}

// The runtime's own checkpoints: only one without a filesystem snapshot can go (the storage drivers cannot
// delete a snapshot yet).
Status remove_named(const Store& store, const std::string& id, const std::string& name) {
    auto names = list_checkpoints(store, id);
    if (name.find('/') != std::string::npos || std::find(names.begin(), names.end(), name) == names.end())
        return fail(ErrorKind::NotFound, "container " + id + " has no checkpoint \"" + name + "\"");
    std::string dir = checkpoints_dir(store, id) + "/" + name;
    auto meta = nlohmann::json::parse(TRY(sys::read_file(dir + "/" + kCheckpointMeta)), nullptr, false);
    if (!meta.is_object() || meta.value("filesystem", false))
        return fail(ErrorKind::Unsupported,
                    "checkpoint " + name + " of " + id +
                        " has a filesystem snapshot, and the storage drivers cannot " +
                        "remove one yet (it goes with the container)");
    return sys::remove_all(dir);
}

} // namespace

Status refuse_criu_flags(const backend::Backend& be, const CriuFlags& f, const std::string& what) {
    std::string flag = !f.image_path.empty()            ? "--image-path"
                       : !f.work_path.empty()           ? "--work-path"
                       : f.tcp_established              ? "--tcp-established"
                       : f.ext_unix_sk                  ? "--ext-unix-sk"
                       : f.shell_job                    ? "--shell-job"
                       : f.file_locks                   ? "--file-locks"
                       : !f.manage_cgroups_mode.empty() ? "--manage-cgroups-mode"
                                                        : "";
    if (flag.empty()) return ok();
    return fail(ErrorKind::Unsupported,
                what + ": " + flag + " is a CRIU flag, and the " + std::string(be.name()) +
                    " backend has no process checkpoint (CRIU): its checkpoints hold " +
                    "the filesystem only");
}

Status checkpoint(const Global& g, const CheckpointOpts& o) {
    Store store(g.root);
    if (o.list) {
        auto c = TRY(open_container(store, o.id, false));
        auto own = c.backend->list_snapshots(c.handle(), backend::after(kOpTimeout));
        if (!own && own.error().kind() != ErrorKind::Unsupported)
            return std::unexpected(std::move(own).error());
        for (auto& n : own ? *own : list_checkpoints(store, o.id))
            std::cout << n << "\n";
        return ok();
    }
    if (!o.rm.empty()) {
        auto c = TRY(open_container(store, o.id));
        auto r = c.backend->remove_snapshot(c.handle(), o.rm, backend::after(kCheckpointTimeout));
        if (r || r.error().kind() != ErrorKind::Unsupported) return r;
        return remove_named(store, o.id, o.rm);
    }
    TRY(check_manage_cgroups_mode(o.criu.manage_cgroups_mode));
    auto c = TRY(open_container(store, o.id));
    TRY(c.allows(Verb::Checkpoint));
    backend::CheckpointRequest req{.criu = criu_options(g, o.criu),
                                   .rootfs = c.state.rootfs,
                                   .leave_running = o.leave_running,
                                   .deadline = backend::after(kCheckpointTimeout)};
    if (o.criu.image_path.empty()) {
        auto own = c.backend->list_snapshots(c.handle(), backend::after(kOpTimeout));
        if (own) return checkpoint_own(c, *own, o);
        if (own.error().kind() != ErrorKind::Unsupported) return std::unexpected(std::move(own).error());
        return checkpoint_named(store, c, req, o.leave_running);
    }
    // runc: the image directory is made if missing (0700); a refusal leaves none it made.
    const bool made = !sys::exists(req.criu.image_path);
    TRY(sys::mkdir_p(req.criu.image_path, 0700));
    log::debug("checkpoint: " + o.id + " into " + req.criu.image_path);
    if (auto r = c.backend->checkpoint(c.handle(), req); !r) {
        if (made) (void)sys::remove_all(req.criu.image_path);
        return r;
    }
    // runc destroys the container after a checkpoint that did not leave it running.
    if (!o.leave_running) return destroy_container(store, c);
    return ok();
}

} // namespace lxcri::runtime
