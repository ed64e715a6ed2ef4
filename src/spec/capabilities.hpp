// The Linux capability names the OCI spec uses, indexed by capability number (CAP_CHOWN = 0 ..
// CAP_CHECKPOINT_RESTORE = 40). One table for validation (plan), the init helper and `features`.
#pragma once
#include <array>
#include <optional>
#include <string_view>

namespace lxcri::spec {

inline constexpr std::array<std::string_view, 41> kCapabilityNames = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

// "CAP_CHOWN" -> 0; nullopt for a name this table does not know.
constexpr std::optional<int> capability_number(std::string_view name) {
    for (size_t i = 0; i < kCapabilityNames.size(); ++i)
        if (kCapabilityNames[i] == name) return static_cast<int>(i);
    return std::nullopt;
}

} // namespace lxcri::spec
