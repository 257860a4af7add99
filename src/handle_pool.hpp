#ifndef CURLASIO_SRC_HANDLE_POOL_HPP
#define CURLASIO_SRC_HANDLE_POOL_HPP

// Easy handles of finished transfers, reset for the next ones: creating and
// destroying one costs libcurl about as much as a small transfer.
//
// The reuse rule: curl_easy_reset returns a handle to its default options
// but keeps its cookie engine and its share. Only a cookie jar
// (request_options::cookies, which attaches the jar's share) and the
// request's escape hatch (set_option / curl_options) can turn either on, so
// a handle that used either is never pooled, nor is one returned after
// shutdown: a pooled handle would otherwise send one jar's cookies on a
// later request with another jar or none. (Spares kept per jar would save
// the handle's allocation for a session's requests; a transfer costs more.) What the first-class
// options set is all options, which the reset clears: credentials (with
// libcurl's host, proxy and digest authentication state, also reset),
// client certificates and keys, pins, and the SSL_CTX hook with its data
// pointer, so that a pooled handle never calls an old request's hook. (What
// a hook did to a connection lives in the connection cache, not the handle:
// see tls_options::ssl_ctx_hook.)

#include "dns_tls_share.hpp"

#include <curl/curl.h>

#include <cstddef>
#include <memory>
#include <vector>

namespace curlasio::detail {

class handle_pool {
public:
    static constexpr std::size_t capacity = 128;

    handle_pool() { spare_.reserve(capacity); }
    ~handle_pool() { clear(); }
    handle_pool(const handle_pool&) = delete;
    handle_pool& operator=(const handle_pool&) = delete;

    /// A spare handle, or a new one; null when libcurl is out of memory.
    CURL* take() noexcept;
    /// Takes `h` back. `reusable`: no escape-hatch option and no cookie jar was set on it.
    void give_back(CURL* h, bool reusable) noexcept;
    /// Frees every spare handle; later ones are freed at once.
    void clear() noexcept;

    /// An engine pool's DNS and TLS session share, attached to every handle
    /// made from now on (set before the first take()). A spare keeps it
    /// through curl_easy_reset; a cookie jar's share replaces it for that
    /// request, whose handle is then not pooled.
    void use_share(std::shared_ptr<dns_tls_share> share) noexcept { share_ = std::move(share); }

private:
    // Declared first: outlives the handles attached to it (clear() frees them first anyway).
    std::shared_ptr<dns_tls_share> share_;
    std::vector<CURL*> spare_;
    bool closed_ = false;
};

} // namespace curlasio::detail

#endif
