#include "runtime/common.hpp"
#include "spec/default_config.hpp"
#include "sys/fs.hpp"

#include <nlohmann/json.hpp>

namespace lxcri::runtime {

Status spec(const std::string& bundle, bool rootless) {
    std::string path = absolute_path(bundle.empty() ? "." : bundle) + "/config.json";
    if (sys::exists(path)) return fail("File " + path + " exists. Remove it first");
    std::string text = spec::default_config(rootless).dump(1, '\t');
    return sys::write_file_atomic(path, text, 0644);
}

} // namespace lxcri::runtime
