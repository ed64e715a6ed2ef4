#include "runtime/common.hpp"

namespace lxcri::runtime {

Status remove(const Global& g, const std::string& id, bool force) {
    Store store(g.root);
    auto c = store.lock(id);
    if (!c) {
        // runc: `delete --force` of a missing container succeeds.
        if (force && c.error().message().find("does not exist") != std::string::npos) {
            // A create killed before state.json was written leaves only the directory.
            if (validate_id(id) && sys::exists(store.dir(id))) {
                State st;
                st.id = id;
                return destroy_container(store, st);
            }
            return ok();
        }
        return std::unexpected(std::move(c).error());
    }
    auto st = TRY(store.load(id));
    RunState s = st.status();
    if (!force && (s == RunState::Running || s == RunState::Paused || s == RunState::Creating))
        return fail("cannot delete container " + id + " that is not stopped: " + std::string(status_name(s)));
    return destroy_container(store, st);
}

} // namespace lxcri::runtime
