#include <curlasio/detail/easy_handle.hpp>

#include <curlasio/cookie_jar.hpp>
#include <curlasio/detail/malformed.hpp>

#include "cookie_lock_window.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace curlasio::detail {
namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return (x | 0x20) == (y | 0x20); });
}

long curl_http_version(http_version v) noexcept {
    switch (v) {
    case http_version::http1_0:
        return CURL_HTTP_VERSION_1_0;
    case http_version::http1_1:
        return CURL_HTTP_VERSION_1_1;
    case http_version::http2:
        return CURL_HTTP_VERSION_2_0;
    case http_version::http2_tls:
        return CURL_HTTP_VERSION_2TLS;
    case http_version::http2_prior_knowledge:
        return CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
    case http_version::any:
        break;
    }
    return CURL_HTTP_VERSION_NONE;
}

// libcurl's own limits on a response head, whatever max_header_size says
// (7.88.1 and 8.14.1 alike). A header line is collected in a buffer of CURL_MAX_HTTP_HEADER bytes
// that also holds a NUL (lib/url.c, lib/dynbuf.c); every head of one
// transfer (1xx, followed redirects, a proxy's CONNECT answer) adds up to at
// most MAX_HTTP_RESP_HEADER_SIZE (lib/http.h).
constexpr std::size_t libcurl_max_header_line = CURL_MAX_HTTP_HEADER - 1;
constexpr std::size_t libcurl_max_response_heads = 300 * 1024;
// What libcurl's error buffer starts with when the second one is hit.
constexpr std::string_view heads_too_large_text = "Too large response headers";
// libcurl 8 also caps the header fields of a transfer's heads at
// MAX_HTTP_RESP_HEADER_COUNT (lib/http.h: 5000 in 8.14.1), whatever their
// size; its error buffer then starts with this.
constexpr std::string_view too_many_headers_text = "Too many response headers";
// libcurl 8.6.0 and later report a size limit met (a header line, a request
// head, the field count) as CURLE_TOO_LARGE; 7.88 as CURLE_OUT_OF_MEMORY.
// By number: the 7.88 headers have no name for it.
constexpr CURLcode curle_too_large = static_cast<CURLcode>(100);

// libcurl 7.88 builds a request head in one buffer of DYN_HTTP_REQUEST
// bytes (lib/dynbuf.h) that also holds a NUL; over HTTP/1 a body under
// MAX_INITIAL_POST_SIZE (lib/http.h) goes into it too. A longer head fails
// as CURLE_OUT_OF_MEMORY (8.6.0 on: CURLE_TOO_LARGE). All three limits are
// the same in 8.14.1 (lib/curlx/dynbuf.h, lib/http.h, curl.h).
constexpr std::size_t libcurl_max_request = 1024 * 1024 - 1;
constexpr std::size_t libcurl_body_in_head_below = 64 * 1024;
// libcurl 8.14.1 sends a body apart from the head whatever its size
// (MAX_INITIAL_POST_SIZE is no longer used): only older ones count it. The
// change is taken to be 8.7.0's, whose client readers took over request
// bodies; were it later, a head within 64 KiB of the limit would fail as
// CURLE_TOO_LARGE rather than errc::request_too_large.
bool body_joins_head() noexcept {
    static const bool joins = curl_version_info(CURLVERSION_NOW)->version_num < 0x080700;
    return joins;
}
// Room for what libcurl adds to what a request says: the request line's
// version, the Host, Accept, Accept-Encoding, Content-Length, Content-Type
// and Proxy-Connection fields, an h2c upgrade and the blank line come to
// about 300 bytes.
constexpr std::size_t libcurl_own_fields = 512;

// The scheme options.auth asks for once automatic is resolved; automatic
// itself means none.
auth_scheme effective_scheme(const auth_options& a) noexcept {
    if (a.scheme == auth_scheme::automatic)
        return !a.bearer_token.empty() ? auth_scheme::bearer
               : !a.username.empty()   ? auth_scheme::basic
                                       : auth_scheme::automatic;
    if (a.scheme == auth_scheme::bearer)
        return a.bearer_token.empty() ? auth_scheme::automatic : auth_scheme::bearer;
    return a.username.empty() ? auth_scheme::automatic : a.scheme;
}

unsigned long curl_auth(auth_scheme s) noexcept {
    switch (s) {
    case auth_scheme::basic:
        return CURLAUTH_BASIC;
    case auth_scheme::digest:
        return CURLAUTH_DIGEST;
    case auth_scheme::bearer:
        return CURLAUTH_BEARER;
    case auth_scheme::any:
        return CURLAUTH_ANY;
    case auth_scheme::automatic:
        break;
    }
    return CURLAUTH_NONE;
}

unsigned long curl_proxy_auth(proxy_auth_scheme s) noexcept {
    switch (s) {
    case proxy_auth_scheme::digest:
        return CURLAUTH_DIGEST;
    case proxy_auth_scheme::any:
        return CURLAUTH_ANY;
    case proxy_auth_scheme::basic:
        break;
    }
    return CURLAUTH_BASIC;
}

constexpr std::size_t base64_size(std::size_t n) noexcept { return (n + 2) / 3 * 4; }

