#include "backend/proxmox/snapshot.hpp"

#include "backend/proxmox/backend.hpp"
#include "proxmox/client.hpp"
#include "proxmox/config.hpp"

#include <algorithm>
#include <utility>

namespace lxcri::backend::proxmox {

namespace pve = lxcri::proxmox;

namespace {

// PVE's snapshot names (pve-configid: a letter, then letters, digits, '-' and '_'), checked here so that a
// name never needs escaping in the API path.
Status check_name(const std::string& name) {
    bool good = !name.empty() && name.size() <= 40 &&
                ((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z'));
    for (char c : name)
        good = good && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        c == '-' || c == '_');
    if (!good)
        return fail(ErrorKind::Invalid, "invalid snapshot name \"" + name +
                                            "\": a letter, then letters, digits, '-' or '_' (at most 40)");
    return ok();
}

struct Ct {
    pve::Config cfg;
    std::string path; // /nodes/{n}/lxc/{vmid}
    std::string what; // "CT {vmid}"
};

Result<Ct> ct_of(const Handle& h) {
    auto r = Record::from_json(h.record);
    if (!r.vmid || r.config.empty())
        return fail(ErrorKind::WrongState, "container " + h.id + " has no CT yet");
    auto cfg = TRY(pve::load_config(r.config));
    return Ct{std::move(cfg), ct_path(r.node, r.vmid), "CT " + std::to_string(r.vmid)};
}

} // namespace

Result<std::vector<std::string>> list_snapshots(const Handle& h, Deadline d) {
    auto ct = TRY(ct_of(h));
    pve::Client api(ct.cfg, "");
    auto data = TRY_CTX(api.get(ct.path + "/snapshot", {}, d), "snapshots of " + ct.what);
    if (!data.is_array()) return fail("PVE GET " + ct.path + "/snapshot: expected a list");
    std::vector<std::pair<int64_t, std::string>> snaps;
    for (const auto& s : data) {
        if (!s.is_object() || !s.contains("name") || !s["name"].is_string()) continue;
        std::string name = s["name"].get<std::string>();
        // "current" is where the CT is; a snapstate (prepare, delete) is a snapshot half made or half gone.
        if (name == "current" || (s.contains("snapstate") && !s["snapstate"].is_null())) continue;
        int64_t t =
            s.contains("snaptime") && s["snaptime"].is_number_integer() ? s["snaptime"].get<int64_t>() : 0;
        snaps.emplace_back(t, std::move(name));
    }
    std::sort(snaps.begin(), snaps.end());
    std::vector<std::string> names;
    for (auto& [t, n] : snaps)
        names.push_back(std::move(n));
    return names;
}

Status make_snapshot(const Handle& h, const std::string& name, Deadline d) {
    TRY(check_name(name));
    auto ct = TRY(ct_of(h));
    pve::Client api(ct.cfg, "");
    TRY_CTX(api.run_task("POST", ct.path + "/snapshot",
                         {{"snapname", name}, {"description", "proxmox-lxcri checkpoint of " + h.id}}, d),
            "snapshot " + name + " of " + ct.what);
    return ok();
}

Status rollback_snapshot(const Handle& h, const std::string& name, Deadline d) {
    TRY(check_name(name));
    auto ct = TRY(ct_of(h));
    pve::Client api(ct.cfg, "");
    TRY_CTX(api.run_task("POST", ct.path + "/snapshot/" + name + "/rollback", {}, d),
            "rollback of " + ct.what + " to " + name);
    return ok();
}

Status remove_snapshot(const Handle& h, const std::string& name, Deadline d) {
    TRY(check_name(name));
    auto ct = TRY(ct_of(h));
    pve::Client api(ct.cfg, "");
    TRY_CTX(api.run_task("DELETE", ct.path + "/snapshot/" + name, {}, d),
            "remove snapshot " + name + " of " + ct.what);
    return ok();
}

} // namespace lxcri::backend::proxmox
