#include "runtime/common.hpp"

namespace lxcri::runtime {

Status pause(const Global& g, const std::string& id) {
    Store store(g.root);
    auto c = TRY(open_container(store, id));
    TRY(c.allows(Verb::Pause));
    return c.backend->pause(c.handle(), backend::after(kOpTimeout));
}

Status resume(const Global& g, const std::string& id) {
    Store store(g.root);
    auto c = TRY(open_container(store, id));
    TRY(c.allows(Verb::Resume));
    return c.backend->resume(c.handle(), backend::after(kOpTimeout));
}

} // namespace lxcri::runtime
