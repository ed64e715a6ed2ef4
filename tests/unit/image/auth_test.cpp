#include "image/auth.hpp"
#include "sys/fs.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

using namespace lxcri::image;

TEST(Auth, ParseChallenges) {
    auto c = parse_challenges(
        R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/a:pull,push")");
    ASSERT_TRUE(c) << c.error().message();
    ASSERT_EQ(c->size(), 1u);
    EXPECT_EQ((*c)[0].scheme, "bearer");
    EXPECT_EQ((*c)[0].params.at("realm"), "https://auth.docker.io/token");
    EXPECT_EQ((*c)[0].params.at("service"), "registry.docker.io");
    EXPECT_EQ((*c)[0].params.at("scope"), "repository:library/a:pull,push");
    auto two = parse_challenges(R"(Basic realm="r", Bearer realm=http://x/t, error="invalid_token")");
    ASSERT_TRUE(two) << two.error().message();
    ASSERT_EQ(two->size(), 2u);
    EXPECT_EQ((*two)[0].scheme, "basic");
    EXPECT_EQ((*two)[1].params.at("realm"), "http://x/t");
    EXPECT_EQ((*two)[1].params.at("error"), "invalid_token");
    EXPECT_FALSE(parse_challenges(""));
    EXPECT_FALSE(parse_challenges(R"(Bearer realm="unterminated)"));
    EXPECT_FALSE(parse_challenges("realm=x"));
}

TEST(Auth, Base64) {
    EXPECT_EQ(base64_encode("user:pass"), "dXNlcjpwYXNz");
    EXPECT_EQ(base64_encode("a"), "YQ==");
    EXPECT_EQ(base64_encode("ab"), "YWI=");
    for (std::string s : {"", "a", "ab", "abc", "hello world!\xff\x01"})
        EXPECT_EQ(*base64_decode(base64_encode(s)), s);
    EXPECT_FALSE(base64_decode("a*b"));
}

TEST(Auth, CredentialsFromAuthJson) {
    std::string j = R"({"auths":{
        "127.0.0.1:5000":{"auth":")" +
                    base64_encode("u1:p1") + R"("},
        "quay.io/team/app":{"auth":")" +
                    base64_encode("u2:p:2") + R"("},
        "https://index.docker.io/v1/":{"auth":")" +
                    base64_encode("hub:pw") + R"("}}})";
    auto a = credentials_from_json(j, "127.0.0.1:5000", "x/y");
    ASSERT_TRUE(a && *a);
    EXPECT_EQ((*a)->username, "u1");
    EXPECT_EQ((*a)->password, "p1");
    auto q = credentials_from_json(j, "quay.io", "team/app/sub");
    ASSERT_TRUE(q && *q);
    EXPECT_EQ((*q)->password, "p:2");
    EXPECT_FALSE(*credentials_from_json(j, "quay.io", "other/app"));
    auto hub = credentials_from_json(j, "docker.io", "library/busybox");
    ASSERT_TRUE(hub && *hub);
    EXPECT_EQ((*hub)->username, "hub");
    EXPECT_FALSE(credentials_from_json(R"({"auths":{"h":{"auth":"bm9jb2xvbg=="}}})", "h", "r"));
}

TEST(Auth, LookupUsesRegistryAuthFileEnv) {
    std::string path = "/tmp/lxcri-auth-test." + std::to_string(::getpid()) + ".json";
    ASSERT_TRUE(lxcri::sys::write_file_atomic(path, R"({"auths":{"example.com":{"auth":")" +
                                                        base64_encode("me:secret") + R"("}}})"));
    ::setenv("REGISTRY_AUTH_FILE", path.c_str(), 1);
    EXPECT_EQ(auth_file_candidates().front(), path);
    auto c = lookup_credentials("", "example.com", "a/b");
    ::unsetenv("REGISTRY_AUTH_FILE");
    ASSERT_TRUE(c && *c) << (c ? "none" : c.error().message());
    EXPECT_EQ((*c)->password, "secret");
    auto explicit_file = lookup_credentials(path, "other.com", "a");
    ASSERT_TRUE(explicit_file);
    EXPECT_FALSE(*explicit_file);
    ::unlink(path.c_str());
    EXPECT_FALSE(lookup_credentials(path, "example.com", "a"));
}

TEST(Auth, TokenResponse) {
    EXPECT_EQ(parse_token_response(R"({"token":"abc","expires_in":300})")->value, "abc");
    EXPECT_EQ(parse_token_response(R"({"token":"abc","expires_in":300})")->expires_in, 300);
    EXPECT_EQ(parse_token_response(R"({"access_token":"xyz"})")->value, "xyz");
    EXPECT_FALSE(parse_token_response(R"({"expires_in":3})"));
    EXPECT_FALSE(parse_token_response("[]"));
}
