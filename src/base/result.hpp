// Result/Error: std::expected with an errno and a context chain ("outer: inner").
#pragma once
#include <cerrno>
#include <cstring>
#include <expected>
#include <string>
#include <utility>

namespace lxcri {

class Error {
  public:
    Error() = default;
    explicit Error(std::string msg, int code = 0) : msg_(std::move(msg)), code_(code) {}

    // errno value (0 when the error is not a system error).
    int code() const { return code_; }
    // Full message: "outer: inner[: strerror]".
    std::string message() const {
        if (code_ == 0) return msg_;
        return msg_ + ": " + std::strerror(code_);
    }
    // Prepend a layer of context.
    Error& context(const std::string& outer) {
        msg_ = outer + ": " + msg_;
        return *this;
    }
    Error with_context(const std::string& outer) && {
        context(outer);
        return std::move(*this);
    }

  private:
    std::string msg_;
    int code_ = 0;
};

template <class T> using Result = std::expected<T, Error>;
using Status = Result<void>;

inline std::unexpected<Error> fail(std::string msg, int code = 0) {
    return std::unexpected(Error(std::move(msg), code));
}
// A failure carrying the current errno.
inline std::unexpected<Error> fail_errno(std::string msg) {
    int e = errno;
    return std::unexpected(Error(std::move(msg), e));
}
inline Status ok() {
    return {};
}

} // namespace lxcri

// Propagate an error; evaluates to the value on success (GCC statement expression).
#define TRY(expr)                                                                                            \
    ({                                                                                                       \
        auto&& try_result_ = (expr);                                                                         \
        if (!try_result_) return std::unexpected(std::move(try_result_).error());                            \
        std::move(try_result_).value();                                                                      \
    })

// Same, adding a context layer to the error.
#define TRY_CTX(expr, ctx)                                                                                   \
    ({                                                                                                       \
        auto&& try_result_ = (expr);                                                                         \
        if (!try_result_) return std::unexpected(std::move(try_result_).error().context(ctx));               \
        std::move(try_result_).value();                                                                      \
    })
