#include <curlasio/error.hpp>

#include <string>
#include <string_view>
#include <utility>

namespace curlasio {
namespace {

namespace bs = boost::system;

class easy_category final : public bs::error_category {
public:
    constexpr easy_category() noexcept : bs::error_category(0x63a17e5e0001ULL) {}
    const char* name() const noexcept override { return "curl.easy"; }
    std::string message(int ev) const override { return curl_easy_strerror(static_cast<CURLcode>(ev)); }
    char const* message(int ev, char*, std::size_t) const noexcept override {
        return curl_easy_strerror(static_cast<CURLcode>(ev));
    }
    // Timeouts compare equal to errc::timed_out, so callers can test for
    // "a deadline passed" without knowing libcurl's codes.
    bs::error_condition default_error_condition(int ev) const noexcept override {
        switch (static_cast<CURLcode>(ev)) {
        case CURLE_OPERATION_TIMEDOUT:
            return bs::errc::make_error_condition(bs::errc::timed_out);
        case CURLE_OUT_OF_MEMORY:
            return bs::errc::make_error_condition(bs::errc::not_enough_memory);
        case CURLE_ABORTED_BY_CALLBACK:
            return bs::errc::make_error_condition(bs::errc::operation_canceled);
        default:
            return {ev, *this};
        }
    }
};

class multi_category final : public bs::error_category {
public:
    constexpr multi_category() noexcept : bs::error_category(0x63a17e5e0002ULL) {}
    const char* name() const noexcept override { return "curl.multi"; }
    std::string message(int ev) const override { return curl_multi_strerror(static_cast<CURLMcode>(ev)); }
    char const* message(int ev, char*, std::size_t) const noexcept override {
        return curl_multi_strerror(static_cast<CURLMcode>(ev));
    }
};

class own_category final : public bs::error_category {
public:
    constexpr own_category() noexcept : bs::error_category(0x63a17e5e0003ULL) {}
    const char* name() const noexcept override { return "curlasio"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
        case errc::invalid_request:
            return "invalid request: CR, LF or NUL in a header, the method, user agent or URL, "
                   "or an empty or invalid method or header name";
        case errc::response_too_large:
            return "response body exceeds the configured maximum size";
        case errc::out_of_resources:
            return "out of resources (memory, a libcurl handle or a file descriptor)";
        case errc::callback_threw:
            return "a user callback threw an exception";
        case errc::headers_too_large:
            return "response headers exceed the configured maximum size or libcurl's own limit";
        case errc::request_too_large:
            return "request head exceeds libcurl's 1 MiB request buffer (URL, header fields, "
                   "user agent, and a body under 64 KiB sent along over HTTP/1)";
        case errc::engine_moved_from:
            return "the engine was moved from";
        case errc::upload_in_use:
            return "the upload source already feeds another transfer";
        case errc::operation_in_progress:
            return "another operation of this kind is pending on the stream";
        case errc::stream_not_open:
            return "the stream is not open";
        case errc::queue_full:
            return "the engine's admission queue is full";
        case errc::upload_size_mismatch:
            return "the upload source ended before the size it announced (Content-Length)";
        case errc::upload_overrun:
            return "the upload source reported more bytes than the buffer it was given";
        case errc::head_not_representable:
            return "the response head holds a field name or value too large for a Beast message (over 65533 "
                   "bytes)";
        }
        return "unknown curlasio error";
    }
};

bool easy_is(CURLcode c, condition cond) noexcept {
    switch (cond) {
    case condition::connect_failed:
        return c == CURLE_COULDNT_CONNECT;
    case condition::timed_out:
        return c == CURLE_OPERATION_TIMEDOUT;
    case condition::dns:
        return c == CURLE_COULDNT_RESOLVE_HOST || c == CURLE_COULDNT_RESOLVE_PROXY;
    case condition::tls:
        switch (c) {
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SSL_ENGINE_NOTFOUND:
        case CURLE_SSL_ENGINE_SETFAILED:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_USE_SSL_FAILED:
        case CURLE_SSL_ENGINE_INITFAILED:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_SHUTDOWN_FAILED:
        case CURLE_SSL_CRL_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_INVALIDCERTSTATUS:
        case CURLE_SSL_CLIENTCERT:
            return true;
        default:
            return false;
        }
    case condition::transient:
        switch (c) {
        case CURLE_COULDNT_CONNECT:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:  // closed without answering: a keep-alive race
        case CURLE_PARTIAL_FILE: // closed before the announced length arrived
        case CURLE_HTTP2_STREAM: // stream reset (REFUSED_STREAM, GOAWAY)
            return true;
        default:
            return false;
        }
    }
    return false;
}

class condition_category final : public bs::error_category {
public:
    constexpr condition_category() noexcept : bs::error_category(0x63a17e5e0004ULL) {}
    const char* name() const noexcept override { return "curlasio.condition"; }
    std::string message(int ev) const override {
        switch (static_cast<condition>(ev)) {
        case condition::connect_failed:
            return "could not connect to the server or proxy";
        case condition::timed_out:
            return "a deadline passed";
        case condition::tls:
            return "TLS failure (handshake, certificate, verification or pinning)";
        case condition::dns:
            return "a host or proxy name did not resolve";
        case condition::transient:
            return "transient failure: the same request may succeed if sent again";
        }
        return "unknown curlasio condition";
    }
    // Only curl.easy codes are classified (curl.multi and curlasio::errc
    // codes are the engine's or the caller's, never the network's), plus any
    // category's own timeouts, which are transient too.
    bool equivalent(const error_code& code, int cond) const noexcept override {
        const auto c = static_cast<condition>(cond);
        if (code.category() == curl_easy_category())
            return easy_is(static_cast<CURLcode>(code.value()), c);
        if (c == condition::timed_out || c == condition::transient)
            return code.default_error_condition() == bs::errc::make_error_condition(bs::errc::timed_out);
        return false;
    }
};

} // namespace

const bs::error_category& curlasio_condition_category() noexcept {
    static const condition_category c;
    return c;
}

bool is_retryable(const error_code& ec) noexcept { return ec == condition::transient; }

const bs::error_category& curl_easy_category() noexcept {
    static const easy_category c;
    return c;
}
const bs::error_category& curl_multi_category() noexcept {
    static const multi_category c;
    return c;
}
const bs::error_category& curlasio_category() noexcept {
    static const own_category c;
    return c;
}

} // namespace curlasio
