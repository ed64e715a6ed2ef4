#include "proxmox/config.hpp"

#include "spec/input.hpp"
#include "sys/fs.hpp"
#include "sys/log.hpp"

#include <nlohmann/json.hpp>

#include <sys/stat.h>

#include <cctype>
#include <cstdlib>

namespace lxcri::proxmox {

namespace {

using Json = nlohmann::json;

bool printable_no_space(std::string_view s) {
    for (unsigned char c : s)
        if (c <= 0x20 || c >= 0x7f) return false;
    return true;
}

Result<std::string> str(const Json& v, const std::string& field) {
    if (!v.is_string()) return fail(ErrorKind::Invalid, field + ": expected a string");
    return v.get<std::string>();
}

Result<std::string> nonempty(const Json& v, const std::string& field) {
    auto s = TRY(str(v, field));
    if (s.empty()) return fail(ErrorKind::Invalid, field + ": must not be empty");
    if (!printable_no_space(s))
        return fail(ErrorKind::Invalid, field + ": must be printable ASCII without spaces");
    return s;
}

Result<uint64_t> number(const Json& v, const std::string& field, uint64_t min, uint64_t max) {
    if (!v.is_number_integer() || (v.is_number_integer() && !v.is_number_unsigned() && v.get<int64_t>() < 0))
        return fail(ErrorKind::Invalid, field + ": expected an integer from " + std::to_string(min) + " to " +
                                            std::to_string(max));
    uint64_t n = v.get<uint64_t>();
    if (n < min || n > max)
        return fail(ErrorKind::Invalid, field + ": " + std::to_string(n) + " is out of range (" +
                                            std::to_string(min) + " to " + std::to_string(max) + ")");
    return n;
}

bool valid_host(std::string_view h) {
    if (h.empty() || h.size() > 253) return false;
    for (char c : h)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':')) return false;
    return true;
}

bool valid_name(std::string_view s) { // node, storage, bridge: PVE's pve-node / pve-storage-id / bridge
    if (s.empty() || s.size() > 64 || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
    for (char c : s)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) return false;
    return true;
}

// USER@REALM!TOKENID=SECRET. The message never contains the value.
Status check_token(std::string_view t, const std::string& field) {
    auto bad = [&](const std::string& why) {
        return fail(ErrorKind::Invalid, field + ": " + why + " (expected USER@REALM!TOKENID=SECRET)");
    };
    if (!printable_no_space(t)) return bad("must be printable ASCII without spaces");
    auto at = t.find('@'), bang = t.find('!'), eq = t.find('=');
    if (at == std::string_view::npos || at == 0) return bad("no USER@");
    if (bang == std::string_view::npos || bang < at + 2) return bad("no @REALM!");
    if (eq == std::string_view::npos || eq < bang + 2) return bad("no !TOKENID=");
    if (eq + 1 >= t.size()) return bad("empty SECRET");
    return ok();
}

Status check_user(std::string_view u, const std::string& field) {
    auto at = u.find('@');
    if (!printable_no_space(u) || at == std::string_view::npos || at == 0 || at + 1 >= u.size() ||
        u.find('!') != std::string_view::npos)
        return fail(ErrorKind::Invalid, field + ": expected USER@REALM");
    return ok();
}

Result<Json> parse_json(std::string_view text) {
    TRY(spec::json::check_depth(text, kMaxConfigDepth));
    try {
        return Json::parse(text.begin(), text.end());
    } catch (const Json::parse_error& e) {
        // e.what() quotes the text it last read, which may be the token: only the offset is named.
        return fail(ErrorKind::Invalid, "invalid JSON at byte " + std::to_string(e.byte));
    } catch (const std::exception&) {
        return fail(ErrorKind::Invalid, "invalid JSON");
    }
}

