#include "image/manifest.hpp"

#include <gtest/gtest.h>

using namespace lxcri::image;

namespace {
std::string dg(char c) {
    return "sha256:" + std::string(64, c);
}
} // namespace

TEST(Manifest, ParseOciAndDocker) {
    std::string oci = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
      "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
                      dg('a') + R"(","size":10},
      "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" +
                      dg('b') + R"(","size":20},
                {"mediaType":"application/vnd.oci.image.layer.v1.tar+zstd","digest":")" +
                      dg('c') + R"(","size":30}]})";
    auto m = parse_manifest(oci);
    ASSERT_TRUE(m) << m.error().message();
    EXPECT_EQ(m->config.digest.str(), dg('a'));
    ASSERT_EQ(m->layers.size(), 2u);
    EXPECT_EQ(m->layers[1].size, 30);
    EXPECT_EQ(*layer_compression(m->layers[0].media_type), Compression::Gzip);
    EXPECT_EQ(*layer_compression(m->layers[1].media_type), Compression::Zstd);
    EXPECT_EQ(*layer_compression(media::kDockerLayerGzip), Compression::Gzip);
    EXPECT_EQ(*layer_compression(media::kOciLayer), Compression::None);
    EXPECT_FALSE(layer_compression("application/x-foo"));
    EXPECT_EQ(detect_media_type(oci), media::kOciManifest);

    std::string docker =
        R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
      "config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":")" +
        dg('a') + R"(","size":1},
      "layers":[]})";
    EXPECT_TRUE(parse_manifest(docker));
    auto bad = parse_manifest(R"({"schemaVersion":2,"config":{"digest":"sha256:zz","size":1}})");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message().find("manifest.config.digest"), std::string::npos)
        << bad.error().message();
    EXPECT_FALSE(parse_manifest(R"({"schemaVersion":1})"));
    EXPECT_FALSE(parse_manifest("not json"));
}

TEST(Manifest, IndexPlatformSelection) {
    std::string text =
        R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json",
      "manifests":[
       {"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":")" +
        dg('1') + R"(","size":1,
        "platform":{"os":"linux","architecture":"arm","variant":"v7"}},
       {"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":")" +
        dg('2') + R"(","size":1,
        "platform":{"os":"linux","architecture":"amd64"}},
       {"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":")" +
        dg('3') + R"(","size":1,
        "platform":{"os":"linux","architecture":"arm64","variant":"v8"}}]})";
    auto ix = parse_index(text);
    ASSERT_TRUE(ix) << ix.error().message();
    EXPECT_EQ(detect_media_type(text), media::kDockerList);
    EXPECT_EQ(select_platform(*ix, Platform{"linux", "amd64", ""})->digest.str(), dg('2'));
    EXPECT_EQ(select_platform(*ix, Platform{"linux", "arm64", "v8"})->digest.str(), dg('3'));
    EXPECT_EQ(select_platform(*ix, Platform{"linux", "arm", ""})->digest.str(), dg('1'));
    auto none = select_platform(*ix, Platform{"linux", "s390x", ""});
    ASSERT_FALSE(none);
    EXPECT_NE(none.error().message().find("no image for platform linux/s390x"), std::string::npos);
    EXPECT_NE(none.error().message().find("linux/arm/v7"), std::string::npos);
    EXPECT_EQ(host_platform().str(), "linux/amd64");
    EXPECT_EQ(parse_platform("linux/arm64/v8")->variant, "v8");
    EXPECT_FALSE(parse_platform("linux"));
}

TEST(Manifest, ImageConfig) {
    std::string text = R"({"architecture":"amd64","os":"linux","created":"2024-01-01T00:00:00Z",
      "config":{"User":"1000","WorkingDir":"/w","Env":["A=1"],"Entrypoint":["/bin/sh"],"Cmd":null,
                "ExposedPorts":{"443/tcp":{},"80/tcp":{}},"Labels":{"k":"v"},"StopSignal":"SIGINT",
                "Volumes":{"/data":{}}},
      "rootfs":{"type":"layers","diff_ids":[")" +
                       dg('d') + R"("]}})";
    auto c = parse_config(text);
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_EQ(c->user, "1000");
    EXPECT_EQ(c->working_dir, "/w");
    EXPECT_EQ(c->entrypoint, std::vector<std::string>{"/bin/sh"});
    EXPECT_TRUE(c->entrypoint_set);
    EXPECT_FALSE(c->cmd_set);
    EXPECT_EQ(c->exposed_ports, (std::vector<std::string>{"443/tcp", "80/tcp"}));
    EXPECT_EQ(c->labels.at("k"), "v");
    EXPECT_EQ(c->stop_signal, "SIGINT");
    EXPECT_EQ(c->volumes, std::vector<std::string>{"/data"});
    ASSERT_EQ(c->diff_ids.size(), 1u);
    EXPECT_FALSE(parse_config(R"({"config":{"Env":"A=1"}})"));
}

// Issue 12 item 9: manifests, indexes and configs are bounded in size (4 MiB) and nesting (256).
TEST(Manifest, OversizedAndDeeplyNestedDocumentsAreRefused) {
    std::string deep = std::string(100000, '[') + std::string(100000, ']');
    for (auto& r : {parse_manifest(deep).error(), parse_index(deep).error()}) {
        EXPECT_NE(r.message().find("nested deeper than 256 levels at byte 256"), std::string::npos)
            << r.message();
    }
    auto c = parse_config(R"({"config":{"Labels":{"a":)" + std::string(300, '[') + "}}}");
    ASSERT_FALSE(c);
    EXPECT_NE(c.error().message().find("image config: JSON nested deeper than 256"), std::string::npos)
        << c.error().message();
    // Brackets inside strings do not count.
    EXPECT_TRUE(parse_config(R"({"author":")" + std::string(1000, '[') + R"("})"));
    std::string big = R"({"schemaVersion":2,"annotations":{"a":")" + std::string(5 << 20, 'x') + R"("}})";
    auto m = parse_manifest(big);
    ASSERT_FALSE(m);
    EXPECT_NE(m.error().message().find("manifest: larger than 4194304 bytes"), std::string::npos)
        << m.error().message();
    auto bad = parse_index(R"({"schemaVersion":2,"manifests":[}x)");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message().find("index: invalid JSON at byte 32 (line 1)"), std::string::npos)
        << bad.error().message();
}
