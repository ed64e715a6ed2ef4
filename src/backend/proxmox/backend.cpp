#include "backend/proxmox/backend.hpp"

#include "backend/lxc/container.hpp" // find_init_binary: the same static init goes into the template
#include "backend/proxmox/snapshot.hpp"
#include "backend/proxmox/standin.hpp"
#include "backend/proxmox/template.hpp"
#include "cgroup/cgroup.hpp"
#include "proxmox/client.hpp"
#include "proxmox/config.hpp"
#include "sys/fs.hpp"
#include "sys/log.hpp"
#include "sys/pidfd.hpp"
#include "sys/proc.hpp"

#include <lxc/lxccontainer.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <thread>

namespace lxcri::backend::proxmox {

namespace pve = lxcri::proxmox;
using nlohmann::json;

Record Record::from_json(const json& j) {
    Record r;
    if (!j.is_object()) return r;
    r.config = j.value("config", "");
    r.node = j.value("node", "");
    r.vmid = j.value("vmid", uint32_t{0});
    r.ct_requested = j.value("ctRequested", false);
    r.created = j.value("created", false);
    r.uploaded = j.value("uploaded", "");
    r.tag = j.value("tag", "");
    r.init_pid = j.value("initPid", 0);
    r.init_start_time = j.value("initStartTime", uint64_t{0});
    r.standin_pid = j.value("standinPid", 0);
    r.standin_start_time = j.value("standinStartTime", uint64_t{0});
    r.off_node = j.value("offNode", false);
    return r;
}

json Record::to_json() const {
    return {{"config", config},
            {"node", node},
            {"vmid", vmid},
            {"ctRequested", ct_requested},
            {"created", created},
            {"uploaded", uploaded},
            {"tag", tag},
            {"initPid", init_pid},
            {"initStartTime", init_start_time},
            {"standinPid", standin_pid},
            {"standinStartTime", standin_start_time},
            {"offNode", off_node}};
}

namespace {

constexpr const char* kNoConfig = "the proxmox backend needs a config file ($PROXMOX_LXCRI_CONFIG, "
                                  "/etc/proxmox-lxcri/config.json or ./config.json)";

Result<pve::Config> load(const std::string& recorded) {
    if (!recorded.empty()) return pve::load_config(recorded);
    auto c = TRY(pve::load_default());
    if (!c) return fail(ErrorKind::Invalid, kNoConfig);
    if (!c->has_proxmox)
        return fail(ErrorKind::Invalid,
                    "config " + c->path + ": no \"proxmox\" section for the proxmox backend");
    return std::move(*c);
}

uint64_t fnv(std::string_view s, uint64_t h = 1469598103934665603ULL) {
    for (unsigned char c : s) {
        h ^= c;
        h *= 1099511628211ULL;
    }
    return h;
}

std::string hex64(uint64_t v) {
    char b[17];
    std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
    return b;
}

// PVE's dns-name: labels of [a-zA-Z0-9-]; anything else is not passed (the CT keeps PVE's default).
bool dns_name(const std::string& s) {
    if (s.empty() || s.size() > 63) return false;
    for (char c : s)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.')) return false;
    return s.front() != '-' && s.back() != '-';
}

// net0 from annotations: proxmox-lxcri.io/net0 verbatim, or built from the
// bridge/tag/ip/gw/hwaddr/firewall/mtu keys (bridge defaulting to the config's "bridge").
std::optional<std::string> net0(const plan::Plan& p, const pve::Config& cfg) {
    const std::string pre = "proxmox-lxcri.io/";
    auto get = [&](const char* k) -> std::string {
        auto it = p.annotations.find(pre + k);
        return it == p.annotations.end() ? "" : it->second;
    };
    if (auto v = get("net0"); !v.empty()) return v;
    std::string bridge = get("bridge");
    if (bridge.empty()) bridge = cfg.bridge;
    if (bridge.empty()) return std::nullopt;
    std::string n = "name=eth0,bridge=" + bridge;
    for (const char* k : {"tag", "ip", "gw", "hwaddr", "firewall", "mtu", "ip6", "gw6"})
        if (auto v = get(k); !v.empty()) n += std::string(",") + k + "=" + v;
    if (get("ip").empty()) n += ",ip=dhcp";
    return n;
}

// Off the node: why attached use cannot work there (the first words of every refusal).
std::string off_node_why(const pve::Config& cfg) {
    return "the runtime is not on PVE node " + cfg.node + " (proxmox.on_node is false in " + cfg.path +
           "), so the container's process is not a process of this host";
}

// One argument as PVE 9.1's lxc splits lxc.init.cmd (lxc_string_split_quoted): a word is either bare (no
// whitespace, no quote) or wholly inside '...' or "..." (no escapes). Anything else cannot be passed.
// PVE's entrypoint/env pattern: no \x00-\x08, \x10-\x1F, \x7F.
bool pve_control(char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c <= 0x08 || (c >= 0x10 && c <= 0x1f) || c == 0x7f;
}

Result<std::string> quote_arg(const std::string& a) {
    bool bare = !a.empty();
    for (char c : a) {
        if (pve_control(c))
            return fail(ErrorKind::Invalid,
                        "process.args: a control character cannot be passed in PVE's entrypoint");
        if (std::isspace(static_cast<unsigned char>(c)) || c == '\'' || c == '"' || c == '\\') bare = false;
    }
    if (bare) return a;
    if (a.find('\'') == std::string::npos) return "'" + a + "'";
    if (a.find('"') == std::string::npos) return "\"" + a + "\"";
    return fail(ErrorKind::Invalid,
                "process.args: \"" + a + "\" has both quote characters: PVE's entrypoint cannot quote it");
}

// Off the node the CT runs the OCI process itself: PVE 9.1's entrypoint (the args, quoted) and env
// (NUL-separated NAME=value). cwd and user are not CT settings: gaps.
Result<pve::Params> app_process(const plan::Plan& p, std::vector<spec::Gap>& gaps) {
    if (p.process.args.empty()) return fail(ErrorKind::Invalid, "process.args: empty");
    std::string entry;
    for (auto& a : p.process.args) {
        if (!entry.empty()) entry += ' ';
        entry += TRY(quote_arg(a));
    }
    std::string env;
    for (auto& e : p.process.env) {
        auto eq = e.find('=');
        bool name_ok = eq != std::string::npos && eq > 0;
        for (size_t i = 0; name_ok && i < eq; ++i)
            name_ok = std::isalnum(static_cast<unsigned char>(e[i])) || e[i] == '_';
        if (!name_ok)
            return fail(ErrorKind::Invalid,
                        "process.env: \"" + e + "\" is not NAME=value as PVE's env takes it");
        for (char c : e)
            if (pve_control(c))
                return fail(ErrorKind::Invalid,
                            "process.env: a control character cannot be passed in PVE's env");
        if (!env.empty()) env += '\0';
        env += e;
    }
    if (p.process.cwd != "/" && !p.process.cwd.empty())
        gaps.push_back({"process.cwd", "off the node the CT's entrypoint starts in /"});
    if (p.process.user.uid != 0 || p.process.user.gid != 0 || !p.process.user.additional_gids.empty())
        gaps.push_back({"process.user", "off the node the CT's entrypoint runs as root"});
    pve::Params q{{"entrypoint", entry}};
    if (!env.empty()) q.emplace_back("env", env);
    return q;
}

struct CreateParams {
    pve::Params params;
    std::vector<spec::Gap> gaps;
};

// The CT's definition from the plan; every field a CT cannot honour is a gap.
CreateParams ct_params(const plan::Plan& p, const pve::Config& cfg, const std::string& tag) {
    CreateParams out;
    auto& q = out.params;
    auto gap = [&](const std::string& f, const std::string& why) { out.gaps.push_back({f, why}); };
    if (cfg.on_node) q.emplace_back("entrypoint", entrypoint());
    q.emplace_back("console", "0");
    q.emplace_back("cmode", "console");
    q.emplace_back("storage", cfg.storage);
    q.emplace_back("tags", "proxmox-lxcri;" + tag);
    q.emplace_back("description", "proxmox-lxcri OCI container " + p.id + " (bundle " + p.bundle + ")");
    if (dns_name(p.hostname))
        q.emplace_back("hostname", p.hostname);
    else if (!p.hostname.empty())
        gap("hostname", "\"" + p.hostname + "\" is not a DNS name PVE takes");
    if (p.has_namespace("user")) q.emplace_back("unprivileged", "1");
    if (!p.uid_mappings.empty() || !p.gid_mappings.empty())
        gap("linux.uidMappings", "an unprivileged PVE CT uses the node's id map (root = 100000)");
    if (auto n = net0(p, cfg)) q.emplace_back("net0", *n);
    const auto& r = p.resources;
    if (r.memory) {
        int64_t mib = 0;
        if (r.memory->limit && *r.memory->limit > 0) {
            mib = std::max<int64_t>(16, (*r.memory->limit + (1 << 20) - 1) >> 20);
            q.emplace_back("memory", std::to_string(mib));
        }
        if (r.memory->swap && *r.memory->swap > 0 && mib > 0) {
            int64_t total = (*r.memory->swap + (1 << 20) - 1) >> 20;
            q.emplace_back("swap", std::to_string(std::max<int64_t>(0, total - mib)));
        } else if (mib > 0) {
            q.emplace_back("swap", "0");
        }
        if (r.memory->reservation)
            gap("linux.resources.memory.reservation", "a PVE CT has no memory reservation");
        if (r.memory->swappiness) gap("linux.resources.memory.swappiness", "not a PVE CT setting");
        if (r.memory->disable_oom_killer)
            gap("linux.resources.memory.disableOOMKiller", "not a PVE CT setting");
    }
    if (r.cpu) {
        if (r.cpu->quota && *r.cpu->quota > 0) {
            uint64_t period = r.cpu->period.value_or(100000);
            double lim = static_cast<double>(*r.cpu->quota) / static_cast<double>(period ? period : 100000);
            char b[32];
            std::snprintf(b, sizeof b, "%.2f", std::min(lim, 8192.0));
            q.emplace_back("cpulimit", b);
            q.emplace_back("cores",
                           std::to_string(std::max<int64_t>(1, static_cast<int64_t>(std::ceil(lim)))));
        }
        if (r.cpu->shares)
            q.emplace_back("cpuunits", std::to_string(std::min<uint64_t>(*r.cpu->shares, 500000)));
        if (!r.cpu->cpus.empty())
            gap("linux.resources.cpu.cpus", "a PVE CT takes a core count, not a cpuset");
        if (r.cpu->realtime_runtime || r.cpu->realtime_period)
            gap("linux.resources.cpu.realtime*", "not a PVE CT setting");
    }
    if (r.pids_limit) gap("linux.resources.pids", "not a PVE CT setting");
    if (r.block_io) gap("linux.resources.blockIO", "not a PVE CT setting");
    if (!r.hugepage_limits.empty()) gap("linux.resources.hugepageLimits", "not a PVE CT setting");
    if (!p.cgroups_path.empty()) gap("linux.cgroupsPath", "a PVE CT lives in the node's lxc/<VMID> cgroup");
    if (!p.sysctl.empty()) gap("linux.sysctl", "raw lxc.* keys need root@pam on the node");
    if (!p.devices.empty()) gap("linux.devices", "device passthrough (devN) needs root@pam");
    for (auto& ns : p.namespaces)
        if (!ns.path.empty())
            gap("linux.namespaces[" + ns.type + "].path", "a PVE CT always gets new namespaces");
    size_t i = 0;
    for (auto& m : p.mounts) {
        if (m.type == "bind" || std::find(m.options.begin(), m.options.end(), "bind") != m.options.end() ||
            std::find(m.options.begin(), m.options.end(), "rbind") != m.options.end())
            gap("mounts[" + std::to_string(i) + "]",
                "bind mount of " + m.source + ": mount points of host paths need root@pam");
        ++i;
    }
    return out;
}

pid_t lxc_init_pid(const std::string& lxcpath, uint32_t vmid) {
    std::string name = std::to_string(vmid);
    if (!sys::exists(lxcpath + "/" + name + "/config")) return 0;
    lxc_container* c = lxc_container_new(name.c_str(), lxcpath.c_str());
    if (!c) return 0;
    pid_t pid = c->init_pid(c);
    lxc_container_put(c);
    return pid > 0 ? pid : 0;
}

bool alive(pid_t pid, uint64_t start) {
    return pid > 0 && start != 0 && sys::process_alive(pid, start);
}

class ProxmoxBackend final : public backend::Backend {
  public:
    std::string_view name() const override { return "proxmox"; }

