// recvtty SOCKET: listen on a unix socket like a --console-socket client, accept one connection, receive the
// pty master over SCM_RIGHTS, copy everything read from it to stdout until the container closes the slave,
// then check that nothing else was sent on the socket. RECVTTY_INPUT, when set, is written to the master
// first (the container's terminal input).
// Exit codes: 0 ok, 2 usage/setup, 3 no fd received, 4 extra data on the socket, 6 timeout.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "recvtty: timed out\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(6);
}

static int listen_on(const char* path) {
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof addr.sun_path) return -1;
    strcpy(addr.sun_path, path);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -1;
    unlink(path);
    if (bind(s, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(s, 1) != 0) {
        close(s);
        return -1;
    }
    return s;
}

static int receive_fd(int conn, size_t* payload) {
    char data[4096];
    char control[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {.iov_base = data, .iov_len = sizeof data};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0) return -1;
    *payload = (size_t)n;
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return fd;
}

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s SOCKET\n", argv[0]);
        return 2;
    }
    const char* timeout = getenv("RECVTTY_TIMEOUT");
    signal(SIGALRM, on_alarm);
    alarm(timeout ? (unsigned)atoi(timeout) : 60);
    int s = listen_on(argv[1]);
    if (s < 0) {
        perror("recvtty: listen");
        return 2;
    }
    int conn = accept4(s, NULL, NULL, SOCK_CLOEXEC);
    if (conn < 0) {
        perror("recvtty: accept");
        return 2;
    }
    size_t payload = 0;
    int master = receive_fd(conn, &payload);
    if (master < 0) {
        fprintf(stderr, "recvtty: no file descriptor received\n");
        return 3;
    }
    fprintf(stderr, "recvtty: got fd with %zu payload bytes\n", payload);
    const char* input = getenv("RECVTTY_INPUT");
    if (input && write(master, input, strlen(input)) != (ssize_t)strlen(input)) {
        perror("recvtty: write input");
        return 2;
    }
    char buf[4096];
    ssize_t n;
    while ((n = read(master, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
        if (n > 0 && write(1, buf, (size_t)n) != n) return 2;
    // EIO: every slave fd is closed, the container is gone.
    close(master);
    n = read(conn, buf, sizeof buf);
    if (n > 0) {
        fprintf(stderr, "recvtty: %zd more bytes on the console socket\n", n);
        return 4;
    }
    return 0;
}
