#ifndef CURLASIO_REQUEST_OPTIONS_HPP
#define CURLASIO_REQUEST_OPTIONS_HPP

/// @file
/// curlasio::request_options and its groups: how a transfer is made.

// curlasio::request_options: how a transfer is made, apart from what it
// sends. A value type of nested aggregates, so that designated initializers
// work and a request, a Beast fetch, a stream or a session default can all
// carry the same thing:
//
//   req.options = {.timeout = 5s, .redirects = {.follow = true}, .tls = {.ca_file = "ca.pem"}};
//   req.options.limits.max_response_size = 1 << 20;
//
// Zero durations and sizes mean "no limit" unless said otherwise. Every
// member has a default member initializer, so that naming only some of them
// draws no -Wmissing-field-initializers.

#include <curlasio/error.hpp>
#include <curlasio/retry_options.hpp>

#include <curl/curl.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

// OpenSSL's SSL_CTX (`typedef struct ssl_ctx_st SSL_CTX`), declared so that
// this header needs no OpenSSL header.
struct ssl_ctx_st;

namespace curlasio {

class cookie_jar; // <curlasio/cookie_jar.hpp>

/// Which HTTP version to ask libcurl for.
enum class http_version {
    any, ///< libcurl's default: HTTP/2 over TLS when ALPN agrees, else 1.1
    http1_0,
    http1_1,
    http2,     ///< try HTTP/2 (upgrade on cleartext, ALPN on TLS)
    http2_tls, ///< HTTP/2 over TLS only, HTTP/1.1 on cleartext
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

/// Lowest TLS version a connection may use (CURLOPT_SSLVERSION).
enum class tls_version {
    /// libcurl's default, within what OpenSSL's configuration allows: on
    /// Debian 12, TLS 1.2 or later.
    system_default,
    tls1_2, ///< CURL_SSLVERSION_TLSv1_2
    tls1_3, ///< CURL_SSLVERSION_TLSv1_3: a server that offers only 1.2 is refused
};

/// TLS: verification of the server, what the client presents, and what the
/// handshake may negotiate. Every field but ssl_ctx_hook applies to the
/// origin's TLS (to an https:// URL), through a proxy's tunnel too, and none
/// to an https:// proxy's own.
/// Failures: a certificate refused is CURLE_PEER_FAILED_VERIFICATION (60), a
/// pin that does not match CURLE_SSL_PINNEDPUBKEYNOTMATCH (90), a client
/// certificate or key that cannot be loaded CURLE_SSL_CERTPROBLEM (58), a
/// handshake that finds nothing in common CURLE_SSL_CONNECT_ERROR (35).
///
/// libcurl reuses a connection or a TLS session only for a request with
/// the same CA file and directory, client certificate, pin, version and
/// cipher lists (it does not compare the client key, its password, or the
/// ssl_ctx_hook: see there).
struct tls_options {
    /// Verify the server's certificate chain (CURLOPT_SSL_VERIFYPEER). Turning
    /// it off accepts any server: an attacker on the path included.
    bool verify_peer = true;
    /// Verify that the certificate matches the host name (CURLOPT_SSL_VERIFYHOST).
    bool verify_host = true;
    /// PEM bundle of trusted CAs (CURLOPT_CAINFO); empty means the system
    /// bundle.
    std::string ca_file{};
    /// Directory of trusted CA certificates in OpenSSL's hashed layout
    /// (`<subject hash>.0`, as `openssl rehash` makes it; CURLOPT_CAPATH),
    /// searched besides ca_file (or the system bundle); empty: libcurl's
    /// default directory, if it was built with one (Debian's: /etc/ssl/certs).
    std::string ca_dir{};

    /// The client certificate, PEM (CURLOPT_SSLCERT), presented when the
    /// server asks for one; empty: none. It may hold the chain after the leaf.
    std::string client_cert_file{};
    /// Its private key, PEM (CURLOPT_SSLKEY); empty: the key is in
    /// client_cert_file.
    std::string client_key_file{};
    /// Passphrase of an encrypted key (CURLOPT_KEYPASSWD); empty: none.
    std::string client_key_password{};

