#include "cgroup/cgroup.hpp"
#include "runtime/common.hpp"

#include <cstdio>
#include <thread>

namespace lxcri::runtime {

static std::string event_line(const std::string& type, const std::string& id, const std::string& data) {
    return "{\"type\":\"" + type + "\",\"id\":\"" + id + "\",\"data\":" + data + "}";
}

Status events(const Global& g, const std::string& id, bool stats, std::chrono::milliseconds interval) {
    Store store(g.root);
    // Not held while events streams; the handle is a copy.
    auto c = TRY(open_container(store, id, false));
    TRY(c.allows(Verb::Events));
    auto handle = c.handle();
    c.lock = sys::FileLock();
    uint64_t ooms = 0;
    for (bool first = true;; first = false) {
        auto s = TRY_CTX(c.backend->stats(handle, backend::after(kOpTimeout)), "stats of " + id);
        if (stats) {
            std::printf("%s\n", event_line("stats", id, cgroup::stats_to_json(s)).c_str());
            return ok();
        }
        if (!first && s.oom_kill > ooms) std::printf("%s\n", event_line("oom", id, "null").c_str());
        ooms = s.oom_kill;
        std::printf("%s\n", event_line("stats", id, cgroup::stats_to_json(s)).c_str());
        std::fflush(stdout);
        std::this_thread::sleep_for(interval);
        if (!c.backend->observe(handle, backend::after(kOpTimeout)).init_alive) return ok();
    }
}

} // namespace lxcri::runtime
