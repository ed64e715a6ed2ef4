// Registry client and pull against a real docker-registry (Debian's distribution v2) on 127.0.0.1,
// filled with skopeo from OCI layouts made by make_image.py.
#include "image/pull.hpp"

#include "fixture.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include <memory>
#include <thread>

using namespace lxcri;
using namespace lxcri::image;
using namespace lxcri::image::test;

namespace {

bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

PullOptions quiet() {
    PullOptions o;
    o.progress = ProgressMode::Quiet;
    o.registry.request_timeout = std::chrono::seconds(20);
    return o;
}

Reference mkref(const std::string& s) {
    auto r = parse_reference(s);
    if (!r) throw std::runtime_error(r.error().message());
    return *r;
}

std::string registry_blob_data(const Registry& reg, const std::string& digest) {
    std::string hex = digest.substr(7);
    return reg.dir() + "/data/docker/registry/v2/blobs/sha256/" + hex.substr(0, 2) + "/" + hex + "/data";
}

} // namespace

class RegistryPull : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        tmp = new TempDir();
        reg = new Registry(tmp->path + "/registry");
        small = new Built(make_image(tmp->path + "/small", "v1", "64,128,32"));
        reg->push(*small, "test/small:v1");
        multi = new Built(make_image(tmp->path + "/multi", "v1", "16,16", {"amd64", "arm64"}));
        reg->push(*multi, "test/multi:v1", {"--all"});
        reg->push(*small, "test/docker:v1", {"--format", "v2s2"});
    }
    static void TearDownTestSuite() {
        delete multi;
        delete small;
        delete reg;
        delete tmp;
    }
    void SetUp() override {
        store_dir = std::make_unique<TempDir>();
        store = std::make_unique<Store>(*Store::open(store_dir->path));
    }
    std::string at(const std::string& repo) { return reg->host() + "/" + repo; }

    static TempDir* tmp;
    static Registry* reg;
    static Built *small, *multi;
    std::unique_ptr<TempDir> store_dir;
    std::unique_ptr<Store> store;
};
TempDir* RegistryPull::tmp;
Registry* RegistryPull::reg;
Built* RegistryPull::small;
Built* RegistryPull::multi;

TEST_F(RegistryPull, PingAndManifests) {
    RegistryClient c(mkref(at("test/small:v1")), {});
    EXPECT_EQ(c.base_url(), "https://" + reg->host()); // https first, on loopback too
    ASSERT_TRUE(c.ping());
    EXPECT_EQ(c.base_url(), "http://" + reg->host()); // a plain-http loopback registry
    auto m = c.get_manifest("v1");
    ASSERT_TRUE(m) << m.error().message();
    EXPECT_EQ(m->media_type, media::kOciManifest);
    EXPECT_EQ(m->digest.str(), small->top);
    auto h = c.head_manifest("v1");
    ASSERT_TRUE(h) << h.error().message();
    EXPECT_EQ(h->digest, m->digest);
    EXPECT_EQ(h->size, static_cast<int64_t>(m->body.size()));
    auto by_digest = c.get_manifest(small->top);
    ASSERT_TRUE(by_digest);
    EXPECT_EQ(by_digest->body, m->body);
}

TEST_F(RegistryPull, PullMultiLayerThenAgainFromStore) {
    auto r = pull(*store, mkref(at("test/small:v1")), quiet());
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->record.name, at("test/small:v1"));
    EXPECT_EQ(r->record.manifest.str(), small->top);
    EXPECT_EQ(r->blobs_fetched, 4u); // 3 layers + config
    EXPECT_GT(r->bytes_fetched, 224 * 1024);
    auto img = store->image(at("test/small:v1"));
    ASSERT_TRUE(img) << img.error().message();
    ASSERT_EQ(img->manifest.layers.size(), 3u);
    for (auto& l : img->manifest.layers) {
        EXPECT_TRUE(store->has_blob(l.digest));
        EXPECT_EQ(*sha256_file(store->blob_path(l.digest)), l.digest);
    }
    EXPECT_EQ(img->config.entrypoint, (std::vector<std::string>{"/bin/sh", "-c"}));
    EXPECT_EQ(img->config.diff_ids.size(), 3u);
    EXPECT_EQ(img->config.labels.at("org.test.tag"), "v1");

    auto again = pull(*store, mkref(at("test/small:v1")), quiet());
    ASSERT_TRUE(again) << again.error().message();
    EXPECT_EQ(again->blobs_fetched, 0u);
    EXPECT_EQ(again->blobs_present, 4u);
    EXPECT_EQ(store->list()->size(), 1u);
    auto gc = store->gc();
    ASSERT_TRUE(gc);
    EXPECT_EQ(gc->blobs_removed, 0u);
}