    Status check(const backend::CreateRequest& req) override {
        auto cfg = TRY_CTX(load(""), "proxmox backend");
        TRY_CTX(lxc::find_init_binary(), "proxmox backend");
        if (req.preserve_fds > 64)
            return fail(ErrorKind::Invalid, "proxmox backend: --preserve-fds above 64");
        if (!cfg.on_node) {
            // Attached use needs a local process: refused before anything is made.
            auto no = [&](const std::string& what) {
                return fail(ErrorKind::Unsupported,
                            "proxmox backend: " + what + ": " + off_node_why(cfg) +
                                "; off the node only detached use works (create and "
                                "run -d without --pid-file, terminal or console socket)");
            };
            if (req.pid_file) return no("--pid-file cannot name a process on this host");
            if (req.plan->process.terminal)
                return no("a terminal (--console-socket) cannot be handed to this host");
            if (req.foreground) return no("run without -d cannot wait for the container here");
            if (req.preserve_fds > 0) return no("--preserve-fds cannot pass fds of this host");
            std::vector<spec::Gap> gaps;
            TRY_CTX(app_process(*req.plan, gaps), "proxmox backend");
        }
        if (req.strict) {
            auto cp = ct_params(*req.plan, cfg, "");
            if (!cp.gaps.empty())
                return fail(ErrorKind::Invalid,
                            "unsupported by a PVE CT: " + cp.gaps[0].field + ": " + cp.gaps[0].reason);
        }
        return ok();
    }

