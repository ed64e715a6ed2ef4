#include "runtime/store.hpp"

#include "base/utf8.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <thread>

namespace lxcri::runtime {

std::string not_exist_message(const std::string& id) {
    return "container \"" + id + "\" does not exist";
}

Status validate_id(const std::string& id) {
    auto bad = [&](const std::string& why) {
        return fail("invalid container id \"" + utf8_escaped(id) + "\": " + why);
    };
    if (id.empty()) return fail("invalid container id: empty");
    // runc's ^[\w+-\.]+$: "+-\." is the range '+' to '.', so ',' is in it too.
    for (unsigned char c : id) {
        if (!(std::isalnum(c) || c == '_' || c == '+' || c == ',' || c == '-' || c == '.'))
            return bad("only letters, digits and _ + , - . are allowed");
    }
    if (id == "." || id == "..") return bad("must not be \".\" or \"..\"");
    // runc takes these; liblxc does not (lxc_container_new fails with EINVAL), so they are refused here.
    if (id.find("..") != std::string::npos) return bad("must not contain \"..\" (liblxc refuses such names)");
    if (id.size() > kMaxIdLength)
        return bad("longer than " + std::to_string(kMaxIdLength) + " characters (liblxc's limit)");
    return ok();
}

std::chrono::milliseconds lock_timeout() {
    const char* e = std::getenv("LXCRI_LOCK_TIMEOUT");
    if (e && *e) {
        char* end = nullptr;
        double secs = std::strtod(e, &end);
        if (end && *end == 0 && secs >= 0 && secs <= 86400)
            return std::chrono::milliseconds(static_cast<int64_t>(secs * 1000));
    }
    return kDefaultLockTimeout;
}

// flock with a bound: another verb holding the lock longer than the timeout is an ErrorKind::Busy error.
static Result<sys::FileLock> lock_dir(const std::string& path, bool exclusive, const std::string& what) {
    sys::Fd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) return fail_errno("open " + path);
    auto timeout = lock_timeout();
    auto deadline = std::chrono::steady_clock::now() + timeout;
    auto pause = std::chrono::milliseconds(1);
    while (::flock(fd.get(), (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0) {
        if (errno == EINTR) continue;
        if (errno != EWOULDBLOCK) return fail_errno("lock " + path);
        if (std::chrono::steady_clock::now() >= deadline)
            return fail(ErrorKind::Busy, what + " is busy: another operation has held its lock for " +
                                             std::to_string(timeout.count() / 1000.0).substr(0, 4) +
                                             "s (LXCRI_LOCK_TIMEOUT)");
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::milliseconds(50));
    }
    return sys::FileLock(std::move(fd));
}

Result<sys::FileLock> Store::create(const std::string& id) {
    TRY(validate_id(id));
    TRY(sys::mkdir_p(root_, 0711));
    auto global = TRY(lock_dir(root_, true, "the state root " + root_));
    std::string d = dir(id);
    if (::mkdir(d.c_str(), 0711) < 0) {
        if (errno == EEXIST) return fail(ErrorKind::Exists, "container with id exists: " + id);
        return fail_errno("mkdir " + d);
    }
    return lock_dir(d, true, "container " + id);
}

Result<sys::FileLock> Store::lock(const std::string& id, bool exclusive) {
    TRY(validate_id(id));
    auto l = lock_dir(dir(id), exclusive, "container " + id);
    if (!l) {
        if (l.error().code() == ENOENT) return fail(ErrorKind::NotFound, not_exist_message(id));
        return l;
    }
    // A concurrent delete may have removed the directory while we waited.
    if (!sys::exists(dir(id) + "/state.json")) return fail(ErrorKind::NotFound, not_exist_message(id));
    return l;
}

Result<State> Store::load(const std::string& id) const {
    auto text = sys::read_file(dir(id) + "/state.json");
    if (!text) {
        if (text.error().code() == ENOENT) return fail(ErrorKind::NotFound, not_exist_message(id));
        return std::unexpected(std::move(text).error());
    }
    return TRY_CTX(state_from_json(*text), "load state of " + id);
}

Status Store::save(const State& s, bool durable) const {
    return sys::write_file_atomic(dir(s.id) + "/state.json", state_to_json(s), 0600, durable);
}

Status Store::save_spec(const std::string& id, std::string_view config_json) const {
    return sys::write_file_atomic(dir(id) + "/" + kSpecFile, config_json, 0600);
}

Result<spec::Spec> Store::load_spec(const std::string& id) const {
    auto text = TRY_CTX(sys::read_file(dir(id) + "/" + kSpecFile), "the config captured at create");
    return TRY_CTX(spec::parse(text), "the config captured at create");
}

Status Store::remove(const std::string& id) const {
    return sys::remove_all(dir(id));
}

std::vector<std::string> Store::list() const {
    std::vector<std::string> ids;
    for (auto& n : sys::list_dir(root_)) {
        if (sys::exists(dir(n) + "/state.json")) ids.push_back(n);
    }
    std::sort(ids.begin(), ids.end());
    return ids;
}

} // namespace lxcri::runtime
