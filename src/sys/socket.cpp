#include "sys/socket.hpp"

#include <poll.h>

#include <cstring>

namespace lxcri::sys {

bool wait_readable(int fd, std::chrono::milliseconds timeout) {
    pollfd p{fd, POLLIN, 0};
    int r;
    do {
        r = ::poll(&p, 1, static_cast<int>(timeout.count()));
    } while (r < 0 && errno == EINTR);
    return r > 0;
}

Result<Received> receive(int sock, size_t max_data) {
    Received out;
    out.data.resize(max_data);
    iovec iov{out.data.data(), out.data.size()};
    alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(sizeof(int))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctrl;
    msg.msg_controllen = sizeof ctrl;
    ssize_t n;
    do {
        n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return fail_errno("recvmsg");
    out.data.resize(static_cast<size_t>(n));
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET) continue;
        if (c->cmsg_type == SCM_CREDENTIALS) {
            ucred cr;
            std::memcpy(&cr, CMSG_DATA(c), sizeof cr);
            out.creds = cr;
        } else if (c->cmsg_type == SCM_RIGHTS && !out.fd.valid()) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
            out.fd.reset(fd);
        }
    }
    return out;
}

Status send_fd(int sock, int fd, std::string_view data) {
    iovec iov{const_cast<char*>(data.data()), data.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))]{};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    while (::sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
        if (errno != EINTR) return fail_errno("sendmsg");
    return ok();
}

} // namespace lxcri::sys
