#include "proxmox/client.hpp"

#include "proxmox/curl.hpp"
#include "sys/fs.hpp"
#include "sys/log.hpp"

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <thread>

namespace lxcri::proxmox {

namespace {

using namespace std::chrono_literals;

long ms_left(Deadline d) {
    auto l =
        std::chrono::duration_cast<std::chrono::milliseconds>(d - std::chrono::steady_clock::now()).count();
    return l > 0 ? static_cast<long>(std::min<long long>(l, 1LL << 30)) : 0;
}

// The pin: libcurl's OpenSSL backend hands its SSL_CTX to ssl_ctx_cb, which replaces the chain check by a
// comparison of the leaf certificate's SHA-256 with the configured one.
struct Pin {
    const dl::Curl* c = nullptr;
    std::string expected; // "AA:BB:..."
    std::string got;      // what the server presented ("" until a handshake)
    bool mismatch = false;
};

int verify_cb(X509_STORE_CTX* store, void* arg) {
    auto* pin = static_cast<Pin*>(arg);
    X509* cert = pin->c->x509_store_ctx_get0_cert(store);
    unsigned char md[64];
    unsigned int len = 0;
    if (!cert || !pin->c->x509_digest(cert, pin->c->evp_sha256(), md, &len) || len != 32) {
        pin->mismatch = true;
        pin->got = "(no certificate)";
        return 0;
    }
    std::string hex;
    char b[4];
    for (unsigned i = 0; i < len; ++i) {
        std::snprintf(b, sizeof b, i ? ":%02X" : "%02X", md[i]);
        hex += b;
    }
    pin->got = hex;
    pin->mismatch = hex != pin->expected;
    return pin->mismatch ? 0 : 1;
}

CURLcode ssl_ctx_cb(CURL*, void* ssl_ctx, void* arg) {
    auto* pin = static_cast<Pin*>(arg);
    pin->c->ssl_ctx_set_cert_verify_callback(static_cast<SSL_CTX*>(ssl_ctx), verify_cb, pin);
    return CURLE_OK;
}

struct Sink {
    std::string body;
    bool too_big = false;
    long status = 0;
    std::string reason;
};

size_t write_cb(char* p, size_t size, size_t n, void* arg) {
    auto* s = static_cast<Sink*>(arg);
    size_t len = size * n;
    if (s->body.size() + len > kMaxBody) {
        s->too_big = true;
        return 0;
    }
    s->body.append(p, len);
    return len;
}

size_t header_cb(char* p, size_t size, size_t n, void* arg) {
    auto* s = static_cast<Sink*>(arg);
    std::string_view h(p, size * n);
    if (h.starts_with("HTTP/")) { // a status line (the last one wins: 100-continue, redirects)
        auto sp = h.find(' ');
        if (sp != std::string_view::npos) {
            auto rest = h.substr(sp + 1);
            auto sp2 = rest.find(' ');
            s->reason = sp2 == std::string_view::npos ? "" : clean(rest.substr(sp2 + 1), 300);
            while (!s->reason.empty() && (s->reason.back() == ' '))
                s->reason.pop_back();
        }
    }
    return size * n;
}

bool unreserved(unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

std::string url_host(const std::string& h) {
    return h.find(':') != std::string::npos ? "[" + h + "]" : h;
}

// Transport errors where the request never reached the server: safe to send to another host.
bool not_sent(CURLcode rc) {
    return rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST;
}

} // namespace

std::string form_encode(const Params& p) {
    std::string out;
    static const char* hexd = "0123456789ABCDEF";
    for (auto& [k, v] : p) {
        if (!out.empty()) out += '&';
        for (const std::string* s : {&k, &v}) {
            for (unsigned char c : *s) {
                if (unreserved(c))
                    out += static_cast<char>(c);
                else {
                    out += '%';
                    out += hexd[c >> 4];
                    out += hexd[c & 15];
                }
            }
            if (s == &k) out += '=';
        }
    }
    return out;
}

struct Client::Impl {
    const dl::Curl* c = nullptr;
    CURL* h = nullptr;
    Pin pin;
    ~Impl() {
        if (h) c->easy_cleanup(h);
    }
};

Client::Client(Config cfg, std::string cache_dir)
    : cfg_(std::move(cfg)), cache_dir_(std::move(cache_dir)), impl_(std::make_unique<Impl>()) {}
Client::~Client() = default;

Result<HttpResponse> Client::perform(const std::string& method, const std::string& path, const Params& params,
                                     Deadline d, const std::string* upload_file,
                                     const std::string* upload_name) {
    if (!impl_->h) {
        impl_->c = TRY_CTX(dl::curl(), "PVE API client");
        impl_->h = impl_->c->easy_init();
        if (!impl_->h) return fail(ErrorKind::System, "PVE API client: curl_easy_init failed");
        impl_->pin.c = impl_->c;
        impl_->pin.expected = cfg_.fingerprint;
    }
    const dl::Curl& c = *impl_->c;
    CURL* h = impl_->h;
    bool write = method != "GET";
    bool idempotent = method == "GET";
    std::string body = (method == "POST" || method == "PUT") && !upload_file ? form_encode(params) : "";
    std::string query =
        (method == "GET" || method == "DELETE") && !params.empty() ? "?" + form_encode(params) : "";
    auto backoff = 10ms;
    size_t tried_hosts = 0;
    int attempts = 0;
    for (;;) {
        long left = ms_left(d);
        if (left <= 0)
            return fail(ErrorKind::System,
                        "PVE " + method + " " + path + ": deadline passed before an answer");
        const std::string& host = cfg_.hosts[host_ % cfg_.hosts.size()];
        std::string url =
            "https://" + url_host(host) + ":" + std::to_string(cfg_.port) + "/api2/json" + path + query;
        c.easy_reset(h);
        Sink sink;
        curl_slist* headers = nullptr;
        curl_mime* mime = nullptr;
        std::string auth;
        if (!cfg_.token.empty())
            auth = "Authorization: PVEAPIToken=" + cfg_.token;
        else if (!ticket_.empty())
            auth = "Cookie: PVEAuthCookie=" + ticket_;
        if (!auth.empty()) headers = c.slist_append(headers, auth.c_str());
        std::string csrf = "CSRFPreventionToken: " + csrf_;
        if (write && cfg_.token.empty() && !csrf_.empty()) headers = c.slist_append(headers, csrf.c_str());
        headers = c.slist_append(headers, "Accept: application/json");
        headers = c.slist_append(headers, "Expect:");
        // The header list holds the secret: wiped with the strings below once sent.
        c.easy_setopt(h, CURLOPT_URL, url.c_str());
        c.easy_setopt(h, CURLOPT_HTTPHEADER, headers);
        c.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        c.easy_setopt(h, CURLOPT_TIMEOUT_MS, std::max(1L, left));
        c.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, std::max(1L, std::min(left, 3000L)));
        c.easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
        c.easy_setopt(h, CURLOPT_WRITEDATA, &sink);
        c.easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
        c.easy_setopt(h, CURLOPT_HEADERDATA, &sink);
        c.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
        c.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
        c.easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
        if (!cfg_.fingerprint.empty()) {
            c.easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
            c.easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L); // the pin names the certificate itself
            c.easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
            c.easy_setopt(h, CURLOPT_SSL_CTX_DATA, &impl_->pin);
            // A cached session would skip the handshake's check: every new connection is checked.
            c.easy_setopt(h, CURLOPT_SSL_SESSIONID_CACHE, 0L);
            impl_->pin.mismatch = false;
        } else {
            c.easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
            c.easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
            if (!cfg_.ca.empty()) c.easy_setopt(h, CURLOPT_CAINFO, cfg_.ca.c_str());
        }
        if (upload_file) {
            mime = c.mime_init(h);
            curl_mimepart* part = c.mime_addpart(mime);
            c.mime_name(part, "content");
            c.mime_data(part, params.empty() ? "vztmpl" : params[0].second.c_str(), CURL_ZERO_TERMINATED);
            // The name as a field too, before the file part named "filename" (PVE's GUI sends the file part
            // only; pve-http-server takes the name from either).
            part = c.mime_addpart(mime);
            c.mime_name(part, "filename");
            c.mime_data(part, upload_name->c_str(), CURL_ZERO_TERMINATED);
            part = c.mime_addpart(mime);
            c.mime_name(part, "filename");
            c.mime_filedata(part, upload_file->c_str());
            c.mime_filename(part, upload_name->c_str());
            c.easy_setopt(h, CURLOPT_MIMEPOST, mime);
        } else if (method == "POST" || method == "PUT") {
            c.easy_setopt(h, CURLOPT_POSTFIELDS, body.c_str());
            c.easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
            if (method == "PUT") c.easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
        } else if (method == "DELETE") {
            c.easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
        }
        auto t0 = std::chrono::steady_clock::now();
        ++requests_;
        CURLcode rc = c.easy_perform(h);
        long status = 0;
        c.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        c.slist_free_all(headers);
        std::fill(auth.begin(), auth.end(), '\0');
        if (mime) c.mime_free(mime);
        {
            auto ms =
                std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
                    .count();
            log::debug("PVE " + method + " " + host + " " + path + " -> " +
                       (rc == CURLE_OK ? std::to_string(status) : std::string(c.easy_strerror(rc))) + " (" +
                       std::to_string(ms / 1000) + "." + std::to_string(ms % 1000 / 100) + " ms)");
        }
        std::string where = "PVE " + method + " " + path + " on " + host;
        if (rc == CURLE_OK) {
            sink.status = status;
            if (idempotent && (status == 502 || status == 503 || status == 596) && ++attempts < 4 &&
                ms_left(d) > backoff.count()) {
                std::this_thread::sleep_for(backoff);
                backoff *= 2;
                continue;
            }
            return HttpResponse{status, std::move(sink.reason), std::move(sink.body)};
        }
        if (impl_->pin.mismatch)
            return fail(ErrorKind::Invalid, where + ": TLS certificate fingerprint mismatch: expected " +
                                                cfg_.fingerprint + ", got " + impl_->pin.got);
        if (sink.too_big)
            return fail(ErrorKind::System,
                        where + ": answer larger than " + std::to_string(kMaxBody) + " bytes");
        if (not_sent(rc) || (rc == CURLE_OPERATION_TIMEDOUT && status == 0 && idempotent)) {
            // The host is down: the next one (each at most once per call).
            if (++tried_hosts < cfg_.hosts.size()) {
                log::debug("PVE host " + host + " unreachable (" + c.easy_strerror(rc) +
                           "), trying the next");
                ++host_;
                continue;
            }
            if (rc == CURLE_COULDNT_CONNECT && ++attempts < 3 && ms_left(d) > backoff.count() * 2) {
                std::this_thread::sleep_for(backoff);
                backoff *= 2;
                tried_hosts = 0;
                ++host_;
                continue;
            }
            std::string which =
                cfg_.hosts.size() > 1 ? "no host of proxmox.hosts answers" : "host does not answer";
            return fail(ErrorKind::System, where + ": " + which + ": " + c.easy_strerror(rc));
        }
        if (idempotent && rc != CURLE_OPERATION_TIMEDOUT && rc != CURLE_PEER_FAILED_VERIFICATION &&
            rc != CURLE_SSL_CACERT_BADFILE && ++attempts < 3 && ms_left(d) > backoff.count()) {
            std::this_thread::sleep_for(backoff);
            backoff *= 2;
            continue;
        }
        std::string hint;
        if (rc == CURLE_PEER_FAILED_VERIFICATION)
            hint = " (the server's certificate is not trusted: set proxmox.fingerprint or proxmox.ca)";
        return fail(ErrorKind::System, where + ": " + c.easy_strerror(rc) + hint);
    }
}

