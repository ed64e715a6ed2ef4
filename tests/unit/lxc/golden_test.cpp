// Golden tests: tests/golden/NAME.json (a config.json) -> NAME.lxc (liblxc keys) and NAME.gaps (plan + lxc
// gaps) for a hybrid host; NAME.unified.lxc / NAME.unified.gaps exist only where a pure cgroup2 host differs.
// LXCRI_UPDATE_GOLDEN=1 rewrites the expected files from the current output.
#include "backend/lxc/lxc_config.hpp"
#include "plan/plan.hpp"
#include "spec/spec.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace lxcri;
namespace fs = std::filesystem;

namespace {

const fs::path kGoldenDir = fs::path(LXCRI_SOURCE_DIR) / "tests" / "golden";

struct Output {
    std::string lxc, gaps;
};

std::string gaps_text(const std::vector<plan::Gap>& gaps) {
    std::string out;
    for (const auto& g : gaps)
        out += g.field + ": " + g.reason + "\n";
    return out;
}

// The whole pure pipeline; a failure is recorded as the expected output ("error: ...").
Output run(const std::string& config, cgroup::Mode mode) {
    auto s = spec::parse(config);
    if (!s) return {"error: " + s.error().message() + "\n", ""};
    auto p = plan::make_plan(*s, {.id = "ID", .bundle = "/bundle"});
    if (!p) return {"error: " + p.error().message() + "\n", ""};
    // The hierarchies of this machine's kind: hybrid v1 with hugetlb only in cgroup2.
    std::vector<std::string> hierarchies;
    if (mode != cgroup::Mode::Unified) hierarchies = {"blkio", "cpu", "memory", "pids", "systemd", "unified"};
    lxc::HostEnv env{.helper_dir = "/run/proxmox-lxcri/ID/helper",
                     .cgroup_mode = mode,
                     .v2_controllers = {"hugetlb"},
                     .cgroup_hierarchies = hierarchies,
                     .log_file = "/run/proxmox-lxcri/ID/lxc.log",
                     .log_level = "ERROR"};
    auto c = lxc::lxc_config(*p, env);
    if (!c) return {"error: " + c.error().message() + "\n", gaps_text(p->gaps)};
    std::vector<plan::Gap> gaps = p->gaps;
    gaps.insert(gaps.end(), c->gaps.begin(), c->gaps.end());
    return {lxc::to_text(*c), gaps_text(gaps)};
}

std::string read(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void write(const fs::path& p, const std::string& text) {
    std::ofstream out(p);
    out << text;
}

std::vector<std::string> lines(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    for (std::string l; std::getline(ss, l);)
        out.push_back(l);
    return out;
}

// A line diff (LCS based): "-" expected only, "+" actual only.
std::string diff(const std::string& expected, const std::string& actual) {
    auto a = lines(expected), b = lines(actual);
    std::vector<std::vector<size_t>> lcs(a.size() + 1, std::vector<size_t>(b.size() + 1, 0));
    for (size_t i = a.size(); i-- > 0;)
        for (size_t j = b.size(); j-- > 0;)
            lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    std::string out;
    size_t i = 0, j = 0;
    while (i < a.size() || j < b.size()) {
        if (i < a.size() && j < b.size() && a[i] == b[j]) {
            out += "  " + a[i++] + "\n";
            ++j;
        } else if (i < a.size() && (j == b.size() || lcs[i + 1][j] >= lcs[i][j + 1])) {
            out += "- " + a[i++] + "\n";
        } else {
            out += "+ " + b[j++] + "\n";
        }
    }
    return out;
}

bool updating() {
    const char* v = std::getenv("LXCRI_UPDATE_GOLDEN");
    return v && std::string(v) == "1";
}

void check(const fs::path& expected_file, const std::string& actual) {
    if (updating()) {
        write(expected_file, actual);
        return;
    }
    ASSERT_TRUE(fs::exists(expected_file)) << expected_file << " is missing; run with LXCRI_UPDATE_GOLDEN=1";
    std::string expected = read(expected_file);
    EXPECT_EQ(expected, actual) << expected_file.filename().string() << " differs:\n"
                                << diff(expected, actual);
}

// The unified expectation is a separate file only where it differs from the hybrid one.
void check_unified(const fs::path& unified_file, const std::string& hybrid, const std::string& unified,
                   const fs::path& hybrid_file) {
    if (updating()) {
        if (unified != hybrid)
            write(unified_file, unified);
        else
            fs::remove(unified_file);
        return;
    }
    check(fs::exists(unified_file) ? unified_file : hybrid_file, unified);
}

std::vector<std::string> golden_names() {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(kGoldenDir))
        if (e.path().extension() == ".json") names.push_back(e.path().stem().string());
    std::sort(names.begin(), names.end());
    return names;
}

class Golden : public ::testing::TestWithParam<std::string> {};

} // namespace

TEST_P(Golden, MatchesExpected) {
    fs::path base = kGoldenDir / GetParam();
    std::string config = read(base.string() + ".json");
    ASSERT_FALSE(config.empty());
    Output hybrid = run(config, cgroup::Mode::Hybrid);
    Output unified = run(config, cgroup::Mode::Unified);
    check(base.string() + ".lxc", hybrid.lxc);
    check(base.string() + ".gaps", hybrid.gaps);
    check_unified(base.string() + ".unified.lxc", hybrid.lxc, unified.lxc, base.string() + ".lxc");
    check_unified(base.string() + ".unified.gaps", hybrid.gaps, unified.gaps, base.string() + ".gaps");
}

INSTANTIATE_TEST_SUITE_P(All, Golden, ::testing::ValuesIn(golden_names()), [](const auto& info) {
    std::string n = info.param;
    std::replace(n.begin(), n.end(), '-', '_');
    return n;
});

TEST(GoldenSet, HasEnoughInputs) {
    EXPECT_GE(golden_names().size(), 8u);
}

TEST(GoldenDiff, ShowsChangedLines) {
    EXPECT_EQ(diff("a\nb\nc\n", "a\nx\nc\n"), "  a\n- b\n+ x\n  c\n");
    EXPECT_EQ(diff("a\n", "a\nb\n"), "  a\n+ b\n");
}
