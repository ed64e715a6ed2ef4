// The attach protocol's framing (init/attach.hpp), shared by the init helper and the runtime's stand-in.
#include "init/attach.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cstring>

namespace lxcri::init::attach {
namespace {

int ms_left(Clock::time_point deadline) {
    if (deadline == Clock::time_point::max()) return -1;
    auto l = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return l > 0 ? static_cast<int>(std::min<long long>(l, 1 << 30)) : 0;
}

Status wait_in(int sock, Clock::time_point deadline) {
    for (;;) {
        pollfd p{sock, POLLIN, 0};
        int r = ::poll(&p, 1, ms_left(deadline));
        if (r > 0) return ok();
        if (r == 0) return fail(ErrorKind::Busy, "timed out waiting for the peer");
        if (errno != EINTR) return fail_errno("poll");
    }
}

// Reads exactly buf.size() bytes (descriptors arrive with the first bytes of the header only).
Status read_exact(int sock, std::span<char> buf, Clock::time_point deadline, std::vector<sys::Fd>* fds,
                  std::optional<ucred>* creds, bool at_start) {
    size_t got = 0;
    while (got < buf.size()) {
        TRY(wait_in(sock, deadline));
        iovec iov{buf.data() + got, buf.size() - got};
        alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(sizeof(int) * kMaxFds)];
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        if (fds) {
            msg.msg_control = ctrl;
            msg.msg_controllen = sizeof ctrl;
        }
        ssize_t n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail_errno("recvmsg");
        if (fds) {
            for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
                if (c->cmsg_level != SOL_SOCKET) continue;
                if (c->cmsg_type == SCM_CREDENTIALS && creds && got == 0) {
                    ucred cr;
                    std::memcpy(&cr, CMSG_DATA(c), sizeof cr);
                    *creds = cr;
                }
                if (c->cmsg_type != SCM_RIGHTS) continue;
                size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < count; ++i) {
                    int fd;
                    std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
                    fds->emplace_back(fd);
                }
            }
            if ((msg.msg_flags & MSG_CTRUNC) || fds->size() > kMaxFds)
                return fail(ErrorKind::Invalid, "more than " + std::to_string(kMaxFds) + " descriptors");
        }
        if (n == 0) {
            if (at_start && got == 0) return fail(ErrorKind::Gone, "connection closed");
            return fail(ErrorKind::Invalid, "truncated message");
        }
        got += static_cast<size_t>(n);
    }
    return ok();
}

} // namespace

std::string_view type_name(Type t) {
    switch (t) {
    case Type::Process:
        return "Process";
    case Type::Pty:
        return "Pty";
    case Type::Ready:
        return "Ready";
    case Type::Error:
        return "Error";
    case Type::Start:
        return "Start";
    case Type::Started:
        return "Started";
    case Type::Exit:
        return "Exit";
    case Type::QueryPid:
        return "QueryPid";
    case Type::Pid:
        return "Pid";
    }
    return "unknown";
}

std::string encode_header(Type type, uint32_t length, uint16_t version, uint32_t magic) {
    std::string h(kHeaderSize, '\0');
    auto t = static_cast<uint16_t>(type);
    std::memcpy(h.data(), &magic, 4);
    std::memcpy(h.data() + 4, &version, 2);
    std::memcpy(h.data() + 6, &t, 2);
    std::memcpy(h.data() + 8, &length, 4);
    return h;
}

Result<std::pair<Type, uint32_t>> decode_header(std::string_view h) {
    if (h.size() != kHeaderSize) return fail(ErrorKind::Invalid, "short header");
    uint32_t magic, length;
    uint16_t version, type;
    std::memcpy(&magic, h.data(), 4);
    std::memcpy(&version, h.data() + 4, 2);
    std::memcpy(&type, h.data() + 6, 2);
    std::memcpy(&length, h.data() + 8, 4);
    if (magic != kMagic) return fail(ErrorKind::Invalid, "not an attach protocol message (bad magic)");
    if (version != kVersion)
        return fail(ErrorKind::Invalid, "attach protocol version " + std::to_string(version) +
                                            " (this side speaks " + std::to_string(kVersion) + ")");
    if (type < static_cast<uint16_t>(Type::Process) || type > static_cast<uint16_t>(Type::Pid))
        return fail(ErrorKind::Invalid, "unknown message type " + std::to_string(type));
    if (length > kMaxPayload)
        return fail(ErrorKind::Invalid, "message of " + std::to_string(length) + " bytes (at most " +
                                            std::to_string(kMaxPayload) + ")");
    return std::pair{static_cast<Type>(type), length};
}

Status send(int sock, Type type, std::string_view payload, std::span<const int> fds, const ucred* creds) {
    if (payload.size() > kMaxPayload) return fail(ErrorKind::Invalid, "message too large to send");
    if (fds.size() > kMaxFds) return fail(ErrorKind::Invalid, "too many descriptors to send");
    std::string buf = encode_header(type, static_cast<uint32_t>(payload.size()));
    buf.append(payload);
    alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(sizeof(int) * kMaxFds)]{};
    size_t sent = 0;
    // The first sendmsg carries the descriptors; a short write (a large payload) continues without them.
    while (sent < buf.size()) {
        iovec iov{buf.data() + sent, buf.size() - sent};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        if (sent == 0 && (!fds.empty() || creds)) {
            msg.msg_control = ctrl;
            msg.msg_controllen = (fds.empty() ? 0 : CMSG_SPACE(sizeof(int) * fds.size())) +
                                 (creds ? CMSG_SPACE(sizeof(ucred)) : 0);
            cmsghdr* c = CMSG_FIRSTHDR(&msg);
            if (!fds.empty()) {
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
                std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
                c = CMSG_NXTHDR(&msg, c);
            }
            if (creds) {
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_CREDENTIALS;
                c->cmsg_len = CMSG_LEN(sizeof(ucred));
                std::memcpy(CMSG_DATA(c), creds, sizeof(ucred));
            }
        }
        ssize_t n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail_errno("send " + std::string(type_name(type)) + " message");
        sent += static_cast<size_t>(n);
    }
    return ok();
}

Result<Message> receive(int sock, Clock::time_point deadline) {
    Message m;
    char header[kHeaderSize];
    TRY(read_exact(sock, header, deadline, &m.fds, &m.creds, true));
    auto [type, length] = TRY(decode_header(std::string_view(header, sizeof header)));
    m.type = type;
    m.payload.resize(length);
    if (length > 0) TRY(read_exact(sock, m.payload, deadline, nullptr, nullptr, false));
    return m;
}

} // namespace lxcri::init::attach
