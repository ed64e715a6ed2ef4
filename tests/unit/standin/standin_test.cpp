// The attach protocol's framing (init/attach.hpp) and the stand-in's refusals and failure paths
// (backend/proxmox/standin.hpp) without a CT; tests/e2e/test_proxmox_standin.sh runs both against a real one.
#include "backend/proxmox/standin.hpp"
#include "init/attach.hpp"

#include <gtest/gtest.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <linux/sockios.h>
#include <string>
#include <thread>

namespace {

using namespace lxcri;
namespace attach = lxcri::init::attach;
namespace pve = lxcri::backend::proxmox;
using sys::Fd;

struct Pair {
    Fd a, b;
};
Pair socket_pair() {
    int sp[2];
    EXPECT_EQ(0, ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp));
    return {Fd(sp[0]), Fd(sp[1])};
}

attach::Clock::time_point soon() {
    return attach::Clock::now() + std::chrono::seconds(5);
}

int open_fds() {
    int n = 0;
    DIR* d = ::opendir("/proc/self/fd");
    while (auto* e = ::readdir(d))
        n += e->d_name[0] != '.';
    ::closedir(d);
    return n;
}

void write_all(int fd, const std::string& s) {
    ASSERT_EQ(static_cast<ssize_t>(s.size()), ::write(fd, s.data(), s.size()));
}

TEST(AttachFraming, HeaderRoundTrip) {
    auto h = attach::decode_header(attach::encode_header(attach::Type::Start, 42));
    ASSERT_TRUE(h) << h.error().message();
    EXPECT_EQ(attach::Type::Start, h->first);
    EXPECT_EQ(42u, h->second);
    auto max = attach::decode_header(attach::encode_header(attach::Type::Process, attach::kMaxPayload));
    EXPECT_TRUE(max);
}

TEST(AttachFraming, BadHeadersAreRefusedWithTheReason) {
    auto expect_invalid = [](const std::string& header, const std::string& words) {
        auto h = attach::decode_header(header);
        ASSERT_FALSE(h);
        EXPECT_EQ(ErrorKind::Invalid, h.error().kind());
        EXPECT_NE(std::string::npos, h.error().message().find(words)) << h.error().message();
    };
    expect_invalid(attach::encode_header(attach::Type::Start, 0, 1, 0x31474552), "bad magic");
    expect_invalid(attach::encode_header(attach::Type::Start, 0, 1),
                   "attach protocol version 1 (this side speaks 2)");
    expect_invalid(attach::encode_header(static_cast<attach::Type>(0), 0), "unknown message type 0");
    expect_invalid(attach::encode_header(static_cast<attach::Type>(99), 0), "unknown message type 99");
    expect_invalid(attach::encode_header(attach::Type::Process, attach::kMaxPayload + 1),
                   "message of 16777217 bytes (at most 16777216)");
    expect_invalid("short", "short header");
}

TEST(AttachFraming, PayloadAndDescriptorsArrive) {
    auto [a, b] = socket_pair();
    int p[2];
    ASSERT_EQ(0, ::pipe2(p, O_CLOEXEC));
    Fd r(p[0]), w(p[1]);
    int fds[] = {r.get(), w.get(), w.get()};
    ASSERT_TRUE(attach::send(a.get(), attach::Type::Process, "{\"x\":1}", fds));
    auto m = attach::receive(b.get(), soon());
    ASSERT_TRUE(m) << m.error().message();
    EXPECT_EQ(attach::Type::Process, m->type);
    EXPECT_EQ("{\"x\":1}", m->payload);
    ASSERT_EQ(3u, m->fds.size());
    struct stat want {
    }, got{};
    ASSERT_EQ(0, ::fstat(r.get(), &want));
    ASSERT_EQ(0, ::fstat(m->fds[0].get(), &got));
    EXPECT_EQ(want.st_ino, got.st_ino);
    EXPECT_EQ(FD_CLOEXEC, ::fcntl(m->fds[0].get(), F_GETFD) & FD_CLOEXEC);
}

TEST(AttachFraming, LargePayloadAcrossShortWrites) {
    auto [a, b] = socket_pair();
    std::string big(4u << 20, 'x');
    big[12345] = 'y';
    std::thread sender([&, fd = a.get()] { EXPECT_TRUE(attach::send(fd, attach::Type::Start, big)); });
    auto m = attach::receive(b.get(), soon());
    sender.join();
    ASSERT_TRUE(m) << m.error().message();
    EXPECT_EQ(big, m->payload);
}

