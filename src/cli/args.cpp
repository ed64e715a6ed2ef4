#include "cli/args.hpp"

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
