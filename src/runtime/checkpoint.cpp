// checkpoint: runc's (--image-path) and the seed's (a named checkpoint kept with the container).
#include "runtime/checkpoint.hpp"

#include "sys/fs.hpp"
#include "sys/log.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iostream>

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
    auto names = sys::list_dir(checkpoints_dir(store, id));
    std::erase_if(names, [](const std::string& n) { return !n.starts_with("checkpoint-"); });
    std::sort(names.begin(), names.end());
    return names;
}

Status check_manage_cgroups_mode(const std::string& m) {
    if (m.empty() || m == "soft" || m == "full" || m == "strict" || m == "ignore") return ok();
    return fail(ErrorKind::Invalid, "invalid --manage-cgroups-mode value");
}

Status checkpoint(const Global& g, const CheckpointOpts& o) {
    Store store(g.root);
    if (o.list) {
        auto c = TRY(open_container(store, o.id, false));
        for (auto& n : list_checkpoints(store, o.id))
            std::cout << n << "\n";
        return ok();
    }
    TRY(check_manage_cgroups_mode(o.criu.manage_cgroups_mode));
    auto c = TRY(open_container(store, o.id));
    TRY(c.allows(Verb::Checkpoint));
    backend::CheckpointRequest req{.criu = criu_options(g, o.criu),
                                   .rootfs = c.state.rootfs,
                                   .leave_running = o.leave_running,
                                   .deadline = backend::after(kCheckpointTimeout)};
    const bool seed = o.criu.image_path.empty();
    std::string name;
    if (seed) {
        name = "checkpoint-" + std::to_string(std::time(nullptr));
        req.criu.image_path = checkpoints_dir(store, o.id) + "/" + name;
        if (sys::exists(req.criu.image_path))
            return fail(ErrorKind::Exists, "checkpoint " + name + " of " + o.id + " exists already");
    }
    // runc: the image directory is made if missing (0700).
    TRY(sys::mkdir_p(req.criu.image_path, 0700));
    log::debug("checkpoint: " + o.id + " into " + req.criu.image_path);
    auto dumped = c.backend->checkpoint(c.handle(), req);
    if (!dumped) {
        if (seed) (void)sys::remove_all(req.criu.image_path);
        if (seed && dumped.error().kind() == ErrorKind::Unsupported)
            return fail(ErrorKind::Unsupported,
                        "checkpoint " + o.id + ": the processes cannot be checkpointed (" +
                            dumped.error().message() + ") and the rootfs (" + c.state.rootfs +
                            ") has no storage driver that can snapshot it: nothing was checkpointed");
        return dumped;
    }
    if (seed) {
        // The filesystem: only a rootfs made by a storage driver can be snapshotted (create --image).
        log::warn("checkpoint " + o.id + ": " + name + " holds the processes only; the filesystem is not " +
                  "snapshotted (" +
                  (c.state.storage
                       ? "storage driver " + c.state.storage->driver + " snapshots are not wired yet"
                       : "the rootfs " + c.state.rootfs + " is a bundle directory, not a storage driver's") +
                  ")");
        std::cout << name << "\n";
        return ok();
    }
    // runc destroys the container after a checkpoint that did not leave it running.
    if (!o.leave_running) return destroy_container(store, c);
    return ok();
}

} // namespace lxcri::runtime
