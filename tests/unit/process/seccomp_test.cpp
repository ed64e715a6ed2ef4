// Seccomp profiles loaded in forked children; each child reports syscall results on stdout.
#include "init/process.hpp"

#include "child.hpp"
#include "sys/fs.hpp"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

using namespace lxcri;
using test::run_child;

namespace {

spec::SeccompArg arg(uint32_t index, const char* op, uint64_t value, uint64_t value_two = 0) {
    return spec::SeccompArg{index, value, value_two, op};
}

spec::SeccompSyscall rule(std::vector<std::string> names, const char* action, std::optional<uint32_t> ret,
                          std::vector<spec::SeccompArg> args = {}) {
    return spec::SeccompSyscall{std::move(names), action, ret, std::move(args)};
}

// "rc/errno" of a raw syscall.
std::string result(long rc) {
    return std::to_string(rc) + "/" + std::to_string(rc < 0 ? errno : 0);
}

void load_or_die(const spec::Seccomp& sc) {
    if (auto r = init::apply_seccomp(sc, true); !r) {
        std::fprintf(stderr, "%s", r.error().message().c_str());
        ::_exit(2);
    }
}

} // namespace

TEST(Seccomp, ErrnoRetAndArgumentConditions) {
    test::TempDir dir;
    std::string target = dir.path() + "/made";
    spec::Seccomp sc;
    sc.default_action = "SCMP_ACT_ALLOW";
    sc.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
    sc.flags = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG"};
    sc.syscalls = {
        rule({"mkdir", "mkdirat"}, "SCMP_ACT_ERRNO", 42),
        // getcwd(buf, size): only size == 7 is refused.
        rule({"getcwd"}, "SCMP_ACT_ERRNO", 77, {arg(1, "SCMP_CMP_EQ", 7)}),
        // Two conditions on one index: runc makes two rules (either matches).
        rule({"getpriority"}, "SCMP_ACT_ERRNO", 88,
             {arg(0, "SCMP_CMP_EQ", PRIO_PGRP), arg(0, "SCMP_CMP_EQ", PRIO_USER)}),
        // Conditions on different indexes are ANDed.
        rule({"kill"}, "SCMP_ACT_ERRNO", 55, {arg(0, "SCMP_CMP_EQ", 999999), arg(1, "SCMP_CMP_EQ", 0)}),
        // MASKED_EQ: (arg & value) == valueTwo.
        rule({"dup3"}, "SCMP_ACT_ERRNO", 66, {arg(2, "SCMP_CMP_MASKED_EQ", O_CLOEXEC, O_CLOEXEC)}),
        // Skipped like runc: unknown syscall, and a rule with the default action.
        rule({"no_such_syscall_xyz"}, "SCMP_ACT_ERRNO", 1),
        rule({"getpid"}, "SCMP_ACT_ALLOW", std::nullopt),
    };
    auto r = run_child([&] {
        load_or_die(sc);
        char buf[4096];
        std::printf("mkdir %s\n", result(::syscall(SYS_mkdir, target.c_str(), 0755)).c_str());
        std::printf("mkdirat %s\n", result(::syscall(SYS_mkdirat, AT_FDCWD, target.c_str(), 0755)).c_str());
        std::printf("getcwd7 %s\n", result(::syscall(SYS_getcwd, buf, 7)).c_str());
        std::printf("getcwd-big %s\n", ::syscall(SYS_getcwd, buf, sizeof buf) > 0 ? "ok" : "fail");
        std::printf("prio-pgrp %s\n", result(::syscall(SYS_getpriority, PRIO_PGRP, 0)).c_str());
        std::printf("prio-user %s\n", result(::syscall(SYS_getpriority, PRIO_USER, 0)).c_str());
        std::printf("prio-process %s\n", ::syscall(SYS_getpriority, PRIO_PROCESS, 0) >= 0 ? "ok" : "fail");
        std::printf("kill-both %s\n", result(::syscall(SYS_kill, 999999, 0)).c_str());
        std::printf("kill-one %s\n", result(::syscall(SYS_kill, ::getpid(), 0)).c_str());
        std::printf("dup3-cloexec %s\n", result(::syscall(SYS_dup3, 1, 100, O_CLOEXEC)).c_str());
        std::printf("dup3-plain %s\n", result(::syscall(SYS_dup3, 1, 100, 0)).c_str());
    });
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_EQ(r.out, "mkdir -1/42\n"
                     "mkdirat -1/42\n"
                     "getcwd7 -1/77\n"
                     "getcwd-big ok\n"
                     "prio-pgrp -1/88\n"
                     "prio-user -1/88\n"
                     "prio-process ok\n"
                     "kill-both -1/55\n"
                     "kill-one 0/0\n"
                     "dup3-cloexec -1/66\n"
                     "dup3-plain 100/0\n");
    EXPECT_FALSE(sys::exists(target));
}

