#ifndef CURLASIO_BENCH_SAME_WORK_HPP
#define CURLASIO_BENCH_SAME_WORK_HPP

// One transfer doing exactly the libcurl work of curlasio's request as the
// bench's curlasio client makes it (src/easy_handle.cpp, read, not shared):
// the same options in the same order, the response head parsed into a
// header_list by the library's own parser, the body appended to a
// std::string reserved from Content-Length, the same getinfo calls, and a
// curlasio::response assembled at the end. What is left out is the engine:
// the socket table, the reactor, handler dispatch, request copies.

#include "bench.hpp"

#include <curlasio/detail/easy_handle.hpp>
#include <curlasio/detail/response_head_parser.hpp>
#include <curlasio/response.hpp>

#include <curl/curl.h>

#include <cstdint>
#include <string>

namespace bench {

class same_work_transfer {
public:
    explicit same_work_transfer(const client_options& o) : o_(o) {}
    same_work_transfer(const same_work_transfer&) = delete;
    same_work_transfer& operator=(const same_work_transfer&) = delete;

    // Sets the options on `h` (fresh, or reset with curl_easy_reset) and
    // starts a new response.
    CURLcode prepare(CURL* h);
    CURL* handle() const noexcept { return handle_; }
    // The response as curlasio's easy_handle::take_response builds it.
    curlasio::response take_response();
    // Checks it as the curlasio client does, and counts connects.
    void finish(CURLcode rc, client_result& result);
    long connects() const noexcept { return connects_; }

private:
    static std::size_t on_body(char* data, std::size_t size, std::size_t n, void* p) noexcept;
    static std::size_t on_header(char* data, std::size_t size, std::size_t n, void* p) noexcept;
    bool tell_head() noexcept;

    const client_options& o_;
    CURL* handle_ = nullptr;
    char error_buffer_[CURL_ERROR_SIZE] = {};
    curlasio::detail::response_head_parser head_;
    std::string body_;
    std::uint64_t body_bytes_ = 0;
    std::uint64_t activity_ = 0; // the engine's stall watchdog counts bytes too
    long redirects_at_head_end_ = 0;
    bool head_told_ = false;
    bool failed_ = false;
    long connects_ = 0; // CURLINFO_NUM_CONNECTS over every transfer
};

} // namespace bench

#endif
