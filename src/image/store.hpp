// The content-addressed image store under a root directory (default /var/lib/proxmox-lxcri/images,
// $LXCRI_IMAGE_ROOT overrides):
//   blobs/sha256/<hex>      verified blobs (manifests, indexes, configs, layers), written via temp file +
//   rename ingest/<hex>.partial    an interrupted download, resumed with HTTP Range (removed by gc)
//   ingest/<hex>.lock       flock per blob while it is written (two pulls of one image never write the same
//   file) index.json              name -> manifest digest (atomic writes under index.lock) gc.lock writers
//   (pull, import) hold it shared; gc holds it exclusive
// All methods are thread-safe; a Store is cheap to copy (copies share the LRU cache).
#pragma once
#include "base/result.hpp"
#include "image/digest.hpp"
#include "image/manifest.hpp"
#include "sys/fd.hpp"
#include "sys/fs.hpp"

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace lxcri::image {

inline constexpr std::string_view kDefaultStoreRoot = "/var/lib/proxmox-lxcri/images";
inline constexpr std::string_view kStoreRootEnv = "LXCRI_IMAGE_ROOT";

// A bounded least-recently-used map (thread-safe).
template <class K, class V> class LruCache {
  public:
    explicit LruCache(size_t capacity) : cap_(capacity ? capacity : 1) {}
    std::optional<V> get(const K& k) {
        std::lock_guard g(mu_);
        auto it = map_.find(k);
        if (it == map_.end()) return std::nullopt;
        order_.splice(order_.begin(), order_, it->second);
        return it->second->second;
    }
    void put(const K& k, V v) {
        std::lock_guard g(mu_);
        if (auto it = map_.find(k); it != map_.end()) {
            it->second->second = std::move(v);
            order_.splice(order_.begin(), order_, it->second);
            return;
        }
        order_.emplace_front(k, std::move(v));
        map_[k] = order_.begin();
        if (map_.size() > cap_) {
            map_.erase(order_.back().first);
            order_.pop_back();
        }
    }
    void erase(const K& k) {
        std::lock_guard g(mu_);
        if (auto it = map_.find(k); it != map_.end()) {
            order_.erase(it->second);
            map_.erase(it);
        }
    }
    size_t size() const {
        std::lock_guard g(mu_);
        return map_.size();
    }

  private:
    size_t cap_;
    mutable std::mutex mu_;
    std::list<std::pair<K, V>> order_;
    std::unordered_map<K, typename std::list<std::pair<K, V>>::iterator> map_;
};

// One image in the index.
struct ImageRecord {
    std::string name;    // "docker.io/library/busybox:latest", or "name@sha256:..." when pulled by digest
    Digest manifest;     // the platform-specific manifest
    Digest index;        // the index / manifest list it was resolved from (empty if none)
    std::string created; // RFC 3339, when it was stored
    int64_t size = 0;    // config + compressed layers
};

// A stored image, resolved: record + parsed manifest + parsed config (+ the config's raw JSON).
struct Image {
    ImageRecord record;
    Manifest manifest;
    ImageConfig config;
    std::string config_json;
};

struct GcReport {
    size_t blobs_removed = 0;
    size_t partials_removed = 0;
    int64_t bytes_freed = 0;
};

// Streams one blob into the store: hashes while writing, verifies digest and size on commit, then renames.
// Holds the blob's flock until commit(), discard() or destruction. If the blob was already present when
// opened, complete() is true and nothing needs writing. Dropped without commit(): the partial file stays for
// a later resume, unless discard() was called (a verification failure or ENOSPC discards it).
class BlobWriter {
  public:
    BlobWriter() = default;
    BlobWriter(BlobWriter&&) noexcept = default;
    BlobWriter& operator=(BlobWriter&&) noexcept = default;
    ~BlobWriter() = default;

    bool complete() const { return complete_; }
    // Bytes written so far; right after open_writer(), what an earlier interrupted attempt left (ask the
    // server for Range: bytes=offset-).
    int64_t offset() const { return written_; }
    const Digest& digest() const { return expected_; }
    Status write(const void* data, size_t len);
    // The server ignored the Range request: start over from byte 0.
    Status restart();
    // Verify (digest and, when known, size) and move into blobs/. A mismatch discards the partial.
    Status commit();
    // Remove the partial file (no resume) and release the lock.
    void discard();

  private:
    friend class Store;
    bool complete_ = false;
    Digest expected_;
    int64_t expected_size_ = -1; // -1: unknown
    int64_t written_ = 0;
    std::string partial_, final_;
    sys::Fd fd_;
    sys::FileLock lock_;
    Sha256 hash_;
};

class Store {
  public:
    // $LXCRI_IMAGE_ROOT if set, else /var/lib/proxmox-lxcri/images.
    static std::string default_root();
    // Creates the layout if missing. An empty root means default_root().
    static Result<Store> open(const std::string& root = {});

    const std::string& root() const { return root_; }
    std::string blob_path(const Digest& d) const;
    bool has_blob(const Digest& d) const;

    // Whole blob into memory (manifests, configs), re-verified against its digest.
    Result<std::string> read_blob(const Digest& d) const;
    // Stores bytes; with an expected digest, a mismatch is an error and nothing is kept.
    Result<Digest> put_blob(std::string_view data, const std::optional<Digest>& expected = std::nullopt);
    // Copies a file into the store while hashing (import); must match expected.
    Status put_blob_file(const std::string& path, const Digest& expected);
    // Starts (or resumes) writing a blob; size -1 when unknown.
    Result<BlobWriter> open_writer(const Digest& expected, int64_t size = -1);

    // Parsed and cached (LRU, bounded) manifest / config blobs.
    Result<Manifest> manifest(const Digest& d) const;
    Result<ImageConfig> config(const Digest& d) const;

    // Index of images.
    Result<std::vector<ImageRecord>> list() const;
    // Finds an image by full name, short name ("busybox" = docker.io/library/busybox:latest),
    // manifest digest or a unique prefix (>= 4 hex) of it. Error: "image not known: REF".
    Result<ImageRecord> find(std::string_view ref) const;
    Result<Image> image(std::string_view ref) const;
    // Adds or replaces the record with the same name (its blobs must be present).
    Status tag(const ImageRecord& rec);
    // Removes the records matching ref (a digest removes every name pointing at it). Blobs stay until gc().
    Result<std::vector<ImageRecord>> remove(std::string_view ref);
    // Deletes blobs no indexed image references, every partial download and stale temp file.
    Result<GcReport> gc();
    // After a failed pull or import: removes these blobs unless an indexed image references them. Only done
    // when no other writer is active (else they are left for gc, since a concurrent pull may be using them).
    void discard_blobs(const std::vector<Digest>& blobs);
    // Held (shared) by writers from their first blob until tag(), so gc cannot collect their blobs midway.
    Result<sys::FileLock> writer_lock() const;

  private:
    struct Cache;
    // Hex digests of every blob an indexed image uses.
    Result<std::set<std::string>> referenced() const;
    Store(std::string root, std::shared_ptr<Cache> cache)
        : root_(std::move(root)), cache_(std::move(cache)) {}
    std::string root_;
    std::shared_ptr<Cache> cache_;
};

} // namespace lxcri::image
