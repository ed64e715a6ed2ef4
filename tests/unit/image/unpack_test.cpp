// Real tars made by Python's tarfile, unpacked into temp dirs; malicious ones must not write outside the
// root.
#include "image/unpack.hpp"
#include "sys/fs.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

using namespace lxcri;
using namespace lxcri::image;

namespace {

const char* kPrelude = R"PY(
import tarfile, io, sys
t = tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT)
def add(name, type, data=b'', mode=0o644, uid=0, gid=0, mtime=1000000000, link='', pax=None, major=0, minor=0):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.uid, ti.gid, ti.mtime, ti.linkname = type, mode, uid, gid, mtime, link
    ti.devmajor, ti.devminor = major, minor
    if pax: ti.pax_headers = pax
    ti.size = len(data) if type == tarfile.REGTYPE else 0
    t.addfile(ti, io.BytesIO(data) if type == tarfile.REGTYPE else None)
def f(name, data=b'', **kw): add(name, tarfile.REGTYPE, data, **kw)
def d(name, mode=0o755, **kw): add(name, tarfile.DIRTYPE, mode=mode, **kw)
def l(name, target): add(name, tarfile.SYMTYPE, mode=0o777, link=target)
def h(name, target): add(name, tarfile.LNKTYPE, link=target)
)PY";

class Unpack : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/unpack-test-XXXXXX";
        base_ = mkdtemp(tmpl);
        root_ = base_ + "/root";
        outside_ = base_ + "/outside";
        ASSERT_TRUE(sys::mkdir_p(root_));
        ASSERT_TRUE(sys::mkdir_p(outside_));
    }
    void TearDown() override { (void)sys::remove_all(base_); }

    // Writes a tar from Python statements; compress: "", "gzip" or "zstd".
    std::string tar(const std::string& body, const std::string& compress = "") {
        std::string py = base_ + "/gen.py", out = base_ + "/layer" + std::to_string(n_++) + ".tar";
        std::ofstream(py) << kPrelude << body << "\nt.close()\n";
        EXPECT_EQ(std::system(("python3 " + py + " " + out).c_str()), 0);
        std::string cmd = compress == "gzip"   ? "gzip -n " + out + " && mv " + out + ".gz " + out
                          : compress == "zstd" ? "zstd -q --rm " + out + " && mv " + out + ".zst " + out
                                               : "true";
        EXPECT_EQ(std::system(cmd.c_str()), 0);
        return out;
    }
    std::string read(const std::string& rel) {
        return sys::read_file(root_ + "/" + rel).value_or("<missing>");
    }
    struct stat lst(const std::string& rel) {
        struct stat st {};
        EXPECT_EQ(lstat((root_ + "/" + rel).c_str(), &st), 0) << rel;
        return st;
    }
    bool present(const std::string& rel) {
        struct stat st {};
        return lstat((root_ + "/" + rel).c_str(), &st) == 0;
    }

    std::string base_, root_, outside_;
    int n_ = 0;
};

const char* kAllTypes = R"PY(
d('etc', mtime=123456789)
f('etc/passwd', b'root:x:0:0::/root:/bin/sh\n', mode=0o644)
f('bin/tool', b'#!/bin/sh\n', mode=0o4755, uid=1234, gid=5678, mtime=1500000000)
l('bin/sh', '/bin/busybox')
h('bin/tool2', 'bin/tool')
add('dev/null', tarfile.CHRTYPE, mode=0o666, major=1, minor=3)
add('dev/loop0', tarfile.BLKTYPE, mode=0o660, major=7, minor=0)
add('run/fifo', tarfile.FIFOTYPE, mode=0o600)
f('attr', b'x', pax={'SCHILY.xattr.user.test': 'hello', 'SCHILY.xattr.trusted.overlay.opaque': 'y'})
)PY";

class UnpackCompressed : public Unpack, public ::testing::WithParamInterface<const char*> {};

