#include "storage/layers_gc.hpp"

#include "storage/drivers.hpp"
#include "sys/fs.hpp"

#include <sstream>

namespace lxcri::storage {

namespace {
constexpr const char* kRecord = "layers";
}

Status record_layers(const Driver& driver, const std::string& id, std::span<const Layer> layers) {
    if (driver.name() != "overlay") return ok();
    TRY(check_name("container id", id));
    std::string text;
    for (auto& l : layers)
        text += l.chain_id + "\n";
    TRY_CTX(sys::write_file_atomic(driver.container_dir(id) + "/" + kRecord, text, 0600, true),
            "record layers of " + id);
    return ok();
}

Result<LayerGcReport> gc_layers(const std::string& root, const std::set<std::string>& keep) {
    LayerGcReport rep;
    const std::string layers = root + "/layers";
    if (!sys::exists(layers)) return rep;
    std::set<std::string> used = keep;
    for (auto& id : sys::list_dir(root + "/containers")) {
        std::string dir = root + "/containers/" + id;
        if (!sys::exists(dir + "/upper")) continue; // not an overlay container
        auto text = sys::read_file(dir + "/" + kRecord);
        if (!text) {
            rep.skipped = "container " + id + " has no layer record (" + dir + "/" + kRecord + ")";
            return rep;
        }
        std::istringstream in(*text);
        for (std::string line; std::getline(in, line);)
            if (!line.empty()) used.insert(line);
    }
    // The driver of the root removes what it made: directories (overlay), read-only snapshots (btrfs),
    // datasets (zfs, which refuses a layer a clone still needs: kept, and tried again after the layers
    // above it went, so a chain of unused layers goes in one gc).
    auto driver = TRY(open_driver(detect_driver(root), root));
    auto names = TRY(driver->layer_names());
    std::vector<std::string> pending;
    for (auto& name : names) {
        if (name.ends_with(".lock")) continue; // kept: a waiter may hold it open
        bool tmp = name.ends_with(".tmp");
        std::string chain = tmp ? name.substr(0, name.size() - 4) : name;
        if (!tmp && used.contains(chain)) {
            rep.kept++;
            continue;
        }
        pending.push_back(name);
    }
    for (bool progress = true; progress && !pending.empty();) {
        progress = false;
        std::vector<std::string> busy;
        for (auto& name : pending) {
            std::string chain = name.ends_with(".tmp") ? name.substr(0, name.size() - 4) : name;
            // Under the layer's lock: an unpack in progress finishes first, so a .tmp seen then is stale.
            auto lock = TRY_CTX(sys::lock_file(layers + "/" + chain + ".lock"), "layer gc");
            auto r = driver->remove_layer(name);
            if (r) {
                rep.removed++;
                progress = true;
            } else if (r.error().kind() == ErrorKind::Busy) {
                busy.push_back(name);
            } else {
                return std::unexpected(std::move(r).error().context("layer gc"));
            }
        }
        pending = std::move(busy);
    }
    rep.kept += pending.size();
    return rep;
}

} // namespace lxcri::storage
