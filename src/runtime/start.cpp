#include "runtime/common.hpp"
#include "sys/log.hpp"

namespace lxcri::runtime {

Status start(const Global& g, const std::string& id, bool finishes_create) {
    Store store(g.root);
    auto c = TRY(open_container(store, id));
    // After a create with start_follows the state says "started" already (written with the end of the
    // create): the init is still waiting for us.
    if (finishes_create) c.state.started = false;
    TRY(c.allows(Verb::Start));
    State& st = c.state;
    // The config as it was at create, not the bundle's current file.
    auto sp = TRY(store.load_spec(id));
    // All or nothing: the state says "started" before the process is released, so a state that cannot be
    // written (a full filesystem) leaves the process waiting and the container "created".
    st.started = true;
    if (!finishes_create) TRY_CTX(store.save(st), "start " + id);
    log::debug("start: releasing the init of " + id + " (pid " + std::to_string(st.pid) + ")");
    // Seccomp notify: the agent gets the init's notify fd with the state runc sends ("creating", the init's
    // pid).
    auto agent = seccomp_agent(sp, [&st](pid_t) { return oci_state_json(st, RunState::Creating, 0); });
    auto released = c.backend->start(c.handle(), oci_state_json(st, RunState::Created, 0),
                                     backend::after(kStartTimeout), agent);
    if (!released) {
        st.started = false;
        if (auto r = store.save(st); !r)
            released.error().context("the state could not be reset (" + r.error().message() + ")");
        return released;
    }
    if (!sp.hooks.poststart.empty()) {
        // runc: a failing poststart hook is logged; the container keeps running.
        if (auto r = run_hooks(sp.hooks.poststart, "poststart", oci_state_json(st, RunState::Running, 0)); !r)
            log::warn(r.error().message());
    }
    return ok();
}

} // namespace lxcri::runtime
