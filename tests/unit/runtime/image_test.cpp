// The `image` verbs against a real docker-registry (fixtures shared with tests/unit/image).
#include "runtime/image.hpp"

#include "../image/fixture.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>

using namespace lxcri;
using namespace lxcri::image::test;

namespace {

template <class F> std::string stdout_of(F f) {
    std::fflush(stdout);
    ::testing::internal::CaptureStdout();
    Status st = f();
    std::fflush(stdout);
    std::string out = ::testing::internal::GetCapturedStdout();
    if (!st) throw std::runtime_error(st.error().message());
    return out;
}

} // namespace

TEST(ImageVerbs, PullListInspectRmGc) {
    TempDir t;
    Registry reg(t.path + "/registry");
    Built b = make_image(t.path + "/img", "v1", "32,16");
    reg.push(b, "verbs/img:v1");
    std::string name = reg.host() + "/verbs/img:v1";
    runtime::ImageContext c{t.path + "/store", false};

    std::string pulled = stdout_of([&] { return runtime::image_pull(c, {.ref = name, .quiet = true}); });
    EXPECT_EQ(pulled, b.top + "\n");

    std::string table = stdout_of([&] { return runtime::image_list(c, "table", false); });
    EXPECT_TRUE(table.starts_with("NAME")) << table;
    EXPECT_NE(table.find(name), std::string::npos) << table;
    EXPECT_NE(table.find(b.top.substr(7, 12)), std::string::npos) << table;
    auto list = nlohmann::json::parse(stdout_of([&] { return runtime::image_list(c, "json", false); }));
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0]["name"], name);
    EXPECT_EQ(list[0]["digest"], b.top);
    EXPECT_EQ(stdout_of([&] { return runtime::image_list(c, "", true); }), name + "\n");
    EXPECT_FALSE(runtime::image_list(c, "yaml", false));

    auto insp =
        nlohmann::json::parse(stdout_of([&] { return runtime::image_inspect(c, {b.top.substr(7, 10)}); }));
    ASSERT_EQ(insp.size(), 1u);
    EXPECT_EQ(insp[0]["manifest"]["layers"].size(), 2u);
    EXPECT_EQ(insp[0]["layers"].size(), 2u);
    EXPECT_EQ(insp[0]["config"]["architecture"], "amd64");
    auto unknown = runtime::image_inspect(c, {"nothere"});
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().message(), "image not known: nothere");

    std::string rm = stdout_of([&] { return runtime::image_rm(c, {name}); });
    EXPECT_NE(rm.find("Untagged: " + name), std::string::npos) << rm;
    EXPECT_NE(rm.find("Deleted: 4 blobs"), std::string::npos) << rm; // manifest, config, 2 layers
    EXPECT_TRUE(sys::list_dir(c.store + "/blobs/sha256").empty());
    EXPECT_EQ(stdout_of([&] { return runtime::image_gc(c); }),
              "removed 0 blobs and 0 partial downloads, freed 0B\n");
}

TEST(ImageVerbs, StoreRootFromEnvAndBadInput) {
    TempDir t;
    ::setenv("LXCRI_IMAGE_ROOT", (t.path + "/envstore").c_str(), 1);
    std::string out = stdout_of([&] { return runtime::image_list({}, "json", false); });
    ::unsetenv("LXCRI_IMAGE_ROOT");
    EXPECT_EQ(out, "[]\n");
    EXPECT_TRUE(sys::exists(t.path + "/envstore/blobs/sha256"));
    runtime::ImageContext c{t.path + "/store", false};
    auto bad = runtime::image_pull(c, {.ref = "Busybox"});
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message().find("invalid reference"), std::string::npos);
    auto jobs = runtime::image_pull(c, {.ref = "127.0.0.1:1/a:b", .jobs = 0});
    ASSERT_FALSE(jobs);
    EXPECT_NE(jobs.error().message().find("--jobs"), std::string::npos);
    auto plat = runtime::image_pull(c, {.ref = "127.0.0.1:1/a:b", .platform = "linux"});
    ASSERT_FALSE(plat);
    EXPECT_NE(plat.error().message().find("invalid platform"), std::string::npos);
}