Status Client::login(Deadline d) {
    Params p{{"username", cfg_.user}, {"password", cfg_.password}};
    ticket_.clear();
    csrf_.clear();
    auto r = TRY(perform("POST", "/access/ticket", p, d, nullptr, nullptr));
    auto data = TRY(parse_response("POST", "/access/ticket", r));
    if (!data.is_object() || !data.contains("ticket") || !data["ticket"].is_string() ||
        !data.contains("CSRFPreventionToken") || !data["CSRFPreventionToken"].is_string())
        return fail(ErrorKind::Invalid, "PVE POST /access/ticket: no ticket in the answer for " + cfg_.user);
    ticket_ = data["ticket"].get<std::string>();
    csrf_ = data["CSRFPreventionToken"].get<std::string>();
    for (auto* s : {&ticket_, &csrf_})
        for (char ch : *s)
            if (static_cast<unsigned char>(ch) < 0x21 || ch == 0x7f || ch == ';')
                return fail(ErrorKind::Invalid, "PVE POST /access/ticket: malformed ticket");
    return ok();
}

Result<Json> Client::call(const std::string& method, const std::string& path, const Params& params,
                          Deadline d, const std::string* upload_file, const std::string* upload_name) {
    if (cfg_.token.empty() && ticket_.empty()) TRY(login(d));
    auto r = TRY(perform(method, path, params, d, upload_file, upload_name));
    if (r.status == 401 && cfg_.token.empty()) { // an expired ticket: once more with a new one
        TRY(login(d));
        r = TRY(perform(method, path, params, d, upload_file, upload_name));
    }
    auto data = parse_response(method, path, r);
    if (!data && (r.status == 401 || r.status == 403))
        data.error().context("as " + cfg_.principal()); // who was refused, never the secret
    return data;
}

