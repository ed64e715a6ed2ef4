#include "image/store.hpp"

#include "fixture.hpp"

#include <gtest/gtest.h>

#include <sys/mount.h>

#include <thread>

using namespace lxcri;
using namespace lxcri::image;
using lxcri::image::test::TempDir;
using lxcri::image::test::Tmpfs;

namespace {

std::string manifest_for(const Digest& config, int64_t csize,
                         const std::vector<std::pair<Digest, int64_t>>& layers) {
    std::string s =
        R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":")" +
        std::string(media::kOciConfig) + R"(","digest":")" + config.str() + R"(","size":)" +
        std::to_string(csize) + R"(},"layers":[)";
    for (size_t i = 0; i < layers.size(); i++)
        s += std::string(i ? "," : "") + R"({"mediaType":")" + std::string(media::kOciLayerGzip) +
             R"(","digest":")" + layers[i].first.str() + R"(","size":)" + std::to_string(layers[i].second) +
             "}";
    return s + "]}";
}

// Stores a tiny image (config + one layer) and tags it.
ImageRecord add_image(Store& s, const std::string& name, const std::string& layer_data) {
    std::string config = R"({"architecture":"amd64","os":"linux","config":{"Cmd":["sh"]}})";
    Digest c = *s.put_blob(config);
    Digest l = *s.put_blob(layer_data);
    Digest m = *s.put_blob(
        manifest_for(c, static_cast<int64_t>(config.size()), {{l, static_cast<int64_t>(layer_data.size())}}));
    ImageRecord r{name, m, {}, "", static_cast<int64_t>(layer_data.size())};
    EXPECT_TRUE(s.tag(r));
    return r;
}

} // namespace

TEST(LruCache, EvictsLeastRecentlyUsed) {
    LruCache<int, std::string> c(2);
    c.put(1, "a");
    c.put(2, "b");
    EXPECT_EQ(*c.get(1), "a"); // 1 is now most recent
    c.put(3, "c");             // evicts 2
    EXPECT_FALSE(c.get(2));
    EXPECT_TRUE(c.get(1));
    EXPECT_TRUE(c.get(3));
    EXPECT_EQ(c.size(), 2u);
    c.put(3, "c2");
    EXPECT_EQ(*c.get(3), "c2");
    c.erase(1);
    EXPECT_EQ(c.size(), 1u);
}

TEST(Store, DefaultRootAndEnv) {
    ::unsetenv("LXCRI_IMAGE_ROOT");
    EXPECT_EQ(Store::default_root(), "/var/lib/proxmox-lxcri/images");
    ::setenv("LXCRI_IMAGE_ROOT", "/tmp/x", 1);
    EXPECT_EQ(Store::default_root(), "/tmp/x");
    ::unsetenv("LXCRI_IMAGE_ROOT");
}

TEST(Store, PutReadAndRejectMismatch) {
    TempDir t;
    auto s = Store::open(t.path);
    ASSERT_TRUE(s) << s.error().message();
    auto d = s->put_blob("hello");
    ASSERT_TRUE(d);
    EXPECT_EQ(*d, sha256_of("hello"));
    EXPECT_TRUE(s->has_blob(*d));
    EXPECT_EQ(*s->read_blob(*d), "hello");
    auto bad = s->put_blob("other", sha256_of("hello2"));
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message().find("digest mismatch"), std::string::npos);
    EXPECT_FALSE(s->has_blob(sha256_of("other")));
    EXPECT_EQ(sys::list_dir(t.path + "/blobs/sha256").size(), 1u);
    // Corruption on disk is detected on read.
    ASSERT_TRUE(sys::write_file(s->blob_path(*d), "hellO"));
    auto corrupt = s->read_blob(*d);
    ASSERT_FALSE(corrupt);
    EXPECT_NE(corrupt.error().message().find("corrupt"), std::string::npos);
}

