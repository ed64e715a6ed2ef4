// Bounded reading of the JSON this runtime takes from its callers: config.json, exec --process and
// update --resources files ("-": standard input). runc has no bound; a config.json that is a link to
// /dev/zero must be an error, not an allocation failure. Nesting is bounded as in Go's encoding/json
// (json::parse_text).
#pragma once
#include "base/result.hpp"
#include "spec/spec.hpp"

#include <string>
#include <string_view>

namespace lxcri::spec {

inline constexpr size_t kMaxInputBytes = size_t{16} << 20;
inline constexpr size_t kMaxJsonDepth = 10000;

// Reads the whole of path ("-": standard input), failing with "NAME: larger than N bytes" past max_bytes.
Result<std::string> read_input(const std::string& path, std::string_view name,
                               size_t max_bytes = kMaxInputBytes);

// Reads (bounded) and parses a process file (exec --process FILE).
Result<Process> load_process(const std::string& path);
// Reads (bounded) and parses a resources file (update --resources FILE).
Result<Resources> load_resources(const std::string& path);

namespace json {
// Fails when text opens more than max_depth arrays/objects at once. json::parse_text() checks every text
// against kMaxJsonDepth before parsing, so no parser, destructor or reader meets deeper nesting.
Status check_depth(std::string_view text, size_t max_depth);
} // namespace json

} // namespace lxcri::spec
