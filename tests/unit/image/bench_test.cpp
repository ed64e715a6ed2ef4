// Pull of a ~100 MB four-layer image from the local registry, against `skopeo copy` to an OCI layout in the
// same run. Disabled by default (it takes ~20 s): run with
//   test_image --gtest_also_run_disabled_tests --gtest_filter='*PullBench*'
#include "image/pull.hpp"

#include "fixture.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

using namespace lxcri;
using namespace lxcri::image;
using namespace lxcri::image::test;

namespace {
double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}
double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}
} // namespace

TEST(PullBench, DISABLED_HundredMegabytesVsSkopeo) {
    TempDir t;
    Registry reg(t.path + "/registry");
    Built b = make_image(t.path + "/img", "v1", "40960,30720,20480,10240");
    reg.push(b, "bench/img:v1");
    std::string name = reg.host() + "/bench/img:v1";
    std::vector<double> ours, skopeo;
    for (int i = 0; i < 3; i++) {
        std::string store_dir = t.path + "/store" + std::to_string(i);
        Store s = *Store::open(store_dir);
        PullOptions o;
        o.progress = ProgressMode::Quiet;
        auto t0 = std::chrono::steady_clock::now();
        auto r = pull(s, *parse_reference(name), o);
        ours.push_back(seconds_since(t0));
        ASSERT_TRUE(r) << r.error().message();
        ASSERT_EQ(r->blobs_fetched, 5u);
        if (i == 0)
            std::printf("image: %s, %lld bytes\n", name.c_str(), static_cast<long long>(r->record.size));

        auto t1 = std::chrono::steady_clock::now();
        run_ok({"/usr/bin/skopeo", "copy", "--quiet", "--src-tls-verify=false", "docker://" + name,
                "oci:" + t.path + "/skopeo" + std::to_string(i) + ":v1"},
               300);
        skopeo.push_back(seconds_since(t1));
        (void)sys::remove_all(store_dir);
        (void)sys::remove_all(t.path + "/skopeo" + std::to_string(i));
    }
    for (size_t i = 0; i < ours.size(); i++)
        std::printf("run %zu: lxcri %.3fs  skopeo %.3fs\n", i, ours[i], skopeo[i]);
    std::printf("median: lxcri %.3fs  skopeo %.3fs  ratio %.2fx\n", median(ours), median(skopeo),
                median(skopeo) / median(ours));
    EXPECT_LT(median(ours), median(skopeo) * 2);
}