TEST(Store, WriterResumesPartialAndVerifies) {
    TempDir t;
    auto s = *Store::open(t.path);
    std::string data(200000, 'q');
    for (size_t i = 0; i < data.size(); i++)
        data[i] = static_cast<char>(i * 7);
    Digest d = sha256_of(data);
    {
        auto w = s.open_writer(d, static_cast<int64_t>(data.size()));
        ASSERT_TRUE(w);
        EXPECT_EQ(w->offset(), 0);
        ASSERT_TRUE(w->write(data.data(), 50000));
        // dropped without commit: an interrupted download
    }
    EXPECT_TRUE(sys::exists(t.path + "/ingest/" + d.hex + ".partial"));
    EXPECT_FALSE(s.has_blob(d));
    auto w = s.open_writer(d, static_cast<int64_t>(data.size()));
    ASSERT_TRUE(w);
    EXPECT_EQ(w->offset(), 50000);
    ASSERT_TRUE(w->write(data.data() + 50000, data.size() - 50000));
    ASSERT_TRUE(w->commit());
    EXPECT_TRUE(s.has_blob(d));
    EXPECT_EQ(*s.read_blob(d), data);
    EXPECT_FALSE(sys::exists(t.path + "/ingest/" + d.hex + ".partial"));
    auto again = s.open_writer(d, static_cast<int64_t>(data.size()));
    ASSERT_TRUE(again);
    EXPECT_TRUE(again->complete());
}

TEST(Store, WriterRejectsWrongContentAndSize) {
    TempDir t;
    auto s = *Store::open(t.path);
    Digest d = sha256_of("expected content");
    auto w = s.open_writer(d, 16);
    ASSERT_TRUE(w);
    ASSERT_TRUE(w->write("wrong content!!!", 16));
    auto c = w->commit();
    ASSERT_FALSE(c);
    EXPECT_NE(c.error().message().find("digest mismatch"), std::string::npos) << c.error().message();
    EXPECT_FALSE(s.has_blob(d));
    EXPECT_FALSE(sys::exists(t.path + "/ingest/" + d.hex + ".partial"));

    auto w2 = s.open_writer(d, 16);
    ASSERT_TRUE(w2->write("expected", 8));
    auto short_commit = w2->commit();
    ASSERT_FALSE(short_commit);
    EXPECT_NE(short_commit.error().message().find("size mismatch: got 8 bytes, expected 16"),
              std::string::npos)
        << short_commit.error().message();
    EXPECT_FALSE(sys::exists(t.path + "/ingest/" + d.hex + ".partial"));

    auto w3 = s.open_writer(d, 4);
    auto big = w3->write("expected content", 16);
    ASSERT_FALSE(big);
    EXPECT_NE(big.error().message().find("more data than the expected 4 bytes"), std::string::npos);
    EXPECT_EQ(sys::list_dir(t.path + "/blobs/sha256").size(), 0u);
}

TEST(Store, ConcurrentWritersOfOneBlob) {
    TempDir t;
    auto s = *Store::open(t.path);
    std::string data(1 << 20, 'z');
    Digest d = sha256_of(data);
    std::atomic<int> wrote{0}, found{0}, failed{0};
    std::vector<std::thread> ts;
    for (int i = 0; i < 6; i++)
        ts.emplace_back([&] {
            auto w = s.open_writer(d, static_cast<int64_t>(data.size()));
            if (!w) return void(failed++);
            if (w->complete()) return void(found++);
            for (size_t off = 0; off < data.size(); off += 4096)
                if (!w->write(data.data() + off, 4096)) return void(failed++);
            if (!w->commit()) return void(failed++);
            wrote++;
        });
    for (auto& th : ts)
        th.join();
    EXPECT_EQ(failed, 0);
    EXPECT_EQ(wrote, 1);
    EXPECT_EQ(found, 5);
    EXPECT_EQ(*s.read_blob(d), data);
}

