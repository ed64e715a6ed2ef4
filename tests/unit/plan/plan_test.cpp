#include "plan/plan.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>

using namespace lxcri;
using nlohmann::json;

namespace {

json minimal() {
    return json::parse(R"({
        "ociVersion": "1.0.2",
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "box",
        "process": {"args": ["/bin/sh"], "cwd": "/"},
        "linux": {"namespaces": [{"type": "mount"}, {"type": "pid"}, {"type": "uts"}]}
    })");
}

Result<plan::Plan> plan_of(const json& j, bool strict = false) {
    auto s = spec::parse(j.dump());
    if (!s) return std::unexpected(s.error());
    return plan::make_plan(*s, {.id = "c1", .bundle = "/b/bundle", .strict = strict});
}

std::vector<std::string> gap_fields(const plan::Plan& p) {
    std::vector<std::string> out;
    for (const auto& g : p.gaps)
        out.push_back(g.field);
    return out;
}

} // namespace

TEST(Plan, CopiesAndResolvesRoot) {
    auto p = plan_of(minimal());
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_EQ(p->id, "c1");
    EXPECT_EQ(p->rootfs, "/b/bundle/rootfs");
    EXPECT_TRUE(p->rootfs_readonly);
    EXPECT_EQ(p->hostname, "box");
    EXPECT_EQ(p->process.args, std::vector<std::string>{"/bin/sh"});
    EXPECT_TRUE(p->has_namespace("pid"));
    EXPECT_FALSE(p->has_namespace("network"));
    EXPECT_TRUE(p->gaps.empty());
}

TEST(Plan, RootPathForms) {
    auto j = minimal();
    j["root"]["path"] = "/abs/root/";
    EXPECT_EQ(plan_of(j)->rootfs, "/abs/root");
    j["root"]["path"] = "./sub/../rootfs";
    EXPECT_EQ(plan_of(j)->rootfs, "/b/bundle/rootfs");

    auto s = spec::parse(minimal().dump());
    ASSERT_TRUE(s);
    auto rel = plan::make_plan(*s, {.id = "c1", .bundle = "relative/bundle"});
    ASSERT_FALSE(rel);
    EXPECT_NE(rel.error().message().find("root.path"), std::string::npos);
}

TEST(Plan, RequiresProcess) {
    auto j = minimal();
    j.erase("process");
    auto p = plan_of(j);
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().message(), "process: required to create a container");
}

TEST(Plan, HostnameNeedsUts) {
    auto j = minimal();
    j["linux"]["namespaces"] = {{{"type", "mount"}}};
    auto p = plan_of(j);
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().message(), "hostname: setting the hostname needs a uts namespace");
    j.erase("hostname");
    EXPECT_TRUE(plan_of(j));
}

TEST(Plan, RelativeBindSourceResolvesAgainstBundle) {
    auto j = minimal();
    j["mounts"] = {{{"destination", "/data"}, {"type", "bind"}, {"source", "data"}, {"options", {"rbind"}}},
                   {{"destination", "/t"}, {"type", "tmpfs"}, {"source", "tmpfs"}}};
    auto p = plan_of(j);
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_EQ(p->mounts[0].source, "/b/bundle/data");
    EXPECT_EQ(p->mounts[1].source, "tmpfs");
}

