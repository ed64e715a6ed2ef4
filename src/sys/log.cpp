#include "sys/log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>

namespace lxcri::log {
namespace {
Config g_cfg;
int g_fd = 2;

std::string_view level_name(Level l) {
    switch (l) {
    case Level::Debug:
        return "debug";
    case Level::Info:
        return "info";
    case Level::Warn:
        return "warning";
    case Level::Error:
        return "error";
    }
    return "info";
}
} // namespace

void configure(const Config& cfg) {
    g_cfg = cfg;
    if (!cfg.file.empty()) {
        int fd = ::open(cfg.file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd >= 0) g_fd = fd;
    }
}

std::string json_quote(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            if (c < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", c);
                out += buf;
            } else {
                out += static_cast<char>(c);
            }
        }
    }
    return out + "\"";
}

std::string rfc3339_now() {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    tm t{};
    ::gmtime_r(&ts.tv_sec, &t);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &t);
    char out[96];
    std::snprintf(out, sizeof out, "%s.%09ldZ", buf, ts.tv_nsec);
    return out;
}

std::string format_line(Level level, std::string_view msg, bool json, std::string_view time,
                        const Fields& fields) {
    std::string extra;
    for (const auto& [key, value] : fields)
        extra += json ? "," + json_quote(key) + ":" + value : " " + key + "=" + value;
    if (json)
        return "{\"level\":\"" + std::string(level_name(level)) + "\",\"msg\":" + json_quote(msg) + extra +
               ",\"time\":\"" + std::string(time) + "\"}\n";
    // logrus text format, as runc writes it.
    return "time=\"" + std::string(time) + "\" level=" + std::string(level_name(level)) +
           " msg=" + json_quote(msg) + extra + "\n";
}

bool to_file() {
    return !g_cfg.file.empty() && g_fd != 2;
}

void write(Level level, std::string_view msg, const Fields& fields) {
    if (level == Level::Debug && !g_cfg.debug) return;
    std::string line = format_line(level, msg, g_cfg.json, rfc3339_now(), fields);
    ssize_t n = ::write(g_fd, line.data(), line.size());
    (void)n;
}

} // namespace lxcri::log
