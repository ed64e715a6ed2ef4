// libFuzzer target: config.json text -> lxcri::spec::parse -> lxcri::plan::make_plan.
// Neither may crash, leak, hit undefined behaviour or let an exception escape, whatever the input.
#include "plan/plan.hpp"
#include "spec/spec.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto spec = lxcri::spec::parse(text);
    if (!spec) return 0;
    for (bool strict : {false, true}) {
        lxcri::plan::Options opts{.id = "fuzz", .bundle = "/fuzz/bundle", .strict = strict};
        auto plan = lxcri::plan::make_plan(*spec, opts);
        if (plan) {
            // The init config must survive its own JSON round trip.
            auto cfg = lxcri::plan::make_init_config(*plan);
            auto back = lxcri::plan::init_config_from_json(lxcri::plan::init_config_to_json(cfg));
            if (!back) __builtin_trap();
        }
    }
    return 0;
}
