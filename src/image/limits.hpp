// Bounds on untrusted input of the image side: sizes of documents read from registries, files and stores,
// and a JSON parser that refuses deep nesting and never quotes its input in an error (auth files and
// token answers carry secrets; nlohmann's parse_error text includes the bytes last read).
#pragma once
#include "base/result.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace lxcri::image {

inline constexpr size_t kMaxDocumentSize = 4 << 20;  // manifests, indexes, image configs, index.json
inline constexpr size_t kMaxSecretDocSize = 1 << 20; // auth files, token responses
inline constexpr int kMaxJsonDepth = 256;            // arrays/objects nested deeper are refused

// Parses text as JSON. Larger than max_size, nested deeper than kMaxJsonDepth or malformed: an error
// that names what, the byte offset and line, never any of the text.
Result<nlohmann::json> parse_json_bounded(std::string_view text, size_t max_size, std::string_view what);

// Reads a whole file of at most max_size bytes; a larger one is an error (nothing beyond the bound is read).
Result<std::string> read_file_bounded(const std::string& path, size_t max_size);

} // namespace lxcri::image
