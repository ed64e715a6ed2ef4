#include "image/archive.hpp"

#include "image/limits.hpp"
#include "image/reference.hpp"
#include "image/unpack.hpp"
#include "sys/fs.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <memory>

namespace lxcri::image {

using nlohmann::json;

namespace {

// A file of an extracted archive: relative, without "..", a regular file once symlinks are resolved, and
// still inside the archive (docker-archives link layer.tar files to each other; nothing may point at a host
// file).
Result<std::string> member(const std::string& dir, const std::string& rel) {
    if (rel.empty() || rel[0] == '/' || rel.find("..") != std::string::npos)
        return fail("invalid path in archive: \"" + rel + "\"");
    char* base = ::realpath(dir.c_str(), nullptr);
    char* real = ::realpath((dir + "/" + rel).c_str(), nullptr);
    std::string b = base ? base : "", p = real ? real : "";
    ::free(base);
    ::free(real);
    if (p.empty()) return fail_errno("archive member " + rel);
    if (!p.starts_with(b + "/")) return fail("archive member " + rel + " points outside the archive");
    struct stat st {};
    if (::stat(p.c_str(), &st) < 0) return fail_errno("archive member " + rel);
    if (!S_ISREG(st.st_mode)) return fail("archive member " + rel + " is not a regular file");
    return p;
}

std::string blob_rel(const Digest& d) {
    return "blobs/" + d.algorithm + "/" + d.hex;
}

Result<std::string> read_member(const std::string& dir, const std::string& rel) {
    return read_file_bounded(TRY(member(dir, rel)), kMaxDocumentSize);
}

// The stored name: the caller's, else the archive's if it is a full reference.
Result<std::string> image_name(const std::string& given, const std::string& from_archive) {
    std::string n = given.empty() ? from_archive : given;
    if (n.empty()) return fail("the archive does not name the image: give a NAME");
    // OCI layouts often name an image by its tag alone ("latest"), which is no image name.
    if (given.empty() && n.find_first_of(":/") == std::string::npos)
        return fail("the archive names the image only by the tag \"" + n + "\": give a NAME");
    auto ref = parse_reference(n);
    if (!ref) {
        if (given.empty())
            return fail("the archive names the image \"" + n + "\", not a reference: give a NAME");
        return std::unexpected(std::move(ref).error());
    }
    return ref->tag.empty() ? ref->name() + "@" + ref->digest : ref->name() + ":" + ref->tag;
}

Result<ImageRecord> import_manifest(Store& store, const std::string& dir, const Descriptor& desc,
                                    const Digest& index) {
    std::string text = TRY(read_member(dir, blob_rel(desc.digest)));
    TRY_CTX(store.put_blob(text, desc.digest), "manifest " + desc.digest.str());
    auto m = TRY_CTX(parse_manifest(text), "manifest " + desc.digest.str());
    ImageRecord rec{.manifest = desc.digest, .index = index};
    rec.size = m.config.size;
    TRY_CTX(store.put_blob_file(TRY(member(dir, blob_rel(m.config.digest))), m.config.digest), "config");
    for (auto& l : m.layers) {
        TRY_CTX(store.put_blob_file(TRY(member(dir, blob_rel(l.digest))), l.digest),
                "layer " + l.digest.str());
        rec.size += l.size;
    }
    return rec;
}

Result<std::vector<ImageRecord>> import_oci(Store& store, const std::string& dir, const std::string& name) {
    auto index = TRY_CTX(parse_index(TRY(read_member(dir, "index.json"))), "index.json");
    if (index.manifests.empty()) return fail("index.json lists no image");
    std::vector<ImageRecord> out;
    for (auto& top : index.manifests) {
        Descriptor desc = top;
        Digest nested;
        if (is_index_type(top.media_type)) {
            std::string text = TRY(read_member(dir, blob_rel(top.digest)));
            TRY(store.put_blob(text, top.digest));
            desc = TRY(select_platform(TRY(parse_index(text)), host_platform()));
            nested = top.digest;
        }
        auto ann = top.annotations.find(std::string(kRefNameAnnotation));
        auto rec = TRY(import_manifest(store, dir, desc, nested));
        rec.name = TRY(image_name(name, ann == top.annotations.end() ? "" : ann->second));
        TRY(store.tag(rec));
        out.push_back(rec);
    }
    return out;
}

Result<Descriptor> import_docker_layer(Store& store, const std::string& dir, const std::string& rel) {
    std::string path = TRY(member(dir, rel));
    Descriptor d;
    d.digest = TRY(sha256_file(path));
    TRY_CTX(store.put_blob_file(path, d.digest), "layer " + rel);
    Compression c = TRY(detect_compression_file(path));
    d.media_type = c == Compression::Gzip   ? media::kOciLayerGzip
                   : c == Compression::Zstd ? media::kOciLayerZstd
                                            : media::kOciLayer;
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) d.size = st.st_size;
    return d;
}

json descriptor_json(const Descriptor& d) {
    return {{"mediaType", d.media_type}, {"digest", d.digest.str()}, {"size", d.size}};
}

// docker save: manifest.json = [{"Config": "x.json", "RepoTags": ["a:b"], "Layers": ["y/layer.tar"]}].
Result<std::vector<ImageRecord>> import_docker(Store& store, const std::string& dir,
                                               const std::string& name) {
    std::string text = TRY(read_member(dir, "manifest.json"));
    json j = TRY(parse_json_bounded(text, kMaxDocumentSize, "manifest.json"));
    if (!j.is_array() || j.empty()) return fail("manifest.json: expected a non-empty array");
    std::vector<ImageRecord> out;
    for (auto& e : j) {
        if (!e.is_object() || !e.contains("Config") || !e["Config"].is_string() || !e.contains("Layers") ||
            !e["Layers"].is_array())
            return fail("manifest.json: an entry lacks Config or Layers");
        std::string config = TRY(read_member(dir, e["Config"].get<std::string>()));
        TRY_CTX(parse_config(config), "config " + e["Config"].get<std::string>());
        Descriptor cfg{.media_type = std::string(media::kOciConfig), .digest = TRY(store.put_blob(config))};
        cfg.size = static_cast<int64_t>(config.size());
        json m = {{"schemaVersion", 2}, {"mediaType", media::kOciManifest}, {"config", descriptor_json(cfg)}};
        m["layers"] = json::array();
        ImageRecord rec;
        rec.size = cfg.size;
        for (auto& l : e["Layers"]) {
            if (!l.is_string()) return fail("manifest.json: a layer is not a path");
            auto d = TRY(import_docker_layer(store, dir, l.get<std::string>()));
            m["layers"].push_back(descriptor_json(d));
            rec.size += d.size;
        }
        rec.manifest = TRY(store.put_blob(m.dump()));
        std::string tag;
        if (e.contains("RepoTags") && e["RepoTags"].is_array() && !e["RepoTags"].empty() &&
            e["RepoTags"][0].is_string())
            tag = e["RepoTags"][0].get<std::string>();
        rec.name = TRY(image_name(name, tag));
        TRY(store.tag(rec));
        out.push_back(rec);
    }
    return out;
}

Result<std::vector<ImageRecord>> import_dir(Store& store, const std::string& dir, const std::string& name) {
    auto lock = TRY(store.writer_lock());
    if (sys::exists(dir + "/oci-layout")) return import_oci(store, dir, name);
    if (sys::exists(dir + "/manifest.json")) return import_docker(store, dir, name);
    return fail("neither an OCI layout (oci-layout) nor a docker archive (manifest.json)");
}

struct WriteFree {
    void operator()(archive* a) const { archive_write_free(a); }
};

Status add_entry(archive* a, const std::string& name, int64_t size, const std::function<Status()>& body) {
    std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(), archive_entry_free);
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0644);
    archive_entry_set_size(e.get(), size);
    if (archive_write_header(a, e.get()) != ARCHIVE_OK) return fail(name + ": " + archive_error_string(a));
    return body();
}