// At least as large as the (Proxy-)Authorization field libcurl builds from
// `user` and `password`, for basic or digest. A digest field holds the user
// name quoted (each '"' and backslash escaped), the request target again, and
// libcurl's own fields (cnonce, nc, qop, response, algorithm), well within
// 512 bytes; the server's realm, nonce and opaque come on top and cannot be
// known before its challenge.
std::size_t credential_field_bound(bool digest, bool basic, const std::string& user,
                                   const std::string& password, std::string_view url) noexcept {
    std::size_t n = 0;
    if (basic)
        n = base64_size(user.size() + 1 + password.size()) + sizeof("Proxy-Authorization: Basic \r\n");
    if (digest)
        n = std::max(n, 2 * user.size() + url.size() + 512);
    return n;
}

// What options.auth and the proxy's credentials add to a request head.
std::size_t credentials_bound(const request_options& o, std::string_view url) noexcept {
    std::size_t n = 0;
    const auth_scheme s = effective_scheme(o.auth);
    if (s == auth_scheme::bearer)
        n += o.auth.bearer_token.size() + sizeof("Authorization: Bearer \r\n");
    else if (s != auth_scheme::automatic)
        n += credential_field_bound(s != auth_scheme::basic, s != auth_scheme::digest, o.auth.username,
                                    o.auth.password, url);
    if (o.proxy.url && !o.proxy.username.empty())
        n += credential_field_bound(o.proxy.auth != proxy_auth_scheme::basic,
                                    o.proxy.auth != proxy_auth_scheme::digest, o.proxy.username,
                                    o.proxy.password, url);
    return n;
}

// At least as large as the head libcurl will build for `req`.
std::size_t request_head_bound(const request& req, bool carries_body) noexcept {
    std::string_view url(req.url);
    url = url.substr(0, url.find('#')); // a fragment is not sent
    std::string_view authority = url;
    if (const auto scheme_end = authority.find("://"); scheme_end != std::string_view::npos)
        authority.remove_prefix(scheme_end + 3);
    authority = authority.substr(0, authority.find_first_of("/?"));
    // The request line holds the URL, or (to a proxy) all of it; Host the
    // host and port; Authorization user:password in base64.
    std::size_t n = req.method.size() + url.size() + authority.size() + libcurl_own_fields;
    if (const auto at = authority.rfind('@'); at != std::string_view::npos)
        n += (at + 2) / 3 * 4 + sizeof("Authorization: Basic \r\n");
    n += credentials_bound(req.options, url);
    if (!req.options.user_agent.empty())
        n += req.options.user_agent.size() + sizeof("User-Agent: \r\n");
    for (const auto& [name, value] : req.headers)
        n += name.size() + value.size() + 4; // ": ", CRLF
    if (carries_body && !req.upload && req.body.size() < libcurl_body_in_head_below && body_joins_head())
        n += req.body.size();
    return n;
}

bool is_https(std::string_view url) noexcept {
    return url.size() >= 8 && iequals(url.substr(0, 8), "https://");
}

// libcurl before 8.0.0 (curl #10634) stacks a second HTTP/2 layer on a
// reused cleartext connection made with prior knowledge: every request on it
// after the first fails with CURLE_HTTP2. (Over TLS, ALPN is redone per
// connection and reuse works.)
bool reuses_h2c_badly() noexcept {
    static const bool affected = curl_version_info(CURLVERSION_NOW)->version_num < 0x080000;
    return affected;
}

// Whether `url`'s authority carries a user:password@.
bool has_userinfo(std::string_view url) noexcept {
    if (const auto scheme_end = url.find("://"); scheme_end != std::string_view::npos)
        url.remove_prefix(scheme_end + 3);
    return url.substr(0, url.find_first_of("/?#")).find('@') != std::string_view::npos;
}

bool is_socks(std::string_view proxy_url) noexcept {
    return proxy_url.size() >= 5 && iequals(proxy_url.substr(0, 5), "socks");
}

// Whether the request's credentials authenticate its connection, rather
// than each request on it, in a way libcurl's connection matching does not
// check (ConnectionExists in 7.88.1, url_match_conn in 8.14.1): libcurl
// would then hand that connection to a request with other credentials or
// none, one user's access lent to another.
// - An HTTP(S) proxy's credentials open a CONNECT tunnel once (https://
//   always tunnels; http:// with proxy.tunnel; a redirect may lead to
//   either): libcurl compares the proxy's type, host and port, never its
//   user and password. Without a tunnel each request carries its own
//   Proxy-Authorization, and a request without is answered 407.
// - Scheme `any` (proxy or origin) may settle on Negotiate, which
//   authenticates the connection and which libcurl does not track per
//   connection.
// What libcurl does match: SOCKS credentials, NTLM's per-connection state,
// the client certificate (part of the TLS configuration, for the connection
// and the TLS session cache alike), the origin's user for protocols that
// authenticate connections. Basic, digest and bearer to an origin travel
// with each request.
bool credentials_bind_connection(const request_options& o, std::string_view url) noexcept {
    const proxy_options& p = o.proxy;
    if (p.url && !p.url->empty() && !is_socks(*p.url) && (!p.username.empty() || has_userinfo(*p.url)) &&
        (p.tunnel || is_https(url) || o.redirects.follow || p.auth == proxy_auth_scheme::any))
        return true;
    return o.auth.scheme == auth_scheme::any && (!o.auth.username.empty() || has_userinfo(url));
}

} // namespace