TEST(Seccomp, ErrnoDefaultsToEperm) {
    spec::Seccomp sc;
    sc.default_action = "SCMP_ACT_ALLOW";
    sc.syscalls = {rule({"getppid"}, "SCMP_ACT_ERRNO", std::nullopt)};
    auto r = run_child([&] {
        load_or_die(sc);
        std::printf("%s", result(::syscall(SYS_getppid)).c_str());
    });
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_EQ(r.out, "-1/" + std::to_string(EPERM));
}

TEST(Seccomp, KillProcessAction) {
    spec::Seccomp sc;
    sc.default_action = "SCMP_ACT_ALLOW";
    sc.syscalls = {rule({"getppid"}, "SCMP_ACT_KILL_PROCESS", std::nullopt)};
    auto r = run_child([&] {
        load_or_die(sc);
        ::syscall(SYS_getppid);
        std::printf("survived");
    });
    EXPECT_EQ(r.signal(), SIGSYS) << r.err;
    EXPECT_EQ(r.out, "");
}

TEST(Seccomp, DefaultErrnoRet) {
    // Deny-by-default with an allow-list, defaultErrnoRet for everything else.
    spec::Seccomp sc;
    sc.default_action = "SCMP_ACT_ERRNO";
    sc.default_errno_ret = 38;
    sc.syscalls = {
        rule({"write", "exit_group", "exit", "getpid", "fstat", "newfstatat", "brk", "mmap", "munmap"},
             "SCMP_ACT_ALLOW", std::nullopt)};
    auto r = run_child([&] {
        load_or_die(sc);
        long pid = ::syscall(SYS_getpid);
        long rc = ::syscall(SYS_getppid);
        int e = errno;
        std::string line =
            (pid > 0 ? "getpid ok " : "getpid fail ") + std::to_string(rc) + "/" + std::to_string(e);
        (void)!::write(1, line.data(), line.size());
        ::syscall(SYS_exit_group, 0);
    });
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_EQ(r.out, "getpid ok -1/38");
}

TEST(Seccomp, BuildErrors) {
    auto message = [](const spec::Seccomp& sc) {
        auto r = init::apply_seccomp(sc, false);
        return r ? std::string("ok") : r.error().message();
    };
    spec::Seccomp sc;
    sc.default_action = "SCMP_ACT_ALLOW";
    EXPECT_EQ(message(sc), "ok");

    auto bad = sc;
    bad.default_action = "SCMP_ACT_NOPE";
    EXPECT_EQ(message(bad), "seccomp: defaultAction: unknown seccomp action \"SCMP_ACT_NOPE\"");
    bad = sc;
    bad.default_action = "SCMP_ACT_NOTIFY";
    EXPECT_EQ(message(bad), "seccomp: SCMP_ACT_NOTIFY cannot be used as default action");
    bad = sc;
    bad.syscalls = {rule({"getpid"}, "SCMP_ACT_NOTIFY", std::nullopt)};
    EXPECT_EQ(message(bad), "seccomp: listenerPath is not set");
    bad.listener_path = "/run/agent.sock";
    EXPECT_EQ(message(bad), "ok");
    bad.syscalls = {rule({"read", "write"}, "SCMP_ACT_NOTIFY", std::nullopt)};
    EXPECT_EQ(message(bad), "seccomp: SCMP_ACT_NOTIFY cannot be used for the write syscall");
    bad = sc;
    bad.architectures = {"SCMP_ARCH_VAX"};
    EXPECT_EQ(message(bad), "seccomp: unknown seccomp architecture \"SCMP_ARCH_VAX\"");
    bad = sc;
    bad.flags = {"SECCOMP_FILTER_FLAG_BOGUS"};
    EXPECT_EQ(message(bad), "seccomp: seccomp flag SECCOMP_FILTER_FLAG_BOGUS is not known");
    bad = sc;
    bad.syscalls = {rule({"getpid"}, "SCMP_ACT_BAD", std::nullopt)};
    EXPECT_EQ(message(bad), "seccomp: syscalls[0]: unknown seccomp action \"SCMP_ACT_BAD\"");
    bad = sc;
    bad.syscalls = {rule({"read"}, "SCMP_ACT_ERRNO", 1, {arg(0, "SCMP_CMP_EQ", 1)}),
                    rule({"read"}, "SCMP_ACT_ERRNO", 1, {arg(6, "SCMP_CMP_EQ", 1)})};
    EXPECT_EQ(message(bad), "seccomp: syscalls[1]: argument index 6 out of range");
    bad = sc;
    bad.syscalls = {rule({"read"}, "SCMP_ACT_ERRNO", 1, {arg(0, "SCMP_CMP_FOO", 1)})};
    EXPECT_EQ(message(bad), "seccomp: syscalls[0]: unknown seccomp operator \"SCMP_CMP_FOO\"");
}

