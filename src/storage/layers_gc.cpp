#include "storage/layers_gc.hpp"

#include "storage/drivers.hpp"
#include "sys/fs.hpp"

#include <optional>
#include <sstream>
#include <vector>

namespace lxcri::storage {

namespace {
constexpr const char* kRecord = "layers";

// The chain ids of the layers in an overlay container's mount-options
// ("lowerdir=<root>/layers/<chain>/diff:..., upperdir=<dir>/upper,workdir=<dir>/work", what it is mounted
// with), or nothing unless the whole text is that, for this container: a record lost or torn by a crash (it
// is written without fsync) or another one's is no record, and gc then removes nothing.
std::optional<std::vector<std::string>> layers_of_mount_options(const std::string& dir,
                                                                const std::string& id) {
    auto text = sys::read_file(dir + "/mount-options");
    if (!text || !text->starts_with("lowerdir=")) return std::nullopt;
    auto upper = text->find(",upperdir=");
    if (upper == std::string::npos) return std::nullopt;
    std::string rest = text->substr(upper + 10);
    auto work = rest.find(",workdir=");
    if (work == std::string::npos || !rest.substr(0, work).ends_with("/containers/" + id + "/upper") ||
        !rest.ends_with("/containers/" + id + "/work"))
        return std::nullopt;
    std::vector<std::string> chains;
    std::istringstream lower(text->substr(9, upper - 9));
    for (std::string l; std::getline(lower, l, ':');) {
        if (l.size() < 77 || !l.ends_with("/diff")) return std::nullopt; // "/layers/" <64 hex> "/diff"
        std::string chain = l.substr(l.size() - 69, 64);
        if (l.compare(l.size() - 77, 8, "/layers/") != 0 ||
            chain.find_first_not_of("0123456789abcdef") != std::string::npos)
            return std::nullopt;
        chains.push_back(chain);
    }
    if (chains.empty()) return std::nullopt;
    return chains;
}
} // namespace

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
        auto mounted = text ? std::nullopt : layers_of_mount_options(dir, id);
        if (!text && !mounted) {
            rep.skipped = "container " + id + " has no layer record (" + dir + "/" + kRecord +
                          " or a whole " + dir + "/mount-options)";
            return rep;
        }
        if (mounted) used.insert(mounted->begin(), mounted->end());
        std::istringstream in(text ? *text : std::string());
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
