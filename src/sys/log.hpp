// runc-compatible logging: --log FILE, --log-format text|json, --debug.
// JSON lines are {"level":"error","msg":"...","time":"RFC3339"}; containerd's shim reads the last "error"
// line.
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lxcri::log {

enum class Level { Debug, Info, Warn, Error };

struct Config {
    std::string file; // empty: stderr
    bool json = false;
    bool debug = false;
};

void configure(const Config& cfg);
// Extra fields of a record, as logrus writes them: key and a JSON literal (number, true/false).
using Fields = std::vector<std::pair<std::string, std::string>>;
void write(Level level, std::string_view msg, const Fields& fields = {});
// True when records go to a --log file (not to stderr).
bool to_file();
inline void debug(std::string_view m) {
    write(Level::Debug, m);
}
inline void info(std::string_view m, const Fields& fields = {}) {
    write(Level::Info, m, fields);
}
inline void warn(std::string_view m) {
    write(Level::Warn, m);
}
inline void error(std::string_view m) {
    write(Level::Error, m);
}

// The line written for one record (exposed for tests).
std::string format_line(Level level, std::string_view msg, bool json, std::string_view time,
                        const Fields& fields = {});
std::string rfc3339_now();
// JSON string escaping.
std::string json_quote(std::string_view s);

} // namespace lxcri::log