    Result<backend::Created> create(const backend::CreateRequest& req, backend::Handle& h,
                                    const backend::Persist& persist) override {
        const plan::Plan& plan = *req.plan;
        auto cfg = TRY_CTX(load(""), "proxmox backend");
        Record rec;
        rec.config = cfg.path;
        rec.node = cfg.node;
        rec.tag = "lxcri-" + hex64(fnv(req.root + "\n" + plan.id));
        auto save = [&]() -> Status {
            h.record = rec.to_json();
            return persist(h.record);
        };
        TRY(save());
        pve::Client api(cfg, req.root);
        auto d = req.deadline;
        TRY(api.check_node(d));

        // The rootfs and the init, as a template on template_storage (once per content).
        std::string init = TRY(lxc::find_init_binary());
        auto tpl =
            TRY(ensure_template(api, plan.rootfs, init, req.root, d, [&](const std::string& volid) -> Status {
                rec.uploaded = volid; // before the upload: a failed create removes it
                return save();
            }));

        auto cp = ct_params(plan, cfg, rec.tag);
        rec.off_node = !cfg.on_node;
        if (rec.off_node) {
            auto app = TRY_CTX(app_process(plan, cp.gaps), "proxmox backend");
            cp.params.insert(cp.params.end(), app.begin(), app.end());
        }
        // A VMID: nextid is a hint; a create that loses the race ("already exists") takes the next one.
        bool reuploaded = false;
        for (int attempt = 0;; ++attempt) {
            rec.vmid = TRY(api.next_id(d));
            rec.ct_requested = true;
            TRY(save());
            pve::Params q{{"vmid", std::to_string(rec.vmid)}, {"ostemplate", tpl}};
            q.insert(q.end(), cp.params.begin(), cp.params.end());
            auto r = api.run_task("POST", api.node_path() + "/lxc", q, d);
            if (r) break;
            if (r.error().message().find("volume '" + tpl + "' does not exist") != std::string::npos &&
                !reuploaded) {
                // The cached template is gone from PVE (removed by hand): upload it again.
                forget_template(tpl, req.root);
                reuploaded = true;
                tpl = TRY(ensure_template(api, plan.rootfs, init, req.root, d,
                                          [&](const std::string& volid) -> Status {
                                              rec.uploaded = volid;
                                              return save();
                                          }));
                continue;
            }
            if (r.error().kind() == ErrorKind::Exists && attempt < 5) {
                log::debug("VMID " + std::to_string(rec.vmid) + " taken meanwhile; next");
                continue;
            }
            return std::unexpected(std::move(r).error().context("create CT " + std::to_string(rec.vmid)));
        }
        std::string ct = api.node_path() + "/lxc/" + std::to_string(rec.vmid);
        if (rec.off_node) {
            // Detached: the CT exists and is started by `start` (status/start); no process of this host.
            rec.created = true;
            rec.uploaded.clear();
            TRY(save());
            return backend::Created{.init_pid = 0, .pid_file_pid = 0, .gaps = cp.gaps};
        }
        TRY_CTX(api.run_task("POST", ct + "/status/start", {}, d), "start CT " + std::to_string(rec.vmid));

        // The init's host pid: liblxc on the node, else status/current.
        pid_t init_pid = lxc_init_pid(cfg.lxcpath, rec.vmid);
        if (!init_pid) {
            auto st = TRY(pve::parse_ct_status(TRY(api.get(ct + "/status/current", {}, d))));
            if (st.pid <= 0 || !sys::exists("/proc/" + std::to_string(st.pid)))
                return fail(ErrorKind::Unsupported,
                            "CT " + std::to_string(rec.vmid) +
                                " runs, but not on this host: the proxmox backend "
                                "hands the container its stdio on the PVE node only (proxmox.lxcpath " +
                                cfg.lxcpath + " has no CT " + std::to_string(rec.vmid) + ")");
            init_pid = st.pid;
        }
        rec.init_pid = init_pid;
        rec.init_start_time = sys::process_start_time(init_pid).value_or(0);
        if (!rec.init_start_time) return fail("CT " + std::to_string(rec.vmid) + ": its init exited at once");
        TRY(save());

        StandinRequest sr;
        sr.process = plan::make_init_config(plan);
        sr.process.preserve_fds = req.preserve_fds;
        sr.init_host_pid = init_pid;
        sr.console_fd = req.console_fd;
        sr.deadline = d;
        pid_t standin = TRY_CTX(spawn_standin(sr), "CT " + std::to_string(rec.vmid));
        rec.standin_pid = standin;
        rec.standin_start_time = sys::process_start_time(standin).value_or(0);
        rec.created = true;
        rec.uploaded.clear(); // the template stays cached for the next create of this rootfs
        TRY(save());
        // The pid clients see (state, the pid file) is the stand-in: it lives in the CT's namespaces and
        // cgroups (podman top, nsenter -t, containerd's metrics) and is the caller's descendant that ends
        // with the container's exit status; signals to it reach the process through the init.
        return backend::Created{.init_pid = standin, .pid_file_pid = standin, .gaps = cp.gaps};
    }

