#include "backend/proxmox/template.hpp"

#include "sys/fs.hpp"
#include "sys/log.hpp"
#include "sys/proc.hpp"

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

namespace lxcri::backend::proxmox {

namespace {

struct Hasher {
    uint64_t h = 1469598103934665603ULL;
    uint64_t h2 = 0x9e3779b97f4a7c15ULL;
    size_t root_len = 0;
    void add(std::string_view s) {
        for (unsigned char c : s) {
            h = (h ^ c) * 1099511628211ULL;
            h2 = (h2 ^ c) * 0x100000001b3ULL + 0x7f4a7c15;
        }
        h = (h ^ 0xff) * 1099511628211ULL;
    }
};
thread_local Hasher* g_hasher = nullptr;

int visit(const char* path, const struct stat* st, int, struct FTW*) {
    Hasher& x = *g_hasher;
    std::string_view rel(path);
    rel.remove_prefix(std::min(rel.size(), x.root_len));
    x.add(rel);
    char b[160];
    std::snprintf(b, sizeof b, "%o %u %u %lld %lld.%ld", st->st_mode, st->st_uid, st->st_gid,
                  static_cast<long long>(st->st_size), static_cast<long long>(st->st_mtim.tv_sec),
                  st->st_mtim.tv_nsec);
    x.add(b);
    if (S_ISLNK(st->st_mode)) {
        char t[4096];
        ssize_t n = ::readlink(path, t, sizeof t);
        if (n > 0) x.add(std::string_view(t, static_cast<size_t>(n)));
    }
    return 0;
}

std::string hex_of(std::string_view s) {
    Hasher x;
    x.add(s);
    char out[20];
    std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(x.h));
    return out;
}

std::string cache_file(const std::string& root, const std::string& key) {
    return root + "/@proxmox-templates/" + key;
}

} // namespace

Result<std::string> content_key(const std::string& rootfs, const std::string& init) {
    Hasher x;
    x.root_len = rootfs.size();
    g_hasher = &x;
    int rc = ::nftw(rootfs.c_str(), visit, 64, FTW_PHYS);
    g_hasher = nullptr;
    if (rc != 0) return fail_errno("walk the rootfs " + rootfs);
    struct stat st {};
    if (::stat(init.c_str(), &st) != 0) return fail_errno("stat " + init);
    char b[96];
    std::snprintf(b, sizeof b, "init %lld %lld.%ld", static_cast<long long>(st.st_size),
                  static_cast<long long>(st.st_mtim.tv_sec), st.st_mtim.tv_nsec);
    x.add(b);
    char out[40];
    std::snprintf(out, sizeof out, "%016llx%016llx", static_cast<unsigned long long>(x.h),
                  static_cast<unsigned long long>(x.h2));
    return std::string(out, 24);
}

Result<std::string> ensure_template(lxcri::proxmox::Client& api, const std::string& rootfs,
                                    const std::string& init, const std::string& root,
                                    lxcri::proxmox::Deadline d,
                                    const std::function<Status(const std::string&)>& before_upload) {
    const auto& cfg = api.config();
    std::string key = TRY_CTX(content_key(rootfs, init), "template of " + rootfs);
    // The cache is per PVE cluster and storage: the key covers them too.
    std::string ckey =
        key + "-" +
        hex_of(cfg.hosts[0] + ":" + std::to_string(cfg.port) + "/" + cfg.node + "/" + cfg.template_storage);
    std::string name = "lxcri-" + key + ".tar";
    std::string volid = cfg.template_storage + ":vztmpl/" + name;
    std::string cache = cache_file(root, ckey);
    if (auto v = sys::read_file(cache); v && *v == volid) {
        log::debug("template " + volid + " cached");
        return volid;
    }
    TRY(before_upload(volid));
    // The archive: the rootfs, and the init at /.lxcri/init.
    std::string work = root + "/@proxmox-templates/.work-" + std::to_string(::getpid());
    TRY(sys::mkdir_p(work + "/stage/.lxcri", 0755));
    auto cleanup = [&] { (void)sys::remove_all(work); };
    auto copy = sys::run({"cp", init, work + "/stage/.lxcri/init"}, {}, "", std::chrono::seconds(30));
    if (!copy || copy->status != 0) {
        cleanup();
        return fail("copy the init into the template: " + (copy ? copy->err : copy.error().message()));
    }
    std::string tar = work + "/" + name;
    auto t =
        sys::run({"tar", "--numeric-owner", "-cf", tar, "-C", rootfs, ".", "-C", work + "/stage", "./.lxcri"},
                 {}, "", std::chrono::seconds(120));
    if (!t || t->status != 0) {
        cleanup();
        return fail("make the template " + name + ": " + (t ? t->err : t.error().message()));
    }
    auto up = api.upload(cfg.template_storage, "vztmpl", name, tar, d);
    Status done = ok();
    if (!up)
        done = std::unexpected(std::move(up).error());
    else if (auto task = lxcri::proxmox::task_of(*up); !task)
        done = std::unexpected(task.error());
    else
        done = api.wait(*task, d);
    cleanup();
    if (!done) return std::unexpected(std::move(done).error().context("upload template " + volid));
    (void)sys::write_file_atomic(cache, volid, 0644);
    return volid;
}

void forget_template(const std::string& volid, const std::string& root) {
    std::string dir = root + "/@proxmox-templates";
    for (auto& f : sys::list_dir(dir))
        if (auto v = sys::read_file(dir + "/" + f); v && *v == volid) ::unlink((dir + "/" + f).c_str());
}

} // namespace lxcri::backend::proxmox
