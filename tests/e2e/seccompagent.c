// seccompagent SOCKET COUNT: a seccomp agent as the runtime-spec describes it (linux.seccomp.listenerPath).
// Listens on the unix socket SOCKET (SOCK_STREAM) and accepts COUNT connections; each must bring one message:
// the ContainerProcessState JSON as payload and exactly one fd (SCM_RIGHTS), the notify fd of the filter.
// Prints "state JSON" per connection, then answers every notification of every fd
// (SECCOMP_IOCTL_NOTIF_RECV/SEND) for mkdir(2) and mkdirat(2), by the path's last component:
//   agent-ok     success without doing anything (the directory is not made)
//   agent-errno  fails with EXDEV
//   anything else: the kernel carries the call out (SECCOMP_USER_NOTIF_FLAG_CONTINUE)
// and prints "notify SYSCALL PATH ok|errno|continue". Exits 0 once all COUNT fds hung up (every process of
// the filter ended). Exit codes: 2 usage/setup, 3 bad message (no fd, more than one fd, no payload),
// 4 notification error, 6 timeout (SECCOMPAGENT_TIMEOUT seconds, default 30).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_FDS 8

static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "seccompagent: timed out\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(6);
}

static void die(int code, const char* what) {
    fprintf(stderr, "seccompagent: %s: %s\n", what, strerror(errno));
    exit(code);
}

// One message: the JSON and exactly one fd.
static int receive_state(int conn) {
    static char buf[65536];
    char ctrl[CMSG_SPACE(sizeof(int) * 4)];
    struct iovec iov = {buf, sizeof buf - 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl, .msg_controllen = sizeof ctrl};
    ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
    if (n <= 0) die(3, "recvmsg (no message)");
    buf[n] = 0;
    int fd = -1, nfds = 0;
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        nfds += (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        memcpy(&fd, CMSG_DATA(c), sizeof fd);
    }
    if (nfds != 1) {
        fprintf(stderr, "seccompagent: %d fds in the message, want 1\n", nfds);
        exit(3);
    }
    printf("state %s\n", buf);
    fflush(stdout);
    return fd;
}

static int read_path(pid_t pid, unsigned long long addr, char* out, size_t size) {
    char mem[64];
    snprintf(mem, sizeof mem, "/proc/%d/mem", pid);
    int fd = open(mem, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = pread(fd, out, size - 1, (off_t)addr);
    close(fd);
    if (n < 0) return -1;
    out[n] = 0;
    return 0;
}

static void answer(int fd) {
    struct seccomp_notif req;
    struct seccomp_notif_resp resp;
    memset(&req, 0, sizeof req);
    if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) {
        if (errno == ENOENT) return; // the process went away meanwhile
        die(4, "SECCOMP_IOCTL_NOTIF_RECV");
    }
    memset(&resp, 0, sizeof resp);
    resp.id = req.id;
    const char* name = "other";
    char path[4096] = "";
    if (req.data.nr == SYS_mkdir || req.data.nr == SYS_mkdirat) {
        name = req.data.nr == SYS_mkdir ? "mkdir" : "mkdirat";
        unsigned long long addr = req.data.nr == SYS_mkdir ? req.data.args[0] : req.data.args[1];
        if (read_path(req.pid, addr, path, sizeof path) < 0) die(4, "read the path");
    }
    // The path was read from a live process: valid only while the notification is.
    if (ioctl(fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &req.id) < 0) return;
    const char* base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char* result;
    if (strcmp(base, "agent-ok") == 0) {
        result = "ok";
    } else if (strcmp(base, "agent-errno") == 0) {
        resp.error = -EXDEV;
        result = "errno";
    } else {
        resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        result = "continue";
    }
    printf("notify %s %s %s\n", name, path, result);
    fflush(stdout);
    if (ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 && errno != ENOENT) die(4, "SECCOMP_IOCTL_NOTIF_SEND");
}

int main(int argc, char** argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: seccompagent SOCKET COUNT\n");
        return 2;
    }
    int count = atoi(argv[2]);
    if (count < 1 || count > MAX_FDS) return 2;
    const char* t = getenv("SECCOMPAGENT_TIMEOUT");
    signal(SIGALRM, on_alarm);
    alarm(t ? (unsigned)atoi(t) : 30);

    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(argv[1]) >= sizeof addr.sun_path) return 2;
    strcpy(addr.sun_path, argv[1]);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) die(2, "socket");
    unlink(argv[1]);
    if (bind(s, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(s, 4) != 0) die(2, "bind/listen");

    int fds[MAX_FDS], open_fds = 0, accepted = 0;
    while (accepted < count || open_fds > 0) {
        struct pollfd p[MAX_FDS + 1];
        int n = 0;
        for (int i = 0; i < open_fds; ++i)
            p[n++] = (struct pollfd){fds[i], POLLIN, 0};
        if (accepted < count) p[n++] = (struct pollfd){s, POLLIN, 0};
        if (poll(p, (nfds_t)n, -1) < 0) {
            if (errno == EINTR) continue;
            die(2, "poll");
        }
        int kept = 0;
        for (int i = 0; i < open_fds; ++i) {
            if (p[i].revents & POLLIN) answer(fds[i]);
            else if (p[i].revents & (POLLHUP | POLLERR)) {
                close(fds[i]); // every process of this filter ended
                continue;
            }
            fds[kept++] = fds[i];
        }
        open_fds = kept;
        if (accepted < count && (p[n - 1].revents & POLLIN)) {
            int conn = accept4(s, NULL, NULL, SOCK_CLOEXEC);
            if (conn < 0) die(2, "accept");
            fds[open_fds++] = receive_state(conn);
            close(conn);
            ++accepted;
        }
    }
    return 0;
}
