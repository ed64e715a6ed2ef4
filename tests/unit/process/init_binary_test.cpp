// The static proxmox-lxcri-init as PID 1 of a new pid+mount namespace (unshare -m -p -f --mount-proc), the
// way liblxc runs it: a bind-mounted helper directory with init.json and the fifo, released by writing one
// byte. The binary is LXCRI_INIT_BINARY or <build dir>/proxmox-lxcri-init; the tests skip when neither
// exists.
#include "plan/plan.hpp"

#include "child.hpp"
#include "sys/fs.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

using namespace lxcri;

namespace {

std::string init_binary() {
    if (const char* env = std::getenv("LXCRI_INIT_BINARY")) return env;
    return LXCRI_BINARY_DIR "/proxmox-lxcri-init";
}

// A host-side helper directory (init.json, fifo) bind-mounted onto an empty cleanup dir inside the namespace.
class InitRun {
  public:
    InitRun() : helper_(dir_.path() + "/helper"), mnt_(dir_.path() + "/mnt") {
        if (!sys::mkdir_p(helper_) || !sys::mkdir_p(mnt_) || ::mkfifo((helper_ + "/fifo").c_str(), 0600) < 0)
            std::abort();
        cfg.process.args = {"/bin/sh", "-c",
                            "echo pid=$$; test -e " + mnt_ +
                                " && echo helper-visible || "
                                "echo helper-gone"};
        cfg.process.env = {"PATH=/usr/bin:/bin"};
        cfg.fifo = mnt_ + "/fifo";
        cfg.cleanup_dir = mnt_;
    }
    const std::string& dir() const { return dir_.path(); }

    // Starts the init; `release` runs while it waits on the fifo (write a byte, or close without one).
    test::ChildResult run(const std::function<void(int fifo_fd)>& release, int keep_fd = -1) {
        if (!sys::write_file_atomic(helper_ + "/init.json", plan::init_config_to_json(cfg))) std::abort();
        int out[2], err[2];
        if (::pipe2(out, O_CLOEXEC) < 0 || ::pipe2(err, O_CLOEXEC) < 0) std::abort();
        std::string script =
            "mount --bind " + helper_ + " " + mnt_ + " && exec " + init_binary() + " " + mnt_ + "/init.json";
        pid_t pid = ::fork();
        if (pid == 0) {
            ::dup2(out[1], 1);
            ::dup2(err[1], 2);
            if (keep_fd >= 0) ::fcntl(keep_fd, F_SETFD, 0);
            ::execlp("unshare", "unshare", "-m", "-p", "-f", "--mount-proc", "sh", "-c", script.c_str(),
                     nullptr);
            ::_exit(99);
        }
        ::close(out[1]);
        ::close(err[1]);
        int fifo = open_writer(pid);
        if (fifo >= 0) {
            release(fifo);
            ::close(fifo);
        }
        test::ChildResult r;
        std::thread t([&] { r.err = test::drain(err[0]); });
        r.out = test::drain(out[0]);
        t.join();
        ::waitpid(pid, &r.status, 0);
        return r;
    }

    plan::InitConfig cfg;

  private:
    // The writer end, once init has opened the fifo for reading (ENXIO until then); -1 if init exits first.
    static bool exited(pid_t pid) {
        siginfo_t info{};
        return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
               info.si_pid == pid;
    }
    int open_writer(pid_t pid) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (std::chrono::steady_clock::now() < deadline && !exited(pid)) {
            int fd = ::open((helper_ + "/fifo").c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
            if (fd >= 0) return fd;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return -1;
    }

    test::TempDir dir_{"lxcri-init"};
    std::string helper_, mnt_;
};

void write_byte(int fd) {
    ASSERT_EQ(::write(fd, "x", 1), 1);
}

class InitBinary : public ::testing::Test {
  protected:
    void SetUp() override {
        if (::access(init_binary().c_str(), X_OK) != 0) GTEST_SKIP() << "no init binary at " << init_binary();
    }
};

} // namespace

TEST_F(InitBinary, WaitsForFifoThenExecsAsPid1WithHelperDetached) {
    InitRun run;
    auto r = run.run(write_byte);
    EXPECT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_EQ(r.out, "pid=1\nhelper-gone\n");
    EXPECT_EQ(r.err, "");
}

TEST_F(InitBinary, ClosedFifoWithoutByteMeansNeverStart) {
    InitRun run;
    auto r = run.run([](int) {});
    EXPECT_EQ(r.exit_code(), 1);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "");
}

