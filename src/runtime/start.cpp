#include "backend/lxc/container.hpp"
#include "runtime/common.hpp"
#include "sys/log.hpp"

namespace lxcri::runtime {

Status start(const Global& g, const std::string& id) {
    Store store(g.root);
    auto c = TRY(open_container(store, id));
    State& st = c.state;
    RunState s = st.status();
    if (s != RunState::Created) {
        if (s == RunState::Stopped) return fail("cannot start a container that has stopped");
        return fail("cannot start an already running container");
    }
    TRY(lxc::start(store.dir(id), st.init_pid, st.init_start_time, oci_state_json(st, 0)));
    st.started = true;
    TRY(store.save(st));
    if (auto sp = spec::load(st.bundle); sp && !sp->hooks.poststart.empty()) {
        // runc: a failing poststart hook is logged; the container keeps running.
        if (auto r = run_hooks(sp->hooks.poststart, "poststart", oci_state_json(st, 0, RunState::Running));
            !r)
            log::warn(r.error().message());
    }
    return ok();
}

} // namespace lxcri::runtime