Status add_data(archive* a, const std::string& name, std::string_view data) {
    return add_entry(a, name, static_cast<int64_t>(data.size()), [&]() -> Status {
        if (archive_write_data(a, data.data(), data.size()) != static_cast<la_ssize_t>(data.size()))
            return fail(name + ": " + archive_error_string(a));
        return ok();
    });
}

Status add_file(archive* a, const std::string& name, const std::string& path) {
    sys::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st {};
    if (!fd.valid() || ::fstat(fd.get(), &st) < 0) return fail_errno("open " + path);
    return add_entry(a, name, st.st_size, [&]() -> Status {
        std::string buf(1 << 20, '\0');
        for (;;) {
            ssize_t n = ::read(fd.get(), buf.data(), buf.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return fail_errno("read " + path);
            if (n == 0) return ok();
            if (archive_write_data(a, buf.data(), static_cast<size_t>(n)) != n)
                return fail(name + ": " + archive_error_string(a));
        }
    });
}

Status write_oci_archive(const Store& store, const Image& img, const std::string& file) {
    std::unique_ptr<archive, WriteFree> a(archive_write_new());
    archive_write_set_format_pax_restricted(a.get());
    if (archive_write_open_filename(a.get(), file.c_str()) != ARCHIVE_OK)
        return fail(file + ": " + archive_error_string(a.get()));
    TRY(add_data(a.get(), "oci-layout", R"({"imageLayoutVersion":"1.0.0"})"));
    std::string mtext = TRY(store.read_blob(img.record.manifest));
    json desc = {{"mediaType", img.manifest.media_type.empty() ? std::string(media::kOciManifest)
                                                               : img.manifest.media_type},
                 {"digest", img.record.manifest.str()},
                 {"size", mtext.size()},
                 {"annotations",
                  {{kRefNameAnnotation, img.record.name}, {kContainerdNameAnnotation, img.record.name}}}};
    json index = {{"schemaVersion", 2}, {"mediaType", media::kOciIndex}, {"manifests", json::array({desc})}};
    TRY(add_data(a.get(), "index.json", index.dump()));
    TRY(add_data(a.get(), blob_rel(img.record.manifest), mtext));
    TRY(add_file(a.get(), blob_rel(img.manifest.config.digest), store.blob_path(img.manifest.config.digest)));
    for (auto& l : img.manifest.layers)
        TRY(add_file(a.get(), blob_rel(l.digest), store.blob_path(l.digest)));
    if (archive_write_close(a.get()) != ARCHIVE_OK) return fail(file + ": " + archive_error_string(a.get()));
    return ok();
}

} // namespace