easy_handle::~easy_handle() {
    free_mime();
    if (handle_)
        curl_easy_cleanup(handle_);
    curl_slist_free_all(header_list_);
}

error_code easy_handle::prepare(CURL* fresh, request&& req, body_sink* sink) {
    handle_ = fresh;
    if (!handle_)
        return errc::out_of_resources;
    if (const auto why = find_malformed(req); why != malformed::none) {
        refused_because_ = malformed_text[static_cast<std::size_t>(why)];
        return errc::invalid_request;
    }
    const std::string& m = req.method;
    const bool carries_body = !req.body.empty() || req.upload || !req.multipart.empty() || m == "POST" ||
                              m == "PUT" || m == "PATCH";
    if (request_head_bound(req, carries_body) > libcurl_max_request)
        return errc::request_too_large;
    request_body_ = std::move(req.body);
    upload_ = std::move(req.upload);
    source_ = upload_.get();
    follow_redirects_ = req.options.redirects.follow;
    options_ = std::move(req.options.curl_options);
    on_body_ = std::move(req.on_body);
    sink_ = sink ? sink : on_body_ ? static_cast<body_sink*>(&callback_sink_) : &string_sink_;
    on_progress_ = std::move(req.on_progress);
    progress_interval_ = req.options.progress_interval;
    max_response_size_ = req.options.limits.max_response_size;
    max_header_size_ = req.options.limits.max_header_size;

    CURL* h = handle_;
    CURLcode rc = CURLE_OK;
    // Stops at the first failing option; later ones are skipped.
    auto set = [&](CURLoption opt, auto value) {
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(h, opt, value);
    };
    using std::chrono::milliseconds;

    set(CURLOPT_NOSIGNAL, 1L);
    set(CURLOPT_ERRORBUFFER, error_buffer_);
    set(CURLOPT_URL, req.url.c_str());
    set(CURLOPT_PROTOCOLS_STR, "http,https");
    set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");

    if (source_) {
        // libcurl's upload: PUT unless the method says otherwise; the size
        // makes a Content-Length, its absence chunked transfer coding.
        const auto size = source_->size();
        upload_bound_ = upload_bound(size);
        set(CURLOPT_UPLOAD, 1L);
        set(CURLOPT_INFILESIZE_LARGE, size ? static_cast<curl_off_t>(*size) : curl_off_t(-1));
        set(CURLOPT_READFUNCTION, &easy_handle::on_read);
        set(CURLOPT_READDATA, this);
        set(CURLOPT_SEEKFUNCTION, &easy_handle::on_seek);
        set(CURLOPT_SEEKDATA, this);
        if (m != "PUT")
            set(CURLOPT_CUSTOMREQUEST, m.c_str());
    } else if (!req.multipart.empty()) {
        // libcurl streams the parts (a file part from its file) and writes
        // Content-Type: multipart/form-data with its boundary.
        if (CURLcode c = build_mime(req.multipart); c != CURLE_OK)
            return make_error_code(c);
        set(CURLOPT_MIMEPOST, mime_);
        if (m != "POST")
            set(CURLOPT_CUSTOMREQUEST, m.c_str());
    } else if (m == "HEAD") {
        set(CURLOPT_NOBODY, 1L);
    } else if (carries_body) {
        set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request_body_.size()));
        set(CURLOPT_POSTFIELDS, request_body_.data());
        if (m != "POST")
            set(CURLOPT_CUSTOMREQUEST, m.c_str());
    } else if (m != "GET") {
        set(CURLOPT_CUSTOMREQUEST, m.c_str());
    }

    bool has_expect = false;
    for (const auto& [name, value] : req.headers) {
        has_expect = has_expect || iequals(name, "Expect");
        // "Name;" is libcurl's spelling of a header with an empty value.
        std::string line = value.empty() ? name + ";" : name + ": " + value;
        curl_slist* next = curl_slist_append(header_list_, line.c_str());
        if (!next)
            return make_error_code(CURLE_OUT_OF_MEMORY);
        header_list_ = next;
    }
    if (!has_expect && carries_body) {
        // A 100-continue round trip costs a full RTT (or 1 s against servers
        // that ignore it); ask for it explicitly if wanted.
        curl_slist* next = curl_slist_append(header_list_, "Expect:");
        if (!next)
            return make_error_code(CURLE_OUT_OF_MEMORY);
        header_list_ = next;
    }
    if (header_list_)
        set(CURLOPT_HTTPHEADER, header_list_);

    set(CURLOPT_TIMEOUT_MS, static_cast<long>(req.options.timeout.count()));
    set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(req.options.connect_timeout.count()));
    set(CURLOPT_FOLLOWLOCATION, req.options.redirects.follow ? 1L : 0L);
    set(CURLOPT_MAXREDIRS, req.options.redirects.max);
    set(CURLOPT_HTTP_VERSION, curl_http_version(req.options.version));
    if (req.options.version == http_version::http2_prior_knowledge && !is_https(req.url) &&
        reuses_h2c_badly()) {
        // A connection of its own, closed after it: none is ever reused.
        set(CURLOPT_FRESH_CONNECT, 1L);
        set(CURLOPT_FORBID_REUSE, 1L);
    }
    if (req.options.decompress)
        set(CURLOPT_ACCEPT_ENCODING, "");
    if (!req.options.user_agent.empty())
        set(CURLOPT_USERAGENT, req.options.user_agent.c_str());
    if (rc == CURLE_OK)
        rc = set_trust_options(req.options);
    if (credentials_bind_connection(req.options, req.url)) {
        // A connection of its own, closed after it: no request with other
        // credentials or none ever gets it, on any libcurl. The price, a
        // connection (tunnel, TLS handshake) per transfer, is paid on 8.x
        // only: 7.88.1 never reuses a CONNECT tunnel anyway (measured).
        // HTTP/1.1, since libcurl would otherwise multiplex other requests
        // onto the HTTP/2 connection while this one still uses it.
        set(CURLOPT_FRESH_CONNECT, 1L);
        set(CURLOPT_FORBID_REUSE, 1L);
        if (req.options.version != http_version::http2_prior_knowledge &&
            req.options.version != http_version::http1_0)
            set(CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    }
    if (req.options.limits.low_speed_limit > 0) {
        set(CURLOPT_LOW_SPEED_LIMIT, req.options.limits.low_speed_limit);
        set(CURLOPT_LOW_SPEED_TIME, static_cast<long>(req.options.limits.low_speed_time.count()));
    }
    // libcurl's cap is a signed curl_off_t: a larger one (SIZE_MAX for "no
    // cap") would wrap negative and be refused. Ours, in on_body, still counts.
    if (req.options.limits.max_response_size > 0 &&
        req.options.limits.max_response_size <=
            static_cast<std::uint64_t>(std::numeric_limits<curl_off_t>::max()))
        set(CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(req.options.limits.max_response_size));
    if (req.options.connection.max_lifetime.count() > 0)
        set(CURLOPT_MAXLIFETIME_CONN, static_cast<long>(req.options.connection.max_lifetime.count()));
    if (req.options.connection.wait_for_multiplex)
        set(CURLOPT_PIPEWAIT, 1L);
    if (req.options.connection.buffer_size > 0)
        set(CURLOPT_BUFFERSIZE, static_cast<long>(req.options.connection.buffer_size));
    if (req.options.cookies) {
        // The share holds the cookies; COOKIEFILE "" turns the engine on
        // (the share already does; this says so whatever libcurl version).
        // The handle is not reused afterwards: see release(). In an engine
        // pool the jar's share replaces the pool's (DNS cache and TLS
        // sessions) for this request: a handle has one share.
        jar_ = std::move(req.options.cookies);
        set(CURLOPT_SHARE, jar_->native_handle());
        set(CURLOPT_COOKIEFILE, "");
    }
    if (on_progress_) {
        set(CURLOPT_NOPROGRESS, 0L);
        set(CURLOPT_XFERINFOFUNCTION, &easy_handle::on_xferinfo);
        set(CURLOPT_XFERINFODATA, this);
    }

    set(CURLOPT_WRITEFUNCTION, &easy_handle::on_body);
    set(CURLOPT_WRITEDATA, this);
    set(CURLOPT_HEADERFUNCTION, &easy_handle::on_header);
    set(CURLOPT_HEADERDATA, this);
    // A proxy's answer to CONNECT is not the origin's response: keep it out
    // of the head parser (libcurl still counts it against its own limit).
    set(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    if (rc != CURLE_OK)
        return make_error_code(rc);

    for (const auto& setter : options_) {
        try {
            if (CURLcode c = setter(h); c != CURLE_OK)
                return make_error_code(c);
        } catch (...) {
            return errc::callback_threw;
        }
    }
    return {};
}

CURLcode easy_handle::set_trust_options(request_options& o) {
    CURL* h = handle_;
    CURLcode rc = CURLE_OK;
    auto set = [&](CURLoption opt, auto value) {
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(h, opt, value);
    };
    // libcurl copies strings; an empty one keeps libcurl's default.
    auto set_string = [&](CURLoption opt, const std::string& value) {
        if (!value.empty())
            set(opt, value.c_str());
    };

    tls_options& tls = o.tls;
    set(CURLOPT_SSL_VERIFYPEER, tls.verify_peer ? 1L : 0L);
    set(CURLOPT_SSL_VERIFYHOST, tls.verify_host ? 2L : 0L);
    set_string(CURLOPT_CAINFO, tls.ca_file);
    set_string(CURLOPT_CAPATH, tls.ca_dir);
    set_string(CURLOPT_SSLCERT, tls.client_cert_file);
    set_string(CURLOPT_SSLKEY, tls.client_key_file);
    set_string(CURLOPT_KEYPASSWD, tls.client_key_password);
    set_string(CURLOPT_PINNEDPUBLICKEY, tls.pinned_public_key);
    switch (tls.min_version) {
    case tls_version::tls1_2:
        set(CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
        break;
    case tls_version::tls1_3:
        set(CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_3));
        break;
    case tls_version::system_default:
        break;
    }
    set_string(CURLOPT_SSL_CIPHER_LIST, tls.ciphers);
    set_string(CURLOPT_TLS13_CIPHERS, tls.tls13_ciphers);
    if (tls.ssl_ctx_hook) {
        ssl_ctx_hook_ = std::move(tls.ssl_ctx_hook);
        set(CURLOPT_SSL_CTX_FUNCTION, &easy_handle::on_ssl_ctx);
        set(CURLOPT_SSL_CTX_DATA, static_cast<void*>(this));
#if LIBCURL_VERSION_NUM >= 0x075700 // 7.87.0
        // libcurl's X509_STORE cache is shared by the engine's transfers that
        // trust the same CA file: what the hook did to the store it finds
        // there would reach them all. (Before 7.87 there is no such cache.)
        set(CURLOPT_CA_CACHE_TIMEOUT, 0L);
#endif
        if (!tls.reuse_hooked_connections) {
            // libcurl does not count the hook when it matches a connection
            // or a TLS session to a request: share neither.
            set(CURLOPT_FRESH_CONNECT, 1L);
            set(CURLOPT_FORBID_REUSE, 1L);
            set(CURLOPT_SSL_SESSIONID_CACHE, 0L);
        }
    }

    // No proxy: an empty CURLOPT_PROXY, which also keeps libcurl from reading
    // http_proxy and friends. An empty url leaves CURLOPT_PROXY unset, which
    // is what lets libcurl read them.
    const proxy_options& proxy = o.proxy;
    if (!proxy.url)
        set(CURLOPT_PROXY, "");
    else
        set_string(CURLOPT_PROXY, *proxy.url);
    if (!proxy.username.empty()) {
        set(CURLOPT_PROXYUSERNAME, proxy.username.c_str());
        set(CURLOPT_PROXYPASSWORD, proxy.password.c_str());
    }
    if (proxy.auth != proxy_auth_scheme::basic)
        set(CURLOPT_PROXYAUTH, curl_proxy_auth(proxy.auth));
    set_string(CURLOPT_NOPROXY, proxy.no_proxy);
    if (proxy.tunnel)
        set(CURLOPT_HTTPPROXYTUNNEL, 1L);

    // Credentials go to the first host only: CURLOPT_UNRESTRICTED_AUTH stays off.
    const auth_options& auth = o.auth;
    switch (const auth_scheme s = effective_scheme(auth)) {
    case auth_scheme::automatic:
        break;
    case auth_scheme::bearer:
        set(CURLOPT_HTTPAUTH, curl_auth(s));
        set(CURLOPT_XOAUTH2_BEARER, auth.bearer_token.c_str());
        break;
    case auth_scheme::basic:
    case auth_scheme::digest:
    case auth_scheme::any:
        set(CURLOPT_HTTPAUTH, curl_auth(s));
        set(CURLOPT_USERNAME, auth.username.c_str());
        set(CURLOPT_PASSWORD, auth.password.c_str());
        break;
    }
    return rc;
}

CURLcode easy_handle::on_ssl_ctx(CURL*, void* ssl_ctx, void* p) noexcept {
    cookie_lock_window::close(); // user code may run: keep no lock
    auto* self = static_cast<easy_handle*>(p);
    try {
        if (error_code ec = self->ssl_ctx_hook_(static_cast<ssl_ctx_st*>(ssl_ctx))) {
            self->hook_error_ = ec;
            return CURLE_ABORTED_BY_CALLBACK;
        }
    } catch (...) {
        self->exception_ = std::current_exception();
        return CURLE_ABORTED_BY_CALLBACK;
    }
    return CURLE_OK;
}

CURLcode easy_handle::build_mime(const std::vector<mime_part>& parts) {
    mime_ = curl_mime_init(handle_);
    if (!mime_)
        return CURLE_OUT_OF_MEMORY;
    for (const mime_part& p : parts) {
        curl_mimepart* part = curl_mime_addpart(mime_);
        if (!part)
            return CURLE_OUT_OF_MEMORY;
        CURLcode rc = CURLE_OK;
        auto step = [&](auto&& f) {
            if (rc == CURLE_OK)
                rc = f();
        };
        if (!p.name.empty())
            step([&] { return curl_mime_name(part, p.name.c_str()); });
        if (!p.file_path.empty()) {
            // Checks the file can be read now (stat, access): CURLE_READ_ERROR.
            step([&] { return curl_mime_filedata(part, p.file_path.c_str()); });
            if (rc == CURLE_READ_ERROR) {
                const int e = errno;
                refusal_detail_ = "multipart part \"" + p.name + "\": cannot read the file \"" + p.file_path +
                                  "\" (" + std::generic_category().message(e) + ")";
                return rc;
            }
        } else {
            step([&] { return curl_mime_data(part, p.data.data(), p.data.size()); });
        }
        if (!p.filename.empty())
            step([&] { return curl_mime_filename(part, p.filename.c_str()); });
        if (!p.content_type.empty())
            step([&] { return curl_mime_type(part, p.content_type.c_str()); });
        if (rc == CURLE_OK && !p.headers.empty()) {
            curl_slist* list = nullptr;
            for (const auto& [name, value] : p.headers) {
                const std::string line = name + ": " + value;
                curl_slist* next = curl_slist_append(list, line.c_str());
                if (!next) {
                    curl_slist_free_all(list);
                    return CURLE_OUT_OF_MEMORY;
                }
                list = next;
            }
            step([&] { return curl_mime_headers(part, list, 1); }); // the part owns the list
        }
        if (rc != CURLE_OK)
            return rc;
    }
    return CURLE_OK;
}

std::string easy_handle::refusal_message(error_code ec) const {
    if (!refusal_detail_.empty())
        return refusal_detail_;
    if (refused_because_.empty())
        return ec.message();
    return "invalid request: " + std::string(refused_because_);
}

std::size_t easy_handle::on_body(char* data, std::size_t size, std::size_t n, void* p) noexcept {
    cookie_lock_window::close(); // user code may run: keep no lock
    auto* self = static_cast<easy_handle*>(p);
    const std::size_t len = size * n;
    if (!self->head_told_ && !self->tell_head())
        return 0;
    const std::size_t cap = self->max_response_size_;
    if (cap && len > cap - self->body_bytes_) { // body_bytes_ <= cap: no overflow
        self->too_large_ = true;
        return 0; // makes libcurl fail with CURLE_WRITE_ERROR
    }
    sink_result r;
    try {
        r = self->sink_->consume(std::string_view(data, len));
    } catch (...) {
        self->exception_ = std::current_exception();
        return 0;
    }
    switch (r.status) {
    case sink_status::consumed:
        // Counted once taken: a paused chunk comes again.
        self->body_bytes_ += len;
        if (self->activity_)
            *self->activity_ += len;
        return len;
    case sink_status::pause:
        self->paused_ = true;
        return CURL_WRITEFUNC_PAUSE;
    case sink_status::fail:
        break;
    }
    self->sink_error_ = r.ec ? r.ec : make_error_code(CURLE_WRITE_ERROR);
    return 0;
}

error_code easy_handle::string_sink::on_head(const head_view& head) {
    // Reserve what is announced rather than grow by doubling (a 64 MiB body
    // would take up to twice that at its peak). Within the cap, if one is
    // set; without one, a bound keeps a lying Content-Length from reserving
    // gigabytes up front (the body still grows past it).
    constexpr std::uint64_t reserve_without_cap = std::uint64_t(1) << 30;
    if (!head.content_length || *head.content_length == 0)
        return {};
    const std::uint64_t bound = cap_ ? cap_ : reserve_without_cap;
    try {
        s_.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(*head.content_length, bound)));
    } catch (...) {
        // not enough memory up front: the body may still fit as it grows
    }
    return {};
}

