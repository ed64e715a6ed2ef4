// The zfs driver, through the zfs CLI (kernel ZFS or zfs-fuse). The storage root is a dataset's mountpoint:
//   <ds>/layers/<chain-id>@layer   one dataset per image layer, a clone of the layer below's snapshot with
//   the
//                                  layer unpacked on top; the snapshot exists only once the unpack completed
//   <ds>/containers/<id>           a container: a clone of its top layer's snapshot (or of another
//                                  container's snapshot), mounted at <root>/containers/<id>/rootfs
// Snapshots, rollback, clones and quotas are zfs's own. liblxc gets the mounted dataset as a dir: rootfs.
#include "storage/drivers.hpp"
#include "sys/fd.hpp"
#include "sys/fs.hpp"
#include "sys/proc.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <optional>
#include <set>
#include <thread>

namespace lxcri::storage {

namespace {

using namespace std::chrono_literals;

// True when zfs knows `name` (a dataset or a snapshot).
bool zfs_exists(const std::string& name) {
    auto r = sys::run({"zfs", "list", "-H", "-o", "name", name}, {}, "", 1min);
    return r && r->status == 0;
}

// zfs-fuse may call a dataset busy for a moment after a clone, a mount or an unmount: retried for up to 5 s,
// soon at first (it is usually free again within tens of milliseconds), then every 100 ms.
Result<std::string> retry_busy(const std::vector<std::string>& argv) {
    auto deadline = std::chrono::steady_clock::now() + 5s;
    for (auto pause = 10ms;; pause = std::min(pause * 2, std::chrono::milliseconds(100ms))) {
        auto r = command(argv);
        if (r || r.error().message().find("busy") == std::string::npos ||
            std::chrono::steady_clock::now() + pause > deadline)
            return r;
        std::this_thread::sleep_for(pause);
    }
}

Status zfs_destroy(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"zfs", "destroy"};
    argv.insert(argv.end(), args.begin(), args.end());
    if (auto r = retry_busy(argv); !r) return std::unexpected(std::move(r).error().set_kind(ErrorKind::Busy));
    return ok();
}

Status zfs_unmount(const std::string& name) {
    TRY(retry_busy({"zfs", "unmount", name}));
    return ok();
}

// "NAME<TAB>REST" lines (zfs list -H) as NAME -> REST.
std::map<std::string, std::string> parse_listing(const std::string& out) {
    std::map<std::string, std::string> m;
    for (size_t pos = 0; pos < out.size();) {
        size_t nl = out.find('\n', pos);
        std::string line = out.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        pos = nl == std::string::npos ? out.size() : nl + 1;
        if (auto tab = line.find('\t'); tab != std::string::npos)
            m[line.substr(0, tab)] = line.substr(tab + 1);
    }
    return m;
}

class ZfsDriver final : public Driver {
  public:
    ZfsDriver(std::string root, std::string dataset, std::map<std::string, std::string> listed)
        : Driver(std::move(root)), ds_(std::move(dataset)), listed_(std::move(listed)) {}
    std::string_view name() const override { return "zfs"; }
    Caps caps() const override {
        return Caps{
            .snapshot = true, .clone = true, .cheap_clone = true, .quota = true, .shared_layers = true};
    }
    const std::string& dataset() const { return ds_; }

    Result<std::string> prepare(const std::string& id, std::span<const Layer> layers) override {
        TRY(check_name("container id", id));
        std::string parent;
        for (auto& l : layers) {
            TRY_CTX(layer(parent, l), "prepare rootfs of " + id);
            parent = l.chain_id;
        }
        std::string dir = container_dir(id), rootfs = dir + "/rootfs", name = container(id);
        bool dir_made = TRY(make_dir(dir, id));
        Result<std::string> made = parent.empty()
                                       ? command({"zfs", "create", "-o", "mountpoint=" + rootfs, name})
                                       : command({"zfs", "clone", "-o", "mountpoint=" + rootfs,
                                                  layer_name(parent) + "@layer", name});
        if (!made) {
            Error e = std::move(made).error().context("prepare rootfs of " + id);
            forget();
            if (zfs_exists(name)) return taken(id, dir_made, e.message()); // not ours: leave it
            return undo(std::move(e), id);
        }
        if (listed_) listed_->emplace(name, layer_name(parent) + "@layer");
        return rootfs;
    }

