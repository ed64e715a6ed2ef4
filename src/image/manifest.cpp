#include "image/manifest.hpp"

#include "image/limits.hpp"
#include "spec/json.hpp"

#include <sys/utsname.h>

#include <algorithm>

namespace lxcri::image {

namespace j = spec::json;
using j::Json;

bool is_index_type(std::string_view t) {
    return t == media::kOciIndex || t == media::kDockerList;
}
bool is_manifest_type(std::string_view t) {
    return t == media::kOciManifest || t == media::kDockerManifest;
}

Result<Compression> layer_compression(std::string_view t) {
    if (t == media::kOciLayer || t == "application/vnd.docker.image.rootfs.diff.tar")
        return Compression::None;
    if (t == media::kOciLayerGzip || t == media::kDockerLayerGzip ||
        t == "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip" ||
        t == "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip")
        return Compression::Gzip;
    if (t == media::kOciLayerZstd) return Compression::Zstd;
    return fail("unsupported layer media type \"" + std::string(t) + "\"");
}

Platform host_platform() {
    Platform p;
    struct utsname u {};
    if (::uname(&u) == 0) {
        std::string m = u.machine;
        if (m == "x86_64")
            p.architecture = "amd64";
        else if (m == "aarch64")
            p.architecture = "arm64", p.variant = "v8";
        else if (m == "i686" || m == "i386")
            p.architecture = "386";
        else
            p.architecture = m;
    }
    return p;
}

Result<Platform> parse_platform(std::string_view s) {
    Platform p;
    auto first = s.find('/');
    if (first == std::string_view::npos || first == 0 || first + 1 >= s.size())
        return fail("invalid platform \"" + std::string(s) + "\": want os/arch[/variant]");
    p.os = std::string(s.substr(0, first));
    std::string_view rest = s.substr(first + 1);
    auto second = rest.find('/');
    p.architecture = std::string(rest.substr(0, second));
    p.variant = second == std::string_view::npos ? "" : std::string(rest.substr(second + 1));
    if (p.architecture.empty() || (second != std::string_view::npos && p.variant.empty()))
        return fail("invalid platform \"" + std::string(s) + "\": want os/arch[/variant]");
    return p;
}

namespace {

Result<std::map<std::string, std::string>> to_str_map(const Json& v, const std::string& path) {
    if (!v.is_object()) return fail(path + ": expected an object");
    std::map<std::string, std::string> out;
    for (auto& [k, val] : v.items())
        out[k] = TRY(j::to_str(val, j::join(path, k)));
    return out;
}

Result<std::vector<std::string>> object_keys(const Json& v, const std::string& path) {
    if (!v.is_object()) return fail(path + ": expected an object");
    std::vector<std::string> out;
    for (auto& [k, val] : v.items())
        out.push_back(k);
    std::sort(out.begin(), out.end());
    return out;
}

Result<Digest> to_digest(const Json& v, const std::string& path) {
    auto s = TRY(j::to_str(v, path));
    return TRY_CTX(parse_digest(s), path);
}

Result<Platform> read_platform(const Json& v, const std::string& path) {
    TRY(j::expect_object(v, path));
    Platform p;
    p.os = p.architecture = "";
    TRY(j::field(v, "os", path, p.os, j::to_str));
    TRY(j::field(v, "architecture", path, p.architecture, j::to_str));
    TRY(j::field(v, "variant", path, p.variant, j::to_str));
    return p;
}

Result<Descriptor> read_descriptor(const Json& v, const std::string& path) {
    TRY(j::expect_object(v, path));
    Descriptor d;
    TRY(j::field(v, "mediaType", path, d.media_type, j::to_str));
    d.digest = TRY(to_digest(*TRY(j::required(v, "digest", path)), j::join(path, "digest")));
    d.size = TRY(j::to_i64(*TRY(j::required(v, "size", path)), j::join(path, "size")));
    if (d.size < 0) return fail(j::join(path, "size") + ": negative");
    TRY(j::field(v, "urls", path, d.urls, j::to_strs));
    TRY(j::field(v, "annotations", path, d.annotations, to_str_map));
    if (const Json* p = j::member(v, "platform"))
        d.platform = TRY(read_platform(*p, j::join(path, "platform")));
    return d;
}

Result<Json> parse_object(std::string_view text, const char* what) {
    auto v = TRY(parse_json_bounded(text, kMaxDocumentSize, what));
    if (!v.is_object()) return fail(std::string(what) + ": expected a JSON object");
    return v;
}

} // namespace

std::string detect_media_type(std::string_view text) {
    auto v = parse_object(text, "manifest");
    if (!v) return "";
    if (const Json* m = j::member(*v, "mediaType"); m && m->is_string()) return m->get<std::string>();
    if (j::member(*v, "manifests")) return std::string(media::kOciIndex);
    if (j::member(*v, "config") || j::member(*v, "layers")) return std::string(media::kOciManifest);
    return "";
}

Result<Manifest> parse_manifest(std::string_view text) {
    Json v = TRY(parse_object(text, "manifest"));
    Manifest m;
    TRY(j::field(v, "schemaVersion", "manifest", m.schema_version, j::to_int));
    if (m.schema_version != 2)
        return fail("manifest: unsupported schemaVersion " + std::to_string(m.schema_version));
    TRY(j::field(v, "mediaType", "manifest", m.media_type, j::to_str));
    if (!m.media_type.empty() && !is_manifest_type(m.media_type))
        return fail("manifest: unexpected mediaType \"" + m.media_type + "\"");
    m.config = TRY(read_descriptor(*TRY(j::required(v, "config", "manifest")), "manifest.config"));
    TRY(j::field(v, "layers", "manifest", m.layers, j::list_of(read_descriptor)));
    TRY(j::field(v, "annotations", "manifest", m.annotations, to_str_map));
    return m;
}

Result<Index> parse_index(std::string_view text) {
    Json v = TRY(parse_object(text, "index"));
    Index ix;
    TRY(j::field(v, "schemaVersion", "index", ix.schema_version, j::to_int));
    if (ix.schema_version != 2)
        return fail("index: unsupported schemaVersion " + std::to_string(ix.schema_version));
    TRY(j::field(v, "mediaType", "index", ix.media_type, j::to_str));
    if (!ix.media_type.empty() && !is_index_type(ix.media_type))
        return fail("index: unexpected mediaType \"" + ix.media_type + "\"");
    ix.manifests =
        TRY(j::list_of(read_descriptor)(*TRY(j::required(v, "manifests", "index")), "index.manifests"));
    TRY(j::field(v, "annotations", "index", ix.annotations, to_str_map));
    return ix;
}

Result<ImageConfig> parse_config(std::string_view text) {
    Json v = TRY(parse_object(text, "image config"));
    const std::string p = "config";
    ImageConfig c;
    TRY(j::field(v, "architecture", p, c.architecture, j::to_str));
    TRY(j::field(v, "os", p, c.os, j::to_str));
    TRY(j::field(v, "variant", p, c.variant, j::to_str));
    TRY(j::field(v, "created", p, c.created, j::to_str));
    TRY(j::field(v, "author", p, c.author, j::to_str));
    if (const Json* cfg = j::member(v, "config")) {
        const std::string cp = "config.config";
        TRY(j::expect_object(*cfg, cp));
        TRY(j::field(*cfg, "User", cp, c.user, j::to_str));
        TRY(j::field(*cfg, "WorkingDir", cp, c.working_dir, j::to_str));
        TRY(j::field(*cfg, "StopSignal", cp, c.stop_signal, j::to_str));
        TRY(j::field(*cfg, "Env", cp, c.env, j::to_strs));
        c.entrypoint_set = j::member(*cfg, "Entrypoint") != nullptr;
        c.cmd_set = j::member(*cfg, "Cmd") != nullptr;
        TRY(j::field(*cfg, "Entrypoint", cp, c.entrypoint, j::to_strs));
        TRY(j::field(*cfg, "Cmd", cp, c.cmd, j::to_strs));
        TRY(j::field(*cfg, "ExposedPorts", cp, c.exposed_ports, object_keys));
        TRY(j::field(*cfg, "Volumes", cp, c.volumes, object_keys));
        TRY(j::field(*cfg, "Labels", cp, c.labels, to_str_map));
    }
    if (const Json* rootfs = j::member(v, "rootfs")) {
        TRY(j::expect_object(*rootfs, "config.rootfs"));
        TRY(j::field(*rootfs, "diff_ids", "config.rootfs", c.diff_ids, j::list_of(to_digest)));
    }
    return c;
}

Result<Descriptor> select_platform(const Index& index, const Platform& want) {
    std::string have;
    const Descriptor* fallback = nullptr;
    for (auto& d : index.manifests) {
        if (!d.platform) continue;
        if (!have.empty()) have += ", ";
        have += d.platform->str();
        if (d.platform->os != want.os || d.platform->architecture != want.architecture) continue;
        if (want.variant.empty() || d.platform->variant == want.variant) return d;
        if (d.platform->variant.empty() && !fallback) fallback = &d;
    }
    if (fallback) return *fallback;
    // An index without platform fields but with exactly one manifest (as skopeo writes for one image).
    if (have.empty() && index.manifests.size() == 1) return index.manifests[0];
    return fail("no image for platform " + want.str() + " in index (have: " + (have.empty() ? "none" : have) +
                ")");
}

} // namespace lxcri::image
