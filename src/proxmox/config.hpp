// The proxmox backend's configuration file (JSON), looked up as $PROXMOX_LXCRI_CONFIG,
// /etc/proxmox-lxcri/config.json, ./config.json:
//   {"backend":"proxmox", "proxmox": {"hosts":["127.0.0.1"], "port":8006, "token":"root@pam!lxcri=SECRET",
//    "node":"pve", "node_cache_duration":60, "storage":"local", "template_storage":"local", "bridge":"vmbr0",
//    "fingerprint":"AA:BB:...", "ca":"/path.pem", "lxcpath":"/var/lib/lxc"}}
// Instead of "token", "user" (USER@REALM) and "password" select ticket auth. Every missing or malformed
// field is an error naming it. The token's secret and the password never appear in an error or a log line.
#pragma once
#include "base/result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lxcri::proxmox {

inline constexpr size_t kMaxConfigBytes = size_t{1} << 20;
inline constexpr size_t kMaxConfigDepth = 32;
inline constexpr const char* kConfigEnv = "PROXMOX_LXCRI_CONFIG";
inline constexpr const char* kSystemConfig = "/etc/proxmox-lxcri/config.json";

struct Config {
    std::string path;         // where it was read from ("" when parsed from text)
    std::string backend;      // top-level "backend" ("" when absent)
    bool has_proxmox = false; // a "proxmox" section was present (and valid)
    std::vector<std::string> hosts;
    uint16_t port = 8006;
    std::string token;          // USER@REALM!TOKENID=SECRET: secret, never printed
    std::string user, password; // ticket auth (password secret)
    std::string node;
    uint32_t node_cache_duration = 60; // seconds
    std::string storage = "local";
    std::string template_storage = "local";
    std::string bridge;
    std::string fingerprint; // SHA-256 of the server certificate, upper-case colon-hex ("" = verify by CA)
    std::string ca;          // CA file ("" = the system's)
    std::string lxcpath = "/var/lib/lxc";
    // The runtime runs on the PVE node `node` (the CT's init is a process of this host, under lxcpath).
    // false: the node is remote; only the detached verbs work (docs/proxmox-backend.md, "Off the node").
    bool on_node = true;

    // USER@REALM!TOKENID: the token without its secret (printable).
    std::string token_id() const;
    // Who authenticates, printable: the token id or the user.
    std::string principal() const { return token.empty() ? user : token_id(); }
};

// Parses a config text. `path` only names the file in errors.
Result<Config> parse_config(std::string_view text, const std::string& path = "");
// Reads (bounded) and parses path; warns (one log line) when the file is readable by group or others.
Result<Config> load_config(const std::string& path);
// The file the lookup order finds: $PROXMOX_LXCRI_CONFIG (which must exist when set), else the system file,
// else ./config.json; std::nullopt when none exists.
Result<std::optional<std::string>> find_config();
// find_config() + load_config(); std::nullopt when no file exists.
Result<std::optional<Config>> load_default();

// "aa:bb..." / "AABB..." (64 hex digits, colons optional) -> "AA:BB:...", or an error naming `field`.
Result<std::string> normalize_fingerprint(std::string_view s, const std::string& field);

} // namespace lxcri::proxmox