TEST_P(UnpackCompressed, AllEntryTypesWithMetadata) {
    std::string layer = tar(kAllTypes, GetParam());
    auto comp = detect_compression_file(layer);
    ASSERT_TRUE(comp);
    EXPECT_STREQ(compression_name(*comp), std::string(GetParam()).empty() ? "none" : GetParam());
    auto r = unpack_layer(layer, root_, Whiteouts::apply);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->entries, 9u);
    EXPECT_EQ(read("etc/passwd"), "root:x:0:0::/root:/bin/sh\n");
    auto tool = lst("bin/tool");
    EXPECT_EQ(tool.st_mode & 07777, 04755u);
    EXPECT_EQ(tool.st_uid, 1234u);
    EXPECT_EQ(tool.st_gid, 5678u);
    EXPECT_EQ(tool.st_mtime, 1500000000);
    EXPECT_EQ(tool.st_nlink, 2u);
    EXPECT_EQ(lst("bin/tool2").st_ino, tool.st_ino);
    EXPECT_TRUE(S_ISLNK(lst("bin/sh").st_mode));
    char buf[64] = {};
    ASSERT_GT(readlink((root_ + "/bin/sh").c_str(), buf, sizeof buf - 1), 0);
    EXPECT_STREQ(buf, "/bin/busybox");
    auto null = lst("dev/null");
    EXPECT_TRUE(S_ISCHR(null.st_mode));
    EXPECT_EQ(null.st_rdev, makedev(1, 3));
    EXPECT_EQ(null.st_mode & 0777, 0666u);
    EXPECT_TRUE(S_ISBLK(lst("dev/loop0").st_mode));
    EXPECT_TRUE(S_ISFIFO(lst("run/fifo").st_mode));
    EXPECT_EQ(lst("etc").st_mtime, 123456789);
    char val[16] = {};
    EXPECT_EQ(lgetxattr((root_ + "/attr").c_str(), "user.test", val, sizeof val), 5);
    EXPECT_STREQ(val, "hello");
    // A layer cannot forge overlay metadata.
    EXPECT_LT(lgetxattr((root_ + "/attr").c_str(), "trusted.overlay.opaque", val, sizeof val), 0);
}

INSTANTIATE_TEST_SUITE_P(Compression, UnpackCompressed, ::testing::Values("", "gzip", "zstd"));

TEST_F(Unpack, DetectsCompressionByMagicNotName) {
    unsigned char gz[] = {0x1f, 0x8b, 0x08, 0};
    unsigned char zs[] = {0x28, 0xb5, 0x2f, 0xfd};
    unsigned char ustar[] = {'e', 't', 'c', '/'};
    EXPECT_EQ(detect_compression(gz), Compression::Gzip);
    EXPECT_EQ(detect_compression(zs), Compression::Zstd);
    EXPECT_EQ(detect_compression(ustar), Compression::None);
    EXPECT_EQ(detect_compression(std::span<const unsigned char>()), Compression::None);
}

const char* kLower = R"PY(
f('keep', b'k')
f('gone', b'g')
d('dir')
f('dir/old1', b'1')
d('dir/sub')
f('dir/sub/old2', b'2')
d('other')
f('other/x', b'x')
)PY";

const char* kUpper = R"PY(
f('.wh.gone')
d('dir')
f('dir/.wh..wh..opq')
f('dir/new', b'n')
f('other/.wh.x')
f('fresh', b'f')
f('.wh.fresh')
f('.wh.never-existed')
)PY";

TEST_F(Unpack, ApplyWhiteoutsOntoLowerLayer) {
    ASSERT_TRUE(unpack_layer(tar(kLower), root_, Whiteouts::apply));
    auto r = unpack_layer(tar(kUpper), root_, Whiteouts::apply);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(read("keep"), "k");
    EXPECT_FALSE(present("gone"));
    EXPECT_FALSE(present("dir/old1"));
    EXPECT_FALSE(present("dir/sub"));
    EXPECT_EQ(read("dir/new"), "n");
    EXPECT_TRUE(present("other"));
    EXPECT_FALSE(present("other/x"));
    // A whiteout hides lower layers only, never an entry of its own layer.
    EXPECT_EQ(read("fresh"), "f");
    EXPECT_FALSE(present(".wh.gone"));
    EXPECT_FALSE(present("dir/.wh..wh..opq"));
}