    Status start(const backend::Handle& h, const std::string& state_json, backend::Deadline d,
                 const backend::SeccompAgent&) override {
        auto r = Record::from_json(h.record);
        if (r.off_node) {
            // Marked before the start (observe: a CT that is stopped after it is no longer "created").
            TRY(sys::write_file_atomic(started_marker(h), "", 0600));
            auto st = ct_task(h, "/status/start", d);
            if (!st) (void)::unlink(started_marker(h).c_str());
            return st;
        }
        if (!alive(r.init_pid, r.init_start_time)) return fail(ErrorKind::Gone, "the CT's init is gone");
        TRY(release(r.init_pid, state_json, d));
        return ok();
    }

    backend::Observed observe(const backend::Handle& h, backend::Deadline d) const override {
        auto r = Record::from_json(h.record);
        backend::Observed o;
        if (r.off_node) {
            if (!r.created) return o;
            auto st = ct_status(r, d);
            if (!st) {
                if (st.error().kind() != ErrorKind::NotFound)
                    log::warn("CT " + std::to_string(r.vmid) + ": " + st.error().message());
                return o;
            }
            // Never started: the CT is "created" while it exists; afterwards it runs or it stopped.
            if (!sys::exists(started_marker(h))) {
                o.init_alive = true;
            } else {
                o.init_alive = st->status == "running";
                o.frozen = o.init_alive && st->suspended;
            }
            return o;
        }
        o.init_alive = alive(r.init_pid, r.init_start_time);
        if (o.init_alive) {
            if (auto cg = cgroup::Cgroup::of_pid(r.init_pid)) {
                if (auto f = cg->frozen(); f && *f) o.frozen = true;
            }
        }
        return o;
    }

