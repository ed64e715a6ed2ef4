#include "runtime/common.hpp"
#include "sys/proc.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace lxcri::runtime {

Status ps(const Global& g, const std::string& id, const std::string& format,
          const std::vector<std::string>& ps_args) {
    Store store(g.root);
    auto c = TRY(open_container(store, id, false));
    // A stopped container has no processes to list (the table allows ps in every status).
    std::vector<pid_t> pids;
    if (c.status().can_observe())
        pids = TRY_CTX(c.backend->pids(c.handle(), backend::after(kOpTimeout)), "list processes of " + id);
    if (format == "json") {
        std::printf("%s\n", nlohmann::json(pids).dump().c_str());
        return ok();
    }
    if (format != "table" && !format.empty()) return fail("invalid format option");
    std::vector<std::string> argv = {"ps"};
    if (ps_args.empty()) argv.push_back("-ef");
    argv.insert(argv.end(), ps_args.begin(), ps_args.end());
    sys::RunOptions ro;
    ro.argv = std::move(argv);
    ro.timeout = std::chrono::seconds(10);
    auto r = TRY_CTX(sys::run(ro), "ps");
    if (r.timed_out) return fail("ps: timed out after 10s");
    if (r.status != 0) return fail("ps: " + sys::describe_wait_status(r.status) + ": " + r.err);
    std::istringstream in(r.out);
    std::string line;
    std::getline(in, line);
    auto pid_col = line.find("PID");
    if (pid_col == std::string::npos) return fail("couldn't find PID field in ps output");
    std::printf("%s\n", line.c_str());
    // PID is the field whose header ends at pid_col+3: take the whitespace field covering that column.
    std::istringstream hdr(line);
    std::vector<std::string> heads;
    for (std::string h; hdr >> h;)
        heads.push_back(h);
    size_t idx = static_cast<size_t>(std::find(heads.begin(), heads.end(), "PID") - heads.begin());
    while (std::getline(in, line)) {
        std::istringstream f(line);
        std::string tok;
        for (size_t i = 0; i <= idx && f >> tok; ++i) {
        }
        pid_t p = std::atoi(tok.c_str());
        if (std::find(pids.begin(), pids.end(), p) != pids.end()) std::printf("%s\n", line.c_str());
    }
    return ok();
}

} // namespace lxcri::runtime
