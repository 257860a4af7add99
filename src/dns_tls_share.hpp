#ifndef CURLASIO_SRC_DNS_TLS_SHARE_HPP
#define CURLASIO_SRC_DNS_TLS_SHARE_HPP

// The CURLSH an engine pool's engines share: libcurl's DNS cache and its TLS
// session cache, never the connection cache (sharing it would rebuild the one
// long list of connections the pool exists to split). Each engine's handle
// pool attaches it to every easy handle it makes (see handle_pool.hpp).
//
// Thread safety: libcurl takes the lock of the data it touches around every
// access, from whichever engine's thread runs the transfer; there is one
// mutex per curl_lock_data, so a DNS lookup never waits on a TLS session.
// Lifetime: it must outlive every easy handle attached to it (each engine
// holds it through a std::shared_ptr until its handles are freed).
// TLS sessions: the share keeps 8 (libcurl 7.88's fixed size); a handle
// attached to it looks at all 8, and after curl_easy_reset (a pooled spare)
// at the first 5, libcurl's default count, which the reset restores. Enough
// for a few TLS origins; more only cost full handshakes.

#include <curl/curl.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>

namespace curlasio::detail {

class dns_tls_share {
public:
    /// Throws std::bad_alloc when libcurl cannot make the share.
    dns_tls_share();
    ~dns_tls_share();
    dns_tls_share(const dns_tls_share&) = delete;
    dns_tls_share& operator=(const dns_tls_share&) = delete;

    CURLSH* native_handle() const noexcept { return share_; }

    /// Times libcurl locked `data` (for tests: proof that the share is used).
    std::uint64_t locks(curl_lock_data data) const noexcept {
        return data >= 0 && data < CURL_LOCK_DATA_LAST
                   ? locked_[static_cast<std::size_t>(data)].load(std::memory_order_relaxed)
                   : 0;
    }

private:
    static void lock(CURL*, curl_lock_data data, curl_lock_access, void* self) noexcept;
    static void unlock(CURL*, curl_lock_data data, void* self) noexcept;

    std::array<std::mutex, CURL_LOCK_DATA_LAST> mutexes_;
    std::array<std::atomic<std::uint64_t>, CURL_LOCK_DATA_LAST> locked_{};
    CURLSH* share_ = nullptr;
};

} // namespace curlasio::detail

#endif
