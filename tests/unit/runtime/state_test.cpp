#include "runtime/state.hpp"
#include "sys/log.hpp"
#include "sys/proc.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace lxcri;
using namespace lxcri::runtime;

namespace {
// A pid that existed and is gone.
pid_t dead_pid() {
    pid_t p = fork();
    if (p == 0) _exit(0);
    int st;
    waitpid(p, &st, 0);
    return p;
}
} // namespace

TEST(State, StatusFollowsProcessesAndFlags) {
    State s;
    s.id = "x";
    s.init_pid = getpid();
    s.init_start_time = *sys::process_start_time(getpid());
    s.creating = false;
    EXPECT_EQ(s.status(), RunState::Created);
    EXPECT_TRUE(s.can_start());
    EXPECT_TRUE(s.can_delete());
    s.started = true;
    EXPECT_EQ(s.status(), RunState::Running);
    EXPECT_FALSE(s.can_start());
    EXPECT_FALSE(s.can_delete());
    EXPECT_TRUE(s.can_pause());
    s.init_start_time += 1; // same pid, another process: pid reuse
    EXPECT_EQ(s.status(), RunState::Stopped);
    s.init_pid = dead_pid();
    EXPECT_EQ(s.status(), RunState::Stopped);
    EXPECT_FALSE(s.can_kill());
    EXPECT_TRUE(s.can_delete());
}

TEST(State, KilledCreateIsStoppedOnceNothingRuns) {
    State s;
    s.creating = true;
    s.monitor_pid = getpid();
    EXPECT_EQ(s.status(), RunState::Creating);
    s.monitor_pid = dead_pid();
    EXPECT_EQ(s.status(), RunState::Stopped);
}

TEST(State, OciStateJsonHasRuncFieldsInOrder) {
    State s;
    s.id = "c1";
    s.bundle = "/b";
    s.rootfs = "/b/rootfs";
    s.created = "2024-01-01T00:00:00Z";
    s.init_pid = dead_pid();
    s.creating = false;
    auto text = oci_state_json(s, 0);
    EXPECT_EQ(
        text,
        "{\"ociVersion\":\"1.0.2-dev\",\"id\":\"c1\",\"pid\":0,\"status\":\"stopped\",\"bundle\":\"/b\","
        "\"rootfs\":\"/b/rootfs\",\"created\":\"2024-01-01T00:00:00Z\",\"owner\":\"\"}");
    s.annotations = {{"a", "b"}};
    auto j = nlohmann::json::parse(oci_state_json(s, 2));
    EXPECT_EQ(j["annotations"]["a"], "b");
}

TEST(Signals, NamesNumbersAndErrors) {
    EXPECT_EQ(*sys::parse_signal("KILL"), SIGKILL);
    EXPECT_EQ(*sys::parse_signal("SIGTERM"), SIGTERM);
    EXPECT_EQ(*sys::parse_signal("sigusr1"), SIGUSR1);
    EXPECT_EQ(*sys::parse_signal("9"), 9);
    EXPECT_EQ(*sys::parse_signal("RTMIN+2"), SIGRTMIN + 2);
    EXPECT_FALSE(sys::parse_signal("NOPE"));
    EXPECT_EQ(sys::parse_signal("NOPE").error().message(), "unknown signal \"NOPE\"");
    EXPECT_FALSE(sys::parse_signal("0"));
    EXPECT_FALSE(sys::parse_signal("999"));
}

TEST(Log, RuncLineFormats) {
    EXPECT_EQ(log::format_line(log::Level::Error, "bad \"x\"\n", true, "T"),
              "{\"level\":\"error\",\"msg\":\"bad \\\"x\\\"\\n\",\"time\":\"T\"}\n");
    EXPECT_EQ(log::format_line(log::Level::Warn, "w", false, "T"), "time=\"T\" level=warning msg=\"w\"\n");
    auto j = nlohmann::json::parse(log::format_line(log::Level::Error, "m", true, log::rfc3339_now()));
    EXPECT_EQ(j["level"], "error");
    EXPECT_EQ(j["msg"], "m");
    EXPECT_EQ(j["time"].get<std::string>().back(), 'Z');
}

TEST(Proc, RunCapturesOutputStatusAndTimeout) {
    auto r = sys::run({"sh", "-c", "cat; echo err >&2; exit 3"}, {}, "in", std::chrono::seconds(5));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->out, "in");
    EXPECT_EQ(r->err, "err\n");
    EXPECT_EQ(WEXITSTATUS(r->status), 3);
    auto t = sys::run({"sleep", "5"}, {}, "", std::chrono::milliseconds(100));
    ASSERT_FALSE(t);
    EXPECT_NE(t.error().message().find("timed out"), std::string::npos);
}