TEST_F(RegistryPull, PullByDigest) {
    auto r = pull(*store, mkref(at("test/small@") + small->top), quiet());
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->record.name, at("test/small@") + small->top);
    EXPECT_TRUE(store->find(small->top.substr(7, 12)));
}

TEST_F(RegistryPull, IndexResolvedForPlatform) {
    auto r = pull(*store, mkref(at("test/multi:v1")), quiet());
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->record.index.str(), multi->top);
    EXPECT_EQ(r->record.manifest.str(), multi->manifests[0]); // amd64
    EXPECT_EQ(store->image(at("test/multi:v1"))->config.architecture, "amd64");

    auto o = quiet();
    o.platform = *parse_platform("linux/arm64");
    auto arm = pull(*store, mkref(at("test/multi:v1")), o);
    ASSERT_TRUE(arm) << arm.error().message();
    EXPECT_EQ(arm->record.manifest.str(), multi->manifests[1]);

    o.platform = *parse_platform("linux/s390x");
    auto none = pull(*store, mkref(at("test/multi:v1")), o);
    ASSERT_FALSE(none);
    EXPECT_TRUE(contains(none.error().message(), "no image for platform linux/s390x"))
        << none.error().message();
}

TEST_F(RegistryPull, DockerSchema2) {
    RegistryClient c(mkref(at("test/docker:v1")), {});
    auto m = c.get_manifest("v1");
    ASSERT_TRUE(m) << m.error().message();
    EXPECT_EQ(m->media_type, media::kDockerManifest);
    auto r = pull(*store, mkref(at("test/docker:v1")), quiet());
    ASSERT_TRUE(r) << r.error().message();
    auto img = store->image(at("test/docker:v1"));
    ASSERT_TRUE(img);
    EXPECT_EQ(img->manifest.layers.at(0).media_type, media::kDockerLayerGzip);
}

TEST_F(RegistryPull, UnknownImageAndTag) {
    auto r = pull(*store, mkref(at("test/nope:v1")), quiet());
    ASSERT_FALSE(r);
    EXPECT_TRUE(contains(r.error().message(), "HTTP 404")) << r.error().message();
    EXPECT_TRUE(contains(r.error().message(), "manifest unknown")) << r.error().message();
    auto t = pull(*store, mkref(at("test/small:v9")), quiet());
    ASSERT_FALSE(t);
    EXPECT_TRUE(contains(t.error().message(), "manifest unknown")) << t.error().message();
    EXPECT_TRUE(store->list()->empty());
    EXPECT_TRUE(sys::list_dir(store_dir->path + "/blobs/sha256").empty());
}

TEST_F(RegistryPull, RegistryDown) {
    int port = free_port();
    auto r = pull(*store, mkref("127.0.0.1:" + std::to_string(port) + "/a/b:c"), quiet());
    ASSERT_FALSE(r);
    EXPECT_TRUE(contains(r.error().message(), "registry 127.0.0.1:" + std::to_string(port)))
        << r.error().message();
    EXPECT_TRUE(contains(r.error().message(), "Connection refused") ||
                contains(r.error().message(), "Couldn't connect"))
        << r.error().message();
}

TEST_F(RegistryPull, EveryRequestHasADeadline) {
    TempDir pd;
    Proxy proxy(pd.path, reg->host(), {"--stall"});
    RegistryOptions o;
    o.request_timeout = std::chrono::milliseconds(700);
    RegistryClient c(mkref(proxy.host() + "/test/small:v1"), o);
    auto t0 = std::chrono::steady_clock::now();
    auto st = c.ping();
    auto took = std::chrono::steady_clock::now() - t0;
    ASSERT_FALSE(st);
    EXPECT_TRUE(contains(st.error().message(), "deadline exceeded")) << st.error().message();
    EXPECT_LT(took, std::chrono::seconds(5));
    auto m = c.get_manifest("v1");
    ASSERT_FALSE(m);
    EXPECT_TRUE(contains(m.error().message(), "deadline exceeded")) << m.error().message();
}