    Status signal(const backend::Handle& h, int sig, backend::Deadline d) override {
        auto r = Record::from_json(h.record);
        if (r.off_node) return off_node_signal(h, r, sig, d);
        if (!alive(r.init_pid, r.init_start_time)) return fail(ErrorKind::Gone, "process already finished");
        auto p = process_pid(r.init_pid, d);
        if (p && *p > 0) {
            auto st = sys::process_start_time(*p);
            if (!st) return fail(ErrorKind::Gone, "process already finished");
            return sys::signal_process(*p, *st, sig);
        }
        if (!p && p.error().kind() != ErrorKind::WrongState) return std::unexpected(p.error());
        // Not started: the CT's init (it ends, and the CT stops, on a signal it does not handle).
        return sys::signal_process(r.init_pid, r.init_start_time, sig);
    }

    Status signal_all(const backend::Handle& h, int sig, backend::Deadline d) override {
        if (auto r = Record::from_json(h.record); r.off_node) return off_node_signal(h, r, sig, d);
        auto pids = TRY(this->pids(h, d));
        auto r = Record::from_json(h.record);
        for (pid_t p : pids)
            if (p != r.init_pid) (void)::kill(p, sig);
        if (sig == SIGKILL) (void)sys::signal_process(r.init_pid, r.init_start_time, sig);
        return ok();
    }

