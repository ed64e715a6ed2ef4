#include "runtime/common.hpp"
#include "sys/log.hpp"
#include "sys/proc.hpp"

namespace lxcri::runtime {

Status kill(const Global& g, const std::string& id, const std::string& signal, bool all) {
    Store store(g.root);
    auto c = TRY(open_container(store, id, false));
    int sig = TRY(sys::parse_signal(signal));
    // Signal 0 only checks that the container lives (runc passes it to kill(2) like any other number).
    TRY(c.allows(Verb::Kill));
    log::debug("kill: signal " + std::to_string(sig) + " to " + (all ? "every process of " : "the init of ") +
               id);
    if (all) return c.backend->signal_all(c.handle(), sig, backend::after(kOpTimeout));
    // runc's words; a number the kernel does not know ends here as "...: Invalid argument".
    TRY_CTX(c.backend->signal(c.handle(), sig, backend::after(kOpTimeout)), "unable to signal init");
    return ok();
}

} // namespace lxcri::runtime