TEST_F(InitBinary, StartContainerHooksGetStateAndRunBeforeProcess) {
    InitRun run;
    std::string state = run.dir() + "/hook-state";
    run.cfg.start_container_hooks = {
        {"/bin/sh",
         {"sh", "-c",
          "cat > " + state + "; echo $0 $FOO $(ls " + run.dir() + " | tr '\\n' ' ') > " + state + ".env",
          "hook0"},
         {"FOO=bar"},
         5}};
    // `start` writes the container's OCI state into the fifo; the hooks get it verbatim on stdin.
    const std::string oci_state = R"({"ociVersion":"1.0.2-dev","id":"c1","pid":4242,"status":"created"})";
    auto r = run.run([&](int fifo) {
        ASSERT_EQ(::write(fifo, oci_state.data(), oci_state.size()), ssize_t(oci_state.size()));
    });
    EXPECT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_EQ(r.out, "pid=1\nhelper-gone\n");
    EXPECT_EQ(sys::read_file(state).value_or(""), oci_state);
    // The hook ran after the helper mount was detached and removed ("mnt" is gone).
    EXPECT_EQ(sys::read_file(state + ".env").value_or(""), "hook0 bar helper hook-state\n");
}

TEST_F(InitBinary, FailingHookStopsStart) {
    InitRun run;
    run.cfg.start_container_hooks = {
        {"/bin/true", {}, {}, std::nullopt},
        {"/bin/sh", {"sh", "-c", "echo out; echo boom >&2; exit 3"}, {}, std::nullopt}};
    auto r = run.run(write_byte);
    EXPECT_EQ(r.exit_code(), 127);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err,
              "proxmox-lxcri-init: error running startContainer hook #1: error running hook: exit status 3, "
              "stdout: out\n, stderr: boom\n\n");
}

TEST_F(InitBinary, HookTimeoutKillsIt) {
    InitRun run;
    run.cfg.start_container_hooks = {{"/bin/sleep", {"sleep", "30"}, {}, 1}};
    auto start = std::chrono::steady_clock::now();
    auto r = run.run(write_byte);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
    EXPECT_EQ(r.exit_code(), 127);
    EXPECT_EQ(r.err,
              "proxmox-lxcri-init: error running startContainer hook #0: hook ran past specified timeout of "
              "1.0s\n");
}

TEST_F(InitBinary, MissingHookBinary) {
    InitRun run;
    run.cfg.start_container_hooks = {{"/no/hook", {}, {}, std::nullopt}};
    auto r = run.run(write_byte);
    EXPECT_EQ(r.exit_code(), 127);
    EXPECT_EQ(r.err,
              "proxmox-lxcri-init: error running startContainer hook #0: fork/exec /no/hook: No such file or "
              "directory\n");
}

TEST_F(InitBinary, MissingExecutableExits127) {
    InitRun run;
    run.cfg.process.args = {"nope-lxcri"};
    auto r = run.run(write_byte);
    EXPECT_EQ(r.exit_code(), 127);
    EXPECT_EQ(r.err, "proxmox-lxcri-init: exec: \"nope-lxcri\": executable file not found in $PATH\n");
}

TEST_F(InitBinary, NotExecutableExits126) {
    InitRun run;
    ASSERT_TRUE(sys::write_file_atomic(run.dir() + "/script", "#!/bin/sh\n", 0644));
    run.cfg.process.args = {run.dir() + "/script"};
    auto r = run.run(write_byte);
    EXPECT_EQ(r.exit_code(), 126);
    EXPECT_EQ(r.err, "proxmox-lxcri-init: exec: \"" + run.dir() + "/script\": Permission denied\n");
}

TEST_F(InitBinary, BadConfigExits127) {
    InitRun run;
    run.cfg.preserve_fds = -1;
    auto r = run.run(write_byte);
    EXPECT_EQ(r.exit_code(), 127);
    EXPECT_TRUE(r.err.starts_with("proxmox-lxcri-init: parse ")) << r.err;
    EXPECT_NE(r.err.find("init.preserveFds: must not be negative"), std::string::npos) << r.err;
}

