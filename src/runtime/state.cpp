#include "runtime/common.hpp"

#include <cstdio>

namespace lxcri::runtime {

Status state(const Global& g, const std::string& id) {
    Store store(g.root);
    auto c = TRY(peek_container(store, id));
    std::printf("%s\n", oci_state_json(c.state, c.status().value(), 2).c_str());
    return ok();
}

} // namespace lxcri::runtime
