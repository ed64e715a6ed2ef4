#include "image/progress.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <sstream>

using namespace lxcri::image;

TEST(Progress, Formatting) {
    EXPECT_EQ(Progress::human(512), "512B");
    EXPECT_EQ(Progress::human(1536), "1.5KiB");
    EXPECT_EQ(Progress::human(100 << 20), "100.0MiB");
    EXPECT_EQ(Progress::bar_line("abc", 5, 10, "", 10), "abc [=====>    ] 5B / 10B");
    EXPECT_EQ(Progress::bar_line("abc", 10, 10, "done", 4), "abc [====] 10B / 10B  done");
    EXPECT_EQ(Progress::bar_line("abc", 3, -1, "", 2), "abc [  ] 3B / ?");
}

namespace {
std::string drain(int fd) {
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0)
        out.append(buf, static_cast<size_t>(n));
    return out;
}
} // namespace

TEST(Progress, JsonLines) {
    int p[2];
    ASSERT_EQ(::pipe2(p, O_NONBLOCK), 0);
    {
        Progress pr(ProgressMode::Json, p[1]);
        pr.add("blob1", 1000);
        for (int i = 1; i <= 1000; i++)
            pr.update("blob1", i);
        pr.finish("blob1", "done");
    }
    std::string out = drain(p[0]);
    ::close(p[0]);
    ::close(p[1]);
    std::istringstream in(out);
    std::string line;
    int lines = 0;
    std::string last_status;
    while (std::getline(in, line)) {
        auto j = nlohmann::json::parse(line);
        EXPECT_EQ(j["level"], "info");
        EXPECT_EQ(j["id"], "blob1");
        EXPECT_EQ(j["total"], 1000);
        last_status = j["status"];
        lines++;
    }
    EXPECT_GE(lines, 3);
    EXPECT_LE(lines, 14); // throttled to ~10% steps
    EXPECT_EQ(last_status, "done");
}

TEST(Progress, AutoIsQuietWhenNotATty) {
    int p[2];
    ASSERT_EQ(::pipe2(p, O_NONBLOCK), 0);
    {
        Progress pr(ProgressMode::Auto, p[1]);
        EXPECT_EQ(pr.mode(), ProgressMode::Quiet);
        pr.add("x", 10);
        pr.update("x", 5);
        pr.finish("x", "done");
        pr.note("hello");
    }
    EXPECT_EQ(drain(p[0]), "");
    ::close(p[0]);
    ::close(p[1]);
}

TEST(Progress, BarsRedrawInPlace) {
    int p[2];
    ASSERT_EQ(::pipe2(p, O_NONBLOCK), 0);
    {
        Progress pr(ProgressMode::Bars, p[1]);
        pr.add("a", 100);
        pr.add("b", 100);
        pr.finish("a", "done");
    }
    std::string out = drain(p[0]);
    ::close(p[0]);
    ::close(p[1]);
    EXPECT_NE(out.find("\x1b[2A"), std::string::npos); // cursor moved up over the two bars
    EXPECT_NE(out.find("a [" + std::string(30, '=') + "] 100B / 100B  done"), std::string::npos) << out;
}
