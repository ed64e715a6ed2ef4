#include "image/auth.hpp"

#include "image/limits.hpp"
#include "spec/json.hpp"
#include "sys/fs.hpp"
#include "sys/log.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>

namespace lxcri::image {

namespace j = spec::json;
using j::Json;

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

bool is_token_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("!#$%&'*+-.^_`|~/:=").find(c) != std::string_view::npos;
}

void skip_ws(std::string_view s, size_t& i) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t'))
        i++;
}

Result<std::string> read_quoted(std::string_view s, size_t& i) {
    std::string out;
    i++; // opening quote
    while (i < s.size() && s[i] != '"') {
        if (s[i] == '\\' && i + 1 < s.size()) i++;
        out += s[i++];
    }
    if (i >= s.size()) return fail("unterminated quoted string");
    i++;
    return out;
}

} // namespace

Result<std::vector<Challenge>> parse_challenges(std::string_view s) {
    auto bad = [&](const std::string& why) {
        return fail("invalid WWW-Authenticate header \"" + std::string(s) + "\": " + why);
    };
    std::vector<Challenge> out;
    size_t i = 0;
    while (true) {
        skip_ws(s, i);
        while (i < s.size() && (s[i] == ',' || s[i] == ' '))
            i++;
        if (i >= s.size()) break;
        size_t start = i;
        while (i < s.size() && is_token_char(s[i]) && s[i] != '=')
            i++;
        if (i == start) return bad("expected an auth scheme");
        std::string word(s.substr(start, i - start));
        skip_ws(s, i);
        if (i < s.size() && s[i] == '=') {
            if (out.empty()) return bad("parameter before any scheme");
            i++;
            skip_ws(s, i);
            std::string value;
            if (i < s.size() && s[i] == '"') {
                auto v = read_quoted(s, i);
                if (!v) return bad(v.error().message());
                value = *v;
            } else {
                size_t vs = i;
                while (i < s.size() && s[i] != ',' && s[i] != ' ')
                    i++;
                value = std::string(s.substr(vs, i - vs));
            }
            out.back().params[lower(word)] = value;
            skip_ws(s, i);
            if (i < s.size() && s[i] != ',') return bad("expected ',' after parameter " + word);
            continue;
        }
        out.push_back(Challenge{lower(word), {}});
    }
    if (out.empty()) return bad("no challenge");
    return out;
}

