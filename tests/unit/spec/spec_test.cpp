#include "spec/spec.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>

using lxcri::spec::parse;
using lxcri::spec::parse_process;
using lxcri::spec::parse_resources;
using nlohmann::json;

namespace {

json minimal() {
    return json::parse(R"({
        "ociVersion": "1.0.2",
        "root": {"path": "rootfs"},
        "process": {"args": ["/bin/sh"], "cwd": "/"},
        "linux": {"namespaces": [{"type": "mount"}, {"type": "pid"}]}
    })");
}

// Parses j and returns the error message ("" on success).
std::string error_of(const json& j) {
    auto r = parse(j.dump());
    return r ? "" : r.error().message();
}

} // namespace

TEST(Spec, MinimalParses) {
    auto r = parse(minimal().dump());
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->oci_version, "1.0.2");
    EXPECT_EQ(r->root.path, "rootfs");
    ASSERT_TRUE(r->process);
    EXPECT_EQ(r->process->args, std::vector<std::string>{"/bin/sh"});
    ASSERT_TRUE(r->linux_);
    EXPECT_EQ(r->linux_->namespaces.size(), 2u);
    EXPECT_TRUE(r->unknown_keys.empty());
}

TEST(Spec, MalformedJson) {
    auto r = parse("{\"ociVersion\": ");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("invalid JSON"), std::string::npos) << r.error().message();
    EXPECT_FALSE(parse(""));
    EXPECT_FALSE(parse("[]"));
    EXPECT_FALSE(parse("null"));
    EXPECT_FALSE(parse("{\"a\":1} trailing"));
}

TEST(Spec, DeepNestingDoesNotCrash) {
    // Up to Go's limit (10000 levels, the top-level object included) an unknown key may nest...
    std::string deep(9999, '[');
    deep += std::string(9999, ']');
    auto r = parse("{\"ociVersion\":\"1\",\"root\":{\"path\":\"r\"},\"x\":" + deep + "}");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->unknown_keys, std::vector<std::string>{"x"});
    // ...deeper is refused with a clear error, as runc refuses it.
    auto deeper = parse("{\"ociVersion\":\"1\",\"root\":{\"path\":\"r\"},\"x\":[" + deep + "]}");
    ASSERT_FALSE(deeper);
    EXPECT_NE(deeper.error().message().find("exceeded max depth 10000"), std::string::npos);
    std::string unterminated(200000, '{');
    EXPECT_FALSE(parse(unterminated));
}

TEST(Spec, WrongTypesNameThePath) {
    auto j = minimal();
    j["process"]["user"] = {{"uid", "0"}};
    EXPECT_EQ(error_of(j), "process.user.uid: expected an unsigned integer");

    j = minimal();
    j["process"]["user"] = {{"uid", -1}};
    EXPECT_EQ(error_of(j), "process.user.uid: expected an unsigned integer");

    j = minimal();
    j["process"]["user"] = {{"uid", 1.5}};
    EXPECT_EQ(error_of(j), "process.user.uid: expected an unsigned integer");

    j = minimal();
    j["process"]["user"] = {{"gid", 4294967296ull}};
    EXPECT_EQ(error_of(j), "process.user.gid: value out of range (32 bits)");

    j = minimal();
    j["process"]["terminal"] = "yes";
    EXPECT_EQ(error_of(j), "process.terminal: expected a boolean");

    j = minimal();
    j["process"]["args"] = "/bin/sh";
    EXPECT_EQ(error_of(j), "process.args: expected an array");

    j = minimal();
    j["process"]["args"] = {"/bin/sh", 3};
    EXPECT_EQ(error_of(j), "process.args[1]: expected a string");

    j = minimal();
    j["mounts"] = {{{"destination", "/proc"}, {"options", {"ro", false}}}};
    EXPECT_EQ(error_of(j), "mounts[0].options[1]: expected a string");

    j = minimal();
    j["linux"]["resources"] = {{"memory", {{"limit", "1G"}}}};
    EXPECT_EQ(error_of(j), "linux.resources.memory.limit: expected an integer");

    j = minimal();
    j["annotations"] = {{"a", 1}};
    EXPECT_EQ(error_of(j), "annotations.a: expected a string");

    j = minimal();
    j["linux"]["sysctl"] = json::array();
    EXPECT_EQ(error_of(j), "linux.sysctl: expected an object");
}

