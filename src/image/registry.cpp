#include "image/registry.hpp"

#include "image/limits.hpp"
#include "sys/fs.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstring>
#include <map>
#include <mutex>

namespace lxcri::image {

namespace {

constexpr const char* kUserAgent = "proxmox-lxcri";

void global_init() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\r' || s.back() == '\n' || s.back() == ' '))
        s.pop_back();
    size_t i = 0;
    while (i < s.size() && s[i] == ' ')
        i++;
    return s.substr(i);
}

const char* reason(long status) {
    switch (status) {
    case 400:
        return "bad request";
    case 401:
        return "unauthorized";
    case 403:
        return "forbidden";
    case 404:
        return "not found";
    case 416:
        return "range not satisfiable";
    case 429:
        return "too many requests";
    case 500:
        return "internal server error";
    case 502:
        return "bad gateway";
    case 503:
        return "service unavailable";
    default:
        return "";
    }
}

struct Request {
    std::string method = "GET";
    std::string url;
    std::vector<std::string> headers;
    std::chrono::milliseconds timeout{60000};
    bool blob = false;
    int64_t range_from = 0;
    const BlobSink* sink = nullptr;
    size_t max_body = kMaxDocumentSize; // manifests, error bodies; token answers get kMaxSecretDocSize
};

struct Response {
    long status = 0;
    std::map<std::string, std::string> headers; // lowercase names, final response only
    std::string body;
};

struct Transfer {
    CURL* curl = nullptr;
    const Request* req = nullptr;
    Response* resp = nullptr;
    bool started = false;
    Status sink_error = ok();
    bool body_too_large = false;
};

size_t on_header(char* data, size_t size, size_t n, void* ud) {
    auto* t = static_cast<Transfer*>(ud);
    std::string line(data, size * n);
    if (line.starts_with("HTTP/")) {
        t->resp->headers.clear();
        return size * n;
    }
    if (auto colon = line.find(':'); colon != std::string::npos)
        t->resp->headers[lower(line.substr(0, colon))] = trim(line.substr(colon + 1));
    return size * n;
}

Status start_blob(Transfer* t, long status) {
    int64_t start = 0;
    if (status == 206) {
        auto it = t->resp->headers.find("content-range");
        std::string want = "bytes " + std::to_string(t->req->range_from) + "-";
        if (it == t->resp->headers.end() || !it->second.starts_with(want))
            return fail("unexpected Content-Range in partial response (wanted from byte " +
                        std::to_string(t->req->range_from) + ")");
        start = t->req->range_from;
    }
    return t->req->sink->begin(start);
}

size_t on_data(char* data, size_t size, size_t n, void* ud) {
    auto* t = static_cast<Transfer*>(ud);
    size_t len = size * n;
    long status = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    bool success = status >= 200 && status < 300;
    if (t->req->sink && success) {
        if (!t->started) {
            t->started = true;
            if (t->sink_error = start_blob(t, status); !t->sink_error) return 0;
        }
        if (t->sink_error = t->req->sink->data(data, len); !t->sink_error) return 0;
        return len;
    }
    if (t->resp->body.size() + len > t->req->max_body) {
        t->body_too_large = true;
        return 0;
    }
    t->resp->body.append(data, len);
    return len;
}

// Scheme and host of a URL ("" when it does not parse).
std::pair<std::string, std::string> scheme_host(const std::string& url) {
    CURLU* u = curl_url();
    if (!u) return {};
    std::pair<std::string, std::string> out;
    if (curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK) {
        char* part = nullptr;
        if (curl_url_get(u, CURLUPART_SCHEME, &part, 0) == CURLUE_OK) out.first = lower(part);
        curl_free(part);
        part = nullptr;
        if (curl_url_get(u, CURLUPART_HOST, &part, 0) == CURLUE_OK) out.second = lower(part);
        curl_free(part);
    }
    curl_url_cleanup(u);
    return out;
}

// Credentials travel over https, or over plain http to this machine only.
Status check_credentials_transport(const std::string& url) {
    auto [scheme, host] = scheme_host(url);
    if (scheme == "https") return ok();
    if (scheme == "http" && is_loopback_host(host)) return ok();
    return fail("refusing to send credentials over plain " + (scheme.empty() ? std::string("?") : scheme) +
                " to " + (host.empty() ? url : host) + " (only https, or http to a loopback address)");
}

struct CurlHandle {
    CURL* h = curl_easy_init();
    curl_slist* headers = nullptr;
    ~CurlHandle() {
        curl_slist_free_all(headers);
        curl_easy_cleanup(h);
    }
};

} // namespace