    Status pause(const backend::Handle& h, backend::Deadline d) override {
        return ct_task(h, "/status/suspend", d);
    }
    Status resume(const backend::Handle& h, backend::Deadline d) override {
        return ct_task(h, "/status/resume", d);
    }

    Result<pid_t> exec(const backend::Handle& h, const backend::ExecRequest& req) override {
        auto r = Record::from_json(h.record);
        TRY(on_node_only(r, "exec"));
        if (!alive(r.init_pid, r.init_start_time)) return fail(ErrorKind::Gone, "container is not running");
        auto cg = TRY(cgroup::Cgroup::of_pid(r.init_pid));
        // The namespaces of the container's process (PID 1 of its own pid and mount namespaces inside the
        // CT's) once it runs, as runc's exec joins its init's; before start, the CT init's.
        pid_t join = r.init_pid;
        uint64_t join_start = r.init_start_time;
        if (auto p = process_pid(r.init_pid, req.deadline); p && *p > 0)
            if (auto t = sys::process_start_time(*p)) {
                join = *p;
                join_start = *t;
            }
        lxc::ExecRequest er{.init_pid = join,
                            .init_start_time = join_start,
                            .cgroup_paths = TRY(cgroup::sub_cgroup_paths(cg.paths(), req.sub_cgroups)),
                            .process = req.process,
                            .deadline = req.deadline,
                            .seccomp_agent = req.seccomp_agent};
        return lxc::exec(er);
    }

    Status update(const backend::Handle& h, const spec::Resources& res, backend::Deadline d) override {
        auto r = Record::from_json(h.record);
        auto cfg = TRY(load(r.config));
        plan::Plan p;
        p.resources = res;
        auto cp = ct_params(p, cfg, r.tag);
        pve::Params q;
        for (auto& kv : cp.params)
            if (kv.first == "memory" || kv.first == "swap" || kv.first == "cpulimit" || kv.first == "cores" ||
                kv.first == "cpuunits")
                q.push_back(kv);
        for (auto& gap : cp.gaps)
            log::warn("unsupported: " + gap.field + ": " + gap.reason);
        if (q.empty()) return ok();
        pve::Client api(cfg, "");
        TRY(api.put(ct_path(r.node, r.vmid) + "/config", q, d));
        return ok();
    }

    Result<cgroup::Stats> stats(const backend::Handle& h, backend::Deadline) const override {
        auto r = Record::from_json(h.record);
        TRY(on_node_only(r, "events and stats"));
        if (!alive(r.init_pid, r.init_start_time)) return fail(ErrorKind::Gone, "container is not running");
        return TRY(cgroup::Cgroup::of_pid(r.init_pid)).stats();
    }

