// RAII file descriptor and directory stream.
#pragma once
#include <dirent.h>
#include <unistd.h>

#include <memory>
#include <utility>

namespace lxcri::sys {

class Fd {
  public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    Fd& operator=(Fd&& o) noexcept {
        if (this != &o) {
            reset();
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }
    ~Fd() { reset(); }

    int get() const { return fd_; }
    bool valid() const { return fd_ >= 0; }
    int release() { return std::exchange(fd_, -1); }
    void reset(int fd = -1) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

  private:
    int fd_ = -1;
};

struct DirCloser {
    void operator()(DIR* d) const {
        if (d) ::closedir(d);
    }
};
// An open directory stream (opendir/fdopendir), closed on destruction.
using Dir = std::unique_ptr<DIR, DirCloser>;

} // namespace lxcri::sys
