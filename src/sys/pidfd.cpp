#include "sys/pidfd.hpp"

#include "sys/fd.hpp"
#include "sys/proc.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

namespace lxcri::sys {

Result<Fd> open_process(pid_t pid, uint64_t start_time) {
    std::string what = "process " + std::to_string(pid);
    if (pid <= 0 || start_time == 0) return fail(ErrorKind::Gone, what + ": no recorded identity");
    Fd pfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!pfd.valid()) {
        if (errno == ESRCH) return fail(ErrorKind::Gone, "process already finished");
        return fail_errno("pidfd_open " + what);
    }
    auto now = process_start_time(pid);
    if (!now || *now != start_time) return fail(ErrorKind::Gone, "process already finished");
    return pfd;
}

Status signal_process(pid_t pid, uint64_t start_time, int sig) {
    auto pfd = TRY(open_process(pid, start_time));
    if (::syscall(SYS_pidfd_send_signal, pfd.get(), sig, nullptr, 0) < 0) {
        if (errno == ESRCH) return fail(ErrorKind::Gone, "process already finished");
        return fail_errno("signal process " + std::to_string(pid));
    }
    return ok();
}

uint64_t namespace_inode(pid_t pid, const char* type) {
    struct stat st {};
    std::string p = "/proc/" + std::to_string(pid) + "/ns/" + type;
    if (::stat(p.c_str(), &st) < 0) return 0;
    return static_cast<uint64_t>(st.st_ino);
}

} // namespace lxcri::sys
