#include "runtime/store.hpp"
#include "sys/fs.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <thread>

using namespace lxcri;
using namespace lxcri::runtime;

namespace {
struct TempRoot {
    std::string path;
    TempRoot() {
        char t[] = "/tmp/lxcri-store-test.XXXXXX";
        path = ::mkdtemp(t);
    }
    ~TempRoot() { (void)sys::remove_all(path); }
};
} // namespace

TEST(Store, ValidateIdFollowsRunc) {
    EXPECT_TRUE(validate_id("abc-1_2.3+x"));
    EXPECT_FALSE(validate_id(""));
    EXPECT_FALSE(validate_id(".."));
    EXPECT_FALSE(validate_id("a/b"));
    EXPECT_FALSE(validate_id("a b"));
}

TEST(Store, ValidateIdAcceptsRuncsCommaAndRefusesWhatLiblxcCannotTake) {
    // runc's [\w+-\.] is a range '+'..'.': the comma is in it.
    EXPECT_TRUE(validate_id("a,b"));
    EXPECT_TRUE(validate_id(".a"));
    EXPECT_TRUE(validate_id("a."));
    EXPECT_TRUE(validate_id(std::string(254, 'x')));
    // runc takes these, liblxc's lxc_container_new does not: refused up front, naming the rule.
    for (const char* id : {"a..b", "...", "..a", "a.."}) {
        auto r = validate_id(id);
        ASSERT_FALSE(r) << id;
        EXPECT_NE(r.error().message().find("must not contain \"..\""), std::string::npos)
            << r.error().message();
    }
    auto longer = validate_id(std::string(255, 'x'));
    ASSERT_FALSE(longer);
    EXPECT_NE(longer.error().message().find("longer than 254 characters"), std::string::npos);
    auto dot = validate_id(".");
    ASSERT_FALSE(dot);
    EXPECT_NE(dot.error().message().find("must not be"), std::string::npos);
    // Bytes that are not UTF-8 are shown escaped (the message goes into a JSON log line).
    auto bin = validate_id("a\xFF");
    ASSERT_FALSE(bin);
    EXPECT_EQ(bin.error().message(),
              "invalid container id \"a\\xFF\": only letters, digits and _ + , - . are allowed");
}

TEST(Store, CreateRejectsDuplicateAndLoadUnknown) {
    TempRoot r;
    Store s(r.path);
    auto l = s.create("c1");
    ASSERT_TRUE(l) << l.error().message();
    auto again = s.create("c1");
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().message(), "container with id exists: c1");
    EXPECT_EQ(again.error().kind(), ErrorKind::Exists);
    auto missing = s.load("nope");
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message().find("does not exist"), std::string::npos);
    EXPECT_EQ(missing.error().kind(), ErrorKind::NotFound);
}

TEST(Store, SaveLoadRoundTripAndList) {
    TempRoot r;
    Store s(r.path);
    ASSERT_TRUE(s.create("b"));
    ASSERT_TRUE(s.create("a"));
    State st;
    st.id = "b";
    st.bundle = "/x";
    st.pid = 42;
    st.started = true;
    st.creating = false;
    st.annotations = {{"k", "v"}};
    st.backend_state = {{"cgroupPaths", {{"memory", "/sys/fs/cgroup/memory/b"}}}};
    ASSERT_TRUE(s.save(st));
    auto back = s.load("b");
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(back->pid, 42);
    EXPECT_TRUE(back->started);
    EXPECT_FALSE(back->creating);
    EXPECT_EQ(back->annotations.at("k"), "v");
    EXPECT_EQ(back->backend_state["cgroupPaths"]["memory"], "/sys/fs/cgroup/memory/b");
    // Only containers with a state file are listed.
    EXPECT_EQ(s.list(), std::vector<std::string>{"b"});
    ASSERT_TRUE(s.remove("b"));
    EXPECT_FALSE(s.load("b"));
}

TEST(Store, LockOfRemovedContainerSaysDoesNotExist) {
    TempRoot r;
    Store s(r.path);
    {
        auto created = s.create("c");
        ASSERT_TRUE(created);
    }
    EXPECT_FALSE(s.lock("c")); // allocated, but no state.json yet
    State st;
    st.id = "c";
    st.bundle = "/b";
    ASSERT_TRUE(s.save(st));
    auto l = s.lock("c");
    ASSERT_TRUE(l) << l.error().message();
    std::atomic<bool> got{false};
    std::string msg;
    std::thread waiter([&] {
        auto w = s.lock("c");
        got = true;
        if (!w) msg = w.error().message();
    });
    ::usleep(50000);
    EXPECT_FALSE(got.load()); // blocked on our lock
    ASSERT_TRUE(s.remove("c"));
    l = sys::FileLock(); // release
    waiter.join();
    EXPECT_EQ(msg, "container \"c\" does not exist");
}

TEST(Store, ConcurrentSavesNeverTearTheStateFile) {
    TempRoot r;
    Store s(r.path);
    ASSERT_TRUE(s.create("c"));
    std::atomic<bool> stop{false};
    std::atomic<int> bad{0};
    State base;
    base.id = "c";
    base.bundle = std::string(4000, 'b'); // large enough that a torn write would be visible
    ASSERT_TRUE(s.save(base));
    std::thread reader([&] {
        while (!stop) {
            auto st = s.load("c");
            if (!st || st->bundle.size() != 4000) ++bad;
        }
    });
    std::vector<std::thread> writers;
    for (int t = 0; t < 4; ++t) {
        writers.emplace_back([&, t] {
            State st = base;
            for (int i = 0; i < 100; ++i) {
                st.pid = t * 1000 + i;
                if (!s.save(st)) ++bad;
            }
        });
    }
    for (auto& w : writers)
        w.join();
    stop = true;
    reader.join();
    EXPECT_EQ(bad.load(), 0);
    EXPECT_TRUE(sys::list_dir(s.dir("c")).size() == 1); // no temp files left
}

TEST(Store, LockWaitIsBounded) {
    TempRoot r;
    Store s(r.path);
    State st;
    st.id = "busy";
    st.bundle = "/b";
    auto held = s.create("busy");
    ASSERT_TRUE(held);
    ASSERT_TRUE(s.save(st));
    ::setenv("LXCRI_LOCK_TIMEOUT", "0.2", 1);
    auto t0 = std::chrono::steady_clock::now();
    auto second = s.lock("busy");
    auto waited = std::chrono::steady_clock::now() - t0;
    ::unsetenv("LXCRI_LOCK_TIMEOUT");
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().kind(), ErrorKind::Busy);
    EXPECT_NE(second.error().message().find("busy"), std::string::npos) << second.error().message();
    EXPECT_GE(waited, std::chrono::milliseconds(200));
    EXPECT_LT(waited, std::chrono::seconds(2));
    held = sys::FileLock(); // released: the next lock is immediate
    EXPECT_TRUE(s.lock("busy"));
}
