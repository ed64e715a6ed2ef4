// The backend registry: one entry per backend, looked up by the name state.json records.
#include "backend/backend.hpp"
#include "backend/lxc/backend.hpp"

namespace lxcri::backend {

namespace {
struct Entry {
    std::string_view name;
    std::unique_ptr<Backend> (*make)();
};
constexpr Entry kBackends[] = {{"lxc", &lxc::make_backend}};
} // namespace

Result<std::unique_ptr<Backend>> open(std::string_view name) {
    for (const auto& e : kBackends)
        if (e.name == name) return e.make();
    std::string have;
    for (auto& n : names())
        have += (have.empty() ? "" : ", ") + n;
    return fail(ErrorKind::Invalid, "unknown backend \"" + std::string(name) + "\" (have: " + have + ")");
}

std::vector<std::string> names() {
    std::vector<std::string> out;
    for (const auto& e : kBackends)
        out.emplace_back(e.name);
    return out;
}

} // namespace lxcri::backend