Result<Json> Client::get(const std::string& path, const Params& q, Deadline d) {
    return call("GET", path, q, d);
}
Result<Json> Client::post(const std::string& path, const Params& f, Deadline d) {
    return call("POST", path, f, d);
}
Result<Json> Client::put(const std::string& path, const Params& f, Deadline d) {
    return call("PUT", path, f, d);
}
Result<Json> Client::del(const std::string& path, const Params& q, Deadline d) {
    return call("DELETE", path, q, d);
}
Result<Json> Client::upload(const std::string& storage, const std::string& content,
                            const std::string& filename, const std::string& file, Deadline d) {
    return call("POST", node_path() + "/storage/" + storage + "/upload", {{"content", content}}, d, &file,
                &filename);
}

Status Client::wait(const Upid& task, Deadline d) {
    std::string base = "/nodes/" + task.node + "/tasks/" + form_encode({{"", task.raw}}).substr(1);
    auto interval = 5ms;
    for (;;) {
        auto st = TRY_CTX(parse_task_status(TRY(get(base + "/status", {}, d))), "task " + task.raw);
        if (!st.running) {
            if (st.ok()) return ok();
            std::string tail;
            if (auto log = get(base + "/log", {{"start", "0"}, {"limit", "1000"}}, d)) {
                if (auto lines = parse_task_log(*log)) {
                    size_t from = lines->size() > 4 ? lines->size() - 4 : 0;
                    for (size_t i = from; i < lines->size(); ++i)
                        tail += (tail.empty() ? "" : " | ") + (*lines)[i];
                }
            }
            return fail(ErrorKind::System, "PVE task " + task.type + " " + task.id + " failed: " +
                                               st.exitstatus + (tail.empty() ? "" : " (log: " + tail + ")"));
        }
        if (ms_left(d) <= interval.count())
            return fail(ErrorKind::System, "PVE task " + task.type + " " + task.id + " (" + task.raw +
                                               ") still running at the deadline");
        std::this_thread::sleep_for(interval);
        interval = std::min(interval * 2, std::chrono::milliseconds(100));
    }
}