TEST_F(InitBinary, TerminalSendsPtyMasterOverConsoleSocket) {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    InitRun run;
    run.cfg.process.terminal = true;
    run.cfg.process.console_size = spec::ConsoleSize{33, 99};
    run.cfg.process.args = {"/bin/sh", "-c", "tty; stty size; ls /proc/self/fd | tr '\\n' ' '"};
    run.cfg.console_fd = sv[1];
    int master = -1;
    std::string name;
    auto r = run.run(
        [&](int fifo) {
            char buf[256]{};
            alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))]{};
            iovec iov{buf, sizeof buf};
            msghdr msg{};
            msg.msg_iov = &iov;
            msg.msg_iovlen = 1;
            msg.msg_control = control;
            msg.msg_controllen = sizeof control;
            ssize_t n = ::recvmsg(sv[0], &msg, MSG_CMSG_CLOEXEC);
            cmsghdr* cm = CMSG_FIRSTHDR(&msg);
            if (n > 0 && cm && cm->cmsg_type == SCM_RIGHTS) std::memcpy(&master, CMSG_DATA(cm), sizeof(int));
            name.assign(buf, n > 0 ? static_cast<size_t>(n) : 0);
            ::close(sv[1]);
            write_byte(fifo);
        },
        sv[1]);
    ::close(sv[0]);
    ASSERT_GE(master, 0);
    EXPECT_TRUE(name.starts_with("/dev/pts/")) << name;
    std::string tty;
    char buf[4096];
    for (ssize_t n; (n = ::read(master, buf, sizeof buf)) > 0;)
        tty.append(buf, static_cast<size_t>(n));
    ::close(master);
    EXPECT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(tty, name + "\r\n33 99\r\n0 1 2 3 ");
}

TEST_F(InitBinary, ReportsReadyWithItsPidBeforeWaiting) {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    int one = 1;
    ASSERT_EQ(::setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof one), 0);
    timeval limit{10, 0};
    ASSERT_EQ(::setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit), 0);
    InitRun run;
    run.cfg.ready_fd = sv[1];
    pid_t init_pid = 0;
    bool acked = false;
    std::string nspid;
    // The runtime's side, while run() waits for the fifo: the ready message with the init's pid, the answer
    // once it is recorded, the init's acknowledgement (it has cleared liblxc's parent-death signal by then).
    std::thread handshake([&] {
        char byte;
        iovec iov{&byte, 1};
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))]{};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        if (::recvmsg(sv[0], &msg, 0) != 1) return;
        cmsghdr* cm = CMSG_FIRSTHDR(&msg);
        ucred cred{};
        if (cm && cm->cmsg_type == SCM_CREDENTIALS) std::memcpy(&cred, CMSG_DATA(cm), sizeof cred);
        init_pid = cred.pid;
        char go = 1;
        acked = ::send(sv[0], &go, 1, MSG_NOSIGNAL) == 1 && ::recv(sv[0], &go, 1, 0) == 1;
    });
    auto r = run.run(
        [&](int fifo) {
            ::close(sv[1]);
            handshake.join();
            // The init is still waiting: it is PID 1 of its namespace.
            auto status = sys::read_file("/proc/" + std::to_string(init_pid) + "/status").value_or("");
            auto pos = status.find("NSpid:");
            nspid = pos == std::string::npos ? "" : status.substr(pos, status.find('\n', pos) - pos);
            write_byte(fifo);
        },
        sv[1]);
    if (handshake.joinable()) handshake.join();
    ::close(sv[0]);
    EXPECT_EQ(r.exit_code(), 0) << r.err;
    ASSERT_GT(init_pid, 0);
    EXPECT_TRUE(acked);
    EXPECT_EQ(nspid, "NSpid:\t" + std::to_string(init_pid) + "\t1");
    EXPECT_EQ(r.out, "pid=1\nhelper-gone\n");
}

TEST_F(InitBinary, MissingCwdIsCreatedLikeRunc) {
    InitRun run;
    run.cfg.process.cwd = run.dir() + "/new/cwd";
    run.cfg.process.args = {"/bin/sh", "-c", "pwd; stat -c %a ."};
    auto r = run.run(write_byte);
    EXPECT_EQ(r.exit_code(), 0) << r.err;
    EXPECT_EQ(r.out, run.dir() + "/new/cwd\n755\n");
}
