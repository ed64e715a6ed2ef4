#include "runtime/common.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <pwd.h>
#include <sys/stat.h>

namespace lxcri::runtime {

Status list(const Global& g, const std::string& format, bool quiet) {
    Store store(g.root);
    std::vector<State> states;
    for (auto& id : store.list()) {
        if (auto s = store.load(id)) states.push_back(std::move(*s));
    }
    if (quiet) {
        for (auto& s : states) std::printf("%s\n", s.id.c_str());
        return ok();
    }
    if (format == "json") {
        std::string out = "[";
        for (auto& s : states) out += (out.size() > 1 ? "," : "") + oci_state_json(s, 0);
        std::printf("%s]\n", out.c_str());
        return ok();
    }
    if (format != "table" && !format.empty()) return fail("invalid format option");
    std::printf("%-12s%-12s%-12s%-12s%-32s%s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
    for (auto& s : states) {
        RunState st = s.status();
        int pid = st == RunState::Stopped ? 0 : s.init_pid;
        std::printf("%-12s%-12d%-12s%-12s%-32s%s\n", s.id.c_str(), pid, std::string(status_name(st)).c_str(),
                    s.bundle.c_str(), s.created.c_str(), s.owner.empty() ? "root" : s.owner.c_str());
    }
    return ok();
}

} // namespace lxcri::runtime