    Status destroy(const std::string& id) override {
        TRY(check_name("container id", id));
        std::string name = container(id), what = "destroy rootfs of " + id;
        if (exists(name)) {
            // The datasets and their origins (from the listing opening took, else asked) give this
            // container's origin and the clones of its snapshots (a base's clones, a clone of it), which keep
            // working: each such snapshot moves to one of its clones (zfs promote) before the dataset goes.
            // (zfs-fuse has no "clones" property: the clones are the datasets whose origin is one of ours.)
            std::map<std::string, std::string> origins;
            if (listed_) {
                origins = *listed_;
            } else if (auto all =
                           command({"zfs", "list", "-H", "-o", "name,origin", "-r", ds_ + "/containers"})) {
                origins = parse_listing(*all);
            }
            forget(); // what this process knew of the pool changes now
            std::optional<std::string> origin;
            std::set<std::string> promoted_from;
            for (auto& [clone, from] : origins) {
                if (clone == name) origin = from;
                if (!from.starts_with(name + "@") || !promoted_from.insert(from).second) continue;
                TRY_CTX(run_command({"zfs", "promote", clone}), what);
            }
            // Unmounted first: zfs-fuse calls the dataset busy when zfs destroy unmounts it itself.
            (void)::umount2((container_dir(id) + "/rootfs").c_str(), 0);
            TRY_CTX(zfs_destroy({"-r", name}), what);
            // The snapshot clone() took of the source for this container goes with it.
            if (origin) {
                std::string o = *origin;
                while (!o.empty() && (o.back() == '\n' || o.back() == ' '))
                    o.pop_back();
                if (o.ends_with("@clone-" + id) && zfs_exists(o)) TRY_CTX(zfs_destroy({o}), what);
            }
        }
        TRY_CTX(sys::remove_all(container_dir(id)), what);
        return ok();
    }

    Status snapshot(const std::string& id, const std::string& snap) override {
        TRY(check_name("container id", id));
        TRY(check_snapshot_name(snap));
        TRY(need(id));
        auto r = command({"zfs", "snapshot", container(id) + "@" + snap});
        if (!r) return std::unexpected(std::move(r).error().context("snapshot " + id));
        return ok();
    }

    Result<std::vector<Snapshot>> list_snapshots(const std::string& id) override {
        TRY(check_name("container id", id));
        TRY(need(id));
        std::string name = container(id);
        std::string out = TRY_CTX(command({"zfs", "list", "-H", "-t", "snapshot", "-o", "name", "-r", name}),
                                  "list snapshots of " + id);
        std::vector<Snapshot> snaps;
        size_t pos = 0;
        while (pos < out.size()) {
            size_t nl = out.find('\n', pos);
            std::string line = out.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
            pos = nl == std::string::npos ? out.size() : nl + 1;
            if (!line.starts_with(name + "@")) continue;
            Snapshot s{line.substr(name.size() + 1), 0};
            if (auto c = command({"zfs", "get", "-H", "-p", "-o", "value", "creation", line}))
                s.created = std::strtoll(c->c_str(), nullptr, 10);
            snaps.push_back(std::move(s));
        }
        return snaps;
    }

    Status rollback(const std::string& id, const std::string& snap) override {
        TRY(check_name("container id", id));
        TRY(check_snapshot_name(snap));
        TRY(need(id));
        std::string full = container(id) + "@" + snap;
        if (!zfs_exists(full)) return fail(ErrorKind::NotFound, "roll back " + id + ": no snapshot " + snap);
        // -r: later snapshots go, as they must for zfs to roll back past them.
        auto r = command({"zfs", "rollback", "-r", full});
        if (!r) return std::unexpected(std::move(r).error().context("roll back " + id));
        return ok();
    }

    Result<std::string> clone(const std::string& id, const std::string& snap,
                              const std::string& new_id) override {
        TRY(check_name("container id", id));
        TRY(check_name("container id", new_id));
        if (!snap.empty()) TRY(check_snapshot_name(snap));
        TRY(need(id));
        std::string from = container(id) + "@" + (snap.empty() ? "clone-" + new_id : snap);
        if (!snap.empty() && !exists(from))
            return fail(ErrorKind::NotFound, "clone " + id + ": no snapshot " + snap);
        std::string dir = container_dir(new_id), rootfs = dir + "/rootfs";
        bool dir_made = TRY(make_dir(dir, new_id));
        if (snap.empty()) {
            // A snapshot of the source as it is now, named after the clone (destroy() of the clone removes
            // it); one left by a killed attempt is replaced.
            if (exists(from)) {
                forget();
                if (auto r = zfs_destroy({from}); !r) return undo(std::move(r).error(), new_id);
            }
            if (auto r = command({"zfs", "snapshot", from}); !r) {
                forget();
                return undo(std::move(r).error(), new_id);
            }
        }
        auto r = command({"zfs", "clone", "-o", "mountpoint=" + rootfs, from, container(new_id)});
        if (!r) {
            Error e = std::move(r).error().context("clone " + id);
            forget();
            if (zfs_exists(container(new_id))) { // not ours: leave it
                if (snap.empty()) (void)zfs_destroy({from});
                return taken(new_id, dir_made, e.message());
            }
            if (snap.empty()) (void)zfs_destroy({from});
            return undo(std::move(e), new_id);
        }
        if (listed_) listed_->emplace(container(new_id), from);
        return rootfs;
    }