TEST(Store, IndexFindRemoveGc) {
    TempDir t;
    auto s = *Store::open(t.path);
    auto a = add_image(s, "docker.io/library/busybox:latest", "layer-a");
    auto b = add_image(s, "127.0.0.1:5000/x/y:v1", "layer-b");
    auto list = s.list();
    ASSERT_TRUE(list);
    ASSERT_EQ(list->size(), 2u);
    EXPECT_FALSE((*list)[0].created.empty());
    EXPECT_EQ(s.find("busybox")->manifest, a.manifest);
    EXPECT_EQ(s.find("docker.io/library/busybox")->manifest, a.manifest);
    EXPECT_EQ(s.find(b.manifest.hex.substr(0, 8))->name, b.name);
    EXPECT_EQ(s.find(b.manifest.str())->name, b.name);
    EXPECT_EQ(s.find("127.0.0.1:5000/x/y@" + b.manifest.str())->name, b.name);
    auto missing = s.find("alpine");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().message(), "image not known: alpine");
    auto img = s.image("busybox");
    ASSERT_TRUE(img) << img.error().message();
    EXPECT_EQ(img->config.cmd, std::vector<std::string>{"sh"});
    EXPECT_EQ(img->manifest.layers.size(), 1u);

    // Same name again replaces the record.
    auto a2 = add_image(s, "docker.io/library/busybox:latest", "layer-a2");
    EXPECT_EQ(s.list()->size(), 2u);
    EXPECT_EQ(s.find("busybox")->manifest, a2.manifest);

    // A partial download and a stray blob: gc removes them and the old image's blobs.
    auto w = s.open_writer(sha256_of("never finished"), 14);
    ASSERT_TRUE(w->write("never", 5));
    *w = BlobWriter();
    auto gc = s.gc();
    ASSERT_TRUE(gc) << gc.error().message();
    EXPECT_EQ(gc->blobs_removed, 2u); // old manifest + layer-a (the config is shared)
    EXPECT_EQ(gc->partials_removed, 1u);
    EXPECT_TRUE(sys::list_dir(t.path + "/ingest").empty());
    EXPECT_TRUE(s.image("busybox"));
    EXPECT_TRUE(s.image(b.name));

    auto removed = s.remove("busybox");
    ASSERT_TRUE(removed);
    ASSERT_EQ(removed->size(), 1u);
    EXPECT_FALSE(s.remove("busybox"));
    ASSERT_TRUE(s.gc());
    EXPECT_FALSE(s.has_blob(a2.manifest));
    EXPECT_TRUE(s.has_blob(b.manifest));
    EXPECT_EQ(sys::list_dir(t.path + "/blobs/sha256").size(), 3u);
}

TEST(Store, TagRequiresManifest) {
    TempDir t;
    auto s = *Store::open(t.path);
    auto r = s.tag(ImageRecord{"a:b", sha256_of("x"), {}, "", 0});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("not in store"), std::string::npos);
}

TEST(Store, DiskFullLeavesNothing) {
    TempDir t;
    Tmpfs fs(t.path, "1M");
    ASSERT_EQ(fs.error, 0) << std::strerror(fs.error);
    {
        auto s = *Store::open(t.path + "/store");
        std::string data(3 << 20, 'f');
        Digest d = sha256_of(data);
        auto w = s.open_writer(d, static_cast<int64_t>(data.size()));
        ASSERT_TRUE(w);
        Status st = ok();
        for (size_t off = 0; off < data.size() && st; off += 65536)
            st = w->write(data.data() + off, 65536);
        ASSERT_FALSE(st);
        EXPECT_NE(st.error().message().find("No space left on device"), std::string::npos)
            << st.error().message();
        EXPECT_TRUE(sys::list_dir(t.path + "/store/ingest").size() <= 1u); // only the lock file
        EXPECT_FALSE(sys::exists(t.path + "/store/ingest/" + d.hex + ".partial"));
        auto small = s.put_blob(std::string(2 << 20, 'g'));
        ASSERT_FALSE(small);
        EXPECT_NE(small.error().message().find("No space left"), std::string::npos)
            << small.error().message();
        EXPECT_TRUE(sys::list_dir(t.path + "/store/blobs/sha256").empty());
    }
}