sink_result easy_handle::string_sink::consume(std::string_view chunk) {
    try {
        s_.append(chunk);
    } catch (...) { // bad_alloc, or length_error past what a string holds
        return {sink_status::fail, make_error_code(CURLE_OUT_OF_MEMORY)};
    }
    return {};
}

std::size_t easy_handle::on_read(char* data, std::size_t size, std::size_t n, void* p) noexcept {
    cookie_lock_window::close(); // user code may run: keep no lock
    auto* self = static_cast<easy_handle*>(p);
    if (!self->source_)
        return CURL_READFUNC_ABORT;
    // libcurl sends whatever this returns: a known size is the end of the
    // body, whatever the source would still give.
    upload_bound& bound = self->upload_bound_;
    if (bound.complete())
        return 0;
    const std::size_t asked = bound.capacity(size * n);
    source_result r;
    try {
        r = self->source_->produce(data, asked);
    } catch (...) {
        self->exception_ = std::current_exception();
        return CURL_READFUNC_ABORT;
    }
    switch (r.status) {
    case source_status::data:
        r.ec = bound.on_data(r.size, asked);
        if (!r.ec)
            return r.size;
        break;
    case source_status::eof:
        r.ec = bound.on_eof();
        if (!r.ec)
            return 0;
        break;
    case source_status::pause:
        self->paused_ = self->upload_paused_ = true;
        return CURL_READFUNC_PAUSE;
    case source_status::fail:
        break;
    }
    self->sink_error_ = r.ec ? r.ec : make_error_code(CURLE_READ_ERROR);
    return CURL_READFUNC_ABORT;
}