Result<std::vector<ImageRecord>> import_archive(Store& store, const std::string& path,
                                                const std::string& name) {
    std::string what = "import " + path;
    struct stat st {};
    if (::stat(path.c_str(), &st) < 0) return fail_errno(what);
    try {
        if (S_ISDIR(st.st_mode)) return TRY_CTX(import_dir(store, path, name), what);
        std::string tmpl = store.root() + "/import-XXXXXX";
        if (!::mkdtemp(tmpl.data())) return fail_errno(what + ": scratch directory");
        auto res = [&]() -> Result<std::vector<ImageRecord>> {
            TRY(unpack_layer(path, tmpl, Whiteouts::apply));
            return import_dir(store, tmpl, name);
        }();
        (void)sys::remove_all(tmpl);
        if (!res) return std::unexpected(std::move(res).error().context(what));
        return res;
    } catch (const std::exception& e) {
        return fail(what + ": " + e.what());
    }
}

Status export_archive(const Store& store, std::string_view ref, const std::string& file) {
    std::string what = "export " + std::string(ref);
    auto img = TRY_CTX(store.image(ref), what);
    std::string tmp = file + ".tmp" + std::to_string(::getpid());
    Status s;
    try {
        s = write_oci_archive(store, img, tmp);
    } catch (const std::exception& e) {
        s = fail(e.what());
    }
    if (s && ::rename(tmp.c_str(), file.c_str()) < 0) s = fail_errno("rename to " + file);
    if (!s) {
        ::unlink(tmp.c_str());
        return std::unexpected(std::move(s).error().context(what));
    }
    return ok();
}

} // namespace lxcri::image
