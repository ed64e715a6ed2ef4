// Internal JSON helpers of the spec module, shared with plan/ (InitConfig uses the OCI field names for
// process, seccomp and hooks). Every reader validates types strictly, names the JSON path in its errors and
// never throws; JSON null counts as "absent" (as Go's encoding/json treats it for runc).
#pragma once
#include "base/result.hpp"
#include "spec/spec.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <type_traits>
#include <vector>

namespace lxcri::spec::json {

using Json = nlohmann::json;

// Parses text into a JSON value; the error names the byte offset.
Result<Json> parse_text(std::string_view text);

// JSON paths: join("process", "user") == "process.user", index("mounts", 2) == "mounts[2]".
std::string join(const std::string& path, std::string_view key);
std::string index(const std::string& path, size_t i);

// Member of an object, nullptr when missing or null.
const Json* member(const Json& obj, std::string_view key);

Status expect_object(const Json& v, const std::string& path);
Result<std::string> to_str(const Json& v, const std::string& path);
Result<bool> to_bool(const Json& v, const std::string& path);
Result<uint32_t> to_u32(const Json& v, const std::string& path);
Result<uint64_t> to_u64(const Json& v, const std::string& path);
Result<int64_t> to_i64(const Json& v, const std::string& path);
Result<int> to_int(const Json& v, const std::string& path);
Result<std::vector<std::string>> to_strs(const Json& v, const std::string& path);
Result<std::string> to_abs_path(const Json& v, const std::string& path);

// obj[key], failing with "<path>.<key>: required" when missing or null.
Result<const Json*> required(const Json& obj, std::string_view key, const std::string& path);

// Object check plus collection of keys outside `known` into `unknown` as JSON paths.
Status object_with(const Json& v, const std::string& path, std::initializer_list<std::string_view> known,
                   std::vector<std::string>& unknown);

// A converter for arrays: applies conv(element, "path[i]") to each element.
template <class F> auto list_of(F conv) {
    using Elem = typename std::invoke_result_t<F, const Json&, const std::string&>::value_type;
    return [conv](const Json& v, const std::string& path) -> Result<std::vector<Elem>> {
        if (!v.is_array()) return fail(path + ": expected an array");
        std::vector<Elem> out;
        out.reserve(v.size());
        for (size_t i = 0; i < v.size(); ++i)
            out.push_back(TRY(conv(v[i], index(path, i))));
        return out;
    };
}

// Reads obj[key] (when present and not null) into out through conv(value, "path.key").
template <class T, class F>
Status field(const Json& obj, std::string_view key, const std::string& path, T& out, F&& conv) {
    const Json* m = member(obj, key);
    if (!m) return ok();
    auto r = conv(*m, join(path, key));
    if (!r) return std::unexpected(std::move(r).error());
    out = std::move(*r);
    return ok();
}

// Binds the unknown-key sink to a reader(v, path, unknown) so it fits list_of() and field().
template <class R> auto with(R reader, std::vector<std::string>& unknown) {
    return [reader, &unknown](const Json& v, const std::string& p) { return reader(v, p, unknown); };
}

// Readers of OCI objects at `path`. Keys that the typed spec does not model are appended to `unknown` as
// JSON paths (the plan reports them as gaps).
Result<Process> read_process(const Json& v, const std::string& path, std::vector<std::string>& unknown);
Result<Seccomp> read_seccomp(const Json& v, const std::string& path, std::vector<std::string>& unknown);
Result<Hook> read_hook(const Json& v, const std::string& path, std::vector<std::string>& unknown);
Result<DeviceNode> read_device_node(const Json& v, const std::string& path,
                                    std::vector<std::string>& unknown);
Result<Resources> read_resources(const Json& v, const std::string& path, std::vector<std::string>& unknown);

// Writers producing the same OCI field names (read_x(write_x(v)) == v).
Json write_process(const Process& p);
Json write_seccomp(const Seccomp& s);
Json write_hook(const Hook& h);
Json write_device_node(const DeviceNode& d);

} // namespace lxcri::spec::json