TEST_F(RegistryPull, WrongDigestAndTruncatedBlobRejected) {
    Built b = make_image(tmp->path + "/bad", "v1", "40,50");
    reg->push(b, "test/bad:v1");
    auto m = nlohmann::json::parse(*sys::read_file(b.dir + "/blobs/sha256/" + b.top.substr(7)));
    std::string layer0 = m["layers"][0]["digest"], layer1 = m["layers"][1]["digest"];
    // Layer 0: same size, other content. Layer 1: cut in half.
    std::string p0 = registry_blob_data(*reg, layer0), p1 = registry_blob_data(*reg, layer1);
    std::string d0 = *sys::read_file(p0), d1 = *sys::read_file(p1);
    std::string flipped = d0;
    flipped[flipped.size() / 2] ^= 0x55;
    ASSERT_TRUE(sys::write_file(p0, flipped));
    ASSERT_TRUE(sys::write_file(p1, d1.substr(0, d1.size() / 2)));

    auto o = quiet();
    o.jobs = 1; // deterministic: the larger layer (1, truncated) first
    auto r = pull(*store, mkref(at("test/bad:v1")), o);
    ASSERT_FALSE(r);
    EXPECT_TRUE(contains(r.error().message(), "size mismatch")) << r.error().message();
    ASSERT_TRUE(sys::write_file(p1, d1));
    auto r2 = pull(*store, mkref(at("test/bad:v1")), o);
    ASSERT_FALSE(r2);
    EXPECT_TRUE(contains(r2.error().message(), "digest mismatch")) << r2.error().message();
    // Nothing indexed, no blob kept, no partial left (a verification failure is not resumable).
    EXPECT_TRUE(store->list()->empty());
    EXPECT_TRUE(sys::list_dir(store_dir->path + "/blobs/sha256").empty());
    for (auto& f : sys::list_dir(store_dir->path + "/ingest"))
        EXPECT_FALSE(f.ends_with(".partial")) << f;

    ASSERT_TRUE(sys::write_file(p0, d0));
    auto ok = pull(*store, mkref(at("test/bad:v1")), o);
    ASSERT_TRUE(ok) << ok.error().message();
}

TEST_F(RegistryPull, MissingBlobIsReportedAndNothingKept) {
    Built b = make_image(tmp->path + "/gone", "v1", "30,20");
    reg->push(b, "test/gone:v1");
    auto m = nlohmann::json::parse(*sys::read_file(b.dir + "/blobs/sha256/" + b.top.substr(7)));
    std::string layer = m["layers"][1]["digest"];
    std::string data = registry_blob_data(*reg, layer);
    ASSERT_TRUE(sys::remove_all(data.substr(0, data.rfind('/'))));
    auto r = pull(*store, mkref(at("test/gone:v1")), quiet());
    ASSERT_FALSE(r);
    EXPECT_TRUE(contains(r.error().message(), "blob " + layer)) << r.error().message();
    EXPECT_TRUE(contains(r.error().message(), "HTTP 404: blob unknown")) << r.error().message();
    EXPECT_TRUE(store->list()->empty());
    EXPECT_TRUE(sys::list_dir(store_dir->path + "/blobs/sha256").empty());
    for (auto& f : sys::list_dir(store_dir->path + "/ingest"))
        EXPECT_FALSE(f.ends_with(".partial")) << f;
}