    /// Public key pinning (CURLOPT_PINNEDPUBLICKEY): "sha256//<base64 of the
    /// SHA-256 of the server certificate's SubjectPublicKeyInfo>", several
    /// joined by ';', or the path of a PEM or DER public key file. Checked
    /// on the leaf certificate, in addition to (not instead of) verify_peer;
    /// a mismatch is CURLE_SSL_PINNEDPUBKEYNOTMATCH. Empty: no pin.
    std::string pinned_public_key{};
    /// Lowest TLS version accepted (CURLOPT_SSLVERSION).
    tls_version min_version = tls_version::system_default;
    /// Cipher suites for TLS 1.2, in OpenSSL's cipher list format
    /// ("ECDHE-ECDSA-AES128-GCM-SHA256:..."; CURLOPT_SSL_CIPHER_LIST);
    /// empty: OpenSSL's default.
    std::string ciphers{};
    /// Cipher suites for TLS 1.3 ("TLS_AES_256_GCM_SHA384:...";
    /// CURLOPT_TLS13_CIPHERS); empty: OpenSSL's default.
    std::string tls13_ciphers{};

    /// Called with the SSL_CTX of each new TLS connection
    /// (CURLOPT_SSL_CTX_FUNCTION; libcurl 7.88 calls it for an https://
    /// proxy's too), after libcurl applied every option above and before
    /// the handshake, so that a service can apply what it applies
    /// to its asio::ssl::context (`ctx.native_handle()` is an SSL_CTX* too):
    /// load CAs, set verification flags or callbacks, share an X509_STORE.
    /// libcurl 7.88 loads ca_file (or the system bundle) and ca_dir into the
    /// context's X509_STORE only after the hook, during the handshake: into
    /// the one the hook left in place (a store the hook shares with an
    /// asio::ssl::context gets them too). A non-zero error_code fails the fetch
    /// with that code; an exception fails it with errc::callback_threw. It
    /// runs on the engine's executor, inside libcurl: it must not block.
    /// A connection reused from the cache runs no hook.
    ///
    /// libcurl knows nothing of what the hook did: it would hand the
    /// connection, or its TLS session, to a later request with no hook or
    /// another; and libcurl 7.87+ keeps one X509_STORE per engine for the
    /// requests that trust the same CA file and no CA directory (with
    /// Debian's default CA directory, none), which a hook adding a CA to the
    /// store it finds would change for all of them. So a request with a
    /// hook never uses that cache (CURLOPT_CA_CACHE_TIMEOUT 0), and unless
    /// reuse_hooked_connections is set, gets a connection of its own, closed
    /// after it, with no TLS session kept (CURLOPT_FRESH_CONNECT,
    /// CURLOPT_FORBID_REUSE, CURLOPT_SSL_SESSIONID_CACHE 0): a handshake per
    /// request. Easy handles are reused as usual: curl_easy_reset clears
    /// the hook with every other option.
    std::function<error_code(ssl_ctx_st* ssl_ctx)> ssl_ctx_hook{};
    /// Let connections and TLS sessions made through ssl_ctx_hook be reused
    /// as any other, also by requests with another hook or none (libcurl
    /// matches them on the options above only). Right when every request
    /// that may reach the same host and port with the same options sets an
    /// equivalent hook (a service that applies one SSL context to all).
    bool reuse_hooked_connections = false;
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
    /// libcurl has limits of its own that apply whatever this says, and
    /// also end in errc::headers_too_large (response::error_message names
    /// the limit): one header line, its CRLF included, of at most 102399
    /// bytes (CURL_MAX_HTTP_HEADER, 100 KiB, less the NUL its buffer keeps),
    /// and at most 307200 bytes (300 KiB) of heads per transfer, all of them
    /// added up: 1xx, followed redirects and a proxy's CONNECT answer
    /// included (7.88 and 8 alike); libcurl 8 also takes at most 5000 header
    /// fields per transfer. A value above 300 KiB therefore changes nothing.
    std::size_t max_header_size = 256 * 1024;
    /// Abort when fewer than low_speed_limit bytes/s flow for low_speed_time
    /// (CURLE_OPERATION_TIMEDOUT): the guard against servers that trickle.
    long low_speed_limit = 0;
    /// The window of low_speed_limit; 0: no low-speed limit.
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

/// How credentials are offered to the origin (CURLOPT_HTTPAUTH).
enum class auth_scheme {
    /// bearer when auth_options::bearer_token is set, else basic when
    /// username is, else no authentication.
    automatic,
    /// CURLAUTH_BASIC: user:password, base64 but not encrypted, with the first
    /// request.
    basic,
    /// CURLAUTH_DIGEST (RFC 7616): sent after the server's 401 challenge,
    /// which costs a round trip per transfer.
    digest,
    /// CURLAUTH_BEARER: "Authorization: Bearer <bearer_token>" (RFC 6750).
    bearer,
    /// CURLAUTH_ANY: the first request goes without credentials, then libcurl
    /// answers the 401 challenge with the safest scheme it offers (basic
    /// included).
    any,
};

/// Authentication to the origin server, as first-class options (the easy
/// handle is reused afterwards, which set_option would prevent). Credentials
/// go only to the URL's host, port and scheme: a redirect to anywhere else
/// is followed without them (libcurl's rule without CURLOPT_UNRESTRICTED_AUTH,
/// which curlasio never sets). A user:password in the URL is used when
/// username is empty. Proxies have their own: proxy_options.
struct auth_options {
    /// Which scheme to use (CURLOPT_HTTPAUTH).
    auth_scheme scheme = auth_scheme::automatic;
    /// CURLOPT_USERNAME; for basic, digest and any. Empty: none (nothing is
    /// sent for those schemes).
    std::string username{};
    /// CURLOPT_PASSWORD.
    std::string password{};
    /// CURLOPT_XOAUTH2_BEARER; for bearer. None of the three may hold CR,
    /// LF or NUL (errc::invalid_request): a token and a digest user name are
    /// sent as they are.
    std::string bearer_token{};
};

/// How credentials are offered to a proxy (CURLOPT_PROXYAUTH).
enum class proxy_auth_scheme {
    basic,  ///< CURLAUTH_BASIC, with the first request (or CONNECT)
    digest, ///< CURLAUTH_DIGEST, after the proxy's 407 challenge
    any,    ///< CURLAUTH_ANY: the safest the proxy's 407 offers, basic included
};

/// Which proxy carries the transfer. An aggregate: `.proxy = {.url = ...}`;
/// assigning a URL (`options.proxy = "http://proxy:3128"`) sets url alone.
struct proxy_options {
    /// Proxy URL (CURLOPT_PROXY): http://, https://, socks4://, socks4a://,
    /// socks5:// (names resolved here) or socks5h:// (names resolved by the
    /// proxy), with an optional user:password@. std::nullopt: no proxy at
    /// all, and the http_proxy/https_proxy/no_proxy environment variables are
    /// ignored. "": let libcurl read them.
    std::optional<std::string> url{};
    /// Credentials for the proxy (CURLOPT_PROXYUSERNAME, _PROXYPASSWORD), for
    /// HTTP proxies and SOCKS5's user/password authentication (RFC 1929).
    /// Empty: those in url, if any. Neither may hold CR, LF or NUL.
    std::string username{};
    /// The proxy password (CURLOPT_PROXYPASSWORD); see username.
    std::string password{};
    /// How an HTTP proxy gets them (CURLOPT_PROXYAUTH).
    proxy_auth_scheme auth = proxy_auth_scheme::basic;
    /// Hosts reached directly, not through the proxy (CURLOPT_NOPROXY):
    /// comma-separated host names (a name also covers its subdomains), IP
    /// addresses and CIDR ranges ("127.0.0.0/8"), or "*" for all. Empty: none
    /// (no_proxy from the environment applies when url is "").
    std::string no_proxy{};
    /// Open a CONNECT tunnel for http:// URLs too (CURLOPT_HTTPPROXYTUNNEL),
    /// so that the proxy sees only bytes; https:// always goes through one.
    /// A tunnel opened with credentials is authenticated once, and libcurl
    /// 8 would reuse it for any request to the same origin through the same
    /// proxy, whatever its credentials: such a request (or one that may
    /// reach a tunnel through a redirect, or with auth any) gets a
    /// connection of its own, closed after it, over HTTP/1.1.
    bool tunnel = false;

