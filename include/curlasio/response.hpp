#ifndef CURLASIO_RESPONSE_HPP
#define CURLASIO_RESPONSE_HPP

// curlasio::response: what a transfer produced. Delivered with every
// completion, also a failed one: then it holds whatever arrived before the
// failure (partial body, headers) and libcurl's detailed error text.

#include <chrono>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace curlasio {

/// Response header fields in arrival order, repeats kept, looked up without
/// regard to case.
class header_list {
public:
    using value_type = std::pair<std::string, std::string>;
    using const_iterator = std::vector<value_type>::const_iterator;

    /// The first value of `name`, or nullopt.
    std::optional<std::string_view> find(std::string_view name) const noexcept;
    /// Every value of `name`, in order.
    std::vector<std::string_view> find_all(std::string_view name) const;
    bool contains(std::string_view name) const noexcept { return find(name).has_value(); }

    void add(std::string name, std::string value) {
        fields_.emplace_back(std::move(name), std::move(value));
    }
    /// Appends " more" to the last field's value (obsolete line folding).
    void extend_last(std::string_view more) {
        if (!fields_.empty())
            fields_.back().second.append(" ").append(more);
    }
    void clear() noexcept { fields_.clear(); }
    std::size_t size() const noexcept { return fields_.size(); }
    bool empty() const noexcept { return fields_.empty(); }
    const_iterator begin() const noexcept { return fields_.begin(); }
    const_iterator end() const noexcept { return fields_.end(); }

private:
    std::vector<value_type> fields_;
};

/// Durations from the start of the transfer (libcurl's CURLINFO_*_TIME_T),
/// each cumulative: connect includes DNS, tls includes connect, and so on.
struct timings {
    std::chrono::microseconds name_lookup{0};
    std::chrono::microseconds connect{0};
    std::chrono::microseconds tls_handshake{0}; ///< zero on cleartext
    std::chrono::microseconds first_byte{0};
    std::chrono::microseconds total{0};
    std::chrono::microseconds redirect{0};
};

struct response {
    /// HTTP status of the last response; 0 if none was received.
    int status = 0;
    /// Reason phrase of the last status line, if any ("OK").
    std::string reason;
    /// Header fields of the last response (not of followed redirects).
    header_list headers;
    std::string body;
    /// URL of the last request made (after redirects).
    std::string effective_url;
    /// 10 for HTTP/1.0, 11, 20, 30; 0 if unknown.
    int http_version = 0;
    long redirect_count = 0;
    std::string remote_address;
    unsigned short remote_port = 0;
    timings times;
    /// Body bytes received from the network before decoding.
    std::uint64_t bytes_received = 0;
    /// libcurl's detailed error text (CURLOPT_ERRORBUFFER) when the transfer
    /// failed, else empty. More specific than error_code::message().
    std::string error_message;
    /// With errc::callback_threw: what the callback threw (rethrow it with
    /// std::rethrow_exception to handle it as your own).
    std::exception_ptr callback_exception;
};

} // namespace curlasio

#endif