std::string registry_error_message(std::string_view body) {
    auto v = parse_json_bounded(body, kMaxDocumentSize, "error body");
    if (!v || !v->is_object()) return "";
    auto it = v->find("errors");
    if (it == v->end() || !it->is_array()) return "";
    std::string out;
    for (auto& e : *it) {
        if (!e.is_object()) continue;
        std::string msg =
            e.contains("message") && e["message"].is_string() ? e["message"].get<std::string>() : "";
        std::string code = e.contains("code") && e["code"].is_string() ? e["code"].get<std::string>() : "";
        if (msg.empty()) msg = lower(code);
        if (e.contains("detail") && e["detail"].is_string() && !e["detail"].get<std::string>().empty())
            msg += " (" + e["detail"].get<std::string>() + ")";
        if (msg.empty()) continue;
        if (!out.empty()) out += "; ";
        out += msg;
    }
    return out;
}

struct RegistryClient::State {
    Reference ref;
    RegistryOptions opts;
    std::string scheme;
    std::mutex scheme_mu;
    std::atomic<bool> scheme_known{false}; // set by ping(), which every other call makes first if needed
    bool verify_tls = true;
    std::string ca_file; // <cert_dir>/<registry>/ca.crt when present
    std::mutex mu;
    std::string auth_header; // "Authorization: ..." or empty
    std::chrono::steady_clock::time_point auth_expiry = std::chrono::steady_clock::time_point::max();
    bool creds_loaded = false;
    std::optional<Credentials> creds;

