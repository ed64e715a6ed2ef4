// libFuzzer target: a layer (tar, or gzip/zstd by magic) -> unpack_layer_memory into a scratch root, both
// whiteout modes (the last byte's low bit chooses). Nothing may crash, leak or hit UB, and nothing may appear
// outside the root: a sibling directory holding one sentinel file must be unchanged after every input.
#include "image/unpack.hpp"
#include "sys/fs.hpp"

#include "image_fuzz.hpp"

#include <cstdlib>
#include <string>
#include <vector>

namespace {

struct Scratch {
    std::string base, root, outside;
    Scratch() {
        char tmpl[] = "/tmp/lxcri-layer-fuzz.XXXXXX";
        if (!::mkdtemp(tmpl)) std::abort();
        base = tmpl;
        root = base + "/root";
        outside = base + "/outside";
        if (!lxcri::sys::mkdir_p(outside) || !lxcri::sys::write_file_atomic(outside + "/sentinel", "s"))
            std::abort();
        std::atexit([] { (void)lxcri::sys::remove_all(instance().base); });
    }
    static Scratch& instance() {
        static Scratch s;
        return s;
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Scratch& s = Scratch::instance();
    if (!lxcri::sys::remove_all(s.root) || !lxcri::sys::mkdir_p(s.root, 0755)) std::abort();
    auto mode =
        size > 0 && (data[size - 1] & 1) ? lxcri::image::Whiteouts::overlay : lxcri::image::Whiteouts::apply;
    (void)lxcri::image::unpack_layer_memory(lxcri::fuzz::text(data, size), s.root, mode);
    if (lxcri::sys::list_dir(s.outside) != std::vector<std::string>{"sentinel"}) lxcri::fuzz::violated();
    if (lxcri::sys::read_file(s.outside + "/sentinel").value_or("") != "s") lxcri::fuzz::violated();
    return 0;
}