int easy_handle::on_seek(void* p, curl_off_t offset, int origin) noexcept {
    // A streamed body cannot be sent twice; "rewinding" before any byte was
    // produced (libcurl does, before a first send) is no move at all.
    auto* self = static_cast<easy_handle*>(p);
    if (origin == SEEK_SET && offset == 0 && self->upload_bound_.taken() == 0)
        return CURL_SEEKFUNC_OK;
    return CURL_SEEKFUNC_CANTSEEK;
}

int easy_handle::on_xferinfo(void* p, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                             curl_off_t ulnow) noexcept {
    cookie_lock_window::close(); // user code may run: keep no lock
    auto* self = static_cast<easy_handle*>(p);
    const transfer_progress now_at{static_cast<std::uint64_t>(dltotal), static_cast<std::uint64_t>(dlnow),
                                   static_cast<std::uint64_t>(ultotal), static_cast<std::uint64_t>(ulnow)};
    const transfer_progress& last = self->last_progress_;
    if (now_at.downloaded == last.downloaded && now_at.uploaded == last.uploaded &&
        now_at.download_total == last.download_total && now_at.upload_total == last.upload_total)
        return 0; // nothing moved
    const bool reached_total =
        (now_at.download_total && now_at.downloaded == now_at.download_total &&
         last.downloaded != now_at.downloaded) ||
        (now_at.upload_total && now_at.uploaded == now_at.upload_total && last.uploaded != now_at.uploaded);
    const auto now = std::chrono::steady_clock::now();
    if (now < self->next_progress_ && !reached_total)
        return 0;
    self->next_progress_ = now + self->progress_interval_;
    self->last_progress_ = now_at;
    try {
        self->on_progress_(now_at);
    } catch (...) {
        self->exception_ = std::current_exception();
        return 1; // CURLE_ABORTED_BY_CALLBACK
    }
    return 0;
}