    Result<std::vector<pid_t>> pids(const backend::Handle& h, backend::Deadline) const override {
        auto r = Record::from_json(h.record);
        TRY(on_node_only(r, "ps"));
        if (!alive(r.init_pid, r.init_start_time)) return std::vector<pid_t>{};
        return TRY(cgroup::Cgroup::of_pid(r.init_pid)).pids();
    }

    Result<int> wait(const backend::Handle& h, backend::Deadline d) override {
        auto r = Record::from_json(h.record);
        TRY(on_node_only(r, "waiting for the container's exit"));
        return backend::wait_child(r.standin_pid, d, "the stand-in");
    }

    Status destroy(const backend::Handle& h, backend::Deadline d) override {
        auto r = Record::from_json(h.record);
        if (alive(r.standin_pid, r.standin_start_time))
            (void)sys::signal_process(r.standin_pid, r.standin_start_time, SIGKILL);
        if (!r.ct_requested && r.uploaded.empty()) return ok(); // nothing was made on PVE
        auto cfg = TRY_CTX(load(r.config), "delete CT " + std::to_string(r.vmid));
        pve::Client api(cfg, "");
        std::vector<uint32_t> vmids;
        if (r.created) {
            vmids.push_back(r.vmid);
        } else if (r.ct_requested) {
            // A create that did not finish: only CTs that carry this container's tag are ours (the recorded
            // VMID may have gone to someone else's create).
            // PVE writes a CT's tags when its create task ends; until then the recorded VMID holds only
            // the lock "create": wait for that task to end (or the deadline) before deciding.
            for (;;) {
                auto cts = TRY_CTX(api.resources("vm", d), "find the CTs of " + h.id);
                bool creating = false;
                vmids.clear();
                for (auto& c : cts) {
                    if (c.type != "lxc") continue;
                    if ((";" + c.tags + ";").find(";" + r.tag + ";") != std::string::npos)
                        vmids.push_back(c.vmid);
                    else if (c.vmid == r.vmid && c.lock == "create")
                        creating = true;
                }
                if (!creating) break;
                if (backend::left(d) < std::chrono::milliseconds(200))
                    return fail(ErrorKind::Busy,
                                "CT " + std::to_string(r.vmid) +
                                    " is still being created (lock: create); delete again later");
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
            }
        }
        for (uint32_t vmid : vmids) {
            std::string ct = ct_path(r.node, vmid);
            for (;;) {
                auto del = api.run_task(
                    "DELETE", ct, {{"force", "1"}, {"purge", "1"}, {"destroy-unreferenced-disks", "1"}}, d);
                if (del || del.error().kind() == ErrorKind::NotFound) break;
                // A create task of a killed runtime still holds the CT's lock: wait for it.
                if (del.error().message().find("locked") != std::string::npos &&
                    backend::left(d) > std::chrono::milliseconds(200)) {
                    std::this_thread::sleep_for(std::chrono::milliseconds(50));
                    continue;
                }
                return std::unexpected(std::move(del).error().context("destroy CT " + std::to_string(vmid)));
            }
        }
        if (!r.created && !r.uploaded.empty()) {
            forget_template(r.uploaded, h.state_dir.substr(0, h.state_dir.rfind('/')));
            auto slash = r.uploaded.find(':');
            std::string storage = r.uploaded.substr(0, slash);
            auto del = api.del("/nodes/" + r.node + "/storage/" + storage + "/content/" +
                                   pve::form_encode({{"", r.uploaded}}).substr(1),
                               {}, d);
            if (del && del->is_string()) {
                if (auto t = pve::task_of(*del)) (void)api.wait(*t, d);
            } else if (!del && del.error().kind() != ErrorKind::NotFound) {
                return std::unexpected(std::move(del).error().context("remove template " + r.uploaded));
            }
        }
        return ok();
    }

