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
        {Verb::ExecIgnorePaused, {Created, Running, Paused}, "cannot exec in a stopped container"},
        {Verb::Pause, {Running}, "container not running"},
        {Verb::Resume, {Paused}, "container not paused"},
        {Verb::Update, {Creating, Created, Running, Paused}, "container not running"},
        {Verb::Events, {Creating, Created, Running, Paused}, "container with id c is not running"},
        {Verb::Ps, {Creating, Created, Running, Paused, Stopped}, ""},
        {Verb::Checkpoint, {Running, Paused}, "Container cannot be checkpointed in creating state"},
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
              "cannot exec in a paused container (use --ignore-paused to override)");
    EXPECT_EQ(ContainerStatus(Stopped).allows(Verb::ExecIgnorePaused, "c").error().message(),
              "cannot exec in a stopped container");
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
    EXPECT_EQ(sys::parse_signal("NOPE").error().kind(), ErrorKind::Invalid);
}

// runc 1.1's parseSignal: strconv.Atoi first (any int goes to kill(2), which judges the range; 0 checks
// liveness), then unix.SignalNum of the upper-cased name with "SIG" prepended when missing.
TEST(Signals, EveryNumberRuncTakes) {
    EXPECT_EQ(*sys::parse_signal("0"), 0);
    for (int n = 1; n <= 64; ++n)
        EXPECT_EQ(*sys::parse_signal(std::to_string(n)), n) << n;
    EXPECT_EQ(*sys::parse_signal("+10"), 10);
    EXPECT_EQ(*sys::parse_signal("010"), 10);
    EXPECT_EQ(*sys::parse_signal("-1"), -1); // kill(2) says EINVAL, as with runc
    EXPECT_EQ(*sys::parse_signal("65"), 65); // likewise
    EXPECT_EQ(*sys::parse_signal("2147483647"), 2147483647);
    EXPECT_EQ(*sys::parse_signal("-2147483648"), -2147483648LL);
    // Not an int: runc's Atoi fails, then no such name. (runc would truncate 2^32+15 to 15; we refuse it.)
    for (const char* bad : {"2147483648", "4294967311", "99999999999999999999", "", "+", "-", " 10", "10 ",
                            "1e3", "0x10", "++1"})
        EXPECT_EQ(sys::parse_signal(bad).error().message(), "unknown signal \"" + std::string(bad) + "\"")
            << bad;
}

TEST(Signals, EveryNameInAnyCaseWithOrWithoutSig) {
    const std::vector<std::pair<std::string, int>> runc_names = {
        {"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},   {"ILL", SIGILL},   {"TRAP", SIGTRAP},
        {"ABRT", SIGABRT},     {"BUS", SIGBUS},   {"FPE", SIGFPE},     {"KILL", SIGKILL}, {"USR1", SIGUSR1},
        {"SEGV", SIGSEGV},     {"USR2", SIGUSR2}, {"PIPE", SIGPIPE},   {"ALRM", SIGALRM}, {"TERM", SIGTERM},
        {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},   {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},
        {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU}, {"URG", SIGURG},     {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},
        {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},     {"PWR", SIGPWR},
        {"SYS", SIGSYS},
    };
    for (const auto& [name, sig] : runc_names) {
        std::string lower = name;
        for (auto& c : lower)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string mixed = lower;
        mixed[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(mixed[0])));
        for (const std::string& spelling : {name, "SIG" + name, lower, "sig" + lower, mixed, "Sig" + mixed})
            EXPECT_EQ(*sys::parse_signal(spelling), sig) << spelling;
    }
    // Beyond runc 1.1, as runc 1.2 (moby/sys/signal) takes them: the aliases and the realtime names.
    EXPECT_EQ(*sys::parse_signal("IOT"), SIGABRT);
    EXPECT_EQ(*sys::parse_signal("SIGPOLL"), SIGIO);
    EXPECT_EQ(*sys::parse_signal("cld"), SIGCHLD);
    EXPECT_EQ(*sys::parse_signal("SIGRTMIN"), SIGRTMIN);
    EXPECT_EQ(*sys::parse_signal("SIGRTMIN+3"), SIGRTMIN + 3);
    EXPECT_EQ(*sys::parse_signal("RTMIN+1"), SIGRTMIN + 1);
    EXPECT_EQ(*sys::parse_signal("rtmax-2"), SIGRTMAX - 2);
    EXPECT_EQ(*sys::parse_signal("sigrtmax"), SIGRTMAX);
    for (const char* bad : {"sigterm0", "SIG", "SIGSIGTERM", "TERM ", "RTMIN-1", "RTMAX+1", "RTMIN+99",
                            "RTMIN+", "RTMIN+x", "RTMAX-0x1"})
        EXPECT_EQ(sys::parse_signal(bad).error().message(), "unknown signal \"" + std::string(bad) + "\"")
            << bad;
}

// exec --cgroup, as runc's getSubCgroupPaths reads it.
TEST(ExecCgroupArgs, ControllerPrefixesAndErrors) {
    EXPECT_TRUE(parse_sub_cgroups({})->empty());
    EXPECT_EQ(*parse_sub_cgroups({"sub"}), (std::map<std::string, std::string>{{"", "sub"}}));
    EXPECT_EQ(*parse_sub_cgroups({"cpu:a", "memory,pids:b/c"}),
              (std::map<std::string, std::string>{{"cpu", "a"}, {"memory", "b/c"}, {"pids", "b/c"}}));
    EXPECT_EQ(*parse_sub_cgroups({"name=systemd:x"}),
              (std::map<std::string, std::string>{{"name=systemd", "x"}}));
    auto three = parse_sub_cgroups({"a:b:c"});
    ASSERT_FALSE(three);
    EXPECT_EQ(three.error().message(), "invalid --cgroup argument: a:b:c");
    EXPECT_EQ(three.error().kind(), ErrorKind::Invalid);
    auto bare = parse_sub_cgroups({"cpu:a", "b"});
    ASSERT_FALSE(bare);
    EXPECT_EQ(bare.error().message(), "invalid --cgroup argument: b (missing <controller>: prefix)");
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

TEST(Log, FieldsBesideTheMessage) {
    log::Fields f{{"clone_ms", "12.5"}, {"linked", "true"}};
    auto j = nlohmann::json::parse(log::format_line(log::Level::Info, "c: linked clone", true, "T", f));
    EXPECT_EQ(j["level"], "info");
    EXPECT_EQ(j["msg"], "c: linked clone");
    EXPECT_DOUBLE_EQ(j["clone_ms"].get<double>(), 12.5);
    EXPECT_EQ(j["linked"], true);
    EXPECT_EQ(log::format_line(log::Level::Info, "m", false, "T", f),
              "time=\"T\" level=info msg=\"m\" clone_ms=12.5 linked=true\n");
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
