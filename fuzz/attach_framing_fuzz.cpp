// libFuzzer target: the attach protocol's framing (init/attach.hpp), what the CT's init reads from every
// connection to its socket and the stand-in reads from the init. Input: byte 0 is how many descriptors go
// with the first bytes (0 .. kMaxFds + 2, beyond the limit too), the rest is the stream; attach::receive()
// reads message after message until the stream ends or a message is refused. Nothing may crash, leak (memory
// or descriptors), hit undefined behaviour or allocate beyond what arrived; every message accepted must
// re-encode to exactly the bytes it came from, and every valid header must re-encode to itself.
#include "init/attach.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace attach = lxcri::init::attach;

namespace {

// Sends bytes over sock, the first sendmsg carrying n copies of fd as SCM_RIGHTS.
bool send_stream(int sock, std::string_view bytes, size_t n, int fd) {
    std::vector<int> fds(n, fd);
    std::vector<char> ctrl(CMSG_SPACE(sizeof(int) * n));
    size_t sent = 0;
    do {
        iovec iov{const_cast<char*>(bytes.data()) + sent, bytes.size() - sent};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        if (sent == 0 && n > 0) {
            msg.msg_control = ctrl.data();
            msg.msg_controllen = ctrl.size();
            cmsghdr* c = CMSG_FIRSTHDR(&msg);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int) * n);
            std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * n);
        }
        ssize_t r = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return false;
        sent += static_cast<size_t>(r);
    } while (sent < bytes.size());
    return true;
}

int open_fds() {
    int n = 0;
    if (DIR* d = ::opendir("/proc/self/fd")) {
        while (auto* e = ::readdir(d))
            n += e->d_name[0] != '.';
        ::closedir(d);
    }
    return n;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2 || size > 65536) return 0;
    static const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    const size_t nfds = data[0] % (attach::kMaxFds + 3);
    std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);

    if (bytes.size() >= attach::kHeaderSize) {
        auto header = bytes.substr(0, attach::kHeaderSize);
        auto h = attach::decode_header(header);
        if (h && (h->second > attach::kMaxPayload || attach::encode_header(h->first, h->second) != header))
            __builtin_trap();
    }

    int sp[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) return 0;
    {
        lxcri::sys::Fd writer(sp[0]), reader(sp[1]);
        int buf = 1 << 20;
        ::setsockopt(writer.get(), SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
        if (!send_stream(writer.get(), bytes, null_fd < 0 ? 0 : nfds, null_fd)) return 0;
        ::shutdown(writer.get(), SHUT_WR);
        auto deadline = attach::Clock::now() + std::chrono::seconds(5);
        size_t consumed = 0;
        for (;;) {
            auto m = attach::receive(reader.get(), deadline);
            if (!m) break;
            if (m->fds.size() > attach::kMaxFds || m->payload.size() > attach::kMaxPayload) __builtin_trap();
            if (consumed > 0 && !m->fds.empty()) __builtin_trap(); // only the first bytes carried any
            std::string again = attach::encode_header(m->type, static_cast<uint32_t>(m->payload.size()));
            again += m->payload;
            if (bytes.substr(consumed, again.size()) != again) __builtin_trap();
            consumed += again.size();
        }
    }
    // Every descriptor received was closed: the number of open descriptors does not creep up (counted every
    // 64 runs; a leak accumulates).
    static unsigned runs = 0;
    static int baseline = -1;
    if (runs++ % 64 == 0) {
        int open_now = open_fds();
        if (baseline < 0) baseline = open_now;
        if (open_now > baseline + 8) __builtin_trap();
    }
    return 0;
}
