// Shared overlay layers from image layers (issue 12 item 10): a layer whose content does not hash to its
// DiffID never becomes a shared layer directory, and `image gc`'s storage half removes the layers nothing
// uses. Real overlay driver, real tars.
#include "image/config.hpp"
#include "image/unpack.hpp"
#include "storage/driver.hpp"
#include "storage/layers_gc.hpp"
#include "sys/fs.hpp"

#include "fixture.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include <unistd.h>

using namespace lxcri;
using namespace lxcri::image;
using namespace lxcri::image::test;

namespace {

// A one-file tar (python tarfile) and its DiffID.
std::pair<std::string, Digest> make_layer(const std::string& dir, const std::string& name,
                                          const std::string& content) {
    std::string out = dir + "/" + name + ".tar";
    run_ok({kPython, "-c",
            "import tarfile,io,sys\nt=tarfile.open(sys.argv[1],'w')\nti=tarfile.TarInfo(sys.argv[2])\n"
            "d=sys.argv[3].encode()\nti.size=len(d)\nt.addfile(ti,io.BytesIO(d))\nt.close()",
            out, name, content});
    return {out, *sha256_file(out)};
}

storage::Layer layer_of(const std::string& blob, const Digest& chain, const Digest& diff_id) {
    return {chain.hex, [blob, diff_id](const std::string& dir, storage::Whiteouts) -> Status {
                TRY(unpack_layer(blob, dir, Whiteouts::overlay, &diff_id));
                return ok();
            }};
}

bool overlay_available() {
    return sys::read_file("/proc/filesystems").value_or("").find("\toverlay\n") != std::string::npos;
}

} // namespace

TEST(SharedLayers, ContentNotMatchingItsDiffIdIsNeverShared) {
    if (!overlay_available() || ::geteuid() != 0) GTEST_SKIP() << "needs root and overlayfs";
    TempDir t;
    auto [good, good_id] = make_layer(t.path, "good", "genuine");
    auto [evil, evil_id] = make_layer(t.path, "evil", "poison");
    auto driver = *storage::open_driver("overlay", t.path + "/storage");
    Digest chain = chain_ids({good_id})[0];
    // An image claiming good's DiffID for evil's blob: the unpack fails, no layer directory named by
    // good's chain id is left (not even half-written), so a later image with the real layer is not poisoned.
    std::vector<storage::Layer> claimed = {layer_of(evil, chain, good_id)};
    auto r = driver->prepare("evil", claimed);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("does not match the image config"), std::string::npos)
        << r.error().message();
    EXPECT_FALSE(sys::exists(t.path + "/storage/layers/" + chain.hex));
    EXPECT_FALSE(sys::exists(t.path + "/storage/layers/" + chain.hex + ".tmp"));
    EXPECT_FALSE(sys::exists(t.path + "/storage/containers/evil"));

    std::vector<storage::Layer> real = {layer_of(good, chain, good_id)};
    auto ok_rootfs = driver->prepare("good", real);
    ASSERT_TRUE(ok_rootfs) << ok_rootfs.error().message();
    EXPECT_EQ(sys::read_file(*ok_rootfs + "/good").value_or(""), "genuine");
    EXPECT_FALSE(sys::exists(*ok_rootfs + "/evil"));
    ASSERT_TRUE(driver->destroy("good"));
}

