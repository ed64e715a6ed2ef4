#include "image/digest.hpp"

#include "sys/fd.hpp"
#include "sys/fs.hpp"

#include <fcntl.h>
#include <openssl/evp.h>

#include <cerrno>

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

struct Sha256::Ctx {
    EVP_MD_CTX* md = nullptr;
    Ctx() : md(EVP_MD_CTX_new()) { EVP_DigestInit_ex(md, EVP_sha256(), nullptr); }
    ~Ctx() { EVP_MD_CTX_free(md); }
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(const void* data, size_t len) {
    if (!ctx_) ctx_ = std::make_unique<Ctx>();
    EVP_DigestUpdate(ctx_->md, data, len);
}

Digest Sha256::finish() {
    if (!ctx_) ctx_ = std::make_unique<Ctx>();
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx_->md, out, &len);
    EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(len * 2);
    for (unsigned i = 0; i < len; i++) {
        hex += kHex[out[i] >> 4];
        hex += kHex[out[i] & 15];
    }
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
