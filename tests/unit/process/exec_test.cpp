// exec_process() in forked children: user, groups, umask, cwd, capabilities, rlimits, no_new_privs, seccomp,
// masked/readonly paths, and the exact error messages.
#include "init/process.hpp"

#include "child.hpp"
#include "sys/fs.hpp"

#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

using namespace lxcri;
using test::run_child;

namespace {

plan::InitConfig shell(const std::string& script) {
    plan::InitConfig cfg;
    cfg.process.args = {"/bin/sh", "-c", script};
    cfg.process.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
    cfg.process.capabilities = spec::Capabilities{};
    return cfg;
}

// Runs exec_process in a child; its error (if it returns) goes to stderr and exit code 127.
test::ChildResult exec_in_child(const plan::InitConfig& cfg, bool apply_mounts = false,
                                const std::function<void()>& before = {}) {
    return run_child([&] {
        if (before) before();
        auto r = init::exec_process(cfg, apply_mounts);
        std::fprintf(stderr, "%s", r.error().message().c_str());
        ::_exit(127);
    });
}

} // namespace

TEST(ExecProcess, UserGroupsUmaskCwdCapsRlimitNoNewPrivs) {
    test::TempDir dir;
    ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
    auto cfg = shell("id -u; id -G; umask; pwd; ulimit -n; ulimit -Hn; "
                     "grep -E '^(Cap|NoNewPrivs|Seccomp:)' /proc/self/status; echo HOME=$HOME");
    auto& p = cfg.process;
    p.user.uid = 1000;
    p.user.gid = 1000;
    p.user.additional_gids = {2000, 3000};
    p.user.umask = 027;
    p.cwd = dir.path();
    std::vector<std::string> one{"CAP_NET_BIND_SERVICE"};
    p.capabilities = spec::Capabilities{
        std::vector<std::string>{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"}, one, one, one, one};
    p.rlimits = {{"RLIMIT_NOFILE", 1024, 1024}};
    p.no_new_privileges = true;

    auto r = exec_in_child(cfg);
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_EQ(r.out,
              "1000\n"
              "1000 2000 3000\n"
              "0027\n" +
                  dir.path() +
                  "\n"
                  "1024\n"
                  "1024\n"
                  "CapInh:\t0000000000000400\n"
                  "CapPrm:\t0000000000000400\n"
                  "CapEff:\t0000000000000400\n"
                  "CapBnd:\t0000000000000421\n"
                  "CapAmb:\t0000000000000400\n"
                  "NoNewPrivs:\t1\n"
                  "Seccomp:\t0\n"
                  // uid 1000 has no HOME in env: taken from /etc/passwd or "/".
                  "HOME=" +
                  (sys::read_file("/etc/passwd")->find(":1000:1000:") != std::string::npos ? "/home/cloudsdk"
                                                                                           : "/") +
                  "\n");
}

TEST(ExecProcess, SeccompWithoutNoNewPrivsLoadsBeforeCapsDrop) {
    // Without no_new_privs the filter needs CAP_SYS_ADMIN, which uid 1000 with no caps no longer has at exec.
    auto cfg =
        shell("grep -E '^(CapEff|NoNewPrivs|Seccomp:)' /proc/self/status; mkdir /tmp/x-lxcri 2>/dev/null; "
              "echo mkdir=$?");
    cfg.process.user.uid = 1000;
    cfg.process.user.gid = 1000;
    cfg.process.env.push_back("HOME=/");
    spec::Seccomp sc;
    sc.default_action = "SCMP_ACT_ALLOW";
    sc.syscalls = {{{"mkdir", "mkdirat"}, "SCMP_ACT_ERRNO", 42, {}}};
    cfg.seccomp = sc;
    auto r = exec_in_child(cfg);
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_EQ(r.out, "CapEff:\t0000000000000000\nNoNewPrivs:\t0\nSeccomp:\t2\nmkdir=1\n");
}

TEST(ExecProcess, RootKeepsListedCapsOnly) {
    auto cfg = shell("grep -E '^Cap(Prm|Eff|Bnd|Amb)' /proc/self/status; umask");
    std::vector<std::string> caps{"CAP_SYS_ADMIN", "CAP_CHECKPOINT_RESTORE"};
    cfg.process.capabilities = spec::Capabilities{caps, caps, std::nullopt, caps, std::nullopt};
    auto r = exec_in_child(cfg);
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    // bits 21 and 40; umask defaults to 0022 like runc.
    EXPECT_EQ(r.out, "CapPrm:\t0000010000200000\nCapEff:\t0000010000200000\nCapBnd:\t0000010000200000\n"
                     "CapAmb:\t0000000000000000\n0022\n");
}

TEST(ExecProcess, PreservedFdsStayOpenOthersClose) {
    auto cfg = shell("ls /proc/self/fd | sort -n | tr '\\n' ' '");
    cfg.preserve_fds = 2;
    auto r = exec_in_child(cfg, false, [] {
        for (int fd : {3, 4, 5, 9})
            ::dup2(2, fd); // 3 and 4 preserved, 5 and 9 must close
    });
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    // ls itself opens one directory fd (3 is taken, so it gets 5).
    EXPECT_EQ(r.out, "0 1 2 3 4 5 ");
}

// Masks and read-only paths in a private mount namespace of the child. Without mount_setattr (made ENOSYS by
// a seccomp filter, as on kernels before 5.12) only the top mount of a readonly path becomes read-only.
test::ChildResult masked_and_readonly(const std::string& d, bool without_mount_setattr) {
    if (!sys::write_file_atomic(d + "/secret", "s3cret") || !sys::mkdir_p(d + "/secretdir") ||
        !sys::write_file_atomic(d + "/secretdir/file", "x") || !sys::mkdir_p(d + "/ro/sub"))
        return {};
    auto cfg = shell("cat " + d + "/secret; echo cat=$?; ls -A " + d + "/secretdir | wc -l; touch " + d +
                     "/secretdir/new 2>/dev/null; echo touchmask=$?; touch " + d +
                     "/ro/new 2>/dev/null; echo touchro=$?; touch " + d +
                     "/ro/sub/new 2>/dev/null; echo touchsub=$?; "
                     "awk '$5==\"/\" {split($6,o,\",\"); print \"root=\" o[1]}' /proc/self/mountinfo");
    cfg.masked_paths = {d + "/secret", d + "/secretdir", d + "/missing"};
    cfg.readonly_paths = {d + "/ro", d + "/missing-too"};
    cfg.readonly_root = true;
    std::vector<std::string> all{"CAP_DAC_OVERRIDE"};
    cfg.process.capabilities = spec::Capabilities{all, all, std::nullopt, all, std::nullopt};
    return exec_in_child(cfg, true, [&] {
        if (::unshare(CLONE_NEWNS) < 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0 ||
            ::mount("tmpfs", (d + "/ro/sub").c_str(), "tmpfs", 0, nullptr) < 0) {
            std::fprintf(stderr, "mount namespace set-up failed");
            ::_exit(3);
        }
        if (!without_mount_setattr) return;
        spec::Seccomp sc;
        sc.default_action = "SCMP_ACT_ALLOW";
        sc.syscalls = {{{"mount_setattr"}, "SCMP_ACT_ERRNO", ENOSYS, {}}};
        if (!init::apply_seccomp(sc, true)) ::_exit(4);
    });
}

TEST(ExecProcess, MaskedReadonlyPathsAndReadonlyRoot) {
    test::TempDir dir;
    auto r = masked_and_readonly(dir.path(), false);
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_EQ(r.out, "cat=0\n0\ntouchmask=1\ntouchro=1\ntouchsub=1\nroot=ro\n");
    // Nothing leaked to the host namespace.
    EXPECT_EQ(sys::read_file(dir.path() + "/secret").value(), "s3cret");
    EXPECT_FALSE(sys::exists(dir.path() + "/ro/sub/new"));
}

TEST(ExecProcess, ReadonlyPathsWithoutMountSetattr) {
    test::TempDir dir;
    auto r = masked_and_readonly(dir.path(), true);
    ASSERT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_EQ(r.out, "cat=0\n0\ntouchmask=1\ntouchro=1\ntouchsub=0\nroot=ro\n");
}

TEST(ExecProcess, MissingExecutableInPath) {
    auto cfg = shell("");
    cfg.process.args = {"no-such-binary-lxcri"};
    auto r = exec_in_child(cfg);
    EXPECT_EQ(r.exit_code(), 127);
    EXPECT_EQ(r.err, "exec: \"no-such-binary-lxcri\": executable file not found in $PATH");
}

TEST(ExecProcess, MissingExecutablePath) {
    auto cfg = shell("");
    cfg.process.args = {"/no/such/binary"};
    auto r = exec_in_child(cfg);
    EXPECT_EQ(r.exit_code(), 127);
    EXPECT_EQ(r.err, "exec: \"/no/such/binary\": stat /no/such/binary: No such file or directory");
}

TEST(ExecProcess, NotExecutable) {
    test::TempDir dir;
    ASSERT_TRUE(sys::write_file_atomic(dir.path() + "/script", "#!/bin/sh\n", 0644));
    auto cfg = shell("");
    cfg.process.args = {dir.path() + "/script"};
    auto r = exec_in_child(cfg);
    EXPECT_EQ(r.err, "exec: \"" + dir.path() + "/script\": Permission denied");
}

TEST(ExecProcess, BadCwd) {
    auto cfg = shell("echo should-not-run");
    cfg.process.cwd = "/nonexistent-lxcri-cwd";
    auto r = exec_in_child(cfg);
    EXPECT_EQ(r.exit_code(), 127);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(
        r.err,
        "chdir to cwd (\"/nonexistent-lxcri-cwd\") set in config.json failed: No such file or directory");
}

TEST(ExecProcess, UnknownCapabilityAndRlimit) {
    auto cfg = shell("true");
    cfg.process.capabilities = spec::Capabilities{std::vector<std::string>{"CAP_CHOWN", "CAP_BOGUS"}};
    auto r = exec_in_child(cfg);
    EXPECT_EQ(r.err, "capabilities: bounding: unknown capability \"CAP_BOGUS\"");

    cfg = shell("true");
    cfg.process.rlimits = {{"RLIMIT_BOGUS", 1, 1}};
    r = exec_in_child(cfg);
    EXPECT_EQ(r.err, "unknown rlimit type \"RLIMIT_BOGUS\"");
}

TEST(ExecProcess, EmptyArgs) {
    plan::InitConfig cfg;
    auto r = init::exec_process(cfg, false);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "process.args must not be empty");
}