bool easy_handle::report_final_progress() noexcept {
    if (!on_progress_)
        return true;
    auto info = [&](CURLINFO what) {
        curl_off_t v = 0;
        curl_easy_getinfo(handle_, what, &v);
        return v > 0 ? static_cast<std::uint64_t>(v) : 0;
    };
    const transfer_progress last{info(CURLINFO_CONTENT_LENGTH_DOWNLOAD_T), info(CURLINFO_SIZE_DOWNLOAD_T),
                                 info(CURLINFO_CONTENT_LENGTH_UPLOAD_T), info(CURLINFO_SIZE_UPLOAD_T)};
    if (last.downloaded == last_progress_.downloaded && last.uploaded == last_progress_.uploaded)
        return true;
    last_progress_ = last;
    try {
        on_progress_(last);
    } catch (...) {
        exception_ = std::current_exception();
        return false;
    }
    return true;
}

std::size_t easy_handle::on_header(char* data, std::size_t size, std::size_t n, void* p) noexcept {
    cookie_lock_window::close(); // user code may run: keep no lock
    auto* self = static_cast<easy_handle*>(p);
    const std::size_t len = size * n;
    if (self->activity_)
        *self->activity_ += len;
    try {
        using event = response_head_parser::event;
        if (self->head_.on_line(std::string_view(data, len)) == event::final_end) {
            curl_easy_getinfo(self->handle_, CURLINFO_REDIRECT_COUNT, &self->redirects_at_head_end_);
            if (!self->head_told_ && !self->may_be_followed() && !self->tell_head())
                return 0;
        }
        const std::size_t cap = self->max_header_size_;
        if (cap && self->head_.head_bytes() > cap) {
            self->headers_too_large_ = true;
            return 0; // CURLE_WRITE_ERROR
        }
    } catch (const std::length_error&) {
        self->headers_too_large_ = true; // over 4 GiB, with no cap set
        return 0;
    } catch (...) {
        self->out_of_memory_ = true;
        return 0;
    }
    return size * n;
}