TEST(Spec, NullMeansAbsent) {
    auto j = minimal();
    j["hostname"] = nullptr;
    j["mounts"] = nullptr;
    j["process"]["rlimits"] = nullptr;
    auto r = parse(j.dump());
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(r->hostname.empty());
    EXPECT_TRUE(r->mounts.empty());
}

TEST(Spec, RequiredFields) {
    auto j = minimal();
    j.erase("ociVersion");
    EXPECT_EQ(error_of(j), "ociVersion: required");

    j = minimal();
    j["root"].erase("path");
    EXPECT_EQ(error_of(j), "root.path: required");

    j = minimal();
    j.erase("root");
    EXPECT_EQ(error_of(j), "root: required");

    j = minimal();
    j["process"]["args"] = json::array();
    EXPECT_EQ(error_of(j), "process.args: must not be empty");

    j = minimal();
    j["process"].erase("args");
    EXPECT_EQ(error_of(j), "process.args: must not be empty");

    j = minimal();
    j["process"]["cwd"] = "tmp";
    EXPECT_EQ(error_of(j), "process.cwd: must be an absolute path");

    j = minimal();
    j["process"].erase("cwd");
    EXPECT_EQ(error_of(j), "process.cwd: required");

    j = minimal();
    j.erase("process");
    EXPECT_TRUE(parse(j.dump())) << "process is optional in config.json";
}

TEST(Spec, MountValidation) {
    auto j = minimal();
    j["mounts"] = {{{"destination", "proc"}, {"type", "proc"}}};
    EXPECT_EQ(error_of(j), "mounts[0].destination: must be an absolute path");

    j = minimal();
    j["mounts"] = {{{"type", "proc"}}};
    EXPECT_EQ(error_of(j), "mounts[0].destination: required");

    j = minimal();
    j["mounts"] = {{{"destination", "/data"},
                    {"type", "bind"},
                    {"source", "/srv"},
                    {"uidMappings", {{{"containerID", 0}, {"hostID", 1000}, {"size", 1}}}}}};
    auto r = parse(j.dump());
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(r->mounts[0].has_idmap);
}

TEST(Spec, NamespaceValidation) {
    auto j = minimal();
    j["linux"]["namespaces"].push_back({{"type", "bogus"}});
    EXPECT_EQ(error_of(j), "linux.namespaces[2].type: unknown namespace type \"bogus\"");

    j = minimal();
    j["linux"]["namespaces"].push_back({{"type", "pid"}, {"path", "/proc/1/ns/pid"}});
    EXPECT_EQ(error_of(j), "linux.namespaces[2]: duplicate namespace \"pid\"");

    j = minimal();
    j["linux"]["namespaces"].push_back({{"type", "net"}});
    EXPECT_NE(error_of(j).find("unknown namespace type \"net\""), std::string::npos);

    j = minimal();
    j["linux"]["namespaces"].push_back({{"type", "network"}, {"path", "proc/1/ns/net"}});
    EXPECT_EQ(error_of(j), "linux.namespaces[2].path: must be an absolute path");
}