long rss_kib() {
    std::ifstream in("/proc/self/status");
    for (std::string line; std::getline(in, line);)
        if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
    return -1;
}

// A header claiming the most (16 MiB) with ten bytes behind it: the receiver holds what arrived, not what
// was claimed (12 bytes to the init's socket must not make it take 16 MiB).
TEST(AttachFraming, AClaimedLengthIsNotAllocatedBeforeItArrives) {
    auto [a, b] = socket_pair();
    long before = -1, during = -1;
    std::thread peer([&, fd = a.get(), rfd = b.get()] {
        before = rss_kib(); // the thread's own start is not counted
        write_all(fd, attach::encode_header(attach::Type::Start, attach::kMaxPayload) + "abcdefghij");
        // Once the receiver consumed all of it, it has made room for what it read and waits for the rest.
        int queued = 1;
        for (int i = 0; i < 20000 && queued > 0; ++i) {
            ASSERT_EQ(0, ::ioctl(rfd, SIOCINQ, &queued));
            if (queued > 0) ::usleep(500);
        }
        during = rss_kib();
        ::shutdown(fd, SHUT_WR);
    });
    auto m = attach::receive(b.get(), soon());
    peer.join();
    ASSERT_FALSE(m);
    EXPECT_EQ("truncated message", m.error().message());
    ASSERT_GT(before, 0);
    ASSERT_GT(during, 0);
    EXPECT_LT(during - before, 8 * 1024) << "KiB taken while 10 of 16 MiB had arrived";
}

TEST(AttachFraming, ClosedTruncatedSilentAndOversized) {
    {
        auto [a, b] = socket_pair();
        a.reset();
        auto m = attach::receive(b.get(), soon());
        ASSERT_FALSE(m);
        EXPECT_EQ(ErrorKind::Gone, m.error().kind());
    }
    {
        auto [a, b] = socket_pair();
        write_all(a.get(), attach::encode_header(attach::Type::Start, 10) + "abc");
        a.reset();
        auto m = attach::receive(b.get(), soon());
        ASSERT_FALSE(m);
        EXPECT_EQ(ErrorKind::Invalid, m.error().kind());
        EXPECT_EQ("truncated message", m.error().message());
    }
    {
        auto [a, b] = socket_pair();
        auto m = attach::receive(b.get(), attach::Clock::now() + std::chrono::milliseconds(50));
        ASSERT_FALSE(m);
        EXPECT_EQ(ErrorKind::Busy, m.error().kind());
    }
    {
        // The header alone is refused: the payload is never read (nor allocated).
        auto [a, b] = socket_pair();
        write_all(a.get(), attach::encode_header(attach::Type::Process, 0xffffffffu));
        auto m = attach::receive(b.get(), soon());
        ASSERT_FALSE(m);
        EXPECT_EQ(ErrorKind::Invalid, m.error().kind());
    }
}

TEST(AttachFraming, TooManyDescriptorsAreRefusedAndClosed) {
    auto [a, b] = socket_pair();
    int before = open_fds();
    std::vector<int> many(attach::kMaxFds + 5, a.get());
    std::string header = attach::encode_header(attach::Type::Process, 0);
    iovec iov{header.data(), header.size()};
    std::vector<char> ctrl(CMSG_SPACE(sizeof(int) * many.size()));
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctrl.data();
    msg.msg_controllen = ctrl.size();
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * many.size());
    std::memcpy(CMSG_DATA(c), many.data(), sizeof(int) * many.size());
    ASSERT_EQ(static_cast<ssize_t>(header.size()), ::sendmsg(a.get(), &msg, 0));
    {
        auto m = attach::receive(b.get(), soon());
        ASSERT_FALSE(m);
        EXPECT_EQ(ErrorKind::Invalid, m.error().kind());
        EXPECT_EQ("more than 67 descriptors", m.error().message());
    }
    EXPECT_EQ(before, open_fds());
}

