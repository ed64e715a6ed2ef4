#include "runtime/state.hpp"
#include "sys/log.hpp"
#include "sys/proc.hpp"

#include <algorithm>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace lxcri;
using namespace lxcri::runtime;

TEST(State, StatusFollowsObservationAndFlags) {
    State s;
    s.id = "x";
    s.creating = false;
    backend::Observed alive{.init_alive = true};
    EXPECT_EQ(ContainerStatus(s, alive).value(), RunState::Created);
    s.started = true;
    EXPECT_EQ(ContainerStatus(s, alive).value(), RunState::Running);
    EXPECT_EQ(ContainerStatus(s, {.init_alive = true, .frozen = true}).value(), RunState::Paused);
    EXPECT_EQ(ContainerStatus(s, {}).value(), RunState::Stopped);
    // A frozen cgroup without a live init is a stopped container.
    EXPECT_EQ(ContainerStatus(s, {.frozen = true}).value(), RunState::Stopped);
}

TEST(State, KilledCreateIsStoppedOnceNothingRuns) {
    State s;
    s.creating = true;
    EXPECT_EQ(ContainerStatus(s, {.setup_alive = true}).value(), RunState::Creating);
    EXPECT_EQ(ContainerStatus(s, {.init_alive = true}).value(), RunState::Creating);
    EXPECT_EQ(ContainerStatus(s, {}).value(), RunState::Stopped);
}

// The one transition table: which verb each status allows, and runc's words (with a kind) when it does not.
TEST(State, TransitionTable) {
    using enum RunState;
    struct Row {
        Verb verb;
        std::vector<RunState> allowed;
        std::string refusal; // for the first refused status
    };
    const std::vector<Row> table = {
        {Verb::Start, {Created}, "cannot start an already running container"},
        {Verb::Kill, {Created, Running, Paused}, "container not running"},
        {Verb::Delete, {Created, Stopped}, "cannot delete container c that is not stopped: creating"},
        {Verb::Exec, {Created, Running}, "cannot exec in a stopped container"},
        {Verb::Pause, {Running}, "container not running"},
        {Verb::Resume, {Paused}, "container not paused"},
        {Verb::Update, {Creating, Created, Running, Paused}, "container not running"},
        {Verb::Events, {Creating, Created, Running, Paused}, "container with id c is not running"},
        {Verb::Ps, {Creating, Created, Running, Paused, Stopped}, ""},
        {Verb::Checkpoint, {Running}, "container is not running"},
    };
    for (const auto& row : table) {
        bool first_refusal = true;
        for (RunState st : {Creating, Created, Running, Paused, Stopped}) {
            bool want = std::find(row.allowed.begin(), row.allowed.end(), st) != row.allowed.end();
            auto r = ContainerStatus(st).allows(row.verb, "c");
            EXPECT_EQ(r.has_value(), want) << static_cast<int>(row.verb) << " in " << status_name(st);
            if (!r) {
                EXPECT_EQ(r.error().kind(), ErrorKind::WrongState);
                if (first_refusal && st != Paused && st != Stopped) {
                    EXPECT_EQ(r.error().message(), row.refusal);
                }
                first_refusal = false;
            }
        }
    }
    EXPECT_EQ(ContainerStatus(Stopped).allows(Verb::Start, "c").error().message(),
              "cannot start a container that has stopped");
    EXPECT_EQ(ContainerStatus(Paused).allows(Verb::Exec, "c").error().message(),
              "cannot exec in a paused container");
}

TEST(State, OciStateJsonHasRuncFieldsInOrder) {
    State s;
    s.id = "c1";
    s.bundle = "/b";
    s.rootfs = "/b/rootfs";
    s.created = "2024-01-01T00:00:00Z";
    s.pid = 1234;
    s.creating = false;
    auto text = oci_state_json(s, RunState::Stopped, 0);
    EXPECT_EQ(
        text,
        "{\"ociVersion\":\"1.0.2-dev\",\"id\":\"c1\",\"pid\":0,\"status\":\"stopped\",\"bundle\":\"/b\","
        "\"rootfs\":\"/b/rootfs\",\"created\":\"2024-01-01T00:00:00Z\",\"owner\":\"\"}");
    s.annotations = {{"a", "b"}};
    auto j = nlohmann::json::parse(oci_state_json(s, RunState::Running, 2));
    EXPECT_EQ(j["annotations"]["a"], "b");
    EXPECT_EQ(j["pid"], 1234);
}

TEST(State, PersistedStateKeepsBackendRecordAndStorage) {
    State s;
    s.id = "c1";
    s.bundle = "/b";
    s.backend = "lxc";
    s.backend_state = {{"initPid", 7}, {"preexisting", {"/sys/fs/cgroup/x"}}};
    s.storage = StorageRef{"overlay", "/var/lib/s", "c1"};
    auto back = state_from_json(state_to_json(s));
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(back->backend, "lxc");
    EXPECT_EQ(back->backend_state, s.backend_state);
    EXPECT_EQ(back->storage, s.storage);
    s.storage.reset();
    EXPECT_FALSE(state_from_json(state_to_json(s))->storage);
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
