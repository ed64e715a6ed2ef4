// Seccomp notify, the runtime's half (runc's sendContainerProcessState): the notify fd of a process whose
// filter has SCMP_ACT_NOTIFY rules goes to the agent listening on linux.seccomp.listenerPath (SOCK_STREAM),
// with the runtime-spec's ContainerProcessState as the payload and the fd as SCM_RIGHTS, in one message.
#include "runtime/common.hpp"
#include "sys/fd.hpp"
#include "sys/socket.hpp"

#include <nlohmann/json.hpp>

#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

namespace lxcri::runtime {

std::string container_process_state(const spec::Seccomp& sc, pid_t pid, const std::string& oci_state) {
    auto full = nlohmann::ordered_json::parse(oci_state);
    // The runtime-spec's State as runc marshals it (its field order; no rootfs, created or owner).
    nlohmann::ordered_json state = nlohmann::ordered_json::object();
    for (const char* key : {"ociVersion", "id", "status", "pid", "bundle", "annotations"})
        if (auto it = full.find(key); it != full.end()) state[key] = *it;
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    j["ociVersion"] = state.value("ociVersion", "");
    j["fds"] = {"seccompFd"};
    j["pid"] = pid;
    if (!sc.listener_metadata.empty()) j["metadata"] = sc.listener_metadata;
    j["state"] = std::move(state);
    return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

Status send_to_seccomp_agent(const spec::Seccomp& sc, const std::string& process_state, int notify_fd) {
    const std::string& path = sc.listener_path;
    const std::string dial = "failed to connect with seccomp agent specified in the seccomp profile: ";
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) return fail(dial + "dial unix " + path + ": path too long");
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    sys::Fd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!sock.valid()) return fail_errno("socket");
    while (::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
        if (errno != EINTR) return fail_errno(dial + "dial unix " + path + ": connect");
    TRY_CTX(sys::send_fd(sock.get(), notify_fd, process_state), "cannot send seccomp fd to " + path);
    return ok();
}

backend::SeccompAgent seccomp_agent(const spec::Spec& sp,
                                    const std::function<std::string(pid_t)>& oci_state) {
    if (!sp.linux_ || !sp.linux_->seccomp || !plan::seccomp_notifies(*sp.linux_->seccomp)) return {};
    const spec::Seccomp sc = *sp.linux_->seccomp;
    return [sc, oci_state](pid_t pid, int notify_fd) -> Status {
        if (sc.listener_path.empty()) return fail("listenerPath is not set");
        return send_to_seccomp_agent(sc, container_process_state(sc, pid, oci_state(pid)), notify_fd);
    };
}

} // namespace lxcri::runtime
