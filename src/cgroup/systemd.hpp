// The systemd cgroup driver (--systemd-cgroup), as runc's libcontainer/cgroups/systemd: cgroupsPath
// "slice:prefix:name" names a transient scope "<prefix>-<name>.scope" in that slice, created over D-Bus
// (sd-bus) with Delegate=yes and the resource properties runc sets, and stopped on delete.
#pragma once
#include "base/result.hpp"
#include "cgroup/cgroup.hpp"
#include "spec/spec.hpp"

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace lxcri::cgroup::systemd {

struct Unit {
    std::string slice; // "system.slice"
    std::string name;  // "prefix-name.scope"
    std::string path;  // its cgroup below the hierarchy root: "system.slice/prefix-name.scope"
};

// runc's ExpandSlice: "a-b.slice" -> "/a.slice/a-b.slice", "-.slice" -> "/".
Result<std::string> expand_slice(const std::string& slice);
// "slice:prefix:name" (slice defaults to system.slice; an empty prefix gives "name.scope"). An empty
// cgroups_path gives runc's default "system.slice:runc:<id>".
Result<Unit> parse_cgroups_path(const std::string& cgroups_path, const std::string& id);

// runc's RangeToBits: "0-2,9" -> little-endian bitmask bytes for AllowedCPUs/AllowedMemoryNodes.
Result<std::vector<uint8_t>> range_to_bits(const std::string& list);

// One D-Bus unit property: b, s, t, au or ay.
struct Property {
    using Value = std::variant<bool, std::string, uint64_t, std::vector<uint32_t>, std::vector<uint8_t>>;
    std::string name;
    Value value;
    bool operator==(const Property&) const = default;
};

// The properties of the scope for these resources, as runc's genV1/genV2ResourcesProperties (v2 names on a
// unified host, v1 names otherwise). Pure.
Result<std::vector<Property>> resource_properties(const spec::Resources& res, Mode mode);
// Everything StartTransientUnit gets: Description, Slice, Delegate, PIDs, accounting, DefaultDependencies=no,
// then resource_properties.
Result<std::vector<Property>> scope_properties(const Unit& unit, const std::string& description, pid_t pid,
                                               const spec::Resources& res, Mode mode);

// systemd is PID 1 (/run/systemd/system exists); the error says why --systemd-cgroup cannot work.
Status available();

// StartTransientUnit(unit.name, "replace", props) and wait for its job (JobRemoved) until the timeout.
Status start_scope(const Unit& unit, const std::vector<Property>& props, std::chrono::milliseconds timeout);
// SetUnitProperties(name, runtime=true, props): a live change of the unit (update with --systemd-cgroup).
Status set_unit_properties(const std::string& name, const std::vector<Property>& props);
// StopUnit + wait for the job, then ResetFailedUnit. A unit that no longer exists is fine.
Status stop_unit(const std::string& name, std::chrono::milliseconds timeout);
// Is the unit loaded (active, failed, ...)? For leak checks and tests.
Result<bool> unit_exists(const std::string& name);

} // namespace lxcri::cgroup::systemd