Status Client::run_task(const std::string& method, const std::string& path, const Params& form, Deadline d) {
    auto data = TRY(call(method, path, form, d));
    auto upid = TRY_CTX(task_of(data), "PVE " + method + " " + path);
    return wait(upid, d);
}

Result<uint32_t> Client::next_id(Deadline d) {
    return TRY_CTX(parse_vmid(TRY(get("/cluster/nextid", {}, d))), "PVE GET /cluster/nextid");
}

Result<std::vector<Resource>> Client::resources(const std::string& type, Deadline d) {
    Params q;
    if (!type.empty()) q.emplace_back("type", type);
    return TRY_CTX(parse_resources(TRY(get("/cluster/resources", q, d))), "PVE GET /cluster/resources");
}

Status Client::check_node(Deadline d) {
    std::string cache = cache_dir_.empty() ? "" : cache_dir_ + "/@proxmox-nodes.json";
    time_t now = ::time(nullptr);
    std::vector<Resource> nodes;
    bool cached = false;
    if (!cache.empty() && cfg_.node_cache_duration > 0) {
        if (auto text = sys::read_file(cache); text && text->size() < kMaxBody) {
            try {
                auto j = Json::parse(*text);
                if (j.value("key", "") == cfg_.hosts[0] + ":" + std::to_string(cfg_.port) &&
                    now - j.value("time", int64_t{0}) < static_cast<int64_t>(cfg_.node_cache_duration) &&
                    now >= j.value("time", int64_t{0})) {
                    for (auto& n : j.at("nodes"))
                        nodes.push_back(
                            {"node", n.at("node").get<std::string>(), n.at("status").get<std::string>()});
                    cached = true;
                }
            } catch (...) {
            }
        }
    }
    if (!cached) {
        nodes = TRY(resources("node", d));
        if (!cache.empty() && cfg_.node_cache_duration > 0) {
            Json j{{"key", cfg_.hosts[0] + ":" + std::to_string(cfg_.port)},
                   {"time", int64_t(now)},
                   {"nodes", Json::array()}};
            for (auto& n : nodes)
                if (n.type == "node") j["nodes"].push_back({{"node", n.node}, {"status", n.status}});
            (void)sys::write_file_atomic(cache, j.dump(), 0644);
        }
    }
    for (auto& n : nodes) {
        if (n.type != "node" || n.node != cfg_.node) continue;
        if (n.status != "online")
            return fail(ErrorKind::System,
                        "proxmox.node: node " + cfg_.node + " is " + n.status + ", not online");
        return ok();
    }
    std::string have;
    for (auto& n : nodes)
        if (n.type == "node") have += (have.empty() ? "" : ", ") + n.node;
    return fail(ErrorKind::Invalid,
                "proxmox.node: no node \"" + cfg_.node + "\" in the cluster (have: " + have + ")");
}

} // namespace lxcri::proxmox
