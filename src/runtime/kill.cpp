#include "cgroup/cgroup.hpp"
#include "runtime/common.hpp"
#include "sys/proc.hpp"

#include <signal.h>

namespace lxcri::runtime {

Status kill(const Global& g, const std::string& id, const std::string& signal, bool all) {
    Store store(g.root);
    auto c = TRY(open_container(store, id, false));
    int sig = TRY(sys::parse_signal(signal));
    const State& st = c.state;
    // Wording matters: containerd maps "container not running" / "process already finished" to "gone".
    if (!st.can_kill()) return fail("container not running");
    if (all) {
        cgroup::Cgroup cg(st.cgroup_paths, static_cast<cgroup::Mode>(st.cgroup_mode));
        return cg.kill_all(sig);
    }
    if (::kill(st.init_pid, sig) < 0) {
        if (errno == ESRCH) return fail("process already finished");
        return fail_errno("kill container init");
    }
    return ok();
}

} // namespace lxcri::runtime
