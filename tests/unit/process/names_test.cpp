// OCI names -> kernel/libseccomp values.
#include "init/process.hpp"

#include <gtest/gtest.h>
#include <seccomp.h>

using namespace lxcri;

TEST(SeccompNames, Actions) {
    EXPECT_EQ(init::seccomp_action("SCMP_ACT_ALLOW", std::nullopt).value(), SCMP_ACT_ALLOW);
    EXPECT_EQ(init::seccomp_action("SCMP_ACT_KILL", std::nullopt).value(), SCMP_ACT_KILL_THREAD);
    EXPECT_EQ(init::seccomp_action("SCMP_ACT_KILL_THREAD", std::nullopt).value(), SCMP_ACT_KILL_THREAD);
    EXPECT_EQ(init::seccomp_action("SCMP_ACT_KILL_PROCESS", std::nullopt).value(), SCMP_ACT_KILL_PROCESS);
    EXPECT_EQ(init::seccomp_action("SCMP_ACT_TRAP", std::nullopt).value(), SCMP_ACT_TRAP);
    EXPECT_EQ(init::seccomp_action("SCMP_ACT_LOG", std::nullopt).value(), SCMP_ACT_LOG);
    EXPECT_EQ(init::seccomp_action("SCMP_ACT_NOTIFY", std::nullopt).value(), SCMP_ACT_NOTIFY);
    // ERRNO and TRACE carry errnoRet, EPERM when absent.
    EXPECT_EQ(init::seccomp_action("SCMP_ACT_ERRNO", std::nullopt).value(), SCMP_ACT_ERRNO(EPERM));
    EXPECT_EQ(init::seccomp_action("SCMP_ACT_ERRNO", 42u).value(), 0x0005002au);
    EXPECT_EQ(init::seccomp_action("SCMP_ACT_TRACE", std::nullopt).value(), SCMP_ACT_TRACE(EPERM));
    EXPECT_EQ(init::seccomp_action("SCMP_ACT_TRACE", 7u).value(), SCMP_ACT_TRACE(7));
}

TEST(SeccompNames, UnknownActionAndBadErrno) {
    auto r = init::seccomp_action("SCMP_ACT_FOO", std::nullopt);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "unknown seccomp action \"SCMP_ACT_FOO\"");
    auto big = init::seccomp_action("SCMP_ACT_ERRNO", 70000u);
    ASSERT_FALSE(big);
    EXPECT_EQ(big.error().message(), "errnoRet 70000 out of range");
}

TEST(SeccompNames, CompareOps) {
    EXPECT_EQ(init::seccomp_compare_op("SCMP_CMP_NE").value(), SCMP_CMP_NE);
    EXPECT_EQ(init::seccomp_compare_op("SCMP_CMP_LT").value(), SCMP_CMP_LT);
    EXPECT_EQ(init::seccomp_compare_op("SCMP_CMP_LE").value(), SCMP_CMP_LE);
    EXPECT_EQ(init::seccomp_compare_op("SCMP_CMP_EQ").value(), SCMP_CMP_EQ);
    EXPECT_EQ(init::seccomp_compare_op("SCMP_CMP_GE").value(), SCMP_CMP_GE);
    EXPECT_EQ(init::seccomp_compare_op("SCMP_CMP_GT").value(), SCMP_CMP_GT);
    EXPECT_EQ(init::seccomp_compare_op("SCMP_CMP_MASKED_EQ").value(), SCMP_CMP_MASKED_EQ);
    auto r = init::seccomp_compare_op("SCMP_CMP_XX");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "unknown seccomp operator \"SCMP_CMP_XX\"");
}

TEST(SeccompNames, Architectures) {
    EXPECT_EQ(init::seccomp_arch("SCMP_ARCH_X86_64").value(), SCMP_ARCH_X86_64);
    EXPECT_EQ(init::seccomp_arch("SCMP_ARCH_X86").value(), SCMP_ARCH_X86);
    EXPECT_EQ(init::seccomp_arch("SCMP_ARCH_X32").value(), SCMP_ARCH_X32);
    EXPECT_EQ(init::seccomp_arch("SCMP_ARCH_AARCH64").value(), SCMP_ARCH_AARCH64);
    EXPECT_EQ(init::seccomp_arch("SCMP_ARCH_ARM").value(), SCMP_ARCH_ARM);
    EXPECT_EQ(init::seccomp_arch("SCMP_ARCH_PPC64LE").value(), SCMP_ARCH_PPC64LE);
    EXPECT_EQ(init::seccomp_arch("SCMP_ARCH_S390X").value(), SCMP_ARCH_S390X);
    EXPECT_EQ(init::seccomp_arch("SCMP_ARCH_MIPSEL64N32").value(), SCMP_ARCH_MIPSEL64N32);
    EXPECT_EQ(init::seccomp_arch("SCMP_ARCH_RISCV64").value(), SCMP_ARCH_RISCV64);
    auto r = init::seccomp_arch("SCMP_ARCH_VAX");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "unknown seccomp architecture \"SCMP_ARCH_VAX\"");
}

TEST(CapabilityNames, Numbers) {
    EXPECT_EQ(init::capability_number("CAP_CHOWN").value(), 0);
    EXPECT_EQ(init::capability_number("CAP_KILL").value(), 5);
    EXPECT_EQ(init::capability_number("CAP_NET_BIND_SERVICE").value(), 10);
    EXPECT_EQ(init::capability_number("CAP_SYS_ADMIN").value(), 21);
    EXPECT_EQ(init::capability_number("CAP_AUDIT_READ").value(), 37);
    EXPECT_EQ(init::capability_number("CAP_PERFMON").value(), 38);
    EXPECT_EQ(init::capability_number("CAP_BPF").value(), 39);
    EXPECT_EQ(init::capability_number("CAP_CHECKPOINT_RESTORE").value(), 40);
}

TEST(CapabilityNames, UnknownFails) {
    for (const char* bad : {"CAP_FOO", "cap_chown", "CHOWN", ""}) {
        auto r = init::capability_number(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().message(), std::string("unknown capability \"") + bad + "\"");
    }
}