    nlohmann::json host_info() const override {
        auto cfg = load("");
        if (!cfg) return {{"config", "none: " + cfg.error().message()}};
        return {{"config", cfg->path},
                {"hosts", cfg->hosts},
                {"node", cfg->node},
                {"auth", cfg->principal()},
                {"lxcpath", cfg->lxcpath}};
    }

    // Checkpoints are PVE CT snapshots (snapshot.cpp); PVE has no process state (CRIU) for CTs.
    Status checkpoint(const backend::Handle&, const backend::CheckpointRequest&) override {
        return no_criu();
    }
    Result<backend::Restored> restore(const backend::RestoreRequest&, backend::Handle&,
                                      const backend::Persist&) override {
        return no_criu();
    }
    Result<std::vector<std::string>> list_snapshots(const backend::Handle& h, backend::Deadline d) override {
        return proxmox::list_snapshots(h, d);
    }
    Status snapshot(const backend::Handle& h, const std::string& name, backend::Deadline d) override {
        return make_snapshot(h, name, d);
    }
    Status rollback(const backend::Handle& h, const std::string& name, backend::Deadline d) override {
        return rollback_snapshot(h, name, d);
    }
    Status remove_snapshot(const backend::Handle& h, const std::string& name, backend::Deadline d) override {
        return proxmox::remove_snapshot(h, name, d);
    }

  private:
    std::unexpected<Error> no_criu() const {
        return fail(ErrorKind::Unsupported,
                    "the proxmox backend cannot checkpoint or restore processes: PVE has no CRIU for CTs "
                    "(checkpoint ID without the CRIU flags makes a PVE snapshot of the CT's volumes)");
    }

    static std::string started_marker(const backend::Handle& h) { return h.state_dir + "/pve-started"; }

    // exec, ps, events, wait: they need the CT's processes on this host.
    static Status on_node_only(const Record& r, const std::string& what) {
        if (!r.off_node) return ok();
        return fail(ErrorKind::Unsupported, "proxmox backend: " + what +
                                                " needs the CT's processes on this host, but CT " +
                                                std::to_string(r.vmid) + " runs on remote PVE node " +
                                                r.node + " (proxmox.on_node is false)");
    }

    static Result<pve::CtStatus> ct_status(const Record& r, backend::Deadline d) {
        auto cfg = TRY(load(r.config));
        pve::Client api(cfg, "");
        return pve::parse_ct_status(TRY(api.get(ct_path(r.node, r.vmid) + "/status/current", {}, d)));
    }

    // Off the node a signal is what PVE can do to a CT: SIGTERM a shutdown (the CT's init gets lxc's halt
    // signal; the task is not waited for, as a signal is not), SIGKILL a stop (waited for).
    Status off_node_signal(const backend::Handle& h, const Record& r, int sig, backend::Deadline d) {
        if (sig != SIGTERM && sig != SIGKILL)
            return fail(ErrorKind::Unsupported,
                        "proxmox backend: signal " + std::to_string(sig) + " cannot reach CT " +
                            std::to_string(r.vmid) + " on remote PVE node " + r.node +
                            " (proxmox.on_node is false): only SIGTERM (shutdown) and SIGKILL (stop)");
        if (!sys::exists(started_marker(h))) {
            // Never started: the CT stays stopped; it is no longer "created".
            return sys::write_file_atomic(started_marker(h), "", 0600);
        }
        auto cfg = TRY(load(r.config));
        pve::Client api(cfg, "");
        std::string ct = ct_path(r.node, r.vmid);
        if (sig == SIGKILL) return api.run_task("POST", ct + "/status/stop", {}, d);
        auto up = api.post(ct + "/status/shutdown", {}, d);
        if (!up)
            return std::unexpected(std::move(up).error().context("shutdown CT " + std::to_string(r.vmid)));
        return ok();
    }

    Status ct_task(const backend::Handle& h, const std::string& what, backend::Deadline d) {
        auto r = Record::from_json(h.record);
        auto cfg = TRY(load(r.config));
        pve::Client api(cfg, "");
        return api.run_task("POST", ct_path(r.node, r.vmid) + what, {}, d);
    }
};

} // namespace

std::unique_ptr<backend::Backend> make_backend() {
    return std::make_unique<ProxmoxBackend>();
}

} // namespace lxcri::backend::proxmox
