#include "cli/args.hpp"

#include <algorithm>
#include <string_view>

namespace lxcri::cli {

bool Parsed::flag(const std::string& n) const {
    auto it = values.find(n);
    if (it == values.end() || it->second.empty()) return false;
    const std::string& v = it->second.back();
    return v == "true" || v == "1" || v == "t" || v == "T" || v == "TRUE" || v == "True";
}

std::string Parsed::get(const std::string& n, const std::string& def) const {
    auto it = values.find(n);
    return it == values.end() || it->second.empty() ? def : it->second.back();
}

std::vector<std::string> Parsed::all(const std::string& n) const {
    auto it = values.find(n);
    return it == values.end() ? std::vector<std::string>{} : it->second;
}

namespace {

// urfave/cli's argIsFlag: "-" and "--" never are; otherwise the name without its dashes and "=value".
bool is_known_flag(const std::string& arg, const std::vector<FlagSpec>& specs) {
    if (arg == "-" || arg == "--" || !arg.starts_with('-')) return false;
    std::string_view name = arg;
    name.remove_prefix(name.starts_with("--") ? 2 : 1);
    if (name.starts_with('-')) name.remove_prefix(1);
    name = name.substr(0, name.find('='));
    for (const auto& s : specs)
        for (const auto& n : s.names)
            if (n == name) return true;
    return false;
}

} // namespace

std::vector<std::string> reorder(const std::vector<std::string>& args, size_t from,
                                 const std::vector<FlagSpec>& specs) {
    std::vector<std::string> out(args.begin(),
                                 args.begin() + static_cast<std::ptrdiff_t>(std::min(from, args.size())));
    std::vector<std::string> rest;
    bool may_be_value = false;
    for (size_t i = from; i < args.size(); ++i) {
        const std::string& a = args[i];
        bool flag = is_known_flag(a, specs);
        if (may_be_value && !flag) {
            may_be_value = false;
            out.push_back(a);
        } else if (a == "--") {
            rest.insert(rest.begin(), "--");
            rest.insert(rest.end(), args.begin() + static_cast<std::ptrdiff_t>(i + 1), args.end());
            break;
        } else if (flag) {
            out.push_back(a);
            may_be_value = a.find('=') == std::string::npos;
        } else {
            rest.push_back(a);
        }
    }
    out.insert(out.end(), rest.begin(), rest.end());
    return out;
}

Result<Parsed> parse(const std::vector<std::string>& args, size_t from, const std::vector<FlagSpec>& specs,
                     size_t* stop_index) {
    Parsed out;
    size_t i = from;
    for (; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--") {
            ++i;
            break;
        }
        if (a.size() < 2 || a[0] != '-') break;
        std::string body = a.substr(a[1] == '-' ? 2 : 1);
        std::string value;
        bool has_value = false;
        if (auto eq = body.find('='); eq != std::string::npos) {
            value = body.substr(eq + 1);
            body = body.substr(0, eq);
            has_value = true;
        }
        const FlagSpec* spec = nullptr;
        for (auto& s : specs)
            for (auto& n : s.names)
                if (n == body) spec = &s;
        if (!spec) return fail("flag provided but not defined: -" + body);
        if (spec->takes_value && !has_value) {
            if (i + 1 >= args.size()) return fail("flag needs an argument: -" + body);
            value = args[++i];
        } else if (!spec->takes_value && !has_value) {
            value = "true";
        }
        out.values[spec->names.front()].push_back(value);
    }
    if (stop_index) *stop_index = i;
    for (; i < args.size(); ++i)
        out.positional.push_back(args[i]);
    return out;
}

} // namespace lxcri::cli