Status read_proxmox(const Json& p, Config& c) {
    if (!p.is_object()) return fail(ErrorKind::Invalid, "proxmox: expected an object");
    static constexpr std::string_view known[] = {"hosts",
                                                 "port",
                                                 "token",
                                                 "user",
                                                 "password",
                                                 "node",
                                                 "node_cache_duration",
                                                 "storage",
                                                 "template_storage",
                                                 "bridge",
                                                 "fingerprint",
                                                 "ca",
                                                 "lxcpath",
                                                 "on_node"};
    for (auto it = p.begin(); it != p.end(); ++it) {
        bool k = false;
        for (auto n : known)
            k = k || it.key() == n;
        if (!k) return fail(ErrorKind::Invalid, "proxmox." + it.key() + ": unknown field");
    }
    auto get = [&](const char* key) -> const Json* {
        auto it = p.find(key);
        return it == p.end() || it->is_null() ? nullptr : &*it;
    };
    // hosts: an array of host names / addresses (a lone string is taken as one host).
    const Json* hosts = get("hosts");
    if (!hosts) return fail(ErrorKind::Invalid, "proxmox.hosts: required");
    if (hosts->is_string()) {
        c.hosts.push_back(hosts->get<std::string>());
    } else if (hosts->is_array()) {
        if (hosts->size() > 64) return fail(ErrorKind::Invalid, "proxmox.hosts: more than 64 hosts");
        for (size_t i = 0; i < hosts->size(); ++i)
            c.hosts.push_back(TRY(str((*hosts)[i], "proxmox.hosts[" + std::to_string(i) + "]")));
    } else {
        return fail(ErrorKind::Invalid, "proxmox.hosts: expected an array of host names");
    }
    if (c.hosts.empty()) return fail(ErrorKind::Invalid, "proxmox.hosts: must name at least one host");
    for (size_t i = 0; i < c.hosts.size(); ++i)
        if (!valid_host(c.hosts[i]))
            return fail(ErrorKind::Invalid, "proxmox.hosts[" + std::to_string(i) + "]: \"" + c.hosts[i] +
                                                "\" is not a host name or address");
    if (auto* v = get("port")) c.port = static_cast<uint16_t>(TRY(number(*v, "proxmox.port", 1, 65535)));

    const Json* token = get("token");
    const Json* user = get("user");
    const Json* password = get("password");
    if (token) {
        if (!token->is_string()) return fail(ErrorKind::Invalid, "proxmox.token: expected a string");
        c.token = token->get<std::string>();
        TRY(check_token(c.token, "proxmox.token"));
        if (user || password)
            return fail(ErrorKind::Invalid,
                        "proxmox.token: give either token or user and password, not both");
    } else if (user || password) {
        if (!user) return fail(ErrorKind::Invalid, "proxmox.user: required with proxmox.password");
        if (!password) return fail(ErrorKind::Invalid, "proxmox.password: required with proxmox.user");
        c.user = TRY(str(*user, "proxmox.user"));
        TRY(check_user(c.user, "proxmox.user"));
        if (!password->is_string() || password->get<std::string>().empty())
            return fail(ErrorKind::Invalid, "proxmox.password: expected a non-empty string");
        c.password = password->get<std::string>();
        for (unsigned char ch : c.password)
            if (ch < 0x20 || ch == 0x7f)
                return fail(ErrorKind::Invalid, "proxmox.password: contains control characters");
    } else {
        return fail(ErrorKind::Invalid, "proxmox.token: required (or proxmox.user and proxmox.password)");
    }

    const Json* node = get("node");
    if (!node) return fail(ErrorKind::Invalid, "proxmox.node: required");
    c.node = TRY(nonempty(*node, "proxmox.node"));
    if (!valid_name(c.node))
        return fail(ErrorKind::Invalid, "proxmox.node: \"" + c.node + "\" is not a node name");
    if (auto* v = get("node_cache_duration"))
        c.node_cache_duration =
            static_cast<uint32_t>(TRY(number(*v, "proxmox.node_cache_duration", 0, 86400)));
    for (auto [key, out] :
         {std::pair{"storage", &c.storage}, std::pair{"template_storage", &c.template_storage},
          std::pair{"bridge", &c.bridge}}) {
        if (auto* v = get(key)) {
            std::string field = std::string("proxmox.") + key;
            *out = TRY(nonempty(*v, field));
            if (!valid_name(*out))
                return fail(ErrorKind::Invalid, field + ": \"" + *out + "\" is not a valid name");
        }
    }
    if (auto* v = get("fingerprint"))
        c.fingerprint =
            TRY(normalize_fingerprint(TRY(str(*v, "proxmox.fingerprint")), "proxmox.fingerprint"));
    if (auto* v = get("ca")) {
        c.ca = TRY(nonempty(*v, "proxmox.ca"));
        if (c.ca[0] != '/') return fail(ErrorKind::Invalid, "proxmox.ca: must be an absolute path");
        if (!sys::exists(c.ca)) return fail(ErrorKind::Invalid, "proxmox.ca: " + c.ca + " does not exist");
    }
    if (!c.fingerprint.empty() && !c.ca.empty())
        return fail(ErrorKind::Invalid, "proxmox.fingerprint: give either fingerprint or ca, not both");
    if (auto* v = get("lxcpath")) {
        c.lxcpath = TRY(nonempty(*v, "proxmox.lxcpath"));
        if (c.lxcpath[0] != '/') return fail(ErrorKind::Invalid, "proxmox.lxcpath: must be an absolute path");
    }
    if (auto* v = get("on_node")) {
        if (!v->is_boolean()) return fail(ErrorKind::Invalid, "proxmox.on_node: expected true or false");
        c.on_node = v->get<bool>();
    }
    c.has_proxmox = true;
    return ok();
}

} // namespace

