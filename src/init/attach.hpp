// The attach protocol between the init helper in attach mode (PID 1 of a Proxmox VE CT, started by PVE as
// `proxmox-lxcri-init --attach /.lxcri/attach.sock`) and the runtime's stand-in on the node
// (backend/proxmox/standin). docs/proxmox-stdio.md explains the design.
//
// Transport: a unix stream socket the init listens on inside its own rootfs; the node's root reaches it as
// /proc/<init host pid>/root/.lxcri/attach.sock. Only peers outside the CT's pid namespace are served (their
// SO_PEERCRED pid reads 0 inside it); a process of the CT is refused.
//
// Framing, version 2: every message is a 12-byte header, then `length` payload bytes.
//   uint32 magic "LXAT" (0x5441584c as read on this host) | uint16 version (2) | uint16 type | uint32 length
// Host byte order (both ends run on one host). Descriptors travel as SCM_RIGHTS with the header's bytes, at
// most kMaxFds per message. A payload above kMaxPayload, an unknown magic, version or type, a truncated
// message or descriptors on a message that takes none are errors: the receiver drops the connection, and the
// init exits 127 while the OCI process is not running yet (a create-time failure).
//
// Conversation (the stand-in becomes the OCI process; the init only keeps the CT alive):
//   session (the stand-in, one per CT; a second Process on another connection gets Error and is closed):
//     -> Process  payload: plan::InitConfig JSON; fds: the stand-in's own pidfd (the init watches it)
//     <- Pty      (process.terminal true) payload: "/dev/pts/N"; fds: the pty master and slave, made in the
//                 CT's devpts (the stand-in forwards the master to --console-socket, keeps the slave)
//     <- Ready    the create-time checks passed (executable found, rlimits set, seccomp profile built)
//      | Error    payload: why; the init then exits 127
//     <- Start    payload: the OCI state JSON: the stand-in runs exec_process() (the session is
//     close-on-exec)
//     <- Exit     (before Start only) payload: a raw wait status the stand-in dies like, as the init exits
//   start (any connection, once):
//     -> Start    payload: the OCI state JSON (stdin of the startContainer hooks; may be empty)
//     <- Started  payload: the process's pid in the CT's pid namespace, decimal; SCM_CREDENTIALS naming it
//                 (the kernel gives the receiver its host pid), when the init may send them
//      | Error
//   query (any connection, any time):
//     -> QueryPid
//     <- Pid      payload: the process's pid in the CT's pid namespace, "0" before start; SCM_CREDENTIALS
// The session's end before Start makes the init exit 1 (never started, as the lxc backend's init does when
// the fifo closes without a byte); after Start the init exits when the process's pidfd reports its end.
#pragma once
#include "base/result.hpp"
#include "sys/fd.hpp"

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lxcri::init::attach {

inline constexpr const char* kDir = "/.lxcri";           // in the CT's rootfs: the init and the socket
inline constexpr const char* kInitPath = "/.lxcri/init"; // the init helper inside the template
inline constexpr const char* kSocketPath = "/.lxcri/attach.sock"; // where the init listens
inline constexpr uint32_t kMagic = 0x5441584c;                    // "LXAT"
inline constexpr uint16_t kVersion = 2;
inline constexpr uint32_t kMaxPayload = 16u << 20; // as any other JSON input of the runtime
inline constexpr size_t kMaxFds = 3 + 64;          // stdio plus up to 64 preserved descriptors
inline constexpr size_t kHeaderSize = 12;

enum class Type : uint16_t {
    Process = 1,
    Pty = 2,
    Ready = 3,
    Error = 4,
    Start = 5,
    Started = 6,
    Exit = 7,
    QueryPid = 8,
    Pid = 9,
};
std::string_view type_name(Type t);

struct Message {
    Type type = Type::Error;
    std::string payload;
    std::vector<sys::Fd> fds;
    std::optional<ucred> creds; // SCM_CREDENTIALS with the header (the receiver set SO_PASSCRED)
};

using Clock = std::chrono::steady_clock;

// One message (payload, descriptors, credentials); MSG_NOSIGNAL, EINTR retried.
Status send(int sock, Type type, std::string_view payload, std::span<const int> fds = {},
            const ucred* creds = nullptr);
// One message, waiting until deadline for each part. The peer's orderly close before a header is
// ErrorKind::Gone ("connection closed"); a bad header or an oversized payload is ErrorKind::Invalid.
Result<Message> receive(int sock, Clock::time_point deadline);

// Header encoding, exposed for the tests.
std::string encode_header(Type type, uint32_t length, uint16_t version = kVersion, uint32_t magic = kMagic);
// Validates a header: the type and payload length, or ErrorKind::Invalid with the reason.
Result<std::pair<Type, uint32_t>> decode_header(std::string_view header);

// Runs the init in attach mode (never returns when the process ran: the init exits with its code).
int run_attach_mode(const std::string& socket_path);

} // namespace lxcri::init::attach
