#include "image/auth.hpp"
#include "sys/fs.hpp"
#include "sys/log.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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

namespace {

bool has(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

// No part of a secret (nor its base64) may appear in a message.
void expect_no_secret(const std::string& msg, const std::string& plain) {
    std::string b64 = base64_encode(plain);
    for (const std::string& s : {plain, b64, b64.substr(0, 8), plain.substr(plain.find(':') + 1)})
        EXPECT_FALSE(has(msg, s)) << "message leaks \"" << s << "\": " << msg;
}

} // namespace

// Issue 12 item 8: nlohmann's parse_error text quotes what it read last ("last read: '\"Y2Vv…\" x'").
TEST(Auth, MalformedAuthFileDoesNotLeakCredentials) {
    const std::string plain = "ceo:hunter2-topsecret";
    const std::string b64 = base64_encode(plain);
    for (const std::string& body : {
             R"({"auths":{"r.io":{"auth":")" + b64 + R"(" x}}})", // junk after the secret
             R"({"auths":{"r.io":{"auth":")" + b64,               // unterminated string
             R"({"auths":{"r.io":{"auth":")" + b64 + "\n\"}}}",   // control character inside
             R"({"auths":{"r.io":{"auth":")" + b64 + R"(",}}})",  // trailing comma
             R"({"auths":{"r.io":{"auth":)" + b64 + "}}}",        // unquoted
         }) {
        auto r = credentials_from_json(body, "r.io", "a/b");
        ASSERT_FALSE(r) << body;
        EXPECT_TRUE(has(r.error().message(), "invalid JSON at byte")) << r.error().message();
        expect_no_secret(r.error().message(), plain);
    }
    std::string path = "/tmp/lxcri-auth-bad." + std::to_string(::getpid()) + ".json";
    ASSERT_TRUE(
        lxcri::sys::write_file_atomic(path, R"({"auths":{"r.io":{"auth":")" + b64 + R"(" x}}})", 0600));
    auto r = lookup_credentials(path, "r.io", "a/b");
    ::unlink(path.c_str());
    ASSERT_FALSE(r);
    EXPECT_TRUE(has(r.error().message(), "auth file " + path + ": invalid JSON at byte"))
        << r.error().message();
    expect_no_secret(r.error().message(), plain);
}

TEST(Auth, MalformedTokenResponseDoesNotLeakTheToken) {
    const std::string token = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXRva2Vu.sig";
    for (const std::string& body : {R"({"token":")" + token + R"(" "expires_in":1})", R"({"token":")" + token,
                                    R"({"access_token":)" + token + "}"}) {
        auto r = parse_token_response(body);
        ASSERT_FALSE(r) << body;
        EXPECT_TRUE(has(r.error().message(), "token response: invalid JSON at byte")) << r.error().message();
        EXPECT_FALSE(has(r.error().message(), token.substr(0, 10))) << r.error().message();
    }
}

// Issue 12 item 9: bounded size and nesting for auth files and token answers.
TEST(Auth, OversizedAndDeepDocumentsAreRefused) {
    std::string deep = R"({"token":"t","x":)" + std::string(300, '[') + std::string(300, ']') + "}";
    auto d = parse_token_response(deep);
    ASSERT_FALSE(d);
    EXPECT_TRUE(has(d.error().message(), "nested deeper than 256")) << d.error().message();
    std::string shallow = R"({"token":"t","x":)" + std::string(200, '[') + std::string(200, ']') + "}";
    EXPECT_TRUE(parse_token_response(shallow));
    std::string big = R"({"token":")" + std::string(2 << 20, 'a') + R"("})";
    auto b = parse_token_response(big);
    ASSERT_FALSE(b);
    EXPECT_TRUE(has(b.error().message(), "larger than 1048576 bytes")) << b.error().message();
    auto ab = credentials_from_json(R"({"auths":{},"pad":")" + std::string(2 << 20, 'a') + R"("})", "r", "a");
    ASSERT_FALSE(ab);
    EXPECT_TRUE(has(ab.error().message(), "larger than")) << ab.error().message();
    // A file beyond the bound is not even read whole.
    std::string path = "/tmp/lxcri-auth-big." + std::to_string(::getpid()) + ".json";
    ASSERT_TRUE(lxcri::sys::write_file_atomic(path, std::string(3 << 20, ' ') + "{}", 0600));
    auto f = lookup_credentials(path, "r", "a");
    ::unlink(path.c_str());
    ASSERT_FALSE(f);
    EXPECT_TRUE(has(f.error().message(), "larger than")) << f.error().message();
}

TEST(Auth, WarnsAboutAuthFilesOthersCanReadOrOwn) {
    std::string dir = "/tmp/lxcri-auth-perm." + std::to_string(::getpid());
    ASSERT_TRUE(lxcri::sys::mkdir_p(dir));
    std::string path = dir + "/auth.json", log = dir + "/log";
    ASSERT_TRUE(lxcri::sys::write_file_atomic(path, R"({"auths":{}})", 0644));
    lxcri::log::configure({.file = log});
    auto readable = lookup_credentials(path, "r", "a");
    ASSERT_TRUE(::chmod(path.c_str(), 0600) == 0);
    auto owner_only = lookup_credentials(path, "r", "a");
    std::string after_0600 = lxcri::sys::read_file(log).value_or("");
    ASSERT_EQ(::chown(path.c_str(), 4321, 4321), 0);
    auto foreign = lookup_credentials(path, "r", "a");
    lxcri::log::configure({});
    std::string text = lxcri::sys::read_file(log).value_or("");
    (void)lxcri::sys::remove_all(dir);
    ASSERT_TRUE(readable && owner_only && foreign);
    EXPECT_TRUE(has(after_0600, "auth file " + path + " is accessible by group or others (mode 0644)"))
        << after_0600;
    // The 0600 file owned by us added nothing.
    EXPECT_EQ(std::count(after_0600.begin(), after_0600.end(), '\n'), 1) << after_0600;
    EXPECT_TRUE(has(text, "is owned by uid 4321, not by uid " + std::to_string(::geteuid()))) << text;
}
