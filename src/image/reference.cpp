#include "image/reference.hpp"

#include "image/digest.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cctype>
#include <vector>

namespace lxcri::image {

namespace {

bool is_alnum_lower(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
bool valid_component(std::string_view c) {
    if (c.empty() || !is_alnum_lower(c.front()) || !is_alnum_lower(c.back())) return false;
    for (size_t i = 0; i < c.size();) {
        if (is_alnum_lower(c[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < c.size() && !is_alnum_lower(c[j]))
            j++;
        std::string_view sep = c.substr(i, j - i);
        bool dashes = sep.find_first_not_of('-') == std::string_view::npos;
        if (!(sep == "." || sep == "_" || sep == "__" || dashes)) return false;
        i = j;
    }
    return true;
}

bool valid_tag(std::string_view t) {
    if (t.empty() || t.size() > 128) return false;
    auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
    if (!word(t[0])) return false;
    for (char c : t)
        if (!word(c) && c != '.' && c != '-') return false;
    return true;
}

bool valid_domain(std::string_view d) {
    std::string_view host = d, port;
    if (!d.empty() && d[0] == '[') {
        auto close = d.find(']');
        if (close == std::string_view::npos) return false;
        host = d.substr(1, close - 1);
        if (host.empty() || host.find_first_not_of("0123456789abcdefABCDEF:") != std::string_view::npos)
            return false;
        std::string_view rest = d.substr(close + 1);
        if (rest.empty()) return true;
        if (rest[0] != ':') return false;
        port = rest.substr(1);
    } else {
        if (auto colon = d.rfind(':'); colon != std::string_view::npos) {
            host = d.substr(0, colon);
            port = d.substr(colon + 1);
            if (port.empty()) return false;
        }
        if (host.empty()) return false;
        size_t start = 0;
        while (start <= host.size()) {
            size_t dot = host.find('.', start);
            std::string_view label =
                host.substr(start, dot == std::string_view::npos ? host.npos : dot - start);
            if (label.empty() || label.front() == '-' || label.back() == '-') return false;
            for (char c : label)
                if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
            if (dot == std::string_view::npos) break;
            start = dot + 1;
        }
    }
    if (port.empty()) return true;
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos) return false;
    return true;
}

bool looks_like_domain(std::string_view first) {
    return first.find('.') != std::string_view::npos || first.find(':') != std::string_view::npos ||
           first == "localhost" || (!first.empty() && first[0] == '[') ||
           first.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string_view::npos;
}

} // namespace

std::string Reference::api_host() const {
    return registry == kDockerHub ? std::string(kDockerHubApi) : registry;
}

std::string Reference::name() const {
    return registry + "/" + repository;
}

std::string Reference::str() const {
    std::string s = name();
    if (!tag.empty()) s += ":" + tag;
    if (!digest.empty()) s += "@" + digest;
    return s;
}

bool is_loopback_host(std::string_view host) {
    std::string h(host);
    if (!h.empty() && h[0] == '[') {
        auto close = h.find(']');
        if (close == std::string::npos) return false;
        h = h.substr(1, close - 1);
        in6_addr a6{};
        return ::inet_pton(AF_INET6, h.c_str(), &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
    }
    if (auto colon = h.rfind(':'); colon != std::string::npos) h = h.substr(0, colon);
    if (h == "localhost") return true;
    in_addr a4{};
    return ::inet_pton(AF_INET, h.c_str(), &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

bool Reference::is_local() const {
    return is_loopback_host(registry);
}

Result<Reference> parse_reference(std::string_view s) {
    std::string input(s);
    auto bad = [&](const std::string& why) { return fail("invalid reference \"" + input + "\": " + why); };
    if (s.empty()) return bad("empty");
    if (s.size() > 512) return bad("too long");
    Reference r;
    if (auto at = s.find('@'); at != std::string_view::npos) {
        auto d = parse_digest(s.substr(at + 1));
        if (!d) return bad(d.error().message());
        r.digest = d->str();
        s = s.substr(0, at);
    }
    auto slash = s.rfind('/');
    auto colon = s.rfind(':');
    if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
        r.tag = std::string(s.substr(colon + 1));
        if (!valid_tag(r.tag)) return bad("invalid tag \"" + r.tag + "\"");
        s = s.substr(0, colon);
    }
    std::string_view path = s;
    if (auto first = s.find('/'); first != std::string_view::npos && looks_like_domain(s.substr(0, first))) {
        std::string_view domain = s.substr(0, first);
        if (!valid_domain(domain)) return bad("invalid registry host \"" + std::string(domain) + "\"");
        r.registry = std::string(domain);
        path = s.substr(first + 1);
    } else {
        r.registry = std::string(kDockerHub);
    }
    if (r.registry == "index.docker.io" || r.registry == kDockerHubApi) r.registry = std::string(kDockerHub);
    if (path.empty()) return bad("missing repository name");
    size_t start = 0;
    while (true) {
        size_t next = path.find('/', start);
        std::string_view comp = path.substr(start, next == std::string_view::npos ? path.npos : next - start);
        if (comp.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string_view::npos)
            return bad("repository name must be lowercase");
        if (!valid_component(comp))
            return bad("invalid repository name component \"" + std::string(comp) + "\"");
        if (next == std::string_view::npos) break;
        start = next + 1;
    }
    r.repository = std::string(path);
    if (r.registry == kDockerHub && r.repository.find('/') == std::string::npos)
        r.repository = "library/" + r.repository;
    if (r.name().size() > 255) return bad("repository name longer than 255 characters");
    if (r.tag.empty() && r.digest.empty()) r.tag = "latest";
    return r;
}

} // namespace lxcri::image
