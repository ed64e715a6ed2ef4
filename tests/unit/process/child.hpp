// Runs a function in a forked child with stdout/stderr captured; the child must exit or exec.
#pragma once
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>

namespace lxcri::test {

struct ChildResult {
    int status = 0; // raw wait status
    std::string out, err;
    int exit_code() const { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }
    int signal() const { return WIFSIGNALED(status) ? WTERMSIG(status) : 0; }
};

inline std::string drain(int fd) {
    std::string s;
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
        s.append(buf, static_cast<size_t>(n));
    ::close(fd);
    return s;
}

inline ChildResult run_child(const std::function<void()>& body) {
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) < 0 || ::pipe2(err, O_CLOEXEC) < 0) std::abort();
    pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(out[1], 1);
        ::dup2(err[1], 2);
        body();
        std::fflush(stdout);
        ::_exit(0);
    }
    ::close(out[1]);
    ::close(err[1]);
    ChildResult r;
    std::thread t([&] { r.err = drain(err[0]); });
    r.out = drain(out[0]);
    t.join();
    ::waitpid(pid, &r.status, 0);
    return r;
}

// A private temporary directory, removed (with its files) on destruction.
class TempDir {
  public:
    explicit TempDir(const char* tag = "lxcri-process") {
        std::string tmpl = std::string("/tmp/") + tag + ".XXXXXX";
        if (!::mkdtemp(tmpl.data())) std::abort();
        path_ = tmpl;
    }
    ~TempDir() { (void)!std::system(("rm -rf '" + path_ + "'").c_str()); }
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

} // namespace lxcri::test
