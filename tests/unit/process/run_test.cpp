// sys::run, the one subprocess runner: timeouts kill the whole process group and never wait on pipes held by
// processes left behind, no busy waiting, stdin never blocks the parent nor raises SIGPIPE, capped capture,
// exec failures as errno with the path. Tests named Compat* use the old four-argument form only, so that they
// also build (and fail) against the runner this one replaced.
#include "sys/fs.hpp"
#include "sys/proc.hpp"

#include "child.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <thread>

using namespace lxcri;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// CPU time (user + system) this process has used so far.
std::chrono::microseconds cpu_time() {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    auto us = [](const timeval& tv) {
        return std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
    };
    return std::chrono::duration_cast<std::chrono::microseconds>(us(ru.ru_utime) + us(ru.ru_stime));
}

// The pid a command wrote into a file (0 when it did not).
pid_t pid_from(const std::string& file) {
    return static_cast<pid_t>(std::atoi(sys::read_file(file).value_or("0").c_str()));
}

// True when pid is gone (or a zombie) within the timeout.
bool gone_within(pid_t pid, std::chrono::milliseconds timeout) {
    auto end = Clock::now() + timeout;
    while (Clock::now() < end) {
        if (!sys::process_start_time(pid)) return true;
        std::this_thread::sleep_for(10ms);
    }
    return !sys::process_start_time(pid);
}

// Kills a test's leftover by pid (only when the test failed and left it).
void kill_leftover(pid_t pid) {
    if (pid > 0 && sys::process_start_time(pid)) ::kill(pid, SIGKILL);
}

sys::RunOptions sh(const std::string& script) {
    sys::RunOptions o;
    o.argv = {"sh", "-c", script};
    return o;
}

} // namespace

TEST(Run, CompatTimeoutKillsTheWholeProcessGroup) {
    test::TempDir dir;
    std::string pidfile = dir.path() + "/grandchild";
    // The grandchild does not hold the pipes: only the group kill can reach it.
    auto r = sys::run(
        {"sh", "-c", "sleep 30 </dev/null >/dev/null 2>&1 & echo $! > " + pidfile + "; exec sleep 30"}, {},
        "", 300ms);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("timed out"), std::string::npos) << r.error().message();
    pid_t gc = pid_from(pidfile);
    ASSERT_GT(gc, 0);
    EXPECT_TRUE(gone_within(gc, 2s)) << "grandchild " << gc << " survived the timeout";
    kill_leftover(gc);
}

TEST(Run, CompatTimeoutDoesNotWaitForAGrandchildHoldingThePipesNorSpin) {
    // The grandchild holds stdout and stderr for 3 s; the timeout is 200 ms.
    auto cpu0 = cpu_time();
    auto t0 = Clock::now();
    auto r = sys::run({"sh", "-c", "sleep 3 & exec sleep 30"}, {}, "", 200ms);
    auto wall = Clock::now() - t0;
    auto cpu = cpu_time() - cpu0;
    ASSERT_FALSE(r);
    EXPECT_LT(wall, 1500ms) << "waited "
                            << std::chrono::duration_cast<std::chrono::milliseconds>(wall).count() << " ms";
    EXPECT_LT(cpu, 100ms) << "parent used " << cpu.count() / 1000 << " ms of CPU";
    std::printf("timed-out run: wall %lld ms, parent CPU %.1f ms\n",
                static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(wall).count()),
                static_cast<double>(cpu.count()) / 1000.0);
}

TEST(Run, CompatClosedStderrAndStdoutStillTimesOut) {
    // With both pipes closed, a runner that waits for their EOF returns at once and then blocks in waitpid
    // until the sleep ends, reporting success.
    auto t0 = Clock::now();
    auto r = sys::run({"sh", "-c", "exec >&- 2>&-; sleep 3"}, {}, "", 300ms);
    auto wall = Clock::now() - t0;
    ASSERT_FALSE(r) << "status " << r->status;
    EXPECT_NE(r.error().message().find("timed out"), std::string::npos) << r.error().message();
    EXPECT_LT(wall, 1500ms);
}

