#include "image/bundle.hpp"

#include "spec/default_config.hpp"
#include "sys/fs.hpp"

#include <nlohmann/json.hpp>

namespace lxcri::image {

using nlohmann::ordered_json;

namespace {

constexpr std::string_view kDefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
constexpr uint64_t kCpuPeriod = 100000;

// `runc spec` (runc 1.1), with a writable root; terminal and env are set per image below.
ordered_json runc_defaults() {
    ordered_json j = spec::default_config(false);
    j["root"]["readonly"] = false;
    return j;
}

bool has_var(const std::vector<std::string>& env, std::string_view name) {
    for (auto& e : env)
        if (e.starts_with(name) && e.size() > name.size() && e[name.size()] == '=') return true;
    return false;
}

std::vector<std::string> environment(const ImageConfig& image, const ResolvedUser& user, bool terminal) {
    std::vector<std::string> env = image.env;
    if (!has_var(env, "PATH")) env.insert(env.begin(), std::string(kDefaultPath));
    if (terminal && !has_var(env, "TERM")) env.push_back("TERM=xterm");
    if (!has_var(env, "HOME")) env.push_back("HOME=" + (user.home.empty() ? std::string("/") : user.home));
    return env;
}

} // namespace

Result<std::string> bundle_config(const ImageConfig& image, const ResolvedUser& user,
                                  const BundleOptions& o) {
    std::vector<std::string> args = image.entrypoint;
    const auto& cmd = o.args.empty() ? image.cmd : o.args;
    args.insert(args.end(), cmd.begin(), cmd.end());
    if (args.empty()) return fail("image config: no command (no Entrypoint, Cmd or arguments)");

    ordered_json j = runc_defaults();
    auto& proc = j["process"];
    proc["terminal"] = o.terminal;
    proc["args"] = args;
    proc["env"] = environment(image, user, o.terminal);
    proc["cwd"] = image.working_dir.empty() ? "/" : image.working_dir;
    proc["user"] = {{"uid", user.uid}, {"gid", user.gid}};
    if (!user.additional_gids.empty()) proc["user"]["additionalGids"] = user.additional_gids;
    j["root"]["path"] = o.rootfs;
    if (!o.hostname.empty()) j["hostname"] = o.hostname;

    auto& res = j["linux"]["resources"];
    if (o.memory_mib) res["memory"] = {{"limit", *o.memory_mib * 1024 * 1024}};
    if (o.cores)
        res["cpu"] = {{"quota", static_cast<int64_t>(*o.cores * kCpuPeriod)}, {"period", kCpuPeriod}};

    ordered_json ann = ordered_json::object();
    for (auto& [k, v] : image.labels)
        ann[k] = v;
    if (!image.stop_signal.empty()) ann[std::string(kStopSignalAnnotation)] = image.stop_signal;
    if (!image.exposed_ports.empty()) {
        std::string ports;
        for (auto& p : image.exposed_ports)
            ports += (ports.empty() ? "" : ",") + p;
        ann[std::string(kExposedPortsAnnotation)] = ports;
    }
    for (auto& [k, v] : o.annotations)
        ann[k] = v;
    if (!ann.empty()) j["annotations"] = ann;
    return j.dump(1, '\t', false, ordered_json::error_handler_t::replace); // never throws on bad UTF-8
}

Status write_bundle(const std::string& bundle, const std::string& rootfs_path, const ImageConfig& image,
                    const BundleOptions& o) {
    auto user = TRY_CTX(resolve_user(image.user, rootfs_path), "write bundle " + bundle);
    auto text = TRY_CTX(bundle_config(image, user, o), "write bundle " + bundle);
    TRY(sys::mkdir_p(bundle, 0700));
    return sys::write_file_atomic(bundle + "/config.json", text + "\n", 0644);
}

} // namespace lxcri::image
