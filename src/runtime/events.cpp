#include "cgroup/cgroup.hpp"
#include "runtime/common.hpp"

#include <algorithm>
#include <cstdio>
#include <thread>

namespace lxcri::runtime {

// runc's types.Event: {"type", "id", "data"}; data is omitted when there is none (an "oom" event).
static std::string event_line(const std::string& type, const std::string& id, const std::string& data) {
    std::string line = "{\"type\":\"" + type + "\",\"id\":\"" + id + "\"";
    if (!data.empty()) line += ",\"data\":" + data;
    return line + "}";
}

// Like runc: `--stats` prints the stats once; otherwise a stats event every interval and an "oom" event as
// soon as the container's OOM count rises (checked every 100 ms), until the container stops.
Status events(const Global& g, const std::string& id, bool stats, std::chrono::milliseconds interval) {
    Store store(g.root);
    // Not held while events streams; the handle is a copy.
    auto c = TRY(open_container(store, id, false));
    if (interval.count() <= 0) return fail(ErrorKind::Invalid, "duration interval must be greater than 0");
    TRY(c.allows(Verb::Events));
    auto handle = c.handle();
    c.lock = sys::FileLock();
    auto read = [&]() { return c.backend->stats(handle, backend::after(kOpTimeout)); };
    if (stats) {
        auto s = TRY_CTX(read(), "stats of " + id);
        std::printf("%s\n", event_line("stats", id, cgroup::stats_to_json(s)).c_str());
        return ok();
    }
    uint64_t ooms = TRY_CTX(read(), "stats of " + id).oom_kill;
    constexpr std::chrono::milliseconds kOomPoll{100};
    auto next_stats = std::chrono::steady_clock::now() + interval;
    for (;;) {
        auto now = std::chrono::steady_clock::now();
        std::this_thread::sleep_for(
            std::min<std::chrono::steady_clock::duration>(kOomPoll, next_stats - now));
        bool alive = c.backend->observe(handle, backend::after(kOpTimeout)).init_alive;
        auto s = read();
        if (!s) {
            if (!alive) return ok();
            continue; // the cgroup may be going away with the container
        }
        // An OOM kill of the init itself is reported before the stream ends with it.
        if (s->oom_kill > ooms) {
            std::printf("%s\n", event_line("oom", id, "").c_str());
            std::fflush(stdout);
        }
        ooms = s->oom_kill;
        if (!alive) return ok();
        if (std::chrono::steady_clock::now() >= next_stats) {
            std::printf("%s\n", event_line("stats", id, cgroup::stats_to_json(*s)).c_str());
            std::fflush(stdout);
            next_stats += interval;
        }
    }
}

} // namespace lxcri::runtime
