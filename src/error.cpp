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
    std::string message(int ev) const override {
        return curl_easy_strerror(static_cast<CURLcode>(ev));
    }
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
    std::string message(int ev) const override {
        return curl_multi_strerror(static_cast<CURLMcode>(ev));
    }
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
        }
        return "unknown curlasio error";
    }
};

} // namespace

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