bool easy_handle::may_be_followed() const noexcept {
    long code = 0;
    curl_easy_getinfo(handle_, CURLINFO_RESPONSE_CODE, &code);
    if (code == 401 || code == 407)
        return true; // libcurl may answer an authentication challenge
    const bool redirect = code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
    return redirect && follow_redirects_ && head_.headers().contains("location");
}

unsigned message_version(CURL* h) noexcept {
    long version = 0;
    curl_easy_getinfo(h, CURLINFO_HTTP_VERSION, &version);
    switch (version) {
    case CURL_HTTP_VERSION_1_0:
        return 10;
    case CURL_HTTP_VERSION_1_1:
        return 11;
    case CURL_HTTP_VERSION_2_0:
        return 20;
    case CURL_HTTP_VERSION_3:
        return 30;
    default:
        return 0;
    }
}

namespace {
std::chrono::microseconds info_time(CURL* h, CURLINFO what) noexcept {
    curl_off_t v = 0;
    curl_easy_getinfo(h, what, &v);
    return std::chrono::microseconds(v);
}
} // namespace

void read_transfer_info(CURL* h, response& r) {
    long connect_code = 0;
    curl_easy_getinfo(h, CURLINFO_HTTP_CONNECTCODE, &connect_code);
    r.connect_status = static_cast<int>(connect_code);
    char* url = nullptr;
    if (curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &url) == CURLE_OK && url)
        r.effective_url = url;
    r.version = message_version(h);
    curl_easy_getinfo(h, CURLINFO_REDIRECT_COUNT, &r.redirect_count);
    char* ip = nullptr;
    if (curl_easy_getinfo(h, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip)
        r.remote_address = ip;
    long port = 0;
    curl_easy_getinfo(h, CURLINFO_PRIMARY_PORT, &port);
    r.remote_port = static_cast<unsigned short>(port);
    r.times.name_lookup = info_time(h, CURLINFO_NAMELOOKUP_TIME_T);
    r.times.connect = info_time(h, CURLINFO_CONNECT_TIME_T);
    r.times.tls_handshake = info_time(h, CURLINFO_APPCONNECT_TIME_T);
    r.times.first_byte = info_time(h, CURLINFO_STARTTRANSFER_TIME_T);
    r.times.total = info_time(h, CURLINFO_TOTAL_TIME_T);
    r.times.redirect = info_time(h, CURLINFO_REDIRECT_TIME_T);
    curl_off_t got = 0;
    curl_easy_getinfo(h, CURLINFO_SIZE_DOWNLOAD_T, &got);
    r.bytes_received = static_cast<std::uint64_t>(got);
}

