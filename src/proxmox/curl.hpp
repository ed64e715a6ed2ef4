// libcurl (and the OpenSSL it uses) loaded with dlopen() on the first API call: the core binary must not
// load libcurl's ~40 shared objects at start-up (CMakeLists.txt: `run` speed), so only the proxmox backend
// pays for it. The types come from the headers; no symbol of libcurl or libssl is linked.
#pragma once
#include "base/result.hpp"

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace lxcri::proxmox::dl {

struct Curl {
    decltype(&::curl_global_init) global_init;
    decltype(&::curl_easy_init) easy_init;
    decltype(&::curl_easy_setopt) easy_setopt;
    decltype(&::curl_easy_perform) easy_perform;
    decltype(&::curl_easy_getinfo) easy_getinfo;
    decltype(&::curl_easy_reset) easy_reset;
    decltype(&::curl_easy_cleanup) easy_cleanup;
    decltype(&::curl_easy_strerror) easy_strerror;
    decltype(&::curl_slist_append) slist_append;
    decltype(&::curl_slist_free_all) slist_free_all;
    decltype(&::curl_mime_init) mime_init;
    decltype(&::curl_mime_addpart) mime_addpart;
    decltype(&::curl_mime_name) mime_name;
    decltype(&::curl_mime_data) mime_data;
    decltype(&::curl_mime_filedata) mime_filedata;
    decltype(&::curl_mime_filename) mime_filename;
    decltype(&::curl_mime_free) mime_free;
    // OpenSSL, for the fingerprint pin (libcurl's OpenSSL backend hands its SSL_CTX to a callback).
    decltype(&::SSL_CTX_set_cert_verify_callback) ssl_ctx_set_cert_verify_callback;
    decltype(&::X509_STORE_CTX_get0_cert) x509_store_ctx_get0_cert;
    decltype(&::X509_digest) x509_digest;
    decltype(&::EVP_sha256) evp_sha256;
};

// The loaded library (once per process), or why it cannot be loaded.
Result<const Curl*> curl();

} // namespace lxcri::proxmox::dl
