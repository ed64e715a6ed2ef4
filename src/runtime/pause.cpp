#include "runtime/common.hpp"
#include "sys/log.hpp"

namespace lxcri::runtime {

Status pause(const Global& g, const std::string& id) {
    Store store(g.root);
    auto c = TRY(open_container(store, id));
    TRY(c.allows(Verb::Pause));
    log::debug("pause: freezing " + id);
    return c.backend->pause(c.handle(), backend::after(kOpTimeout));
}

Status resume(const Global& g, const std::string& id) {
    Store store(g.root);
    auto c = TRY(open_container(store, id));
    TRY(c.allows(Verb::Resume));
    log::debug("resume: thawing " + id);
    return c.backend->resume(c.handle(), backend::after(kOpTimeout));
}

} // namespace lxcri::runtime
