// Registry authentication: WWW-Authenticate challenges, bearer token responses and credentials from the
// auth.json files podman/skopeo/docker use ({"auths":{"host":{"auth":"base64(user:pass)"}}}).
#pragma once
#include "base/result.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lxcri::image {

struct Challenge {
    std::string scheme;                        // lowercase: "bearer", "basic"
    std::map<std::string, std::string> params; // keys lowercase: realm, service, scope, error
};
// Parses a WWW-Authenticate header value (one or more challenges, quoted or token parameter values).
Result<std::vector<Challenge>> parse_challenges(std::string_view header);

std::string base64_encode(std::string_view in);
Result<std::string> base64_decode(std::string_view in);

struct Credentials {
    std::string username, password;
    std::string identity_token; // "identitytoken" (OAuth refresh token), rarely set
};

// Files searched when no explicit one is given, in order: $REGISTRY_AUTH_FILE,
// ${XDG_RUNTIME_DIR}/containers/auth.json, $HOME/.docker/config.json.
std::vector<std::string> auth_file_candidates();
// Credentials for registry (as in the reference: "docker.io", "127.0.0.1:5000") and repository from one
// auth.json text. Keys tried: "registry/repository" and its parents, "registry", "https://registry",
// and for docker.io also "https://index.docker.io/v1/". nullopt when none matches.
Result<std::optional<Credentials>> credentials_from_json(std::string_view json, const std::string& registry,
                                                         const std::string& repository);
// From auth_file if given (it must exist), else the first candidate file that has an entry.
Result<std::optional<Credentials>>
lookup_credentials(const std::string& auth_file, const std::string& registry, const std::string& repository);

struct Token {
    std::string value;
    int expires_in = 60; // seconds
};
// A token server's JSON answer: {"token": ...} or {"access_token": ...}, optional "expires_in".
Result<Token> parse_token_response(std::string_view json);

} // namespace lxcri::image
