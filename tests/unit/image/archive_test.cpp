// Import/export with archives made by real tools: umoci builds an OCI layout, skopeo turns it into an
// oci-archive and a docker-archive, and skopeo reads what we export.
#include "image/archive.hpp"
#include "image/config.hpp"
#include "image/unpack.hpp"
#include "sys/fs.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <fstream>

using namespace lxcri;
using namespace lxcri::image;

namespace {

const std::string kScript =
    std::string(LXCRI_SOURCE_DIR) + "/tests/unit/image/testdata/make_busybox_layout.sh";

int sh(const std::string& cmd) {
    return std::system((cmd + " >/dev/null 2>&1").c_str());
}

class Archive : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        char tmpl[] = "/tmp/archive-test-XXXXXX";
        dir_ = mkdtemp(tmpl);
        ASSERT_EQ(sh(kScript + " " + dir_ + "/layout v1"), 0);
        ASSERT_EQ(
            sh("skopeo copy oci:" + dir_ + "/layout:v1 oci-archive:" + dir_ + "/oci.tar:localhost/bb:v1"), 0);
        ASSERT_EQ(sh("skopeo copy oci:" + dir_ + "/layout:v1 docker-archive:" + dir_ +
                     "/docker.tar:localhost/bb:v2"),
                  0);
    }
    static void TearDownTestSuite() { (void)sys::remove_all(dir_); }
    void SetUp() override {
        char tmpl[] = "/tmp/archive-store-XXXXXX";
        root_ = mkdtemp(tmpl);
        auto s = Store::open(root_);
        ASSERT_TRUE(s) << s.error().message();
        store_.emplace(std::move(*s));
    }
    void TearDown() override { (void)sys::remove_all(root_); }

    // The image must be complete in the store and unpack to the busybox rootfs (with layer 2's whiteout
    // applied).
    void expect_usable(const std::string& ref) {
        auto img = store_->image(ref);
        ASSERT_TRUE(img) << img.error().message();
        EXPECT_EQ(img->config.diff_ids.size(), 2u);
        EXPECT_EQ(img->config.user, "app");
        ASSERT_EQ(img->manifest.layers.size(), 2u);
        std::string rootfs = root_ + "/rootfs-check";
        ASSERT_TRUE(sys::mkdir_p(rootfs));
        for (auto& l : img->manifest.layers) {
            auto r = unpack_layer(store_->blob_path(l.digest), rootfs, Whiteouts::apply);
            ASSERT_TRUE(r) << r.error().message();
        }
        EXPECT_TRUE(sys::exists(rootfs + "/bin/busybox"));
        EXPECT_EQ(sys::read_file(rootfs + "/etc/layer2").value_or(""), "two\n");
        EXPECT_FALSE(sys::exists(rootfs + "/etc/gone"));
        (void)sys::remove_all(rootfs);
    }

    static std::string dir_;
    std::string root_;
    std::optional<Store> store_;
};
std::string Archive::dir_;

TEST_F(Archive, ImportsOciLayoutDirectoryWithName) {
    // umoci's layout names the image by tag only ("v1"): a NAME is required.
    auto r = import_archive(*store_, dir_ + "/layout");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("give a NAME"), std::string::npos) << r.error().message();
    r = import_archive(*store_, dir_ + "/layout", "localhost/bb:dir");
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(r->size(), 1u);
    EXPECT_EQ((*r)[0].name, "localhost/bb:dir");
    expect_usable("localhost/bb:dir");
}

TEST_F(Archive, ImportsOciArchiveNamedBySkopeo) {
    auto r = import_archive(*store_, dir_ + "/oci.tar");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ((*r)[0].name, "localhost/bb:v1");
    expect_usable("localhost/bb:v1");
    // The scratch directory is gone.
    for (auto& n : sys::list_dir(root_))
        EXPECT_FALSE(n.starts_with("import-")) << n;
}

TEST_F(Archive, ImportsDockerArchive) {
    auto r = import_archive(*store_, dir_ + "/docker.tar");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ((*r)[0].name, "localhost/bb:v2");
    expect_usable("localhost/bb:v2");
    // The same layers as the OCI import: docker-archive layers are the uncompressed tars, so diff_ids match.
    auto img = store_->image("localhost/bb:v2");
    ASSERT_TRUE(img);
    EXPECT_EQ(img->manifest.layers[0].digest, img->config.diff_ids[0]);
}

TEST_F(Archive, ExportReadsBackWithSkopeoAndReimports) {
    ASSERT_TRUE(import_archive(*store_, dir_ + "/oci.tar"));
    std::string out = root_ + "/export.tar";
    auto s = export_archive(*store_, "localhost/bb:v1", out);
    ASSERT_TRUE(s) << s.error().message();
    EXPECT_EQ(sh("skopeo inspect oci-archive:" + out), 0);
    EXPECT_EQ(sh("skopeo copy oci-archive:" + out + " oci:" + root_ + "/skopeo-layout:x"), 0);
    char tmpl[] = "/tmp/archive-store2-XXXXXX";
    std::string root2 = mkdtemp(tmpl);
    auto other = Store::open(root2);
    ASSERT_TRUE(other);
    auto r = import_archive(*other, out);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ((*r)[0].name, "localhost/bb:v1");
    EXPECT_EQ((*r)[0].manifest, store_->find("localhost/bb:v1")->manifest);
    (void)sys::remove_all(root2);
    EXPECT_FALSE(export_archive(*store_, "no-such-image", root_ + "/x.tar"));
    EXPECT_FALSE(sys::exists(root_ + "/x.tar"));
}

TEST_F(Archive, CorruptBlobIsRejectedAndNothingTagged) {
    std::string bad = root_ + "/bad-layout";
    ASSERT_EQ(sh("cp -a " + dir_ + "/layout " + bad), 0);
    auto img_dir = bad + "/blobs/sha256";
    // Flip the largest blob (a layer).
    ASSERT_EQ(sh("f=$(ls -S " + img_dir + " | head -1); chmod u+w " + img_dir +
                 "/$f; printf X | dd of=" + img_dir + "/$f bs=1 seek=100 conv=notrunc"),
              0);
    auto r = import_archive(*store_, bad, "localhost/bad:1");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("import " + bad), std::string::npos) << r.error().message();
    EXPECT_TRUE(store_->list()->empty());
}

TEST_F(Archive, RejectsNonArchivesAndEscapingMembers) {
    std::string f = root_ + "/plain.txt";
    std::ofstream(f) << "not a tar";
    EXPECT_FALSE(import_archive(*store_, f, "x:1"));
    // A docker-archive whose manifest.json names a host file.
    std::string d = root_ + "/evil";
    ASSERT_TRUE(sys::mkdir_p(d));
    std::ofstream(d + "/manifest.json")
        << R"([{"Config":"../../../../etc/passwd","RepoTags":["e:1"],"Layers":[]}])";
    auto r = import_archive(*store_, d);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("invalid path"), std::string::npos) << r.error().message();
    ASSERT_EQ(symlink("/etc/passwd", (d + "/cfg.json").c_str()), 0);
    std::ofstream(d + "/manifest.json", std::ios::trunc)
        << R"([{"Config":"cfg.json","RepoTags":["e:1"],"Layers":[]}])";
    r = import_archive(*store_, d);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("outside the archive"), std::string::npos) << r.error().message();
    EXPECT_TRUE(store_->list()->empty());
}

} // namespace
