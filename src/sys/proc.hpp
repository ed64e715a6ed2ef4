// Process helpers: liveness with pid-reuse protection, signals, waiting on non-children, subprocesses.
#pragma once
#include "base/result.hpp"

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace lxcri::sys {

// Field 22 of /proc/<pid>/stat (start time in clock ticks); nullopt when the process is gone.
std::optional<uint64_t> process_start_time(pid_t pid);
// Alive and still the same process (start time matches); zombies count as dead.
bool process_alive(pid_t pid, uint64_t start_time);
// "TERM", "SIGTERM", "15" -> 15. Unknown names are an error ("unknown signal \"X\"").
Result<int> parse_signal(std::string_view s);
// Waits until pid is gone (it need not be our child); false on timeout.
bool wait_gone(pid_t pid, std::chrono::milliseconds timeout);

struct RunResult {
    int status = 0; // raw wait status
    std::string out, err;
};
// Runs argv (execvp), feeding input on stdin, killing it after timeout (0: none).
Result<RunResult> run(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                      std::string_view input, std::chrono::milliseconds timeout);

} // namespace lxcri::sys
