// One unix-socket message with its ancillary data (SCM_CREDENTIALS, SCM_RIGHTS).
#pragma once
#include "base/result.hpp"
#include "sys/fd.hpp"

#include <sys/socket.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace lxcri::sys {

struct Received {
    std::string data;           // empty: the peer closed the socket
    std::optional<ucred> creds; // SCM_CREDENTIALS (needs SO_PASSCRED), pid in our namespace
    Fd fd;                      // the first SCM_RIGHTS descriptor, close-on-exec
};

// Whether fd becomes readable (or hung up) within timeout; EINTR is retried.
bool wait_readable(int fd, std::chrono::milliseconds timeout);

// recvmsg with EINTR retried, up to max_data bytes of payload.
Result<Received> receive(int sock, size_t max_data);

// One message: data as payload and fd as SCM_RIGHTS (sendmsg, EINTR retried, no SIGPIPE).
Status send_fd(int sock, int fd, std::string_view data);

} // namespace lxcri::sys