TEST(Run, CompatBigInputNotReadDoesNotKillTheCaller) {
    // The child exits without reading 1 MiB of stdin: no SIGPIPE for us (this process keeps SIGPIPE's default
    // action), no blocking.
    ::signal(SIGPIPE, SIG_DFL);
    std::string big(1 << 20, 'x');
    auto r = sys::run({"sh", "-c", "exit 0"}, {}, big, 5s);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->status, 0);
    // Not reading and not exiting either: the timeout still applies.
    auto t0 = Clock::now();
    auto s = sys::run({"sleep", "30"}, {}, big, 300ms);
    EXPECT_FALSE(s);
    EXPECT_LT(Clock::now() - t0, 1500ms);
}

TEST(Run, TimedOutResultKillsWithSigkill) {
    auto o = sh("echo started; exec 2>/dev/null; sleep 30");
    o.timeout = 300ms;
    auto t0 = Clock::now();
    auto r = sys::run(o);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_LT(Clock::now() - t0, 1500ms);
    EXPECT_TRUE(r->timed_out);
    ASSERT_TRUE(WIFSIGNALED(r->status));
    EXPECT_EQ(WTERMSIG(r->status), SIGKILL);
    EXPECT_EQ(r->out, "started\n"); // what was written before the kill is kept
}

TEST(Run, ChildExitDoesNotWaitForPipeHoldersLeftBehind) {
    // No timeout: the command's own exit ends the run even though a background process holds its stdout.
    test::TempDir dir;
    std::string pidfile = dir.path() + "/bg";
    auto t0 = Clock::now();
    auto r = sys::run(sh("sleep 3 & echo $! > " + pidfile + "; echo done"));
    auto wall = Clock::now() - t0;
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_FALSE(r->timed_out);
    EXPECT_EQ(r->status, 0);
    EXPECT_EQ(r->out, "done\n");
    EXPECT_LT(wall, 1500ms);
    kill_leftover(pid_from(pidfile));
}

TEST(Run, LeftoverWriterPastTheCapDoesNotKeepTheRunnerReading) {
    // The command exits; a background `yes` keeps writing to its stdout, past the capture limit.
    test::TempDir dir;
    std::string pidfile = dir.path() + "/yes";
    auto o = sh("yes & echo $! > " + pidfile + "; sleep 0.2");
    o.capture_limit = 1024;
    auto t0 = Clock::now();
    auto r = sys::run(o);
    auto wall = Clock::now() - t0;
    kill_leftover(pid_from(pidfile));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->status, 0);
    EXPECT_EQ(r->out.size(), 1024u);
    EXPECT_TRUE(r->out_truncated);
    EXPECT_LT(wall, 1500ms);
}

TEST(Run, NoBusyWaitWhileTheChildRuns) {
    auto o = sh("sleep 0.5; echo ok");
    o.timeout = 10s;
    auto cpu0 = cpu_time();
    auto r = sys::run(o);
    auto cpu = cpu_time() - cpu0;
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->out, "ok\n");
    EXPECT_LT(cpu, 50ms) << cpu.count() / 1000 << " ms";
}

TEST(Run, CapturesOutputErrorStatusAndInput) {
    auto o = sh("cat; echo err >&2; exit 3");
    o.input = "in";
    auto r = sys::run(o);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->out, "in");
    EXPECT_EQ(r->err, "err\n");
    ASSERT_TRUE(WIFEXITED(r->status));
    EXPECT_EQ(WEXITSTATUS(r->status), 3);
    EXPECT_EQ(sys::describe_wait_status(r->status), "exit status 3");
}

