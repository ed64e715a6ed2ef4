// Parsers of PVE API answers: pure functions over untrusted bytes (fuzzed: fuzz/proxmox_response_fuzz.cpp).
// Everything from the server is bounded (kMaxBody, kMaxDepth) and errors quote it only cut and cleaned.
#pragma once
#include "base/result.hpp"

#include <nlohmann/json.hpp>

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lxcri::proxmox {

using Json = nlohmann::json;

inline constexpr size_t kMaxBody = size_t{8} << 20;
inline constexpr size_t kMaxDepth = 64;

struct HttpResponse {
    long status = 0;
    std::string reason; // the status line's reason phrase (PVE puts the message's first line there)
    std::string body;
};

// The "data" of a 2xx answer ({"data":...}); otherwise an error
// "PVE POST /nodes/pve/lxc: 400 Parameter verification failed: net0: ..." built from the status, the
// reason or "message", and "errors" per parameter. 401/403 are ErrorKind::Invalid (credentials), 404 and
// "does not exist" NotFound, "already exists" Exists.
Result<Json> parse_response(std::string_view method, std::string_view path, const HttpResponse& r);

// Printable, one line, at most max bytes of untrusted text.
std::string clean(std::string_view s, size_t max = 300);

// UPID:node:pid:pstart:starttime:type:id:user: (PVE's format; pid/pstart/starttime hex).
struct Upid {
    std::string raw, node, type, id, user;
};
Result<Upid> parse_upid(std::string_view s);
// A task-starting call answers a UPID string as its data.
Result<Upid> task_of(const Json& data);

struct TaskStatus {
    bool running = false;
    std::string exitstatus; // when stopped: "OK", "WARNINGS: N" or the error
    bool ok() const { return !running && (exitstatus == "OK" || exitstatus.starts_with("WARNINGS")); }
};
Result<TaskStatus> parse_task_status(const Json& data);
// /tasks/{upid}/log: [{"n":1,"t":"line"},...] -> the lines in order.
Result<std::vector<std::string>> parse_task_log(const Json& data);

// /nodes/{node}/lxc/{vmid}/status/current.
struct CtStatus {
    std::string status; // running, stopped
    pid_t pid = 0;      // the init's host pid (undocumented "pid"), 0 when absent
    std::string lock;
    bool suspended = false; // "qmpstatus"/"status" paused (suspend)
};
Result<CtStatus> parse_ct_status(const Json& data);

// /cluster/resources entries of type node, lxc (qemu and storage are skipped).
struct Resource {
    std::string type, node, status, name, tags, lock;
    uint32_t vmid = 0;
};
Result<std::vector<Resource>> parse_resources(const Json& data);

// /cluster/nextid: a VMID (PVE answers it as a string).
Result<uint32_t> parse_vmid(const Json& data, std::string_view what = "VMID");

} // namespace lxcri::proxmox