TEST(Plan, ReportsGaps) {
    auto j = minimal();
    j["process"]["user"] = {{"uid", 0}, {"gid", 0}, {"username", "Administrator"}};
    j["process"]["commandLine"] = "cmd.exe";
    j["process"]["ioPriority"] = {{"class", "IOPRIO_CLASS_BE"}, {"priority", 4}};
    j["process"]["scheduler"] = {{"policy", "SCHED_BATCH"}};
    j["linux"]["intelRdt"] = {{"closID", "g1"}};
    j["linux"]["personality"] = {{"domain", "LINUX32"}};
    j["linux"]["timeOffsets"] = {{"boottime", {{"secs", 5}}}};
    j["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"}, {"listenerPath", "/run/agent.sock"}};
    j["linux"]["resources"] = {
        {"network", {{"classID", 7}, {"priorities", {{{"name", "lo"}, {"priority", 1}}}}}}};
    j["mounts"] = {{{"destination", "/m"},
                    {"type", "bind"},
                    {"source", "/srv"},
                    {"gidMappings", {{{"containerID", 0}, {"hostID", 1}, {"size", 1}}}}}};
    j["solaris"] = json::object();
    j["vm"] = json::object();
    auto p = plan_of(j);
    ASSERT_TRUE(p) << p.error().message();
    auto fields = gap_fields(*p);
    for (const char* want :
         {"process.user.username", "process.commandLine", "process.ioPriority", "process.scheduler",
          "linux.intelRdt", "linux.personality", "linux.timeOffsets", "linux.resources.network.classID",
          "linux.resources.network.priorities", "mounts[0]", "solaris", "vm"})
        EXPECT_NE(std::find(fields.begin(), fields.end(), want), fields.end()) << want;
    EXPECT_EQ(fields.size(), 12u);
    // Seccomp notify is honoured: listenerPath is no gap and reaches the plan.
    EXPECT_EQ(std::find(fields.begin(), fields.end(), "linux.seccomp.listenerPath"), fields.end());
    // Not honoured -> not in the plan either.
    EXPECT_FALSE(p->resources.network_class_id);
    EXPECT_TRUE(p->resources.network_priorities.empty());
    ASSERT_TRUE(p->seccomp);
    EXPECT_EQ(p->seccomp->listener_path, "/run/agent.sock");
    auto solaris = std::find_if(p->gaps.begin(), p->gaps.end(), [](auto& g) { return g.field == "solaris"; });
    EXPECT_EQ(solaris->reason, "configuration for another platform; ignored on Linux");
}

TEST(Plan, LinuxPersonalityIsNotAGap) {
    auto j = minimal();
    j["linux"]["personality"] = {{"domain", "LINUX"}};
    auto p = plan_of(j);
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->gaps.empty());
}

TEST(Plan, StrictFailsNamingEveryGap) {
    auto j = minimal();
    j["process"]["commandLine"] = "cmd.exe";
    j["windows"] = json::object();
    EXPECT_TRUE(plan_of(j, false));
    auto p = plan_of(j, true);
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().message(),
              "strict mode: spec fields not honoured: process.commandLine (Windows only; "
              "process.args is used); windows (configuration for another platform; ignored "
              "on Linux)");
    EXPECT_TRUE(plan_of(minimal(), true));
}

TEST(Plan, UnknownCapabilityIsAnError) {
    auto j = minimal();
    j["process"]["capabilities"] = {{"bounding", {"CAP_CHOWN", "CAP_TEST"}}};
    auto p = plan_of(j);
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().message(), "process.capabilities.bounding: unknown capability \"CAP_TEST\"");
    j["process"]["capabilities"] = {{"ambient", {"CAP_CHECKPOINT_RESTORE"}}};
    EXPECT_TRUE(plan_of(j));
}

TEST(InitConfig, MadeFromPlan) {
    auto j = minimal();
    j["linux"]["maskedPaths"] = {"/proc/kcore"};
    j["linux"]["readonlyPaths"] = {"/proc/sys"};
    j["hooks"] = {{"startContainer", {{{"path", "/bin/hook"}, {"args", {"hook", "x"}}}}}};
    auto p = plan_of(j);
    ASSERT_TRUE(p);
    auto cfg = plan::make_init_config(*p);
    EXPECT_EQ(cfg.fifo, "/dev/.lxcri/fifo");
    EXPECT_EQ(cfg.cleanup_dir, "/dev/.lxcri");
    EXPECT_TRUE(cfg.readonly_root);
    EXPECT_EQ(cfg.masked_paths, std::vector<std::string>{"/proc/kcore"});
    EXPECT_EQ(cfg.readonly_paths, std::vector<std::string>{"/proc/sys"});
    ASSERT_EQ(cfg.start_container_hooks.size(), 1u);
    EXPECT_EQ(cfg.start_container_hooks[0].args[1], "x");
    EXPECT_EQ(cfg.console_fd, -1);
}