TEST_F(Unpack, OverlayWhiteoutsAreCharDevicesAndOpaqueXattr) {
    auto r = unpack_layer(tar(kUpper), root_, Whiteouts::overlay);
    ASSERT_TRUE(r) << r.error().message();
    auto gone = lst("gone");
    EXPECT_TRUE(S_ISCHR(gone.st_mode));
    EXPECT_EQ(gone.st_rdev, makedev(0, 0));
    EXPECT_TRUE(S_ISCHR(lst("other/x").st_mode));
    char v[4] = {};
    EXPECT_EQ(lgetxattr((root_ + "/dir").c_str(), "trusted.overlay.opaque", v, sizeof v), 1);
    EXPECT_EQ(v[0], 'y');
    EXPECT_EQ(read("dir/new"), "n");
    EXPECT_EQ(read("fresh"), "f");
    EXPECT_FALSE(present("dir/.wh..wh..opq"));
}

// Issue 12 item 10: absolute names land under the root and ".." is clamped at it (containerd's way); nothing
// is ever written outside, and `outside` stays untouched.
TEST_F(Unpack, AbsoluteAndDotDotNamesAreClampedToTheRoot) {
    struct Case {
        std::string body;
        std::string lands; // relative to the root
    };
    std::vector<Case> cases = {
        {"f('../outside/pwned', b'x')", "outside/pwned"},
        {"f('a/../../outside/pwned', b'x')", "outside/pwned"},
        {"f('/abs/pwned', b'x')", "abs/pwned"},
        {"f('/../../../../abs2/pwned', b'x')", "abs2/pwned"},
        {"f('ok', b'x')\nf('outside/victim', b'in')\nh('lnk', '../outside/victim')", "lnk"},
        {"f('etc/passwd', b'p')\nh('lnk', '/etc/passwd')", "lnk"},
        {"f('etc/passwd', b'p')\nh('lnk2', '/../../etc/passwd')", "lnk2"},
        {"d('/', mode=0o755)\nd('/usr')\nf('/usr/bin-file', b'u')", "usr/bin-file"}, // umoci insert
    };
    for (auto& c : cases) {
        auto r = unpack_layer(tar(c.body), root_, Whiteouts::apply);
        ASSERT_TRUE(r) << c.body << ": " << r.error().message();
        EXPECT_TRUE(present(c.lands)) << c.body;
        EXPECT_TRUE(sys::list_dir(outside_).empty()) << c.body;
        EXPECT_FALSE(present("../abs")) << c.body;
    }
    EXPECT_EQ(read("lnk2"), "p");
    // A hardlink whose clamped target does not exist inside the root still fails.
    auto missing = unpack_layer(tar("h('x', '../../no/such')"), root_, Whiteouts::apply);
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message().find("entry \"x\""), std::string::npos) << missing.error().message();
    EXPECT_TRUE(sys::list_dir(outside_).empty());
}

// A symlink pointing out of the root, then entries through it: they land inside.
TEST_F(Unpack, EntriesThroughEscapingSymlinksStayInside) {
    std::string o = outside_;
    std::string body = "d('" + o.substr(1) + "')\nl('esc', '../../../../" + o.substr(1) + "')\nl('abs', '" +
                       o +
                       "')\nf('esc/through-rel', b'r')\nf('abs/through-abs', b'a')\n"
                       "f('/abs/../esc/dotdot', b'd')\nh('hl', 'esc/through-rel')";
    for (Whiteouts mode : {Whiteouts::apply, Whiteouts::overlay}) {
        auto r = unpack_layer(tar(body), root_, mode);
        ASSERT_TRUE(r) << r.error().message();
        EXPECT_TRUE(sys::list_dir(outside_).empty());
        EXPECT_EQ(read(o.substr(1) + "/through-rel"), "r");
        EXPECT_EQ(read(o.substr(1) + "/through-abs"), "a");
        EXPECT_EQ(read(o.substr(1) + "/dotdot"), "d");
        EXPECT_EQ(read("hl"), "r");
        (void)sys::remove_all(root_);
        ASSERT_TRUE(sys::mkdir_p(root_));
    }
}

