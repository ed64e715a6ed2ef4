#include "image/store.hpp"

#include "image/limits.hpp"
#include "image/reference.hpp"
#include "spec/json.hpp"
#include "sys/log.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <set>

namespace lxcri::image {

namespace j = spec::json;
using j::Json;

struct Store::Cache {
    LruCache<std::string, Manifest> manifests{128};
    LruCache<std::string, ImageConfig> configs{128};
};

// ---- BlobWriter ----

Status BlobWriter::write(const void* data, size_t len) {
    if (expected_size_ >= 0 && written_ + static_cast<int64_t>(len) > expected_size_) {
        discard();
        return fail("blob " + expected_.str() + ": more data than the expected " +
                    std::to_string(expected_size_) + " bytes");
    }
    const char* p = static_cast<const char*>(data);
    size_t left = len;
    while (left > 0) {
        ssize_t n = ::write(fd_.get(), p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            if (e == ENOSPC || e == EDQUOT) discard();
            return fail("write " + partial_, e);
        }
        p += n;
        left -= static_cast<size_t>(n);
    }
    hash_.update(data, len);
    written_ += static_cast<int64_t>(len);
    return ok();
}

Status BlobWriter::restart() {
    if (::ftruncate(fd_.get(), 0) < 0 || ::lseek(fd_.get(), 0, SEEK_SET) < 0)
        return fail_errno("truncate " + partial_);
    hash_.finish();
    written_ = 0;
    return ok();
}

Status BlobWriter::commit() {
    if (complete_) return ok();
    if (!fd_.valid()) return fail("blob " + expected_.str() + ": writer already closed");
    if (expected_size_ >= 0 && written_ != expected_size_) {
        std::string msg = "blob " + expected_.str() + ": size mismatch: got " + std::to_string(written_) +
                          " bytes, expected " + std::to_string(expected_size_);
        discard();
        return fail(msg);
    }
    Digest got = hash_.finish();
    if (got != expected_) {
        discard();
        return fail("blob " + expected_.str() + ": digest mismatch: got " + got.str());
    }
    if (::fchmod(fd_.get(), 0644) < 0) return fail_errno("chmod " + partial_);
    fd_.reset();
    if (::rename(partial_.c_str(), final_.c_str()) < 0) {
        int e = errno;
        ::unlink(partial_.c_str());
        return fail("rename " + partial_ + " to " + final_, e);
    }
    complete_ = true;
    lock_ = sys::FileLock();
    return ok();
}

void BlobWriter::discard() {
    if (!partial_.empty()) ::unlink(partial_.c_str());
    fd_.reset();
    lock_ = sys::FileLock();
    written_ = 0;
}

// ---- Store ----

std::string Store::default_root() {
    const char* env = std::getenv(std::string(kStoreRootEnv).c_str());
    return env && *env ? std::string(env) : std::string(kDefaultStoreRoot);
}

Result<Store> Store::open(const std::string& root) {
    std::string r = root.empty() ? default_root() : root;
    while (r.size() > 1 && r.back() == '/')
        r.pop_back();
    TRY_CTX(sys::mkdir_p(r + "/blobs/sha256", 0700), "image store " + r);
    TRY_CTX(sys::mkdir_p(r + "/ingest", 0700), "image store " + r);
    return Store(r, std::make_shared<Cache>());
}

std::string Store::blob_path(const Digest& d) const {
    return root_ + "/blobs/" + d.algorithm + "/" + d.hex;
}

bool Store::has_blob(const Digest& d) const {
    struct stat st {};
    return ::stat(blob_path(d).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<std::string> Store::read_blob(const Digest& d) const {
    if (!has_blob(d)) return fail("blob " + d.str() + " not found in store " + root_);
    std::string data = TRY(read_file_bounded(blob_path(d), kMaxDocumentSize));
    if (Digest got = sha256_of(data); got != d)
        return fail("blob " + d.str() + " is corrupt: content hashes to " + got.str());
    return data;
}

Result<Digest> Store::put_blob(std::string_view data, const std::optional<Digest>& expected) {
    Digest d = sha256_of(data);
    if (expected && *expected != d)
        return fail("digest mismatch: expected " + expected->str() + ", got " + d.str());
    if (has_blob(d)) return d;
    TRY_CTX(sys::write_file_atomic(blob_path(d), data, 0644), "store blob " + d.str());
    return d;
}

Status Store::put_blob_file(const std::string& path, const Digest& expected) {
    BlobWriter w = TRY(open_writer(expected));
    if (w.complete()) return ok();
    TRY(w.restart());
    sys::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
        int e = errno;
        w.discard();
        return fail("open " + path, e);
    }
    std::string buf(1 << 16, '\0');
    for (;;) {
        ssize_t n = ::read(fd.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            w.discard();
            return fail("read " + path, e);
        }
        if (n == 0) break;
        TRY(w.write(buf.data(), static_cast<size_t>(n)));
    }
    return w.commit();
}

Result<BlobWriter> Store::open_writer(const Digest& expected, int64_t size) {
    BlobWriter w;
    w.expected_ = expected;
    w.expected_size_ = size;
    w.final_ = blob_path(expected);
    if (has_blob(expected)) {
        w.complete_ = true;
        return w;
    }
    std::string base = root_ + "/ingest/" + expected.hex;
    w.lock_ = TRY(sys::lock_file(base + ".lock"));
    if (has_blob(expected)) { // another writer finished while we waited
        w.complete_ = true;
        w.lock_ = sys::FileLock();
        return w;
    }
    w.partial_ = base + ".partial";
    w.fd_.reset(::open(w.partial_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!w.fd_.valid()) return fail_errno("open " + w.partial_);
    struct stat st {};
    if (::fstat(w.fd_.get(), &st) < 0) return fail_errno("stat " + w.partial_);
    if (size >= 0 && st.st_size > size) {
        TRY(w.restart());
        return w;
    }
    // Resume: re-hash what an earlier attempt left, then append.
    std::string buf(1 << 16, '\0');
    for (;;) {
        ssize_t n = ::read(w.fd_.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail_errno("read " + w.partial_);
        if (n == 0) break;
        w.hash_.update(buf.data(), static_cast<size_t>(n));
        w.written_ += n;
    }
    return w;
}

Result<Manifest> Store::manifest(const Digest& d) const {
    if (auto m = cache_->manifests.get(d.hex)) return *m;
    std::string data = TRY(read_blob(d));
    Manifest m = TRY_CTX(parse_manifest(data), d.str());
    cache_->manifests.put(d.hex, m);
    return m;
}

Result<ImageConfig> Store::config(const Digest& d) const {
    if (auto c = cache_->configs.get(d.hex)) return *c;
    std::string data = TRY(read_blob(d));
    ImageConfig c = TRY_CTX(parse_config(data), d.str());
    cache_->configs.put(d.hex, c);
    return c;
}

// ---- index ----

namespace {

Result<std::vector<ImageRecord>> read_index(const std::string& path) {
    std::vector<ImageRecord> out;
    if (!sys::exists(path)) return out;
    std::string text = TRY(read_file_bounded(path, kMaxDocumentSize));
    Json v = TRY(parse_json_bounded(text, kMaxDocumentSize, path));
    const Json* images = j::member(v, "images");
    if (!images) return out;
    if (!images->is_array()) return fail(path + ": images: expected an array");
    for (size_t i = 0; i < images->size(); i++) {
        const Json& e = (*images)[i];
        std::string p = j::index("images", i);
        TRY_CTX(j::expect_object(e, p), path);
        ImageRecord r;
        std::string manifest, index;
        TRY_CTX(j::field(e, "name", p, r.name, j::to_str), path);
        TRY_CTX(j::field(e, "digest", p, manifest, j::to_str), path);
        TRY_CTX(j::field(e, "index", p, index, j::to_str), path);
        TRY_CTX(j::field(e, "created", p, r.created, j::to_str), path);
        TRY_CTX(j::field(e, "size", p, r.size, j::to_i64), path);
        r.manifest = TRY_CTX(parse_digest(manifest), path + ": " + p);
        if (!index.empty()) r.index = TRY_CTX(parse_digest(index), path + ": " + p);
        out.push_back(std::move(r));
    }
    return out;
}

Status write_index(const std::string& path, const std::vector<ImageRecord>& recs) {
    Json arr = Json::array();
    for (auto& r : recs) {
        Json e = {{"name", r.name}, {"digest", r.manifest.str()}, {"created", r.created}, {"size", r.size}};
        if (!r.index.empty()) e["index"] = r.index.str();
        arr.push_back(std::move(e));
    }
    Json v = {{"images", std::move(arr)}};
    return sys::write_file_atomic(path, v.dump(2, ' ', false, Json::error_handler_t::replace) + "\n", 0644,
                                  true);
}

bool is_hex_prefix(std::string_view s) {
    return s.size() >= 4 && s.size() <= 64 &&
           s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

// Records a ref names: by name / parsed reference, or by digest (prefix), all of the same manifest.
Result<std::vector<size_t>> match(const std::vector<ImageRecord>& recs, std::string_view ref) {
    std::vector<size_t> hits;
    for (size_t i = 0; i < recs.size(); i++)
        if (recs[i].name == ref) return std::vector<size_t>{i};
    if (auto r = parse_reference(ref)) {
        for (size_t i = 0; i < recs.size(); i++) {
            bool by_name = recs[i].name == r->str();
            bool by_digest = !r->digest.empty() && recs[i].manifest.str() == r->digest &&
                             recs[i].name.starts_with(r->name() + (r->tag.empty() ? "" : ":" + r->tag));
            if (by_name) return std::vector<size_t>{i};
            if (by_digest) hits.push_back(i);
        }
        if (!hits.empty()) return hits;
    }
    std::string_view hex = ref;
    if (hex.starts_with("sha256:")) hex.remove_prefix(7);
    if (!is_hex_prefix(hex)) return hits;
    std::set<std::string> manifests;
    for (size_t i = 0; i < recs.size(); i++) {
        if (!recs[i].manifest.hex.starts_with(hex)) continue;
        hits.push_back(i);
        manifests.insert(recs[i].manifest.hex);
    }
    if (manifests.size() > 1) return fail("image reference \"" + std::string(ref) + "\" is ambiguous");
    return hits;
}

} // namespace

Result<std::vector<ImageRecord>> Store::list() const {
    auto lock = TRY(sys::lock_file(root_ + "/index.lock", false));
    return read_index(root_ + "/index.json");
}

Result<ImageRecord> Store::find(std::string_view ref) const {
    auto recs = TRY(list());
    auto hits = TRY(match(recs, ref));
    if (hits.empty()) return fail("image not known: " + std::string(ref));
    return recs[hits.front()];
}

Result<Image> Store::image(std::string_view ref) const {
    Image img;
    img.record = TRY(find(ref));
    img.manifest = TRY_CTX(manifest(img.record.manifest), img.record.name);
    img.config_json = TRY_CTX(read_blob(img.manifest.config.digest), img.record.name + ": config");
    img.config = TRY_CTX(config(img.manifest.config.digest), img.record.name);
    return img;
}

Status Store::tag(const ImageRecord& rec) {
    if (!has_blob(rec.manifest))
        return fail("tag " + rec.name + ": manifest " + rec.manifest.str() + " not in store");
    auto lock = TRY(sys::lock_file(root_ + "/index.lock"));
    auto recs = TRY(read_index(root_ + "/index.json"));
    ImageRecord r = rec;
    if (r.created.empty()) r.created = log::rfc3339_now();
    bool replaced = false;
    for (auto& e : recs) {
        if (e.name != r.name) continue;
        e = r;
        replaced = true;
    }
    if (!replaced) recs.push_back(r);
    TRY_CTX(write_index(root_ + "/index.json", recs), "write image index");
    return ok();
}

Result<std::vector<ImageRecord>> Store::remove(std::string_view ref) {
    auto lock = TRY(sys::lock_file(root_ + "/index.lock"));
    auto recs = TRY(read_index(root_ + "/index.json"));
    auto hits = TRY(match(recs, ref));
    if (hits.empty()) return fail("image not known: " + std::string(ref));
    std::vector<ImageRecord> removed, kept;
    std::set<size_t> drop(hits.begin(), hits.end());
    for (size_t i = 0; i < recs.size(); i++)
        (drop.count(i) ? removed : kept).push_back(recs[i]);
    TRY_CTX(write_index(root_ + "/index.json", kept), "write image index");
    return removed;
}

Result<std::set<std::string>> Store::referenced() const {
    auto recs = TRY(list());
    std::set<std::string> keep;
    for (auto& r : recs) {
        keep.insert(r.manifest.hex);
        if (!r.index.empty()) keep.insert(r.index.hex);
        auto m = TRY_CTX(manifest(r.manifest), "image " + r.name);
        keep.insert(m.config.digest.hex);
        for (auto& l : m.layers)
            keep.insert(l.digest.hex);
    }
    return keep;
}

void Store::discard_blobs(const std::vector<Digest>& blobs) {
    if (blobs.empty()) return;
    sys::Fd fd(::open((root_ + "/gc.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd.valid() || ::flock(fd.get(), LOCK_EX | LOCK_NB) < 0) return;
    auto keep = referenced();
    if (!keep) return; // an unreadable image: leave everything to gc, which reports it
    for (auto& d : blobs)
        if (!keep->count(d.hex)) ::unlink(blob_path(d).c_str());
}

Result<sys::FileLock> Store::writer_lock() const {
    return sys::lock_file(root_ + "/gc.lock", false);
}

Result<GcReport> Store::gc() {
    auto gc_lock = TRY(sys::lock_file(root_ + "/gc.lock"));
    auto keep = TRY_CTX(referenced(), "gc (refusing to collect)");
    GcReport rep;
    std::string dir = root_ + "/blobs/sha256";
    for (auto& name : sys::list_dir(dir)) {
        if (keep.count(name)) continue;
        std::string path = dir + "/" + name;
        struct stat st {};
        if (::lstat(path.c_str(), &st) == 0) rep.bytes_freed += st.st_size;
        if (::unlink(path.c_str()) < 0 && errno != ENOENT) return fail_errno("gc: unlink " + path);
        cache_->manifests.erase(name);
        cache_->configs.erase(name);
        rep.blobs_removed++;
    }
    std::string ingest = root_ + "/ingest";
    for (auto& name : sys::list_dir(ingest)) {
        std::string path = ingest + "/" + name;
        struct stat st {};
        if (::lstat(path.c_str(), &st) == 0 && name.ends_with(".partial")) {
            rep.bytes_freed += st.st_size;
            rep.partials_removed++;
        }
        if (::unlink(path.c_str()) < 0 && errno != ENOENT) return fail_errno("gc: unlink " + path);
    }
    return rep;
}

} // namespace lxcri::image
