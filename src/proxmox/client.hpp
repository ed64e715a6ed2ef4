// A client of the Proxmox VE REST API (/api2/json) over libcurl (loaded lazily, proxmox/curl.hpp).
// - TLS verified against the system's CAs (or the config's "ca"), or pinned: the SHA-256 of the server's
//   certificate must equal the config's "fingerprint" (checked in the handshake, before any request byte,
//   so a token never reaches an unpinned server).
// - API token (Authorization: PVEAPIToken=...) or ticket auth (POST /access/ticket, the PVEAuthCookie and
//   CSRFPreventionToken on writes; a 401 logs in again once).
// - Every call has a deadline (the whole exchange, retries included). GETs are retried with backoff on
//   transport errors and 502/503/596; any request is retried on the next host when its host refused the
//   connection (nothing was sent), and the host that answered is used for the rest of the process.
// - One CURL handle per Client: keep-alive across calls.
// - Answers are bounded (kMaxBody) and parsed with limits (proxmox/parse.hpp).
// The token's secret and the password are never in an error or a log line.
#pragma once
#include "proxmox/config.hpp"
#include "proxmox/parse.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace lxcri::proxmox {

using Deadline = std::chrono::steady_clock::time_point;
using Params = std::vector<std::pair<std::string, std::string>>;

// application/x-www-form-urlencoded of params (also the query string).
std::string form_encode(const Params& p);

class Client {
  public:
    // cache_dir: where the node cache lives ("" = none).
    explicit Client(Config cfg, std::string cache_dir = "");
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    const Config& config() const { return cfg_; }
    // Requests sent so far (every HTTP exchange, polls and retries included).
    size_t requests() const { return requests_; }

    Result<Json> get(const std::string& path, const Params& query, Deadline d);
    Result<Json> post(const std::string& path, const Params& form, Deadline d);
    Result<Json> put(const std::string& path, const Params& form, Deadline d);
    Result<Json> del(const std::string& path, const Params& query, Deadline d);
    // POST .../storage/{storage}/upload (multipart: content, filename, the file).
    Result<Json> upload(const std::string& storage, const std::string& content, const std::string& filename,
                        const std::string& file, Deadline d);

    // Polls the task until it stopped (poll interval from 5 ms, doubling to 100 ms); an exit status other
    // than OK/WARNINGS is an error quoting the last lines of its log.
    Status wait(const Upid& task, Deadline d);
    // A call that starts a task (its data is a UPID), then wait().
    Status run_task(const std::string& method, const std::string& path, const Params& form, Deadline d);

    // GET /cluster/nextid (a hint: a create may still race for it).
    Result<uint32_t> next_id(Deadline d);
    // GET /cluster/resources?type=...
    Result<std::vector<Resource>> resources(const std::string& type, Deadline d);
    // The configured node is in the cluster and online (the node list cached node_cache_duration seconds in
    // cache_dir).
    Status check_node(Deadline d);

    // "/nodes/<node>" of the configured node.
    std::string node_path() const { return "/nodes/" + cfg_.node; }

  private:
    struct Impl;
    Result<Json> call(const std::string& method, const std::string& path, const Params& params, Deadline d,
                      const std::string* upload_file = nullptr, const std::string* upload_name = nullptr);
    Result<HttpResponse> perform(const std::string& method, const std::string& path, const Params& params,
                                 Deadline d, const std::string* upload_file, const std::string* upload_name);
    Status login(Deadline d);

    Config cfg_;
    std::string cache_dir_;
    std::unique_ptr<Impl> impl_;
    size_t host_ = 0; // the host in use
    size_t requests_ = 0;
    std::string ticket_, csrf_;
};

} // namespace lxcri::proxmox
