#ifndef CURLASIO_DETAIL_EASY_HANDLE_HPP
#define CURLASIO_DETAIL_EASY_HANDLE_HPP

// Owns one transfer's CURL* while it runs: applies the request's options and
// collects the response. The handle comes from the engine (fresh, or reused
// after curl_easy_reset) and goes back to it when the transfer ends.

#include <curlasio/detail/body_sink.hpp>
#include <curlasio/detail/body_source.hpp>
#include <curlasio/detail/response_head_parser.hpp>
#include <curlasio/detail/upload_bound.hpp>
#include <curlasio/error.hpp>
#include <curlasio/request.hpp>
#include <curlasio/response.hpp>

#include <curl/curl.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace curlasio::detail {

class easy_handle {
public:
    easy_handle() = default;
    ~easy_handle();
    easy_handle(const easy_handle&) = delete;
    easy_handle& operator=(const easy_handle&) = delete;

    CURL* native() const noexcept { return handle_; }

    /// Takes `h` (a handle in its default state, or null for out of memory),
    /// validates `req` and sets every option on it. Keeps only what libcurl
    /// reads later (the body, the escape-hatch setters), the callbacks and the
    /// caps; the rest of the request is libcurl's copy from then on. On
    /// failure nothing may be added to a multi handle.
    /// `sink`, when given, takes the body instead of response::body or
    /// request::on_body; it must outlive the transfer.
    error_code prepare(CURL* h, request&& req, body_sink* sink = nullptr);
    /// For response::error_message when prepare() failed: its error's
    /// message, and for a malformed request which field and why.
    std::string refusal_message(error_code ec) const;

    /// Gives the handle up. `reusable`: no option was set through the
    /// request's escape hatch and no cookie jar was attached, so
    /// curl_easy_reset returns it to a clean state (it keeps cookies and
    /// shares, which only those two turn on).
    CURL* release(bool& reusable) noexcept {
        reusable = options_.empty() && !jar_;
        free_mime(); // curl_mime_free unbinds it from the handle's CURLOPT_MIMEPOST
        return std::exchange(handle_, nullptr);
    }

    /// The streamed request body (request::upload), if any: the engine
    /// attaches it to the transfer before libcurl runs it.
    body_source* source() const noexcept { return source_; }
    /// The transfer ended: the source stops reading.
    void detach_source() noexcept {
        if (source_)
            std::exchange(source_, nullptr)->detach();
    }

    /// The sink or the source paused the transfer and it has not been resumed since.
    bool paused() const noexcept { return paused_; }
    /// The source paused it: libcurl waits for the source alone.
    bool upload_paused() const noexcept { return upload_paused_; }
    /// The engine is about to resume the transfer.
    void unpause() noexcept { paused_ = upload_paused_ = false; }

    /// A successful transfer's last progress, if the rate bound held it
    /// back; false if on_progress threw.
    bool report_final_progress() noexcept;

    /// The error for libcurl's result, refined by what the callbacks saw
    /// (size cap hit, allocation failure).
    error_code result_error(CURLcode result) const noexcept;

    /// Moves the collected response out, filled with libcurl's transfer info.
    response take_response(CURLcode result);

    /// Every body or header byte received adds to *counter (the engine's
    /// sign of life for its watchdog). Set before prepare().
    void count_activity_in(std::uint64_t* counter) noexcept { activity_ = counter; }

private:
    static std::size_t on_body(char* data, std::size_t size, std::size_t n, void* self) noexcept;
    static std::size_t on_header(char* data, std::size_t size, std::size_t n, void* self) noexcept;
    static std::size_t on_read(char* data, std::size_t size, std::size_t n, void* self) noexcept;
    static int on_seek(void* self, curl_off_t offset, int origin) noexcept;
    static int on_xferinfo(void* self, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                           curl_off_t ulnow) noexcept;
    static CURLcode on_ssl_ctx(CURL*, void* ssl_ctx, void* self) noexcept;

    // request::multipart as a curl_mime on the handle (mime_), for prepare().
    CURLcode build_mime(const std::vector<mime_part>& parts);
    void free_mime() noexcept {
        curl_mime_free(mime_);
        mime_ = nullptr;
    }

