// Seccomp profiles loaded in forked children; each child reports syscall results on stdout.
#include "init/process.hpp"

#include "child.hpp"
#include "sys/fs.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
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
    EXPECT_EQ(message(bad), "seccomp: SCMP_ACT_NOTIFY requires linux.seccomp.listenerPath");
    bad.listener_path = "/run/agent.sock";
    EXPECT_EQ(message(bad), "seccomp: SCMP_ACT_NOTIFY: seccomp user notification (listenerPath "
                            "/run/agent.sock) is not supported");
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