std::string Config::token_id() const {
    auto eq = token.find('=');
    return token.substr(0, eq);
}

Result<std::string> normalize_fingerprint(std::string_view s, const std::string& field) {
    std::string hex;
    for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == ':') {
            if (i % 3 != 2)
                return fail(ErrorKind::Invalid, field + ": expected 32 colon-separated hex bytes (SHA-256)");
            continue;
        }
        if (!std::isxdigit(static_cast<unsigned char>(c)))
            return fail(ErrorKind::Invalid, field + ": expected 32 colon-separated hex bytes (SHA-256)");
        hex += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    if (hex.size() != 64)
        return fail(ErrorKind::Invalid, field + ": expected 32 colon-separated hex bytes (SHA-256)");
    std::string out;
    for (size_t i = 0; i < 64; i += 2) {
        if (!out.empty()) out += ':';
        out += hex.substr(i, 2);
    }
    return out;
}

Result<Config> parse_config(std::string_view text, const std::string& path) {
    auto inner = [&]() -> Result<Config> {
        Json j = TRY(parse_json(text));
        if (!j.is_object()) return fail(ErrorKind::Invalid, "expected a JSON object");
        Config c;
        c.path = path;
        if (auto it = j.find("backend"); it != j.end() && !it->is_null()) {
            c.backend = TRY(nonempty(*it, "backend"));
            if (c.backend != "lxc" && c.backend != "proxmox")
                return fail(ErrorKind::Invalid, "backend: \"" + c.backend + "\" is not lxc or proxmox");
        }
        if (auto it = j.find("proxmox"); it != j.end() && !it->is_null()) TRY(read_proxmox(*it, c));
        if (c.backend == "proxmox" && !c.has_proxmox)
            return fail(ErrorKind::Invalid, "proxmox: required with \"backend\": \"proxmox\"");
        return c;
    };
    auto r = inner();
    if (!r && !path.empty()) r.error().context("config " + path);
    return r;
}

Result<Config> load_config(const std::string& path) {
    auto text = TRY_CTX(spec::read_input(path, "config", kMaxConfigBytes), "config " + path);
    auto c = TRY(parse_config(text, path));
    struct stat st {};
    if ((!c.token.empty() || !c.password.empty()) && ::stat(path.c_str(), &st) == 0 && (st.st_mode & 077))
        log::warn("config " + path + " is readable by group or others (mode " +
                  std::to_string((st.st_mode >> 6) & 7) + std::to_string((st.st_mode >> 3) & 7) +
                  std::to_string(st.st_mode & 7) + "): it holds the Proxmox credentials; chmod 600 it");
    return c;
}

Result<std::optional<std::string>> find_config() {
    if (const char* e = std::getenv(kConfigEnv); e && *e) {
        std::string p = e;
        if (!sys::exists(p))
            return fail(ErrorKind::Invalid, std::string("$") + kConfigEnv + ": " + p + " does not exist");
        return std::optional<std::string>(p);
    }
    if (sys::exists(kSystemConfig)) return std::optional<std::string>(kSystemConfig);
    struct stat st {};
    if (::stat("config.json", &st) == 0 && S_ISREG(st.st_mode))
        return std::optional<std::string>(sys::absolute_path("config.json"));
    return std::optional<std::string>();
}

Result<std::optional<Config>> load_default() {
    auto p = TRY(find_config());
    if (!p) return std::optional<Config>();
    const char* e = std::getenv(kConfigEnv);
    bool cwd = (!e || !*e) && *p != kSystemConfig;
    auto c = load_config(*p);
    if (!c && cwd) {
        // ./config.json is often an OCI bundle's config (runc's callers run it in the bundle): only a file
        // that names "proxmox" or "backend" at its top level is this runtime's config.
        auto text = spec::read_input(*p, "config", kMaxConfigBytes);
        bool ours = false;
        if (text && spec::json::check_depth(*text, kMaxConfigDepth)) {
            try {
                auto j = Json::parse(*text);
                ours = j.is_object() && (j.contains("proxmox") || j.contains("backend"));
            } catch (...) {
            }
        }
        if (ours) return std::unexpected(std::move(c).error());
        log::debug("not a proxmox-lxcri config: " + c.error().message());
        return std::optional<Config>();
    }
    if (!c) return std::unexpected(std::move(c).error());
    return std::optional<Config>(std::move(*c));
}

} // namespace lxcri::proxmox
