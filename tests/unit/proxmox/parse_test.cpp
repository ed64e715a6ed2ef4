// PVE answer parsers: the envelope, PVE's error shapes, UPIDs, task status/log, status/current, resources.
#include "proxmox/client.hpp"
#include "proxmox/parse.hpp"

#include <gtest/gtest.h>

using namespace lxcri;
using namespace lxcri::proxmox;

TEST(ProxmoxParse, Envelope) {
    auto d = parse_response("GET", "/version", {200, "OK", R"({"data":{"version":"9.1.3"}})"});
    ASSERT_TRUE(d);
    EXPECT_EQ((*d)["version"], "9.1.3");
    EXPECT_FALSE(parse_response("GET", "/version", {200, "OK", R"({"nodata":1})"}));
    EXPECT_FALSE(parse_response("GET", "/version", {200, "OK", "not json"}));
    EXPECT_FALSE(parse_response("GET", "/version", {200, "OK", std::string(200, '[')}));
}

TEST(ProxmoxParse, ErrorShapes) {
    auto e = parse_response("POST", "/nodes/pve/lxc",
                            {400, "Parameter verification failed.",
                             R"({"data":null,"errors":{"net0":"invalid format - bad bridge\n"},)"
                             R"("message":"Parameter verification failed.\n"})"});
    ASSERT_FALSE(e);
    EXPECT_EQ(
        e.error().message(),
        "PVE POST /nodes/pve/lxc: 400 Parameter verification failed: net0: invalid format - bad bridge");
    EXPECT_EQ(e.error().kind(), ErrorKind::Invalid);
    auto a = parse_response("GET", "/nodes", {401, "No ticket", ""});
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error().message(), "PVE GET /nodes: 401 No ticket");
    auto x = parse_response(
        "POST", "/nodes/pve/lxc",
        {500, "unable to create CT 100 - CT 100 already exists on node 'pve'", R"({"data":null})"});
    ASSERT_FALSE(x);
    EXPECT_EQ(x.error().kind(), ErrorKind::Exists);
    auto n = parse_response("GET", "/nodes/pve/lxc/123/status/current",
                            {500, "Configuration file 'nodes/pve/lxc/123.conf' does not exist", ""});
    ASSERT_FALSE(n);
    EXPECT_EQ(n.error().kind(), ErrorKind::NotFound);
    // Control characters from the server are cleaned.
    auto c = parse_response("GET", "/x", {500, "", "{\"message\":\"a\\u001b[31mb\"}"});
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().message().find('\x1b'), std::string::npos);
}

TEST(ProxmoxParse, Upid) {
    auto u = parse_upid("UPID:pve:000A1B2C:0001E240:6752A1B0:vzcreate:101:root@pam!lxcri:");
    ASSERT_TRUE(u) << u.error().message();
    EXPECT_EQ(u->node, "pve");
    EXPECT_EQ(u->type, "vzcreate");
    EXPECT_EQ(u->id, "101");
    EXPECT_EQ(u->user, "root@pam!lxcri");
    EXPECT_TRUE(parse_upid("UPID:pve:000A1B2C:10001E240:6752A1B0:vzstart:101:root@pam:"));
    for (const char* bad : {"", "UPID:", "UPID:pve:xyz:1:2:vzstart:1:u:", "UPID:pve:1:2:3:vzstart:1:u",
                            "UPID:p/e:1:2:3:vzstart:1:u:", "PID:pve:1:2:3:t:1:u:"})
        EXPECT_FALSE(parse_upid(bad)) << bad;
    EXPECT_FALSE(task_of(Json(nullptr)));
}

TEST(ProxmoxParse, TaskStatusAndLog) {
    auto r = parse_task_status(Json::parse(R"({"status":"running","upid":"x"})"));
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->running);
    auto s = parse_task_status(Json::parse(R"({"status":"stopped","exitstatus":"OK"})"));
    ASSERT_TRUE(s);
    EXPECT_TRUE(s->ok());
    auto w = parse_task_status(Json::parse(R"({"status":"stopped","exitstatus":"WARNINGS: 2"})"));
    EXPECT_TRUE(w && w->ok());
    auto f = parse_task_status(Json::parse(R"({"status":"stopped","exitstatus":"mount failed"})"));
    ASSERT_TRUE(f);
    EXPECT_FALSE(f->ok());
    EXPECT_EQ(f->exitstatus, "mount failed");
    auto u = parse_task_status(Json::parse(R"({"status":"stopped"})"));
    ASSERT_TRUE(u);
    EXPECT_EQ(u->exitstatus, "unexpected status");
    EXPECT_FALSE(parse_task_status(Json::parse(R"({"status":7})")));
    auto log = parse_task_log(Json::parse(R"([{"n":1,"t":"a"},{"n":2,"t":"TASK ERROR: b"},3])"));
    ASSERT_TRUE(log);
    ASSERT_EQ(log->size(), 2u);
    EXPECT_EQ((*log)[1], "TASK ERROR: b");
}

TEST(ProxmoxParse, CtStatusResourcesVmid) {
    auto c = parse_ct_status(Json::parse(R"({"status":"running","pid":4242,"lock":"create"})"));
    ASSERT_TRUE(c);
    EXPECT_EQ(c->pid, 4242);
    EXPECT_EQ(c->lock, "create");
    auto s = parse_ct_status(Json::parse(R"({"status":"stopped","pid":"17"})"));
    ASSERT_TRUE(s);
    EXPECT_EQ(s->pid, 17);
    EXPECT_FALSE(parse_ct_status(Json::parse("[]")));
    auto r = parse_resources(Json::parse(R"([{"type":"node","node":"pve","status":"online"},
        {"type":"lxc","vmid":101,"node":"pve","status":"running","tags":"lxcri;oci-x"},
        {"type":"qemu","vmid":102},{"type":"lxc","vmid":"bad"}])"));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->size(), 2u);
    EXPECT_EQ((*r)[1].vmid, 101u);
    EXPECT_EQ((*r)[1].tags, "lxcri;oci-x");
    EXPECT_EQ(*parse_vmid(Json("105")), 105u);
    EXPECT_EQ(*parse_vmid(Json(106)), 106u);
    EXPECT_FALSE(parse_vmid(Json("99")));
    EXPECT_FALSE(parse_vmid(Json(-1)));
    EXPECT_FALSE(parse_vmid(Json("1e3")));
}

TEST(ProxmoxParse, FormEncode) {
    EXPECT_EQ(form_encode({{"a", "b c"}, {"net0", "name=eth0,bridge=vmbr0"}, {"x", "é&="}}),
              "a=b%20c&net0=name%3Deth0%2Cbridge%3Dvmbr0&x=%C3%A9%26%3D");
}