TEST(Seccomp, FlagsAndManyRulesBuild) {
    spec::Seccomp sc;
    sc.default_action = "SCMP_ACT_ERRNO";
    sc.flags = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"};
    // Over 32 rules turns on libseccomp's binary tree.
    for (const char* name : {"read",        "write",    "open",  "close",    "stat",     "fstat",  "lstat",
                             "poll",        "lseek",    "mmap",  "mprotect", "munmap",   "brk",    "ioctl",
                             "pread64",     "pwrite64", "readv", "writev",   "access",   "pipe",   "select",
                             "sched_yield", "mremap",   "msync", "mincore",  "madvise",  "shmget", "shmat",
                             "shmctl",      "dup",      "dup2",  "pause",    "nanosleep"})
        sc.syscalls.push_back(rule({name}, "SCMP_ACT_ALLOW", std::nullopt));
    auto r = init::apply_seccomp(sc, false);
    EXPECT_TRUE(r) << r.error().message();
}

namespace {

// An allow-list under a denying default, enough for the child to print and exit; the highest syscall it names
// on x86_64 is newfstatat (262).
spec::Seccomp allow_list(const char* default_action, std::optional<uint32_t> errno_ret) {
    spec::Seccomp sc;
    sc.default_action = default_action;
    sc.default_errno_ret = errno_ret;
    sc.architectures = {"SCMP_ARCH_X86_64"};
    sc.syscalls = {
        rule({"write", "exit_group", "exit", "getpid", "fstat", "newfstatat", "brk", "mmap", "munmap"},
             "SCMP_ACT_ALLOW", std::nullopt)};
    return sc;
}

size_t stub_size(const spec::Seccomp& sc) {
    auto r = init::seccomp_enosys_stub(sc);
    EXPECT_TRUE(r) << r.error().message();
    return r ? r->size() : 0;
}

} // namespace

// runc's patchbpf: a syscall above the highest one the profile names gets ENOSYS (a newer libc then falls
// back, as for clone3), one below it the default action.
TEST(Seccomp, EnosysStubForSyscallsNewerThanTheProfile) {
    auto sc = allow_list("SCMP_ACT_ERRNO", std::nullopt);
    auto r = run_child([&] {
        load_or_die(sc);
        long below = ::syscall(SYS_gettid); // 186: older than newfstatat, not listed
        int below_errno = errno;
        long above = ::syscall(300); // fanotify_init: newer than every listed syscall
        int above_errno = errno;
        long clone3 = ::syscall(435);
        int clone3_errno = errno;
        std::string line = std::to_string(below) + "/" + std::to_string(below_errno) + " " +
                           std::to_string(above) + "/" + std::to_string(above_errno) + " " +
                           std::to_string(clone3) + "/" + std::to_string(clone3_errno);
        (void)!::write(1, line.data(), line.size());
        ::syscall(SYS_exit_group, 0);
    });
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_EQ(r.out, "-1/" + std::to_string(EPERM) + " -1/" + std::to_string(ENOSYS) + " -1/" +
                         std::to_string(ENOSYS));
}