TEST_F(RegistryPull, InterruptedDownloadResumesWithRange) {
    Built b = make_image(tmp->path + "/big", "v1", "600");
    reg->push(b, "test/big:v1");
    TempDir pd;
    Proxy proxy(pd.path, reg->host(), {"--truncate-blobs", "100000"});
    std::string name = proxy.host() + "/test/big:v1";
    auto r = pull(*store, mkref(name), quiet());
    ASSERT_FALSE(r);
    EXPECT_TRUE(contains(r.error().message(), "blob sha256:")) << r.error().message();
    auto ingest = sys::list_dir(store_dir->path + "/ingest");
    auto partial =
        std::find_if(ingest.begin(), ingest.end(), [](auto& f) { return f.ends_with(".partial"); });
    ASSERT_NE(partial, ingest.end());
    struct stat st {};
    ASSERT_EQ(::stat((store_dir->path + "/ingest/" + *partial).c_str(), &st), 0);
    EXPECT_EQ(st.st_size, 100000);
    EXPECT_TRUE(store->list()->empty());

    auto again = pull(*store, mkref(name), quiet());
    ASSERT_TRUE(again) << again.error().message();
    EXPECT_TRUE(contains(proxy.log(), "range=bytes=100000-")) << proxy.log();
    auto img = store->image(name);
    ASSERT_TRUE(img);
    EXPECT_EQ(*sha256_file(store->blob_path(img->manifest.layers[0].digest)), img->manifest.layers[0].digest);
    EXPECT_TRUE(sys::list_dir(store_dir->path + "/ingest").size() <= 2u); // lock files only
    for (auto& f : sys::list_dir(store_dir->path + "/ingest"))
        EXPECT_FALSE(f.ends_with(".partial")) << f;
}

TEST_F(RegistryPull, BearerTokenAuthWithRedirectedBlobs) {
    TempDir pd;
    Proxy proxy(pd.path, reg->host(),
                {"--token", "--user", "alice", "--password", "s3cret", "--redirect-blobs"});
    std::string auth = pd.path + "/auth.json";
    ASSERT_TRUE(sys::write_file_atomic(auth, R"({"auths":{")" + proxy.host() + R"(":{"auth":")" +
                                                 base64_encode("alice:s3cret") + R"("}}})"));
    std::string name = proxy.host() + "/test/small:v1";
    auto o = quiet();
    o.registry.auth_file = auth;
    auto r = pull(*store, mkref(name), o);
    ASSERT_TRUE(r) << r.error().message() << "\n" << proxy.log();
    std::string log = proxy.log();
    EXPECT_TRUE(contains(log, "GET /token?service=test-registry&scope=repository%3Atest%2Fsmall%3Apull"))
        << log;
    EXPECT_TRUE(contains(log, "auth=Basic")) << log;
    EXPECT_TRUE(contains(log, "auth=Bearer")) << log;
    EXPECT_TRUE(contains(log, "/blobs/sha256:")) << log; // answered with 307 to the registry

    ASSERT_TRUE(sys::write_file_atomic(auth, R"({"auths":{")" + proxy.host() + R"(":{"auth":")" +
                                                 base64_encode("alice:wrong") + R"("}}})"));
    TempDir other;
    Store s2 = *Store::open(other.path);
    auto bad = pull(s2, mkref(name), o);
    ASSERT_FALSE(bad);
    EXPECT_TRUE(contains(bad.error().message(), "token server")) << bad.error().message();
    EXPECT_TRUE(contains(bad.error().message(), "bad credentials")) << bad.error().message();
}

TEST(RegistryBasicAuth, HtpasswdRegistry) {
    TempDir t;
    Registry reg(t.path + "/registry", {.user = "bob", .password = "pa55word"});
    Built b = make_image(t.path + "/img", "v1", "32");
    reg.push(b, "sec/img:v1", {}, "bob:pa55word");
    std::string name = reg.host() + "/sec/img:v1";
    Store store = *Store::open(t.path + "/store");
    PullOptions o;
    o.progress = ProgressMode::Quiet;
    o.registry.auth_file = t.path + "/none.json";
    ASSERT_TRUE(sys::write_file_atomic(o.registry.auth_file, R"({"auths":{}})"));
    auto anon = pull(store, *parse_reference(name), o);
    ASSERT_FALSE(anon);
    EXPECT_TRUE(contains(anon.error().message(), "authentication required")) << anon.error().message();
    EXPECT_TRUE(contains(anon.error().message(), "no credentials found")) << anon.error().message();

    std::string auth = t.path + "/auth.json";
    ASSERT_TRUE(sys::write_file_atomic(auth, R"({"auths":{")" + reg.host() + R"(":{"auth":")" +
                                                 base64_encode("bob:pa55word") + R"("}}})"));
    o.registry.auth_file.clear();
    ::setenv("REGISTRY_AUTH_FILE", auth.c_str(), 1);
    auto r = pull(store, *parse_reference(name), o);
    ::unsetenv("REGISTRY_AUTH_FILE");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->record.manifest.str(), b.top);

    ASSERT_TRUE(sys::write_file_atomic(auth, R"({"auths":{")" + reg.host() + R"(":{"auth":")" +
                                                 base64_encode("bob:nope") + R"("}}})"));
    o.registry.auth_file = auth;
    Store s2 = *Store::open(t.path + "/store2");
    auto wrong = pull(s2, *parse_reference(name), o);
    ASSERT_FALSE(wrong);
    EXPECT_TRUE(contains(wrong.error().message(), "HTTP 401")) << wrong.error().message();
}

