// What checkpoint and restore share: the CRIU binary, runc's flags as the backend takes them, the seed's
// checkpoints kept in the container's state directory (<root>/<id>/checkpoints/checkpoint-<unix-time>).
#pragma once
#include "runtime/common.hpp"

#include <string>
#include <vector>

namespace lxcri::runtime {

// Where scripts/build-criu.sh installs CRIU >= 4.1.
inline constexpr const char* kProjectCriu = "/usr/local/sbin/criu";
inline constexpr std::chrono::seconds kCheckpointTimeout{120};
// In a named checkpoint's directory: {"processes": bool, "filesystem": bool}, what it holds.
inline constexpr const char* kCheckpointMeta = "lxcri-checkpoint.json";

std::string criu_binary(const Global& g);
backend::CriuOptions criu_options(const Global& g, const CriuFlags& f);
Status check_manage_cgroups_mode(const std::string& m);
std::string checkpoints_dir(const Store& store, const std::string& id);
// The container's seed checkpoints, oldest first (their names sort by time).
std::vector<std::string> list_checkpoints(const Store& store, const std::string& id);
// A backend whose checkpoints hold no process state (Backend::list_snapshots) takes no CRIU flag: the first
// one set is an Unsupported error naming it.
Status refuse_criu_flags(const backend::Backend& be, const CriuFlags& f, const std::string& what);

} // namespace lxcri::runtime
