#include "image/progress.hpp"

#include "sys/log.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace lxcri::image {

Progress::Progress(ProgressMode mode, int fd) : mode_(mode), fd_(fd) {
    if (mode_ == ProgressMode::Auto) mode_ = ::isatty(fd) ? ProgressMode::Bars : ProgressMode::Quiet;
}

Progress::~Progress() {
    std::lock_guard g(mu_);
    if (mode_ == ProgressMode::Bars && !items_.empty()) redraw(true);
}

std::string Progress::human(int64_t b) {
    static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(b);
    int u = 0;
    while (v >= 1024 && u < 4)
        v /= 1024, u++;
    char buf[32];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f%s" : "%.1f%s", v, kUnits[u]);
    return buf;
}

std::string Progress::bar_line(const std::string& id, int64_t current, int64_t total,
                               const std::string& status, int width) {
    std::string bar(static_cast<size_t>(width), ' ');
    if (total > 0) {
        int64_t fill = std::min<int64_t>(width, current * width / total);
        for (int64_t i = 0; i < fill; i++)
            bar[static_cast<size_t>(i)] = '=';
        if (fill < width && fill > 0) bar[static_cast<size_t>(fill)] = '>';
    }
    std::string size = human(current) + " / " + (total >= 0 ? human(total) : std::string("?"));
    return id + " [" + bar + "] " + size + (status.empty() ? "" : "  " + status);
}

Progress::Item* Progress::find(const std::string& id) {
    for (auto& it : items_)
        if (it.id == id) return &it;
    return nullptr;
}

void Progress::out(const std::string& s) {
    std::string_view v = s;
    while (!v.empty()) {
        ssize_t n = ::write(fd_, v.data(), v.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        v.remove_prefix(static_cast<size_t>(n));
    }
}

void Progress::emit_json(const Item& it) {
    std::string line = "{\"level\":\"info\",\"msg\":\"pull\",\"id\":" + log::json_quote(it.id) +
                       ",\"status\":" + log::json_quote(it.status.empty() ? "downloading" : it.status) +
                       ",\"current\":" + std::to_string(it.current) +
                       ",\"total\":" + std::to_string(it.total) +
                       ",\"time\":" + log::json_quote(log::rfc3339_now()) + "}\n";
    out(line);
}

void Progress::redraw(bool force) {
    auto now = std::chrono::steady_clock::now();
    if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    std::string s;
    if (drawn_ > 0) s += "\x1b[" + std::to_string(drawn_) + "A";
    for (auto& it : items_)
        s += "\r\x1b[2K" + bar_line(it.id, it.current, it.total, it.status, 30) + "\n";
    drawn_ = items_.size();
    out(s);
}

void Progress::add(const std::string& id, int64_t total) {
    if (mode_ == ProgressMode::Quiet) return;
    std::lock_guard g(mu_);
    items_.push_back(Item{id, 0, total, "", -1});
    if (mode_ == ProgressMode::Json)
        emit_json(items_.back());
    else
        redraw(true);
}

void Progress::update(const std::string& id, int64_t current) {
    if (mode_ == ProgressMode::Quiet) return;
    std::lock_guard g(mu_);
    Item* it = find(id);
    if (!it) return;
    it->current = current;
    if (mode_ == ProgressMode::Bars) return redraw(false);
    // JSON: at most one line per 10% (or 4 MiB when the total is unknown).
    int64_t step = it->total > 0 ? std::max<int64_t>(it->total / 10, 1) : 4 << 20;
    if (it->reported >= 0 && current - it->reported < step) return;
    it->reported = current;
    emit_json(*it);
}

void Progress::finish(const std::string& id, const std::string& status) {
    if (mode_ == ProgressMode::Quiet) return;
    std::lock_guard g(mu_);
    Item* it = find(id);
    if (!it) return;
    it->status = status;
    if (status == "done" || status == "exists") it->current = it->total >= 0 ? it->total : it->current;
    if (mode_ == ProgressMode::Json)
        emit_json(*it);
    else
        redraw(true);
}

void Progress::note(const std::string& msg) {
    if (mode_ == ProgressMode::Quiet) return;
    std::lock_guard g(mu_);
    if (mode_ == ProgressMode::Json) {
        out("{\"level\":\"info\",\"msg\":" + log::json_quote(msg) +
            ",\"time\":" + log::json_quote(log::rfc3339_now()) + "}\n");
        return;
    }
    // Print above the bars, then draw them again below.
    std::string s;
    if (drawn_ > 0) s += "\x1b[" + std::to_string(drawn_) + "A";
    s += "\r\x1b[2K" + msg + "\n";
    drawn_ = 0;
    out(s);
    if (!items_.empty()) redraw(true);
}

} // namespace lxcri::image
