// The proxmox config file: every field checked and named in errors, the secret never in an error.
#include "proxmox/config.hpp"
#include "sys/fs.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cstdlib>
#include <string>

using namespace lxcri;
using proxmox::parse_config;

namespace {

const std::string kSecret = "0b7c4a4e-5f8e-4a1b-9e2d-s3cr3tv4lue";
std::string good(const std::string& extra = "") {
    return R"({"backend":"proxmox","proxmox":{"hosts":["10.0.0.1","pve2.example"],"token":"root@pam!lxcri=)" +
           kSecret + R"(","node":"pve")" + extra + "}}";
}

std::string error_of(const std::string& text) {
    auto r = parse_config(text, "/x/config.json");
    if (r) return "";
    return r.error().message();
}

} // namespace

TEST(ProxmoxConfig, DefaultsAndFields) {
    auto c = parse_config(good(
        R"(,"port":8443,"node_cache_duration":5,"storage":"local-zfs",)"
        R"("template_storage":"local","bridge":"vmbr1","lxcpath":"/tmp/lxc",)"
        R"("fingerprint":"aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99")"));
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_EQ(c->backend, "proxmox");
    EXPECT_EQ(c->hosts.size(), 2u);
    EXPECT_EQ(c->port, 8443);
    EXPECT_EQ(c->node, "pve");
    EXPECT_EQ(c->node_cache_duration, 5u);
    EXPECT_EQ(c->storage, "local-zfs");
    EXPECT_EQ(c->bridge, "vmbr1");
    EXPECT_EQ(c->lxcpath, "/tmp/lxc");
    EXPECT_EQ(c->fingerprint.substr(0, 6), "AA:BB:");
    EXPECT_EQ(c->token_id(), "root@pam!lxcri");
    auto d = parse_config(good());
    ASSERT_TRUE(d);
    EXPECT_EQ(d->port, 8006);
    EXPECT_EQ(d->lxcpath, "/var/lib/lxc");
    EXPECT_EQ(d->node_cache_duration, 60u);
    EXPECT_TRUE(d->on_node);
    auto off = parse_config(good(R"(,"on_node":false)"));
    ASSERT_TRUE(off) << off.error().message();
    EXPECT_FALSE(off->on_node);
    auto t = parse_config(R"({"proxmox":{"hosts":"h","user":"root@pam","password":"pw","node":"n1"}})");
    ASSERT_TRUE(t) << t.error().message();
    EXPECT_EQ(t->principal(), "root@pam");
    // No proxmox section: an lxc-only config.
    auto l = parse_config(R"({"backend":"lxc"})");
    ASSERT_TRUE(l);
    EXPECT_FALSE(l->has_proxmox);
}

TEST(ProxmoxConfig, EveryBadFieldIsNamed) {
    struct Case {
        std::string text, field;
    } cases[] = {
        {R"({"proxmox":{"token":"a@b!c=d","node":"pve"}})", "proxmox.hosts: required"},
        {R"({"proxmox":{"hosts":[],"token":"a@b!c=d","node":"pve"}})", "proxmox.hosts"},
        {R"({"proxmox":{"hosts":[1],"token":"a@b!c=d","node":"pve"}})", "proxmox.hosts[0]"},
        {R"({"proxmox":{"hosts":["a b"],"token":"a@b!c=d","node":"pve"}})", "proxmox.hosts[0]"},
        {R"({"proxmox":{"hosts":["h"],"node":"pve"}})", "proxmox.token: required"},
        {R"({"proxmox":{"hosts":["h"],"token":"a@b!c=d"}})", "proxmox.node: required"},
        {R"({"proxmox":{"hosts":["h"],"token":"a@b!c=d","node":"p v"}})", "proxmox.node"},
        {good(R"(,"port":0)"), "proxmox.port"},
        {good(R"(,"port":70000)"), "proxmox.port"},
        {good(R"(,"port":"8006")"), "proxmox.port"},
        {good(R"(,"node_cache_duration":-1)"), "proxmox.node_cache_duration"},
        {good(R"(,"storage":"")"), "proxmox.storage"},
        {good(R"(,"template_storage":7)"), "proxmox.template_storage"},
        {good(R"(,"bridge":"vm br")"), "proxmox.bridge"},
        {good(R"(,"fingerprint":"AA:BB")"), "proxmox.fingerprint"},
        {good(R"(,"ca":"relative.pem")"), "proxmox.ca"},
        {good(R"(,"ca":"/nonexistent/ca.pem")"), "proxmox.ca"},
        {good(R"(,"lxcpath":"var/lib/lxc")"), "proxmox.lxcpath"},
        {good(R"(,"on_node":"no")"), "proxmox.on_node: expected true or false"},
        {good(R"(,"tokn":"x")"), "proxmox.tokn: unknown field"},
        {good(R"(,"user":"root@pam","password":"x")"), "proxmox.token"},
        {R"({"proxmox":{"hosts":["h"],"user":"root@pam","node":"pve"}})", "proxmox.password"},
        {R"({"proxmox":{"hosts":["h"],"user":"root","password":"x","node":"pve"}})", "proxmox.user"},
        {R"({"backend":"docker"})", "backend"},
        {R"({"backend":"proxmox"})", "proxmox: required"},
        {R"({"proxmox":[]})", "proxmox: expected an object"},
        {R"([1])", "expected a JSON object"},
    };
    for (auto& c : cases) {
        auto e = error_of(c.text);
        EXPECT_NE(e.find(c.field), std::string::npos) << c.text << " -> " << e;
        EXPECT_NE(e.find("config /x/config.json"), std::string::npos) << e;
    }
}

