#include "sys/pidfd.hpp"

#include "sys/fd.hpp"
#include "sys/fs.hpp"
#include "sys/proc.hpp"

#include <fcntl.h>
#include <sched.h>
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

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

int namespaces_to_join(pid_t pid) {
    static const std::pair<const char*, int> kinds[] = {
        {"user", CLONE_NEWUSER}, {"mnt", CLONE_NEWNS},  {"pid", CLONE_NEWPID},       {"net", CLONE_NEWNET},
        {"ipc", CLONE_NEWIPC},   {"uts", CLONE_NEWUTS}, {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME}};
    int flags = 0;
    for (const auto& [name, flag] : kinds) {
        uint64_t theirs = namespace_inode(pid, name);
        if (theirs != 0 && theirs != namespace_inode(::getpid(), name)) flags |= flag;
    }
    return flags;
}

Status join_container(const std::map<std::string, std::string>& cgroup_dirs, int pidfd, int ns_flags) {
    for (const auto& [ctrl, dir] : cgroup_dirs) {
        if (auto w = write_file(dir + "/cgroup.procs", "0", O_APPEND); !w)
            return std::unexpected(std::move(w).error().context("join the container's cgroup " + dir));
    }
    if (ns_flags != 0 && ::setns(pidfd, ns_flags) < 0) return fail_errno("join the container's namespaces");
    return ok();
}

} // namespace lxcri::sys
