#ifndef CURLASIO_REQUEST_HPP
#define CURLASIO_REQUEST_HPP

// curlasio::request: a value type describing one HTTP transfer. Copyable,
// movable, independent of any engine; async_fetch copies what it needs.

#include <curl/curl.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace curlasio {

/// Progress of one transfer, in bytes; a total is 0 while unknown.
struct transfer_progress {
    std::uint64_t download_total = 0;
    std::uint64_t downloaded = 0;
    std::uint64_t upload_total = 0;
    std::uint64_t uploaded = 0;
};

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

class request {
public:
    using clock_duration = std::chrono::milliseconds;
    using header = std::pair<std::string, std::string>;
    /// Sets one libcurl option on the handle; returns what curl_easy_setopt returned.
    using curl_setter = std::function<CURLcode(CURL*)>;

    request() = default;
    explicit request(std::string url, std::string method = "GET")
        : method(std::move(method)), url(std::move(url)) {}

    // ---- what is sent -------------------------------------------------------
    // libcurl 7.88 builds the request head in one buffer of 1 MiB (less a
    // NUL), which over HTTP/1 also takes a body under 64 KiB. A request whose
    // method, URL, headers, user agent and such a body, with 512 bytes kept
    // for the fields libcurl adds itself, do not fit is refused before
    // anything is sent, as errc::request_too_large. What set_option adds
    // (CURLOPT_COOKIE, CURLOPT_HTTPHEADER, ...) counts against the same
    // buffer but cannot be checked: past it, libcurl fails the fetch as
    // CURLE_OUT_OF_MEMORY. Over HTTP/2, nghttp2 sends no header block over
    // 64 KiB (after HPACK): such a request fails as CURLE_RECV_ERROR.
    std::string method = "GET";
    std::string url;
    /// Sent in this order; repeats allowed. A value-less name ("Accept", "")
    /// sends an empty header.
    std::vector<header> headers;
    /// Sent as the request body when non-empty, or when the method is one that
    /// carries a body (POST, PUT, PATCH).
    std::string body;

    // ---- limits and behaviour (zero durations mean "no limit") -------------
    /// Deadline for the whole transfer.
    clock_duration timeout{0};
    /// Deadline for resolve + connect + TLS handshake.
    clock_duration connect_timeout{std::chrono::seconds(30)};
    /// Follow 3xx responses with a Location header.
    bool follow_redirects = false;
    /// Bound on followed redirects; exceeding it is CURLE_TOO_MANY_REDIRECTS.
    /// (libcurl's own default is unlimited.) Only http and https are followed,
    /// and credentials (user:password, a custom Authorization or Cookie
    /// header) are not sent to a different host, port or scheme.
    long max_redirects = 10;
    /// Verify the server's certificate chain (CURLOPT_SSL_VERIFYPEER). Turning
    /// it off accepts any server: an attacker on the path included.
    bool verify_peer = true;
    /// Verify that the certificate matches the host name (CURLOPT_SSL_VERIFYHOST).
    bool verify_host = true;
    /// PEM bundle of trusted CAs; empty means the system store.
    std::string ca_file;
    http_version version = http_version::any;
    /// Advertise every encoding libcurl supports and decode the body.
    bool decompress = true;
    /// Empty: no User-Agent header.
    std::string user_agent = "curlasio/0.1";
    /// Proxy URL. std::nullopt: no proxy at all, and the http_proxy/https_proxy
    /// environment variables are ignored. Set to "" to let libcurl read them.
    std::optional<std::string> proxy;
    /// Abort when fewer than low_speed_limit bytes/s flow for low_speed_time.
    long low_speed_limit = 0;
    std::chrono::seconds low_speed_time{0};
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
    /// A connection older than this is not reused for a new transfer
    /// (CURLOPT_MAXLIFETIME_CONN); 0 means no limit. Bounds how long a
    /// connection to a moved or rotated server (DNS change, certificate
    /// renewal) can live.
    std::chrono::seconds max_connection_lifetime{300};
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

    // ---- callbacks ------------------------------------------------------------
    // Both run on the engine's executor, inside libcurl: they must not block.
    // They may start or cancel fetches (both only post). If one throws, the
    // transfer is aborted with errc::callback_threw and the exception is in
    // response::callback_exception; nothing unwinds through libcurl.

    /// When set, body bytes are handed to it as they arrive (after decoding)
    /// instead of being stored in response::body. max_response_size still applies.
    std::function<void(std::string_view chunk)> on_body;
    /// When set, called as bytes move (CURLOPT_XFERINFOFUNCTION; at least
    /// about once a second while the transfer runs).
    std::function<void(const transfer_progress&)> on_progress;

    // ---- escape hatch ---------------------------------------------------------
    /// Applied after every option above, in order. A failing setter fails the
    /// fetch with its CURLcode.
    std::vector<curl_setter> curl_options;

    /// Adds a header (kept in insertion order, repeats allowed).
    request& add_header(std::string name, std::string value) {
        headers.emplace_back(std::move(name), std::move(value));
        return *this;
    }

    /// Sets any libcurl option on the handle: integral values are passed as
    /// long (or curl_off_t for *_LARGE options when given a curl_off_t); strings
    /// are kept in the setter, which lives as long as the transfer (so even
    /// CURLOPT_POSTFIELDS, which libcurl does not copy, is safe). Other
    /// pointers are passed as they are: keep their targets alive until the
    /// fetch completes.
    ///
    /// Options set here are outside curlasio's defaults. In particular
    /// libcurl sends CURLOPT_COOKIE with every request of the transfer,
    /// also to another host a redirect leads to (libcurl has no option to
    /// keep it to the first one): for a cookie that is a credential use
    /// add_header("Cookie", ...), which goes only to the first host, port
    /// and scheme.
    template <typename T>
    request& set_option(CURLoption option, T value) {
        if constexpr (std::is_convertible_v<T, std::string_view> &&
                      !std::is_same_v<std::decay_t<T>, std::nullptr_t>) {
            curl_options.emplace_back(
                [option, s = std::string(std::string_view(value))](CURL* h) {
                    return curl_easy_setopt(h, option, s.c_str());
                });
        } else if constexpr (std::is_same_v<T, curl_off_t>) {
            curl_options.emplace_back(
                [option, value](CURL* h) { return curl_easy_setopt(h, option, value); });
        } else if constexpr (std::is_integral_v<T> || std::is_enum_v<T>) {
            curl_options.emplace_back([option, v = static_cast<long>(value)](CURL* h) {
                return curl_easy_setopt(h, option, v);
            });
        } else {
            curl_options.emplace_back(
                [option, value](CURL* h) { return curl_easy_setopt(h, option, value); });
        }
        return *this;
    }

    /// True when why_malformed() is empty.
    bool is_well_formed() const noexcept;
    /// Why async_fetch would refuse this request with errc::invalid_request
    /// before sending anything ("the method holds a space", "a header name
    /// holds ':'"), or empty when it would not. Refused: CR, LF or NUL in the
    /// method, URL, user agent or a header name or value; an empty method or
    /// one holding a space; an empty header name or one holding ':'. The
    /// error's message() and response::error_message say the same.
    std::string_view why_malformed() const noexcept;
};

} // namespace curlasio

#endif
