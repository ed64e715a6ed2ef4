#include "runtime/common.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <pwd.h>
#include <sys/stat.h>

namespace lxcri::runtime {

Status list(const Global& g, const std::string& format, bool quiet) {
    Store store(g.root);
    // Each container as saved, with the status its backend observes (no locks: list never waits).
    std::vector<std::pair<State, RunState>> states;
    for (auto& id : store.list()) {
        auto s = store.load(id);
        if (!s) continue;
        auto be = backend::open(s->backend);
        if (!be) continue;
        RunState rs = ContainerStatus(*s, (*be)->observe({id, store.dir(id), s->backend_state},
                                                         backend::after(kOpTimeout)))
                          .value();
        states.emplace_back(std::move(*s), rs);
    }
    if (quiet) {
        for (auto& [s, rs] : states)
            std::printf("%s\n", s.id.c_str());
        return ok();
    }
    if (format == "json") {
        std::string out = "[";
        for (auto& [s, rs] : states)
            out += (out.size() > 1 ? "," : "") + oci_state_json(s, rs, 0);
        std::printf("%s]\n", out.c_str());
        return ok();
    }
    if (format != "table" && !format.empty()) return fail("invalid format option");
    // runc prints through tabwriter.NewWriter(os.Stdout, 12, 1, 3, ' ', 0): min width 12, padding 3.
    std::vector<std::vector<std::string>> rows = {{"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"}};
    for (auto& [s, st] : states) {
        rows.push_back({s.id, std::to_string(st == RunState::Stopped ? 0 : s.pid),
                        std::string(status_name(st)), s.bundle, s.created,
                        s.owner.empty() ? "root" : s.owner});
    }
    std::vector<size_t> width(rows[0].size(), 12);
    for (auto& r : rows)
        for (size_t i = 0; i + 1 < r.size(); ++i)
            width[i] = std::max(width[i], r[i].size() + 3);
    for (auto& r : rows) {
        std::string line;
        for (size_t i = 0; i < r.size(); ++i)
            line += i + 1 < r.size() ? r[i] + std::string(width[i] - r[i].size(), ' ') : r[i];
        std::printf("%s\n", line.c_str());
    }
    return ok();
}

} // namespace lxcri::runtime
