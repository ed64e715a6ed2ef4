// The PVE API client against the project's emulator (a real HTTPS server): auth, TLS pinning, errors,
// tasks, failover, nextid, the node cache.
#include "proxmox/client.hpp"

#include "emulator.hpp"

#include <gtest/gtest.h>

using namespace lxcri;
using namespace lxcri::proxmox;

namespace {

Deadline soon() {
    return std::chrono::steady_clock::now() + std::chrono::seconds(20);
}

class ProxmoxClient : public ::testing::Test {
  protected:
    pvetest::Emulator emu;
    void SetUp() override {
        auto why = emu.start(::testing::UnitTest::GetInstance()->current_test_info()->name());
        if (!why.empty()) GTEST_SKIP() << why;
    }
    Config config() {
        Config c;
        c.hosts = {"127.0.0.1"};
        c.port = static_cast<uint16_t>(emu.port);
        c.token = pvetest::Emulator::kToken;
        c.node = "pve";
        c.fingerprint = emu.fingerprint;
        return c;
    }
};

} // namespace

TEST_F(ProxmoxClient, TokenGetAndNextId) {
    Client cl(config());
    auto v = cl.get("/version", {}, soon());
    ASSERT_TRUE(v) << v.error().message();
    EXPECT_TRUE(v->contains("version"));
    auto id = cl.next_id(soon());
    ASSERT_TRUE(id) << id.error().message();
    EXPECT_GE(*id, 100u);
    EXPECT_EQ(cl.requests(), 2u);
}

TEST_F(ProxmoxClient, BadTokenRefusedWithoutTheSecret) {
    auto c = config();
    c.token = "root@pam!lxcri=wrong-s3cr3t";
    Client cl(c);
    auto v = cl.get("/nodes", {}, soon());
    ASSERT_FALSE(v);
    std::string m = v.error().message();
    EXPECT_NE(m.find("401"), std::string::npos) << m;
    EXPECT_NE(m.find("root@pam!lxcri"), std::string::npos) << m;
    EXPECT_EQ(m.find("s3cr3t"), std::string::npos) << m;
    EXPECT_EQ(v.error().kind(), ErrorKind::Invalid);
}

TEST_F(ProxmoxClient, WrongFingerprintRefusedBeforeAnyRequest) {
    auto c = config();
    c.fingerprint =
        "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99";
    Client cl(c);
    auto v = cl.get("/version", {}, soon());
    ASSERT_FALSE(v);
    std::string m = v.error().message();
    EXPECT_NE(m.find("fingerprint mismatch: expected AA:BB:CC"), std::string::npos) << m;
    EXPECT_NE(m.find("got " + emu.fingerprint), std::string::npos) << m;
    // The server never saw the request (the token stayed here).
    auto log = sys::read_file(emu.dir + "/data/requests.log").value_or("");
    EXPECT_EQ(log.find("/version"), std::string::npos) << log;
}

TEST_F(ProxmoxClient, UnpinnedSelfSignedRefused) {
    auto c = config();
    c.fingerprint.clear();
    Client cl(c);
    auto v = cl.get("/version", {}, soon());
    ASSERT_FALSE(v);
    EXPECT_NE(v.error().message().find("proxmox.fingerprint or proxmox.ca"), std::string::npos)
        << v.error().message();
}

TEST_F(ProxmoxClient, ParameterErrorsNamed) {
    Client cl(config());
    auto r = cl.post("/nodes/pve/lxc",
                     {{"vmid", "100"}, {"ostemplate", "local:vztmpl/x.tar"}, {"net0", "bogus"}}, soon());
    ASSERT_FALSE(r);
    std::string m = r.error().message();
    EXPECT_NE(m.find("PVE POST /nodes/pve/lxc: 400 Parameter verification failed: net0: "), std::string::npos)
        << m;
}

TEST_F(ProxmoxClient, FailoverToTheNextHost) {
    auto c = config();
    c.hosts = {"127.0.0.2", "127.0.0.1"}; // nothing listens on 127.0.0.2: connection refused
    Client cl(c);
    auto v = cl.get("/version", {}, soon());
    ASSERT_TRUE(v) << v.error().message();
    EXPECT_EQ(cl.requests(), 2u);
    // The good host is kept: one request for the next call, a write too.
    ASSERT_TRUE(cl.get("/version", {}, soon()));
    EXPECT_EQ(cl.requests(), 3u);
    c.hosts = {"127.0.0.2", "127.0.0.3"};
    Client down(c);
    auto d = down.get("/version", {}, soon());
    ASSERT_FALSE(d);
    EXPECT_NE(d.error().message().find("no host of proxmox.hosts answers"), std::string::npos)
        << d.error().message();
}

TEST_F(ProxmoxClient, TicketAuthAndExpiry) {
    auto c = config();
    c.token.clear();
    c.user = "root@pam";
    c.password = "pa55word";
    Client cl(c);
    ASSERT_TRUE(cl.get("/version", {}, soon()));
    // A write needs the CSRF token; an expired ticket is renewed once.
    emu.fault(R"({"expire_tickets":true})");
    auto id = cl.next_id(soon());
    ASSERT_TRUE(id) << id.error().message();
    c.password = "wrong";
    Client bad(c);
    auto b = bad.get("/version", {}, soon());
    ASSERT_FALSE(b);
    EXPECT_EQ(b.error().message().find("wrong"), std::string::npos) << b.error().message();
}

TEST_F(ProxmoxClient, TaskErrorQuotesTheLog) {
    std::string tar = emu.dir + "/t.tar";
    ASSERT_EQ(std::system(("tar -cf " + tar + " -C " + emu.dir + " ready.json").c_str()), 0);
    Client cl(config());
    auto up = cl.upload("local", "vztmpl", "unit-ok.tar", tar, soon());
    ASSERT_TRUE(up) << up.error().message();
    auto t = task_of(*up);
    ASSERT_TRUE(t) << t.error().message();
    ASSERT_TRUE(cl.wait(*t, soon()));
    emu.fault(R"({"task_error":"imgcopy"})");
    auto up2 = cl.upload("local", "vztmpl", "unit-bad.tar", tar, soon());
    ASSERT_TRUE(up2) << up2.error().message();
    auto w = cl.wait(*task_of(*up2), soon());
    ASSERT_FALSE(w);
    EXPECT_NE(w.error().message().find("PVE task imgcopy"), std::string::npos) << w.error().message();
    EXPECT_NE(w.error().message().find("emulated fault"), std::string::npos) << w.error().message();
}

TEST_F(ProxmoxClient, NodeCache) {
    std::string cache = emu.dir + "/cache";
    ASSERT_TRUE(sys::mkdir_p(cache));
    auto c = config();
    Client cl(c, cache);
    ASSERT_TRUE(cl.check_node(soon()));
    EXPECT_EQ(cl.requests(), 1u);
    Client again(c, cache);
    ASSERT_TRUE(again.check_node(soon()));
    EXPECT_EQ(again.requests(), 0u); // from the cache
    c.node = "elsewhere";
    Client other(c, cache);
    auto r = other.check_node(soon());
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("no node \"elsewhere\""), std::string::npos) << r.error().message();
}