TEST(Run, OutputIsCappedAndTheRestDiscarded) {
    auto o = sh("head -c 3000000 /dev/zero; echo tail >&2");
    o.capture_limit = 1 << 20;
    auto r = sys::run(o);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->status, 0); // the writer was never blocked
    EXPECT_EQ(r->out.size(), size_t{1} << 20);
    EXPECT_TRUE(r->out_truncated);
    EXPECT_EQ(r->err, "tail\n");
    EXPECT_FALSE(r->err_truncated);
}

TEST(Run, BigInputIsReadInFull) {
    auto o = sh("wc -c");
    o.input.assign(3 << 20, 'y');
    auto r = sys::run(o);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->out, std::to_string(3 << 20) + "\n");
}

TEST(Run, ExecFailureIsErrnoWithThePath) {
    sys::RunOptions o;
    o.argv = {"/no/such/lxcri-prog"};
    auto r = sys::run(o);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), ENOENT);
    EXPECT_EQ(r.error().message(), "exec /no/such/lxcri-prog: No such file or directory");

    o.argv = {"no-such-lxcri-prog"}; // through $PATH
    r = sys::run(o);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), ENOENT);

    test::TempDir dir;
    std::string script = dir.path() + "/not-executable";
    ASSERT_TRUE(sys::write_file_atomic(script, "#!/bin/sh\n", 0644));
    o.argv = {"x"};
    o.path = script;
    r = sys::run(o);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), EACCES);
    EXPECT_NE(r.error().message().find(script), std::string::npos);
}

TEST(Run, PathArgv0EnvAndNoSearch) {
    sys::RunOptions o;
    o.path = "/bin/sh";
    o.argv = {"my-name", "-c", "echo $0 $A ${HOME:-nohome}"};
    o.env = std::vector<std::string>{"A=1"};
    o.search_path = false;
    auto r = sys::run(o);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->out, "my-name 1 nohome\n");

    sys::RunOptions n;
    n.argv = {"sh", "-c", "true"};
    n.search_path = false; // "sh" relative to the cwd, not looked up
    auto f = sys::run(n);
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error().code(), ENOENT);
}

TEST(Run, OwnProcessGroupDefaultSigpipeAndNoLeakedFds) {
    int leak = ::open("/dev/null", O_RDONLY); // not close-on-exec
    ASSERT_GE(leak, 3);
    auto old = ::signal(SIGPIPE, SIG_IGN);
    auto r = sys::run(sh("set -- $(cut -d' ' -f5 /proc/$$/stat); echo $(($$ == $1)); "
                         "ign=$(awk '/^SigIgn/ {print $2}' /proc/$$/status); echo $(((0x$ign >> 12) & 1)); "
                         "test -e /proc/$$/fd/" +
                         std::to_string(leak) + " && echo leaked || echo closed"));
    ::signal(SIGPIPE, old);
    ::close(leak);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->out, "1\n0\nclosed\n"); // own group, SIGPIPE not ignored, nothing inherited
}

TEST(Run, StdinFdAndNullOutput) {
    test::TempDir dir;
    ASSERT_TRUE(sys::write_file_atomic(dir.path() + "/in", "from-file", 0644));
    int fd = ::open((dir.path() + "/in").c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    auto o = sh("cat; echo to-err >&2");
    o.stdin_fd = fd;
    o.err = sys::RunOptions::Output::Null;
    auto r = sys::run(o);
    ::close(fd);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->out, "from-file");
    EXPECT_EQ(r->err, "");
}

TEST(Run, MountNamespaceAndRootSteps) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    int ns = ::open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
    int root = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(ns, 0);
    ASSERT_GE(root, 0);
    auto o = sh("pwd");
    o.mount_ns_fd = ns;
    o.root_fd = root;
    auto r = sys::run(o);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->out, "/\n");
    // Not a namespace: the failing step is named, with its errno.
    int not_ns = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    o.mount_ns_fd = not_ns;
    auto f = sys::run(o);
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error().code(), EINVAL);
    EXPECT_NE(f.error().message().find("setns"), std::string::npos) << f.error().message();
    ::close(not_ns);
    ::close(ns);
    ::close(root);
}