    /// Sets url alone (`options.proxy = "http://proxy:3128"`). A template,
    /// so that a braced list (`= {.url = ...}`) is never taken for a string.
    template <typename String>
    requires(std::is_convertible_v<String, std::string_view> &&
             !std::is_same_v<std::remove_cvref_t<String>, std::nullptr_t>) proxy_options&
    operator=(String&& proxy_url) {
        url.emplace(std::string_view(proxy_url));
        return *this;
    }
    /// No proxy, and the environment ignored (url = std::nullopt).
    proxy_options& operator=(std::nullopt_t) {
        url.reset();
        return *this;
    }
};

/// How a request is made: every first-class option, as nested aggregates
/// that designated initializers fill
/// (`req.options = {.timeout = 5s, .redirects = {.follow = true}}`), plus
/// set_option for anything else libcurl offers. A value type.
///
/// @see @ref md_doc_faults "Defaults and faults"
struct request_options {
    /// Sets one libcurl option on the handle; returns what curl_easy_setopt returned.
    using curl_setter = std::function<CURLcode(CURL*)>;

    /// Deadline for the whole transfer.
    std::chrono::milliseconds timeout{0};
    /// Deadline for resolve + connect + TLS handshake.
    std::chrono::milliseconds connect_timeout{std::chrono::seconds(30)};
    /// Following redirects.
    redirect_options redirects{};
    /// Verification, certificates, pins, versions, ciphers, the SSL_CTX hook.
    tls_options tls{};
    /// Response size, head size, low-speed limits.
    limit_options limits{};
    /// Connection lifetime, buffer size, waiting for HTTP/2 multiplexing.
    connection_options connection{};
    /// Which HTTP version to ask for.
    http_version version = http_version::any;
    /// Advertise every encoding libcurl supports and decode the body.
    bool decompress = true;
    /// request::on_progress runs at most once per this interval (and once
    /// more with the final counts); 0: whenever libcurl reports a change.
    std::chrono::milliseconds progress_interval{100};
    /// Empty: no User-Agent header.
    std::string user_agent = "curlasio/0.1";
    /// Authentication to the origin (see auth_options).
    auth_options auth{};
    /// The proxy, if any (see proxy_options): none by default, whatever the
    /// environment says.
    proxy_options proxy{};
    /// Sending the request again after a transient failure or a 502/503/504
    /// (see retry_options and async_fetch): off by default.
    retry_options retry{};
    /// The cookie jar (see cookie_jar), or none: libcurl's cookie engine
    /// stays off and only a Cookie header of the request's own is sent.
    /// With a jar, the transfer sends the jar's cookies that match each
    /// request it makes (redirects included, by libcurl's domain, path,
    /// Secure and expiry rules) and stores what each response sets. The
    /// transfer keeps the jar alive until it ends. Cookies from a jar are
    /// not counted against libcurl's 1 MiB request head (see request). An
    /// easy handle that had a jar is freed afterwards, never reused:
    /// curl_easy_reset keeps a handle's share.
    std::shared_ptr<cookie_jar> cookies{};
    /// The escape hatch: setters applied after every option above, in order
    /// (request::set_option adds to it). A failing setter fails the fetch
    /// with its CURLcode. A request that uses it does not reuse an easy
    /// handle afterwards (it may have turned on state a reset keeps).
    std::vector<curl_setter> curl_options{};
};

} // namespace curlasio

#endif
