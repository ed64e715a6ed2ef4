#include "image/reference.hpp"

#include <gtest/gtest.h>

using namespace lxcri::image;

TEST(Reference, DockerHubDefaults) {
    auto r = parse_reference("busybox");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->registry, "docker.io");
    EXPECT_EQ(r->repository, "library/busybox");
    EXPECT_EQ(r->tag, "latest");
    EXPECT_EQ(r->str(), "docker.io/library/busybox:latest");
    EXPECT_EQ(r->api_host(), "registry-1.docker.io");
    EXPECT_FALSE(r->is_local());
    EXPECT_EQ(parse_reference("user/app:1.0")->str(), "docker.io/user/app:1.0");
    EXPECT_EQ(parse_reference("docker.io/busybox")->str(), "docker.io/library/busybox:latest");
    EXPECT_EQ(parse_reference("index.docker.io/library/debian:bullseye")->str(),
              "docker.io/library/debian:bullseye");
}

TEST(Reference, HostPortAndNestedPath) {
    auto r = parse_reference("127.0.0.1:5000/x/y:tag");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->registry, "127.0.0.1:5000");
    EXPECT_EQ(r->repository, "x/y");
    EXPECT_EQ(r->tag, "tag");
    EXPECT_EQ(r->api_host(), "127.0.0.1:5000");
    EXPECT_TRUE(r->is_local());
    EXPECT_TRUE(parse_reference("localhost/a")->is_local());
    EXPECT_EQ(parse_reference("localhost/a")->registry, "localhost");
    EXPECT_TRUE(parse_reference("[::1]:5000/a")->is_local());
    auto q = parse_reference("quay.io/a/b/c");
    EXPECT_EQ(q->registry, "quay.io");
    EXPECT_EQ(q->repository, "a/b/c");
    EXPECT_FALSE(q->is_local());
}

TEST(Reference, Digests) {
    std::string d = "sha256:" + std::string(64, 'a');
    auto r = parse_reference("alpine@" + d);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->digest, d);
    EXPECT_EQ(r->tag, "");
    EXPECT_EQ(r->manifest_ref(), d);
    EXPECT_EQ(r->str(), "docker.io/library/alpine@" + d);
    auto both = parse_reference("127.0.0.1:5000/a:v1@" + d);
    ASSERT_TRUE(both);
    EXPECT_EQ(both->tag, "v1");
    EXPECT_EQ(both->manifest_ref(), d);
}

TEST(Reference, InvalidInputHasClearErrors) {
    auto up = parse_reference("Busybox");
    ASSERT_FALSE(up);
    EXPECT_NE(up.error().message().find("must be lowercase"), std::string::npos) << up.error().message();
    auto tag = parse_reference("busybox:-bad");
    ASSERT_FALSE(tag);
    EXPECT_NE(tag.error().message().find("invalid tag"), std::string::npos);
    auto dig = parse_reference("busybox@sha256:abc");
    ASSERT_FALSE(dig);
    EXPECT_NE(dig.error().message().find("64 hex"), std::string::npos);
    EXPECT_FALSE(parse_reference(""));
    EXPECT_FALSE(parse_reference("a//b"));
    EXPECT_FALSE(parse_reference("a/b/"));
    EXPECT_FALSE(parse_reference("bad..name"));
    EXPECT_FALSE(parse_reference("host:99999999/a"));
    EXPECT_FALSE(parse_reference("busybox@md5:" + std::string(32, 'a')));
    EXPECT_TRUE(parse_reference("x/a__b-c.d/e---f"));
}

// Credentials may go over plain http only to these: a name that merely starts with "127." is a remote host.
TEST(Reference, LoopbackHosts) {
    for (auto h : {"localhost", "localhost:5000", "127.0.0.1", "127.1.2.3:80", "[::1]", "[::1]:5000"})
        EXPECT_TRUE(is_loopback_host(h)) << h;
    for (auto h : {"127.evil.example", "127.0.0.1.nip.io:5000", "10.0.0.1", "[::2]", "example.com", "",
                   "localhost.example.com", "[::1"})
        EXPECT_FALSE(is_loopback_host(h)) << h;
    EXPECT_FALSE(parse_reference("127.evil.example/a/b")->is_local());
}
