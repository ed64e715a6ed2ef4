// libFuzzer target: an auth.json text -> credentials_from_json, and the same bytes as a token server's
// answer -> parse_token_response. Both carry secrets: no error may quote the input, so an error message
// never holds a string value of the document (checked for one alphanumeric value of 12+ bytes).
#include "image/auth.hpp"

#include "image_fuzz.hpp"

#include <cctype>
#include <string>

namespace {

// The first string literal of 12+ letters and digits in the input (a stand-in for a secret), or "".
// Literals that are part of the fixed wording of errors (JSON paths such as "identitytoken") do not count.
std::string first_long_literal(std::string_view s) {
    size_t q = s.find('"');
    while (q != std::string_view::npos) {
        size_t e = q + 1;
        while (e < s.size() && std::isalnum(static_cast<unsigned char>(s[e])))
            e++;
        if (e < s.size() && s[e] == '"' && e - q - 1 >= 12) {
            std::string lit(s.substr(q + 1, e - q - 1));
            if (std::string_view("identitytoken").find(lit) == std::string_view::npos) return lit;
        }
        q = s.find('"', e + 1);
    }
    return "";
}

void check(const lxcri::Error& e, const std::string& secret) {
    if (!secret.empty() && e.message().find(secret) != std::string::npos) lxcri::fuzz::violated();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto body = lxcri::fuzz::text(data, size);
    std::string secret = first_long_literal(body);
    auto c = lxcri::image::credentials_from_json(body, "r.example:5000", "ns/app");
    if (!c) check(c.error(), secret);
    auto hub = lxcri::image::credentials_from_json(body, "docker.io", "library/busybox");
    if (!hub) check(hub.error(), secret);
    auto t = lxcri::image::parse_token_response(body);
    if (!t) check(t.error(), secret);
    return 0;
}
