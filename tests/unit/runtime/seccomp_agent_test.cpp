// Seccomp notify, the runtime's half: the ContainerProcessState sent to listenerPath's agent and the message.
#include "runtime/common.hpp"
#include "sys/socket.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

using namespace lxcri;
using namespace lxcri::runtime;

namespace {

State sample_state() {
    State s;
    s.id = "c1";
    s.pid = 4242;
    s.bundle = "/srv/bundle";
    s.rootfs = "/srv/bundle/rootfs";
    s.created = "2026-12-07T21:00:00Z";
    s.owner = "";
    s.annotations = {{"a", "b"}};
    return s;
}

spec::Seccomp notify_profile(const std::string& path) {
    spec::Seccomp sc;
    sc.default_action = "SCMP_ACT_ALLOW";
    sc.listener_path = path;
    sc.listener_metadata = "meta";
    sc.syscalls = {spec::SeccompSyscall{{"mkdir"}, "SCMP_ACT_NOTIFY", std::nullopt, {}}};
    return sc;
}

} // namespace

// runc's bytes: its field order, the runtime-spec's State without rootfs/created/owner.
TEST(SeccompAgent, ContainerProcessStateAsRuncSendsIt) {
    auto sc = notify_profile("/run/agent.sock");
    EXPECT_EQ(container_process_state(sc, 4242, oci_state_json(sample_state(), RunState::Creating, 0)),
              R"({"ociVersion":"1.0.2-dev","fds":["seccompFd"],"pid":4242,"metadata":"meta",)"
              R"("state":{"ociVersion":"1.0.2-dev","id":"c1","status":"creating","pid":4242,)"
              R"("bundle":"/srv/bundle","annotations":{"a":"b"}}})");
    // exec: the process's pid, the container running with its init's pid; no metadata when none is given.
    sc.listener_metadata.clear();
    auto s = sample_state();
    s.annotations.clear();
    EXPECT_EQ(container_process_state(sc, 99, oci_state_json(s, RunState::Running, 0)),
              R"({"ociVersion":"1.0.2-dev","fds":["seccompFd"],"pid":99,)"
              R"("state":{"ociVersion":"1.0.2-dev","id":"c1","status":"running","pid":4242,)"
              R"("bundle":"/srv/bundle"}})");
}

TEST(SeccompAgent, SendsTheStateAndTheFdInOneMessage) {
    char dir[] = "/tmp/lxcri-agent-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    std::string path = std::string(dir) + "/agent.sock";
    sys::Fd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, path.c_str());
    ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(listener.get(), 1), 0);
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    sys::Fd r(p[0]), w(p[1]);
    auto sent = send_to_seccomp_agent(notify_profile(path), R"({"x":1})", w.get());
    ASSERT_TRUE(sent) << sent.error().message();
    sys::Fd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    ASSERT_TRUE(conn.valid());
    auto got = sys::receive(conn.get(), 4096);
    ASSERT_TRUE(got) << got.error().message();
    EXPECT_EQ(got->data, R"({"x":1})");
    ASSERT_TRUE(got->fd.valid());
    // The fd received is the pipe's write end.
    ASSERT_EQ(::write(got->fd.get(), "y", 1), 1);
    char c = 0;
    ASSERT_EQ(::read(r.get(), &c, 1), 1);
    EXPECT_EQ(c, 'y');
    ::unlink(path.c_str());
    ::rmdir(dir);
}

TEST(SeccompAgent, RuncsWordsWhenTheAgentIsMissing) {
    auto r = send_to_seccomp_agent(notify_profile("/nonexistent/agent.sock"), "{}", 0);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(),
              "failed to connect with seccomp agent specified in the seccomp profile: dial "
              "unix /nonexistent/agent.sock: connect: No such file or directory");
}

TEST(SeccompAgent, OnlyForProfilesThatNotify) {
    spec::Spec sp;
    auto state = [](pid_t) { return std::string("{}"); };
    EXPECT_FALSE(seccomp_agent(sp, state));
    sp.linux_.emplace();
    sp.linux_->seccomp = notify_profile("/run/a.sock");
    EXPECT_TRUE(seccomp_agent(sp, state));
    sp.linux_->seccomp->syscalls[0].action = "SCMP_ACT_ERRNO";
    EXPECT_FALSE(seccomp_agent(sp, state));
    // Notify without listenerPath: runc's words when the fd would go out.
    sp.linux_->seccomp = notify_profile("");
    auto agent = seccomp_agent(sp, state);
    ASSERT_TRUE(agent);
    auto r = agent(1, 0);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "listenerPath is not set");
}
