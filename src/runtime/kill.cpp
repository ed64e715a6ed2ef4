#include "runtime/common.hpp"
#include "sys/proc.hpp"

namespace lxcri::runtime {

Status kill(const Global& g, const std::string& id, const std::string& signal, bool all) {
    Store store(g.root);
    auto c = TRY(open_container(store, id, false));
    int sig = TRY(sys::parse_signal(signal));
    TRY(c.allows(Verb::Kill));
    if (all) return c.backend->signal_all(c.handle(), sig, backend::after(kOpTimeout));
    return c.backend->signal(c.handle(), sig, backend::after(kOpTimeout));
}

} // namespace lxcri::runtime
