#ifndef CURLASIO_REQUEST_OPTIONS_HPP
#define CURLASIO_REQUEST_OPTIONS_HPP

// curlasio::request_options: how a transfer is made, apart from what it
// sends. A value type of nested aggregates, so that designated initializers
// work and a request, a Beast fetch, a stream or a session default can all
// carry the same thing:
//
//   req.options = {.timeout = 5s, .redirects = {.follow = true}, .tls = {.ca_file = "ca.pem"}};
//   req.options.limits.max_response_size = 1 << 20;
//
// Zero durations and sizes mean "no limit" unless said otherwise.

#include <curl/curl.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace curlasio {

/// Which HTTP version to ask libcurl for.
enum class http_version {
    any,                 ///< libcurl's default: HTTP/2 over TLS when ALPN agrees, else 1.1
    http1_0,
    http1_1,
    http2,               ///< try HTTP/2 (upgrade on cleartext, ALPN on TLS)
    http2_tls,           ///< HTTP/2 over TLS only, HTTP/1.1 on cleartext
    /// HTTP/2 without negotiation: h2c on cleartext, ALPN over TLS. With
    /// libcurl before 8.0.0 (Debian 12 has 7.88.1), a reused h2c connection
    /// fails every request after its first with CURLE_HTTP2 (curl #10634), so
    /// each http:// request of this version gets a connection of its own,
    /// closed after it (CURLOPT_FRESH_CONNECT, CURLOPT_FORBID_REUSE): it
    /// works, at the price of a TCP handshake each and no multiplexing.
    /// Over https:// connections are reused and multiplexed as usual; prefer
    /// http2_tls there.
    http2_prior_knowledge,
};

/// Redirects (3xx with a Location header).
struct redirect_options {
    /// Follow them.
    bool follow = false;
    /// Bound on followed redirects; exceeding it is CURLE_TOO_MANY_REDIRECTS.
    /// (libcurl's own default is unlimited.) Only http and https are followed,
    /// and credentials (user:password, a custom Authorization or Cookie
    /// header) are not sent to a different host, port or scheme.
    long max = 10;
};

/// Verification of the server's certificate.
struct tls_options {
    /// Verify the server's certificate chain (CURLOPT_SSL_VERIFYPEER). Turning
    /// it off accepts any server: an attacker on the path included.
    bool verify_peer = true;
    /// Verify that the certificate matches the host name (CURLOPT_SSL_VERIFYHOST).
    bool verify_host = true;
    /// PEM bundle of trusted CAs; empty means the system store.
    std::string ca_file;
};

/// Bounds on what a response may take.
struct limit_options {
    /// Largest body accepted; 0 means unlimited. Enforced on bytes actually
    /// received (also for chunked bodies), as errc::response_too_large. Any
    /// value (SIZE_MAX included) is valid: one above curl_off_t's maximum is
    /// not passed on to libcurl's CURLOPT_MAXFILESIZE_LARGE, only counted here.
    std::size_t max_response_size = 0;
    /// Largest response head (status line and header fields, counted per
    /// response, so per redirect hop) accepted; 0 means unlimited. Bounds the
    /// memory an endless stream of header lines can take, as
    /// errc::headers_too_large.
    ///
    /// libcurl 7.88 has limits of its own that apply whatever this says, and
    /// also end in errc::headers_too_large (response::error_message names
    /// the limit): one header line, its CRLF included, of at most 102399
    /// bytes (CURL_MAX_HTTP_HEADER, 100 KiB, less the NUL its buffer keeps),
    /// and at most 307200 bytes (300 KiB) of heads per transfer, all of them
    /// added up: 1xx, followed redirects and a proxy's CONNECT answer
    /// included. A value above 300 KiB therefore changes nothing.
    std::size_t max_header_size = 256 * 1024;
    /// Abort when fewer than low_speed_limit bytes/s flow for low_speed_time
    /// (CURLE_OPERATION_TIMEDOUT): the guard against servers that trickle.
    long low_speed_limit = 0;
    std::chrono::seconds low_speed_time{0};
};

/// Which connection carries the transfer, and how it reads.
struct connection_options {
    /// A connection older than this is not reused for a new transfer
    /// (CURLOPT_MAXLIFETIME_CONN); 0 means no limit. Bounds how long a
    /// connection to a moved or rotated server (DNS change, certificate
    /// renewal) can live.
    std::chrono::seconds max_lifetime{300};
    /// Wait for a connection that may carry this transfer as another HTTP/2
    /// stream rather than open a new one while that connection is still being
    /// set up (CURLOPT_PIPEWAIT). Many requests started at once to one HTTP/2
    /// server then share one connection instead of racing to open one each.
    bool wait_for_multiplex = false;
    /// Size of libcurl's receive buffer in bytes (CURLOPT_BUFFERSIZE), which
    /// bounds the size of each chunk handed to on_body; 0 keeps libcurl's
    /// 16 KiB; libcurl keeps it within 1 KiB and 512 KiB. Larger buffers
    /// mean fewer callbacks on big downloads.
    std::size_t buffer_size = 0;
};

struct request_options {
    /// Sets one libcurl option on the handle; returns what curl_easy_setopt returned.
    using curl_setter = std::function<CURLcode(CURL*)>;

    /// Deadline for the whole transfer.
    std::chrono::milliseconds timeout{0};
    /// Deadline for resolve + connect + TLS handshake.
    std::chrono::milliseconds connect_timeout{std::chrono::seconds(30)};
    redirect_options redirects;
    tls_options tls;
    limit_options limits;
    connection_options connection;
    http_version version = http_version::any;
    /// Advertise every encoding libcurl supports and decode the body.
    bool decompress = true;
    /// request::on_progress runs at most once per this interval (and once
    /// more with the final counts); 0: whenever libcurl reports a change.
    std::chrono::milliseconds progress_interval{100};
    /// Empty: no User-Agent header.
    std::string user_agent = "curlasio/0.1";
    /// Proxy URL. std::nullopt: no proxy at all, and the http_proxy/https_proxy
    /// environment variables are ignored. Set to "" to let libcurl read them.
    std::optional<std::string> proxy;
    /// The escape hatch: setters applied after every option above, in order
    /// (request::set_option adds to it). A failing setter fails the fetch
    /// with its CURLcode. A request that uses it does not reuse an easy
    /// handle afterwards (it may have turned on state a reset keeps).
    std::vector<curl_setter> curl_options;
};

} // namespace curlasio

#endif
