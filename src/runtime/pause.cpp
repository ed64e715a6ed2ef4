#include "cgroup/cgroup.hpp"
#include "runtime/common.hpp"

namespace lxcri::runtime {

static Status set_frozen(const Global& g, const std::string& id, bool freeze) {
    Store store(g.root);
    auto c = TRY(open_container(store, id));
    const State& st = c.state;
    if (freeze && !st.can_pause()) return fail("container not running");
    if (!freeze && !st.can_resume()) return fail("container not paused");
    cgroup::Cgroup cg(st.cgroup_paths, static_cast<cgroup::Mode>(st.cgroup_mode));
    return freeze ? cg.freeze() : cg.thaw();
}

Status pause(const Global& g, const std::string& id) {
    return set_frozen(g, id, true);
}
Status resume(const Global& g, const std::string& id) {
    return set_frozen(g, id, false);
}

} // namespace lxcri::runtime
