// Pull progress: bars redrawn in place on a terminal, nothing when not a TTY, or one JSON line per event
// ({"level":"info","msg":"pull","id":..,"status":..,"current":..,"total":..,"time":..}) with --log-format
// json.
#pragma once
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace lxcri::image {

enum class ProgressMode {
    Auto, // Bars when the fd is a TTY, else Quiet
    Bars,
    Json,
    Quiet,
};

class Progress {
  public:
    explicit Progress(ProgressMode mode, int fd = 2);
    ~Progress();
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    ProgressMode mode() const { return mode_; }
    // A new item (a blob), shown as id; total -1 when unknown.
    void add(const std::string& id, int64_t total);
    // Bytes of the item so far (throttled output).
    void update(const std::string& id, int64_t current);
    // Final state: "done", "exists", "failed: ...".
    void finish(const std::string& id, const std::string& status);
    // A line of text above the bars (Bars) or a JSON record (Json).
    void note(const std::string& msg);

    // "12.3MiB".
    static std::string human(int64_t bytes);
    // One bar line (exposed for tests).
    static std::string bar_line(const std::string& id, int64_t current, int64_t total,
                                const std::string& status, int width);

  private:
    struct Item {
        std::string id;
        int64_t current = 0, total = -1;
        std::string status;
        int64_t reported = -1; // Json: last current written
    };
    Item* find(const std::string& id);
    void redraw(bool force);
    void emit_json(const Item& it);
    void out(const std::string& s);

    ProgressMode mode_;
    int fd_;
    std::mutex mu_;
    std::vector<Item> items_;
    size_t drawn_ = 0; // lines of the last redraw
    std::chrono::steady_clock::time_point last_draw_{};
};

} // namespace lxcri::image