TEST_F(RegistryPull, ConcurrentPullsInThreads) {
    std::vector<Result<PullResult>> results(3, fail("not run"));
    std::vector<std::thread> ts;
    for (size_t i = 0; i < results.size(); i++)
        ts.emplace_back([&, i] { results[i] = pull(*store, mkref(at("test/small:v1")), quiet()); });
    for (auto& t : ts)
        t.join();
    size_t fetched = 0;
    for (auto& r : results) {
        ASSERT_TRUE(r) << r.error().message();
        fetched += r->blobs_fetched;
    }
    EXPECT_EQ(fetched, 4u); // every blob downloaded exactly once
    EXPECT_EQ(store->list()->size(), 1u);
    auto img = store->image(at("test/small:v1"));
    ASSERT_TRUE(img);
    for (auto& l : img->manifest.layers)
        EXPECT_EQ(*sha256_file(store->blob_path(l.digest)), l.digest);
}

TEST_F(RegistryPull, ConcurrentPullsInProcesses) {
    std::vector<pid_t> kids;
    for (int i = 0; i < 2; i++) {
        pid_t pid = ::fork();
        if (pid == 0) {
            auto s = Store::open(store_dir->path);
            auto r = s ? pull(*s, mkref(at("test/multi:v1")), quiet()) : fail("open");
            ::_exit(r ? 0 : 1);
        }
        kids.push_back(pid);
    }
    for (pid_t p : kids) {
        int st = 0;
        ASSERT_EQ(::waitpid(p, &st, 0), p);
        EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
    }
    auto img = store->image(at("test/multi:v1"));
    ASSERT_TRUE(img) << img.error().message();
    EXPECT_EQ(store->list()->size(), 1u);
    for (auto& l : img->manifest.layers)
        EXPECT_EQ(*sha256_file(store->blob_path(l.digest)), l.digest);
    auto gc = store->gc();
    ASSERT_TRUE(gc);
    EXPECT_EQ(gc->blobs_removed, 0u);
}

TEST_F(RegistryPull, DiskFull) {
    Built b = make_image(tmp->path + "/fat", "v1", "1500,700", {"amd64"}, "none");
    reg->push(b, "test/fat:v1");
    TempDir t;
    Tmpfs fs(t.path, "1M");
    ASSERT_EQ(fs.error, 0) << std::strerror(fs.error);
    {
        Store s = *Store::open(t.path);
        auto r = pull(s, mkref(at("test/fat:v1")), quiet());
        ASSERT_FALSE(r);
        EXPECT_TRUE(contains(r.error().message(), "No space left on device")) << r.error().message();
        EXPECT_TRUE(s.list()->empty());
        EXPECT_TRUE(sys::list_dir(t.path + "/blobs/sha256").empty());
        for (auto& f : sys::list_dir(t.path + "/ingest"))
            EXPECT_FALSE(f.ends_with(".partial")) << f;
    }
}

TEST_F(RegistryPull, JsonProgress) {
    int p[2];
    ASSERT_EQ(::pipe2(p, O_NONBLOCK), 0);
    auto o = quiet();
    o.progress = ProgressMode::Json;
    o.progress_fd = p[1];
    auto r = pull(*store, mkref(at("test/small:v1")), o);
    ASSERT_TRUE(r) << r.error().message();
    std::string out;
    char buf[65536];
    ssize_t n;
    while ((n = ::read(p[0], buf, sizeof buf)) > 0)
        out.append(buf, static_cast<size_t>(n));
    ::close(p[0]);
    ::close(p[1]);
    size_t done = 0;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
        auto j = nlohmann::json::parse(line);
        EXPECT_EQ(j["level"], "info");
        if (j.value("status", "") == "done") done++;
    }
    EXPECT_EQ(done, 4u) << out;
}

