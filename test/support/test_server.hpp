// An in-process HTTP/1.1 (optionally TLS) server on 127.0.0.1 for the
// integration tests. It runs its own io_context on its own thread, so tests
// can drive the client side however they like.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace curlasio::test {

struct server_options {
    bool tls = false;
    std::string cert_file, key_file; // PEM; required when tls
    // When set, the handshake requires a client certificate that verifies
    // against this PEM CA bundle (no certificate, or another one: refused).
    std::string client_ca_file{};
    bool tls1_2_only = false;         // refuse TLS 1.3
    std::string tls13_ciphersuites{}; // TLS 1.3 suites accepted; empty: OpenSSL's default
};

// Routes (unknown path -> 404 "not found"; every response has
// `Server: curlasio-test`; HEAD gets the headers only):
//   /hello                   200 text/plain "hello world"
//   /echo, /echo/<any>       200, body = request body; X-Method, X-Body-Size,
//                            X-Target (the request target as sent, query included) and
//                            X-Echo-<Name> per request header (repeats kept, in order)
//   /multipart               parses a multipart/form-data body: 200, one line per part,
//                            "name=<n> filename=<f> type=<t> size=<bytes> fnv=<fnv1a-64
//                            hex> headers=<other fields joined by '|'>", X-Method;
//                            400 "bad request" when the body is not well formed
//   /status/<code>           that status, body "status <code>" (empty for 1xx/204/304)
//   /redirect/<n>            302 to /redirect/<n-1>; n == 0: 200 "redirected"
//   /redirect-loop           302 to itself
//   /redirect-to?url=<enc>   302 to the percent-decoded url
//   /delay/<ms>              200 "delayed" after ms milliseconds
//   /bytes/<n>               n bytes, byte i = 'a' + i % 26, Content-Length
//   /chunked/<n>             same bytes, chunked in 16 KiB chunks
//   /slow-body/<chunks>/<ms> chunked, <chunks> x 1024 'x', ms pause before each
//   /stall                   Content-Length 1000000, 10 bytes, then nothing more
//   /headers/<n>             n headers X-Header-<i>: value-<i> (i from 1)
//   /gzip                    Content-Encoding: gzip of "hello gzip world" x 100
//   /cookie                  Set-Cookie a=1 and Set-Cookie b=2
//   /set-cookie?<enc>&<enc>  200 "cookies", one Set-Cookie per '&'-separated part of
//                            the query, percent-decoded ("a%3D1%3B%20Path%3D%2Fx")
//   /client-cert             200, body = the CN of the client's certificate, or "none"
//   /sink                    reads the body as it comes (any size, never held) and
//                            answers "<size> <fnv1a-64 hex> <chunked|length>", X-Method
// Faults:
//   /reset-body/<n>          Content-Length 2n, n pattern bytes, 100 ms, then RST
//                            (SO_LINGER 0); n <= 53248
//   /close-early             closes the connection without a response
//   /flaky/<key>/<n>/<what>  the first n requests naming <key> (counted per server,
//                            whatever the method) get <what>: a status (200..999,
//                            body "flaky", with `Retry-After: <v>` when the query has
//                            retry-after=<enc v>), `close` (closed unanswered) or
//                            `reset` (RST before any answer); later ones get 200
//                            "ok after <n>". Every answer has X-Attempt: <count so far>
//   /raw?bytes=<enc>         writes the percent-decoded bytes as they are, then closes
//   /slowloris               a status line, then one header line every 500 ms, forever
//   /endless-headers         a status line, then header lines as fast as they go, forever
//   /chunked-forever         chunked pattern bytes, forever
//   /long-header/<n>         200 "ok" with one field line (X-Long) of exactly n
//                            bytes, its CRLF included; n >= 10
//   /many-headers/<n>        200 "ok" whose head (status line to the blank line
//                            included) is exactly n bytes, in lines of about 1000
//                            bytes; n >= 78
// `Expect: 100-continue` is answered with 100 Continue. Keep-alive follows the
// request. Port is ephemeral. The constructor throws on setup failure (bad
// certificate files, bind failure).
//
// Thread safety: the accessors may be called from any thread. The destructor
// closes every connection, even mid-request, and joins the server thread.
/// FNV-1a 64 over `bytes`, continued from `hash` (the /sink route's checksum).
inline constexpr std::uint64_t fnv1a_offset = 0xcbf29ce484222325ull;
inline std::uint64_t fnv1a(std::uint64_t hash, std::string_view bytes) {
    for (unsigned char c : bytes) {
        hash ^= c;
        hash *= 0x100000001b3ull;
    }
    return hash;
}

class test_server {
public:
    explicit test_server(server_options opts = {});
    ~test_server();
    test_server(const test_server&) = delete;
    test_server& operator=(const test_server&) = delete;

    unsigned short port() const;
    std::string base_url() const;                 // "http(s)://127.0.0.1:PORT"
    std::string url(std::string_view path) const; // base_url() + path

    std::size_t requests_seen() const;        // complete request heads read
    std::size_t connections_accepted() const; // ever accepted
    std::size_t open_connections() const;     // currently alive sessions

    // Called on the server thread for every request, before it is handled.
    // Set it before sending requests; replacing it later is safe but racy in
    // the sense that in-flight requests may still see the old hook.
    void on_request(std::function<void(const std::string& method, const std::string& target)> hook);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace curlasio::test
