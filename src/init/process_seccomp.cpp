// OCI linux.seccomp -> libseccomp filter, with runc's semantics:
// SCMP_ACT_KILL is KILL_THREAD, ERRNO/TRACE default to EPERM, rules whose action equals the default action
// are skipped, unknown syscall names are skipped, and when two or more conditions of a rule share an argument
// index every condition becomes a rule of its own (otherwise the conditions of a rule are ANDed).
#include "init/process.hpp"

#include <seccomp.h>

#include <array>
#include <cerrno>
#include <memory>
#include <utility>

namespace lxcri::init {

namespace {

constexpr size_t max_syscall_args = 6;
// libseccomp builds a binary tree of syscalls above this many rules (as runc does).
constexpr size_t optimize_threshold = 32;

template <class T> struct Named {
    std::string_view name;
    T value;
};

template <class T, size_t N>
std::optional<T> lookup(const std::array<Named<T>, N>& table, std::string_view name) {
    for (const auto& entry : table)
        if (entry.name == name) return entry.value;
    return std::nullopt;
}

constexpr std::array<Named<int>, 7> compare_ops{{
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
}};

constexpr std::array<Named<uint32_t>, 19> arches{{
    {"SCMP_ARCH_X86", SCMP_ARCH_X86},
    {"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
    {"SCMP_ARCH_X32", SCMP_ARCH_X32},
    {"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
    {"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
    {"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
    {"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},
    {"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
    {"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},
    {"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
    {"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
    {"SCMP_ARCH_PPC", SCMP_ARCH_PPC},
    {"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
    {"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
    {"SCMP_ARCH_S390", SCMP_ARCH_S390},
    {"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
    {"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC},
    {"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64},
    {"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
}};

constexpr std::array<Named<scmp_filter_attr>, 3> filter_flags{{
    {"SECCOMP_FILTER_FLAG_TSYNC", SCMP_FLTATR_CTL_TSYNC},
    {"SECCOMP_FILTER_FLAG_LOG", SCMP_FLTATR_CTL_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SCMP_FLTATR_CTL_SSB},
}};

using Filter = std::unique_ptr<void, decltype(&seccomp_release)>;

// libseccomp returns -errno.
Status check(int rc, const std::string& what) {
    if (rc < 0) return fail(what, -rc);
    return ok();
}

Status add_arch(scmp_filter_ctx ctx, const std::string& name) {
    uint32_t arch = TRY(seccomp_arch(name));
    int rc = seccomp_arch_add(ctx, arch);
    if (rc == -EEXIST) return ok();
    return check(rc, "add seccomp architecture " + name);
}

Status set_flag(scmp_filter_ctx ctx, const std::string& name) {
    auto attr = lookup(filter_flags, name);
    if (!attr) return fail("seccomp flag " + name + " is not known");
    return check(seccomp_attr_set(ctx, *attr, 1), "set seccomp flag " + name);
}

Result<std::vector<scmp_arg_cmp>> conditions(const spec::SeccompSyscall& call, bool& shared_index) {
    std::array<int, max_syscall_args> per_index{};
    std::vector<scmp_arg_cmp> out;
    for (const auto& arg : call.args) {
        if (arg.index >= max_syscall_args)
            return fail("argument index " + std::to_string(arg.index) + " out of range");
        int op = TRY(seccomp_compare_op(arg.op));
        if (++per_index[arg.index] > 1) shared_index = true;
        out.push_back(scmp_arg_cmp{arg.index, static_cast<scmp_compare>(op), arg.value, arg.value_two});
    }
    return out;
}

Status add_rule(scmp_filter_ctx ctx, int nr, uint32_t action, const std::vector<scmp_arg_cmp>& conds,
                const std::string& name) {
    int rc = seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned>(conds.size()),
                                    conds.empty() ? nullptr : conds.data());
    return check(rc, "add seccomp rule for syscall " + name);
}

Status add_syscall(scmp_filter_ctx ctx, const spec::SeccompSyscall& call, uint32_t default_action) {
    uint32_t action = TRY(seccomp_action(call.action, call.errno_ret));
    if (action == default_action) return ok(); // redundant; libseccomp would reject it
    bool shared_index = false;
    auto conds = TRY(conditions(call, shared_index));
    for (const auto& name : call.names) {
        int nr = seccomp_syscall_resolve_name(name.c_str());
        if (nr == __NR_SCMP_ERROR) continue; // unknown to this libseccomp/arch: ignored like runc
        if (!shared_index) {
            TRY(add_rule(ctx, nr, action, conds, name));
            continue;
        }
        for (const auto& cond : conds)
            TRY(add_rule(ctx, nr, action, {cond}, name));
    }
    return ok();
}

Status check_notify(const spec::Seccomp& sc, uint32_t default_action) {
    if (default_action == SCMP_ACT_NOTIFY) return fail("SCMP_ACT_NOTIFY cannot be used as default action");
    for (const auto& call : sc.syscalls) {
        if (call.action != "SCMP_ACT_NOTIFY") continue;
        if (sc.listener_path.empty()) return fail("SCMP_ACT_NOTIFY requires linux.seccomp.listenerPath");
        return fail("SCMP_ACT_NOTIFY: seccomp user notification (listenerPath " + sc.listener_path +
                    ") is not supported");
    }
    return ok();
}

Status build(scmp_filter_ctx ctx, const spec::Seccomp& sc, uint32_t default_action) {
    for (const auto& arch : sc.architectures)
        TRY(add_arch(ctx, arch));
    for (const auto& flag : sc.flags)
        TRY(set_flag(ctx, flag));
    // Loading without no_new_privs needs CAP_SYS_ADMIN, which the caller still has at this point.
    TRY(check(seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0), "clear seccomp no_new_privs attribute"));
    if (sc.syscalls.size() > optimize_threshold) seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    for (size_t i = 0; i < sc.syscalls.size(); ++i)
        TRY_CTX(add_syscall(ctx, sc.syscalls[i], default_action), "syscalls[" + std::to_string(i) + "]");
    return ok();
}

} // namespace

Result<uint32_t> seccomp_action(const std::string& name, std::optional<uint32_t> errno_ret) {
    if (errno_ret && *errno_ret > 0xffff)
        return fail("errnoRet " + std::to_string(*errno_ret) + " out of range");
    uint32_t ret = errno_ret.value_or(EPERM);
    if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
    if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
    if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
    if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(ret);
    if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(ret);
    if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
    if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
    if (name == "SCMP_ACT_NOTIFY") return SCMP_ACT_NOTIFY;
    return fail("unknown seccomp action \"" + name + "\"");
}

Result<int> seccomp_compare_op(const std::string& name) {
    if (auto op = lookup(compare_ops, name)) return *op;
    return fail("unknown seccomp operator \"" + name + "\"");
}

Result<uint32_t> seccomp_arch(const std::string& name) {
    if (auto arch = lookup(arches, name)) return *arch;
    return fail("unknown seccomp architecture \"" + name + "\"");
}

Status apply_seccomp(const spec::Seccomp& sc, bool load) {
    auto run = [&]() -> Status {
        uint32_t default_action =
            TRY_CTX(seccomp_action(sc.default_action, sc.default_errno_ret), "defaultAction");
        TRY(check_notify(sc, default_action));
        Filter ctx(seccomp_init(default_action), &seccomp_release);
        if (!ctx) return fail("seccomp_init failed");
        TRY(build(ctx.get(), sc, default_action));
        if (load) TRY(check(seccomp_load(ctx.get()), "load filter"));
        return ok();
    };
    if (auto r = run(); !r) return std::unexpected(std::move(r).error().context("seccomp"));
    return ok();
}

} // namespace lxcri::init
