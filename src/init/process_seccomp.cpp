// OCI linux.seccomp -> libseccomp filter, with runc's semantics:
// SCMP_ACT_KILL is KILL_THREAD, ERRNO/TRACE default to EPERM, rules whose action equals the default action
// are skipped, unknown syscall names are skipped, and when two or more conditions of a rule share an argument
// index every condition becomes a rule of its own (otherwise the conditions of a rule are ANDed).
// The filter is exported from libseccomp and loaded with seccomp(2) itself, as runc's patchbpf does, behind
// runc's -ENOSYS stub: a syscall numbered above every syscall the profile names (per architecture) fails with
// ENOSYS instead of the default action when that action denies, so that a newer libc falls back (clone3).
// SCMP_ACT_NOTIFY rules load the filter with SECCOMP_FILTER_FLAG_NEW_LISTENER; the notify fd is returned.
#include "init/process.hpp"
#include "sys/fd.hpp"

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <map>
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

// runc's checks: the notify fd is handed over with write(2), so write itself cannot notify.
Status check_notify(const spec::Seccomp& sc, uint32_t default_action) {
    if (default_action == SCMP_ACT_NOTIFY) return fail("SCMP_ACT_NOTIFY cannot be used as default action");
    for (const auto& call : sc.syscalls) {
        if (call.action != "SCMP_ACT_NOTIFY") continue;
        if (sc.listener_path.empty()) return fail("listenerPath is not set");
        for (const auto& name : call.names)
            if (name == "write") return fail("SCMP_ACT_NOTIFY cannot be used for the write syscall");
    }
    return ok();
}

// ---- the -ENOSYS stub (runc's libcontainer/seccomp/patchbpf) ----

// A tiny cBPF assembler with forward labels: jt/jf/k name a label, resolved once the stub is laid out.
struct Insn {
    uint16_t code;
    uint32_t k;
    int jt = -1, jf = -1, ja = -1; // label ids (-1: plain offset 0 / the literal k)
};

class Stub {
  public:
    int label() {
        positions_.push_back(-1);
        return static_cast<int>(positions_.size()) - 1;
    }
    void place(int label) { positions_[static_cast<size_t>(label)] = static_cast<int>(code_.size()); }
    void load(uint32_t offset) { code_.push_back({BPF_LD | BPF_W | BPF_ABS, offset}); }
    void jump_if(uint16_t op, uint32_t k, int jt, int jf) {
        code_.push_back({static_cast<uint16_t>(BPF_JMP | op | BPF_K), k, jt, jf});
    }
    void jump(int to) { code_.push_back({BPF_JMP | BPF_JA, 0, -1, -1, to}); }
    void ret(uint32_t value) { code_.push_back({BPF_RET | BPF_K, value}); }

    Result<std::vector<sock_filter>> assemble() const {
        std::vector<sock_filter> out;
        for (size_t i = 0; i < code_.size(); ++i) {
            const Insn& in = code_[i];
            auto offset = [&](int label) -> int64_t {
                if (label < 0) return 0;
                return positions_[static_cast<size_t>(label)] - static_cast<int64_t>(i) - 1;
            };
            int64_t jt = offset(in.jt), jf = offset(in.jf);
            if (jt < 0 || jt > 255 || jf < 0 || jf > 255) return fail("-ENOSYS stub: jump out of range");
            uint32_t k = in.ja >= 0 ? static_cast<uint32_t>(offset(in.ja)) : in.k;
            out.push_back(sock_filter{in.code, static_cast<uint8_t>(jt), static_cast<uint8_t>(jf), k});
        }
        return out;
    }

  private:
    std::vector<Insn> code_;
    std::vector<int> positions_;
};

constexpr uint32_t x32_syscall_bit = 0x40000000;

// The audit architecture a seccomp architecture runs as (x32 shares x86_64's, told apart by bit 30).
uint32_t native_arch(uint32_t arch) {
    return arch == SCMP_ARCH_X32 ? SCMP_ARCH_X86_64 : arch;
}

// Per native architecture: the highest syscall number the profile names, per seccomp architecture (every
// rule counts, whatever its action; names unknown to an architecture are ignored; an architecture naming
// none is left out).
Result<std::map<uint32_t, std::map<uint32_t, int>>> last_syscalls(const spec::Seccomp& sc) {
    std::map<uint32_t, std::map<uint32_t, int>> out;
    for (const auto& name : sc.architectures) {
        uint32_t arch = TRY(seccomp_arch(name));
        int last = 0;
        for (const auto& call : sc.syscalls)
            for (const auto& sys : call.names) {
                int nr = seccomp_syscall_resolve_name_arch(arch, sys.c_str());
                if (nr != __NR_SCMP_ERROR && nr > last) last = nr;
            }
        if (last > 0) out[native_arch(arch)][arch] = last;
    }
    return out;
}

bool permissive(const std::string& action) {
    return action == "SCMP_ACT_ALLOW" || action == "SCMP_ACT_LOG" || action == "SCMP_ACT_TRACE";
}

// ---- loading ----

