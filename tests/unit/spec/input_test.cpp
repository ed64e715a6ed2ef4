// Bounded input: size limit on config.json / process / resources files, nesting limit on every JSON text.
#include "spec/input.hpp"
#include "spec/json.hpp"
#include "spec/spec.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

namespace spec = lxcri::spec;
namespace fs = std::filesystem;

namespace {

std::string temp_dir(const std::string& name) {
    fs::path d = fs::path(::testing::TempDir()) / ("spec-input-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(d);
    fs::create_directories(d);
    return d.string();
}

void write(const std::string& path, const std::string& text) {
    FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
}

std::string nested(size_t depth, char open = '[', char close = ']') {
    return std::string(depth, open) + std::string(depth, close);
}

} // namespace

TEST(SpecInput, ConfigLinkedToDevZeroIsAnErrorNotAnAllocationFailure) {
    std::string dir = temp_dir("zero");
    fs::create_symlink("/dev/zero", dir + "/config.json");
    auto r = spec::load(dir);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("config.json: larger than 16777216 bytes"), std::string::npos)
        << r.error().message();
}

TEST(SpecInput, ReadInputStopsAtTheLimit) {
    std::string dir = temp_dir("limit");
    write(dir + "/f", std::string(100, 'x'));
    EXPECT_EQ(spec::read_input(dir + "/f", "f", 100).value().size(), 100u);
    auto r = spec::read_input(dir + "/f", "process", 99);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "process: larger than 99 bytes");
    auto missing = spec::read_input(dir + "/nope", "f");
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message().find("No such file"), std::string::npos);
}

TEST(SpecInput, ReadInputDashIsStandardInput) {
    std::string dir = temp_dir("stdin");
    write(dir + "/p.json", R"({"args":["sh"],"cwd":"/"})");
    int saved = ::dup(0);
    int fd = ::open((dir + "/p.json").c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    ::dup2(fd, 0);
    ::close(fd);
    auto p = spec::load_process("-");
    ::dup2(saved, 0);
    ::close(saved);
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_EQ(p->args, std::vector<std::string>{"sh"});
}

TEST(SpecInput, ProcessAndResourcesFilesAreBounded) {
    std::string dir = temp_dir("bounded");
    fs::create_symlink("/dev/zero", dir + "/p.json");
    auto p = spec::load_process(dir + "/p.json");
    ASSERT_FALSE(p);
    EXPECT_NE(p.error().message().find("process: larger than"), std::string::npos) << p.error().message();
    auto r = spec::load_resources(dir + "/p.json");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("resources: larger than"), std::string::npos) << r.error().message();
}

TEST(SpecInput, NestingIsLimitedLikeGo) {
    EXPECT_TRUE(spec::json::parse_text(nested(spec::kMaxJsonDepth)));
    auto deep = spec::json::parse_text(nested(spec::kMaxJsonDepth + 1));
    ASSERT_FALSE(deep);
    EXPECT_NE(deep.error().message().find("exceeded max depth 10000"), std::string::npos);
    // Objects count as arrays do; brackets inside strings do not count.
    std::string objs;
    for (size_t i = 0; i <= spec::kMaxJsonDepth; ++i)
        objs += "{\"a\":";
    objs += "1" + std::string(spec::kMaxJsonDepth + 1, '}');
    EXPECT_FALSE(spec::json::parse_text(objs));
    EXPECT_TRUE(spec::json::parse_text("[\"" + std::string(20000, '[') + "\\\"[\"]"));
}

TEST(SpecInput, VeryDeepNestingIsAnErrorNotAStackOverflow) {
    // Ten million levels: a recursive parser or destructor would overflow the stack.
    std::string text = nested(10'000'000);
    auto r = spec::parse(text);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("exceeded max depth"), std::string::npos);
    auto p = spec::parse_process(nested(10'000'000, '{', '}'));
    ASSERT_FALSE(p);
    EXPECT_NE(p.error().message().find("exceeded max depth"), std::string::npos);
}

TEST(SpecInput, InvalidUtf8InConfigIsAParseError) {
    std::string text = R"({"ociVersion":"1.0.2","root":{"path":"rootfs"},"annotations":{"a":"x)";
    text += "\xFF";
    text += R"("}})";
    auto r = spec::parse(text);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("invalid JSON"), std::string::npos) << r.error().message();
}
