// The backend registry: one entry per backend, looked up by the name state.json records.
#include "backend/backend.hpp"
#include "backend/lxc/backend.hpp"
#include "backend/proxmox/backend.hpp"
#include "proxmox/config.hpp"

namespace lxcri::backend {

namespace {
struct Entry {
    std::string_view name;
    std::unique_ptr<Backend> (*make)();
};
constexpr Entry kBackends[] = {{"lxc", &lxc::make_backend}, {"proxmox", &proxmox::make_backend}};
} // namespace

Result<std::unique_ptr<Backend>> open(std::string_view name) {
    for (const auto& e : kBackends)
        if (e.name == name) return e.make();
    std::string have;
    for (auto& n : names())
        have += (have.empty() ? "" : ", ") + n;
    return fail(ErrorKind::Invalid, "unknown backend \"" + std::string(name) + "\" (have: " + have + ")");
}

Result<std::string> choose(const std::string& flag, const std::map<std::string, std::string>& annotations) {
    auto known = [](const std::string& n, const std::string& where) -> Result<std::string> {
        for (const auto& e : kBackends)
            if (e.name == n) return n;
        return fail(ErrorKind::Invalid, where + ": unknown backend \"" + n + "\" (have: lxc, proxmox)");
    };
    if (!flag.empty()) return known(flag, "--backend");
    if (auto it = annotations.find(kBackendAnnotation); it != annotations.end())
        return known(it->second, std::string("annotation ") + kBackendAnnotation);
    auto cfg = TRY(lxcri::proxmox::load_default());
    if (cfg && !cfg->backend.empty()) return known(cfg->backend, "config " + cfg->path + ": backend");
    return std::string(kDefault);
}

std::vector<std::string> names() {
    std::vector<std::string> out;
    for (const auto& e : kBackends)
        out.emplace_back(e.name);
    return out;
}

} // namespace lxcri::backend
