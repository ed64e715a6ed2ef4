// The proxmox backend's template cache key and record: a key changes with the rootfs or the init, not
// without; the record survives its JSON round trip (state.json).
#include "backend/proxmox/backend.hpp"
#include "backend/proxmox/template.hpp"
#include "sys/fs.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

using namespace lxcri;
using lxcri::backend::proxmox::content_key;

TEST(ProxmoxTemplate, ContentKey) {
    std::string dir = ::testing::TempDir() + "/pve-tpl-" + std::to_string(::getpid());
    (void)sys::remove_all(dir);
    ASSERT_TRUE(sys::mkdir_p(dir + "/rootfs/bin"));
    ASSERT_TRUE(sys::write_file_atomic(dir + "/rootfs/bin/a", "one", 0755));
    ASSERT_EQ(::symlink("a", (dir + "/rootfs/bin/b").c_str()), 0);
    ASSERT_TRUE(sys::write_file_atomic(dir + "/init", "init-v1", 0755));
    auto k1 = content_key(dir + "/rootfs", dir + "/init");
    ASSERT_TRUE(k1) << k1.error().message();
    EXPECT_EQ(k1->size(), 24u);
    EXPECT_EQ(*content_key(dir + "/rootfs", dir + "/init"), *k1); // stable
    ASSERT_TRUE(sys::write_file_atomic(dir + "/rootfs/bin/a", "two!", 0755));
    auto k2 = content_key(dir + "/rootfs", dir + "/init");
    ASSERT_TRUE(k2);
    EXPECT_NE(*k2, *k1); // a file changed
    ASSERT_EQ(::unlink((dir + "/rootfs/bin/b").c_str()), 0);
    ASSERT_EQ(::symlink("c", (dir + "/rootfs/bin/b").c_str()), 0);
    auto k3 = content_key(dir + "/rootfs", dir + "/init");
    EXPECT_NE(*k3, *k2); // a link target changed
    ASSERT_TRUE(sys::write_file_atomic(dir + "/init", "init-v2-longer", 0755));
    EXPECT_NE(*content_key(dir + "/rootfs", dir + "/init"), *k3); // the init changed
    EXPECT_FALSE(content_key(dir + "/missing", dir + "/init"));
    (void)sys::remove_all(dir);
}

TEST(ProxmoxTemplate, RecordRoundTrip) {
    backend::proxmox::Record r;
    r.config = "/etc/proxmox-lxcri/config.json";
    r.node = "pve";
    r.vmid = 123;
    r.ct_requested = true;
    r.uploaded = "local:vztmpl/lxcri-x.tar";
    r.tag = "lxcri-0011";
    r.init_pid = 42;
    r.init_start_time = 7;
    r.standin_pid = 43;
    r.standin_start_time = 8;
    auto back = backend::proxmox::Record::from_json(r.to_json());
    EXPECT_EQ(back.to_json(), r.to_json());
    EXPECT_EQ(back.vmid, 123u);
    EXPECT_FALSE(back.created);
    // A record from before anything was made (or garbage) is empty, not an error.
    EXPECT_EQ(backend::proxmox::Record::from_json(nlohmann::json::array()).vmid, 0u);
}