TEST(SharedLayers, GcRemovesLayersNoImageOrContainerUses) {
    if (!overlay_available() || ::geteuid() != 0) GTEST_SKIP() << "needs root and overlayfs";
    TempDir t;
    std::string root = t.path + "/storage";
    auto [a, a_id] = make_layer(t.path, "a", "A");
    auto [b, b_id] = make_layer(t.path, "b", "B");
    auto chains = chain_ids({a_id, b_id});
    auto driver = *storage::open_driver("overlay", root);
    std::vector<storage::Layer> both = {layer_of(a, chains[0], a_id), layer_of(b, chains[1], b_id)};
    std::vector<storage::Layer> only_a = {both[0]};
    ASSERT_TRUE(driver->prepare("c1", only_a));
    ASSERT_TRUE(storage::record_layers(*driver, "c1", only_a));
    ASSERT_TRUE(driver->prepare("c2", both));
    ASSERT_TRUE(storage::record_layers(*driver, "c2", both));
    ASSERT_TRUE(sys::mkdir_p(root + "/layers/" + chains[1].hex + ".tmp/diff")); // a dead unpack's leftover

    // Every layer in use by a container stays even with no image keeping it; the leftover goes.
    auto g1 = storage::gc_layers(root, {});
    ASSERT_TRUE(g1) << g1.error().message();
    EXPECT_EQ(g1->skipped, "");
    EXPECT_EQ(g1->removed, 1u);
    EXPECT_EQ(g1->kept, 2u);

    ASSERT_TRUE(driver->destroy("c2"));
    auto g2 = storage::gc_layers(root, {});
    ASSERT_TRUE(g2);
    EXPECT_EQ(g2->removed, 1u);
    EXPECT_FALSE(sys::exists(root + "/layers/" + chains[1].hex));
    EXPECT_TRUE(sys::exists(root + "/layers/" + chains[0].hex + "/diff/a"));
    // c1 still reads its layer.
    EXPECT_EQ(sys::read_file(root + "/containers/c1/rootfs/a").value_or(""), "A");

    ASSERT_TRUE(driver->destroy("c1"));
    auto kept = storage::gc_layers(root, {chains[0].hex}); // a stored image still has it
    ASSERT_TRUE(kept);
    EXPECT_EQ(kept->removed, 0u);
    EXPECT_TRUE(sys::exists(root + "/layers/" + chains[0].hex));

    // An overlay container without a record (its mount options are written last: one being prepared, or
    // one whose record a crash lost): its layers are unknown, nothing is removed.
    ASSERT_TRUE(driver->prepare("c3", only_a));
    ASSERT_EQ(::unlink((root + "/containers/c3/mount-options").c_str()), 0);
    auto unknown = storage::gc_layers(root, {});
    ASSERT_TRUE(unknown);
    EXPECT_NE(unknown->skipped.find("container c3 has no layer record"), std::string::npos);
    EXPECT_TRUE(sys::exists(root + "/layers/" + chains[0].hex));
    ASSERT_TRUE(driver->destroy("c3"));

    auto all = storage::gc_layers(root, {});
    ASSERT_TRUE(all);
    EXPECT_EQ(all->removed, 1u);
    EXPECT_FALSE(sys::exists(root + "/layers/" + chains[0].hex));
}

// A container's mount options are its layer record (no file of its own written, nothing fsynced): what it
// is mounted with is kept; a torn record, or another container's, is no record.
TEST(SharedLayers, GcKeepsTheLayersAContainerIsMountedWith) {
    if (!overlay_available() || ::geteuid() != 0) GTEST_SKIP() << "needs root and overlayfs";
    TempDir t;
    std::string root = t.path + "/storage";
    auto [a, a_id] = make_layer(t.path, "a", "A");
    auto [b, b_id] = make_layer(t.path, "b", "B");
    auto chains = chain_ids({a_id, b_id});
    auto driver = *storage::open_driver("overlay", root);
    std::vector<storage::Layer> both = {layer_of(a, chains[0], a_id), layer_of(b, chains[1], b_id)};
    ASSERT_TRUE(driver->prepare("m1", both));
    EXPECT_FALSE(sys::exists(root + "/containers/m1/layers"));
    auto kept = storage::gc_layers(root, {});
    ASSERT_TRUE(kept) << kept.error().message();
    EXPECT_EQ(kept->skipped, "");
    EXPECT_EQ(kept->removed, 0u);
    EXPECT_EQ(kept->kept, 2u);

    std::string opts = root + "/containers/m1/mount-options";
    std::string whole = sys::read_file(opts).value_or("");
    ASSERT_NE(whole.find(chains[1].hex), std::string::npos);
    for (std::string bad : {std::string(), whole.substr(0, whole.size() / 2),
                            whole.substr(0, whole.find(",upperdir=")), std::string(whole.size(), '\0')}) {
        ASSERT_TRUE(sys::write_file_atomic(opts, bad));
        auto torn = storage::gc_layers(root, {});
        ASSERT_TRUE(torn);
        EXPECT_NE(torn->skipped.find("container m1 has no layer record"), std::string::npos) << bad;
        EXPECT_TRUE(sys::exists(root + "/layers/" + chains[1].hex));
    }
    // Another container's record (same layers, its own upper and work dirs) is not m1's.
    ASSERT_TRUE(driver->prepare("m2", both));
    ASSERT_TRUE(
        sys::write_file_atomic(opts, sys::read_file(root + "/containers/m2/mount-options").value_or("")));
    auto other = storage::gc_layers(root, {});
    ASSERT_TRUE(other);
    EXPECT_NE(other->skipped.find("container m1 has no layer record"), std::string::npos);
    ASSERT_TRUE(sys::write_file_atomic(opts, whole));
    ASSERT_TRUE(driver->destroy("m2"));
    ASSERT_TRUE(driver->destroy("m1"));
    auto all = storage::gc_layers(root, {});
    ASSERT_TRUE(all);
    EXPECT_EQ(all->removed, 2u);
}