std::string base64_encode(std::string_view in) {
    static constexpr char kAlpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
        for (int k = 18; k >= 0; k -= 6)
            out += kAlpha[(v >> k) & 63];
    }
    if (size_t rest = in.size() - i; rest) {
        uint32_t v = uint8_t(in[i]) << 16;
        if (rest == 2) v |= uint8_t(in[i + 1]) << 8;
        out += kAlpha[(v >> 18) & 63];
        out += kAlpha[(v >> 12) & 63];
        out += rest == 2 ? kAlpha[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

Result<std::string> base64_decode(std::string_view in) {
    auto val = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+' || c == '-') return 62;
        if (c == '/' || c == '_') return 63;
        return -1;
    };
    std::string out;
    uint32_t acc = 0;
    int bits = 0;
    for (char c : in) {
        if (c == '=' || c == '\n' || c == '\r') continue;
        int v = val(c);
        if (v < 0) return fail("invalid base64");
        acc = (acc << 6) | static_cast<uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    return out;
}

std::vector<std::string> auth_file_candidates() {
    std::vector<std::string> out;
    if (const char* f = std::getenv("REGISTRY_AUTH_FILE"); f && *f) out.emplace_back(f);
    if (const char* x = std::getenv("XDG_RUNTIME_DIR"); x && *x)
        out.push_back(std::string(x) + "/containers/auth.json");
    if (const char* h = std::getenv("HOME"); h && *h) out.push_back(std::string(h) + "/.docker/config.json");
    return out;
}

Result<std::optional<Credentials>> credentials_from_json(std::string_view text, const std::string& registry,
                                                         const std::string& repository) {
    // Never j::parse_text: its errors quote the input, and this input holds passwords.
    Json v = TRY(parse_json_bounded(text, kMaxSecretDocSize, ""));
    if (!v.is_object()) return fail("expected a JSON object");
    const Json* auths = j::member(v, "auths");
    if (!auths) return std::optional<Credentials>{};
    TRY(j::expect_object(*auths, "auths"));
    std::vector<std::string> keys;
    for (std::string path = registry + "/" + repository; path.size() > registry.size();) {
        keys.push_back(path);
        path = path.substr(0, path.rfind('/'));
    }
    keys.push_back(registry);
    keys.push_back("https://" + registry);
    keys.push_back("http://" + registry);
    if (registry == "docker.io") {
        keys.push_back("https://index.docker.io/v1/");
        keys.push_back("index.docker.io");
        keys.push_back("registry-1.docker.io");
    }
    for (auto& key : keys) {
        const Json* e = j::member(*auths, key);
        if (!e) continue;
        std::string p = "auths." + key;
        TRY(j::expect_object(*e, p));
        Credentials c;
        std::string auth;
        TRY(j::field(*e, "auth", p, auth, j::to_str));
        TRY(j::field(*e, "identitytoken", p, c.identity_token, j::to_str));
        if (!auth.empty()) {
            std::string plain = TRY_CTX(base64_decode(auth), p + ".auth");
            auto colon = plain.find(':');
            if (colon == std::string::npos) return fail(p + ".auth: expected base64 of \"user:password\"");
            c.username = plain.substr(0, colon);
            c.password = plain.substr(colon + 1);
        }
        if (c.username.empty() && c.identity_token.empty()) continue;
        return std::optional<Credentials>(std::move(c));
    }
    return std::optional<Credentials>{};
}

namespace {

// A credentials file others can read, or one someone else owns (and so can rewrite), is worth a warning:
// podman and docker keep theirs 0600 and owned by the user.
void check_auth_file_permissions(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) < 0) return;
    if (st.st_mode & (S_IRGRP | S_IROTH | S_IWGRP | S_IWOTH)) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        log::warn("auth file " + path + " is accessible by group or others (mode " + mode +
                  "): it holds credentials, chmod 600 it");
    }
    if (st.st_uid != ::geteuid())
        log::warn("auth file " + path + " is owned by uid " + std::to_string(st.st_uid) + ", not by uid " +
                  std::to_string(::geteuid()));
}

Result<std::optional<Credentials>> credentials_from_file(const std::string& path, const std::string& registry,
                                                         const std::string& repository) {
    const std::string what = "auth file " + path;
    std::string text = TRY_CTX(read_file_bounded(path, kMaxSecretDocSize), what);
    check_auth_file_permissions(path);
    return TRY_CTX(credentials_from_json(text, registry, repository), what);
}

} // namespace

Result<std::optional<Credentials>>
lookup_credentials(const std::string& auth_file, const std::string& registry, const std::string& repository) {
    if (!auth_file.empty()) return credentials_from_file(auth_file, registry, repository);
    for (auto& f : auth_file_candidates()) {
        if (!sys::exists(f)) continue;
        auto c = TRY(credentials_from_file(f, registry, repository));
        if (c) return c;
    }
    return std::optional<Credentials>{};
}

Result<Token> parse_token_response(std::string_view text) {
    Json v = TRY(parse_json_bounded(text, kMaxSecretDocSize, "token response"));
    if (!v.is_object()) return fail("token response: expected a JSON object");
    Token t;
    TRY_CTX(j::field(v, "token", "", t.value, j::to_str), "token response");
    if (t.value.empty()) TRY_CTX(j::field(v, "access_token", "", t.value, j::to_str), "token response");
    if (t.value.empty()) return fail("token response: no token");
    TRY_CTX(j::field(v, "expires_in", "", t.expires_in, j::to_int), "token response");
    if (t.expires_in < 60) t.expires_in = 60;
    return t;
}

} // namespace lxcri::image
