#include "proxmox/curl.hpp"

#include <dlfcn.h>

#include <mutex>

namespace lxcri::proxmox::dl {

namespace {

template <class F> bool sym(void* lib, const char* name, F& out) {
    out = reinterpret_cast<F>(::dlsym(lib, name));
    return out != nullptr;
}

Result<Curl> load() {
    auto err = [](const std::string& what) {
        const char* e = ::dlerror();
        return fail(ErrorKind::System, what + (e ? std::string(": ") + e : std::string()));
    };
    // RTLD_LOCAL: nothing of libcurl's becomes visible to the rest of the process.
    void* c = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!c) return err("load libcurl.so.4 (Debian: apt-get install libcurl4)");
    void* ssl = ::dlopen("libssl.so.3", RTLD_NOW | RTLD_LOCAL);
    if (!ssl) return err("load libssl.so.3");
    void* crypto = ::dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
    if (!crypto) return err("load libcrypto.so.3");
    Curl l{};
    bool okc = sym(c, "curl_global_init", l.global_init) && sym(c, "curl_easy_init", l.easy_init) &&
               sym(c, "curl_easy_setopt", l.easy_setopt) && sym(c, "curl_easy_perform", l.easy_perform) &&
               sym(c, "curl_easy_getinfo", l.easy_getinfo) && sym(c, "curl_easy_reset", l.easy_reset) &&
               sym(c, "curl_easy_cleanup", l.easy_cleanup) && sym(c, "curl_easy_strerror", l.easy_strerror) &&
               sym(c, "curl_slist_append", l.slist_append) &&
               sym(c, "curl_slist_free_all", l.slist_free_all) && sym(c, "curl_mime_init", l.mime_init) &&
               sym(c, "curl_mime_addpart", l.mime_addpart) && sym(c, "curl_mime_name", l.mime_name) &&
               sym(c, "curl_mime_data", l.mime_data) && sym(c, "curl_mime_filedata", l.mime_filedata) &&
               sym(c, "curl_mime_filename", l.mime_filename) && sym(c, "curl_mime_free", l.mime_free);
    if (!okc) return err("libcurl.so.4 lacks a symbol");
    bool oks = sym(ssl, "SSL_CTX_set_cert_verify_callback", l.ssl_ctx_set_cert_verify_callback) &&
               sym(crypto, "X509_STORE_CTX_get0_cert", l.x509_store_ctx_get0_cert) &&
               sym(crypto, "X509_digest", l.x509_digest) && sym(crypto, "EVP_sha256", l.evp_sha256);
    if (!oks) return err("libssl.so.3/libcrypto.so.3 lack a symbol");
    if (l.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return fail(ErrorKind::System, "curl_global_init failed");
    return l;
}

} // namespace

Result<const Curl*> curl() {
    static std::once_flag once;
    static Result<Curl> loaded = fail("not loaded");
    std::call_once(once, [] { loaded = load(); });
    if (!loaded) return std::unexpected(loaded.error());
    return &*loaded;
}

} // namespace lxcri::proxmox::dl