TEST(Spec, RlimitValidation) {
    auto j = minimal();
    j["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 1024}, {"hard", 4096}}};
    auto r = parse(j.dump());
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->process->rlimits[0].hard, 4096u);

    j["process"]["rlimits"] = {{{"type", "RLIMIT_BOGUS"}, {"soft", 1}, {"hard", 1}}};
    EXPECT_EQ(error_of(j), "process.rlimits[0].type: unknown resource limit \"RLIMIT_BOGUS\"");

    j["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 10}, {"hard", 1}}};
    EXPECT_EQ(error_of(j), "process.rlimits[0]: soft limit exceeds hard limit");

    j["process"]["rlimits"] = {{{"type", "RLIMIT_CORE"}, {"soft", 1}, {"hard", 1}},
                               {{"type", "RLIMIT_CORE"}, {"soft", 1}, {"hard", 1}}};
    EXPECT_EQ(error_of(j), "process.rlimits[1]: duplicate limit RLIMIT_CORE");
}

TEST(Spec, IdMappingValidation) {
    auto j = minimal();
    j["linux"]["namespaces"].push_back({{"type", "user"}});
    j["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
    j["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
    EXPECT_EQ(error_of(j), "");

    auto k = j;
    k["linux"]["uidMappings"][0]["size"] = 0;
    EXPECT_EQ(error_of(k), "linux.uidMappings[0].size: must be greater than zero");

    k = j;
    k["linux"]["gidMappings"][0]["hostID"] = 4294967295u;
    EXPECT_EQ(error_of(k), "linux.gidMappings[0].size: mapping exceeds the 32-bit id range");

    k = j;
    k["linux"].erase("gidMappings");
    EXPECT_EQ(error_of(k), "linux.uidMappings: a new user namespace needs uid and gid mappings");

    k = minimal();
    k["linux"]["uidMappings"] = j["linux"]["uidMappings"];
    EXPECT_EQ(error_of(k), "linux.uidMappings: id mappings need a user namespace");
}

TEST(Spec, DeviceValidation) {
    auto j = minimal();
    j["linux"]["devices"] = {{{"path", "/dev/fuse"}, {"type", "c"}, {"major", 10}, {"minor", 229}}};
    EXPECT_EQ(error_of(j), "");

    j["linux"]["devices"][0]["type"] = "x";
    EXPECT_EQ(error_of(j), "linux.devices[0].type: unknown device type \"x\" (c, b, u or p)");

    j["linux"]["devices"] = {{{"path", "/dev/sda"}, {"type", "b"}, {"minor", 0}}};
    EXPECT_EQ(error_of(j), "linux.devices[0].major: required");

    j["linux"]["devices"] = {{{"path", "/dev/fifo"}, {"type", "p"}}};
    EXPECT_EQ(error_of(j), "");

    j["linux"]["devices"] = {{{"path", "dev/fifo"}, {"type", "p"}}};
    EXPECT_EQ(error_of(j), "linux.devices[0].path: must be an absolute path");

    j = minimal();
    j["linux"]["resources"] = {{"devices", {{{"allow", false}, {"type", "q"}}}}};
    EXPECT_EQ(error_of(j), "linux.resources.devices[0].type: unknown device type \"q\" (a, b or c)");

    j["linux"]["resources"] = {{"devices", {{{"allow", true}, {"access", "rwx"}}}}};
    EXPECT_EQ(error_of(j), "linux.resources.devices[0].access: invalid access \"rwx\" (letters r, w, m)");

    // runc 1.1 takes "rwa" (measured: the rule is applied); "a" stands for all three letters.
    j["linux"]["resources"] = {{"devices", {{{"allow", true}, {"type", "c"}, {"access", "rwa"}}}}};
    EXPECT_EQ(error_of(j), "");

    j["linux"]["resources"] = {{"devices", {{{"access", "rwm"}}}}};
    EXPECT_EQ(error_of(j), "linux.resources.devices[0].allow: required");
}

TEST(Spec, SeccompValidation) {
    auto j = minimal();
    j["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ERRNO"},
                             {"defaultErrnoRet", 1},
                             {"syscalls",
                              {{{"names", {"personality"}},
                                {"action", "SCMP_ACT_ALLOW"},
                                {"args", {{{"index", 0}, {"value", 8}, {"op", "SCMP_CMP_EQ"}}}}}}}};
    auto r = parse(j.dump());
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_TRUE(r->linux_->seccomp);
    EXPECT_EQ(r->linux_->seccomp->default_errno_ret, 1u);
    EXPECT_EQ(r->linux_->seccomp->syscalls[0].args[0].value, 8u);

    auto k = j;
    k["linux"]["seccomp"]["defaultAction"] = "SCMP_ACT_MAYBE";
    EXPECT_EQ(error_of(k), "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_MAYBE\"");
    k = j;
    k["linux"]["seccomp"]["syscalls"][0]["args"][0]["op"] = "SCMP_CMP_XX";
    EXPECT_EQ(error_of(k), "linux.seccomp.syscalls[0].args[0].op: unknown operator \"SCMP_CMP_XX\"");
    k = j;
    k["linux"]["seccomp"]["syscalls"][0]["args"][0]["index"] = 6;
    EXPECT_EQ(error_of(k), "linux.seccomp.syscalls[0].args[0].index: value out of range (0 to 5)");
    k = j;
    k["linux"]["seccomp"]["syscalls"][0]["names"] = json::array();
    EXPECT_EQ(error_of(k), "linux.seccomp.syscalls[0].names: must not be empty");
}

TEST(Spec, OtherValidation) {
    auto j = minimal();
    j["process"]["env"] = {"PATH=/bin", "NOEQUALS"};
    EXPECT_EQ(error_of(j), "process.env[1]: expected KEY=value");

    j = minimal();
    j["process"]["oomScoreAdj"] = 1001;
    EXPECT_EQ(error_of(j), "process.oomScoreAdj: value out of range (-1000 to 1000)");

    j = minimal();
    j["hooks"] = {{"prestart", {{{"path", "hook"}}}}};
    EXPECT_EQ(error_of(j), "hooks.prestart[0].path: must be an absolute path");

    j = minimal();
    j["hooks"] = {{"poststop", {{{"path", "/bin/true"}, {"timeout", 0}}}}};
    EXPECT_EQ(error_of(j), "hooks.poststop[0].timeout: must be greater than zero");

    j = minimal();
    j["linux"]["rootfsPropagation"] = "sideways";
    EXPECT_EQ(error_of(j), "linux.rootfsPropagation: unknown propagation \"sideways\"");

    j = minimal();
    j["linux"]["maskedPaths"] = {"proc/kcore"};
    EXPECT_EQ(error_of(j), "linux.maskedPaths[0]: must be an absolute path");

    j = minimal();
    j["linux"]["personality"] = {{"domain", "LINUX64"}};
    EXPECT_EQ(error_of(j), "linux.personality.domain: unknown domain \"LINUX64\" (LINUX or LINUX32)");

    j = minimal();
    j["hostname"] = std::string("a\0b", 3);
    EXPECT_EQ(error_of(j), "hostname: contains a NUL byte");
}

TEST(Spec, UnknownKeysAreCollected) {
    auto j = minimal();
    j["solaris"] = {{"milestone", "x"}};
    j["windows"] = json::object();
    j["process"]["scheduler"] = {{"policy", "SCHED_OTHER"}};
    j["linux"]["resources"] = {{"cpu", {{"burst", 10}}}};
    j["linux"]["memoryPolicy"] = {{"mode", "MPOL_BIND"}};
    auto r = parse(j.dump());
    ASSERT_TRUE(r) << r.error().message();
    std::vector<std::string> want = {"solaris", "windows", "process.scheduler", "linux.memoryPolicy",
                                     "linux.resources.cpu.burst"};
    std::sort(want.begin(), want.end());
    auto got = r->unknown_keys;
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, want);
}

TEST(Spec, FlaggedSections) {
    auto j = minimal();
    j["linux"]["intelRdt"] = {{"closID", "x"}};
    j["linux"]["timeOffsets"] = {{"monotonic", {{"secs", 1}}}};
    j["linux"]["personality"] = {{"domain", "LINUX32"}};
    j["process"]["ioPriority"] = {{"class", "IOPRIO_CLASS_IDLE"}, {"priority", 7}};
    auto r = parse(j.dump());
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(r->linux_->has_intel_rdt);
    EXPECT_TRUE(r->linux_->has_time_offsets);
    EXPECT_EQ(r->linux_->personality_domain, "LINUX32");
    EXPECT_EQ(r->process->io_priority_class, "IOPRIO_CLASS_IDLE");

    j["process"]["ioPriority"] = {{"class", "IOPRIO_CLASS_IDLE"}, {"priority", 8}};
    EXPECT_EQ(error_of(j), "process.ioPriority.priority: value out of range (0 to 7)");
    j["linux"]["intelRdt"] = "on";
    j["process"].erase("ioPriority");
    EXPECT_EQ(error_of(j), "linux.intelRdt: expected an object");
}

TEST(Spec, ParseProcess) {
    auto r = parse_process(R"({"args":["ls","-l"],"cwd":"/tmp","env":["A=b"],"user":{"uid":5,"gid":6,
        "additionalGids":[7,8],"umask":18},"capabilities":{"bounding":["CAP_CHOWN"],"ambient":[]},
        "terminal":true,"consoleSize":{"height":24,"width":80},"noNewPrivileges":true,"oomScoreAdj":-5})");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->args.size(), 2u);
    EXPECT_EQ(r->user.uid, 5u);
    EXPECT_EQ(r->user.additional_gids, (std::vector<uint32_t>{7, 8}));
    EXPECT_EQ(r->user.umask, 18u);
    ASSERT_TRUE(r->capabilities);
    EXPECT_TRUE(r->capabilities->ambient.has_value());
    EXPECT_TRUE(r->capabilities->ambient->empty());
    EXPECT_FALSE(r->capabilities->permitted.has_value());
    EXPECT_EQ(r->console_size->width, 80u);
    EXPECT_EQ(r->oom_score_adj, -5);

    auto bad = parse_process(R"({"args":[],"cwd":"/"})");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message(), "process.args: must not be empty");
    EXPECT_FALSE(parse_process("not json"));
}