    Result<std::vector<std::string>> layer_names() override {
        auto out =
            TRY(command({"zfs", "list", "-H", "-o", "name", "-t", "filesystem", "-r", ds_ + "/layers"}));
        std::vector<std::string> names;
        const std::string prefix = ds_ + "/layers/";
        for (size_t pos = 0; pos < out.size();) {
            size_t nl = out.find('\n', pos);
            std::string line = out.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
            pos = nl == std::string::npos ? out.size() : nl + 1;
            if (line.starts_with(prefix) && line.find('/', prefix.size()) == std::string::npos)
                names.push_back(line.substr(prefix.size()));
        }
        return names;
    }

    // A layer whose snapshot still has clones (a container's rootfs, a base, the layer above) is refused by
    // zfs itself ("dependent clones"): Busy, kept. Nothing is promoted or destroyed recursively (-R).
    Status remove_layer(const std::string& name) override {
        TRY(check_name("layer", name));
        forget();
        auto r = command({"zfs", "destroy", "-r", layer_name(name)});
        if (r) return ok();
        if (r.error().message().find("dependent clones") != std::string::npos)
            return std::unexpected(std::move(r).error().set_kind(ErrorKind::Busy));
        return std::unexpected(std::move(r).error());
    }

    Status set_quota(const std::string& id, const Quota& q) override {
        TRY(check_name("container id", id));
        TRY(need(id));
        auto size = [](uint64_t b) { return b ? std::to_string(b) : std::string("none"); };
        auto r = command({"zfs", "set", "refquota=" + size(q.limit_bytes), container(id)});
        if (r) r = command({"zfs", "set", "refreservation=" + size(q.reservation_bytes), container(id)});
        if (!r) return std::unexpected(std::move(r).error().context("set quota of " + id));
        return ok();
    }

  private:
    std::string container(const std::string& id) const { return ds_ + "/containers/" + id; }
    std::string layer_name(const std::string& chain) const { return ds_ + "/layers/" + chain; }

    Status need(const std::string& id) const {
        if (!exists(container(id)))
            return fail(ErrorKind::NotFound, "container " + id + " has no zfs dataset " + container(id));
        return ok();
    }

    // Makes the container directory; true when it did not exist. A directory without a dataset or a
    // bundle is what a killed prepare or clone left: it blocks nothing. (A dataset of the id that this
    // process did not know of makes the zfs create/clone fail: taken() then.)
    Result<bool> make_dir(const std::string& dir, const std::string& id) {
        bool made = ::mkdir(dir.c_str(), 0700) == 0;
        if (!made && errno != EEXIST) return fail_errno("mkdir " + dir);
        if (!exists(container(id)) && !sys::exists(dir + "/bundle")) return made;
        return taken(id, made, "");
    }

    std::unexpected<Error> taken(const std::string& id, bool dir_made, const std::string& why) const {
        if (dir_made) (void)sys::remove_all(container_dir(id));
        return fail(ErrorKind::Exists,
                    "container " + id + " already has a rootfs" + (why.empty() ? "" : " (" + why + ")"));
    }

    // Whether zfs knows `name`: from the listing open_zfs_driver() took while this process has made or
    // destroyed nothing unexpected since, else asked.
    bool exists(const std::string& name) const {
        return listed_ ? listed_->contains(name) : zfs_exists(name);
    }
    // After a failure or a destroy the listing no longer tells: zfs is asked from then on.
    void forget() { listed_.reset(); }

    // After a failed zfs create/clone (so no dataset of ours): removes the container directory.
    std::unexpected<Error> undo(Error e, const std::string& id) {
        return cleanup_after(std::move(e), container_dir(id));
    }

