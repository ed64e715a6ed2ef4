// libFuzzer target: a PVE API answer -> the proxmox client's parsers. Byte 0 picks the HTTP status class
// (2xx, 4xx, 5xx), the rest is the body: the envelope or error parse must not crash, an error message must
// be one printable line, and the data goes through every parser of a data shape (task status and log,
// status/current, cluster/resources, nextid, UPID).
#include "proxmox/parse.hpp"

#include "image_fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace lxcri::proxmox;
    if (size < 1) return 0;
    static const long statuses[] = {200, 400, 401, 403, 500, 596};
    HttpResponse r{statuses[data[0] % 6], "Reason", std::string(lxcri::fuzz::text(data + 1, size - 1))};
    auto d = parse_response("GET", "/x", r);
    if (!d) {
        for (char c : d.error().message())
            if (static_cast<unsigned char>(c) < 0x20) lxcri::fuzz::violated();
        // The reason phrase path too.
        HttpResponse e{r.status == 200 ? 500 : r.status, std::string(lxcri::fuzz::text(data + 1, size - 1)),
                       ""};
        auto m = parse_response("POST", "/y", e);
        if (m) lxcri::fuzz::violated();
        for (char c : m.error().message())
            if (static_cast<unsigned char>(c) < 0x20) lxcri::fuzz::violated();
        return 0;
    }
    (void)parse_task_status(*d);
    (void)parse_task_log(*d);
    (void)parse_ct_status(*d);
    (void)parse_resources(*d);
    (void)parse_vmid(*d);
    if (auto u = task_of(*d)) {
        auto back = parse_upid(u->raw);
        if (!back || back->node != u->node || back->type != u->type) lxcri::fuzz::violated();
    }
    return 0;
}
