#include "runtime/common.hpp"
#include "spec/input.hpp"
#include "sys/fs.hpp"
#include "sys/log.hpp"

namespace lxcri::runtime {

Status update(const Global& g, const UpdateOpts& o) {
    Store store(g.root);
    auto c = TRY(open_container(store, o.id));
    TRY(c.allows(Verb::Update));
    spec::Resources res;
    if (!o.resources_file.empty()) res = TRY(spec::load_resources(o.resources_file));
    // The flags (the cli sets none of them with a resources file, as runc 1.1.5 reads one or the other).
    auto mem = [&]() -> spec::Memory& {
        if (!res.memory) res.memory = spec::Memory{};
        return *res.memory;
    };
    auto cpu = [&]() -> spec::Cpu& {
        if (!res.cpu) res.cpu = spec::Cpu{};
        return *res.cpu;
    };
    if (o.memory) mem().limit = o.memory;
    if (o.memory_reservation) mem().reservation = o.memory_reservation;
    if (o.memory_swap) mem().swap = o.memory_swap;
    if (o.pids_limit) res.pids_limit = o.pids_limit;
    if (o.cpu_quota) cpu().quota = o.cpu_quota;
    if (o.cpu_shares) cpu().shares = o.cpu_shares;
    if (o.cpu_period) cpu().period = o.cpu_period;
    if (o.cpu_rt_period) cpu().realtime_period = o.cpu_rt_period;
    if (o.cpu_rt_runtime) cpu().realtime_runtime = o.cpu_rt_runtime;
    if (!o.cpuset_cpus.empty()) cpu().cpus = o.cpuset_cpus;
    if (!o.cpuset_mems.empty()) cpu().mems = o.cpuset_mems;
    if (o.blkio_weight) {
        res.block_io = res.block_io.value_or(spec::BlockIO{});
        res.block_io->weight = static_cast<uint16_t>(*o.blkio_weight);
    }
    log::debug("update: resources of " + o.id);
    TRY_CTX(c.backend->update(c.handle(), res, backend::after(kOpTimeout)), "update " + o.id);
    return ok();
}

} // namespace lxcri::runtime
