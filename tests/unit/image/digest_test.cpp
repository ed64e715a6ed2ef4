#include "image/digest.hpp"
#include "sys/fs.hpp"

#include <gtest/gtest.h>

using namespace lxcri::image;

TEST(Digest, ParseAndFormat) {
    std::string hex(64, '0');
    auto d = parse_digest("sha256:" + hex);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->str(), "sha256:" + hex);
    EXPECT_EQ(d->short_hex(), std::string(12, '0'));
    EXPECT_FALSE(parse_digest(hex));
    EXPECT_FALSE(parse_digest("sha256:" + std::string(64, 'A')));
    EXPECT_FALSE(parse_digest("sha512:" + std::string(128, 'a')));
    EXPECT_FALSE(parse_digest("sha256:" + std::string(63, 'a')));
}

TEST(Digest, KnownVectorsAndStreaming) {
    EXPECT_EQ(sha256_of("abc").hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(sha256_of("").hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    Sha256 h;
    h.update("a");
    h.update("bc");
    EXPECT_EQ(h.finish(), sha256_of("abc"));
    h.update("abc"); // reset after finish
    EXPECT_EQ(h.finish(), sha256_of("abc"));
}

TEST(Digest, File) {
    std::string path = "/tmp/lxcri-digest-test." + std::to_string(::getpid());
    std::string data(300000, 'x');
    ASSERT_TRUE(lxcri::sys::write_file_atomic(path, data));
    auto d = sha256_file(path);
    ::unlink(path.c_str());
    ASSERT_TRUE(d);
    EXPECT_EQ(*d, sha256_of(data));
    EXPECT_FALSE(sha256_file(path));
}
