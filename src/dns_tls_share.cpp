#include "dns_tls_share.hpp"

#include "cookie_lock_window.hpp"

#include <new>

namespace curlasio::detail {

dns_tls_share::dns_tls_share() {
    share_ = curl_share_init();
    if (!share_)
        throw std::bad_alloc();
    if (curl_share_setopt(share_, CURLSHOPT_LOCKFUNC, &dns_tls_share::lock) != CURLSHE_OK ||
        curl_share_setopt(share_, CURLSHOPT_UNLOCKFUNC, &dns_tls_share::unlock) != CURLSHE_OK ||
        curl_share_setopt(share_, CURLSHOPT_USERDATA, static_cast<void*>(this)) != CURLSHE_OK ||
        curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK ||
        curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
        curl_share_cleanup(share_);
        throw std::bad_alloc();
    }
}

dns_tls_share::~dns_tls_share() {
    // Every handle attached to it is gone (see the header): this succeeds.
    curl_share_cleanup(share_);
}

void dns_tls_share::lock(CURL*, curl_lock_data data, curl_lock_access, void* self) noexcept {
    auto* s = static_cast<dns_tls_share*>(self);
    if (data >= 0 && data < CURL_LOCK_DATA_LAST) {
        cookie_lock_window::close(); // never wait while keeping a jar's lock
        s->mutexes_[static_cast<std::size_t>(data)].lock();
        s->locked_[static_cast<std::size_t>(data)].fetch_add(1, std::memory_order_relaxed);
    }
}

void dns_tls_share::unlock(CURL*, curl_lock_data data, void* self) noexcept {
    auto* s = static_cast<dns_tls_share*>(self);
    if (data >= 0 && data < CURL_LOCK_DATA_LAST)
        s->mutexes_[static_cast<std::size_t>(data)].unlock();
}

} // namespace curlasio::detail