    // <ds>/layers/<chain>@layer, made on first use under the layer's lock. A dataset without its snapshot
    // is what a killed unpack left: it is destroyed and made again.
    Status layer(const std::string& parent, const Layer& l) {
        TRY(check_name("chain id", l.chain_id));
        std::string name = layer_name(l.chain_id), snap = name + "@layer";
        if (exists(snap)) return ok();
        if (!l.unpack) return not_unpacked(l);
        forget();
        auto lock = TRY(sys::lock_file(root() + "/layers/" + l.chain_id + ".lock"));
        if (zfs_exists(snap)) return ok();
        if (zfs_exists(name)) TRY_CTX(zfs_destroy({"-r", name}), "remove partial layer " + l.chain_id);
        // canmount=noauto: mounted only while it is unpacked (a clone does not need its origin mounted).
        TRY(parent.empty() ? run_command({"zfs", "create", "-o", "canmount=noauto", name})
                           : run_command({"zfs", "clone", "-o", "canmount=noauto",
                                          layer_name(parent) + "@layer", name}));
        // (zfs-fuse mounts a clone even so.)
        auto mounted = command({"zfs", "get", "-H", "-o", "value", "mounted", name});
        Status s = mounted && mounted->starts_with("yes") ? ok() : run_command({"zfs", "mount", name});
        if (s) s = l.unpack(root() + "/layers/" + l.chain_id, Whiteouts::apply);
        if (s) s = run_command({"zfs", "snapshot", snap});
        if (s) s = zfs_unmount(name);
        if (!s) {
            Error e = std::move(s).error().context("layer " + l.chain_id);
            if (auto r = zfs_destroy({"-r", name}); !r)
                e.context("cleanup failed (" + r.error().message() + ")");
            return std::unexpected(std::move(e));
        }
        return ok();
    }

    std::string ds_;
    // every dataset and snapshot under ds_, as listed, with its origin ("-": none)
    std::optional<std::map<std::string, std::string>> listed_;
};

} // namespace

Result<std::unique_ptr<Driver>> open_zfs_driver(std::string root) {
    auto m = TRY(mount_of(root));
    if ((m.fstype != "zfs" && m.fstype != "fuse.zfs") || m.mountpoint != sys::absolute_path(root))
        return fail(ErrorKind::Invalid, "storage root " + root +
                                            " is not the mountpoint of a zfs dataset (it is on " + m.fstype +
                                            " " + m.source + " at " + m.mountpoint + ")");
    // One listing answers what opening needs (the dataset is there, its containers and layers datasets
    // are made and mounted, no layer lacks its snapshot) and the existence checks of the operation that
    // follows: each zfs-fuse command costs ~10 ms.
    auto probe = TRY(sys::run(
        {"zfs", "list", "-H", "-t", "filesystem,snapshot", "-o", "name,mounted,origin", "-r", m.source}, {},
        "", 1min));
    if (probe.status != 0)
        return fail(ErrorKind::Invalid,
                    "zfs dataset " + m.source + " mounted at " + root + " is not available: " + probe.err);
    std::map<std::string, bool> listed; // name -> mounted
    std::map<std::string, std::string> origins = parse_listing(probe.out);
    for (auto& [name, rest] : origins) {
        listed[name] = rest.starts_with("yes\t");
        rest = rest.substr(rest.find('\t') + 1);
    }
    for (const char* sub : {"/containers", "/layers"}) {
        auto it = listed.find(m.source + sub);
        if (it != listed.end() && it->second) continue;
        // (A killed runtime's zfs command may still be making it: made by then is fine.)
        if (it == listed.end()) {
            if (auto r = command({"zfs", "create", m.source + sub}); !r && !zfs_exists(m.source + sub))
                return std::unexpected(std::move(r).error());
        }
        // One whose create was killed before its mount is mounted now.
        auto mounted = command({"zfs", "get", "-H", "-o", "value", "mounted", m.source + sub});
        if (mounted && !mounted->starts_with("yes")) {
            if (auto r = command({"zfs", "mount", m.source + sub}); !r) {
                auto again = command({"zfs", "get", "-H", "-o", "value", "mounted", m.source + sub});
                if (!again || !again->starts_with("yes")) return std::unexpected(std::move(r).error());
            }
        }
        listed[m.source + sub] = true;
    }
    // A layer dataset without its @layer snapshot whose lock is free is what a killed unpack left (still
    // mounted): it goes now rather than at the next use of that layer.
    std::string prefix = m.source + "/layers/";
    for (auto& [name, mounted] : listed) {
        if (!name.starts_with(prefix) || name.find('@') != std::string::npos ||
            name.find('/', prefix.size()) != std::string::npos || listed.contains(name + "@layer"))
            continue;
        sys::Fd lock(::open((root + "/layers/" + name.substr(prefix.size()) + ".lock").c_str(),
                            O_RDWR | O_CREAT | O_CLOEXEC, 0600));
        if (lock.valid() && ::flock(lock.get(), LOCK_EX | LOCK_NB) == 0) {
            (void)zfs_destroy({"-r", name});
            origins.erase(name);
        }
    }
    return std::make_unique<ZfsDriver>(std::move(root), m.source, std::move(origins));
}

} // namespace lxcri::storage
