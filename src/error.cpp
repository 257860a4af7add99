#include <curlasio/error.hpp>

#include <curlasio/detail/malformed.hpp>

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

// One instance for curlasio_category(), and one per reason a request is
// malformed: all have the same id, which is what Boost.System compares
// categories by (and hashes), so every invalid_request compares equal to
// errc::invalid_request while its message() says what was wrong. (Converted
// to std::error_code, two of different reasons do not compare equal.)
class own_category final : public bs::error_category {
public:
    explicit constexpr own_category(std::string_view reason = {}) noexcept
        : bs::error_category(0x63a17e5e0003ULL), reason_(reason) {}
    const char* name() const noexcept override { return "curlasio"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
        case errc::invalid_request:
            if (!reason_.empty())
                return "invalid request: " + std::string(reason_);
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
        }
        return "unknown curlasio error";
    }

private:
    std::string_view reason_;
};

template <std::size_t... I>
const own_category& reason_category(std::size_t why, std::index_sequence<I...>) noexcept {
    static const own_category all[] = {own_category(detail::malformed_text[I])...};
    return all[why];
}

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

error_code detail::invalid_request_error(malformed why) noexcept {
    const auto i = static_cast<std::size_t>(why);
    if (i == 0 || i >= malformed_count)
        return errc::invalid_request;
    return {static_cast<int>(errc::invalid_request),
            reason_category(i, std::make_index_sequence<malformed_count>{})};
}

} // namespace curlasio
