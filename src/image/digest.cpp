#include "image/digest.hpp"

#include "sys/fd.hpp"
#include "sys/fs.hpp"

#include <fcntl.h>
#include <gcrypt.h>

#include <cerrno>
#include <cstdlib>
#include <mutex>

namespace lxcri::image {

Result<Digest> parse_digest(std::string_view s) {
    auto colon = s.find(':');
    if (colon == std::string_view::npos)
        return fail("invalid digest \"" + std::string(s) + "\": missing algorithm");
    std::string_view algo = s.substr(0, colon), hex = s.substr(colon + 1);
    if (algo != "sha256")
        return fail("invalid digest \"" + std::string(s) + "\": unsupported algorithm \"" +
                    std::string(algo) + "\"");
    if (hex.size() != 64) return fail("invalid digest \"" + std::string(s) + "\": want 64 hex characters");
    for (char c : hex)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return fail("invalid digest \"" + std::string(s) + "\": not lowercase hex");
    return Digest{std::string(algo), std::string(hex)};
}

namespace {
// libgcrypt, not libcrypto: libsystemd (which the core binary links) loads libgcrypt already, so hashing
// costs the core binary no library of its own (libcrypto: ~2 ms per exec here). Initialized as libsystemd
// does it: no secure memory (nothing secret is hashed).
void init_gcrypt() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (!gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P)) {
            gcry_check_version(nullptr);
            gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
            gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
        }
    });
}
} // namespace

struct Sha256::Ctx {
    gcry_md_hd_t md = nullptr;
    Ctx() {
        init_gcrypt();
        if (gcry_md_open(&md, GCRY_MD_SHA256, 0) != 0) std::abort(); // only on out of memory
    }
    ~Ctx() { gcry_md_close(md); }
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(const void* data, size_t len) {
    if (!ctx_) ctx_ = std::make_unique<Ctx>();
    gcry_md_write(ctx_->md, data, len);
}

Digest Sha256::finish() {
    if (!ctx_) ctx_ = std::make_unique<Ctx>();
    constexpr unsigned len = 32;
    const unsigned char* out = gcry_md_read(ctx_->md, GCRY_MD_SHA256);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(len * 2);
    for (unsigned i = 0; i < len; i++) {
        hex += kHex[out[i] >> 4];
        hex += kHex[out[i] & 15];
    }
    gcry_md_reset(ctx_->md);
    return Digest{"sha256", std::move(hex)};
}

Digest sha256_of(std::string_view data) {
    Sha256 h;
    h.update(data);
    return h.finish();
}

Result<Digest> sha256_file(const std::string& path) {
    Sha256 h;
    TRY(sys::read_chunks(path, [&](std::string_view chunk) { h.update(chunk.data(), chunk.size()); }));
    return h.finish();
}

} // namespace lxcri::image