TEST(ProxmoxConfig, SecretNeverInErrors) {
    // Malformed tokens, and JSON broken right after the secret (the parser's own message quotes what it
    // last read): the message names the field or the offset, never the secret.
    std::string cases[] = {
        R"({"proxmox":{"hosts":["h"],"node":"pve","token":"root@pam!lxcri)" + kSecret + R"("}})",
        R"({"proxmox":{"hosts":["h"],"node":"pve","token":"root@pam=)" + kSecret + R"("}})",
        R"({"proxmox":{"hosts":["h"],"node":"pve","token":"root@pam!x=)" + kSecret + R"( y"}})",
        R"({"proxmox":{"hosts":["h"],"node":"pve","token":"root@pam!x=)" + kSecret + R"(\n"}})",
        R"({"proxmox":{"hosts":["h"],"node":"pve","token":"root@pam!x=)" + kSecret + R"(" "}})",
        R"({"proxmox":{"hosts":["h"],"node":"pve","token":root@pam!x=)" + kSecret + R"(}})",
        R"({"proxmox":{"hosts":["h"],"node":"pve","user":"root@pam","password":")" + kSecret + R"(",bad}})",
    };
    for (auto& t : cases) {
        auto e = error_of(t);
        EXPECT_FALSE(e.empty()) << t;
        EXPECT_EQ(e.find("s3cr3tv4lue"), std::string::npos) << e;
    }
    EXPECT_NE(error_of(cases[0]).find("proxmox.token"), std::string::npos);
}

TEST(ProxmoxConfig, BoundedInput) {
    std::string deep(100, '[');
    EXPECT_FALSE(parse_config(deep + std::string(100, ']')));
    std::string dir = ::testing::TempDir() + "/pvecfg";
    ASSERT_TRUE(sys::mkdir_p(dir));
    std::string big = dir + "/big.json";
    ASSERT_TRUE(sys::write_file_atomic(big, std::string(proxmox::kMaxConfigBytes + 10, ' '), 0600));
    auto r = proxmox::load_config(big);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("larger than"), std::string::npos) << r.error().message();
}

TEST(ProxmoxConfig, LookupOrder) {
    std::string dir = ::testing::TempDir() + "/pvecfg-lookup";
    ASSERT_TRUE(sys::mkdir_p(dir));
    std::string f = dir + "/c.json";
    ASSERT_TRUE(sys::write_file_atomic(f, good(), 0600));
    ::chmod(f.c_str(), 0600);
    ::setenv(proxmox::kConfigEnv, f.c_str(), 1);
    auto p = proxmox::find_config();
    ASSERT_TRUE(p && *p);
    EXPECT_EQ(**p, f);
    auto c = proxmox::load_default();
    ASSERT_TRUE(c && *c) << (c ? "" : c.error().message());
    EXPECT_EQ((*c)->path, f);
    ::setenv(proxmox::kConfigEnv, (dir + "/missing.json").c_str(), 1);
    auto m = proxmox::find_config();
    ASSERT_FALSE(m);
    EXPECT_NE(m.error().message().find("PROXMOX_LXCRI_CONFIG"), std::string::npos);
    ::unsetenv(proxmox::kConfigEnv);
}
