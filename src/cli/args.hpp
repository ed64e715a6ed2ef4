// runc-style argument parsing (urfave/cli v1 rules): "-flag", "--flag", "--flag=value", "--flag value";
// flag parsing stops at the first positional argument or at "--". reorder() first moves a command's own flags
// before its arguments, as urfave/cli 1.22 does for every runc command but exec and ps.
#pragma once
#include "base/result.hpp"

#include <map>
#include <string>
#include <vector>

namespace lxcri::cli {

struct FlagSpec {
    std::vector<std::string> names; // first is canonical, e.g. {"detach", "d"}
    bool takes_value = false;
    std::string usage; // the help text (with its default, if any); empty: not shown in help
};

struct Parsed {
    std::map<std::string, std::vector<std::string>> values; // canonical name -> values ("true" for booleans)
    std::vector<std::string> positional;

    bool has(const std::string& n) const { return values.count(n) != 0; }
    bool flag(const std::string& n) const;
    std::string get(const std::string& n, const std::string& def = "") const;
    std::vector<std::string> all(const std::string& n) const;
};

// urfave/cli 1.22's reorderArgs on args[from..]: every argument that names one of specs' flags ("-x", "--x",
// "--x=v") moves to the front, each followed by the next argument when the flag has no "=" and that argument
// is not itself a known flag (the flag's value; for a boolean flag this is urfave's quirk: `kill ID -a 9`
// means container "9", signal "ID"). The first "--" that is not such a value ends the reordering: it and
// everything after it follow the moved flags ("--" first), so `kill ID -- 9` works. Returns args[0..from)
// followed by the reordered rest.
std::vector<std::string> reorder(const std::vector<std::string>& args, size_t from,
                                 const std::vector<FlagSpec>& specs);

// Parses args[from..]; unknown flags are an error ("flag provided but not defined: -x").
Result<Parsed> parse(const std::vector<std::string>& args, size_t from, const std::vector<FlagSpec>& specs,
                     size_t* stop_index = nullptr);

} // namespace lxcri::cli