// Issue 12 item 10: the uncompressed stream is hashed while unpacked and checked against the DiffID.
TEST_F(Unpack, DiffIdOfTheUncompressedStreamIsVerified) {
    for (std::string comp : {"", "gzip", "zstd"}) {
        std::string plain = tar(kLower);
        Digest want = *sha256_file(plain);
        std::string layer = plain;
        if (!comp.empty()) {
            layer = base_ + "/c" + std::to_string(n_++);
            std::string cmd =
                comp == "gzip" ? "gzip -nc " + plain + " > " + layer : "zstd -qc " + plain + " > " + layer;
            ASSERT_EQ(std::system(cmd.c_str()), 0);
        }
        auto r = unpack_layer(layer, root_, Whiteouts::overlay, &want);
        ASSERT_TRUE(r) << comp << ": " << r.error().message();
        EXPECT_EQ(r->diff_id, want) << comp;
        EXPECT_EQ(r->stream_bytes, sys::read_file(plain)->size()) << comp;
        Digest wrong = sha256_of("something else");
        auto bad = unpack_layer(layer, root_, Whiteouts::overlay, &wrong);
        ASSERT_FALSE(bad) << comp;
        EXPECT_NE(bad.error().message().find("does not match the image config"), std::string::npos)
            << bad.error().message();
        EXPECT_NE(bad.error().message().find(want.str()), std::string::npos) << bad.error().message();
        (void)sys::remove_all(root_);
        ASSERT_TRUE(sys::mkdir_p(root_));
    }
    // Bytes after the tar's end marker are part of the stream, and so of the digest.
    std::string plain = tar(kLower);
    std::string padded = base_ + "/padded.tar";
    ASSERT_TRUE(sys::write_file_atomic(padded, *sys::read_file(plain) + std::string(4096, '\0')));
    Digest of_plain = *sha256_file(plain), of_padded = *sha256_file(padded);
    EXPECT_FALSE(unpack_layer(padded, root_, Whiteouts::apply, &of_plain));
    auto p = unpack_layer(padded, root_, Whiteouts::apply, &of_padded);
    ASSERT_TRUE(p) << p.error().message();
    // The in-memory entry point agrees.
    std::string data = *sys::read_file(padded);
    auto m = unpack_layer_memory(data, root_, Whiteouts::apply, &of_padded);
    ASSERT_TRUE(m) << m.error().message();
    EXPECT_EQ(m->diff_id, of_padded);
}

TEST_F(Unpack, SymlinksAreResolvedInsideTheRoot) {
    std::ofstream(outside_ + "/victim") << "secret";
    std::string o = outside_;
    struct Case {
        std::string body;
        bool succeeds;
        std::string lands; // where the file must end up, relative to the root
    };
    std::vector<Case> cases = {
        {"d('" + o.substr(1) + "')\nl('abs', '" + o + "')\nf('abs/pwned', b'x')", true,
         o.substr(1) + "/pwned"},
        {"l('up', '..')\nf('up/pwned', b'x')", true, "pwned"},
        {"l('rel', '../../../../../../..' + '" + o + "')\nf('rel/pwned', b'x')", false, ""},
        {"l('abs', '" + o + "')\nh('hl', 'abs/victim')", false, ""},
        {"l('abs', '" + o + "/victim')\nh('hl', 'abs')\nf('hl', b'overwritten')", true, "hl"},
    };
    for (auto& c : cases) {
        for (Whiteouts mode : {Whiteouts::apply, Whiteouts::overlay}) {
            auto r = unpack_layer(tar(c.body), root_, mode);
            EXPECT_EQ(r.has_value(), c.succeeds) << c.body << (r ? "" : ": " + r.error().message());
            EXPECT_EQ(sys::list_dir(outside_), std::vector<std::string>{"victim"}) << c.body;
            EXPECT_EQ(sys::read_file(outside_ + "/victim").value_or(""), "secret") << c.body;
            struct stat st {};
            ASSERT_EQ(stat((outside_ + "/victim").c_str(), &st), 0);
            EXPECT_EQ(st.st_nlink, 1u);
            if (c.succeeds) {
                EXPECT_TRUE(present(c.lands)) << c.body;
            }
            (void)sys::remove_all(root_);
            ASSERT_TRUE(sys::mkdir_p(root_));
        }
    }
}

TEST_F(Unpack, EntryReplacingASymlinkDoesNotFollowIt) {
    std::ofstream(outside_ + "/victim") << "secret";
    std::string body = "l('x', '" + outside_ + "/victim')\nf('x', b'new')\n";
    auto r = unpack_layer(tar(body), root_, Whiteouts::apply);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(read("x"), "new");
    EXPECT_EQ(sys::read_file(outside_ + "/victim").value_or(""), "secret");
}