TEST(RegistryTls, VerifiesCertificatesAndInsecureFallsBack) {
    std::string ip = outside_ip();
    if (ip.empty()) GTEST_SKIP() << "no non-loopback IPv4 address";
    TempDir t;
    run_ok({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
            "/CN=test", "-addext", "subjectAltName=IP:" + ip, "-keyout", t.path + "/key.pem", "-out",
            t.path + "/cert.pem"});
    Registry tls(t.path + "/tls", {.listen = ip, .cert = t.path + "/cert.pem", .key = t.path + "/key.pem"});
    Registry plain(t.path + "/plain", {.listen = ip});
    Built b = make_image(t.path + "/img", "v1", "16");
    tls.push(b, "t/img:v1");
    plain.push(b, "t/img:v1");
    Store store = *Store::open(t.path + "/store");
    PullOptions o;
    o.progress = ProgressMode::Quiet;
    o.registry.cert_dir = t.path + "/certs.d";

    auto untrusted = pull(store, mkref(tls.host() + "/t/img:v1"), o);
    ASSERT_FALSE(untrusted);
    EXPECT_TRUE(contains(untrusted.error().message(), "https://" + tls.host()))
        << untrusted.error().message();
    EXPECT_TRUE(contains(untrusted.error().message(), "certificate")) << untrusted.error().message();

    ASSERT_TRUE(sys::mkdir_p(o.registry.cert_dir + "/" + tls.host()));
    ASSERT_TRUE(sys::write_file_atomic(o.registry.cert_dir + "/" + tls.host() + "/ca.crt",
                                       *sys::read_file(t.path + "/cert.pem")));
    auto trusted = pull(store, mkref(tls.host() + "/t/img:v1"), o);
    ASSERT_TRUE(trusted) << trusted.error().message();

    auto no_tls = pull(store, mkref(plain.host() + "/t/img:v1"), o);
    ASSERT_FALSE(no_tls);
    EXPECT_TRUE(contains(no_tls.error().message(), "https://" + plain.host())) << no_tls.error().message();

    o.registry.insecure = true;
    o.registry.cert_dir.clear();
    auto skip_verify = pull(store, mkref(tls.host() + "/t/img:v1"), o);
    ASSERT_TRUE(skip_verify) << skip_verify.error().message();
    auto fallback = pull(store, mkref(plain.host() + "/t/img:v1"), o);
    ASSERT_TRUE(fallback) << fallback.error().message();
    EXPECT_EQ(store.list()->size(), 2u);
}

// Issue 12 item 8: a registry on 127.0.0.1 with TLS is reached over https (it used to get plain http only).
TEST(RegistryTls, LoopbackRegistryIsReachableOverHttps) {
    TempDir t;
    run_ok({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
            "/CN=test", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", t.path + "/key.pem", "-out",
            t.path + "/cert.pem"});
    Registry tls(t.path + "/tls", {.cert = t.path + "/cert.pem", .key = t.path + "/key.pem"});
    Built b = make_image(t.path + "/img", "v1", "16");
    tls.push(b, "t/img:v1");
    PullOptions o;
    o.progress = ProgressMode::Quiet;
    o.registry.cert_dir = t.path + "/certs.d";

    // Untrusted certificate: https fails, the http fallback gets the TLS server's 400; both are told.
    Store st1 = *Store::open(t.path + "/s0");
    auto untrusted = pull(st1, mkref(tls.host() + "/t/img:v1"), o);
    ASSERT_FALSE(untrusted);
    EXPECT_TRUE(contains(untrusted.error().message(), "http://" + tls.host())) << untrusted.error().message();
    EXPECT_TRUE(contains(untrusted.error().message(), "over https: GET https://" + tls.host()))
        << untrusted.error().message();
    EXPECT_TRUE(contains(untrusted.error().message(), "certificate")) << untrusted.error().message();

    ASSERT_TRUE(sys::mkdir_p(o.registry.cert_dir + "/" + tls.host()));
    ASSERT_TRUE(sys::write_file_atomic(o.registry.cert_dir + "/" + tls.host() + "/ca.crt",
                                       *sys::read_file(t.path + "/cert.pem")));
    RegistryClient c(mkref(tls.host() + "/t/img:v1"), o.registry);
    ASSERT_TRUE(c.ping()) << c.ping().error().message();
    EXPECT_EQ(c.base_url(), "https://" + tls.host());
    Store store = *Store::open(t.path + "/store");
    auto r = pull(store, mkref(tls.host() + "/t/img:v1"), o);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->record.manifest.str(), b.top);
}

