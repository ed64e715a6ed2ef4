#include "backend/lxc/container.hpp"
#include "init/process.hpp"

#include <lxc/attach_options.h>
#include <lxc/lxccontainer.h>

#include <unistd.h>

#include <cstdio>

namespace lxcri::lxc {
namespace {

// Runs inside the container's namespaces and cgroup (liblxc attach child): set the process up and exec.
int attach_main(void* payload) {
    auto* cfg = static_cast<const plan::InitConfig*>(payload);
    Status r = ok();
    if (cfg->process.terminal && cfg->console_fd >= 0)
        r = init::setup_console(cfg->console_fd, cfg->process.console_size);
    if (r) r = init::exec_process(*cfg, false);
    dprintf(2, "proxmox-lxcri: exec failed: %s\n", r ? "returned" : r.error().message().c_str());
    return 127;
}

} // namespace

void LxcPut::operator()(::lxc_container* c) const {
    if (c) lxc_container_put(c);
}

Result<pid_t> exec(const ExecRequest& req) {
    LxcPtr c(lxc_container_new(req.id.c_str(), req.lxcpath.c_str()));
    if (!c) return fail("lxc_container_new " + req.id);
    lxc_attach_options_t opts = LXC_ATTACH_OPTIONS_DEFAULT;
    // Capabilities, LSM labels, no_new_privs and seccomp are applied by exec_process, as in the init helper.
    opts.attach_flags = LXC_ATTACH_MOVE_TO_CGROUP | LXC_ATTACH_SET_PERSONALITY;
    opts.namespaces = -1;
    opts.env_policy = LXC_ATTACH_CLEAR_ENV;
    plan::InitConfig cfg = req.process;
    strip_unavailable_lsm_labels(cfg.process);
    pid_t pid = -1;
    int r = c->attach(c.get(), attach_main, &cfg, &opts, &pid);
    c.reset();
    if (r < 0 || pid <= 0) return fail("attach to container " + req.id + " failed");
    return pid;
}

} // namespace lxcri::lxc
