// Golden test of image config -> config.json, and the result must load as a valid runtime spec.
#include "image/bundle.hpp"
#include "spec/spec.hpp"
#include "sys/fs.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <cstdlib>
#include <fstream>

using namespace lxcri;
using namespace lxcri::image;

namespace {

const std::string kData = std::string(LXCRI_SOURCE_DIR) + "/tests/unit/image/testdata/";

// Golden files are rewritten with LXCRI_UPDATE_GOLDEN=1.
void expect_golden(const std::string& name, const std::string& text) {
    std::string path = kData + name;
    if (std::getenv("LXCRI_UPDATE_GOLDEN")) {
        ASSERT_TRUE(sys::write_file_atomic(path, text));
    }
    auto want = sys::read_file(path);
    ASSERT_TRUE(want) << path;
    EXPECT_EQ(text, *want) << "golden " << path;
}

ImageConfig nginx_like() {
    auto cfg = parse_config(sys::read_file(kData + "image-config.json").value());
    EXPECT_TRUE(cfg) << cfg.error().message();
    return *cfg;
}

TEST(Bundle, GoldenFromImageConfig) {
    ResolvedUser user{.uid = 101, .gid = 101, .additional_gids = {29}, .home = "/var/cache/nginx"};
    BundleOptions o{
        .rootfs = "/var/lib/x/containers/web/rootfs", .memory_mib = 512, .cores = 2, .hostname = "web"};
    o.annotations["org.opencontainers.image.ref.name"] = "127.0.0.1:5000/nginx:1";
    auto text = bundle_config(nginx_like(), user, o);
    ASSERT_TRUE(text) << text.error().message();
    expect_golden("bundle-nginx.json", *text + "\n");
    auto sp = spec::parse(*text);
    ASSERT_TRUE(sp) << sp.error().message();
    EXPECT_EQ(sp->process->args,
              (std::vector<std::string>{"/docker-entrypoint.sh", "nginx", "-g", "daemon off;"}));
    EXPECT_EQ(sp->process->cwd, "/usr/share/nginx");
    EXPECT_FALSE(sp->process->terminal);
}

TEST(Bundle, ArgsReplaceCmdAndDefaultsApply) {
    ImageConfig cfg = nginx_like();
    BundleOptions o;
    o.args = {"echo", "hi"};
    auto text = bundle_config(cfg, ResolvedUser{}, o);
    ASSERT_TRUE(text);
    auto j = nlohmann::json::parse(*text);
    EXPECT_EQ(j["process"]["args"], (std::vector<std::string>{"/docker-entrypoint.sh", "echo", "hi"}));
    EXPECT_EQ(j["root"]["path"], "rootfs");
    EXPECT_EQ(j["hostname"], "runc");
    EXPECT_FALSE(j["linux"]["resources"].contains("memory"));
    EXPECT_FALSE(j["process"]["user"].contains("additionalGids"));

    ImageConfig bare; // no env, no command
    EXPECT_FALSE(bundle_config(bare, ResolvedUser{}, BundleOptions{}));
    bare.cmd = {"sh"};
    o = BundleOptions{};
    o.terminal = true;
    j = nlohmann::json::parse(*bundle_config(bare, ResolvedUser{}, o));
    EXPECT_EQ(j["process"]["env"],
              (std::vector<std::string>{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                        "TERM=xterm", "HOME=/"}));
    EXPECT_FALSE(j.contains("annotations"));
}

TEST(Bundle, WriteBundleResolvesUserInRootfs) {
    char tmpl[] = "/tmp/bundle-test-XXXXXX";
    std::string dir = mkdtemp(tmpl);
    ASSERT_TRUE(sys::mkdir_p(dir + "/rootfs/etc"));
    std::ofstream(dir + "/rootfs/etc/passwd") << "nginx:x:101:101::/var/cache/nginx:/bin/false\n";
    std::ofstream(dir + "/rootfs/etc/group") << "nginx:x:101:\n";
    ImageConfig cfg = nginx_like();
    auto r = write_bundle(dir + "/bundle", dir + "/rootfs", cfg, BundleOptions{.rootfs = dir + "/rootfs"});
    ASSERT_TRUE(r) << r.error().message();
    auto sp = spec::load(dir + "/bundle");
    ASSERT_TRUE(sp) << sp.error().message();
    EXPECT_EQ(sp->process->user.uid, 101u);
    EXPECT_EQ(sp->root.path, dir + "/rootfs");
    cfg.user = "ghost";
    r = write_bundle(dir + "/bundle2", dir + "/rootfs", cfg, BundleOptions{});
    ASSERT_FALSE(r);
    EXPECT_FALSE(sys::exists(dir + "/bundle2/config.json"));
    (void)sys::remove_all(dir);
}

} // namespace
