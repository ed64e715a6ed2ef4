// Starts the project's PVE emulator (tests/pve-emulator/pve_emulator.py, Python stdlib only) on a free port
// for one test, and stops it (SIGTERM: it stops its CTs) at the end.
#pragma once
#include "sys/fs.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

namespace lxcri::pvetest {

inline std::string emulator_script() {
    if (const char* e = std::getenv("PVE_EMULATOR")) return e;
    return std::string(LXCRI_SOURCE_DIR) + "/tests/pve-emulator/pve_emulator.py";
}

struct Emulator {
    pid_t pid = -1;
    std::string dir, url, fingerprint, lxcpath;
    int port = 0;
    static constexpr const char* kToken = "root@pam!lxcri=0b7c4a4e-s3cr3tv4lue";

    // Empty on success, else why it could not start.
    std::string start(const std::string& name) {
        if (!sys::exists(emulator_script()))
            return "the PVE emulator is not in this tree (" + emulator_script() + ")";
        dir = ::testing::TempDir() + "/pve-emu-" + name + "-" + std::to_string(::getpid());
        (void)sys::remove_all(dir);
        if (!sys::mkdir_p(dir)) return "mkdir " + dir;
        std::string ready = dir + "/ready.json";
        pid = ::fork();
        if (pid == 0) {
            std::string log = dir + "/emulator.log";
            FILE* f = std::freopen(log.c_str(), "w", stderr);
            (void)f;
            std::string script = emulator_script();
            std::string data = dir + "/data";
            ::execlp("python3", "python3", script.c_str(), "--listen", "127.0.0.1:0", "--node", "pve",
                     "--token", kToken, "--user", "root@pam:pa55word", "--data-dir", data.c_str(),
                     "--ready-file", ready.c_str(), "--cgroup-prefix",
                     ("lxcri-unit-" + std::to_string(::getppid())).c_str(), nullptr);
            ::_exit(127);
        }
        for (int i = 0; i < 300; ++i) {
            if (auto t = sys::read_file(ready); t && !t->empty()) {
                auto j = nlohmann::json::parse(*t, nullptr, false);
                if (j.is_object()) {
                    url = j.value("url", "");
                    fingerprint = j.value("fingerprint", "");
                    lxcpath = j.value("lxcpath", "");
                    port = j.value("port", 0);
                    return "";
                }
            }
            int st;
            if (::waitpid(pid, &st, WNOHANG) == pid) {
                pid = -1;
                return "the emulator exited: " + sys::read_file(dir + "/emulator.log").value_or("");
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return "the emulator did not get ready in 6 s";
    }
    // POST /emulator/fault with a JSON body, through curl(1) (not through the client under test).
    void fault(const std::string& json) {
        std::string cmd = "curl -sk -o /dev/null -X POST -H 'Content-Type: application/json' --data '" +
                          json + "' https://127.0.0.1:" + std::to_string(port) + "/emulator/fault";
        ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    }
    ~Emulator() {
        if (pid > 0) {
            ::kill(pid, SIGTERM);
            int st;
            ::waitpid(pid, &st, 0);
        }
    }
};

} // namespace lxcri::pvetest