TEST(Seccomp, EnosysStubOnlyWhereRuncAddsIt) {
    // Permissive defaults, a default of ENOSYS already, and no architecture: no stub.
    EXPECT_EQ(stub_size(allow_list("SCMP_ACT_ALLOW", std::nullopt)), 0u);
    EXPECT_EQ(stub_size(allow_list("SCMP_ACT_LOG", std::nullopt)), 0u);
    EXPECT_EQ(stub_size(allow_list("SCMP_ACT_TRACE", std::nullopt)), 0u);
    EXPECT_EQ(stub_size(allow_list("SCMP_ACT_ERRNO", ENOSYS)), 0u);
    auto no_arch = allow_list("SCMP_ACT_ERRNO", std::nullopt);
    no_arch.architectures.clear();
    EXPECT_EQ(stub_size(no_arch), 0u);
    // An architecture that names no syscall of the profile is left out.
    auto unknown_names = allow_list("SCMP_ACT_ERRNO", std::nullopt);
    unknown_names.syscalls = {rule({"no_such_syscall_xyz"}, "SCMP_ACT_ALLOW", std::nullopt)};
    EXPECT_EQ(stub_size(unknown_names), 0u);
    // Denying defaults get it: ld arch; jeq x86_64; ja filter; ld nr; jset x32 bit; jgt 262; ret ENOSYS.
    EXPECT_EQ(stub_size(allow_list("SCMP_ACT_ERRNO", EPERM)), 7u);
    EXPECT_EQ(stub_size(allow_list("SCMP_ACT_KILL", std::nullopt)), 7u);
    EXPECT_EQ(stub_size(allow_list("SCMP_ACT_KILL_PROCESS", std::nullopt)), 7u);
    EXPECT_EQ(stub_size(allow_list("SCMP_ACT_TRAP", std::nullopt)), 7u);
    // x86_64 with x32 shares one section (ld nr; jset; jgt; jgt); i386 has its own (ld nr; jgt).
    auto multi = allow_list("SCMP_ACT_ERRNO", std::nullopt);
    multi.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_X86"};
    EXPECT_EQ(stub_size(multi), 11u);
    auto words = init::seccomp_enosys_stub(multi);
    ASSERT_TRUE(words);
    EXPECT_EQ(words->back().k, static_cast<uint32_t>(SECCOMP_RET_ERRNO | ENOSYS));
}

TEST(Seccomp, EnosysStubWithX32AndI386Loads) {
    auto sc = allow_list("SCMP_ACT_ERRNO", std::nullopt);
    sc.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_X86"};
    auto r = run_child([&] {
        load_or_die(sc);
        long above = ::syscall(300);
        std::string line = std::to_string(above) + "/" + std::to_string(errno);
        (void)!::write(1, line.data(), line.size());
        ::syscall(SYS_exit_group, 0);
    });
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_EQ(r.out, "-1/" + std::to_string(ENOSYS));
}

// SCMP_ACT_NOTIFY: the load returns the notify fd; a process under the filter waits for the answer.
TEST(Seccomp, NotifyFdAnswersTheFilteredProcess) {
    spec::Seccomp sc;
    sc.default_action = "SCMP_ACT_ALLOW";
    sc.listener_path = "/run/agent.sock";
    sc.syscalls = {rule({"getppid"}, "SCMP_ACT_NOTIFY", std::nullopt)};
    auto r = run_child([&] {
        auto fd = init::apply_seccomp(sc, true);
        if (!fd || *fd < 0) {
            std::printf("no notify fd: %s", fd ? "-1" : fd.error().message().c_str());
            return;
        }
        pid_t child = ::fork();
        if (child == 0) {
            long rc = ::syscall(SYS_getppid);
            std::printf("getppid %s\n", result(rc).c_str());
            std::fflush(stdout);
            ::_exit(0);
        }
        seccomp_notif req{};
        if (::ioctl(*fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) ::_exit(3);
        seccomp_notif_resp resp{};
        resp.id = req.id;
        resp.error = -EXDEV;
        if (::ioctl(*fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0) ::_exit(4);
        int st = 0;
        ::waitpid(child, &st, 0);
        std::printf("notified %s\n", req.data.nr == SYS_getppid ? "getppid" : "other");
    });
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_EQ(r.out, "getppid -1/" + std::to_string(EXDEV) + "\nnotified getppid\n");
}
