// Result/Error: std::expected with a kind, an errno and a context chain ("outer: inner").
// Callers decide by kind(), never by matching message text; the text is for people (and runc's log lines).
#pragma once
#include <cerrno>
#include <cstring>
#include <expected>
#include <string>
#include <utility>

namespace lxcri {

// What went wrong, for callers that act on it.
enum class ErrorKind {
    System,      // a system call or external component failed (the default)
    NotFound,    // no such container, image, snapshot, ...
    WrongState,  // the container's status does not allow the operation
    Exists,      // the name is taken
    Invalid,     // bad input: spec, flags, ids, files
    Busy,        // locked or in use; a bounded wait ran out
    Unsupported, // this backend or host cannot do it
    Gone,        // the process already finished
    NotExecuted, // a program could not be executed (execve failed; code() says why)
};

class Error {
  public:
    Error() = default;
    explicit Error(std::string msg, int code = 0, ErrorKind kind = ErrorKind::System)
        : msg_(std::move(msg)), code_(code), kind_(kind) {}

    // errno value (0 when the error is not a system error).
    int code() const { return code_; }
    ErrorKind kind() const { return kind_; }
    Error& set_kind(ErrorKind k) {
        kind_ = k;
        return *this;
    }
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
    ErrorKind kind_ = ErrorKind::System;
};

template <class T> using Result = std::expected<T, Error>;
using Status = Result<void>;

inline std::unexpected<Error> fail(std::string msg, int code = 0) {
    return std::unexpected(Error(std::move(msg), code));
}
inline std::unexpected<Error> fail(ErrorKind kind, std::string msg) {
    return std::unexpected(Error(std::move(msg), 0, kind));
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
