// runc-style argument parsing (urfave/cli v1 rules): "-flag", "--flag", "--flag=value", "--flag value";
// flag parsing stops at the first positional argument or at "--".
#pragma once
#include "base/result.hpp"

#include <map>
#include <string>
#include <vector>

namespace lxcri::cli {

struct FlagSpec {
    std::vector<std::string> names; // first is canonical, e.g. {"detach", "d"}
    bool takes_value = false;
};

struct Parsed {
    std::map<std::string, std::vector<std::string>> values; // canonical name -> values ("true" for booleans)
    std::vector<std::string> positional;

    bool has(const std::string& n) const { return values.count(n) != 0; }
    bool flag(const std::string& n) const;
    std::string get(const std::string& n, const std::string& def = "") const;
    std::vector<std::string> all(const std::string& n) const;
};

// Parses args[from..]; unknown flags are an error ("flag provided but not defined: -x").
Result<Parsed> parse(const std::vector<std::string>& args, size_t from, const std::vector<FlagSpec>& specs,
                     size_t* stop_index = nullptr);

} // namespace lxcri::cli