TEST(AttachFraming, CredentialsNameTheSendersPid) {
    auto [a, b] = socket_pair();
    int one = 1;
    ASSERT_EQ(0, ::setsockopt(b.get(), SOL_SOCKET, SO_PASSCRED, &one, sizeof one));
    ucred cr{::getpid(), ::getuid(), ::getgid()};
    ASSERT_TRUE(attach::send(a.get(), attach::Type::Started, "7", {}, &cr));
    auto m = attach::receive(b.get(), soon());
    ASSERT_TRUE(m) << m.error().message();
    ASSERT_TRUE(m->creds);
    EXPECT_EQ(::getpid(), m->creds->pid);
    EXPECT_EQ("7", m->payload);
}

TEST(Standin, EntrypointAndSocketPath) {
    EXPECT_EQ("/.lxcri/init --attach /.lxcri/attach.sock", pve::entrypoint());
    EXPECT_EQ("/proc/42/root/.lxcri/attach.sock", pve::attach_socket(42));
    EXPECT_STREQ("/.lxcri", pve::kAttachDir);
}

// No child is left behind by a refused or failed spawn.
void expect_no_children() {
    int st;
    EXPECT_EQ(-1, ::waitpid(-1, &st, WNOHANG));
    EXPECT_EQ(ECHILD, errno);
}

TEST(Standin, RefusesBadRequestsBeforeForking) {
    pve::StandinRequest req;
    req.process.process.args = {"true"};
    req.deadline = backend::after(std::chrono::seconds(2));
    auto r = pve::spawn_standin(req);
    ASSERT_FALSE(r);
    EXPECT_EQ(ErrorKind::Invalid, r.error().kind());

    req.init_host_pid = ::getpid();
    req.process.process.terminal = true;
    r = pve::spawn_standin(req);
    ASSERT_FALSE(r);
    EXPECT_EQ("a terminal process needs a console socket (--console-socket)", r.error().message());

    req.process.process.terminal = false;
    req.process.preserve_fds = 65;
    r = pve::spawn_standin(req);
    ASSERT_FALSE(r);
    EXPECT_EQ("--preserve-fds 65: at most 64 in a CT", r.error().message());
    expect_no_children();
}

TEST(Standin, AGoneInitIsReportedAsGone) {
    pid_t dead = ::fork();
    if (dead == 0) ::_exit(0);
    int st;
    ASSERT_EQ(dead, ::waitpid(dead, &st, 0));
    pve::StandinRequest req;
    req.process.process.args = {"true"};
    req.init_host_pid = dead;
    req.deadline = backend::after(std::chrono::seconds(2));
    auto r = pve::spawn_standin(req);
    ASSERT_FALSE(r);
    EXPECT_EQ(ErrorKind::Gone, r.error().kind()) << r.error().message();
    auto rel = pve::release(dead, "{}", backend::after(std::chrono::seconds(2)));
    ASSERT_FALSE(rel);
    EXPECT_EQ(ErrorKind::Gone, rel.error().kind()) << rel.error().message();
    expect_no_children();
}

// An init that never opens its socket (here: a process of the host, where /.lxcri/attach.sock does not
// exist): the stand-in gives up at the deadline, is killed and reaped; release and process_pid time out.
TEST(Standin, AnInitWithoutSocketTimesOutAndLeavesNothing) {
    if (::access("/.lxcri/attach.sock", F_OK) == 0) GTEST_SKIP() << "this host has a /.lxcri/attach.sock";
    pid_t sleeper = ::fork();
    if (sleeper == 0) {
        ::pause();
        ::_exit(0);
    }
    pve::StandinRequest req;
    req.process.process.args = {"true"};
    req.init_host_pid = sleeper;
    req.deadline = backend::after(std::chrono::milliseconds(300));
    auto r = pve::spawn_standin(req);
    ASSERT_FALSE(r);
    EXPECT_NE(std::string::npos, r.error().message().find("timed out")) << r.error().message();
    auto rel = pve::release(sleeper, "{}", backend::after(std::chrono::milliseconds(100)));
    ASSERT_FALSE(rel);
    EXPECT_EQ(ErrorKind::Busy, rel.error().kind()) << rel.error().message();
    auto pid = pve::process_pid(sleeper, backend::after(std::chrono::milliseconds(100)));
    ASSERT_FALSE(pid);
    EXPECT_EQ(ErrorKind::Busy, pid.error().kind()) << pid.error().message();
    ::kill(sleeper, SIGKILL);
    int st;
    ASSERT_EQ(sleeper, ::waitpid(sleeper, &st, 0));
    expect_no_children();
}

} // namespace