Result<std::vector<sock_filter>> export_filter(scmp_filter_ctx ctx) {
    sys::Fd mem(::memfd_create("seccomp-bpf", MFD_CLOEXEC));
    if (!mem.valid()) return fail_errno("memfd_create");
    TRY(check(seccomp_export_bpf(ctx, mem.get()), "export filter"));
    off_t size = ::lseek(mem.get(), 0, SEEK_END);
    if (size < 0 || size % static_cast<off_t>(sizeof(sock_filter)) != 0)
        return fail("export filter: bad size");
    std::vector<sock_filter> prog(static_cast<size_t>(size) / sizeof(sock_filter));
    if (::pread(mem.get(), prog.data(), static_cast<size_t>(size), 0) != size)
        return fail_errno("read filter");
    return prog;
}

unsigned load_flags(const spec::Seccomp& sc) {
    unsigned flags = 0;
    for (const auto& f : sc.flags) {
        if (f == "SECCOMP_FILTER_FLAG_LOG") flags |= SECCOMP_FILTER_FLAG_LOG;
        if (f == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
        // TSYNC: the process is single-threaded here, and the kernel refuses it with NEW_LISTENER.
    }
    if (plan::seccomp_notifies(sc)) flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    return flags;
}

Result<int> load(scmp_filter_ctx ctx, const spec::Seccomp& sc) {
    auto prog = TRY(seccomp_enosys_stub(sc));
    auto filter = TRY(export_filter(ctx));
    prog.insert(prog.end(), filter.begin(), filter.end());
    if (prog.size() > BPF_MAXINSNS)
        return fail("filter has " + std::to_string(prog.size()) + " instructions");
    sock_fprog fprog{static_cast<unsigned short>(prog.size()), prog.data()};
    unsigned flags = load_flags(sc);
    long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fprog);
    if (rc < 0) return fail_errno("load filter");
    return (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) ? static_cast<int>(rc) : -1;
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

Result<std::vector<sock_filter>> seccomp_enosys_stub(const spec::Seccomp& sc) {
    std::vector<sock_filter> none;
    // runc leaves permissive defaults alone (and a default of ENOSYS needs no stub).
    if (permissive(sc.default_action)) return none;
    if (sc.default_action == "SCMP_ACT_ERRNO" && sc.default_errno_ret == ENOSYS) return none;
    auto last = TRY(last_syscalls(sc));
    if (last.empty()) return none;
    Stub s;
    int enosys = s.label(), filter = s.label();
    std::vector<std::pair<uint32_t, int>> sections;
    s.load(offsetof(seccomp_data, arch));
    for (const auto& [native, per_arch] : last) {
        int section = s.label();
        sections.emplace_back(native, section);
        s.jump_if(BPF_JEQ, native, section, -1);
    }
    s.jump(filter);
    for (const auto& [native, section] : sections) {
        const auto& per_arch = last.at(native);
        s.place(section);
        s.load(offsetof(seccomp_data, nr));
        // s390: syscall 0 multiplexes the large numbers; left at 0 by a kernel that does not know one.
        if (native == SCMP_ARCH_S390 || native == SCMP_ARCH_S390X) s.jump_if(BPF_JEQ, 0, enosys, -1);
        if (per_arch.size() == 2) { // x86_64 and x32
            int x32 = s.label();
            s.jump_if(BPF_JSET, x32_syscall_bit, x32, -1);
            s.jump_if(BPF_JGT, static_cast<uint32_t>(per_arch.at(SCMP_ARCH_X86_64)), enosys, filter);
            s.place(x32);
            s.jump_if(BPF_JGT, static_cast<uint32_t>(per_arch.at(SCMP_ARCH_X32)), enosys, filter);
            continue;
        }
        auto [arch, nr] = *per_arch.begin();
        if (arch == SCMP_ARCH_X86_64) s.jump_if(BPF_JSET, x32_syscall_bit, filter, -1);
        if (arch == SCMP_ARCH_X32) s.jump_if(BPF_JSET, x32_syscall_bit, -1, filter);
        s.jump_if(BPF_JGT, static_cast<uint32_t>(nr), enosys, filter);
    }
    s.place(enosys);
    s.ret(SECCOMP_RET_ERRNO | ENOSYS);
    s.place(filter);
    return s.assemble();
}

Result<int> apply_seccomp(const spec::Seccomp& sc, bool load_filter) {
    auto run = [&]() -> Result<int> {
        uint32_t default_action =
            TRY_CTX(seccomp_action(sc.default_action, sc.default_errno_ret), "defaultAction");
        TRY(check_notify(sc, default_action));
        Filter ctx(seccomp_init(default_action), &seccomp_release);
        if (!ctx) return fail("seccomp_init failed");
        TRY(build(ctx.get(), sc, default_action));
        if (!load_filter) {
            TRY(seccomp_enosys_stub(sc));
            return -1;
        }
        return load(ctx.get(), sc);
    };
    auto r = run();
    if (!r) return std::unexpected(std::move(r).error().context("seccomp"));
    return r;
}

} // namespace lxcri::init
