#include "image/config.hpp"
#include "sys/fs.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>

using namespace lxcri;
using namespace lxcri::image;

namespace {

Digest dg(char c) {
    return Digest{"sha256", std::string(64, c)};
}

TEST(ChainIds, FollowTheImageSpec) {
    auto ids = chain_ids({dg('a'), dg('b'), dg('c')});
    ASSERT_EQ(ids.size(), 3u);
    EXPECT_EQ(ids[0], dg('a'));
    EXPECT_EQ(ids[1], sha256_of(dg('a').str() + " " + dg('b').str()));
    EXPECT_EQ(ids[2], sha256_of(ids[1].str() + " " + dg('c').str()));
    // Known value: sha256("sha256:aaa… sha256:bbb…") computed independently with sha256sum.
    std::string cmd = "printf 'sha256:" + dg('a').hex + " sha256:" + dg('b').hex + "' | sha256sum";
    FILE* p = popen(cmd.c_str(), "r");
    char buf[65] = {};
    ASSERT_EQ(fread(buf, 1, 64, p), 64u);
    pclose(p);
    EXPECT_EQ(ids[1].hex, buf);
    EXPECT_TRUE(chain_ids({}).empty());
}

class User : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/user-test-XXXXXX";
        root_ = mkdtemp(tmpl);
        ASSERT_TRUE(sys::mkdir_p(root_ + "/etc"));
        std::ofstream(root_ + "/etc/passwd") << "root:x:0:0:root:/root:/bin/sh\n"
                                                "# comment\n"
                                                "www:x:33:33:www-data:/var/www:/usr/sbin/nologin\n"
                                                "app:x:1000:1000::/home/app:/bin/sh\n";
        std::ofstream(root_ + "/etc/group") << "root:x:0:\nwww:x:33:\napp:x:1000:\n"
                                               "audio:x:29:app,www\nvideo:x:44:www\n";
    }
    void TearDown() override { (void)sys::remove_all(root_); }
    std::string root_;
};

TEST_F(User, ResolvesNamesAndNumbers) {
    auto r = resolve_user("", root_);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->uid, 0u);
    EXPECT_EQ(r->home, "/root");
    r = resolve_user("app", root_);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->uid, 1000u);
    EXPECT_EQ(r->gid, 1000u);
    EXPECT_EQ(r->additional_gids, std::vector<uint32_t>{29});
    EXPECT_EQ(r->home, "/home/app");
    r = resolve_user("33", root_);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->gid, 33u);
    EXPECT_EQ(r->additional_gids, (std::vector<uint32_t>{29, 44}));
    r = resolve_user("www:video", root_);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->uid, 33u);
    EXPECT_EQ(r->gid, 44u);
    r = resolve_user("4242:77", root_);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->uid, 4242u);
    EXPECT_EQ(r->gid, 77u);
    EXPECT_TRUE(r->home.empty());
    r = resolve_user("4242", root_);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->gid, 0u);
}

TEST_F(User, UnknownNamesFail) {
    auto r = resolve_user("nobody", root_);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "resolve user \"nobody\": no user \"nobody\" in the image's /etc/passwd");
    r = resolve_user("app:nogroup", root_);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("no group \"nogroup\""), std::string::npos);
}

TEST_F(User, PasswdSymlinkCannotReadHostFiles) {
    // The image's /etc/passwd points at the host's: it must be resolved inside the rootfs (where it is
    // missing).
    std::string host = root_ + "-host-passwd";
    std::ofstream(host) << "root:x:0:0:root:/root:/bin/sh\n";
    ASSERT_EQ(unlink((root_ + "/etc/passwd").c_str()), 0);
    ASSERT_EQ(symlink(host.c_str(), (root_ + "/etc/passwd").c_str()), 0);
    auto r = resolve_user("root", root_); // the host file has root; the image has no such file
    unlink(host.c_str());
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("no user \"root\""), std::string::npos);
    ASSERT_EQ(unlink((root_ + "/etc/passwd").c_str()), 0);
    ASSERT_EQ(symlink("../../../../../../../../../../etc/passwd", (root_ + "/etc/passwd").c_str()), 0);
    EXPECT_FALSE(
        resolve_user("root", root_)); // resolves to itself inside the root: a loop, not the host file
}

} // namespace