// Issue 12 item 8: --tls-verify=false falls back to http; when that fails too, the https error is told too.
TEST(RegistryTls, InsecureFallbackReportsBothErrors) {
    std::string ip = outside_ip();
    if (ip.empty()) GTEST_SKIP() << "no non-loopback IPv4 address";
    TempDir t;
    std::string host = ip + ":" + std::to_string(free_port()); // nothing listens there
    PullOptions o;
    o.progress = ProgressMode::Quiet;
    o.registry.insecure = true;
    o.registry.connect_timeout = std::chrono::seconds(5);
    Store st2 = *Store::open(t.path + "/store");
    auto r = pull(st2, mkref(host + "/a/b:c"), o);
    ASSERT_FALSE(r);
    EXPECT_TRUE(contains(r.error().message(), "GET http://" + host + "/v2/")) << r.error().message();
    EXPECT_TRUE(contains(r.error().message(), "over https: GET https://" + host + "/v2/"))
        << r.error().message();
}

// Issue 12 item 8: Basic credentials and bearer tokens never go over plain http to a remote host, a plain
// http token realm included; the proxy's log shows nothing was sent.
TEST(RegistryCredentials, NeverSentOverPlainHttpToRemoteHosts) {
    std::string ip = outside_ip();
    if (ip.empty()) GTEST_SKIP() << "no non-loopback IPv4 address";
    TempDir t;
    Registry reg(t.path + "/registry");
    Built b = make_image(t.path + "/img", "v1", "16");
    reg.push(b, "t/img:v1");
    PullOptions o;
    o.progress = ProgressMode::Quiet;
    o.registry.insecure = true; // allows http at all: still no credentials over it

    // Basic to the token realm http://IP:port/token.
    TempDir p1;
    Proxy with_user(p1.path, reg.host(), {"--token", "--user", "alice", "--password", "s3cret"}, ip);
    o.registry.auth_file = t.path + "/auth.json";
    ASSERT_TRUE(sys::write_file_atomic(o.registry.auth_file,
                                       R"({"auths":{")" + with_user.host() + R"(":{"auth":")" +
                                           base64_encode("alice:s3cret") + R"("}}})",
                                       0600));
    Store st3 = *Store::open(t.path + "/s1");
    auto basic = pull(st3, mkref(with_user.host() + "/t/img:v1"), o);
    ASSERT_FALSE(basic);
    EXPECT_TRUE(contains(basic.error().message(), "refusing to send credentials over plain http to " + ip))
        << basic.error().message();
    EXPECT_FALSE(contains(with_user.log(), "auth=Basic")) << with_user.log();
    EXPECT_FALSE(contains(with_user.log(), "GET /token")) << with_user.log();

    // An anonymous token is fine to fetch, but not to send to an http registry.
    TempDir p2;
    Proxy anon(p2.path, reg.host(), {"--token"}, ip);
    ASSERT_TRUE(sys::write_file_atomic(o.registry.auth_file, R"({"auths":{}})", 0600));
    Store st4 = *Store::open(t.path + "/s2");
    auto bearer = pull(st4, mkref(anon.host() + "/t/img:v1"), o);
    ASSERT_FALSE(bearer);
    EXPECT_TRUE(contains(bearer.error().message(), "refusing to send credentials over plain http to " + ip))
        << bearer.error().message();
    EXPECT_TRUE(contains(anon.log(), "GET /token")) << anon.log();
    EXPECT_FALSE(contains(anon.log(), "auth=Bearer")) << anon.log();
}
