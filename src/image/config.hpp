// What an image config means for a container: the chain IDs naming its layer stack, and its User resolved
// against the image's own /etc/passwd and /etc/group.
#pragma once
#include "base/result.hpp"
#include "image/digest.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lxcri::image {

// ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)) (OCI image-spec).
std::vector<Digest> chain_ids(const std::vector<Digest>& diff_ids);

struct ResolvedUser {
    uint32_t uid = 0, gid = 0;
    std::vector<uint32_t> additional_gids; // groups listing the user by name in /etc/group
    std::string home;                      // from /etc/passwd, empty if the user has no entry
};

// "" (root), "uid", "uid:gid", "name", "name:group", "uid:group", "name:gid". Names are looked up in the
// rootfs's etc/passwd and etc/group, opened with RESOLVE_IN_ROOT (an image's symlink cannot make us read a
// host file). An unknown name is an error; an unknown numeric uid is fine (gid 0 unless given).
Result<ResolvedUser> resolve_user(std::string_view user, const std::string& rootfs);

} // namespace lxcri::image
