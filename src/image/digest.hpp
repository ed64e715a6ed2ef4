// Content digests ("sha256:<64 hex>") and streaming SHA-256 (libgcrypt).
#pragma once
#include "base/result.hpp"

#include <compare>
#include <memory>
#include <string>
#include <string_view>

namespace lxcri::image {

struct Digest {
    std::string algorithm; // only "sha256" is accepted
    std::string hex;       // lowercase, 64 characters

    bool empty() const { return hex.empty(); }
    std::string str() const { return empty() ? std::string() : algorithm + ":" + hex; }
    std::string short_hex() const { return hex.substr(0, 12); }
    auto operator<=>(const Digest&) const = default;
};

// "sha256:<64 lowercase hex>"; anything else is an error naming the input.
Result<Digest> parse_digest(std::string_view s);

// Incremental SHA-256.
class Sha256 {
  public:
    Sha256();
    ~Sha256();
    Sha256(Sha256&&) noexcept;
    Sha256& operator=(Sha256&&) noexcept;
    void update(const void* data, size_t len);
    void update(std::string_view s) { update(s.data(), s.size()); }
    // Digest of everything fed so far; the hasher is reset afterwards.
    Digest finish();

  private:
    struct Ctx;
    std::unique_ptr<Ctx> ctx_;
};

Digest sha256_of(std::string_view data);
// Hashes a whole file.
Result<Digest> sha256_file(const std::string& path);

} // namespace lxcri::image
