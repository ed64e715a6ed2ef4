#include "image/limits.hpp"

#include "sys/fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace lxcri::image {

namespace {

size_t line_of(std::string_view text, size_t offset) {
    offset = std::min(offset, text.size());
    return 1 +
           static_cast<size_t>(std::count(text.begin(), text.begin() + static_cast<ptrdiff_t>(offset), '\n'));
}

// Byte offset of the first bracket nested deeper than max, or npos. Strings are skipped (escapes included),
// so brackets inside them do not count; malformed text is left for the real parser to report.
size_t too_deep_at(std::string_view s, int max) {
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (in_string) {
            if (c == '\\')
                ++i;
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max) return i;
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return std::string_view::npos;
}

} // namespace

Result<nlohmann::json> parse_json_bounded(std::string_view text, size_t max_size, std::string_view what) {
    const std::string w = what.empty() ? std::string() : std::string(what) + ": ";
    if (text.size() > max_size)
        return fail(w + "larger than " + std::to_string(max_size) + " bytes (" + std::to_string(text.size()) +
                    ")");
    if (size_t at = too_deep_at(text, kMaxJsonDepth); at != std::string_view::npos)
        return fail(w + "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels at byte " +
                    std::to_string(at) + " (line " + std::to_string(line_of(text, at)) + ")");
    try {
        return nlohmann::json::parse(text.begin(), text.end());
    } catch (const nlohmann::json::parse_error& e) {
        // e.what() quotes the last bytes read: only the position is reported.
        size_t at = e.byte > 0 ? e.byte - 1 : 0;
        return fail(w + "invalid JSON at byte " + std::to_string(at) + " (line " +
                    std::to_string(line_of(text, at)) + ")");
    } catch (const std::exception&) {
        return fail(w + "invalid JSON");
    }
}

Result<std::string> read_file_bounded(const std::string& path, size_t max_size) {
    sys::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return fail_errno("open " + path);
    std::string out;
    char buf[64 * 1024];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_errno("read " + path);
        }
        if (n == 0) break;
        if (out.size() + static_cast<size_t>(n) > max_size)
            return fail(path + ": larger than " + std::to_string(max_size) + " bytes");
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

} // namespace lxcri::image
