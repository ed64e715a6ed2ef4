#include "runtime/common.hpp"
#include "sys/log.hpp"

namespace lxcri::runtime {

Status remove(const Global& g, const std::string& id, bool force) {
    Store store(g.root);
    auto c = open_container(store, id);
    if (!c) {
        // runc: `delete --force` of a missing container succeeds. A create killed before its first state.json
        // leaves only the directory (nothing else exists yet).
        if (force && c.error().kind() == ErrorKind::NotFound) {
            if (validate_id(id) && sys::exists(store.dir(id))) return store.remove(id);
            return ok();
        }
        return std::unexpected(std::move(c).error());
    }
    if (!force) TRY(c->allows(Verb::Delete));
    log::debug(std::string("delete: ") + (force ? "forcibly " : "") + "removing " + id);
    return destroy_container(store, *c);
}

} // namespace lxcri::runtime