namespace {

plan::InitConfig full_init_config() {
    plan::InitConfig c;
    auto& p = c.process;
    p.terminal = true;
    p.console_size = spec::ConsoleSize{25, 100};
    p.user = {.uid = 1000, .gid = 100, .umask = 022, .additional_gids = {4, 27}, .username = "u"};
    p.args = {"/bin/sh", "-c", "echo \"hi\" \u00e9\n"};
    p.command_line = "cmd";
    p.env = {"PATH=/usr/bin", "EMPTY="};
    p.cwd = "/home/u";
    p.capabilities = spec::Capabilities{.bounding = std::vector<std::string>{"CAP_KILL", "CAP_CHOWN"},
                                        .effective = std::vector<std::string>{},
                                        .inheritable = std::nullopt,
                                        .permitted = std::vector<std::string>{"CAP_KILL"},
                                        .ambient = std::nullopt};
    p.rlimits = {{"RLIMIT_NOFILE", 4096, 1024}, {"RLIMIT_CORE", UINT64_MAX, UINT64_MAX}};
    p.no_new_privileges = true;
    p.apparmor_profile = "docker-default";
    p.oom_score_adj = -999;
    p.selinux_label = "system_u:system_r:container_t:s0:c1,c2";
    p.io_priority_class = "IOPRIO_CLASS_RT";
    spec::Seccomp sc;
    sc.default_action = "SCMP_ACT_ERRNO";
    sc.default_errno_ret = 38;
    sc.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"};
    sc.flags = {"SECCOMP_FILTER_FLAG_LOG"};
    sc.listener_path = "/run/l.sock";
    sc.listener_metadata = "meta";
    sc.syscalls = {{{"read", "write"}, "SCMP_ACT_ALLOW", std::nullopt, {}},
                   {{"clone"},
                    "SCMP_ACT_ERRNO",
                    1u,
                    {{0, 0x7e020000, 0, "SCMP_CMP_MASKED_EQ"}, {1, 5, 9, "SCMP_CMP_GT"}}}};
    c.seccomp = sc;
    c.readonly_root = true;
    c.masked_paths = {"/proc/kcore", "/sys/firmware"};
    c.readonly_paths = {"/proc/sys"};
    c.recursive_readonly_mounts = {"/data", "/srv/x"};
    c.readonly_dev = true;
    c.start_container_hooks = {{"/usr/bin/hook", {"hook", "start"}, {"A=1"}, 5},
                               {"/bin/true", {}, {}, std::nullopt}};
    c.fifo = "/dev/.lxcri/fifo";
    c.cleanup_dir = "/dev/.lxcri";
    c.console_fd = 5;
    c.preserve_fds = 2;
    c.seccomp_socket = "/dev/.lxcri/seccomp.sock";
    c.seccomp_fd = 7;
    return c;
}

} // namespace

TEST(Plan, SeccompNotifies) {
    spec::Seccomp sc;
    sc.default_action = "SCMP_ACT_ALLOW";
    EXPECT_FALSE(plan::seccomp_notifies(sc));
    sc.syscalls = {{{"read"}, "SCMP_ACT_ERRNO", std::nullopt, {}}};
    EXPECT_FALSE(plan::seccomp_notifies(sc));
    sc.syscalls.push_back({{"mkdir"}, "SCMP_ACT_NOTIFY", std::nullopt, {}});
    EXPECT_TRUE(plan::seccomp_notifies(sc));
}

