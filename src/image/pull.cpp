#include "image/pull.hpp"

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

namespace lxcri::image {

namespace {

struct Resolved {
    FetchedManifest manifest;
    std::optional<FetchedManifest> index;
    Manifest parsed;
};

Result<Resolved> resolve(RegistryClient& client, const Reference& ref, const Platform& platform) {
    Resolved r;
    FetchedManifest top = TRY(client.get_manifest(ref.manifest_ref()));
    if (is_index_type(top.media_type)) {
        Index ix = TRY_CTX(parse_index(top.body), ref.str());
        Descriptor d = TRY_CTX(select_platform(ix, platform), ref.str());
        r.manifest = TRY(client.get_manifest(d.digest.str()));
        if (!is_manifest_type(r.manifest.media_type))
            return fail(ref.str() + ": index entry " + d.digest.str() + " is not an image manifest (" +
                        r.manifest.media_type + ")");
        r.index = std::move(top);
    } else {
        r.manifest = std::move(top);
    }
    r.parsed = TRY_CTX(parse_manifest(r.manifest.body), ref.str());
    for (auto& l : r.parsed.layers)
        TRY_CTX(layer_compression(l.media_type), ref.str() + ": layer " + l.digest.str());
    return r;
}

// Shared state of the download workers.
struct Downloads {
    Store& store;
    RegistryClient& client;
    Progress& progress;
    std::vector<Descriptor> todo;
    std::atomic<size_t> next{0};
    std::atomic<bool> cancel{false};
    std::mutex mu;
    std::optional<Error> error;
    std::vector<Digest> written; // committed by this pull
    size_t fetched = 0, present = 0;
    int64_t bytes = 0;
};

Status fetch_blob(Downloads& dl, const Descriptor& d) {
    const std::string id = d.digest.short_hex();
    dl.progress.add(id, d.size);
    BlobWriter w = TRY(dl.store.open_writer(d.digest, d.size));
    if (w.complete()) {
        dl.progress.finish(id, "exists");
        std::lock_guard g(dl.mu);
        dl.present++;
        return ok();
    }
    int64_t received = 0;
    BlobSink sink{
        .begin = [&](int64_t start) -> Status {
            if (start == 0 && w.offset() > 0) TRY(w.restart());
            dl.progress.update(id, w.offset());
            return ok();
        },
        .data = [&](const char* p, size_t n) -> Status {
            if (dl.cancel) return fail("cancelled");
            TRY(w.write(p, n));
            received += static_cast<int64_t>(n);
            dl.progress.update(id, w.offset());
            return ok();
        },
    };
    auto st = dl.client.get_blob(d.digest, w.offset(), sink);
    if (st) st = w.commit();
    // Kept for a resume only when the transfer itself broke: nothing received, or cancelled because another
    // blob of this pull failed, leaves nothing behind.
    if (!st && (w.offset() == 0 || dl.cancel)) w.discard();
    {
        std::lock_guard g(dl.mu);
        dl.bytes += received;
        if (st) {
            dl.fetched++;
            dl.written.push_back(d.digest);
        }
    }
    dl.progress.finish(id, st ? "done" : "failed");
    if (!st) return std::unexpected(std::move(st).error().context("blob " + d.digest.str()));
    return ok();
}

void worker(Downloads& dl) {
    for (;;) {
        size_t i = dl.next++;
        if (i >= dl.todo.size() || dl.cancel) return;
        auto st = fetch_blob(dl, dl.todo[i]);
        if (st) continue;
        std::lock_guard g(dl.mu);
        if (!dl.error) dl.error = st.error();
        dl.cancel = true;
    }
}

std::vector<Descriptor> blobs_of(const Manifest& m) {
    std::vector<Descriptor> out;
    std::set<std::string> seen;
    // Largest first so the long downloads start early.
    std::vector<Descriptor> layers = m.layers;
    std::stable_sort(layers.begin(), layers.end(), [](auto& a, auto& b) { return a.size > b.size; });
    for (auto& d : layers)
        if (seen.insert(d.digest.hex).second) out.push_back(d);
    if (seen.insert(m.config.digest.hex).second) out.push_back(m.config);
    return out;
}

} // namespace

Result<PullResult> pull(Store& store, const Reference& ref, const PullOptions& opts) {
    const std::string what = "pull " + ref.str();
    RegistryClient client(ref, opts.registry);
    TRY_CTX(client.ping(), what);
    Resolved res = TRY_CTX(resolve(client, ref, opts.platform), what);

    Progress progress(opts.progress, opts.progress_fd);
    progress.note("pulling " + ref.str() + " (manifest " + res.manifest.digest.str() + ")");
    auto writer = TRY_CTX(store.writer_lock(), what);
    Downloads dl{store, client, progress, blobs_of(res.parsed)};
    std::vector<std::thread> threads;
    size_t n = std::min<size_t>(std::max(opts.jobs, 1), dl.todo.size());
    for (size_t i = 0; i < n; i++)
        threads.emplace_back(worker, std::ref(dl));
    for (auto& t : threads)
        t.join();

    PullResult out;
    auto failed = [&](Error e) -> Result<PullResult> {
        writer = sys::FileLock();
        dl.written.push_back(res.manifest.digest); // kept anyway if an indexed image uses them
        if (res.index) dl.written.push_back(res.index->digest);
        store.discard_blobs(dl.written);
        return std::unexpected(std::move(e).with_context(what));
    };
    if (dl.error) return failed(*dl.error);
    auto config = store.config(res.parsed.config.digest);
    if (!config) return failed(config.error());
    if (auto d = store.put_blob(res.manifest.body, res.manifest.digest); !d) return failed(d.error());
    if (res.index)
        if (auto d = store.put_blob(res.index->body, res.index->digest); !d) return failed(d.error());

    out.record.name = ref.tag.empty() ? ref.name() + "@" + ref.digest : ref.name() + ":" + ref.tag;
    out.record.manifest = res.manifest.digest;
    if (res.index) out.record.index = res.index->digest;
    out.record.size = res.parsed.config.size;
    for (auto& l : res.parsed.layers)
        out.record.size += l.size;
    if (auto st = store.tag(out.record); !st) return failed(st.error());
    out.blobs_fetched = dl.fetched;
    out.blobs_present = dl.present;
    out.bytes_fetched = dl.bytes;
    return out;
}

} // namespace lxcri::image