    Result<Response> perform(const Request& r, const std::string& auth) {
        global_init();
        if (!auth.empty()) TRY_CTX(check_credentials_transport(r.url), r.method + " " + r.url);
        CurlHandle c;
        if (!c.h) return fail("curl_easy_init failed");
        Response resp;
        Transfer t{c.h, &r, &resp};
        char errbuf[CURL_ERROR_SIZE] = {0};
        curl_easy_setopt(c.h, CURLOPT_URL, r.url.c_str());
        curl_easy_setopt(c.h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c.h, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(c.h, CURLOPT_USERAGENT, kUserAgent);
        curl_easy_setopt(c.h, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(c.h, CURLOPT_MAXREDIRS, 10L);
        curl_easy_setopt(c.h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c.h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opts.connect_timeout.count()));
        curl_easy_setopt(c.h, CURLOPT_TIMEOUT_MS, static_cast<long>(r.timeout.count()));
        if (r.blob) {
            curl_easy_setopt(c.h, CURLOPT_LOW_SPEED_LIMIT, 1L);
            curl_easy_setopt(c.h, CURLOPT_LOW_SPEED_TIME,
                             std::max(1L, static_cast<long>(opts.stall_timeout.count() / 1000)));
            curl_easy_setopt(c.h, CURLOPT_BUFFERSIZE, 256L * 1024);
        }
        if (!ca_file.empty()) curl_easy_setopt(c.h, CURLOPT_CAINFO, ca_file.c_str());
        if (!verify_tls) {
            curl_easy_setopt(c.h, CURLOPT_SSL_VERIFYPEER, 0L);
            curl_easy_setopt(c.h, CURLOPT_SSL_VERIFYHOST, 0L);
        }
        if (r.method == "HEAD") curl_easy_setopt(c.h, CURLOPT_NOBODY, 1L);
        std::string range;
        if (r.range_from > 0) {
            range = std::to_string(r.range_from) + "-";
            curl_easy_setopt(c.h, CURLOPT_RANGE, range.c_str());
        }
        for (auto& h : r.headers)
            c.headers = curl_slist_append(c.headers, h.c_str());
        if (!auth.empty()) c.headers = curl_slist_append(c.headers, auth.c_str());
        curl_easy_setopt(c.h, CURLOPT_HTTPHEADER, c.headers);
        curl_easy_setopt(c.h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c.h, CURLOPT_HEADERDATA, &t);
        curl_easy_setopt(c.h, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c.h, CURLOPT_WRITEDATA, &t);
        CURLcode rc = curl_easy_perform(c.h);
        std::string what = r.method + " " + r.url;
        if (!t.sink_error) return std::unexpected(std::move(t.sink_error).error().context(what));
        if (t.body_too_large)
            return fail(what + ": response body larger than " + std::to_string(r.max_body) + " bytes");
        if (rc != CURLE_OK) {
            std::string detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
            if (rc == CURLE_OPERATION_TIMEDOUT) detail = "deadline exceeded: " + detail;
            long os_errno = 0;
            if (curl_easy_getinfo(c.h, CURLINFO_OS_ERRNO, &os_errno) == CURLE_OK && os_errno != 0)
                detail += " (" + std::string(std::strerror(static_cast<int>(os_errno))) + ")";
            return fail(what + ": " + detail);
        }
        curl_easy_getinfo(c.h, CURLINFO_RESPONSE_CODE, &resp.status);
        if (r.sink && resp.status >= 200 && resp.status < 300 && !t.started) {
            t.started = true; // an empty blob
            TRY_CTX(start_blob(&t, resp.status), what);
        }
        return resp;
    }

    std::string current_auth() {
        std::lock_guard g(mu);
        if (std::chrono::steady_clock::now() >= auth_expiry) auth_header.clear();
        return auth_header;
    }

    Result<std::optional<Credentials>> credentials() {
        std::lock_guard g(mu);
        if (!creds_loaded) {
            creds = TRY(lookup_credentials(opts.auth_file, ref.registry, ref.repository));
            creds_loaded = true;
        }
        return creds;
    }

    Status bearer(const Challenge& ch) {
        auto realm = ch.params.find("realm");
        if (realm == ch.params.end() || realm->second.empty()) return fail("bearer challenge without realm");
        auto cr = TRY(credentials());
        CurlHandle esc;
        auto escape = [&](const std::string& s) {
            char* e = curl_easy_escape(esc.h, s.c_str(), static_cast<int>(s.size()));
            std::string out = e ? e : "";
            curl_free(e);
            return out;
        };
        std::string url = realm->second;
        char sep = url.find('?') == std::string::npos ? '?' : '&';
        if (auto sv = ch.params.find("service"); sv != ch.params.end()) {
            url += sep + std::string("service=") + escape(sv->second);
            sep = '&';
        }
        auto sc = ch.params.find("scope");
        std::string scope = sc != ch.params.end() ? sc->second : "repository:" + ref.repository + ":pull";
        url += sep + std::string("scope=") + escape(scope);
        Request tr{.url = url, .timeout = opts.request_timeout, .max_body = kMaxSecretDocSize};
        std::string basic;
        if (cr && !cr->username.empty())
            basic = "Authorization: Basic " + base64_encode(cr->username + ":" + cr->password);
        Response resp = TRY_CTX(perform(tr, basic), "token server");
        if (resp.status != 200) {
            std::string msg = registry_error_message(resp.body);
            return fail("token server GET " + url + ": HTTP " + std::to_string(resp.status) +
                        (msg.empty() ? std::string(" ") + reason(resp.status) : ": " + msg));
        }
        Token tok = TRY_CTX(parse_token_response(resp.body), "token server " + realm->second);
        std::lock_guard g(mu);
        auth_header = "Authorization: Bearer " + tok.value;
        auth_expiry = std::chrono::steady_clock::now() + std::chrono::seconds(tok.expires_in - 10);
        return ok();
    }

    Status basic() {
        auto cr = TRY(credentials());
        if (!cr || cr->username.empty()) return fail("no credentials found");
        std::lock_guard g(mu);
        auth_header = "Authorization: Basic " + base64_encode(cr->username + ":" + cr->password);
        auth_expiry = std::chrono::steady_clock::time_point::max();
        return ok();
    }

    Status authenticate(const Response& resp) {
        auto h = resp.headers.find("www-authenticate");
        if (h == resp.headers.end()) return fail("HTTP 401 without a WWW-Authenticate challenge");
        auto chs = TRY(parse_challenges(h->second));
        for (auto& ch : chs)
            if (ch.scheme == "bearer") return bearer(ch);
        for (auto& ch : chs)
            if (ch.scheme == "basic") return basic();
        return fail("unsupported authentication scheme \"" + chs.front().scheme + "\"");
    }

    // A request with auth: on 401, answer the challenge once and retry.
    Result<Response> send(const Request& r) {
        Response resp = TRY(perform(r, current_auth()));
        if (resp.status != 401) return resp;
        TRY_CTX(authenticate(resp), r.method + " " + r.url + ": authentication required");
        resp = TRY(perform(r, current_auth()));
        return resp;
    }

    Status http_error(const Request& r, const Response& resp) {
        std::string msg = registry_error_message(resp.body);
        if (msg.empty()) msg = reason(resp.status);
        return fail(r.method + " " + r.url + ": HTTP " + std::to_string(resp.status) +
                    (msg.empty() ? "" : ": " + msg));
    }

    std::string url(const std::string& kind, const std::string& reference) const {
        return scheme + "://" + ref.api_host() + "/v2/" + ref.repository + "/" + kind + "/" + reference;
    }
};

RegistryClient::RegistryClient(const Reference& ref, RegistryOptions opts) : s_(std::make_unique<State>()) {
    s_->ref = ref;
    s_->opts = std::move(opts);
    s_->scheme = "https";
    s_->verify_tls = !s_->opts.insecure;
    if (std::string ca = s_->opts.cert_dir + "/" + ref.registry + "/ca.crt";
        !s_->opts.cert_dir.empty() && sys::exists(ca))
        s_->ca_file = ca;
}

RegistryClient::~RegistryClient() = default;

std::string RegistryClient::base_url() const {
    return s_->scheme + "://" + s_->ref.api_host();
}

Status RegistryClient::ping() {
    std::lock_guard g(s_->scheme_mu);
    s_->scheme = "https";
    s_->scheme_known = false;
    Request r{.url = base_url() + "/v2/", .timeout = s_->opts.request_timeout};
    auto resp = s_->send(r);
    // https first, always; plain http only for --tls-verify=false (as podman) and loopback registries (as
    // containers/image does for localhost). When both fail, both errors are told.
    std::optional<Error> https_error;
    if (!resp && (s_->opts.insecure || s_->ref.is_local())) {
        https_error = std::move(resp).error();
        s_->scheme = "http";
        r.url = base_url() + "/v2/";
        resp = s_->send(r);
    }
    const std::string what = "registry " + s_->ref.registry;
    auto with_https = [&](Error e) {
        if (https_error) e = Error(e.message() + "; and over https: " + https_error->message());
        return std::unexpected(std::move(e).with_context(what));
    };
    if (!resp) return with_https(std::move(resp).error());
    if (resp->status == 200) {
        s_->scheme_known = true;
        return ok();
    }
    return with_https(s_->http_error(r, *resp).error());
}

namespace {
const std::string kAccept = "Accept: " + std::string(media::kOciIndex) + ", " +
                            std::string(media::kOciManifest) + ", " + std::string(media::kDockerList) + ", " +
                            std::string(media::kDockerManifest);
}

Status RegistryClient::ensure_scheme() {
    if (s_->scheme_known) return ok();
    return ping();
}

Result<FetchedManifest> RegistryClient::get_manifest(const std::string& reference) {
    TRY(ensure_scheme());
    Request r{
        .url = s_->url("manifests", reference), .headers = {kAccept}, .timeout = s_->opts.request_timeout};
    Response resp = TRY(s_->send(r));
    if (resp.status != 200) return std::unexpected(s_->http_error(r, resp).error());
    FetchedManifest m;
    m.body = std::move(resp.body);
    m.digest = sha256_of(m.body);
    if (reference.starts_with("sha256:") && m.digest.str() != reference)
        return fail("GET " + r.url + ": manifest digest mismatch: got " + m.digest.str());
    auto ct = resp.headers.find("content-type");
    m.media_type = ct != resp.headers.end() ? ct->second.substr(0, ct->second.find(';')) : "";
    if (!is_index_type(m.media_type) && !is_manifest_type(m.media_type))
        m.media_type = detect_media_type(m.body);
    if (!is_index_type(m.media_type) && !is_manifest_type(m.media_type))
        return fail("GET " + r.url + ": unsupported manifest type \"" + m.media_type + "\"");
    return m;
}

Result<Descriptor> RegistryClient::head_manifest(const std::string& reference) {
    TRY(ensure_scheme());
    Request r{.method = "HEAD",
              .url = s_->url("manifests", reference),
              .headers = {kAccept},
              .timeout = s_->opts.request_timeout};
    Response resp = TRY(s_->send(r));
    if (resp.status != 200) return std::unexpected(s_->http_error(r, resp).error());
    Descriptor d;
    auto dg = resp.headers.find("docker-content-digest");
    if (dg == resp.headers.end()) return fail("HEAD " + r.url + ": no Docker-Content-Digest header");
    d.digest = TRY_CTX(parse_digest(dg->second), "HEAD " + r.url);
    if (auto ct = resp.headers.find("content-type"); ct != resp.headers.end())
        d.media_type = ct->second.substr(0, ct->second.find(';'));
    if (auto cl = resp.headers.find("content-length"); cl != resp.headers.end())
        d.size = std::strtoll(cl->second.c_str(), nullptr, 10);
    return d;
}

Status RegistryClient::get_blob(const Digest& digest, int64_t offset, const BlobSink& sink) {
    TRY(ensure_scheme());
    Request r{.url = s_->url("blobs", digest.str()),
              .timeout = s_->opts.blob_timeout,
              .blob = true,
              .range_from = offset,
              .sink = &sink};
    Response resp = TRY(s_->send(r));
    if (resp.status == 200 || resp.status == 206) return ok();
    return std::unexpected(s_->http_error(r, resp).error());
}

} // namespace lxcri::image