TEST(Spec, ParseResources) {
    auto r = parse_resources(R"({"memory":{"limit":1048576,"swap":-1},"cpu":{"shares":512,"cpus":"0-1"},
        "pids":{"limit":100},"blockIO":{"weight":500,"throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1000}]},
        "hugepageLimits":[{"pageSize":"2MB","limit":0}],"rdma":{"mlx":{"hcaHandles":3}},
        "network":{"classID":1,"priorities":[{"name":"eth0","priority":5}]},"unified":{"io.weight":"100"}})");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->memory->limit, 1048576);
    EXPECT_EQ(r->memory->swap, -1);
    EXPECT_EQ(r->cpu->shares, 512u);
    EXPECT_EQ(r->pids_limit, 100);
    EXPECT_EQ(r->block_io->weight, 500);
    EXPECT_EQ(r->block_io->throttle_read_bps[0].rate, 1000u);
    EXPECT_EQ(r->hugepage_limits[0].page_size, "2MB");
    EXPECT_EQ(r->rdma.at("mlx").hca_handles, 3u);
    EXPECT_EQ(r->network_class_id, 1u);
    EXPECT_EQ(r->network_priorities[0].second, 5u);
    EXPECT_EQ(r->unified.at("io.weight"), "100");

    auto bad = parse_resources(R"({"pids":{}})");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message(), "resources.pids.limit: required");
    bad = parse_resources(R"({"blockIO":{"weight":70000}})");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message(), "resources.blockIO.weight: value out of range (16 bits)");
}

TEST(Spec, LoadReadsBundle) {
    std::string dir = ::testing::TempDir() + "/spec-load-test";
    std::string cmd = "mkdir -p " + dir;
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    FILE* f = std::fopen((dir + "/config.json").c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::string text = minimal().dump();
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
    auto r = lxcri::spec::load(dir);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->root.path, "rootfs");
    auto missing = lxcri::spec::load(dir + "/nope");
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message().find("nope/config.json"), std::string::npos);
}
