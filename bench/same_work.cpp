#include "same_work.hpp"

#include <algorithm>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string_view>

namespace bench {
namespace {

constexpr std::size_t max_header_size = 256 * 1024; // request_options::limits default

} // namespace

CURLcode same_work_transfer::prepare(CURL* h) {
    handle_ = h;
    error_buffer_[0] = 0;
    head_ = {};
    body_ = {};
    body_bytes_ = 0;
    redirects_at_head_end_ = 0;
    head_told_ = false;
    failed_ = false;

    CURLcode rc = CURLE_OK;
    auto set = [&](CURLoption opt, auto value) {
        if (rc == CURLE_OK)
            rc = curl_easy_setopt(h, opt, value);
    };
    // easy_handle::prepare's order for a GET with the bench's options.
    set(CURLOPT_NOSIGNAL, 1L);
    set(CURLOPT_ERRORBUFFER, error_buffer_);
    set(CURLOPT_URL, o_.url.c_str());
    set(CURLOPT_PROTOCOLS_STR, "http,https");
    set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    set(CURLOPT_TIMEOUT_MS, 0L);
    set(CURLOPT_CONNECTTIMEOUT_MS, 30000L);
    set(CURLOPT_FOLLOWLOCATION, 0L);
    set(CURLOPT_MAXREDIRS, 10L);
    set(CURLOPT_HTTP_VERSION, o_.http2 ? long(CURL_HTTP_VERSION_2TLS) : long(CURL_HTTP_VERSION_1_1));
    // set_trust_options
    set(CURLOPT_SSL_VERIFYPEER, o_.insecure ? 0L : 1L);
    set(CURLOPT_SSL_VERIFYHOST, o_.insecure ? 0L : 2L);
    set(CURLOPT_PROXY, "");
    if (o_.http2)
        set(CURLOPT_PIPEWAIT, 1L);
    if (o_.buffer_size > 0)
        set(CURLOPT_BUFFERSIZE, o_.buffer_size);
    set(CURLOPT_WRITEFUNCTION, &same_work_transfer::on_body);
    set(CURLOPT_WRITEDATA, this);
    set(CURLOPT_HEADERFUNCTION, &same_work_transfer::on_header);
    set(CURLOPT_HEADERDATA, this);
    set(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    // engine_impl::start's own: PRIVATE (the socket callbacks are the engine's).
    set(CURLOPT_PRIVATE, this);
    return rc;
}

bool same_work_transfer::tell_head() noexcept {
    head_told_ = true;
    CURL* h = handle_;
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_off_t length = -1;
    curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
    char* url = nullptr;
    curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &url);
    (void)curlasio::detail::message_version(h);
    // string_sink::on_head: reserve what is announced.
    if (length > 0 && !o_.discard_body) {
        try {
            body_.reserve(static_cast<std::size_t>(std::min<curl_off_t>(length, curl_off_t(1) << 30)));
        } catch (...) {
        }
    }
    return true;
}

std::size_t same_work_transfer::on_header(char* data, std::size_t size, std::size_t n, void* p) noexcept {
    auto* self = static_cast<same_work_transfer*>(p);
    const std::size_t len = size * n;
    self->activity_ += len;
    try {
        using event = curlasio::detail::response_head_parser::event;
        if (self->head_.on_line(std::string_view(data, len)) == event::final_end) {
            curl_easy_getinfo(self->handle_, CURLINFO_REDIRECT_COUNT, &self->redirects_at_head_end_);
            long code = 0; // may_be_followed: never, redirects are not followed
            curl_easy_getinfo(self->handle_, CURLINFO_RESPONSE_CODE, &code);
            if (!self->head_told_ && code != 401 && code != 407 && !self->tell_head())
                return 0;
        }
        if (self->head_.head_bytes() > max_header_size)
            return 0;
    } catch (...) {
        self->failed_ = true;
        return 0;
    }
    return len;
}

std::size_t same_work_transfer::on_body(char* data, std::size_t size, std::size_t n, void* p) noexcept {
    auto* self = static_cast<same_work_transfer*>(p);
    const std::size_t len = size * n;
    if (!self->head_told_ && !self->tell_head())
        return 0;
    try {
        if (!self->o_.discard_body)
            self->body_.append(data, len);
    } catch (...) {
        self->failed_ = true;
        return 0;
    }
    self->body_bytes_ += len;
    self->activity_ += len;
    return len;
}

curlasio::response same_work_transfer::take_response() {
    CURL* h = handle_;
    curlasio::response r;
    r.reason = std::move(head_.reason());
    r.headers = std::move(head_.headers());
    r.body = std::move(body_);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    r.status = static_cast<int>(code);
    curlasio::detail::read_transfer_info(h, r); // the library's own, as easy_handle does
    return r;
}

void same_work_transfer::finish(CURLcode rc, client_result& result) {
    long n = 0;
    curl_easy_getinfo(handle_, CURLINFO_NUM_CONNECTS, &n); // the bench's, not curlasio's
    connects_ += n;
    curlasio::response r = take_response();
    if (rc != CURLE_OK && error_buffer_[0])
        r.error_message = error_buffer_;
    // The curlasio client's check.
    const long size = static_cast<long>(o_.discard_body ? r.bytes_received : r.body.size());
    bool ok =
        rc == CURLE_OK && !failed_ && r.status == 200 && (o_.expect_bytes < 0 || size == o_.expect_bytes);
    std::string why;
    if (!ok)
        why = rc != CURLE_OK ? std::string(curl_easy_strerror(rc)) + " " + r.error_message
                             : "status " + std::to_string(r.status) + ", " + std::to_string(size) + " bytes";
    record(result, ok, why);
}

} // namespace bench
