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
    for (auto& name : sys::list_dir(layers)) {
        if (name.ends_with(".lock")) continue; // kept: a waiter may hold it open
        bool tmp = name.ends_with(".tmp");
        std::string chain = tmp ? name.substr(0, name.size() - 4) : name;
        if (!tmp && used.contains(chain)) {
            rep.kept++;
            continue;
        }
        // Under the layer's lock: an unpack in progress finishes first, so a .tmp seen then is stale.
        auto lock = TRY_CTX(sys::lock_file(layers + "/" + chain + ".lock"), "layer gc");
        if (!sys::exists(layers + "/" + name)) continue;
        TRY_CTX(sys::remove_all(layers + "/" + name), "layer gc");
        rep.removed++;
    }
    return rep;
}

} // namespace lxcri::storage
