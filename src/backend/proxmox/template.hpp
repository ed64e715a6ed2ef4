// The CT's rootfs as a PVE template: a tar of the bundle's rootfs plus the init at /.lxcri/init, uploaded to
// template_storage once per content key (a hash of the rootfs's names, modes, owners, sizes, mtimes and link
// targets, and of the init binary), so a second create of the same rootfs uploads nothing. The key's volid
// is remembered in <root>/@proxmox-templates/<key> (a name no container id can have).
#pragma once
#include "base/result.hpp"
#include "proxmox/client.hpp"

#include <functional>
#include <string>

namespace lxcri::backend::proxmox {

// The template's volid ("<storage>:vztmpl/lxcri-<key>.tar"), uploading it when not cached. before_upload gets
// the volid before anything is uploaded (the record names it first).
Result<std::string> ensure_template(lxcri::proxmox::Client& api, const std::string& rootfs,
                                    const std::string& init, const std::string& root,
                                    lxcri::proxmox::Deadline d,
                                    const std::function<Status(const std::string&)>& before_upload);
// Drops the volid from the cache (its upload is being undone).
void forget_template(const std::string& volid, const std::string& root);
// The content key of a rootfs (exposed for tests).
Result<std::string> content_key(const std::string& rootfs, const std::string& init);

} // namespace lxcri::backend::proxmox