bool easy_handle::tell_head() noexcept {
    head_told_ = true;
    CURL* h = handle_;
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_off_t length = -1;
    curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
    char* url = nullptr;
    curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &url);
    const head_view head{static_cast<int>(code),
                         head_.reason(),
                         head_.headers(),
                         message_version(h),
                         length >= 0 ? std::optional<std::uint64_t>(static_cast<std::uint64_t>(length))
                                     : std::nullopt,
                         url ? std::string_view(url) : std::string_view()};
    error_code ec;
    try {
        ec = sink_->on_head(head);
    } catch (...) {
        exception_ = std::current_exception();
        return false;
    }
    if (ec) {
        sink_error_ = ec;
        return false;
    }
    return true;
}

// libcurl 7.88 reports a header line too long for its buffer as
// CURLE_OUT_OF_MEMORY, as it does a failed allocation. They are told apart
// by when it happened: after the request went out and before the body of
// the final response, a response head was being received.
bool easy_handle::receiving_head() const noexcept {
    long sent = 0;
    if (curl_easy_getinfo(handle_, CURLINFO_REQUEST_SIZE, &sent) != CURLE_OK || sent <= 0)
        return false;
    if (!head_.final_head_done())
        return true;
    long redirects = 0;
    curl_easy_getinfo(handle_, CURLINFO_REDIRECT_COUNT, &redirects);
    return redirects > redirects_at_head_end_; // the head of a followed redirect's target
}

easy_handle::libcurl_limit easy_handle::libcurl_limit_hit(CURLcode result) const noexcept {
    if (result == CURLE_RECV_ERROR && std::string_view(error_buffer_).starts_with(heads_too_large_text))
        return libcurl_limit::response_heads;
    if ((result == CURLE_OUT_OF_MEMORY || result == curle_too_large) && !out_of_memory_ && handle_ &&
        receiving_head())
        return libcurl_limit::header_line; // or the field count (8): the message tells
    if (result == curle_too_large && std::string_view(error_buffer_).starts_with(too_many_headers_text))
        return libcurl_limit::header_line;
    return libcurl_limit::none;
}

error_code easy_handle::result_error(CURLcode result) const noexcept {
    if (result == CURLE_OK)
        return {};
    if (exception_)
        return errc::callback_threw;
    if (hook_error_)
        return hook_error_;
    if (headers_too_large_ || libcurl_limit_hit(result) != libcurl_limit::none)
        return errc::headers_too_large;
    if (too_large_ || result == CURLE_FILESIZE_EXCEEDED)
        return errc::response_too_large;
    if (out_of_memory_)
        return make_error_code(CURLE_OUT_OF_MEMORY);
    if (sink_error_)
        return sink_error_;
    return make_error_code(result);
}

response easy_handle::take_response(CURLcode result) {
    CURL* h = handle_;
    response r;
    r.reason = std::move(head_.reason());
    r.headers = std::move(head_.headers());
    r.body = std::move(body_);
    if (h) {
        // libcurl's code is the origin's status, set as its status line is
        // parsed. Without one, whatever head the parser saw was not the
        // origin's (a CONNECT answer, should an escape-hatch setter have
        // turned CURLOPT_SUPPRESS_CONNECT_HEADERS off again).
        long code = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        r.status = static_cast<int>(code);
        if (code == 0) {
            r.reason.clear();
            r.headers.clear();
        }
        read_transfer_info(h, r);
    }
    if (exception_) {
        r.callback_exception = exception_;
        r.error_message = result_error(result).message();
        try {
            std::rethrow_exception(exception_);
        } catch (const std::exception& e) {
            r.error_message.append(": ").append(e.what());
        } catch (...) {
        }
    } else if (hook_error_) {
        r.error_message = "tls.ssl_ctx_hook failed: " + hook_error_.message();
    } else if (result != CURLE_OK) {
        // A cap of ours reads better than libcurl's "failure writing output",
        // and one of libcurl's says which it was.
        switch (libcurl_limit_hit(result)) {
        case libcurl_limit::header_line:
            if (std::string_view(error_buffer_).starts_with(too_many_headers_text))
                r.error_message = "response heads exceed libcurl's limit on header fields per transfer "
                                  "(libcurl: " +
                                  std::string(error_buffer_) + ")";
            else
                r.error_message = "a response header line exceeds libcurl's limit of " +
                                  std::to_string(libcurl_max_header_line) +
                                  " bytes with its CRLF (CURL_MAX_HTTP_HEADER)";
            break;
        case libcurl_limit::response_heads:
            r.error_message = "response heads exceed libcurl's limit of " +
                              std::to_string(libcurl_max_response_heads) +
                              " bytes per transfer, redirects, 1xx and CONNECT answers "
                              "included (libcurl: " +
                              error_buffer_ + ")";
            break;
        case libcurl_limit::none:
            // A body source's or sink's own failure says why, where libcurl
            // says only "aborted by callback" or "failure writing output".
            if (sink_error_ && result_error(result) == sink_error_)
                r.error_message = sink_error_.message();
            else if (error_buffer_[0] && !too_large_ && !headers_too_large_)
                r.error_message = error_buffer_;
            else
                r.error_message = result_error(result).message();
        }
    }
    return r;
}

} // namespace curlasio::detail