    // TLS, proxy and authentication options, for prepare(). Takes the hook.
    CURLcode set_trust_options(request_options& o);

    // libcurl's own limits on a response head that can end a transfer.
    enum class libcurl_limit { none, header_line, response_heads };
    libcurl_limit libcurl_limit_hit(CURLcode result) const noexcept;
    bool receiving_head() const noexcept;
    /// At the end of a final head: whether libcurl may still go on to
    /// another one (a redirect it follows, an authentication round).
    bool may_be_followed() const noexcept;
    /// Tells the sink the head, once; false (and sink_error_ set) if it refused.
    bool tell_head() noexcept;

    // The engine's two sinks: the body stored whole, or handed to on_body.
    class string_sink final : public body_sink {
    public:
        string_sink(std::string& s, const std::size_t& cap) noexcept : s_(s), cap_(cap) {}
        /// Reserves what Content-Length announces, within the size cap.
        error_code on_head(const head_view& head) override;
        sink_result consume(std::string_view chunk) override;

    private:
        std::string& s_;
        const std::size_t& cap_;
    };
    class callback_sink final : public body_sink {
    public:
        explicit callback_sink(std::function<void(std::string_view)>& f) noexcept : f_(f) {}
        sink_result consume(std::string_view chunk) override {
            f_(chunk);
            return {};
        }

    private:
        std::function<void(std::string_view)>& f_;
    };

    CURL* handle_ = nullptr;
    std::string_view refused_because_; // static text: why prepare() refused
    std::string refusal_detail_;       // or this, when it names a part or a file
    curl_slist* header_list_ = nullptr;
    curl_mime* mime_ = nullptr; // CURLOPT_MIMEPOST, freed before the handle is given up
    // What outlives prepare(): memory per transfer in flight matters when
    // thousands are.
    std::string request_body_;                  // CURLOPT_POSTFIELDS points into it
    std::vector<request::curl_setter> options_; // they may own what libcurl points to
    // The jar whose share the handle is attached to, kept while the handle
    // lives: the destructor frees the handle before its members.
    std::shared_ptr<cookie_jar> jar_;
    std::function<void(std::string_view)> on_body_;
    upload_source upload_;          // keeps the source alive while libcurl reads it
    body_source* source_ = nullptr; // upload_'s, until detached
    std::function<void(const transfer_progress&)> on_progress_;
    std::chrono::milliseconds progress_interval_{0};
    std::chrono::steady_clock::time_point next_progress_{};
    transfer_progress last_progress_{};
    std::size_t max_response_size_ = 0;
    std::size_t max_header_size_ = 0;
    std::function<error_code(ssl_ctx_st*)> ssl_ctx_hook_;
    error_code hook_error_; // what ssl_ctx_hook_ returned, when it failed
    // The response being received; the rest is read from libcurl at the end.
    response_head_parser head_;
    std::string body_;
    string_sink string_sink_{body_, max_response_size_};
    callback_sink callback_sink_{on_body_};
    body_sink* sink_ = &string_sink_;
    error_code sink_error_; // a sink's failure
    bool paused_ = false;
    bool upload_paused_ = false;
    bool follow_redirects_ = false;
    bool head_told_ = false;
    upload_bound upload_bound_; // request body bytes handed to libcurl, within source_'s size
    std::uint64_t* activity_ = nullptr;
    std::uint64_t body_bytes_ = 0;   // delivered, for max_response_size
    std::exception_ptr exception_;   // thrown by a user callback
    long redirects_at_head_end_ = 0; // libcurl's redirect count when a final head ended
    bool too_large_ = false;
    bool headers_too_large_ = false;
    bool out_of_memory_ = false;
    char error_buffer_[CURL_ERROR_SIZE] = {};
};

/// The response's HTTP version as Beast counts it (11 for HTTP/1.1, 20, 30;
/// 0 when libcurl names none).
unsigned message_version(CURL* h) noexcept;
/// What libcurl knows of a finished transfer beyond its status and body:
/// the CONNECT status, effective URL, version, redirect count, peer address
/// and port, timings and bytes received, into `r` (the bench's baseline does
/// the same work through it).
void read_transfer_info(CURL* h, response& r);

} // namespace curlasio::detail

#endif