TEST_F(Unpack, WhiteoutThroughSymlinkStaysInside) {
    std::ofstream(outside_ + "/victim") << "secret";
    ASSERT_TRUE(unpack_layer(tar("l('d', '" + outside_ + "')"), root_, Whiteouts::apply));
    auto r = unpack_layer(tar("f('d/.wh.victim')\nf('d/.wh..wh..opq')"), root_, Whiteouts::apply);
    EXPECT_TRUE(r) << r.error().message();
    EXPECT_EQ(sys::read_file(outside_ + "/victim").value_or(""), "secret");
}

TEST_F(Unpack, CorruptAndMissingLayersFail) {
    std::string bad = base_ + "/bad.tar.gz";
    std::ofstream(bad) << "\x1f\x8b\x08\x00garbage-garbage-garbage";
    auto r = unpack_layer(bad, root_, Whiteouts::apply);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("unpack " + bad), std::string::npos);
    EXPECT_FALSE(unpack_layer(base_ + "/missing", root_, Whiteouts::apply));
    // Truncated gzip.
    std::string good = tar(kLower, "gzip");
    auto text = sys::read_file(good).value();
    std::ofstream(bad, std::ios::trunc) << text.substr(0, text.size() / 2);
    EXPECT_FALSE(unpack_layer(bad, root_ + "", Whiteouts::apply));
}

} // namespace

namespace {

// Found by fuzz/image_layer_fuzz: a gzip stream on which libarchive fails without an error message
// (archive_error_string() NULL) made the error text a strlen(NULL).
TEST_F(Unpack, ArchiveErrorWithoutMessageIsAnErrorNotACrash) {
    std::string b64 = "H4sIAAAAAAACA+3XXYqDMBQF4DzPKiyzAHM1NwF3Y6tFGdFi7M/"
                      "ym2pfKrRQhqQWzycY9aWUwz3GctjFwjPpGOZxdebrdG1SpVnx9FyzTkT"
                      "EIoCjHfLe/aRYp9Llf8itPRd+89dKPc8/TR7zJ3cmEUnk713fdUN2yaQ7sni8ibd1G9vqR8AK3MJeYv+z/"
                      "4z9X6j822PTLGz+Dbn9f/pN"
                      "Lfnv630XYv7fe/9rzSQijfkHAAAAAAAAAAD4l9Krw0QHACgAAA==";
    std::string path = base_ + "/crash.b64";
    ASSERT_TRUE(sys::write_file_atomic(path, b64));
    ASSERT_EQ(std::system(("base64 -d " + path + " > " + base_ + "/crash.gz").c_str()), 0);
    std::string data = *sys::read_file(base_ + "/crash.gz");
    auto r = unpack_layer_memory(data, root_, Whiteouts::apply);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("unpack layer"), std::string::npos) << r.error().message();
    EXPECT_FALSE(unpack_layer(base_ + "/crash.gz", root_, Whiteouts::overlay));
}

} // namespace

namespace {

// `umoci insert` (umoci 0.4.7) writes layers that end right after the last entry's data: no padding, no
// end-of-archive blocks. They unpack, and their DiffID is that of the bytes as they are; an entry cut off
// further than the missing padding is still an error.
TEST_F(Unpack, LayerWithoutPaddingOrEndBlocksAsUmociWritesIt) {
    std::string full = tar("d('/')\nf('umoci-was-here', b'hi\\n')");
    std::string text = *sys::read_file(full);
    std::string cut = text.substr(0, 1024 + 3); // two headers and the data, nothing after
    std::string layer = base_ + "/umoci.tar";
    ASSERT_TRUE(sys::write_file_atomic(layer, cut));
    Digest id = sha256_of(cut);
    auto r = unpack_layer(layer, root_, Whiteouts::overlay, &id);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(read("umoci-was-here"), "hi\n");
    EXPECT_EQ(r->stream_bytes, cut.size());
    std::string big = tar("f('big', b'x' * 5000)");
    std::string btext = *sys::read_file(big);
    ASSERT_TRUE(sys::write_file_atomic(layer, btext.substr(0, 512 + 1000)));
    auto t = unpack_layer(layer, root_, Whiteouts::apply);
    ASSERT_FALSE(t);
    EXPECT_NE(t.error().message().find("entry \"big\""), std::string::npos) << t.error().message();
}

} // namespace