TEST(InitConfig, RoundTripIsLossless) {
    auto c = full_init_config();
    std::string text = plan::init_config_to_json(c);
    auto back = plan::init_config_from_json(text);
    ASSERT_TRUE(back) << back.error().message() << "\n" << text;
    // Serialising the result again gives identical text, and the fields compare equal.
    EXPECT_EQ(plan::init_config_to_json(*back), text);
    const auto& p = back->process;
    EXPECT_EQ(p.args, c.process.args);
    EXPECT_EQ(p.user.umask, 022u);
    EXPECT_EQ(p.user.additional_gids, c.process.user.additional_gids);
    EXPECT_EQ(p.user.username, "u");
    EXPECT_EQ(p.command_line, "cmd");
    EXPECT_EQ(p.console_size->height, 25u);
    EXPECT_EQ(p.capabilities->bounding, c.process.capabilities->bounding);
    EXPECT_TRUE(p.capabilities->effective.has_value());
    EXPECT_TRUE(p.capabilities->effective->empty());
    EXPECT_FALSE(p.capabilities->inheritable.has_value());
    EXPECT_FALSE(p.capabilities->ambient.has_value());
    EXPECT_EQ(p.rlimits[1].hard, UINT64_MAX);
    EXPECT_EQ(p.oom_score_adj, -999);
    EXPECT_EQ(p.selinux_label, c.process.selinux_label);
    EXPECT_EQ(p.io_priority_class, "IOPRIO_CLASS_RT");
    ASSERT_TRUE(back->seccomp);
    EXPECT_EQ(back->seccomp->default_errno_ret, 38u);
    EXPECT_EQ(back->seccomp->listener_metadata, "meta");
    EXPECT_EQ(back->seccomp->listener_path, "/run/l.sock");
    EXPECT_EQ(back->seccomp_socket, "/dev/.lxcri/seccomp.sock");
    EXPECT_EQ(back->seccomp_fd, 7);
    EXPECT_EQ(back->seccomp->syscalls[1].args[0].value, 0x7e020000u);
    EXPECT_EQ(back->seccomp->syscalls[1].args[1].value_two, 9u);
    EXPECT_EQ(back->seccomp->syscalls[1].errno_ret, 1u);
    EXPECT_FALSE(back->seccomp->syscalls[0].errno_ret);
    EXPECT_EQ(back->start_container_hooks[0].timeout, 5);
    EXPECT_EQ(back->recursive_readonly_mounts, c.recursive_readonly_mounts);
    EXPECT_TRUE(back->readonly_dev);
    EXPECT_EQ(back->start_container_hooks[0].env, std::vector<std::string>{"A=1"});
    EXPECT_FALSE(back->start_container_hooks[1].timeout);
    EXPECT_EQ(back->masked_paths, c.masked_paths);
    EXPECT_TRUE(back->readonly_root);
    EXPECT_EQ(back->console_fd, 5);
    EXPECT_EQ(back->preserve_fds, 2);
    EXPECT_EQ(back->fifo, c.fifo);
    EXPECT_EQ(back->cleanup_dir, c.cleanup_dir);
}

TEST(InitConfig, MinimalRoundTrip) {
    plan::InitConfig c;
    c.process.args = {"/init"};
    auto back = plan::init_config_from_json(plan::init_config_to_json(c));
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_FALSE(back->seccomp);
    EXPECT_FALSE(back->process.capabilities);
    EXPECT_FALSE(back->process.user.umask);
    EXPECT_FALSE(back->process.oom_score_adj);
    EXPECT_EQ(back->console_fd, -1);
}

TEST(InitConfig, RejectsBadInput) {
    EXPECT_FALSE(plan::init_config_from_json("{"));
    auto r = plan::init_config_from_json(R"({"process":{"args":["/x"],"cwd":"/"},"bogus":1})");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "init config: init.bogus: unknown key");
    r = plan::init_config_from_json(R"({"process":{"args":["/x"],"cwd":"/"},"consoleFd":"3"})");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "init config: init.consoleFd: expected an integer");
    r = plan::init_config_from_json(R"({"readonlyRoot":true})");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "init config: init.process: required");
}
